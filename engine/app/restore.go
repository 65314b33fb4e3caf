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
	horizon := a.engine.Horizon()
	since := start.Add(-horizon)
	if open, ok, err := a.store.OpenRisksSince(ctx); err != nil {
		return fmt.Errorf("restore state from ClickHouse: %w", err)
	} else if ok && open.Add(-24*time.Hour).Before(since) {
		// A day's margin: a late event can move a risk's first event
		// earlier than the stored first_seen without a new transition.
		since = open.Add(-24 * time.Hour)
	}
	resolutions, err := a.store.Resolutions(ctx, since)
	if err != nil {
		return fmt.Errorf("restore state from ClickHouse: %w", err)
	}
	confirmations, err := a.store.Confirmations(ctx, since)
	if err != nil {
		return fmt.Errorf("restore state from ClickHouse: %w", err)
	}
	acts := slices.Concat(resolutions, confirmations)
	slices.SortStableFunc(acts, func(x, y engine.RiskTransition) int {
		if c := x.At.Compare(y.At); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	var (
		ev      engine.Event
		skipped int
	)
	replay := func(apply func(*engine.Event) error) error {
		return a.store.ReplayEvents(ctx, since, func(payload []byte, _ engine.Origin) error {
			if err := a.decoder.DecodeStored(payload, &ev); err != nil {
				skipped++ // e.g. a school the current registry no longer has
				return nil
			}
			return apply(&ev)
		})
	}
	var expired engine.Batch
	n, err := a.engine.Restore(replay, acts, time.Now(), &expired.Output)
	if err != nil {
		return fmt.Errorf("restore state from ClickHouse: %w", err)
	}
	if skipped > 0 {
		a.logger.Warn("stored events not replayed: they no longer decode against the registry", "events", skipped)
	}

	opens, err := a.hazards.Restore(ctx)
	if err != nil {
		return err
	}
	var discard engine.Output
	for _, o := range opens {
		if err := a.engine.Open(o.SchoolID, o.Match, o.At, &discard); err != nil {
			a.logger.Warn("hazard not restored in the engine", "school", o.SchoolID, "rule", o.Match.Rule, "key", o.Match.Key, "err", err)
		}
		discard.Reset()
	}

	if err := a.record(ctx, &expired); err != nil {
		return fmt.Errorf("store expiries found on restore: %w", err)
	}
	a.restored.Store(true)
	a.logger.Info("state restored", "events", n, "resolutions", len(resolutions), "confirmations", len(confirmations), "hazard_risks", len(opens),
		"since", since, "horizon", horizon, "expired_meanwhile", len(expired.Transitions),
		"took", time.Since(start).Round(time.Millisecond))
	return nil
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
