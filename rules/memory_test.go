package rules

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

// boundedRules count a pupil's reports in a week, and look for a water body
// left without a patrol for a day.
const boundedRules = `rules:
  - id: bullying.reports
    source: bullying
    type: report
    when: "true"
    key: event.victim_ref
    window:
      size: 7d
    level: low
    for: 1h
    title: '${window.count}'
  - id: drowning.unpatrolled
    source: drowning
    type: patrol
    key: event.water_body
    absent:
      for: 24h
    level: medium
    title: 未巡查
`

func TestWindowKeepsAtMostMaxWindowSamples(t *testing.T) {
	tm := newTestManager(t, map[string]string{"rules.yaml": boundedRules}, ManagerOptions{})
	set := tm.Current()
	school := &engine.School{ID: "s"}
	state := set.NewState()
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, engine.Shanghai)
	var ms []engine.Match
	for i := range MaxWindowSamples + 5 {
		ev := newEvent(t, engine.SourceBullying, "report", t0.Add(time.Duration(i)*time.Second),
			fields{"id": fmt.Sprint("e", i), "school_id": "s", "victim_ref": "S-1"})
		var err error
		ms, err = set.Evaluate(&ev, school, state, ms[:0])
		require.NoError(t, err)
	}
	require.Len(t, ms, 1)
	require.Equal(t, fmt.Sprint(MaxWindowSamples), ms[0].Title, "the window counts its newest MaxWindowSamples events")
	require.Equal(t, MaxWindowSamples, state.Len())
	require.Equal(t, 5.0, testutil.ToFloat64(tm.metrics.forgotten.WithLabelValues("bullying.reports", boundSamples)))
}

func TestRuleKeepsAtMostMaxKeys(t *testing.T) {
	tm := newTestManager(t, map[string]string{"rules.yaml": boundedRules}, ManagerOptions{})
	set := tm.Current()
	school := &engine.School{ID: "s"}
	state := set.NewState()
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, engine.Shanghai)
	n := 0
	report := func(victim string) string {
		t.Helper()
		n++
		ev := newEvent(t, engine.SourceBullying, "report", t0.Add(time.Duration(n)*time.Second),
			fields{"id": fmt.Sprint("e", n), "school_id": "s", "victim_ref": victim})
		ms, err := set.Evaluate(&ev, school, state, nil)
		require.NoError(t, err)
		require.Len(t, ms, 1)
		return ms[0].Title
	}
	patrol := func(water string) {
		t.Helper()
		n++
		ev := newEvent(t, engine.SourceDrowning, "patrol", t0.Add(time.Duration(n)*time.Second),
			fields{"id": fmt.Sprint("e", n), "school_id": "s", "water_body": water})
		_, err := set.Evaluate(&ev, school, state, nil)
		require.NoError(t, err)
	}
	for i := range MaxKeys {
		require.Equal(t, "1", report(fmt.Sprint("S-", i)))
		patrol(fmt.Sprint("W-", i))
	}
	require.Equal(t, 2*MaxKeys, state.Len())
	require.Equal(t, "2", report("S-0"), "within the bound every key keeps its window")

	// One key more: the key whose newest event is the oldest (S-1) is
	// forgotten, the others are kept.
	require.Equal(t, "1", report("S-new"))
	require.Equal(t, "2", report("S-2"))
	require.Equal(t, "1", report("S-1"), "the forgotten key starts afresh")
	patrol("W-new")
	require.Equal(t, 2*MaxKeys+2, state.Len(), "MaxKeys windows, two of them of two samples (S-0, S-2), and MaxKeys last-seen times")
	require.Equal(t, 2.0, testutil.ToFloat64(tm.metrics.forgotten.WithLabelValues("bullying.reports", boundKeys)),
		"S-new made it forget S-1, S-1 made it forget S-3")
	require.Equal(t, 1.0, testutil.ToFloat64(tm.metrics.forgotten.WithLabelValues("drowning.unpatrolled", boundKeys)))
}
