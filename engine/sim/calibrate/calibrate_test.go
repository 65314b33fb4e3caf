package calibrate

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/registry"
	"github.com/sanse-campus/sanse/rules"
)

// Calibration targets: a real district's map, with working staff, after two
// school days.
const (
	maxRed    = 0.02
	maxYellow = 0.15
)

// TestCalibration runs the demo district through the default pack for a
// term week in June (the drowning and flood seasons, the busiest for the
// pack), after a two-day warm-up, with the people who act on risks (see
// people). The map must look like a real district's after two school days,
// and every rule of the pack must fire within the week.
//
// It runs in make test's second pass, without the race detector: the
// harness is one goroutine, and the detector would make a minute ten.
func TestCalibration(t *testing.T) {
	if raceEnabled {
		t.Skip("a single-goroutine simulation, run without the race detector (make test's second pass)")
	}
	reg, err := registry.Load(filepath.Join("..", "..", "..", "testdata", "registry", "demo.csv"))
	require.NoError(t, err)
	set, errs := rules.Default()
	require.Empty(t, errs)
	begin := time.Now()
	rep, err := Run(Options{Registry: reg, Rules: set, Seed: 1, Rate: 4,
		Start: time.Date(2026, 6, 8, 0, 0, 0, 0, engine.Shanghai), Days: 7, WarmUp: 48 * time.Hour})
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, rep.Write(&buf))
	t.Logf("%s\n%s", buf.String(), time.Since(begin))

	require.Len(t, rep.Days, 7)
	require.Zero(t, rep.Rejected)
	for _, d := range rep.Days[:2] {
		require.True(t, d.SchoolDay, d.Date)
		require.LessOrEqual(t, d.End.Red, maxRed, "red at the end of %s", d.Date)
		require.LessOrEqual(t, d.End.Yellow, maxYellow, "yellow at the end of %s", d.Date)
	}
	require.Empty(t, rep.Never(), "rules that never fired in a term week")
}
