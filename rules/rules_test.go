package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

func TestDefaultPackCompiles(t *testing.T) {
	set, errs := Default()
	require.Empty(t, errs)
	seen := map[engine.Source]bool{}
	for _, r := range set.Rules() {
		seen[r.Source] = true
		require.NotEmpty(t, r.Provenance, "rule %s has no provenance", r.ID)
	}
	for _, s := range engine.Sources {
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

// school is the record the pack tests evaluate against.
var school = &engine.School{ID: "S1", Name: "测试小学", District: "南湖区", Stage: engine.StagePrimary, Canteen: true}

func TestDefaultPackOutcomes(t *testing.T) {
	set, errs := Default()
	require.Empty(t, errs)
	july := time.Date(2026, 7, 10, 10, 0, 0, 0, engine.Shanghai)
	march := time.Date(2026, 3, 10, 10, 0, 0, 0, engine.Shanghai)
	tests := []struct {
		name  string
		ev    engine.Event
		rules []string // expected matching rule ids, in pack order
		level engine.Severity
		title string // a substring of the first match's title
	}{
		{name: "blacklisted visitor", ev: engine.Event{Source: "visitor", Type: "entry", Watchlist: "blacklist", Gate: "东门", IDVerified: true},
			rules: []string{"visitor.watchlist_entry"}, level: engine.SeverityHigh, title: "禁入名单人员进入校园（东门）"},
		{name: "wanted visitor", ev: engine.Event{Source: "visitor", Type: "entry", Watchlist: "wanted", Gate: "北门", IDVerified: true},
			rules: []string{"visitor.watchlist_entry"}, level: engine.SeverityHigh, title: "在逃/通缉人员"},
		{name: "prohibited items", ev: engine.Event{Source: "visitor", Type: "entry", Watchlist: "none", ProhibitedItems: true, IDVerified: true},
			rules: []string{"visitor.prohibited_items"}, level: engine.SeverityHigh},
		{name: "watch list", ev: engine.Event{Source: "visitor", Type: "entry", Watchlist: "watch", IDVerified: true},
			rules: []string{"visitor.watch_entry"}, level: engine.SeverityMedium},
		{name: "unverified during class", ev: engine.Event{Source: "visitor", Type: "entry", Watchlist: "none", DuringClass: true},
			rules: []string{"visitor.unverified_during_class"}, level: engine.SeverityMedium},
		{name: "unverified after class is no risk", ev: engine.Event{Source: "visitor", Type: "entry", Watchlist: "none"}},
		{name: "blacklisted visitor denied at the gate is no entry", ev: engine.Event{Source: "visitor", Type: "denied", Watchlist: "blacklist"}},
		{name: "ordinary visitor", ev: engine.Event{Source: "visitor", Type: "entry", Watchlist: "none", IDVerified: true, DuringClass: true}},
		{name: "rodent", ev: engine.Event{Source: "canteen", Type: "ai_violation", Violation: "rodent"},
			rules: []string{"canteen.rodent"}, level: engine.SeverityHigh},
		{name: "no hat", ev: engine.Event{Source: "canteen", Type: "ai_violation", Violation: "no_hat"},
			rules: []string{"canteen.hygiene_violation"}, level: engine.SeverityLow},
		{name: "pesticide failed", ev: engine.Event{Source: "canteen", Type: "pesticide_test", Item: "青菜"},
			rules: []string{"canteen.pesticide_failed"}, level: engine.SeverityHigh, title: "青菜"},
		{name: "sample too light", ev: engine.Event{Source: "canteen", Type: "sample", Dish: "红烧肉", WeightG: 100, RetainedHours: 48},
			rules: []string{"canteen.sample_insufficient"}, level: engine.SeverityMedium},
		{name: "sample kept too short", ev: engine.Event{Source: "canteen", Type: "sample", Dish: "红烧肉", WeightG: 130, RetainedHours: 24},
			rules: []string{"canteen.sample_insufficient"}, level: engine.SeverityMedium},
		{name: "sample fine", ev: engine.Event{Source: "canteen", Type: "sample", Dish: "红烧肉", WeightG: 125, RetainedHours: 48}},
		{name: "health check failed", ev: engine.Event{Source: "canteen", Type: "health_check", StaffID: "C07", Symptom: "发热"},
			rules: []string{"canteen.health_check_failed"}, level: engine.SeverityMedium},
		{name: "fridge warm", ev: engine.Event{Source: "canteen", Type: "storage_temp", Zone: "fridge", Celsius: 9.5, Device: "F1"},
			rules: []string{"canteen.storage_temperature"}, level: engine.SeverityMedium, title: "冷藏温度超标（F1）"},
		{name: "fridge at 8 is fine", ev: engine.Event{Source: "canteen", Type: "storage_temp", Zone: "fridge", Celsius: 8, Device: "F1"}},
		{name: "freezer warm", ev: engine.Event{Source: "canteen", Type: "storage_temp", Zone: "freezer", Celsius: -10, Device: "D1"},
			rules: []string{"canteen.storage_temperature"}, level: engine.SeverityMedium, title: "冷冻"},
		{name: "supplier cert expired", ev: engine.Event{Source: "canteen", Type: "supplier_cert", Supplier: "某蔬菜公司", OccurredAt: march, ExpiresOn: march.AddDate(0, 0, -1)},
			rules: []string{"canteen.supplier_cert_expired"}, level: engine.SeverityMedium},
		{name: "supplier cert expiring", ev: engine.Event{Source: "canteen", Type: "supplier_cert", Supplier: "某蔬菜公司", OccurredAt: march, ExpiresOn: march.AddDate(0, 0, 7)},
			rules: []string{"canteen.supplier_cert_expiring"}, level: engine.SeverityLow},
		{name: "supplier cert valid", ev: engine.Event{Source: "canteen", Type: "supplier_cert", Supplier: "某蔬菜公司", OccurredAt: march, ExpiresOn: march.AddDate(0, 0, 8)}},
		{name: "minors at a fence", ev: engine.Event{Source: "drowning", Type: "fence_intrusion", WaterBody: "南湖", Minors: true, Persons: 2},
			rules: []string{"drowning.fence_intrusion_minors"}, level: engine.SeverityHigh},
		{name: "adults at a fence", ev: engine.Event{Source: "drowning", Type: "fence_intrusion", WaterBody: "南湖", Persons: 1},
			rules: []string{"drowning.fence_intrusion"}, level: engine.SeverityMedium},
		{name: "water level in summer", ev: engine.Event{Source: "drowning", Type: "water_level", WaterBody: "长水塘", LevelM: 3.2, WarningLevelM: 3.0, OccurredAt: july},
			rules: []string{"drowning.water_level_summer"}, level: engine.SeverityHigh},
		{name: "water level in spring", ev: engine.Event{Source: "drowning", Type: "water_level", WaterBody: "长水塘", LevelM: 3.0, WarningLevelM: 3.0, OccurredAt: march},
			rules: []string{"drowning.water_level"}, level: engine.SeverityMedium},
		{name: "patrol hazard", ev: engine.Event{Source: "drowning", Type: "patrol", WaterBody: "长水塘", HazardFound: true, Note: "护栏破损"},
			rules: []string{"drowning.patrol_hazard"}, level: engine.SeverityMedium, title: "长水塘"},
		{name: "heavy rain in summer", ev: engine.Event{Source: "drowning", Type: "weather", RainMM24h: 50, OccurredAt: july},
			rules: []string{"drowning.heavy_rain_summer"}, level: engine.SeverityMedium},
		{name: "heavy rain in spring is no risk", ev: engine.Event{Source: "drowning", Type: "weather", RainMM24h: 80, OccurredAt: march}},
		{name: "bullying report", ev: engine.Event{Source: "bullying", Type: "report", Kind: "verbal", VictimRef: "S-1", Channel: "teacher"},
			rules: []string{"bullying.report"}, level: engine.SeverityMedium},
		{name: "bullying with injury", ev: engine.Event{Source: "bullying", Type: "report", Kind: "physical", VictimRef: "S-1", Injury: true, Channel: "parent"},
			rules: []string{"bullying.report_injury"}, level: engine.SeverityHigh},
		{name: "screening over threshold", ev: engine.Event{Source: "bullying", Type: "screening", StudentRef: "S-2", Score: 60, Threshold: 60},
			rules: []string{"bullying.screening"}, level: engine.SeverityMedium},
		{name: "screening under threshold", ev: engine.Event{Source: "bullying", Type: "screening", StudentRef: "S-2", Score: 59, Threshold: 60}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := tt.ev
			if ev.OccurredAt.IsZero() {
				ev.OccurredAt = march
			}
			ms, err := set.Evaluate(&ev, school, nil, nil)
			require.NoError(t, err)
			var ids []string
			for _, m := range ms {
				ids = append(ids, m.Rule)
				require.NotContains(t, m.Title, "?", "title placeholder failed")
			}
			require.Equal(t, tt.rules, ids)
			if len(ms) > 0 {
				require.Equal(t, tt.level, ms[0].Severity)
				require.Contains(t, ms[0].Title, tt.title)
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
