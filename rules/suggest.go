package rules

import (
	"fmt"
	"reflect"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

// Did-you-mean for rule expressions. expr reports a misspelt field in Go's
// terms ("type engine.Event has no field watchlst"); rule authors write
// `event.watchlst`. The field is found in the expression's syntax tree at
// the error's location, not in expr's message, so the suggestion does not
// depend on how expr or Go name the types behind `event` and `school`.

// fieldLists are the names each environment root has, for suggestions:
// `event` as the event contract names its fields, `school` as the
// registry's expressions do.
var fieldLists = map[string][]string{
	"event":  event.Fields(),
	"school": exprTags(reflect.TypeFor[engine.School]()),
}

// explain returns the message of expr compile error fe of expression src in
// the terms rule authors use: for an unknown field of `event` or `school`,
// "unknown field event.watchlst (did you mean event.watchlist?)"; expr's own
// message for anything else.
func explain(src string, fe *file.Error) string {
	root, name, ok := unknownField(src, fe.Location)
	if !ok {
		return fe.Message
	}
	msg := fmt.Sprintf("unknown field %s.%s", root, name)
	if s := suggest(name, fieldLists[root]); s != "" {
		msg += fmt.Sprintf(" (did you mean %s.%s?)", root, s)
	}
	return msg
}

// unknownField returns the root (event or school) and the name of the field
// that src reads at loc, when that name is not one of the root's fields.
func unknownField(src string, loc file.Location) (root, name string, ok bool) {
	tree, err := parser.Parse(src)
	if err != nil {
		return "", "", false
	}
	f := &fieldFinder{at: loc}
	ast.Walk(&tree.Node, f)
	if f.root == "" {
		return "", "", false
	}
	for _, n := range fieldLists[f.root] {
		if n == f.name {
			return "", "", false
		}
	}
	return f.root, f.name, true
}

// fieldFinder finds the member expression `event.x` or `school.x` at a
// location.
type fieldFinder struct {
	at         file.Location
	root, name string
}

func (f *fieldFinder) Visit(node *ast.Node) {
	m, ok := (*node).(*ast.MemberNode)
	if !ok || m.Location() != f.at {
		return
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	if !ok || fieldLists[id.Value] == nil {
		return
	}
	if p, ok := m.Property.(*ast.StringNode); ok {
		f.root, f.name = id.Value, p.Value
	}
}

// exprTags returns the names expressions give the fields of struct type t.
func exprTags(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if tag := t.Field(i).Tag.Get("expr"); tag != "" && tag != "-" {
			out = append(out, tag)
		}
	}
	return out
}

// suggest returns the name closest to s within two edits, or "".
func suggest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
