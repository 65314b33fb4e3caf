package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

func TestDefaultPackCompiles(t *testing.T) {
	set, errs := Default()
	require.Empty(t, errs)
	seen := map[engine.Source]bool{}
	for _, r := range set.Rules() {
		seen[r.Source] = true
		require.NotEmpty(t, r.Provenance, "rule %s has no provenance", r.ID)
	}
	for _, s := range event.Builtin().Names() {
		require.True(t, seen[s], "no rule for source %s", s)
	}
	require.GreaterOrEqual(t, set.Horizon(), 7*24*time.Hour)
}

func TestErrorsAreLocated(t *testing.T) {
	_, errs := LoadDir(filepath.Join("..", "testdata", "rules", "bad"))
	require.Len(t, errs, 2, "both mistakes must be reported: %v", errs)
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	// The misspelt field: line 5, the column of `watchlst` in `when: event.watchlst`.
	require.Contains(t, got[0], "two_mistakes.yaml:5:17: rule \"visitor.misspelt\": when: unknown field event.watchlst (did you mean event.watchlist?)")
	// The type error: line 10, at the operator.
	require.Contains(t, got[1], "two_mistakes.yaml:10:")
	require.Contains(t, got[1], `rule "canteen.type_error": when: invalid operation: > (mismatched types float64 and string)`)
}

func TestStructuralErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "unknown field and missing level",
			src:  "rules:\n  - id: a\n    source: visitor\n    when: true\n    title: x\n    levle: high\n",
			want: []string{`x.yaml:6:5: rule "a": unknown field "levle"`, `x.yaml:2:5: rule "a": level: required`},
		},
		{
			name: "bad source, type and duration",
			src:  "rules:\n  - id: b\n    source: gate\n    when: true\n    level: low\n    title: x\n    for: soon\n",
			want: []string{`x.yaml:3:13: rule "b": source: unknown source "gate"`, `x.yaml:7:10: rule "b": for: "soon" is not a positive duration`},
		},
		{
			name: "unknown type of the source",
			src:  "rules:\n  - id: c\n    source: canteen\n    type: [sample, lunch]\n    when: true\n    level: low\n    title: x\n",
			want: []string{`x.yaml:4:11: rule "c": type: unknown canteen type "lunch"`},
		},
		{
			name: "duplicate ids",
			src:  "rules:\n  - {id: d, source: visitor, when: 'true', level: low, title: x}\n  - {id: d, source: visitor, when: 'true', level: low, title: y}\n",
			want: []string{`x.yaml:3: rule "d": duplicate rule id, first defined at x.yaml:2`},
		},
		{
			name: "unclosed placeholder in title",
			src:  "rules:\n  - id: e\n    source: visitor\n    when: 'true'\n    level: low\n    title: 'gate ${event.gate'\n",
			want: []string{`rule "e": title: placeholder`},
		},
		{
			name: "when is not boolean",
			src:  "rules:\n  - id: f\n    source: visitor\n    when: event.gate\n    level: low\n    title: x\n",
			want: []string{`x.yaml:4:11: rule "f": when: expected bool, but got string`},
		},
		{
			name: "window and absence sections",
			src: "rules:\n  - id: w\n    source: canteen\n    when: 'true'\n    window: {size: 1h, bogus: 1}\n    level: low\n    title: x\n" +
				"  - id: a\n    source: canteen\n    type: sample\n    absent: [by]\n    level: low\n    title: y\n",
			want: []string{`x.yaml:5:24: rule "w": window.bogus: unknown field`, `x.yaml:11:13: rule "a": absent: expected a mapping of`},
		},
		{
			name: "invalid YAML",
			src:  "rules:\n  - id: g\n   source: visitor\n",
			want: []string{`x.yaml:`, `invalid YAML: did not find expected`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, errs := ParseFile("x.yaml", []byte(tt.src))
			if f != nil {
				_, cerrs := Compile(f)
				errs = append(errs, cerrs...)
			}
			var all []string
			for _, e := range errs {
				all = append(all, e.Error())
			}
			joined := strings.Join(all, "\n")
			for _, w := range tt.want {
				require.Contains(t, joined, w)
			}
		})
	}
}

func TestLoadDirRefusesEmptyDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README.txt"), []byte("x"), 0o644))
	_, errs := LoadDir(dir)
	require.Len(t, errs, 1)
	require.Contains(t, errs[0].Error(), "no rule files")
}

func TestScaledShortensRisksAndEndsManualOnes(t *testing.T) {
	set, errs := Default()
	require.Empty(t, errs)
	scaled := set.Scaled(1.0 / 60)
	school := &engine.School{ID: "S1", Name: "一小", District: "南湖区", Stage: engine.StagePrimary, Canteen: true}
	ev := new(newEvent(t, engine.SourceVisitor, "entry", time.Date(2026, 11, 2, 9, 0, 0, 0, engine.Shanghai),
		fields{"id": "e", "school_id": "S1", "watchlist": "watch", "id_verified": true}))
	ms, err := scaled.Evaluate(ev, school, nil, nil)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	require.Equal(t, 8*time.Minute, ms[0].For, "8h scaled by 1/60")

	setField(t, ev, "watchlist", "blacklist")
	ms, err = set.Evaluate(ev, school, nil, nil)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	require.True(t, ms[0].Manual, "a blacklisted entry waits for a person")
	ms, err = scaled.Evaluate(ev, school, nil, nil)
	require.NoError(t, err)
	require.False(t, ms[0].Manual, "the demo has nobody to resolve it")
	require.Equal(t, 24*time.Minute, ms[0].For)
}

func TestHighRuleWithoutAnEndWaitsForAPerson(t *testing.T) {
	f, errs := ParseFile("x.yaml", []byte("rules:\n  - {id: a, source: visitor, when: 'true', level: high, title: x}\n  - {id: b, source: visitor, when: 'true', level: medium, title: y}\n  - {id: c, source: visitor, when: 'true', level: high, for: 2h, title: z}\n"))
	require.Empty(t, errs)
	set, errs := Compile(f)
	require.Empty(t, errs)
	require.True(t, set.Rules()[0].Manual)
	require.False(t, set.Rules()[1].Manual)
	require.Equal(t, DefaultFor, set.Rules()[1].For)
	require.False(t, set.Rules()[2].Manual)
}
