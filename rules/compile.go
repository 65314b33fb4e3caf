package rules

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"gopkg.in/yaml.v3"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

// Compile compiles parsed rule files into a Set against the built-in event
// contract: CompileContract(nil, files...).
func Compile(files ...*File) (*Set, []error) {
	return CompileContract(nil, files...)
}

// CompileContract compiles parsed rule files into a Set against the event
// contract (nil: event.Builtin()): a rule's source must be one of the
// contract's, its types the source's, and its expressions read `event` as the source
// declares it. Params, calendar and grades declared in any file apply to
// the rules of every file. It returns every problem at once; a Set is
// returned only when there are none.
func CompileContract(contract *event.Contract, files ...*File) (*Set, []error) {
	if contract == nil {
		contract = event.Builtin()
	}
	s := &Set{bySource: map[engine.Source][]*Rule{}, horizon: minHorizon, params: Params{}, calendar: defaultCalendar(),
		contract: contract, labels: labelsOf(contract)}
	var errs []error
	paramWhere := map[string]string{}
	grades := map[string]engine.Severity{"I": engine.SeverityHigh, "II": engine.SeverityHigh, "III": engine.SeverityMedium, "IV": engine.SeverityLow}
	calendars := 0
	for _, f := range files {
		s.files = append(s.files, f.Name)
		if f.Params != nil {
			errs = append(errs, parseParams(f, f.Params, s.params, paramWhere)...)
		}
		if f.Calendar != nil {
			calendars++
			if calendars > 1 {
				errs = append(errs, &Error{File: f.Name, Line: f.Calendar.Line, Msg: "a rule set has one calendar; it is already declared in another file"})
			}
			cal, cerrs := parseCalendar(f, f.Calendar)
			errs = append(errs, cerrs...)
			s.calendar = cal
		}
		if f.Grades != nil {
			for i := 0; i+1 < len(f.Grades.Content); i += 2 {
				k, v := f.Grades.Content[i], f.Grades.Content[i+1]
				if _, ok := grades[k.Value]; !ok {
					errs = append(errs, &Error{File: f.Name, Line: k.Line, Column: k.Column, Field: "grades", Msg: fmt.Sprintf("unknown grade %q, expected I, II, III or IV", k.Value)})
					continue
				}
				sev, err := engine.ParseSeverity(v.Value)
				if err != nil {
					errs = append(errs, &Error{File: f.Name, Line: v.Line, Column: v.Column, Field: "grades", Msg: err.Error()})
					continue
				}
				grades[k.Value] = sev
			}
		}
	}
	c := &compiler{params: s.params, calendar: s.calendar, grades: grades, contract: contract, labels: s.labels, envs: map[*event.Source]map[string]any{}}
	ids := map[string]string{}
	for _, f := range files {
		for i := range f.Rules {
			r, rerrs := c.rule(f, &f.Rules[i])
			errs = append(errs, rerrs...)
			if r == nil {
				continue
			}
			if where, dup := ids[r.ID]; dup {
				errs = append(errs, &Error{File: f.Name, Rule: r.ID, Line: r.Line, Msg: "duplicate rule id, first defined at " + where})
				continue
			}
			ids[r.ID] = fmt.Sprintf("%s:%d", f.Name, r.Line)
			if len(rerrs) > 0 {
				continue
			}
			s.rules = append(s.rules, r)
			s.bySource[r.Source] = append(s.bySource[r.Source], r)
			s.horizon = max(s.horizon, r.For)
			if r.Absent != nil {
				s.absence = append(s.absence, r)
				s.horizon = max(s.horizon, r.Absent.For+24*time.Hour)
			}
			if r.Window != nil {
				s.horizon = max(s.horizon, r.Window.Size+r.Window.Lateness)
			}
		}
		for i := range f.Policy {
			p, perrs := c.policy(f, &f.Policy[i])
			errs = append(errs, perrs...)
			if p == nil {
				continue
			}
			if where, dup := ids[p.ID]; dup {
				errs = append(errs, &Error{File: f.Name, Rule: p.ID, Line: p.Line, Msg: "duplicate id, first defined at " + where})
				continue
			}
			ids[p.ID] = fmt.Sprintf("%s:%d", f.Name, p.Line)
			if len(perrs) == 0 {
				s.policy = append(s.policy, p)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	s.prepare()
	return s, nil
}

// compiler compiles the rules and policy of a set against its contract,
// params, calendar and grades.
type compiler struct {
	params   Params
	calendar *Calendar
	grades   map[string]engine.Severity
	contract *event.Contract
	labels   map[string]string
	// source is the declaration of the source of the rule being compiled,
	// nil when it is not declared or outside a rule; envs holds the
	// environment of each source's rules.
	source *event.Source
	envs   map[*event.Source]map[string]any
}

// ruleEnv returns the environment of the expressions of the rule being
// compiled.
func (c *compiler) ruleEnv() map[string]any {
	env, ok := c.envs[c.source]
	if !ok {
		env = ruleEnv(c.source)
		c.envs[c.source] = env
	}
	return env
}

// sourceNames returns the contract's sources as a list for messages.
func (c *compiler) sourceNames() string {
	names := make([]string, 0, len(c.contract.Names()))
	for _, n := range c.contract.Names() {
		names = append(names, string(n))
	}
	return strings.Join(names, ", ")
}

// compile compiles one expression written in YAML node v, with params
// substituted; forbidden names the identifiers not available here.
func (c *compiler) compile(f *File, rule, field string, v *yaml.Node, src string, offset int, forbidden map[string]string, env any, extra ...expr.Option) (*vm.Program, error) {
	p := &paramPatcher{params: c.params, forbidden: forbidden}
	opts := append([]expr.Option{expr.Env(env), expr.Patch(p)}, functions(c.calendar, c.labels)...)
	opts = append(opts, extra...)
	prog, err := expr.Compile(src, opts...)
	if len(p.problems) > 0 {
		pr := p.problems[0]
		line, col := lineCol(src, pr.from)
		if line == 1 {
			col += offset
		}
		fl, fc := f.position(v, line, col)
		return nil, &Error{File: f.Name, Rule: rule, Line: fl, Column: fc, Field: field, Msg: pr.msg}
	}
	if err != nil {
		return nil, f.exprError(rule, field, v, src, offset, err, c.source)
	}
	return prog, nil
}

var (
	noWindow   = map[string]string{"window": "window is only available in a rule with a window, in window.having, level, title and description"}
	windowLate = map[string]string{"window": "window is not available here: it is computed after `when` and the window's value"}
)

func (c *compiler) rule(f *File, rn *RuleNode) (*Rule, []error) {
	r := &Rule{File: f.Name, Line: rn.Line}
	c.source = nil
	var errs []error
	fail := func(field string, v *yaml.Node, msg string) {
		line, col := rn.Line, rn.Column
		if v != nil {
			line, col = v.Line, v.Column
		}
		errs = append(errs, &Error{File: f.Name, Rule: r.ID, Line: line, Column: col, Field: field, Msg: msg})
	}
	scalar := func(field string) (string, *yaml.Node, bool) {
		v := rn.Fields[field]
		if v == nil {
			return "", nil, false
		}
		if v.Kind != yaml.ScalarNode {
			fail(field, v, "expected "+ruleFields[field])
			return "", v, false
		}
		return v.Value, v, true
	}
	if id, _, ok := scalar("id"); ok && strings.TrimSpace(id) != "" {
		r.ID = id
	} else {
		fail("id", rn.Fields["id"], "required: "+ruleFields["id"])
	}
	if src, v, ok := scalar("source"); ok {
		if s := c.contract.Source(engine.Source(src)); s != nil {
			r.Source, r.src, c.source = s.Name, s, s
		} else {
			fail("source", v, fmt.Sprintf("unknown source %q, expected one of %s", src, c.sourceNames()))
		}
	} else if v == nil {
		fail("source", nil, "required: the source of the events the rule reads, one of "+c.sourceNames())
	}
	if v := rn.Fields["type"]; v != nil {
		var types []string
		switch v.Kind {
		case yaml.ScalarNode:
			types = []string{v.Value}
		case yaml.SequenceNode:
			for _, t := range v.Content {
				types = append(types, t.Value)
			}
		default:
			fail("type", v, "expected "+ruleFields["type"])
		}
		for _, t := range types {
			if r.src != nil && r.src.Type(t) == nil {
				fail("type", v, fmt.Sprintf("unknown %s type %q, expected one of %s", r.Source, t, strings.Join(r.src.TypeNames(), ", ")))
			}
		}
		r.Types = types
	}

	// The window comes before the expressions that may read it.
	if v := rn.Fields["window"]; v != nil {
		r.Window, errs = c.window(f, r, v, errs)
	}
	if v := rn.Fields["absent"]; v != nil {
		if r.Window != nil {
			fail("absent", v, "a rule has either a window or an absence check, not both")
		}
		r.Absent, errs = c.absence(f, r, v, errs)
	}
	lateOK := noWindow
	if r.Window != nil {
		lateOK = nil
	}

	gradeNode := rn.Fields["grade"]
	if g, v, ok := scalar("grade"); ok {
		sev, known := c.grades[g]
		if !known {
			fail("grade", v, fmt.Sprintf("unknown grade %q, expected I, II, III or IV", g))
		}
		r.Grade, r.Level = g, sev
	}
	if lv, v, ok := scalar("level"); ok {
		if sev, err := engine.ParseSeverity(lv); err == nil {
			r.Level = sev
		} else if strings.ContainsAny(lv, " ?\"=<>().") {
			r.LevelExpr = lv
			prog, err := c.compile(f, r.ID, "level", v, lv, 0, lateOK, c.ruleEnv(), expr.AsKind(reflect.String))
			if err != nil {
				errs = append(errs, err)
			}
			r.level = prog
		} else {
			fail("level", v, err.Error()+", or an expression returning one")
		}
	} else if v == nil && gradeNode == nil {
		fail("level", nil, "required: "+ruleFields["level"])
	}
	if src, v, ok := scalar("when"); ok {
		r.When = src
		forbid := noWindow
		if r.Window != nil {
			forbid = windowLate
		}
		prog, err := c.compile(f, r.ID, "when", v, src, 0, forbid, c.ruleEnv(), expr.AsBool())
		if err != nil {
			errs = append(errs, err)
		}
		r.when = prog
	} else if v == nil && r.Absent == nil {
		fail("when", nil, "required: "+ruleFields["when"])
	}
	if src, v, ok := scalar("key"); ok {
		r.Key = src
		prog, err := c.compile(f, r.ID, "key", v, src, 0, windowLate, c.ruleEnv())
		if err != nil {
			errs = append(errs, err)
		}
		r.key = prog
	}
	if src, v, ok := scalar("clear_when"); ok {
		r.ClearWhen = src
		prog, err := c.compile(f, r.ID, "clear_when", v, src, 0, windowLate, c.ruleEnv(), expr.AsBool())
		if err != nil {
			errs = append(errs, err)
		}
		r.clear = prog
	}
	if rv, v, ok := scalar("resolve"); ok {
		if rv != "person" {
			fail("resolve", v, fmt.Sprintf("%q: expected person", rv))
		}
		r.Manual = true
	}
	if v := rn.Fields["hazard"]; v != nil {
		r.Hazard, errs = c.hazard(f, r, v, errs)
		for _, field := range []string{"for", "clear_when"} {
			if x := rn.Fields[field]; x != nil {
				fail(field, x, "a rule that opens a hazard keeps its risk until the hazard is verified: remove "+field)
			}
		}
		r.Manual = true
	}
	switch d, v, ok := scalar("for"); {
	case ok:
		dur, err := c.duration(d)
		if err != nil || dur <= 0 {
			fail("for", v, fmt.Sprintf("%q is not a positive duration, expected e.g. 30m, 24h, 7d or params.name", d))
		}
		r.For = dur
	case r.clear != nil, r.Absent != nil:
		r.For = 0 // until a clearing event
	case r.Level == engine.SeverityHigh && r.level == nil:
		r.Manual = true // a high risk without a given end waits for a person
	default:
		r.For = DefaultFor
	}
	if r.Manual {
		r.For = 0
	}
	r.Provenance, _, _ = scalar("provenance")
	if src, v, ok := scalar("title"); ok {
		r.Title = src
		var terrs []error
		r.title, terrs = c.template(f, r.ID, "title", v, lateOK, c.templateEnv(r))
		errs = append(errs, terrs...)
	} else if v == nil {
		fail("title", nil, "required: "+ruleFields["title"])
	}
	if src, v, ok := scalar("description"); ok {
		r.Description = src
		var terrs []error
		r.desc, terrs = c.template(f, r.ID, "description", v, lateOK, c.templateEnv(r))
		errs = append(errs, terrs...)
	}
	if r.Window != nil {
		r.windowKey = fmt.Sprintf("%s|%s|%s|%s|", r.ID, r.Window.Value, r.Window.Distinct, r.Key)
	}
	if r.ID == "" {
		return nil, errs
	}
	return r, errs
}

// templateEnv is the environment titles and descriptions of r are compiled
// against.
func (c *compiler) templateEnv(r *Rule) any {
	if r.Absent != nil {
		return CheckEnv{}
	}
	return c.ruleEnv()
}

// absenceFields are the keys of a rule's `absent`.
var absenceFields = map[string]string{
	"by":       "a daily deadline, HH:MM local time: no matching event since midnight by then",
	"for":      "a duration: no matching event for this long (e.g. 48h, params.name)",
	"on":       "a boolean expression over `school` and `now` saying when the check applies",
	"entities": "an expression over `school` giving the keys checked, e.g. school.water_bodies",
}

func (c *compiler) absence(f *File, r *Rule, v *yaml.Node, errs []error) (*AbsenceSpec, []error) {
	fail := sectionFail(f, r, "absent", &errs)
	a := &AbsenceSpec{}
	ok := eachField(v, absenceFields, fail, func(k, x *yaml.Node) {
		var err error
		switch k.Value {
		case "by":
			by := x.Value
			if name, ok := trimParams(by); ok {
				if pv, ok := c.params[name].(string); ok {
					by = pv
				}
			}
			t, perr := time.Parse("15:04", by)
			if perr != nil {
				fail(x, "by", fmt.Sprintf("%q: expected a time of day HH:MM", x.Value))
				return
			}
			a.By = time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
			if a.By == 0 {
				a.By = time.Nanosecond // 00:00
			}
		case "for":
			if a.For, err = c.duration(x.Value); err != nil || a.For <= 0 {
				fail(x, "for", fmt.Sprintf("%q: expected a positive duration, e.g. 48h", x.Value))
			}
		case "on":
			a.On = x.Value
			// An absence check does not run on a day the calendar does not
			// know (Calendar.absence).
			strict := *c
			strict.calendar = c.calendar.absence()
			if a.on, err = strict.compile(f, r.ID, "absent.on", x, x.Value, 0, nil, CheckEnv{}, expr.AsBool()); err != nil {
				errs = append(errs, err)
			}
		case "entities":
			a.Entities = x.Value
			if a.entities, err = c.compile(f, r.ID, "absent.entities", x, x.Value, 0, nil, CheckEnv{}); err != nil {
				errs = append(errs, err)
			}
		}
	})
	if !ok {
		return nil, errs
	}
	if (a.By > 0) == (a.For > 0) {
		fail(v, "", "give exactly one of by (a daily deadline) and for (a duration)")
	}
	return a, errs
}

// sectionFail returns a function recording an error in a rule's section
// (window, absent) at node n.
func sectionFail(f *File, r *Rule, section string, errs *[]error) func(n *yaml.Node, field, msg string) {
	return func(n *yaml.Node, field, msg string) {
		if field != "" {
			field = section + "." + field
		} else {
			field = section
		}
		*errs = append(*errs, &Error{File: f.Name, Rule: r.ID, Line: n.Line, Column: n.Column, Field: field, Msg: msg})
	}
}

// eachField walks a rule's section, a mapping of the given fields to scalars:
// a section that is not a mapping, an unknown field and a value that is not
// a scalar are reported through fail; fn sees every other field. It returns
// false when v is not a mapping.
func eachField(v *yaml.Node, fields map[string]string, fail func(n *yaml.Node, field, msg string), fn func(k, x *yaml.Node)) bool {
	if v.Kind != yaml.MappingNode {
		fail(v, "", "expected a mapping of "+keyList(fields))
		return false
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, x := v.Content[i], v.Content[i+1]
		if _, ok := fields[k.Value]; !ok {
			fail(k, k.Value, fmt.Sprintf("unknown field, expected one of %s", keyList(fields)))
			continue
		}
		if x.Kind != yaml.ScalarNode {
			fail(x, k.Value, "expected "+fields[k.Value])
			continue
		}
		fn(k, x)
	}
	return true
}

// windowFields are the keys of a rule's `window`.
var windowFields = map[string]string{
	"size":     "the window's length: a duration (1h, 7d, params.name) or `today` (since local midnight)",
	"lateness": "how late an event may arrive and still count (default 10m)",
	"value":    "an expression whose sum, min and max the window keeps (default 1)",
	"distinct": "an expression whose distinct values the window counts",
	"having":   "a boolean expression over `window` deciding whether the rule matches",
}

func (c *compiler) window(f *File, r *Rule, v *yaml.Node, errs []error) (*WindowSpec, []error) {
	fail := sectionFail(f, r, "window", &errs)
	w := &WindowSpec{Lateness: DefaultLateness}
	var sizeSeen bool
	ok := eachField(v, windowFields, fail, func(k, x *yaml.Node) {
		var err error
		switch k.Value {
		case "size":
			sizeSeen = true
			if x.Value == "today" {
				w.Today = true
				break
			}
			if w.Size, err = c.duration(x.Value); err != nil || w.Size <= 0 {
				fail(x, "size", fmt.Sprintf("%q: expected %s", x.Value, windowFields["size"]))
			}
		case "lateness":
			if w.Lateness, err = c.duration(x.Value); err != nil || w.Lateness < 0 {
				fail(x, "lateness", fmt.Sprintf("%q: expected a duration, e.g. 10m", x.Value))
			}
		case "value":
			w.Value = x.Value
			if w.value, err = c.compile(f, r.ID, "window.value", x, x.Value, 0, windowLate, c.ruleEnv()); err != nil {
				errs = append(errs, err)
			}
		case "distinct":
			w.Distinct = x.Value
			if w.distinct, err = c.compile(f, r.ID, "window.distinct", x, x.Value, 0, windowLate, c.ruleEnv()); err != nil {
				errs = append(errs, err)
			}
		case "having":
			w.Having = x.Value
			if w.having, err = c.compile(f, r.ID, "window.having", x, x.Value, 0, nil, c.ruleEnv(), expr.AsBool()); err != nil {
				errs = append(errs, err)
			}
		}
	})
	if !ok {
		return nil, errs
	}
	if !sizeSeen {
		fail(v, "size", "required: "+windowFields["size"])
	}
	if w.Today {
		w.Size = 24 * time.Hour
	}
	return w, errs
}

func (c *compiler) policy(f *File, rn *RuleNode) (*Policy, []error) {
	p := &Policy{File: f.Name, Line: rn.Line}
	c.source = nil
	var errs []error
	fail := func(field string, v *yaml.Node, msg string) {
		line, col := rn.Line, rn.Column
		if v != nil {
			line, col = v.Line, v.Column
		}
		errs = append(errs, &Error{File: f.Name, Rule: p.ID, Line: line, Column: col, Field: field, Msg: msg})
	}
	get := func(field string) (string, *yaml.Node) {
		v := rn.Fields[field]
		if v == nil {
			fail(field, nil, "required: "+policyFields[field])
			return "", nil
		}
		if v.Kind != yaml.ScalarNode {
			fail(field, v, "expected "+policyFields[field])
			return "", nil
		}
		return v.Value, v
	}
	p.ID, _ = get("id")
	if lv, v := get("level"); v != nil {
		l, err := engine.ParseLevel(lv)
		if err != nil || l == engine.LevelGreen {
			fail("level", v, fmt.Sprintf("%q: expected red or yellow", lv))
		}
		p.Level = l
	}
	p.Reason, _ = get("reason")
	if v := rn.Fields["provenance"]; v != nil {
		p.Provenance = v.Value
	}
	if src, v := get("when"); v != nil {
		p.When = src
		prog, err := c.compile(f, p.ID, "when", v, src, 0, nil, PolicyEnv{}, expr.AsBool())
		if err != nil {
			errs = append(errs, err)
		}
		p.when = prog
	}
	if p.ID == "" {
		return nil, errs
	}
	return p, errs
}

// hazardFields are the keys of a rule's `hazard`.
var hazardFields = map[string]string{
	"category":    "the hazard's category, e.g. 食品安全, 防溺水, 校园欺凌, 门卫安保, 消防, 其他",
	"deadline":    "the time given to rectify it, a duration (72h, 7d or params.name)",
	"responsible": "who rectifies it (a role or a name); empty leaves it to the school",
}

func (c *compiler) hazard(f *File, r *Rule, v *yaml.Node, errs []error) (*HazardSpec, []error) {
	fail := sectionFail(f, r, "hazard", &errs)
	h := &HazardSpec{}
	seen := map[string]bool{}
	ok := eachField(v, hazardFields, fail, func(k, x *yaml.Node) {
		seen[k.Value] = true
		switch k.Value {
		case "category":
			h.Category = strings.TrimSpace(x.Value)
		case "deadline":
			d, err := c.duration(x.Value)
			if err != nil || d <= 0 {
				fail(x, "deadline", fmt.Sprintf("%q: expected %s", x.Value, hazardFields["deadline"]))
			}
			h.Deadline = d
		case "responsible":
			h.Responsible = strings.TrimSpace(x.Value)
		}
	})
	if !ok {
		return nil, errs
	}
	if h.Category == "" {
		fail(v, "category", "required: "+hazardFields["category"])
	}
	if !seen["deadline"] {
		fail(v, "deadline", "required: "+hazardFields["deadline"])
	}
	return h, errs
}

// duration parses 30m, 24h, 7d, or params.name holding one of those.
func (c *compiler) duration(s string) (time.Duration, error) {
	if name, ok := trimParams(s); ok {
		v, ok := c.params[name]
		if !ok {
			return 0, fmt.Errorf("unknown param %q", name)
		}
		str, ok := v.(string)
		if !ok {
			return 0, fmt.Errorf("param %q is not a duration", name)
		}
		s = str
	}
	return parseDuration(s)
}

// exprError locates an expr compile error of expression src in the file.
// offset is the number of characters of the YAML value before the
// expression. The error returned wraps err.
func (f *File) exprError(rule, field string, v *yaml.Node, src string, offset int, err error, source *event.Source) error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return &Error{File: f.Name, Rule: rule, Line: v.Line, Column: v.Column, Field: field, Msg: err.Error(), Err: err}
	}
	col := fe.Column + 1
	if fe.Line == 1 {
		col += offset
	}
	line, column := f.position(v, fe.Line, col)
	msg := explain(src, fe, source)
	if fe.Snippet != "" {
		msg += fe.Snippet
	}
	return &Error{File: f.Name, Rule: rule, Line: line, Column: column, Field: field, Msg: msg, Err: err}
}

func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err != nil || fmt.Sprint(days) != n {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}
