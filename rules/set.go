package rules

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"gopkg.in/yaml.v3"

	"github.com/sanse-campus/sanse/engine"
)

// DefaultFor is how long a risk stays active when a rule gives no `for`.
const DefaultFor = 24 * time.Hour

// minHorizon is the least span of stored events replayed on start.
const minHorizon = 24 * time.Hour

// Rule is one compiled rule.
type Rule struct {
	ID         string
	Source     engine.Source
	Types      []string // empty: every type of the source
	Level      engine.Severity
	For        time.Duration
	Provenance string
	File       string
	Line       int
	// Text keeps the expressions as written, for listing.
	When, Key, Title, Description string

	when  *vm.Program
	key   *vm.Program
	title template
	desc  template
}

// Set is an immutable compiled rule set. It implements engine.Evaluator and
// is safe for concurrent use.
type Set struct {
	rules    []*Rule
	bySource map[engine.Source][]*Rule
	horizon  time.Duration
	files    []string
}

// Rules returns the rules in file order. The slice must not be modified.
func (s *Set) Rules() []*Rule { return s.rules }

// Files returns the names of the files the set was compiled from.
func (s *Set) Files() []string { return s.files }

// Horizon implements engine.Evaluator: the longest `for` of any rule, at least a day.
func (s *Set) Horizon() time.Duration { return s.horizon }

// Evaluate implements engine.Evaluator.
func (s *Set) Evaluate(ev *engine.Event, school *engine.School, out []engine.Match) ([]engine.Match, error) {
	env := &Env{Event: ev, School: school}
	var errs []error
	for _, r := range s.bySource[ev.Source] {
		if len(r.Types) > 0 && !slices.Contains(r.Types, ev.Type) {
			continue
		}
		ok, err := expr.Run(r.when, env)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %q: when: %w", r.ID, err))
			continue
		}
		if ok != true {
			continue
		}
		m := engine.Match{Rule: r.ID, Severity: r.Level, For: r.For}
		if r.key != nil {
			k, err := expr.Run(r.key, env)
			if err != nil {
				errs = append(errs, fmt.Errorf("rule %q: key: %w", r.ID, err))
				continue
			}
			m.Key = fmt.Sprint(k)
		}
		m.Title = r.title.render(env)
		m.Description = r.desc.render(env)
		out = append(out, m)
	}
	return out, errors.Join(errs...)
}

// Scaled returns a copy of s in which every rule's `for` is multiplied by
// f (0 < f ≤ 1), with the horizon scaled alike. It exists for the demo,
// where risks should run out within minutes rather than hours.
func (s *Set) Scaled(f float64) *Set {
	c := &Set{bySource: map[engine.Source][]*Rule{}, files: s.files, horizon: minHorizon}
	for _, r := range s.rules {
		rc := *r
		rc.For = time.Duration(float64(r.For) * f)
		c.rules = append(c.rules, &rc)
		c.bySource[rc.Source] = append(c.bySource[rc.Source], &rc)
	}
	return c
}

// Compile compiles parsed rule files into a Set. It returns every problem at
// once; a Set is returned only when there are none.
func Compile(files ...*File) (*Set, []error) {
	s := &Set{bySource: map[engine.Source][]*Rule{}, horizon: minHorizon}
	var errs []error
	ids := map[string]string{}
	for _, f := range files {
		s.files = append(s.files, f.Name)
		for i := range f.Rules {
			r, rerrs := compileRule(f, &f.Rules[i])
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
			if r.For > s.horizon {
				s.horizon = r.For
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}

func compileRule(f *File, rn *RuleNode) (*Rule, []error) {
	r := &Rule{File: f.Name, Line: rn.Line, For: DefaultFor}
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
		if s, known := engine.ParseSource(src); known {
			r.Source = s
		} else {
			fail("source", v, fmt.Sprintf("unknown source %q, expected %s", src, ruleFields["source"]))
		}
	} else if v == nil {
		fail("source", nil, "required: "+ruleFields["source"])
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
			if _, ok := engine.Contract[r.Source][t]; r.Source != "" && !ok {
				fail("type", v, fmt.Sprintf("unknown %s type %q, expected one of %s", r.Source, t, strings.Join(typeNames(r.Source), ", ")))
			}
		}
		r.Types = types
	}
	if lv, v, ok := scalar("level"); ok {
		sev, err := engine.ParseSeverity(lv)
		if err != nil {
			fail("level", v, err.Error())
		}
		r.Level = sev
	} else if v == nil {
		fail("level", nil, "required: "+ruleFields["level"])
	}
	if d, v, ok := scalar("for"); ok {
		dur, err := parseDuration(d)
		if err != nil || dur <= 0 {
			fail("for", v, fmt.Sprintf("%q is not a positive duration, expected e.g. 30m, 24h or 7d", d))
		}
		r.For = dur
	}
	r.Provenance, _, _ = scalar("provenance")

	opts := append([]expr.Option{expr.Env(Env{})}, functions()...)
	if src, v, ok := scalar("when"); ok {
		r.When = src
		prog, err := expr.Compile(src, append(opts, expr.AsBool())...)
		if err != nil {
			errs = append(errs, f.exprError(r.ID, "when", v, 0, err))
		}
		r.when = prog
	} else if v == nil {
		fail("when", nil, "required: "+ruleFields["when"])
	}
	if src, v, ok := scalar("key"); ok {
		r.Key = src
		prog, err := expr.Compile(src, opts...)
		if err != nil {
			errs = append(errs, f.exprError(r.ID, "key", v, 0, err))
		}
		r.key = prog
	}
	if src, v, ok := scalar("title"); ok {
		r.Title = src
		var terrs []error
		r.title, terrs = compileTemplate(f, r.ID, "title", v, opts)
		errs = append(errs, terrs...)
	} else if v == nil {
		fail("title", nil, "required: "+ruleFields["title"])
	}
	if src, v, ok := scalar("description"); ok {
		r.Description = src
		var terrs []error
		r.desc, terrs = compileTemplate(f, r.ID, "description", v, opts)
		errs = append(errs, terrs...)
	}
	if r.ID == "" {
		return nil, errs
	}
	return r, errs
}

// exprError locates an expr compile error in the file. offset is the
// number of characters of the YAML value before the expression.
func (f *File) exprError(rule, field string, v *yaml.Node, offset int, err error) error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return &Error{File: f.Name, Rule: rule, Line: v.Line, Column: v.Column, Field: field, Msg: err.Error()}
	}
	col := fe.Column + 1
	if fe.Line == 1 {
		col += offset
	}
	line, column := f.position(v, fe.Line, col)
	msg := explain(fe.Message)
	if fe.Snippet != "" {
		msg += fe.Snippet
	}
	return &Error{File: f.Name, Rule: rule, Line: line, Column: column, Field: field, Msg: msg}
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

func typeNames(src engine.Source) []string {
	var out []string
	for t := range engine.Contract[src] {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// LoadDir parses and compiles every .yaml and .yml file of dir, in name order.
func LoadDir(dir string) (*Set, []error) {
	return LoadFS(os.DirFS(dir), dir)
}

// LoadFS parses and compiles every .yaml and .yml file at the top of fsys, in
// name order; prefix names the files in errors.
func LoadFS(fsys fs.FS, prefix string) (*Set, []error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, []error{fmt.Errorf("read rule directory: %w", err)}
	}
	var (
		files []*File
		errs  []error
	)
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") || strings.HasSuffix(e.Name(), "_test.yaml") {
			continue
		}
		data, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f, perrs := ParseFile(filepath.Join(prefix, e.Name()), data)
		errs = append(errs, perrs...)
		if f != nil {
			files = append(files, f)
		}
	}
	if len(files) == 0 && len(errs) == 0 {
		return nil, []error{fmt.Errorf("%s: no rule files (*.yaml) found", prefix)}
	}
	set, cerrs := Compile(files...)
	errs = append(errs, cerrs...)
	if len(errs) > 0 {
		return nil, errs
	}
	return set, nil
}

// explain rewrites expr's messages in the terms rule authors use: `event`
// and `school` rather than Go type names, with a suggestion for a misspelt
// field.
func explain(msg string) string {
	for typ, name := range map[string]string{"engine.Event": "event", "engine.School": "school"} {
		prefix := "type " + typ + " has no field "
		if field, ok := strings.CutPrefix(msg, prefix); ok {
			msg = fmt.Sprintf("unknown field %s.%s", name, field)
			if s := suggest(field, fieldNames(name)); s != "" {
				msg += fmt.Sprintf(" (did you mean %s.%s?)", name, s)
			}
			return msg
		}
	}
	return msg
}

// fieldNames returns the expression names of the fields of `event` or `school`.
func fieldNames(of string) []string {
	var t reflect.Type
	if of == "event" {
		t = reflect.TypeOf(engine.Event{})
	} else {
		t = reflect.TypeOf(engine.School{})
	}
	var out []string
	for i := 0; i < t.NumField(); i++ {
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
