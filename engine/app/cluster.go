package app

import (
	"context"
	"fmt"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/ingest"
)

// The whole map on every instance: the engine holds the schools of this
// instance's partitions; the state topic (ingest.StatePublisher,
// ingest.StateReplica) carries every instance's schools to the others.

// startState builds the publisher and the replica of the state topic.
func (a *App) startState() {
	so := ingest.StateOptions{Brokers: a.brokers, Topic: a.opts.StateTopic, Security: a.opts.Kafka.Security, Logger: a.logger}
	a.statePub = ingest.NewStatePublisher(so, a.ownView)
	a.stateReplica = ingest.NewStateReplica(so, a.remoteChanged)
}

// runState creates the state topic when missing, then publishes and reads
// it until ctx is done.
func (a *App) runState(ctx context.Context) error {
	so := ingest.StateOptions{Brokers: a.brokers, Topic: a.opts.StateTopic, Security: a.opts.Kafka.Security, Logger: a.logger}
	for attempt := 1; ; attempt++ {
		err := ingest.EnsureStateTopic(ctx, so)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		if attempt == 1 || attempt%30 == 0 {
			a.logger.Warn("create the state topic; trying again", "topic", so.Topic, "err", err)
		}
		if !sleepCtx(ctx, time.Second) {
			return nil
		}
	}
	done := make(chan error, 1)
	go func() { done <- a.stateReplica.Run(ctx) }()
	err := a.statePub.Run(ctx)
	if rerr := <-done; err == nil {
		err = rerr
	}
	return err
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// ownView returns the school's state for the state topic when this
// instance holds it.
func (a *App) ownView(id string) (engine.SchoolView, bool) {
	if !a.holds(id) {
		return engine.SchoolView{}, false
	}
	return a.engine.View(id)
}

// holds reports whether this instance holds the school's state: once the
// consumer group gave it partitions, whether the school's is among them.
func (a *App) holds(id string) bool {
	a.ownership.mu.Lock()
	started := a.ownership.started
	a.ownership.mu.Unlock()
	return started && a.engine.Owns(id)
}

// heldHere returns nil when this instance holds the school's state, and
// else an error wrapping engine.ErrHeldElsewhere that names the instance
// that does, when the state topic says.
func (a *App) heldHere(id string) error {
	if a.engine.Owns(id) {
		return nil
	}
	if st, ok := a.stateReplica.State(id); ok && st.Instance != "" {
		return fmt.Errorf("school %s: %w (%s): act through that instance", id, engine.ErrHeldElsewhere, st.Instance)
	}
	return fmt.Errorf("school %s: %w: act through that instance", id, engine.ErrHeldElsewhere)
}

// remoteChanged hands a colour change of a school another instance holds to
// the live stream.
func (a *App) remoteChanged(id string, before, after *ingest.SchoolState) {
	// A school read for the first time is the topic being read from its
	// start, not a change: its owner publishes every school it takes over.
	if a.opts.Stream == nil || before == nil || after == nil || a.engine.Owns(id) {
		return
	}
	from := before.Level
	if from == after.Level {
		return
	}
	at := after.Since
	if at.IsZero() {
		at = after.At
	}
	a.opts.Stream.Publish(engine.LevelChange{SchoolID: id, At: at, From: from, To: after.Level, Cause: after.Cause, ActiveRisks: len(after.Risks)})
}

// stateSubscriber marks for publication the schools whose state a stored
// batch changed.
type stateSubscriber struct{ pub *ingest.StatePublisher }

func (s stateSubscriber) Observe(_ context.Context, out *engine.Output) error {
	for i := range out.Transitions {
		s.pub.Mark(out.Transitions[i].SchoolID)
	}
	for i := range out.Changes {
		s.pub.Mark(out.Changes[i].SchoolID)
	}
	return nil
}

// Schools is the map of every school, for the API: the schools this
// instance holds from its engine, the others from the state topic.
type Schools struct{ a *App }

// Schools returns the map of every school (api.VersionedSchools).
func (a *App) Schools() Schools { return Schools{a} }

// View returns the school as the map shows it.
func (s Schools) View(id string) (engine.SchoolView, bool) {
	a := s.a
	if a.engine.Owns(id) || a.stateReplica == nil {
		return a.engine.View(id)
	}
	school := a.School(id)
	if school == nil {
		return engine.SchoolView{}, false
	}
	if st, ok := a.stateReplica.State(id); ok {
		return st.View(school), true
	}
	return engine.SchoolView{School: school, Level: engine.LevelGreen}, true
}

// Views returns every school that keep accepts, without their risks.
func (s Schools) Views(keep func(*engine.School) bool) []engine.SchoolSummary {
	a := s.a
	owns := a.engine.Owner()
	out := a.engine.Views(keep)
	if a.stateReplica == nil || owns == nil {
		return out
	}
	for i := range out {
		id := out[i].School.ID
		if owns(id) {
			continue
		}
		if st, ok := a.stateReplica.State(id); ok {
			out[i].Level, out[i].Since, out[i].ActiveRisks = st.Level, st.Since, len(st.Risks)
		} else {
			out[i].Level, out[i].Since, out[i].ActiveRisks = engine.LevelGreen, time.Time{}, 0
		}
	}
	return out
}

// Version changes whenever View or Views may answer differently.
func (s Schools) Version() uint64 {
	v := s.a.engine.Version()
	if s.a.stateReplica != nil {
		v += s.a.stateReplica.Version()
	}
	return v
}
