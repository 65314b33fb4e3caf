package engine

import "time"

// Replay is a source of stored events in event-time order, as the store
// streams them: it calls apply for each and stops at the first error.
type Replay func(apply func(*Event) error) error

// Restore rebuilds the engine's state from what is stored: it applies every
// event of replay in event-time order, with the people's acts (sorted by
// time) in between — resolutions and false alarms end a risk, confirmations
// of a risk pending a check give it its full level —, advancing the clock in steps of a minute of event
// time, then advances the clock to now and appends to out what ran out
// meanwhile. It returns how many events were applied. Nothing but the final
// advance to now is recorded: the rest is already in the history.
func (e *Engine) Restore(replay Replay, resolutions []RiskTransition, now time.Time, out *Output) (int, error) {
	var (
		discard  Output
		n        int
		lastTick time.Time
	)
	resolveUntil := func(t time.Time) {
		for len(resolutions) > 0 && !resolutions[0].At.After(t) {
			r := resolutions[0]
			resolutions = resolutions[1:]
			if r.State == RiskConfirmed {
				e.RestoreConfirmation(r.SchoolID, r.Risk.Rule, r.Risk.Key, r.At)
			} else {
				e.RestoreResolution(r.SchoolID, r.Risk.Rule, r.Risk.Key, r.At)
			}
		}
	}
	err := replay(func(ev *Event) error {
		// A tick per event would run the scheduled checks of every school
		// for every event; expiries and deadlines carry their own times.
		if ev.OccurredAt.Sub(lastTick) >= time.Minute {
			e.Tick(ev.OccurredAt, &discard)
			lastTick = ev.OccurredAt
		}
		resolveUntil(ev.OccurredAt)
		_ = e.Apply(ev, &discard)
		discard.Reset()
		n++
		return nil
	})
	if err != nil {
		return n, err
	}
	resolveUntil(now)
	e.Tick(now, out)
	return n, nil
}
