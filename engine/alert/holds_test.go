package alert_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
)

// TestActsOnAlertsHeldElsewhere: with several instances, the instance that
// holds a school repeats and escalates its alerts; another refuses a
// person's act on them, saying so, rather than change a copy the holder
// does not see.
func TestActsOnAlertsHeldElsewhere(t *testing.T) {
	reg, err := engine.NewRegistry([]engine.School{
		{ID: "S1", Name: "南湖区第一小学", District: "南湖区"},
		{ID: "S2", Name: "南湖区第二小学", District: "南湖区"},
	})
	require.NoError(t, err)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, engine.Shanghai) // a Monday, school hours
	clk := &clock{t: t0}
	m, err := alert.New(alert.Options{
		Config: baseConfig(), Store: newFakeStore(), Registry: func() *engine.Registry { return reg },
		Level: func(string) engine.Level { return engine.LevelRed }, Now: clk.now,
		Holds: func(id string) bool { return id == "S1" },
	})
	require.NoError(t, err)
	require.NoError(t, m.Restore(t.Context()))
	for _, school := range []string{"S1", "S2"} {
		out := change(school, engine.LevelGreen, engine.LevelRed, "visitor.watchlist_entry", "黑名单人员入校", t0)
		require.NoError(t, m.Observe(t.Context(), &out))
	}
	ids := map[string]string{}
	list, err := m.List(t.Context(), alert.Filter{})
	require.NoError(t, err)
	for _, a := range list {
		ids[a.SchoolID] = a.ID
	}
	require.Len(t, ids, 2)

	_, err = m.Acknowledge(t.Context(), ids["S2"], "王老师", "已处置")
	require.ErrorIs(t, err, engine.ErrHeldElsewhere)
	_, err = m.Resolve(t.Context(), ids["S2"], "王老师", "已处置")
	require.ErrorIs(t, err, engine.ErrHeldElsewhere)
	a, err := m.Acknowledge(t.Context(), ids["S1"], "王老师", "已处置")
	require.NoError(t, err)
	require.Equal(t, alert.StatusAcknowledged, a.Status)
}
