package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/hazard"
	"github.com/sanse-campus/sanse/engine/ingest"
)

// restore rebuilds the state from what is stored, in the one order that
// keeps every component consistent, and then marks the App ready:
//
//  1. the open alerts and the undelivered messages;
//  2. the engine, by replaying every event since the start of the rule
//     set's horizon — or since the first event of the oldest risk still
//     waiting to be cleared or resolved, when that is earlier — with the
//     resolutions people made;
//  3. the hazards, and the risks that hold their schools' colours (opened
//     without recording them: the history has them);
//  4. what expired while the engine was down, recorded through the write
//     path like any other batch.
func (a *App) restore(ctx context.Context) error {
	start := time.Now()
	if err := a.alerts.Restore(ctx); err != nil {
		return err
	}
	st, err := a.rebuild(ctx, a.engine, nil, nil)
	if err != nil {
		return err
	}
	a.restored.Store(true)
	a.logger.Info("state restored", "events", st.events, "resolutions", st.resolutions, "confirmations", st.confirmations,
		"hazard_risks", st.hazardRisks, "since", st.since, "horizon", a.engine.Horizon(), "expired_meanwhile", st.expired,
		"took", time.Since(start).Round(time.Millisecond))
	return nil
}

// rebuilt counts what a rebuild replayed.
type rebuilt struct {
	since                                                    time.Time
	events, resolutions, confirmations, hazardRisks, expired int
}

// rebuild replays into e, an engine without state, the stored history of
// the schools owns accepts (nil: every school) whose events were read from
// partitions (nil: every partition), opens the risks of their hazards and
// records what expired meanwhile (steps 2–4 of restore).
func (a *App) rebuild(ctx context.Context, e *engine.Engine, partitions []int, owns func(string) bool) (rebuilt, error) {
	var st rebuilt
	keep := func(id string) bool { return owns == nil || owns(id) }
	horizon := e.Horizon()
	since := time.Now().Add(-horizon)
	if open, ok, err := a.store.OpenRisksSince(ctx); err != nil {
		return st, fmt.Errorf("restore state from ClickHouse: %w", err)
	} else if ok && open.Add(-24*time.Hour).Before(since) {
		// A day's margin: a late event can move a risk's first event
		// earlier than the stored first_seen without a new transition.
		since = open.Add(-24 * time.Hour)
	}
	st.since = since
	resolutions, err := a.store.Resolutions(ctx, since)
	if err != nil {
		return st, fmt.Errorf("restore state from ClickHouse: %w", err)
	}
	confirmations, err := a.store.Confirmations(ctx, since)
	if err != nil {
		return st, fmt.Errorf("restore state from ClickHouse: %w", err)
	}
	acts := slices.DeleteFunc(slices.Concat(resolutions, confirmations), func(t engine.RiskTransition) bool { return !keep(t.SchoolID) })
	slices.SortStableFunc(acts, func(x, y engine.RiskTransition) int {
		if c := x.At.Compare(y.At); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	for _, t := range acts {
		if t.State == engine.RiskConfirmed {
			st.confirmations++
		} else {
			st.resolutions++
		}
	}
	var (
		ev      engine.Event
		skipped int
	)
	replay := func(apply func(*engine.Event) error) error {
		each := func(payload []byte, origin engine.Origin) error {
			if err := a.decoder.DecodeStored(payload, &ev); err != nil {
				skipped++ // e.g. a school the current registry no longer has
				return nil
			}
			if origin.Topic == "" && !keep(ev.SchoolID) {
				return nil // not read from Kafka: it belongs to its school's owner
			}
			return apply(&ev)
		}
		if partitions == nil {
			return a.store.ReplayEvents(ctx, since, each)
		}
		return a.store.ReplayPartitions(ctx, since, partitions, each)
	}
	var expired engine.Batch
	if st.events, err = e.Restore(replay, acts, time.Now(), &expired.Output); err != nil {
		return st, fmt.Errorf("restore state from ClickHouse: %w", err)
	}
	if skipped > 0 {
		a.logger.Warn("stored events not replayed: they no longer decode against the registry", "events", skipped)
	}

	var opens []hazard.Opening
	if owns == nil {
		opens, err = a.hazards.Restore(ctx)
	} else {
		opens, err = a.hazards.Openings(ctx, owns)
	}
	if err != nil {
		return st, err
	}
	var discard engine.Output
	for _, o := range opens {
		if err := e.Open(o.SchoolID, o.Match, o.At, &discard); err != nil {
			a.logger.Warn("hazard not restored in the engine", "school", o.SchoolID, "rule", o.Match.Rule, "key", o.Match.Key, "err", err)
		}
		discard.Reset()
	}
	st.hazardRisks = len(opens)

	if err := a.record(ctx, &expired); err != nil {
		return st, fmt.Errorf("store expiries found on restore: %w", err)
	}
	st.expired = len(expired.Transitions)
	return st, nil
}

// storedOffsets returns the last stored event of every partition, for the
// consumer to recognise the messages it is delivered again (Options.
// StoredOffsets of package ingest). Only events within the decoder's
// event-age limit are looked at: an older message read again is refused as
// too old before it reaches the engine.
func (a *App) storedOffsets(ctx context.Context) (map[string]map[int]ingest.StoredOffset, error) {
	var since time.Time
	if age := a.decoder.Limits.MaxAge; age > 0 {
		since = time.Now().Add(-age)
	}
	list, err := a.store.StoredOffsets(ctx, since)
	if err != nil {
		return nil, err
	}
	out := map[string]map[int]ingest.StoredOffset{}
	for _, o := range list {
		if out[o.Topic] == nil {
			out[o.Topic] = map[int]ingest.StoredOffset{}
		}
		out[o.Topic][o.Partition] = ingest.StoredOffset{Offset: o.Offset, ID: o.EventID}
	}
	return out, nil
}

// supervisor tells the district of an overdue hazard through the alerts.
type supervisor struct{ alerts *alert.Manager }

func (s supervisor) SuperviseHazard(ctx context.Context, h *hazard.Hazard) error {
	return s.alerts.Supervise(ctx, alert.Supervision{
		HazardID: h.ID, SchoolID: h.SchoolID, Title: h.Title, Deadline: h.Deadline, At: h.SupervisedAt,
	})
}
