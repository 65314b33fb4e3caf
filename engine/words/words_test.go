package words

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

func TestCause(t *testing.T) {
	title := "禁入名单人员进入校园"
	for _, tc := range []struct {
		name   string
		cause  engine.Cause
		zh, en string
	}{
		{name: "opened", cause: engine.Cause{How: engine.RiskOpened, Severity: engine.SeverityHigh, Title: title},
			zh: "新增高风险：" + title, en: "New high risk: " + title},
		{name: "cleared", cause: engine.Cause{How: engine.RiskCleared, Title: title},
			zh: "风险已解除：" + title, en: "Risk cleared: " + title},
		{name: "removed", cause: engine.Cause{How: engine.RiskRemoved, Title: title},
			zh: "规则已停用，风险解除：" + title, en: "Rule disabled, risk ended: " + title},
		{name: "resolved", cause: engine.Cause{How: engine.RiskResolved, Title: title},
			zh: "已人工处置解除：" + title, en: "Resolved by a person: " + title},
		{name: "expired", cause: engine.Cause{How: engine.RiskExpired, Title: title},
			zh: "风险已到期解除：" + title, en: "Risk expired: " + title},
		{name: "policy", cause: engine.Cause{How: engine.RiskOpened, Severity: engine.SeverityMedium, Title: "晨检缺失",
			PolicyRule: "policy.three_medium", PolicyReason: "三项中风险"},
			zh: "新增中风险：晨检缺失；升级策略：三项中风险（policy.three_medium）",
			en: "New medium risk: 晨检缺失; escalation policy: 三项中风险 (policy.three_medium)"},
		{name: "stored sentence only", cause: engine.Cause{Text: "风险已解除：水位超警戒"},
			zh: "风险已解除：水位超警戒", en: "风险已解除：水位超警戒"},
		{name: "stored with its fields", cause: engine.Cause{How: engine.RiskCleared, Title: "水位超警戒", Text: "风险已解除：水位超警戒（旧）"},
			zh: "风险已解除：水位超警戒（旧）", en: "Risk cleared: 水位超警戒"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.zh, Cause(tc.cause, Chinese))
			require.Equal(t, tc.en, Cause(tc.cause, English))
		})
	}
}

func TestNames(t *testing.T) {
	require.Equal(t, "红色", Level(engine.LevelRed, Chinese))
	require.Equal(t, "Yellow", Level(engine.LevelYellow, English))
	require.Equal(t, "中风险", Severity(engine.SeverityMedium, Chinese))
	require.Equal(t, "low risk", Severity(engine.SeverityLow, English))
	require.Equal(t, "中风险", SeverityLabel(engine.SeverityMedium, Chinese))
	require.Equal(t, "Low", SeverityLabel(engine.SeverityLow, English))
	require.Equal(t, "初中", Stage(engine.StageJunior, Chinese))
	require.Equal(t, "Junior secondary", Stage(engine.StageJunior, English))
	require.Equal(t, "purple", Level("purple", English), "a value without a name is itself")
}

// TestEveryValueHasNames holds the tables to the engine's lists: a new
// colour, severity, stage or source without its names fails here.
func TestEveryValueHasNames(t *testing.T) {
	check := func(what string, n int, names map[string]pair) {
		t.Helper()
		require.Len(t, names, n, what)
		for v, p := range names {
			require.NotEmpty(t, p.zh, "%s %s", what, v)
			require.NotEmpty(t, p.en, "%s %s", what, v)
		}
	}
	check("levels", len(engine.Levels), keyed(levelNames, engine.Levels))
	check("severities", len(engine.Severities), keyed(severityNames, engine.Severities))
	check("severity labels", len(engine.Severities), keyed(severityLabels, engine.Severities))
	check("stages", len(engine.Stages), keyed(stageNames, engine.Stages))
}

// keyed returns the names of the values of list that names has.
func keyed[T ~string](names map[T]pair, list []T) map[string]pair {
	out := map[string]pair{}
	for _, v := range list {
		if p, ok := names[v]; ok {
			out[string(v)] = p
		}
	}
	return out
}

// TestEveryValueNamed checks that each value of the engine's enumerations
// has a name of its own in each language, not its id.
func TestEveryValueNamed(t *testing.T) {
	for _, lang := range []Lang{Chinese, English} {
		names := map[string]bool{}
		named := func(id, name string) {
			require.NotEqual(t, id, name, "%s has no %s name", id, lang)
			require.False(t, names[name], "two values are called %s", name)
			names[name] = true
		}
		for _, s := range engine.Stages {
			named(string(s), Stage(s, lang))
		}
		for _, l := range engine.Levels {
			named(string(l), Level(l, lang))
		}
		for _, s := range engine.Severities {
			named(string(s), SeverityLabel(s, lang))
			require.NotEqual(t, string(s), Severity(s, lang))
		}
	}
}
