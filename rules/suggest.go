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

// Did-you-mean for rule expressions. expr reports a misspelt field in its
// own terms ("unknown field watchlst" for the map `event` is, "type
// engine.School has no field boardng" for the struct `school` is); rule
// authors write `event.watchlst`. The field is found in the expression's
// syntax tree at the error's location, not in expr's message, so the
// suggestion does not depend on how expr names the types behind `event` and
// `school`.

// schoolFields are the names of `school`, as the registry's expressions
// name them.
var schoolFields = exprTags(reflect.TypeFor[engine.School]())

// fieldList returns the names root has for the rules of src, for
// suggestions: `event` as the source's declaration makes them readable,
// `school` as the registry names them; nil for any other root.
func fieldList(root string, src *event.Source) []string {
	switch root {
	case "event":
		return eventNames(src)
	case "school":
		return schoolFields
	}
	return nil
}

// explain returns the message of expr compile error fe of expression src,
// of a rule of source, in the terms rule authors use: for an unknown field of
// `event` or `school`, "unknown field event.watchlst (did you mean
// event.watchlist?)", and for a personal field that rules do not read by its
// own name, the names they do read; expr's own message for anything else.
func explain(src string, fe *file.Error, source *event.Source) string {
	root, name, ok := unknownField(src, fe.Location, source)
	if !ok {
		return fe.Message
	}
	msg := fmt.Sprintf("unknown field %s.%s", root, name)
	if root == "event" && source != nil {
		if f := source.Field(name); f != nil {
			switch f.Personal {
			case event.PersonalHash:
				return msg + fmt.Sprintf(" (%s is personal: rules read its keyed hash as event.%s and its masked form as event.%s)", name, f.HashAs, f.MaskedAs)
			case event.PersonalDrop:
				return msg + fmt.Sprintf(" (%s is personal and dropped on arrival: rules cannot read it)", name)
			}
		}
	}
	if s := suggest(name, fieldList(root, source)); s != "" {
		msg += fmt.Sprintf(" (did you mean %s.%s?)", root, s)
	}
	return msg
}

// unknownField returns the root (event or school) and the name of the field
// that src reads at loc, when that name is not one of the root's fields for
// the rules of source.
func unknownField(src string, loc file.Location, source *event.Source) (root, name string, ok bool) {
	tree, err := parser.Parse(src)
	if err != nil {
		return "", "", false
	}
	f := &fieldFinder{at: loc}
	ast.Walk(&tree.Node, f)
	if f.root == "" {
		return "", "", false
	}
	for _, n := range fieldList(f.root, source) {
		if n == f.name {
			return "", "", false
		}
	}
	return f.root, f.name, true
}

// fieldFinder finds the member expression `event.x` or `school.x` at a
// location: expr locates an unknown field of a struct at the member
// expression, of a map at its property.
type fieldFinder struct {
	at         file.Location
	root, name string
}

func (f *fieldFinder) Visit(node *ast.Node) {
	m, ok := (*node).(*ast.MemberNode)
	if !ok || (m.Location() != f.at && m.Property.Location() != f.at) {
		return
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	if !ok || (id.Value != "event" && id.Value != "school") {
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
