package rules

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

// busContract returns the built-in sources and the school buses of
// testdata/contract/sources.
func busContract(t *testing.T) *event.Contract {
	t.Helper()
	c, err := event.LoadContract(filepath.Join("..", "testdata", "contract", "sources"))
	require.NoError(t, err)
	require.NotNil(t, c.Source("shuttle"))
	return c
}

var busRules = filepath.Join("..", "testdata", "contract", "rules")

// TestRulesOfADeclaredSource compiles rules of a source the built-in
// contract does not have, and evaluates events decoded by the same
// contract, natively and, for the rule that has no native form, on the VM.
func TestRulesOfADeclaredSource(t *testing.T) {
	c := busContract(t)
	set, errs := LoadDirContract(c, busRules)
	require.Empty(t, errs)
	require.Same(t, c, set.Contract())
	require.Len(t, set.Rules(), 3)
	overloaded := set.Rules()[1]
	require.Equal(t, "bus.overloaded", overloaded.ID)
	require.Nil(t, overloaded.prepared().when, "the test needs a rule evaluated on the VM")
	require.NotNil(t, set.Rules()[0].prepared().when)

	school := &engine.School{ID: "S1"}
	reg, err := engine.NewRegistry([]engine.School{*school})
	require.NoError(t, err)
	dec := &event.Decoder{Contract: c, Registry: func() *engine.Registry { return reg }}
	at := time.Date(2026, 11, 2, 7, 30, 0, 0, engine.Shanghai).Format(time.RFC3339)
	tests := []struct {
		name  string
		body  string
		want  []string // rule ids
		title string   // of the first match
	}{
		{name: "speeding, a declared label", body: `"type":"trip","plate":"浙F1","speed_kmh":72.5,"status":"late"`,
			want: []string{"bus.speeding"}, title: "接驳车超速（浙F1，72.5 km/h，晚点）"},
		{name: "absent fields read as zero", body: `"type":"trip","plate":"浙F1","speed_kmh":61`,
			want: []string{"bus.speeding"}, title: "接驳车超速（浙F1，61 km/h，）"},
		{name: "a list on the VM", body: `"type":"trip","plate":"浙F2","speed_kmh":30,"seats":2,"pupils":["P-1","P-2","P-3"]}`,
			want: []string{"bus.overloaded"}, title: "校车超载（浙F2：P-1、P-2、P-3）"},
		{name: "an int on the VM", body: `"type":"trip","plate":"浙F2","speed_kmh":30,"seats":2,"aboard":3}`,
			want: []string{"bus.overloaded"}, title: "校车超载（浙F2：）"},
		{name: "nothing", body: `"type":"trip","plate":"浙F2","speed_kmh":30,"seats":2,"aboard":2,"pupils":[]}`},
		{name: "another type", body: `"type":"breakdown","plate":"浙F3","alarm_id":"A-1"}`,
			want: []string{"bus.breakdown"}, title: "校车故障（浙F3）"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := `{"id":"e1","school_id":"S1","source":"shuttle","occurred_at":"` + at + `",` + strings.TrimSuffix(tt.body, "}") + `}`
			var ev engine.Event
			require.NoError(t, dec.Decode("shuttle", []byte(msg), &ev))
			ms, err := set.Evaluate(&ev, school, nil, nil)
			require.NoError(t, err)
			var ids []string
			for _, m := range ms {
				ids = append(ids, m.Rule)
			}
			require.Equal(t, tt.want, ids)
			if tt.title != "" {
				require.Equal(t, tt.title, ms[0].Title)
			}
		})
	}
}

// TestContractChecksRules checks that a rule's source, types and fields
// are those of the contract it is compiled against.
func TestContractChecksRules(t *testing.T) {
	c := busContract(t)
	rule := func(source, typ, when string) *File {
		return mustParse(t, "rules:\n  - id: r\n    source: "+source+"\n    type: "+typ+"\n    level: low\n    when: "+when+"\n    title: x\n")
	}
	tests := []struct {
		name     string
		contract *event.Contract
		file     *File
		want     string // the message; empty: no error
	}{
		{name: "a declared source", contract: c, file: rule("shuttle", "trip", "event.speed_kmh > 60")},
		{name: "not in the built-in contract", file: rule("shuttle", "trip", "'true'"),
			want: `source: unknown source "shuttle", expected one of visitor, canteen, drowning, bullying`},
		{name: "an unknown type of the source", contract: c, file: rule("shuttle", "lunch", "'true'"),
			want: `type: unknown shuttle type "lunch", expected one of breakdown, disposition, trip`},
		{name: "a misspelt field, suggested from the source", contract: c, file: rule("shuttle", "trip", "event.plat == ''"),
			want: "unknown field event.plat (did you mean event.plate?)"},
		{name: "a field of another source", contract: c, file: rule("shuttle", "trip", "event.watchlist == ''"),
			want: "unknown field event.watchlist"},
		{name: "the declared type", contract: c, file: rule("shuttle", "trip", "event.speed_kmh > 'fast'"),
			want: "invalid operation: > (mismatched types float64 and string)"},
		{name: "an int is an int", contract: c, file: rule("shuttle", "trip", "event.seats"),
			want: "expected bool, but got int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := CompileContract(tt.contract, tt.file)
			if tt.want == "" {
				require.Empty(t, errs)
				return
			}
			require.Len(t, errs, 1)
			require.ErrorContains(t, errs[0], tt.want)
		})
	}
}

// TestManagerContract checks that a Manager loads, validates and reloads
// against its contract.
func TestManagerContract(t *testing.T) {
	_, err := NewManager(ManagerOptions{Dir: busRules})
	require.ErrorContains(t, err, `unknown source "shuttle"`)

	c := busContract(t)
	m, err := NewManager(ManagerOptions{Dir: busRules, Contract: c})
	require.NoError(t, err)
	require.Same(t, c, m.Current().Contract())
	require.NoError(t, m.Reload())
	require.Same(t, c, m.Current().Contract())
	errs := m.Validate("bus.yaml", []byte("rules:\n  - {id: r, source: shuttle, level: low, when: 'event.sped_kmh > 1', title: x}\n"))
	require.Len(t, errs, 1)
	require.ErrorContains(t, errs[0], "unknown field event.sped_kmh (did you mean event.speed_kmh?)")

	// The embedded pack, against a contract with more sources.
	m, err = NewManager(ManagerOptions{Contract: c})
	require.NoError(t, err)
	require.Same(t, c, m.Current().Contract())
}

// TestZhLabels checks zh()'s labels: every value a built-in source declares
// a label for, the sources and the severities.
func TestZhLabels(t *testing.T) {
	c := busContract(t)
	labels := labelsOf(c)
	for _, src := range c.Sources() {
		require.Equal(t, src.Title[0], labels[string(src.Name)])
		for _, f := range src.Fields {
			for v := range f.Labels {
				want, _ := c.Label(v)
				require.Equal(t, want, labels[v], "%s.%s", src.Name, f.Name)
			}
		}
	}
	require.Equal(t, "接驳车", labels["shuttle"])
	require.Equal(t, "晚点", labels["late"])
	require.Equal(t, "在逃/通缉", labels["wanted"])
	require.Equal(t, "冷藏", labels["fridge"])
	require.Equal(t, "外来人员", labels["visitor"])
	require.NotEmpty(t, labels[string(engine.SeverityHigh)])
}
