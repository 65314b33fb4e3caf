package rules

import (
	"fmt"
	"strings"

	"github.com/expr-lang/expr/ast"
	"gopkg.in/yaml.v3"
)

// Params are the thresholds of a rule set (8 °C, 125 g, 48 h …), declared
// once under `params:` and used in expressions as `params.name`. Each use is
// replaced by the constant at compile time, so a misspelt name is a load
// error and a threshold costs nothing at run time.
type Params map[string]any

// parseParams reads a `params` mapping: numbers, strings, booleans and lists
// of strings.
func parseParams(f *File, n *yaml.Node, into Params, where map[string]string) []error {
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if prev, dup := where[k.Value]; dup {
			errs = append(errs, &Error{File: f.Name, Line: k.Line, Column: k.Column, Msg: fmt.Sprintf("param %q is already defined at %s", k.Value, prev)})
			continue
		}
		var val any
		switch v.Kind {
		case yaml.ScalarNode:
			var x any
			if err := v.Decode(&x); err != nil {
				errs = append(errs, &Error{File: f.Name, Line: v.Line, Column: v.Column, Msg: err.Error()})
				continue
			}
			switch x := x.(type) {
			case int:
				val = float64(x)
			case float64, string, bool:
				val = x
			default:
				errs = append(errs, &Error{File: f.Name, Line: v.Line, Column: v.Column, Msg: fmt.Sprintf("param %q: expected a number, a string, a boolean or a list of strings", k.Value)})
				continue
			}
		case yaml.SequenceNode:
			list := make([]any, 0, len(v.Content))
			for _, e := range v.Content {
				list = append(list, e.Value)
			}
			val = list
		default:
			errs = append(errs, &Error{File: f.Name, Line: v.Line, Column: v.Column, Msg: fmt.Sprintf("param %q: expected a number, a string, a boolean or a list of strings", k.Value)})
			continue
		}
		into[k.Value] = val
		where[k.Value] = fmt.Sprintf("%s:%d", f.Name, k.Line)
	}
	return errs
}

// paramPatcher replaces `params.name` by its value and records unknown names
// and references to names that are not allowed in the expression.
type paramPatcher struct {
	params    Params
	forbidden map[string]string // identifier → why it is not available here
	problems  []problem
}

type problem struct {
	from int // rune offset in the expression
	msg  string
}

func (p *paramPatcher) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.MemberNode:
		id, ok := n.Node.(*ast.IdentifierNode)
		if !ok || id.Value != "params" {
			return
		}
		name, ok := n.Property.(*ast.StringNode)
		if !ok {
			p.problems = append(p.problems, problem{n.Location().From, "params must be used as params.name"})
			return
		}
		v, ok := p.params[name.Value]
		if !ok {
			msg := fmt.Sprintf("unknown param params.%s", name.Value)
			if s := suggest(name.Value, p.names()); s != "" {
				msg += fmt.Sprintf(" (did you mean params.%s?)", s)
			}
			p.problems = append(p.problems, problem{n.Property.Location().From, msg})
			return
		}
		ast.Patch(node, &ast.ConstantNode{Value: v})
	case *ast.CallNode:
		p.checkSeason(n)
	case *ast.IdentifierNode:
		if why, ok := p.forbidden[n.Value]; ok {
			p.problems = append(p.problems, problem{n.Location().From, why})
		}
	}
}

// checkSeason reports a constant date of season(t, from, to) that is not
// MM-DD, so that a misspelt season is a load error rather than a failure at
// every event. The walk is bottom-up: params are constants here already.
func (p *paramPatcher) checkSeason(n *ast.CallNode) {
	id, ok := n.Callee.(*ast.IdentifierNode)
	if !ok || id.Value != "season" || len(n.Arguments) != 3 {
		return
	}
	for _, a := range n.Arguments[1:] {
		var s string
		switch c := a.(type) {
		case *ast.StringNode:
			s = c.Value
		case *ast.ConstantNode:
			if s, ok = c.Value.(string); !ok {
				continue
			}
		default:
			continue
		}
		if _, err := parseMonthDay(s); err != nil {
			p.problems = append(p.problems, problem{a.Location().From, "season: " + err.Error()})
		}
	}
}

func (p *paramPatcher) names() []string {
	out := make([]string, 0, len(p.params))
	for k := range p.params {
		out = append(out, k)
	}
	return out
}

// lineCol returns the 1-based line and column of a rune offset in src.
func lineCol(src string, from int) (int, int) {
	line, col := 1, 1
	for i, r := range []rune(src) {
		if i == from {
			break
		}
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

func trimParams(s string) (string, bool) {
	return strings.CutPrefix(strings.TrimSpace(s), "params.")
}
