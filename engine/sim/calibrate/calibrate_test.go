package calibrate

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/registry"
	"github.com/sanse-campus/sanse/rules"
)

// TestCalibrationReport runs the demo district through the default pack for a
// term week (after a two-day warm-up) and prints the report. It measures;
// the calibration bounds are not asserted yet (see the commit message).
func TestCalibrationReport(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a simulated week (about 35 s)")
	}
	reg, err := registry.Load(filepath.Join("..", "..", "..", "testdata", "registry", "demo.csv"))
	require.NoError(t, err)
	set, errs := rules.Default()
	require.Empty(t, errs)
	begin := time.Now()
	rep, err := Run(Options{Registry: reg, Rules: set, Seed: 1, Rate: 4, Start: time.Date(2026, 6, 8, 0, 0, 0, 0, engine.Shanghai), Days: 7, WarmUp: 48 * time.Hour,
		Progress: func(d Day) { t.Logf("%+v %s", d, time.Since(begin)) }})
	require.NoError(t, err)
	require.NoError(t, rep.Write(os.Stdout))
	t.Log(time.Since(begin))
}
