package rules

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

// Evaluate implements engine.Evaluator. state is a school's memory made by
// NewState; without one (nil), windows never match and nothing is
// remembered.
func (s *Set) Evaluate(ev *engine.Event, school *engine.School, state engine.RuleState, out []engine.Match) ([]engine.Match, error) {
	mem, _ := state.(*memory)
	sc := getScratch()
	defer sc.put()
	env := &sc.frame.env
	*env = Env{Event: ev, School: school}
	sc.vmEnv.reset()
	var errs []error
	for _, r := range s.bySource[ev.Source] {
		if len(r.Types) > 0 && !slices.Contains(r.Types, ev.Type) {
			continue
		}
		rf := r.prepared()
		env.Window = nil
		sc.src = r.src
		var key string
		if r.key != nil {
			k, err := sc.text(rf.key, r.key, envRule)
			if err != nil {
				errs = s.fail(errs, r.ID, fmt.Errorf("rule %q: key: %w", r.ID, err))
				continue
			}
			key = k
		}
		if r.Absent != nil {
			if r.when != nil {
				ok, err := sc.boolean(rf.when, r.when, envRule)
				if err != nil {
					errs = s.fail(errs, r.ID, fmt.Errorf("rule %q: when: %w", r.ID, err))
					continue
				}
				if !ok {
					continue
				}
			}
			if mem != nil && mem.see(rf.absent, key, ev.OccurredAt) {
				s.forgot(r.ID, boundKeys, 1)
			}
			out = append(out, engine.Match{Rule: r.ID, Key: key, Clear: true})
			continue
		}
		if r.clear != nil {
			ok, err := sc.boolean(rf.clear, r.clear, envRule)
			if err != nil {
				errs = s.fail(errs, r.ID, fmt.Errorf("rule %q: clear_when: %w", r.ID, err))
				continue
			}
			if ok {
				if r.Window != nil && mem != nil {
					mem.dropWindow(r.windowKey, key)
				}
				out = append(out, engine.Match{Rule: r.ID, Key: key, Clear: true})
				continue
			}
		}
		ok, err := sc.boolean(rf.when, r.when, envRule)
		if err != nil {
			errs = s.fail(errs, r.ID, fmt.Errorf("rule %q: when: %w", r.ID, err))
			continue
		}
		if !ok {
			continue
		}
		if r.Window != nil {
			matched, err := s.windowMatch(r, sc, rf, mem, key)
			if err != nil {
				errs = s.fail(errs, r.ID, err)
				continue
			}
			if !matched {
				continue
			}
			env.Window = &sc.agg
		}
		m := engine.Match{Rule: r.ID, Key: key, Severity: r.Level, Grade: r.Grade, For: r.For, Manual: r.Manual,
			Pending: r.Pending, Overdue: r.Overdue, OverdueLevel: r.OverdueLevel}
		if r.level != nil {
			v, err := sc.text(rf.level, r.level, envRule)
			if err != nil {
				errs = s.fail(errs, r.ID, fmt.Errorf("rule %q: level: %w", r.ID, err))
				continue
			}
			sev, err := engine.ParseSeverity(v)
			if err != nil {
				errs = s.fail(errs, r.ID, fmt.Errorf("rule %q: level: %w", r.ID, err))
				continue
			}
			m.Severity = sev
		}
		m.Title = rf.title.render(sc)
		m.Description = rf.desc.render(sc)
		out = append(out, m)
	}
	return out, errors.Join(errs...)
}

// windowMatch adds the event to r's window for key and evaluates `having`
// over the window's aggregate, which it leaves in sc.agg.
func (s *Set) windowMatch(r *Rule, sc *scratch, rf *ruleFast, mem *memory, key string) (bool, error) {
	w := r.Window
	env := &sc.frame.env
	smp := sample{At: env.Event.OccurredAt, Value: 1}
	if w.value != nil {
		v, err := sc.number(rf.value, w.value, envRule)
		if err != nil {
			return false, fmt.Errorf("rule %q: window.value: %w", r.ID, err)
		}
		smp.Value = v
	}
	if w.distinct != nil {
		v, err := sc.text(rf.distinct, w.distinct, envRule)
		if err != nil {
			return false, fmt.Errorf("rule %q: window.distinct: %w", r.ID, err)
		}
		smp.Distinct = v
	}
	if mem == nil {
		return false, nil
	}
	win, evicted := mem.window(r.windowKey, key, true)
	if evicted {
		s.forgot(r.ID, boundKeys, 1)
	}
	maxSize := w.Size
	if w.Today {
		maxSize = 24 * time.Hour
	}
	added, dropped := win.add(smp, maxSize, w.Lateness)
	if dropped > 0 {
		s.forgot(r.ID, boundSamples, dropped)
	}
	if !added {
		return false, nil // later than the window's lateness
	}
	sc.agg = win.over(smp.At, w.span(smp.At))
	if w.having == nil {
		return true, nil
	}
	env.Window = &sc.agg
	ok, err := sc.boolean(rf.having, w.having, envRule)
	env.Window = nil
	if err != nil {
		return false, fmt.Errorf("rule %q: window.having: %w", r.ID, err)
	}
	return ok, nil
}

// Check implements engine.Evaluator: the absence checks due in (from, to].
// state is the school's memory made by NewState.
func (s *Set) Check(from, to time.Time, school *engine.School, state engine.RuleState, out []engine.Match) []engine.Match {
	mem, _ := state.(*memory)
	if len(s.absence) == 0 || mem == nil {
		return out
	}
	sc := getScratch()
	defer sc.put()
	for _, r := range s.absence {
		a := r.Absent
		if a.By > 0 {
			sc.dues = r.prepared().deadlines(from, to, a.By, sc.dues[:0])
			for _, d := range sc.dues {
				out = s.checkKeys(r, sc, school, mem, d.due, d.day, out)
			}
			continue
		}
		out = s.checkKeys(r, sc, school, mem, to, time.Time{}, out)
	}
	return out
}

// checkKeys runs one absence check of r at now for every entity of the
// school. For a daily deadline (a.By), day is the midnight the deadline
// counts from and now the deadline; for a duration (a.For), now is the
// check's time.
func (s *Set) checkKeys(r *Rule, sc *scratch, school *engine.School, mem *memory, now, day time.Time, out []engine.Match) []engine.Match {
	rf := r.prepared()
	env := &sc.frame.check
	*env = CheckEnv{School: school, Now: now}
	a := r.Absent
	if a.on != nil {
		ok, err := sc.boolean(rf.on, a.on, envCheck)
		if err != nil {
			s.failed(r.ID)
		}
		if err != nil || !ok {
			return out
		}
	}
	keys := noEntities
	if a.entities != nil {
		if rf.entities != nil {
			keys = rf.entities.ss(&sc.frame)
		} else {
			v, err := sc.vm.Run(a.entities, env)
			if err != nil {
				s.failed(r.ID)
				return out
			}
			keys = toStrings(v)
		}
	}
	for _, key := range keys {
		last, seen := mem.lastSeen(rf.absent, key)
		var (
			at   time.Time
			gone bool
		)
		switch {
		case a.By > 0:
			at, gone = now, !seen || last.Before(day) || last.After(now)
		case !seen:
			at, gone = now, true // never seen within the horizon
		default:
			at = last.Add(a.For)
			gone = !at.After(now)
		}
		if !gone {
			continue
		}
		fired, done := mem.lastSeen(rf.fired, key)
		if done && (!seen || !fired.Before(last)) && (a.By == 0 || fired.Equal(at)) {
			continue // already reported for this absence
		}
		if mem.see(rf.fired, key, at) {
			s.forgot(r.ID, boundKeys, 1)
		}
		env.Key, env.LastSeen = key, time.Time{}
		if seen {
			env.LastSeen = last
		}
		out = append(out, engine.Match{
			Rule: r.ID, Key: key, Severity: r.Level, Grade: r.Grade, For: r.For, Manual: r.Manual, Source: r.Source, At: at,
			Overdue: r.Overdue, OverdueLevel: r.OverdueLevel,
			Title: rf.title.render(sc), Description: rf.desc.render(sc),
		})
	}
	return out
}

// noEntities are the keys of an absence check without entities: one check
// per school. It must not be modified.
var noEntities = []string{""}

func absenceKey(rule, key string) string { return "absent\x00" + rule + "\x00" + key }

func toStrings(v any) []string {
	switch x := v.(type) {
	case []string:
		return x
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	case string:
		return []string{x}
	}
	return nil
}

// Escalate implements engine.Evaluator: the most serious colour among the
// policy entries that hold for the school's active risks.
func (s *Set) Escalate(school *engine.School, risks []*engine.Risk) (engine.Level, string, string) {
	best, rule, reason := engine.LevelGreen, "", ""
	if len(s.policy) == 0 {
		return best, rule, reason
	}
	sc := getScratch()
	defer sc.put()
	env := &sc.policy
	env.School = school
	for _, r := range risks {
		env.Risks = append(env.Risks, PolicyRisk{Rule: r.Rule, Key: r.Key, Level: string(r.Severity), Grade: r.Grade, Source: string(r.Source)})
	}
	for _, p := range s.policy {
		if p.Level.Rank() <= best.Rank() {
			continue
		}
		if p.fast != nil {
			if p.fast(env) {
				best, rule, reason = p.Level, p.ID, p.Reason
			}
			continue
		}
		ok, err := sc.vm.Run(p.when, env)
		if err != nil {
			s.failed(p.ID)
		}
		if err == nil && ok == true {
			best, rule, reason = p.Level, p.ID, p.Reason
		}
	}
	return best, rule, reason
}

// fail counts a run-time failure of rule id and appends err to errs.
func (s *Set) fail(errs []error, id string, err error) []error {
	s.failed(id)
	return append(errs, err)
}

// The bounds of sanse_rules_memory_forgotten_total.
const (
	boundKeys    = "keys"
	boundSamples = "samples"
)

// forgot counts n things rule id forgot at a school to stay within bound.
func (s *Set) forgot(id, bound string, n int) {
	if s.forgotten != nil {
		s.forgotten.WithLabelValues(id, bound).Add(float64(n))
	}
}

// failed counts a run-time failure of rule (or policy entry) id.
func (s *Set) failed(id string) {
	if s.failures != nil {
		s.failures.WithLabelValues(id).Inc()
	}
}
