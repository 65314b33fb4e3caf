package calibrate

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/sim"
	"github.com/sanse-campus/sanse/rules"
)

// TestRecordHandsOverEverything checks what a caller storing the run relies
// on: every event the engine applied reaches Record once, and so does every
// record the engine made, at the time the run counts it.
func TestRecordHandsOverEverything(t *testing.T) {
	reg, err := engine.NewRegistry(sim.GenerateRegistry(1, 40))
	require.NoError(t, err)
	set, errs := rules.Default()
	require.Empty(t, errs)
	start := time.Date(2026, 6, 8, 0, 0, 0, 0, engine.Shanghai)
	opts := Options{Registry: reg, Rules: set, Seed: 1, Rate: sim.CalibratedRate * 40, Start: start, Days: 1, WarmUp: 6 * time.Hour}

	var events, warmUp int64
	ids := map[string]bool{}
	opened := map[string]int{}
	opts.Record = func(at time.Time, ev *engine.Event, out *engine.Output) error {
		if ev != nil {
			require.False(t, ids[ev.ID], "event %s handed over twice", ev.ID)
			ids[ev.ID] = true
			if at.Before(start) {
				warmUp++
			} else {
				events++
			}
		}
		for _, tr := range out.Transitions {
			if tr.State == engine.RiskOpened && !at.Before(start) {
				opened[tr.Risk.Rule]++
			}
		}
		return nil
	}
	rep, err := Run(opts)
	require.NoError(t, err)
	require.Zero(t, rep.Rejected)
	require.Equal(t, rep.Events, events)
	require.Positive(t, warmUp, "the warm-up's events are handed over too")
	for _, r := range set.Rules() {
		require.Equal(t, rep.Fired[r.ID], opened[r.ID], "risks of %s opened", r.ID)
	}
	require.NotEmpty(t, opened, "some risks opened")

	// An error of Record ends the run with it.
	stop := errors.New("disk full")
	opts.Record = func(time.Time, *engine.Event, *engine.Output) error { return stop }
	_, err = Run(opts)
	require.ErrorIs(t, err, stop)
}
