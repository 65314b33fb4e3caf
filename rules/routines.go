package rules

import (
	"fmt"
	"strings"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

// Routine is an inspection routine (晨检, 留样, 水域巡查, …) that one of the
// set's absence checks watches: reports read its compliance from the days
// it was owed and the days its check found it missing.
type Routine struct {
	Rule   string
	Source engine.Source
	Types  []string // empty: every type of the source
	Level  engine.Severity
	// By is the daily deadline's offset from local midnight; 0 when For is
	// used (nothing for this long).
	By, For time.Duration
}

// Routines returns the routines the set's absence checks watch, in file
// order.
func (s *Set) Routines() []Routine {
	out := make([]Routine, 0, len(s.absence))
	for _, r := range s.absence {
		out = append(out, Routine{Rule: r.ID, Source: r.Source, Types: r.Types, Level: r.Level, By: r.Absent.By, For: r.Absent.For})
	}
	return out
}

// RoutineDue says what school owes the routine of the absence check rule on
// the local day that begins at day (midnight in Asia/Shanghai): the entities
// it must cover (one "" for a check without entities), or none when the
// check does not apply that day (its `on` is false at the deadline, or at
// noon for a check without a daily deadline); and the routine's name, the
// rule's title rendered for the school without an entity. It fails for a
// rule that is not an absence check of the set, or when `on` or `entities`
// fail to run.
func (s *Set) RoutineDue(rule string, school *engine.School, day time.Time) (keys []string, title string, err error) {
	var r *Rule
	for _, a := range s.absence {
		if a.ID == rule {
			r = a
			break
		}
	}
	if r == nil {
		return nil, "", fmt.Errorf("rule %q is not an absence check", rule)
	}
	a := r.Absent
	now := day.Add(12 * time.Hour)
	if a.By > 0 {
		now = day.Add(a.By)
	}
	sc := getScratch()
	defer sc.put()
	rf := r.prepared()
	sc.frame.check = CheckEnv{School: school, Now: now}
	title = routineTitle(rf.title.render(sc))
	if a.on != nil {
		ok, err := sc.boolean(rf.on, a.on, envCheck)
		if err != nil {
			return nil, title, fmt.Errorf("rule %q: absent.on: %w", rule, err)
		}
		if !ok {
			return nil, title, nil
		}
	}
	if a.entities == nil {
		return []string{""}, title, nil
	}
	if rf.entities != nil {
		return append([]string(nil), rf.entities.ss(&sc.frame)...), title, nil
	}
	v, err := sc.vm.Run(a.entities, &sc.frame.check)
	if err != nil {
		return nil, title, fmt.Errorf("rule %q: absent.entities: %w", rule, err)
	}
	return append([]string(nil), toStrings(v)...), title, nil
}

// routineTitle drops what an empty entity leaves of a title: 防溺水重点水域
// 超时未巡查（） becomes 防溺水重点水域超时未巡查.
func routineTitle(s string) string {
	for _, empty := range []string{"（）", "()", "（ ）"} {
		s = strings.ReplaceAll(s, empty, "")
	}
	return strings.TrimSpace(s)
}
