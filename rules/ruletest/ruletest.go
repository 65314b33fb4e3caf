// Package ruletest runs rule unit tests: YAML files of input events with
// their times and the colours and risks expected at given times, evaluated
// by the real decoder, rules and engine (like promtool's rule tests).
//
// A test file sits beside the rule files it tests, named *_test.yaml; see
// docs/rules.md for the format.
package ruletest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/words"
	"github.com/sanse-campus/sanse/rules"
)

// File is a rule test file.
type File struct {
	// Schools is the registry of the tests; default one primary school "S1"
	// with a canteen.
	Schools []engine.School `yaml:"schools"`
	// Rules, when given, limits the tests to the rules whose ids match one
	// of these patterns (path.Match syntax, e.g. canteen.*); the level
	// policy always applies.
	Rules []string `yaml:"rules"`
	Tests []Test   `yaml:"tests"`
}

// Test is one scenario: events in, expectations at times.
type Test struct {
	Name string `yaml:"name"`
	// Schools, when given, replace the file's schools for this test.
	Schools []engine.School `yaml:"schools"`
	// Rules, when given, replaces the file's rule patterns for this test.
	Rules  []string `yaml:"rules"`
	Events []Input  `yaml:"events"`
	Expect []Expect `yaml:"expect"`
}

// Input is one event as a producer sends it; At sets occurred_at, School
// sets school_id (default the first school), and id is generated when missing.
type Input struct {
	At     time.Time      `yaml:"at"`
	School string         `yaml:"school"`
	Event  map[string]any `yaml:"event"`
	// Resolve, instead of an event, is a person resolving a risk.
	Resolve *Resolve `yaml:"resolve"`
}

// Resolve is a person resolving a school's risk.
type Resolve struct {
	Rule    string `yaml:"rule"`
	Key     string `yaml:"key"`
	By      string `yaml:"by"`
	Comment string `yaml:"comment"`
}

// Expect is what the school shows at a time.
type Expect struct {
	At     time.Time    `yaml:"at"`
	School string       `yaml:"school"`
	Level  engine.Level `yaml:"level"`
	// Risks are the active risks, compared as a set; nil (omitted) means
	// not checked, an empty list means none.
	Risks *[]ExpectRisk `yaml:"risks"`
	// Cause, when set, must be contained in the cause of the last colour change.
	Cause string `yaml:"cause"`
}

// ExpectRisk is one expected active risk; Key and Title are compared only
// when given.
type ExpectRisk struct {
	Rule  string          `yaml:"rule"`
	Key   *string         `yaml:"key"`
	Level engine.Severity `yaml:"level"`
	Title string          `yaml:"title"` // a substring of the title
}

func (r ExpectRisk) String() string {
	s := r.Rule
	if r.Key != nil {
		s += "/" + *r.Key
	}
	return s + " " + string(r.Level)
}

// Result is the outcome of one test.
type Result struct {
	File     string
	Test     string
	Failures []string
}

// Passed reports whether the test met every expectation.
func (r Result) Passed() bool { return len(r.Failures) == 0 }

// RunPath runs a test file on disk against the rules of its directory,
// compiled against the built-in event contract.
func RunPath(path string) ([]Result, error) {
	return RunPathContract(nil, path)
}

// RunPathContract runs a test file on disk against the rules of its
// directory compiled against the event contract c (nil: event.Builtin()),
// whose declarations also decode the test's events.
func RunPathContract(c *event.Contract, path string) ([]Result, error) {
	dir := filepath.Dir(path)
	set, errs := rules.LoadDirContract(c, dir)
	if len(errs) > 0 {
		return nil, fmt.Errorf("rules of %s: %w", dir, errors.Join(errs...))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Run(path, data, set)
}

// RunFS runs every *_test.yaml file at the top of fsys against set.
func RunFS(fsys fs.FS, set *rules.Set) ([]Result, error) {
	names, err := fs.Glob(fsys, "*_test.yaml")
	if err != nil {
		return nil, err
	}
	var all []Result
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		res, err := Run(n, data, set)
		if err != nil {
			return nil, err
		}
		all = append(all, res...)
	}
	return all, nil
}

// Run runs the tests of one file against set; the events are decoded with
// the set's contract.
func Run(name string, data []byte, set *rules.Set) ([]Result, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if err := f.validate(name); err != nil {
		return nil, err
	}
	if len(f.Schools) == 0 {
		f.Schools = []engine.School{{ID: "S1", Name: "测试小学", District: "测试区", Town: "测试街道", Stage: engine.StagePrimary, Canteen: true}}
	}
	reg, err := engine.NewRegistry(f.Schools)
	if err != nil {
		return nil, fmt.Errorf("%s: schools: %w", name, err)
	}
	id, err := event.NewIdentity([]byte("rule-test-identity-key-0123456789"))
	if err != nil {
		return nil, err
	}
	contract := set.Contract()
	dec2 := &event.Decoder{Contract: contract, Registry: func() *engine.Registry { return reg }, Identity: id}
	var out []Result
	for _, t := range f.Tests {
		res := Result{File: name, Test: t.Name}
		treg, tdec, first := reg, dec2, f.Schools[0].ID
		if len(t.Schools) > 0 {
			if treg, err = engine.NewRegistry(t.Schools); err != nil {
				return nil, fmt.Errorf("%s: test %q: schools: %w", name, t.Name, err)
			}
			tdec = &event.Decoder{Contract: contract, Registry: func() *engine.Registry { return treg }, Identity: id}
			first = t.Schools[0].ID
		}
		patterns := f.Rules
		if len(t.Rules) > 0 {
			patterns = t.Rules
		}
		tset := set
		if len(patterns) > 0 {
			if tset, err = set.Only(patterns); err != nil {
				return nil, fmt.Errorf("%s: test %q: %w", name, t.Name, err)
			}
		}
		res.Failures = runTest(t, tset, treg, tdec, first)
		out = append(out, res)
	}
	return out, nil
}

// ErrNoExpectations is returned (wrapped, with the file and test) for a
// test that expects nothing, or an expectation that checks nothing: such a
// test passes whatever the rules do.
var ErrNoExpectations = errors.New("nothing is expected: give expect entries with a level, risks or a cause")

// validate refuses a file without tests and tests that cannot fail, every
// one at once.
func (f *File) validate(name string) error {
	if len(f.Tests) == 0 {
		return fmt.Errorf("%s: no tests", name)
	}
	var errs []error
	for _, t := range f.Tests {
		if len(t.Expect) == 0 {
			errs = append(errs, fmt.Errorf("%s: test %q: %w", name, t.Name, ErrNoExpectations))
			continue
		}
		for _, e := range t.Expect {
			if e.Level == "" && e.Risks == nil && e.Cause == "" {
				errs = append(errs, fmt.Errorf("%s: test %q: expectation at %s: %w", name, t.Name, e.At.Format(time.RFC3339), ErrNoExpectations))
			}
		}
	}
	return errors.Join(errs...)
}

// step is an event or an expectation, in time order; at equal times events
// come first.
type step struct {
	at     time.Time
	input  *Input
	expect *Expect
	order  int
}

func runTest(t Test, set *rules.Set, reg *engine.Registry, dec *event.Decoder, defaultSchool string) []string {
	var fails []string
	eng := engine.New(func() engine.Evaluator { return set }, func() *engine.Registry { return reg })
	var steps []step
	for i := range t.Events {
		steps = append(steps, step{at: t.Events[i].At, input: &t.Events[i], order: i})
	}
	for i := range t.Expect {
		steps = append(steps, step{at: t.Expect[i].At, expect: &t.Expect[i], order: len(t.Events) + i})
	}
	sort.SliceStable(steps, func(i, j int) bool {
		if !steps[i].at.Equal(steps[j].at) {
			return steps[i].at.Before(steps[j].at)
		}
		return steps[i].order < steps[j].order
	})
	var out engine.Output
	for n, s := range steps {
		if s.at.IsZero() {
			fails = append(fails, "every event and expectation needs an `at` time")
			return fails
		}
		eng.Tick(s.at, &out)
		if s.input != nil && s.input.Resolve != nil {
			school := s.input.School
			if school == "" {
				school = defaultSchool
			}
			rv := s.input.Resolve
			if err := eng.Resolve(school, rv.Rule, rv.Key, rv.By, rv.Comment, s.at, &out); err != nil {
				fails = append(fails, fmt.Sprintf("resolve at %s: %s/%s: %v", s.at.Format(time.RFC3339), rv.Rule, rv.Key, err))
			}
			continue
		}
		if s.input != nil {
			ev, err := build(s.input, n, defaultSchool)
			if err != nil {
				fails = append(fails, fmt.Sprintf("event at %s: %v", s.at.Format(time.RFC3339), err))
				continue
			}
			var e engine.Event
			if err := dec.Decode("", ev, &e); err != nil {
				fails = append(fails, fmt.Sprintf("event at %s is rejected by the event contract: %v", s.at.Format(time.RFC3339), err))
				continue
			}
			if err := eng.Apply(&e, &out); err != nil {
				fails = append(fails, fmt.Sprintf("event at %s: %v", s.at.Format(time.RFC3339), err))
			}
			continue
		}
		fails = append(fails, check(eng, s.expect, defaultSchool)...)
		out.Reset()
	}
	return fails
}

// build completes an input into the JSON a producer would send.
func build(in *Input, n int, defaultSchool string) ([]byte, error) {
	ev := map[string]any{}
	for k, v := range in.Event {
		ev[k] = v
	}
	school := in.School
	if school == "" {
		school = defaultSchool
	}
	if _, ok := ev["school_id"]; !ok {
		ev["school_id"] = school
	}
	if _, ok := ev["id"]; !ok {
		ev["id"] = fmt.Sprintf("test-%d", n)
	}
	if _, ok := ev["occurred_at"]; !ok {
		ev["occurred_at"] = in.At.Format(time.RFC3339Nano)
	}
	return json.Marshal(ev)
}

func check(eng *engine.Engine, e *Expect, defaultSchool string) []string {
	school := e.School
	if school == "" {
		school = defaultSchool
	}
	v, ok := eng.View(school)
	where := fmt.Sprintf("at %s, school %s", e.At.Format(time.RFC3339), school)
	if !ok {
		return []string{where + ": no such school"}
	}
	var fails []string
	if e.Level != "" && v.Level != e.Level {
		fails = append(fails, fmt.Sprintf("%s: level: expected %s, got %s (active: %s)", where, e.Level, v.Level, describe(v.Risks)))
	}
	if e.Cause != "" && !strings.Contains(words.Cause(v.Cause, words.Chinese), e.Cause) {
		fails = append(fails, fmt.Sprintf("%s: cause: expected it to contain %q, got %q", where, e.Cause, words.Cause(v.Cause, words.Chinese)))
	}
	if e.Risks != nil && !sameRisks(*e.Risks, v.Risks) {
		var want []string
		for _, r := range *e.Risks {
			want = append(want, r.String())
		}
		fails = append(fails, fmt.Sprintf("%s: risks: expected [%s], got [%s]", where, strings.Join(want, ", "), describe(v.Risks)))
	}
	return fails
}

func describe(risks []engine.Risk) string {
	var s []string
	for _, r := range risks {
		d := r.Rule
		if r.Key != "" {
			d += "/" + r.Key
		}
		s = append(s, fmt.Sprintf("%s %s %q", d, r.Severity, r.Title))
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func sameRisks(want []ExpectRisk, got []engine.Risk) bool {
	if len(want) != len(got) {
		return false
	}
	used := make([]bool, len(got))
	for _, w := range want {
		found := false
		for i, g := range got {
			if used[i] || g.Rule != w.Rule || (w.Level != "" && g.Severity != w.Level) ||
				(w.Key != nil && g.Key != *w.Key) || (w.Title != "" && !strings.Contains(g.Title, w.Title)) {
				continue
			}
			used[i], found = true, true
			break
		}
		if !found {
			return false
		}
	}
	return true
}
