package rules_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/rules"
)

func TestRoutineDue(t *testing.T) {
	set, errs := rules.Default()
	require.Empty(t, errs)
	var ids []string
	for _, r := range set.Routines() {
		ids = append(ids, r.Rule)
	}
	require.Contains(t, ids, "canteen.no_sample_by_deadline")
	require.Contains(t, ids, "drowning.no_patrol")

	canteen := &engine.School{ID: "s1", District: "南湖区", Canteen: true, WaterBodies: []string{"南湖", "运河"}}
	none := &engine.School{ID: "s2", District: "南湖区"}
	day := func(s string) time.Time {
		d, err := time.ParseInLocation(time.DateOnly, s, engine.Shanghai)
		require.NoError(t, err)
		return d
	}

	// A school day (Thursday 2026-12-03): the sample is owed by a school
	// with a canteen, not by one without.
	keys, title, err := set.RoutineDue("canteen.no_sample_by_deadline", canteen, day("2026-12-03"))
	require.NoError(t, err)
	require.Equal(t, []string{""}, keys)
	require.Contains(t, title, "留样")
	keys, _, err = set.RoutineDue("canteen.no_sample_by_deadline", none, day("2026-12-03"))
	require.NoError(t, err)
	require.Empty(t, keys)

	// National Day (2026-10-01) is not a school day.
	keys, _, err = set.RoutineDue("canteen.no_sample_by_deadline", canteen, day("2026-10-01"))
	require.NoError(t, err)
	require.Empty(t, keys)

	// Water patrols are owed per water body in the drowning season, and
	// the name of the routine has no empty entity in it.
	keys, title, err = set.RoutineDue("drowning.no_patrol", canteen, day("2026-07-15"))
	require.NoError(t, err)
	require.Equal(t, []string{"南湖", "运河"}, keys)
	require.NotContains(t, title, "（）")
	keys, _, err = set.RoutineDue("drowning.no_patrol", canteen, day("2026-12-15"))
	require.NoError(t, err)
	require.Empty(t, keys, "out of season")

	_, _, err = set.RoutineDue("visitor.watchlist_entry", canteen, day("2026-12-03"))
	require.ErrorContains(t, err, "not an absence check")
}
