package rules

import (
	"fmt"
	"path"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

// Set is an immutable compiled rule set. It implements engine.Evaluator and
// is safe for concurrent use.
type Set struct {
	rules    []*Rule
	absence  []*Rule
	bySource map[engine.Source][]*Rule
	policy   []*Policy
	params   Params
	calendar *Calendar
	horizon  time.Duration
	files    []string
	contract *event.Contract
	labels   map[string]string // zh()'s, from the contract
	// failures counts the rules' run-time failures by rule, and forgotten
	// what a rule forgot at a school to stay within a bound (MaxKeys,
	// MaxWindowSamples), by rule and bound; nil counts nothing (a set
	// outside a Manager).
	failures  *prometheus.CounterVec
	forgotten *prometheus.CounterVec
}

// counting returns a copy of s that counts its rules' run-time failures in
// failures and what they forget to stay within their bounds in forgotten.
func (s *Set) counting(failures, forgotten *prometheus.CounterVec) *Set {
	c := *s
	c.failures, c.forgotten = failures, forgotten
	return &c
}

// Rules returns the rules in file order. The slice must not be modified.
func (s *Set) Rules() []*Rule { return s.rules }

// Policy returns the level policy entries in file order.
func (s *Set) Policy() []*Policy { return s.policy }

// Params returns the set's thresholds. The map must not be modified.
func (s *Set) Params() Params { return s.params }

// Calendar returns the set's school calendar.
func (s *Set) Calendar() *Calendar { return s.calendar }

// Contract returns the event contract the set was compiled against: the
// events it evaluates must have been decoded with it.
func (s *Set) Contract() *event.Contract { return s.contract }

// Files returns the names of the files the set was compiled from.
func (s *Set) Files() []string { return s.files }

// Horizon implements engine.Evaluator: the longest `for` or window (plus
// lateness) of any rule, at least a day.
func (s *Set) Horizon() time.Duration { return s.horizon }

// Scaled returns a copy of s in which every rule's `for` (and `overdue`) is multiplied by
// f (0 < f ≤ 1), with the horizon scaled alike. It exists for the demo,
// where risks should run out within minutes rather than hours.
func (s *Set) Scaled(f float64) *Set {
	c := *s
	c.bySource = map[engine.Source][]*Rule{}
	c.rules, c.absence = nil, nil
	for _, r := range s.rules {
		rc := *r
		rc.For = time.Duration(float64(r.For) * f)
		rc.Overdue = time.Duration(float64(r.Overdue) * f)
		if rc.Manual {
			// The demo has nobody to resolve risks: a manual risk ends
			// after a scaled day instead.
			rc.Manual, rc.For = false, time.Duration(float64(DefaultFor)*f)
		}
		c.rules = append(c.rules, &rc)
		c.bySource[rc.Source] = append(c.bySource[rc.Source], &rc)
		if rc.Absent != nil {
			c.absence = append(c.absence, &rc)
		}
	}
	return &c
}

// Only returns a copy of s with just the rules whose ids match one of the
// patterns (path.Match syntax); the level policy is kept. A pattern that
// matches no rule is an error.
func (s *Set) Only(patterns []string) (*Set, error) {
	c := *s
	c.bySource = map[engine.Source][]*Rule{}
	c.rules, c.absence = nil, nil
	used := make([]bool, len(patterns))
	for _, r := range s.rules {
		keep := false
		for i, p := range patterns {
			ok, err := path.Match(p, r.ID)
			if err != nil {
				return nil, fmt.Errorf("rule pattern %q: %w", p, err)
			}
			if ok {
				keep, used[i] = true, true
			}
		}
		if !keep {
			continue
		}
		c.rules = append(c.rules, r)
		c.bySource[r.Source] = append(c.bySource[r.Source], r)
		if r.Absent != nil {
			c.absence = append(c.absence, r)
		}
	}
	for i, u := range used {
		if !u {
			return nil, fmt.Errorf("rule pattern %q matches no rule", patterns[i])
		}
	}
	return &c, nil
}
