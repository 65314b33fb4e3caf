package app_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/event"
)

// TestDeclaredSource: a source declared in a YAML file, with a rule on it,
// runs end to end with no Go code of its own — read from its topic,
// validated, evaluated, stored, alerted, its personal field masked.
func TestDeclaredSource(t *testing.T) {
	contract, err := event.LoadContract(filepath.Join("..", "..", "testdata", "sources"))
	require.NoError(t, err)
	e := newEnv(t)
	e.contract = contract
	e.rulesDir = t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(e.rulesDir, "bus.yaml"), []byte(`rules:
  - id: bus.speeding
    source: ferry
    type: speeding
    when: event.speed_kmh > event.limit_kmh + 10
    level: high
    title: 渡船严重超速
`), 0o600))
	a := start(t, e)
	require.Same(t, contract, a.Contract())

	at := time.Now().Add(-time.Minute)
	produce(t, a.Brokers(), map[string]any{
		"id": "bus-1", "school_id": schoolA, "source": "ferry", "type": "speeding", "occurred_at": at.Format(time.RFC3339Nano),
		"plate": "浙F12345", "speed_kmh": 75, "limit_kmh": 50, "driver_name": "王建国",
	})
	waitFor(t, 30*time.Second, "the red change stored", func() bool {
		tl := timeline(t, a.App, schoolA)
		return len(tl) > 0 && tl[len(tl)-1].To == engine.LevelRed
	})
	c := lastStored(t, a.App, schoolA)
	require.Equal(t, "bus.speeding", c.Cause.Rule)
	require.Equal(t, "bus-1", c.EventID)

	waitFor(t, 30*time.Second, "the event stored", func() bool { return storedEvents(t, a.App) == 1 })
	var payloads []string
	require.NoError(t, a.Store().ReplayEvents(t.Context(), time.Now().Add(-time.Hour), func(p []byte, o engine.Origin) error {
		require.Equal(t, "campus.ferry", o.Topic)
		payloads = append(payloads, string(p))
		return nil
	}))
	require.Len(t, payloads, 1)
	require.NotContains(t, payloads[0], "王建国", "driver_name is declared personal: mask")
	require.Contains(t, payloads[0], "王**")

	var list []*alert.Alert
	waitFor(t, 30*time.Second, "the alert", func() bool {
		list, err = a.Alerts().List(t.Context(), alert.Filter{School: schoolA})
		require.NoError(t, err)
		return len(list) == 1
	})
	require.Equal(t, engine.Source("ferry"), list[0].Source)

	// A restart restores the risk from the stored event, decoded by the
	// same declaration.
	a.stop()
	b := start(t, e)
	require.Equal(t, engine.LevelRed, b.Engine().Level(schoolA))
}
