package rules

import (
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// Native evaluation of the level policy's common shapes: counts and
// distinct values over the school's risks, filtered by their fields —
// count(risks, .level == "medium") >= 3, len(uniq(map(filter(risks, …),
// .source))) >= 2, any(…), all(…) — joined by and/or. As for rules, other
// shapes run on the VM.

// policyValue is a compiled policy expression: a boolean or an int.
type policyValue struct {
	k kind
	b func(*PolicyEnv) bool
	i func(*PolicyEnv) int
}

// compilePolicy returns the native form of a policy's `when`, or nil.
func compilePolicy(prog *vm.Program) func(*PolicyEnv) bool {
	if prog == nil {
		return nil
	}
	v, ok := policyNode(prog.Node())
	if !ok || v.k != kBool {
		return nil
	}
	return v.b
}

func policyNode(node ast.Node) (policyValue, bool) {
	switch n := node.(type) {
	case *ast.IntegerNode:
		x := n.Value
		return policyValue{k: kInt, i: func(*PolicyEnv) int { return x }}, true
	case *ast.BoolNode:
		x := n.Value
		return policyValue{k: kBool, b: func(*PolicyEnv) bool { return x }}, true
	case *ast.UnaryNode:
		x, ok := policyNode(n.Node)
		if !ok || x.k != kBool || (n.Operator != "not" && n.Operator != "!") {
			return policyValue{}, false
		}
		return policyValue{k: kBool, b: func(e *PolicyEnv) bool { return !x.b(e) }}, true
	case *ast.BinaryNode:
		return policyBinary(n)
	case *ast.BuiltinNode:
		return policyBuiltin(n)
	}
	return policyValue{}, false
}

func policyBinary(n *ast.BinaryNode) (policyValue, bool) {
	l, ok := policyNode(n.Left)
	if !ok {
		return policyValue{}, false
	}
	r, ok := policyNode(n.Right)
	if !ok || l.k != r.k {
		return policyValue{}, false
	}
	switch n.Operator {
	case "and", "&&":
		if l.k == kBool {
			return policyValue{k: kBool, b: func(e *PolicyEnv) bool { return l.b(e) && r.b(e) }}, true
		}
	case "or", "||":
		if l.k == kBool {
			return policyValue{k: kBool, b: func(e *PolicyEnv) bool { return l.b(e) || r.b(e) }}, true
		}
	case "==", "!=", "<", "<=", ">", ">=":
		if l.k == kInt {
			b, ok := orderedPolicy(n.Operator, l.i, r.i)
			return policyValue{k: kBool, b: b}, ok
		}
	}
	return policyValue{}, false
}

func orderedPolicy(op string, x, y func(*PolicyEnv) int) (func(*PolicyEnv) bool, bool) {
	switch op {
	case "==":
		return func(e *PolicyEnv) bool { return x(e) == y(e) }, true
	case "!=":
		return func(e *PolicyEnv) bool { return x(e) != y(e) }, true
	case "<":
		return func(e *PolicyEnv) bool { return x(e) < y(e) }, true
	case "<=":
		return func(e *PolicyEnv) bool { return x(e) <= y(e) }, true
	case ">":
		return func(e *PolicyEnv) bool { return x(e) > y(e) }, true
	case ">=":
		return func(e *PolicyEnv) bool { return x(e) >= y(e) }, true
	}
	return nil, false
}

// selection is a filter over the school's risks: nil keeps every risk.
type selection func(*PolicyRisk) bool

func (s selection) keeps(r *PolicyRisk) bool { return s == nil || s(r) }

// risksOf compiles the list argument of a builtin: `risks` itself or
// filter(risks, predicate).
func risksOf(node ast.Node) (selection, bool) {
	switch n := node.(type) {
	case *ast.IdentifierNode:
		return nil, n.Value == "risks"
	case *ast.BuiltinNode:
		if n.Name != "filter" || n.Map != nil || n.Threshold != nil || len(n.Arguments) != 2 {
			return nil, false
		}
		inner, ok := risksOf(n.Arguments[0])
		if !ok {
			return nil, false
		}
		pred, ok := riskPredicate(n.Arguments[1])
		if !ok {
			return nil, false
		}
		if inner == nil {
			return pred, true
		}
		return func(r *PolicyRisk) bool { return inner(r) && pred(r) }, true
	}
	return nil, false
}

func policyBuiltin(n *ast.BuiltinNode) (policyValue, bool) {
	switch n.Name {
	case "count", "any", "all", "none", "one":
		if len(n.Arguments) != 2 || n.Map != nil {
			return policyValue{}, false
		}
		from, ok := risksOf(n.Arguments[0])
		if !ok {
			return policyValue{}, false
		}
		pred, ok := riskPredicate(n.Arguments[1])
		if !ok {
			return policyValue{}, false
		}
		// Threshold only lets expr stop counting early; the comparison the
		// optimiser took it from gives the same answer on the full count.
		count := func(e *PolicyEnv) (matched, total int) {
			for i := range e.Risks {
				r := &e.Risks[i]
				if !from.keeps(r) {
					continue
				}
				total++
				if pred(r) {
					matched++
				}
			}
			return matched, total
		}
		switch n.Name {
		case "count":
			return policyValue{k: kInt, i: func(e *PolicyEnv) int { m, _ := count(e); return m }}, true
		case "any":
			return policyValue{k: kBool, b: func(e *PolicyEnv) bool { m, _ := count(e); return m > 0 }}, true
		case "all":
			return policyValue{k: kBool, b: func(e *PolicyEnv) bool { m, t := count(e); return m == t }}, true
		case "none":
			return policyValue{k: kBool, b: func(e *PolicyEnv) bool { m, _ := count(e); return m == 0 }}, true
		default:
			return policyValue{k: kBool, b: func(e *PolicyEnv) bool { m, _ := count(e); return m == 1 }}, true
		}
	case "len":
		if len(n.Arguments) != 1 {
			return policyValue{}, false
		}
		if u, ok := n.Arguments[0].(*ast.BuiltinNode); ok && u.Name == "uniq" && len(u.Arguments) == 1 {
			from, field, ok := mappedRisks(u.Arguments[0])
			if !ok {
				return policyValue{}, false
			}
			return policyValue{k: kInt, i: func(e *PolicyEnv) int { return distinct(e.Risks, from, field) }}, true
		}
		from, ok := risksOf(n.Arguments[0])
		if !ok {
			return policyValue{}, false
		}
		return policyValue{k: kInt, i: func(e *PolicyEnv) int {
			c := 0
			for i := range e.Risks {
				if from.keeps(&e.Risks[i]) {
					c++
				}
			}
			return c
		}}, true
	}
	return policyValue{}, false
}

// mappedRisks compiles map(list, .field), or the filter with a map that the
// optimiser folds it into.
func mappedRisks(node ast.Node) (selection, func(*PolicyRisk) string, bool) {
	b, ok := node.(*ast.BuiltinNode)
	if !ok {
		return nil, nil, false
	}
	switch {
	case b.Name == "filter" && b.Map != nil && b.Threshold == nil && len(b.Arguments) == 2:
		from, ok := risksOf(b.Arguments[0])
		if !ok {
			return nil, nil, false
		}
		pred, ok := riskPredicate(b.Arguments[1])
		if !ok {
			return nil, nil, false
		}
		field, ok := riskString(b.Map)
		if !ok {
			return nil, nil, false
		}
		return func(r *PolicyRisk) bool { return from.keeps(r) && pred(r) }, field, true
	case b.Name == "map" && b.Map == nil && len(b.Arguments) == 2:
		from, ok := risksOf(b.Arguments[0])
		if !ok {
			return nil, nil, false
		}
		p, ok := b.Arguments[1].(*ast.PredicateNode)
		if !ok {
			return nil, nil, false
		}
		field, ok := riskString(p.Node)
		return from, field, ok
	}
	return nil, nil, false
}

// distinct counts the different values of field among the risks from keeps.
// A school has few risks, so a scan is cheaper than a set.
func distinct(risks []PolicyRisk, from selection, field func(*PolicyRisk) string) int {
	c := 0
	for i := range risks {
		if !from.keeps(&risks[i]) {
			continue
		}
		v, seen := field(&risks[i]), false
		for j := 0; j < i && !seen; j++ {
			seen = from.keeps(&risks[j]) && field(&risks[j]) == v
		}
		if !seen {
			c++
		}
	}
	return c
}

// riskPredicate compiles a predicate over one risk (`.level == "medium"`).
func riskPredicate(node ast.Node) (selection, bool) {
	if p, ok := node.(*ast.PredicateNode); ok {
		node = p.Node
	}
	switch n := node.(type) {
	case *ast.BoolNode:
		x := n.Value
		return func(*PolicyRisk) bool { return x }, true
	case *ast.UnaryNode:
		x, ok := riskPredicate(n.Node)
		if !ok || (n.Operator != "not" && n.Operator != "!") {
			return nil, false
		}
		return func(r *PolicyRisk) bool { return !x(r) }, true
	case *ast.BinaryNode:
		switch n.Operator {
		case "and", "&&", "or", "||":
			l, ok := riskPredicate(n.Left)
			if !ok {
				return nil, false
			}
			r, ok := riskPredicate(n.Right)
			if !ok {
				return nil, false
			}
			if n.Operator == "and" || n.Operator == "&&" {
				return func(x *PolicyRisk) bool { return l(x) && r(x) }, true
			}
			return func(x *PolicyRisk) bool { return l(x) || r(x) }, true
		case "==", "!=":
			field, ok := riskString(n.Left)
			if !ok {
				return nil, false
			}
			c, ok := n.Right.(*ast.StringNode)
			if !ok {
				return nil, false
			}
			v := c.Value
			if n.Operator == "==" {
				return func(r *PolicyRisk) bool { return field(r) == v }, true
			}
			return func(r *PolicyRisk) bool { return field(r) != v }, true
		}
	}
	return nil, false
}

// riskString compiles a string field of the current risk (`.source`).
func riskString(node ast.Node) (func(*PolicyRisk) string, bool) {
	m, ok := node.(*ast.MemberNode)
	if !ok || m.Optional || m.Method {
		return nil, false
	}
	if p, ok := m.Node.(*ast.PointerNode); !ok || p.Name != "" {
		return nil, false
	}
	prop, ok := m.Property.(*ast.StringNode)
	if !ok {
		return nil, false
	}
	switch prop.Value {
	case "rule":
		return func(r *PolicyRisk) string { return r.Rule }, true
	case "key":
		return func(r *PolicyRisk) string { return r.Key }, true
	case "level":
		return func(r *PolicyRisk) string { return r.Level }, true
	case "grade":
		return func(r *PolicyRisk) string { return r.Grade }, true
	case "source":
		return func(r *PolicyRisk) string { return r.Source }, true
	}
	return nil, false
}
