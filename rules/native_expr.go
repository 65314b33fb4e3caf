package rules

import (
	"reflect"
	"strconv"
	"time"
	"unsafe"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

// Native evaluation of the common shapes of rule expressions.
//
// expr's VM boxes every value it loads into an `any` (a string or float64
// field costs an allocation), allocates a buffer of arguments for every run
// that calls a function, and goes through reflection for every field. The
// rules of a pack are mostly comparisons of event fields with constants,
// joined by and/or, plus field reads and a few helpers in keys and titles.
// Those shapes are compiled here, once, from the checked and optimised tree
// of the program expr compiled, into typed Go closures that read the event's
// values by slot (as its source declares them) and other fields at
// precomputed offsets, and allocate nothing. Anything else — builtins,
// closures, maps, arithmetic on strings … — keeps running on the VM, so a
// rule author never has to know which shapes are fast. Compilation,
// type-checking and the error messages stay expr's: only programs that
// compiled are looked at.

// frame is what a native expression reads: the environments of rule and
// absence expressions. It lives in a pooled scratch, never on the heap per
// event.
type frame struct {
	env   Env
	check CheckEnv
}

// kind is the Go type of a native expression's value.
type kind uint8

const (
	kBool kind = iota + 1
	kString
	kFloat
	kInt
	kTime
	kDuration
	kStrings
)

// native is a compiled expression: exactly one of the functions is set, the
// one of its kind.
type native struct {
	k      kind
	b      func(*frame) bool
	s      func(*frame) string
	f      func(*frame) float64
	i      func(*frame) int
	t      func(*frame) time.Time
	d      func(*frame) time.Duration
	ss     func(*frame) []string
	window bool // reads `window`, which may be nil
	// constant is the value when the expression depends on nothing.
	constant any
	isConst  bool
}

// envKind says which environment a program was compiled against.
type envKind uint8

const (
	envRule envKind = iota
	envCheck
)

// nativeCompiler compiles checked expr trees into closures, for the
// expressions of a rule of source src (nil outside rules) compiled against
// env, with the set's calendar and zh() labels.
type nativeCompiler struct {
	env    envKind
	cal    *Calendar
	src    *event.Source
	labels map[string]string
}

// compileNative returns the native form of prog, or nil when some part of it
// has no native form.
func (c nativeCompiler) compileNative(prog *vm.Program) *native {
	if prog == nil {
		return nil
	}
	n, ok := c.node(prog.Node())
	if !ok {
		return nil
	}
	return &n
}

func constNative(v any) (native, bool) {
	n := native{constant: v, isConst: true}
	switch x := v.(type) {
	case bool:
		n.k, n.b = kBool, func(*frame) bool { return x }
	case string:
		n.k, n.s = kString, func(*frame) string { return x }
	case float64:
		n.k, n.f = kFloat, func(*frame) float64 { return x }
	case int:
		n.k, n.i = kInt, func(*frame) int { return x }
	case time.Duration:
		n.k, n.d = kDuration, func(*frame) time.Duration { return x }
	default:
		return native{}, false
	}
	return n, true
}

func (c *nativeCompiler) node(node ast.Node) (native, bool) {
	switch n := node.(type) {
	case *ast.BoolNode:
		return constNative(n.Value)
	case *ast.StringNode:
		return constNative(n.Value)
	case *ast.IntegerNode:
		return constNative(n.Value)
	case *ast.FloatNode:
		return constNative(n.Value)
	case *ast.ConstantNode:
		return constNative(n.Value)
	case *ast.IdentifierNode:
		return c.identifier(n.Value)
	case *ast.MemberNode:
		return c.member(n)
	case *ast.UnaryNode:
		return c.unary(n)
	case *ast.BinaryNode:
		return c.binary(n)
	case *ast.ConditionalNode:
		return c.conditional(n)
	case *ast.CallNode:
		return c.call(n)
	}
	return native{}, false
}

// identifier compiles the plain names of an absence check's environment.
func (c *nativeCompiler) identifier(name string) (native, bool) {
	if c.env != envCheck {
		return native{}, false
	}
	switch name {
	case "now":
		return native{k: kTime, t: func(f *frame) time.Time { return f.check.Now }}, true
	case "last_seen":
		return native{k: kTime, t: func(f *frame) time.Time { return f.check.LastSeen }}, true
	case "key":
		return native{k: kString, s: func(f *frame) string { return f.check.Key }}, true
	}
	return native{}, false
}

// base is the struct a member expression reads from.
type base uint8

const (
	baseSchool base = iota
	baseWindow
	baseCheckSchool
)

var (
	schoolType    = reflect.TypeOf(engine.School{})
	aggregateType = reflect.TypeOf(Aggregate{})
)

func (c *nativeCompiler) member(n *ast.MemberNode) (native, bool) {
	id, ok := n.Node.(*ast.IdentifierNode)
	prop, ok2 := n.Property.(*ast.StringNode)
	if !ok || !ok2 || n.Optional || n.Method {
		return native{}, false
	}
	var (
		b base
		t reflect.Type
	)
	switch {
	case c.env == envRule && id.Value == "event":
		return c.eventField(prop.Value)
	case c.env == envRule && id.Value == "school":
		b, t = baseSchool, schoolType
	case c.env == envRule && id.Value == "window":
		b, t = baseWindow, aggregateType
	case c.env == envCheck && id.Value == "school":
		b, t = baseCheckSchool, schoolType
	default:
		return native{}, false
	}
	field, ok := fieldByTag(t, prop.Value)
	if !ok {
		return native{}, false
	}
	off := field.Offset
	var out native
	// Only the exact types: a named string type such as engine.Source
	// compares differently in expr and stays on the VM.
	switch field.Type {
	case reflect.TypeOf(""):
		out = native{k: kString, s: fieldFunc[string](b, off)}
	case reflect.TypeOf(float64(0)):
		out = native{k: kFloat, f: fieldFunc[float64](b, off)}
	case reflect.TypeOf(0):
		out = native{k: kInt, i: fieldFunc[int](b, off)}
	case reflect.TypeOf(false):
		out = native{k: kBool, b: fieldFunc[bool](b, off)}
	case reflect.TypeOf(time.Time{}):
		out = native{k: kTime, t: fieldFunc[time.Time](b, off)}
	case reflect.TypeOf(time.Duration(0)):
		out = native{k: kDuration, d: fieldFunc[time.Duration](b, off)}
	case reflect.TypeOf([]string(nil)):
		out = native{k: kStrings, ss: fieldFunc[[]string](b, off)}
	default:
		return native{}, false
	}
	out.window = b == baseWindow
	return out, true
}

// eventField compiles `event.name`: an envelope field of the struct, or a
// readable of the rule's source from its slot, as the kind declared reads
// it.
func (c *nativeCompiler) eventField(name string) (native, bool) {
	switch name {
	case "id":
		return native{k: kString, s: func(f *frame) string { return f.env.Event.ID }}, true
	case "school_id":
		return native{k: kString, s: func(f *frame) string { return f.env.Event.SchoolID }}, true
	case "source":
		return native{k: kString, s: func(f *frame) string { return string(f.env.Event.Source) }}, true
	case "type":
		return native{k: kString, s: func(f *frame) string { return f.env.Event.Type }}, true
	case "occurred_at":
		return native{k: kTime, t: func(f *frame) time.Time { return f.env.Event.OccurredAt }}, true
	case "reporter":
		return native{k: kString, s: func(f *frame) string { return f.env.Event.Reporter }}, true
	}
	if c.src == nil {
		return native{}, false
	}
	r, ok := c.src.Readable(name)
	if !ok {
		return native{}, false
	}
	slot := r.Slot
	switch r.Kind {
	case event.KindString:
		return native{k: kString, s: func(f *frame) string { return slotValue(f.env.Event, slot).Str() }}, true
	case event.KindNumber:
		return native{k: kFloat, f: func(f *frame) float64 { return slotValue(f.env.Event, slot).Num() }}, true
	case event.KindInt:
		return native{k: kInt, i: func(f *frame) int { return slotValue(f.env.Event, slot).Int() }}, true
	case event.KindBool:
		return native{k: kBool, b: func(f *frame) bool { return slotValue(f.env.Event, slot).Bool() }}, true
	case event.KindTime, event.KindDate:
		return native{k: kTime, t: func(f *frame) time.Time { return slotValue(f.env.Event, slot).Time() }}, true
	case event.KindStrings:
		return native{k: kStrings, ss: func(f *frame) []string { return slotValue(f.env.Event, slot).List() }}, true
	}
	return native{}, false
}

// fieldByTag finds the field that expressions name tag.
func fieldByTag(t reflect.Type, tag string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Tag.Get("expr") == tag && len(f.Index) == 1 {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// fieldFunc returns a reader of the field of type T at offset off of the
// struct b points to. The offset and T come from reflection on that struct
// (member), so the read is exactly the field's.
func fieldFunc[T any](b base, off uintptr) func(*frame) T {
	switch b {
	case baseSchool:
		return func(f *frame) T { return *(*T)(unsafe.Add(unsafe.Pointer(f.env.School), off)) }
	case baseWindow:
		return func(f *frame) T { return *(*T)(unsafe.Add(unsafe.Pointer(f.env.Window), off)) }
	default:
		return func(f *frame) T { return *(*T)(unsafe.Add(unsafe.Pointer(f.check.School), off)) }
	}
}

func (c *nativeCompiler) unary(n *ast.UnaryNode) (native, bool) {
	x, ok := c.node(n.Node)
	if !ok {
		return native{}, false
	}
	switch {
	case (n.Operator == "not" || n.Operator == "!") && x.k == kBool:
		fb := x.b
		return native{k: kBool, b: func(f *frame) bool { return !fb(f) }, window: x.window}, true
	case n.Operator == "-" && x.k == kFloat:
		ff := x.f
		return native{k: kFloat, f: func(f *frame) float64 { return -ff(f) }, window: x.window}, true
	case n.Operator == "-" && x.k == kInt:
		fi := x.i
		return native{k: kInt, i: func(f *frame) int { return -fi(f) }, window: x.window}, true
	}
	return native{}, false
}

func numeric(k kind) bool { return k == kFloat || k == kInt }

// float returns x as a float64 reader, converting an int as expr does when
// it mixes ints and floats.
func (x native) float() func(*frame) float64 {
	if x.k == kFloat {
		return x.f
	}
	fi := x.i
	return func(f *frame) float64 { return float64(fi(f)) }
}

func (c *nativeCompiler) binary(n *ast.BinaryNode) (native, bool) {
	if n.Operator == "in" {
		return c.in(n)
	}
	l, ok := c.node(n.Left)
	if !ok {
		return native{}, false
	}
	r, ok := c.node(n.Right)
	if !ok {
		return native{}, false
	}
	window := l.window || r.window
	out, ok := c.operate(n.Operator, l, r)
	if !ok {
		return native{}, false
	}
	out.window = window
	return out, true
}

func (c *nativeCompiler) operate(op string, l, r native) (native, bool) {
	switch op {
	case "and", "&&", "or", "||":
		if l.k != kBool || r.k != kBool {
			return native{}, false
		}
		lb, rb := l.b, r.b
		if op == "and" || op == "&&" {
			return native{k: kBool, b: func(f *frame) bool { return lb(f) && rb(f) }}, true
		}
		return native{k: kBool, b: func(f *frame) bool { return lb(f) || rb(f) }}, true
	case "==", "!=", "<", "<=", ">", ">=":
		b, ok := compare(op, l, r)
		if !ok {
			return native{}, false
		}
		return native{k: kBool, b: b}, true
	case "+", "-", "*":
		return arithmetic(op, l, r)
	}
	return native{}, false
}

// compare compiles a comparison with expr's semantics: numbers of either
// kind compare as numbers (an int is converted when the other side is a
// float), strings by bytes, booleans only for equality, durations as
// durations.
func compare(op string, l, r native) (func(*frame) bool, bool) {
	switch {
	case l.k == kString && r.k == kString:
		if r.isConst {
			return ordered(op, l.s, r.constant.(string))
		}
		return orderedFn(op, l.s, r.s)
	case l.k == kInt && r.k == kInt:
		return orderedFn(op, l.i, r.i)
	case numeric(l.k) && numeric(r.k):
		if r.isConst {
			return ordered(op, l.float(), toFloat(r.constant))
		}
		return orderedFn(op, l.float(), r.float())
	case l.k == kDuration && r.k == kDuration:
		if r.isConst {
			return ordered(op, l.d, r.constant.(time.Duration))
		}
		return orderedFn(op, l.d, r.d)
	case l.k == kBool && r.k == kBool && (op == "==" || op == "!="):
		lb, rb := l.b, r.b
		if op == "==" {
			return func(f *frame) bool { return lb(f) == rb(f) }, true
		}
		return func(f *frame) bool { return lb(f) != rb(f) }, true
	}
	return nil, false
}

type orderable interface {
	~string | ~int | ~float64 | ~int64
}

// ordered compares a value with a constant.
func ordered[T orderable](op string, x func(*frame) T, c T) (func(*frame) bool, bool) {
	switch op {
	case "==":
		return func(f *frame) bool { return x(f) == c }, true
	case "!=":
		return func(f *frame) bool { return x(f) != c }, true
	case "<":
		return func(f *frame) bool { return x(f) < c }, true
	case "<=":
		return func(f *frame) bool { return x(f) <= c }, true
	case ">":
		return func(f *frame) bool { return x(f) > c }, true
	case ">=":
		return func(f *frame) bool { return x(f) >= c }, true
	}
	return nil, false
}

// orderedFn compares two values.
func orderedFn[T orderable](op string, x, y func(*frame) T) (func(*frame) bool, bool) {
	switch op {
	case "==":
		return func(f *frame) bool { return x(f) == y(f) }, true
	case "!=":
		return func(f *frame) bool { return x(f) != y(f) }, true
	case "<":
		return func(f *frame) bool { return x(f) < y(f) }, true
	case "<=":
		return func(f *frame) bool { return x(f) <= y(f) }, true
	case ">":
		return func(f *frame) bool { return x(f) > y(f) }, true
	case ">=":
		return func(f *frame) bool { return x(f) >= y(f) }, true
	}
	return nil, false
}

// arithmetic compiles +, - and * on numbers: ints stay ints, anything mixed
// with a float is a float, as in expr.
func arithmetic(op string, l, r native) (native, bool) {
	if !numeric(l.k) || !numeric(r.k) {
		return native{}, false
	}
	if l.isConst && r.isConst {
		return foldArithmetic(op, l.constant, r.constant)
	}
	if l.k == kInt && r.k == kInt {
		x, y := l.i, r.i
		switch op {
		case "+":
			return native{k: kInt, i: func(f *frame) int { return x(f) + y(f) }}, true
		case "-":
			return native{k: kInt, i: func(f *frame) int { return x(f) - y(f) }}, true
		default:
			return native{k: kInt, i: func(f *frame) int { return x(f) * y(f) }}, true
		}
	}
	x, y := l.float(), r.float()
	switch op {
	case "+":
		return native{k: kFloat, f: func(f *frame) float64 { return x(f) + y(f) }}, true
	case "-":
		return native{k: kFloat, f: func(f *frame) float64 { return x(f) - y(f) }}, true
	default:
		return native{k: kFloat, f: func(f *frame) float64 { return x(f) * y(f) }}, true
	}
}

func foldArithmetic(op string, a, b any) (native, bool) {
	ai, aInt := a.(int)
	bi, bInt := b.(int)
	if aInt && bInt {
		switch op {
		case "+":
			return constNative(ai + bi)
		case "-":
			return constNative(ai - bi)
		default:
			return constNative(ai * bi)
		}
	}
	x, y := toFloat(a), toFloat(b)
	switch op {
	case "+":
		return constNative(x + y)
	case "-":
		return constNative(x - y)
	default:
		return constNative(x * y)
	}
}

// in compiles `string in [constant strings]`, the array as written or as
// a param list or as the set expr's optimiser makes of it, and `string in
// list` for a list-valued field (`"gate_security" in school.connected`).
func (c *nativeCompiler) in(n *ast.BinaryNode) (native, bool) {
	l, ok := c.node(n.Left)
	if !ok || l.k != kString {
		return native{}, false
	}
	if r, ok := n.Right.(*ast.MemberNode); ok {
		list, ok := c.node(r)
		if !ok || list.k != kStrings {
			return native{}, false
		}
		ls, ss := l.s, list.ss
		return native{k: kBool, window: l.window, b: func(f *frame) bool {
			v := ls(f)
			for _, s := range ss(f) {
				if s == v {
					return true
				}
			}
			return false
		}}, true
	}
	var set []string
	switch r := n.Right.(type) {
	case *ast.ConstantNode:
		switch v := r.Value.(type) {
		case []any:
			for _, e := range v {
				s, ok := e.(string)
				if !ok {
					return native{}, false
				}
				set = append(set, s)
			}
		case []string:
			set = v
		case map[string]struct{}:
			for s := range v {
				set = append(set, s)
			}
		default:
			return native{}, false
		}
	case *ast.ArrayNode:
		for _, e := range r.Nodes {
			s, ok := e.(*ast.StringNode)
			if !ok {
				return native{}, false
			}
			set = append(set, s.Value)
		}
	default:
		return native{}, false
	}
	ls := l.s
	if len(set) <= 8 {
		// A few strings: a scan is cheaper than hashing.
		return native{k: kBool, window: l.window, b: func(f *frame) bool {
			v := ls(f)
			for _, s := range set {
				if s == v {
					return true
				}
			}
			return false
		}}, true
	}
	m := make(map[string]struct{}, len(set))
	for _, s := range set {
		m[s] = struct{}{}
	}
	return native{k: kBool, window: l.window, b: func(f *frame) bool { _, ok := m[ls(f)]; return ok }}, true
}

func (c *nativeCompiler) conditional(n *ast.ConditionalNode) (native, bool) {
	cond, ok := c.node(n.Cond)
	if !ok || cond.k != kBool {
		return native{}, false
	}
	a, ok := c.node(n.Exp1)
	if !ok {
		return native{}, false
	}
	b, ok := c.node(n.Exp2)
	if !ok || a.k != b.k {
		return native{}, false
	}
	out := native{k: a.k, window: cond.window || a.window || b.window}
	cb := cond.b
	switch a.k {
	case kString:
		out.s = ternary(cb, a.s, b.s)
	case kBool:
		out.b = ternary(cb, a.b, b.b)
	case kFloat:
		out.f = ternary(cb, a.f, b.f)
	case kInt:
		out.i = ternary(cb, a.i, b.i)
	default:
		return native{}, false
	}
	return out, true
}

// call compiles the helpers of functions(); each does what its VM form does.
func (c *nativeCompiler) call(n *ast.CallNode) (native, bool) {
	id, ok := n.Callee.(*ast.IdentifierNode)
	if !ok {
		return native{}, false
	}
	args := make([]native, len(n.Arguments))
	window := false
	for i, a := range n.Arguments {
		if args[i], ok = c.node(a); !ok {
			return native{}, false
		}
		window = window || args[i].window
	}
	time1 := func() (func(*frame) time.Time, bool) {
		if len(args) != 1 || args[0].k != kTime {
			return nil, false
		}
		return args[0].t, true
	}
	var out native
	cal := c.cal
	switch id.Value {
	case "hour", "minute", "weekday", "month":
		t, ok := time1()
		if !ok {
			return native{}, false
		}
		var fn func(time.Time) int
		switch id.Value {
		case "hour":
			fn = func(t time.Time) int { return local(t).Hour() }
		case "minute":
			fn = func(t time.Time) int { return local(t).Minute() }
		case "weekday":
			fn = func(t time.Time) int {
				d := int(local(t).Weekday())
				if d == 0 {
					d = 7
				}
				return d
			}
		default:
			fn = func(t time.Time) int { return int(local(t).Month()) }
		}
		out = native{k: kInt, i: func(f *frame) int { return fn(t(f)) }}
	case "daysUntil":
		if len(args) != 2 || args[0].k != kTime || args[1].k != kTime {
			return native{}, false
		}
		a, b := args[0].t, args[1].t
		out = native{k: kInt, i: func(f *frame) int {
			return int(midnight(b(f)).Sub(midnight(a(f))).Hours() / 24)
		}}
	case "schoolDay", "summer", "classTime":
		t, ok := time1()
		if !ok {
			return native{}, false
		}
		switch id.Value {
		case "schoolDay":
			out = native{k: kBool, b: func(f *frame) bool { return cal.SchoolDay(t(f)) }}
		case "summer":
			out = native{k: kBool, b: func(f *frame) bool { return cal.Summer(t(f)) }}
		default:
			out = native{k: kBool, b: func(f *frame) bool { return classTime(cal, t(f)) }}
		}
	case "season":
		// Native only with constant dates (params), parsed once here.
		if len(args) != 3 || args[0].k != kTime || !args[1].isConst || !args[2].isConst {
			return native{}, false
		}
		from, fok := args[1].constant.(string)
		to, tok := args[2].constant.(string)
		if !fok || !tok {
			return native{}, false
		}
		a, err1 := parseMonthDay(from)
		b, err2 := parseMonthDay(to)
		if err1 != nil || err2 != nil {
			return native{}, false // the VM form reports the error
		}
		t := args[0].t
		out = native{k: kBool, b: func(f *frame) bool { return inSeason(t(f), a, b) }}
	case "zh":
		if len(args) != 1 || args[0].k != kString {
			return native{}, false
		}
		s, labels := args[0].s, c.labels
		out = native{k: kString, s: func(f *frame) string {
			v := s(f)
			if l, ok := labels[v]; ok {
				return l
			}
			return v
		}}
	case "minutes", "hours":
		if len(args) != 1 {
			return native{}, false
		}
		unit := time.Minute
		if id.Value == "hours" {
			unit = time.Hour
		}
		a := args[0]
		switch {
		case a.isConst:
			// toFloat reads ints and floats, and anything else as 0, as the VM form does.
			return constNative(time.Duration(toFloat(a.constant) * float64(unit)))
		case numeric(a.k):
			x := a.float()
			out = native{k: kDuration, d: func(f *frame) time.Duration { return time.Duration(x(f) * float64(unit)) }}
		default:
			return native{}, false
		}
	default:
		return native{}, false
	}
	out.window = window
	return out, true
}

// classTime reports whether t is in class hours on a school day (08:00–11:30
// and 13:30–16:30 local), as the helper classTime(t) does.
func classTime(cal *Calendar, t time.Time) bool {
	if !cal.SchoolDay(t) {
		return false
	}
	l := local(t)
	m := l.Hour()*60 + l.Minute()
	return (m >= 8*60 && m < 11*60+30) || (m >= 13*60+30 && m < 16*60+30)
}

// printable reports whether appendValue renders x's kind.
func (x *native) printable() bool {
	switch x.k {
	case kString, kFloat, kInt, kBool, kDuration, kTime:
		return true
	}
	return false
}

// appendValue appends a native value to b as template.render prints it.
func (x *native) appendValue(b []byte, f *frame) []byte {
	switch x.k {
	case kString:
		return append(b, x.s(f)...)
	case kFloat:
		return strconv.AppendFloat(b, x.f(f), 'f', -1, 64)
	case kInt:
		return strconv.AppendInt(b, int64(x.i(f)), 10)
	case kBool:
		if x.b(f) {
			return append(b, "是"...)
		}
		return append(b, "否"...)
	case kDuration:
		return append(b, x.d(f).String()...)
	default:
		return append(b, x.t(f).String()...)
	}
}

// ternary is cond ? x : y over a frame.
func ternary[T any](cond func(*frame) bool, x, y func(*frame) T) func(*frame) T {
	return func(f *frame) T {
		if cond(f) {
			return x(f)
		}
		return y(f)
	}
}
