package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

// failingRules has a rule that fails at run time on an event without
// suspects, beside one that works.
const failingRules = `rules:
  - id: bullying.first_suspect
    source: bullying
    when: event.suspect_refs[0] == "s1"
    level: low
    title: x
  - id: bullying.injury
    source: bullying
    when: event.injury
    level: high
    title: y
`

func TestEvaluationFailuresCounted(t *testing.T) {
	tm := newTestManager(t, map[string]string{"bullying.yaml": failingRules}, ManagerOptions{})
	ev := new(newEvent(t, engine.SourceBullying, "report", time.Now(), fields{"id": "e1", "school_id": "s", "injury": true}))
	school := &engine.School{ID: "s"}

	evaluate := func() {
		t.Helper()
		ms, err := tm.Current().Evaluate(ev, school, tm.Current().NewState(), nil)
		require.ErrorContains(t, err, `rule "bullying.first_suspect": when:`)
		require.Len(t, ms, 1, "the other rule still matches")
		require.Equal(t, "bullying.injury", ms[0].Rule)
	}
	evaluate()
	evaluate()
	require.NoError(t, testutil.GatherAndCompare(tm.reg, strings.NewReader(`
# HELP sanse_rules_evaluation_failures_total Evaluations of a rule (or level policy entry) that failed at run time, by rule id; the event is applied with the other rules.
# TYPE sanse_rules_evaluation_failures_total counter
sanse_rules_evaluation_failures_total{rule="bullying.first_suspect"} 2
`), "sanse_rules_evaluation_failures_total"))

	// A reloaded set counts in the same series.
	writeFile(t, tm.dir, "bullying.yaml", failingRules+"\n")
	require.NoError(t, tm.Reload())
	evaluate()
	require.Equal(t, 3.0, testutil.ToFloat64(tm.metrics.evaluationFailures.WithLabelValues("bullying.first_suspect")))

	// A set outside a Manager counts nothing, and still reports the error.
	set, errs := Compile(mustParse(t, failingRules))
	require.Empty(t, errs)
	_, err := set.Evaluate(ev, school, set.NewState(), nil)
	require.Error(t, err)
	require.Equal(t, 3.0, testutil.ToFloat64(tm.metrics.evaluationFailures.WithLabelValues("bullying.first_suspect")))
}

func mustParse(t *testing.T, src string) *File {
	t.Helper()
	f, errs := ParseFile("x.yaml", []byte(src))
	require.Empty(t, errs)
	return f
}
