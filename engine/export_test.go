package engine

import (
	"slices"
	"strings"
	"time"
)

// SchoolState is everything the engine keeps about one school that decides
// what it does next, copied into plain values that compare with
// reflect.DeepEqual. It leaves out what only makes the engine faster (the
// next-expiry bound, free lists, the order of the recent ids' ring).
type SchoolState struct {
	Level Level
	Since time.Time
	Cause Cause
	// Risks are the active risks, by rule and key.
	Risks []Risk
	// Recent are the ids of the applied events the engine still recognises
	// as duplicates, sorted, and LastEvent when the newest occurred.
	Recent    []string
	LastEvent time.Time
	// Rules is what the rules remember of the school (their windows and
	// last-seen times); the engine never looks inside, the test's
	// Evaluator makes it comparable.
	Rules RuleState
	// Resolved is when a person last resolved each risk, by "rule|key".
	Resolved map[string]time.Time
}

// State returns the engine's clock and a copy of every school's state, by
// school id.
func (e *Engine) State() (time.Time, map[string]SchoolState) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make(map[string]SchoolState, len(e.schools))
	for id, st := range e.schools {
		s := SchoolState{
			Level: st.level, Since: st.since, Cause: st.cause,
			Recent:    st.recent.sorted(),
			LastEvent: st.lastEvent,
			Rules:     st.rules,
			Resolved:  map[string]time.Time{},
		}
		for _, r := range st.risks {
			s.Risks = append(s.Risks, r.clone())
		}
		slices.SortFunc(s.Risks, func(a, b Risk) int { return strings.Compare(a.ref(), b.ref()) })
		for k, t := range st.resolved {
			s.Resolved[k.rule+"|"+k.key] = t
		}
		out[id] = s
	}
	return e.now, out
}

// sorted returns the ids r holds, sorted.
func (r *recentIDs) sorted() []string {
	ids := make([]string, r.len())
	for i := range ids {
		ids[i] = string(r.id(i))
	}
	slices.Sort(ids)
	return ids
}
