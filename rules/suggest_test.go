package rules

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/expr-lang/expr/file"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

// compileErrors compiles one rule file and returns its problems.
func compileErrors(t *testing.T, src string) []error {
	t.Helper()
	f, errs := ParseFile("x.yaml", []byte(src))
	require.Empty(t, errs)
	_, errs = Compile(f)
	return errs
}

func TestDidYouMean(t *testing.T) {
	rule := func(field, expr string) string {
		r := map[string]string{"when": "'true'", "title": "x"}
		r[field] = expr
		return "rules:\n  - id: r\n    source: visitor\n    level: low\n    when: " + r["when"] + "\n    title: " + r["title"] + "\n"
	}
	tests := []struct {
		name string
		src  string
		want string // the message, without expr's snippet
	}{
		{name: "event field", src: rule("when", "event.watchlst == 'blacklist'"), want: "unknown field event.watchlst (did you mean event.watchlist?)"},
		{name: "visitor identity as rules read it", src: rule("when", "event.visitor_maskd != ''"), want: "unknown field event.visitor_maskd (did you mean event.visitor_masked?)"},
		{name: "a hashed field by its own name", src: rule("when", "event.visitor_id != ''"), want: "unknown field event.visitor_id (visitor_id is personal: rules read its keyed hash as event.visitor_hash and its masked form as event.visitor_masked)"},
		{name: "a field of another source", src: rule("when", "event.celsius > 8"), want: "unknown field event.celsius"},
		{name: "envelope field", src: rule("when", "event.ocurred_at != nil"), want: "unknown field event.ocurred_at (did you mean event.occurred_at?)"},
		{name: "school field", src: rule("when", "school.boardng"), want: "unknown field school.boardng (did you mean school.boarding?)"},
		{name: "field in a title placeholder", src: rule("title", "'gate ${event.gat}'"), want: "unknown field event.gat (did you mean event.gate?)"},
		{name: "nothing close", src: rule("when", "event.zzzzzzzz == ''"), want: "unknown field event.zzzzzzzz"},
		{name: "school field in the policy", src: "policy:\n  - {id: p, level: red, reason: x, when: 'school.stge == \"primary\"'}\n", want: "unknown field school.stge (did you mean school.stage?)"},
		{name: "other errors keep expr's message", src: rule("when", "event.gate > 3"), want: "invalid operation: > (mismatched types string and int)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := compileErrors(t, tt.src)
			require.Len(t, errs, 1)
			var re *Error
			require.ErrorAs(t, errs[0], &re)
			msg, _, _ := strings.Cut(re.Msg, "\n") // without expr's snippet
			require.Equal(t, tt.want, msg)
		})
	}
}

// TestErrorUnwrapsToExpr checks that a located rule error leads to expr's
// own error, with its position in the expression.
func TestErrorUnwrapsToExpr(t *testing.T) {
	errs := compileErrors(t, "rules:\n  - id: r\n    source: visitor\n    level: low\n    when: event.gate > 3\n    title: x\n")
	require.Len(t, errs, 1)
	var fe *file.Error
	require.ErrorAs(t, errs[0], &fe, "%T does not unwrap to *file.Error", errs[0])
	require.Contains(t, fe.Message, "mismatched types")
	require.Equal(t, 1, fe.Line)

	// A problem Sanse found itself wraps nothing.
	errs = compileErrors(t, "rules:\n  - id: r\n    source: gate\n    level: low\n    when: 'true'\n    title: x\n")
	require.Len(t, errs, 1)
	require.NotErrorAs(t, errs[0], &fe)
	var re *Error
	require.ErrorAs(t, errs[0], &re)
	require.NoError(t, re.Unwrap())
}

// TestEventFieldsAreTheEnvironment holds the names suggestions are drawn
// from, the type expressions are compiled against and the map the VM reads
// to one another, for every declared source: the same names, and in the map
// values of the types compiled against.
func TestEventFieldsAreTheEnvironment(t *testing.T) {
	for _, src := range event.Builtin().Sources() {
		t.Run(string(src.Name), func(t *testing.T) {
			typ := eventType(src)
			names := slices.Collect(maps.Keys(typ))
			require.ElementsMatch(t, names, eventNames(src))
			m := map[string]any{}
			eventMap(src, &engine.Event{Source: src.Name}, m)
			require.ElementsMatch(t, names, slices.Collect(maps.Keys(m)))
			for name, v := range m {
				require.Equal(t, typ[name].String(), reflect.TypeOf(v).String(), "event.%s", name)
			}
		})
	}
}
