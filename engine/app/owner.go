package app

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/sanse-campus/sanse/engine/ingest"
)

// ownership is which schools the engine holds when several instances share
// the consumer group: those whose partition (ingest.PartitionOf) the group
// gave this instance. It changes at the start of a group generation only
// (App.assigned).
type ownership struct {
	mu sync.Mutex
	// started is false until the first generation: the engine then holds
	// every school, as restored at start.
	started    bool
	partitions int   // the event topics' number of partitions
	owned      []int // the partitions held, sorted
}

// assigned makes the engine hold the schools of owned, the partitions of n
// that this instance holds in a new generation of the consumer group
// (ingest.Options.Assigned): it drops the schools of the partitions it no
// longer holds and rebuilds from the history those of the partitions new to
// it, before any of their messages is read.
//
// At the first generation the engine holds every school, restored at start:
// given every partition, it keeps them; given some, it drops the others and
// rebuilds its own afresh, since the instances that held them until now may
// have stored events after this one restored.
func (a *App) assigned(ctx context.Context, owned []int, n int) error {
	o := &a.ownership
	o.mu.Lock()
	defer o.mu.Unlock()
	all := len(owned) >= n
	if !o.started && all || o.started && o.partitions == n && slices.Equal(o.owned, owned) {
		first := !o.started
		o.started, o.partitions, o.owned = true, n, owned
		if all {
			a.engine.Own(nil)
		}
		if first {
			a.markSchools(func(string) bool { return true })
		}
		return nil
	}
	var held []int // partitions whose schools' state the engine holds and keeps
	if o.started && o.partitions == n {
		held = o.owned
	}
	var added []int
	for _, p := range owned {
		if !slices.Contains(held, p) {
			added = append(added, p)
		}
	}
	isOwned, isAdded := partitionSet(owned, n), partitionSet(added, n)
	ownsAll := func(id string) bool { return isOwned[ingest.PartitionOf(id, n)] }
	ownsAdded := func(id string) bool { return isAdded[ingest.PartitionOf(id, n)] }
	start := time.Now()
	dropped := a.engine.Drop(func(id string) bool { return ownsAll(id) && !ownsAdded(id) })
	var st rebuilt
	if len(added) > 0 {
		fork := a.engine.Fork(ownsAdded)
		var err error
		if st, err = a.rebuild(ctx, fork, added, ownsAdded); err != nil {
			// The schools of added stay without state; the next attempt
			// rebuilds them.
			a.engine.Own(ownsAll)
			o.started, o.partitions, o.owned = true, n, held
			return err
		}
		a.engine.Adopt(fork)
		// The open alerts of those schools, opened by the instance that
		// held them, are repeated and escalated here from now on.
		if _, err := a.alerts.LoadOpen(ctx); err != nil {
			a.logger.Warn("open alerts of the schools taken over not loaded; they are loaded at the next move or restart", "err", err)
		}
	}
	if all {
		a.engine.Own(nil)
	} else {
		a.engine.Own(ownsAll)
	}
	o.started, o.partitions, o.owned = true, n, owned
	if held == nil {
		a.markSchools(ownsAll)
	} else {
		a.markSchools(ownsAdded)
	}
	a.logger.Info("partitions taken over: their schools' state rebuilt from the history", "owned", owned, "of", n,
		"new", added, "schools_dropped", dropped, "events", st.events, "resolutions", st.resolutions,
		"hazard_risks", st.hazardRisks, "expired_meanwhile", st.expired, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// partitionSet returns a set of partitions of n as a slice indexed by
// partition.
func partitionSet(ps []int, n int) []bool {
	set := make([]bool, n)
	for _, p := range ps {
		if p < n {
			set[p] = true
		}
	}
	return set
}

// markSchools marks for the state topic every school of the registry that
// keep accepts.
func (a *App) markSchools(keep func(string) bool) {
	var ids []string
	for _, s := range a.registry.Load().Schools() {
		if keep(s.ID) {
			ids = append(ids, s.ID)
		}
	}
	a.statePub.Mark(ids...)
}
