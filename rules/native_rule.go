package rules

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

// ruleFast is a rule prepared for evaluation: the native forms of its
// expressions (nil where a program stays on the VM) and the keys it keeps in
// a school's memory.
type ruleFast struct {
	when, clear, having, on *native // booleans
	key, distinct, level    *native // strings
	value                   *native // a number
	entities                *native // a list of strings
	title, desc             fastTemplate
	// absent and fired prefix the memory keys of an absence check: when a
	// key was last seen, and when its absence was last reported.
	absent, fired string
	// dues is the last answer of deadlines, for a daily deadline.
	dues deadlineCache
}

// noFast is the preparation of a rule that was not prepared: everything on
// the VM.
var noFast ruleFast

// prepare compiles the native forms of every rule of s. It runs once, when
// the set is compiled; copies of the set made by Scaled and Only share it.
func (s *Set) prepare() {
	for _, r := range s.rules {
		r.fast = r.prepare(s.calendar, s.labels)
	}
	for _, p := range s.policy {
		p.fast = compilePolicy(p.when)
	}
}

func (r *Rule) prepare(cal *Calendar, labels map[string]string) *ruleFast {
	rule := nativeCompiler{env: envRule, cal: cal, src: r.src, labels: labels}
	check := nativeCompiler{env: envCheck, cal: cal, labels: labels}
	f := &ruleFast{
		when:   boolNative(rule.compileNative(r.when)),
		clear:  boolNative(rule.compileNative(r.clear)),
		key:    stringNative(rule.compileNative(r.key)),
		level:  stringNative(rule.compileNative(r.level)),
		absent: absenceKey(r.ID, ""),
		fired:  absenceKey(r.ID, "") + "\x00fired",
	}
	tmpl := rule
	if r.Absent != nil {
		tmpl = check
		strict := check
		strict.cal = cal.absence() // as compiled: see Calendar.absence
		f.on = boolNative(strict.compileNative(r.Absent.on))
		if n := check.compileNative(r.Absent.entities); n != nil && n.k == kStrings {
			f.entities = n
		}
	}
	if w := r.Window; w != nil {
		f.having = boolNative(rule.compileNative(w.having))
		f.distinct = stringNative(rule.compileNative(w.distinct))
		if n := rule.compileNative(w.value); n != nil && numeric(n.k) {
			f.value = n
		}
	}
	f.title = newFastTemplate(r.title, tmpl)
	f.desc = newFastTemplate(r.desc, tmpl)
	return f
}

func boolNative(n *native) *native {
	if n == nil || n.k != kBool {
		return nil
	}
	return n
}

// stringNative keeps only string-valued forms: other values are printed with
// fmt.Sprint by the VM path, which a native form would have to copy.
func stringNative(n *native) *native {
	if n == nil || n.k != kString {
		return nil
	}
	return n
}

func (r *Rule) prepared() *ruleFast {
	if r.fast == nil {
		return &noFast
	}
	return r.fast
}

// scratch is the per-evaluation working memory: the environments, a VM
// whose stack is reused and a buffer for titles. Scratches are pooled, so
// an evaluation allocates none of them.
type scratch struct {
	frame frame
	// src is the source of the rule being evaluated, whose declaration the
	// VM's environment is built from; vmEnv is that environment.
	src    *event.Source
	vmEnv  vmEnv
	agg    Aggregate
	vm     vm.VM
	buf    []byte
	policy PolicyEnv
	dues   []deadline // the deadlines of the absence check being run
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

// put returns sc to the pool without the references of the evaluation.
func (sc *scratch) put() {
	sc.frame = frame{}
	sc.src = nil
	sc.vmEnv.reset()
	clear(sc.policy.Risks)
	sc.policy = PolicyEnv{Risks: sc.policy.Risks[:0]}
	scratchPool.Put(sc)
}

// usable reports whether the native form n can evaluate the frame: it
// exists, and the window it may read is there (without one, the VM reports
// the error).
func (sc *scratch) usable(n *native) bool {
	return n != nil && (!n.window || sc.frame.env.Window != nil)
}

// env returns the environment the VM runs a program compiled against k
// with: for a rule's expressions a map shaped as ruleEnv, built from the
// frame when first needed.
func (sc *scratch) env(k envKind) any {
	if k == envCheck {
		return &sc.frame.check
	}
	return sc.vmEnv.get(&sc.frame.env, sc.src)
}

// boolean evaluates a boolean expression, natively when it can.
func (sc *scratch) boolean(n *native, prog *vm.Program, k envKind) (bool, error) {
	if sc.usable(n) {
		return n.b(&sc.frame), nil
	}
	v, err := sc.vm.Run(prog, sc.env(k))
	return v == true, err
}

// text evaluates an expression as text (fmt.Sprint of its value).
func (sc *scratch) text(n *native, prog *vm.Program, k envKind) (string, error) {
	if sc.usable(n) {
		return n.s(&sc.frame), nil
	}
	v, err := sc.vm.Run(prog, sc.env(k))
	if err != nil {
		return "", err
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	return fmt.Sprint(v), nil
}

// number evaluates a numeric expression (toFloat of its value).
func (sc *scratch) number(n *native, prog *vm.Program, k envKind) (float64, error) {
	if sc.usable(n) {
		if n.k == kInt {
			return float64(n.i(&sc.frame)), nil
		}
		return n.f(&sc.frame), nil
	}
	v, err := sc.vm.Run(prog, sc.env(k))
	return toFloat(v), err
}

// fastTemplate is a template whose placeholders are native where they can be.
type fastTemplate struct {
	parts []fastPart
	env   envKind // what the placeholders were compiled against
	// fixed is the text when every placeholder is a constant.
	fixed   string
	isFixed bool
	// texts interns what the template rendered, shared by every goroutine:
	// a title or description made again and again is allocated once.
	texts *engine.TextCache
}

// maxTexts bounds the texts one template keeps.
const maxTexts = 4096

type fastPart struct {
	text string
	prog *vm.Program // nil for literal text
	n    *native     // nil when the placeholder runs on the VM
}

func newFastTemplate(t template, c nativeCompiler) fastTemplate {
	ft := fastTemplate{texts: new(engine.TextCache), env: c.env}
	for _, p := range t.parts {
		fp := fastPart{text: p.text, prog: p.prog}
		if p.prog != nil {
			if n := c.compileNative(p.prog); n != nil && n.printable() {
				fp.n = n
			}
		}
		ft.parts = append(ft.parts, fp)
	}
	var b []byte
	for _, p := range ft.parts {
		switch {
		case p.prog == nil:
			b = append(b, p.text...)
		case p.n != nil && p.n.isConst:
			b = p.n.appendValue(b, nil)
		default:
			return ft
		}
	}
	ft.fixed, ft.isFixed = string(b), true
	return ft
}

// render evaluates the placeholders like template.render: one that fails
// renders as "?".
func (t *fastTemplate) render(sc *scratch) string {
	if t.isFixed {
		return t.fixed
	}
	b := sc.buf[:0]
	for i := range t.parts {
		p := &t.parts[i]
		switch {
		case p.prog == nil:
			b = append(b, p.text...)
		case sc.usable(p.n):
			b = p.n.appendValue(b, &sc.frame)
		default:
			v, err := sc.vm.Run(p.prog, sc.env(t.env))
			if err != nil {
				b = append(b, '?')
				continue
			}
			b = appendRendered(b, v)
		}
	}
	sc.buf = b
	if t.texts == nil {
		return string(b)
	}
	return t.texts.Intern(b, maxTexts)
}

// appendRendered appends v as template.render prints a placeholder's value.
func appendRendered(b []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return append(b, x...)
	case float64:
		return strconv.AppendFloat(b, x, 'f', -1, 64)
	case bool:
		if x {
			return append(b, "是"...)
		}
		return append(b, "否"...)
	}
	return fmt.Append(b, v)
}

// deadline is a daily deadline of an absence check and the midnight it
// counts from.
type deadline struct{ day, due time.Time }

// deadlineCache is the last answer of ruleFast.deadlines.
type deadlineCache struct {
	mu       sync.Mutex
	valid    bool
	from, to time.Time
	by       time.Duration
	list     []deadline
}

// deadlines appends to dst the deadlines at offset by from local midnight
// that fall in (from, to]. The last answer is kept, since the engine asks
// the same for every school at every tick.
func (f *ruleFast) deadlines(from, to time.Time, by time.Duration, dst []deadline) []deadline {
	c := &f.dues
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.valid || c.by != by || !c.from.Equal(from) || !c.to.Equal(to) {
		c.valid, c.from, c.to, c.by, c.list = true, from, to, by, c.list[:0]
		for day := midnight(from); !day.After(to); day = day.AddDate(0, 0, 1) {
			due := day.Add(by)
			if !due.After(from) || due.After(to) {
				continue
			}
			c.list = append(c.list, deadline{day: day, due: due})
		}
	}
	return append(dst, c.list...)
}
