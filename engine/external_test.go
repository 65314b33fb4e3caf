package engine_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

// noRules is an Evaluator that matches nothing: every risk in these tests
// comes from Open.
type noRules struct{}

func (noRules) NewState() engine.RuleState { return nil }

func (noRules) Evaluate(_ *engine.Event, _ *engine.School, _ engine.RuleState, out []engine.Match) ([]engine.Match, error) {
	return out, nil
}

func (noRules) Check(_, _ time.Time, _ *engine.School, _ engine.RuleState, out []engine.Match) []engine.Match {
	return out
}

func (noRules) Escalate(*engine.School, []*engine.Risk) (engine.Level, string, string) {
	return engine.LevelGreen, "", ""
}

func (noRules) Horizon() time.Duration { return 24 * time.Hour }

func newOpenEngine(t *testing.T) *engine.Engine {
	t.Helper()
	reg, err := engine.NewRegistry([]engine.School{{ID: "S1", Name: "一小", District: "南湖区"}})
	require.NoError(t, err)
	e := engine.New(func() engine.Evaluator { return noRules{} }, func() *engine.Registry { return reg })
	var out engine.Output
	e.Tick(openT0, &out)
	return e
}

var openT0 = time.Date(2026, 11, 25, 9, 0, 0, 0, engine.Shanghai)

// hazardMatch is a hazard's manual risk at the given severity.
func hazardMatch(severity engine.Severity, title string) engine.Match {
	return engine.Match{Rule: "hazard", Key: "HZ-1", Severity: severity, Title: title, Manual: true, Source: engine.SourceDrowning}
}

func TestOpenAppliesAnExternalMatch(t *testing.T) {
	e := newOpenEngine(t)
	var out engine.Output
	require.NoError(t, e.Open("S1", hazardMatch(engine.SeverityMedium, "隐患：护栏破损"), openT0, &out))

	require.Len(t, out.Transitions, 1)
	tr := out.Transitions[0]
	require.Equal(t, engine.RiskOpened, tr.State)
	require.Empty(t, tr.EventID, "no event caused it")
	require.Equal(t, "S1", tr.SchoolID)
	require.Equal(t, engine.SourceDrowning, tr.Risk.Source)
	require.True(t, tr.Risk.Manual)
	require.True(t, tr.Risk.Until.IsZero(), "a manual risk lasts until resolved")
	require.Len(t, out.Changes, 1)
	require.Equal(t, engine.LevelYellow, out.Changes[0].To)
	require.Equal(t, "hazard", out.Changes[0].Cause.Rule)

	// The engine's clock does not end it.
	out.Reset()
	e.Tick(openT0.Add(30*24*time.Hour), &out)
	v, _ := e.View("S1")
	require.Equal(t, engine.LevelYellow, v.Level)
	require.Len(t, v.Risks, 1)

	// Opening it again one level up raises the school's colour.
	out.Reset()
	require.NoError(t, e.Open("S1", hazardMatch(engine.SeverityHigh, "隐患逾期未整改（挂牌督办）：护栏破损"), openT0.Add(72*time.Hour), &out))
	require.Len(t, out.Transitions, 1)
	require.Equal(t, engine.RiskUpdated, out.Transitions[0].State)
	require.Len(t, out.Changes, 1)
	require.Equal(t, engine.LevelRed, out.Changes[0].To)
	v, _ = e.View("S1")
	require.Len(t, v.Risks, 1, "the same risk")
	require.Equal(t, 2, v.Risks[0].Count)

	// A lower level later does not lower it: a risk keeps its most serious level.
	out.Reset()
	require.NoError(t, e.Open("S1", hazardMatch(engine.SeverityMedium, "隐患：护栏破损"), openT0.Add(73*time.Hour), &out))
	require.Empty(t, out.Changes)
	v, _ = e.View("S1")
	require.Equal(t, engine.LevelRed, v.Level)

	// Resolving it ends it; an opening from before the resolution does not
	// bring it back.
	out.Reset()
	resolvedAt := openT0.Add(80 * time.Hour)
	require.NoError(t, e.Resolve("S1", "hazard", "HZ-1", "李督学", "复查合格", resolvedAt, &out))
	require.Equal(t, engine.LevelGreen, out.Changes[0].To)
	out.Reset()
	require.NoError(t, e.Open("S1", hazardMatch(engine.SeverityMedium, "隐患：护栏破损"), resolvedAt.Add(-time.Minute), &out))
	require.Zero(t, out.Len())
	v, _ = e.View("S1")
	require.Equal(t, engine.LevelGreen, v.Level)
}

func TestOpenRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		school string
		match  engine.Match
		want   string
	}{
		{name: "unknown school", school: "S9", match: hazardMatch(engine.SeverityHigh, "x"), want: `school "S9" is not in the registry`},
		{name: "no rule", school: "S1", match: engine.Match{Severity: engine.SeverityHigh}, want: "the match has no rule"},
		{name: "no severity", school: "S1", match: engine.Match{Rule: "hazard", Key: "HZ-1"}, want: `unknown level ""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newOpenEngine(t)
			var out engine.Output
			require.ErrorContains(t, e.Open(tc.school, tc.match, openT0, &out), tc.want)
			require.Zero(t, out.Len())
			v, _ := e.View("S1")
			require.Equal(t, engine.LevelGreen, v.Level)
		})
	}
}
