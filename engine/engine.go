package engine

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"
)

// Evaluator evaluates the current rule set. It is implemented by package
// rules. Evaluate must be safe for concurrent use and must not keep ev or
// school after it returns; it appends one Match per satisfied rule to out. A
// non-nil error reports rules that failed at run time; the matches of the
// other rules are still returned and used.
type Evaluator interface {
	Evaluate(ev *Event, school *School, out []Match) ([]Match, error)
	// Horizon is how far back the state depends on events: the longest time
	// a risk can stay active after its last event. State is rebuilt on start
	// by replaying the stored events of this span.
	Horizon() time.Duration
}

// Output collects what applying events and advancing the clock caused, for
// the store. Reset empties it for reuse.
type Output struct {
	Transitions []RiskTransition
	Changes     []LevelChange
}

// Reset empties o, keeping its capacity.
func (o *Output) Reset() {
	o.Transitions = o.Transitions[:0]
	o.Changes = o.Changes[:0]
}

// Len returns the number of records in o.
func (o *Output) Len() int { return len(o.Transitions) + len(o.Changes) }

// ErrDuplicate is returned by Apply for an event whose id was already applied
// within the horizon; the event has no further effect.
var ErrDuplicate = errors.New("event already applied")

// Engine keeps every school's active risks and colour. Apply and Tick are
// serialised by a mutex; the read methods may run concurrently with them.
type Engine struct {
	rules    func() Evaluator
	registry func() *Registry
	listener func(LevelChange)

	mu      sync.RWMutex
	now     time.Time
	schools map[string]*schoolState
	matches []Match
}

type schoolState struct {
	level Level
	since time.Time
	cause string
	risks map[string]*Risk // by rule/key
	seen  map[string]time.Time
}

// New returns an engine that evaluates the rule set rules returns (called
// once per event, so a reload takes effect at the next event) against the
// registry registry returns.
func New(rules func() Evaluator, registry func() *Registry) *Engine {
	return &Engine{rules: rules, registry: registry, schools: map[string]*schoolState{}}
}

// OnChange registers fn to be called, under the engine's lock, for every
// colour change as it happens. fn must not block and must not call the engine.
func (e *Engine) OnChange(fn func(LevelChange)) {
	e.mu.Lock()
	e.listener = fn
	e.mu.Unlock()
}

// Now returns the engine's clock: the time of the last Tick.
func (e *Engine) Now() time.Time {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.now
}

func (e *Engine) state(id string) *schoolState {
	s := e.schools[id]
	if s == nil {
		s = &schoolState{level: LevelGreen, risks: map[string]*Risk{}, seen: map[string]time.Time{}}
		e.schools[id] = s
	}
	return s
}

// Apply evaluates ev and appends what it caused to out. An event whose id was
// already applied returns ErrDuplicate and changes nothing. Rule run-time
// errors are returned after the event has been applied with the other rules.
func (e *Engine) Apply(ev *Event, out *Output) error {
	school := e.registry().School(ev.SchoolID)
	if school == nil {
		return fmt.Errorf("school %q is not in the registry", ev.SchoolID)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.state(ev.SchoolID)
	if _, dup := st.seen[ev.ID]; dup {
		return ErrDuplicate
	}
	st.seen[ev.ID] = ev.OccurredAt

	var evalErr error
	e.matches, evalErr = e.rules().Evaluate(ev, school, e.matches[:0])
	var cause *Risk
	for i := range e.matches {
		m := &e.matches[i]
		until := ev.OccurredAt.Add(m.For)
		if !until.After(e.now) {
			continue // already over by the engine's clock: a late event
		}
		ref := m.Rule
		if m.Key != "" {
			ref += "/" + m.Key
		}
		r, ok := st.risks[ref]
		state := RiskUpdated
		if !ok {
			state = RiskOpened
			r = &Risk{Rule: m.Rule, Key: m.Key, Source: ev.Source, FirstSeen: ev.OccurredAt, LastSeen: ev.OccurredAt}
			st.risks[ref] = r
		}
		if ok && m.Severity.rank() < r.Severity.rank() {
			// Keep the more serious level while the risk lasts.
		} else {
			r.Severity, r.Title, r.Description = m.Severity, m.Title, m.Description
		}
		if ev.OccurredAt.Before(r.FirstSeen) {
			r.FirstSeen = ev.OccurredAt
		}
		if ev.OccurredAt.After(r.LastSeen) {
			r.LastSeen = ev.OccurredAt
		}
		if until.After(r.Until) {
			r.Until = until
		}
		r.Count++
		r.Evidence = append(r.Evidence, ev.ID)
		if len(r.Evidence) > MaxEvidence {
			r.Evidence = slices.Delete(r.Evidence, 0, len(r.Evidence)-MaxEvidence)
		}
		out.Transitions = append(out.Transitions, RiskTransition{
			ID: transitionID(state, r, ev.ID), SchoolID: ev.SchoolID, At: ev.OccurredAt,
			State: state, EventID: ev.ID, Risk: r.clone(),
		})
		if cause == nil || r.Severity.rank() > cause.Severity.rank() {
			cause = r
		}
	}
	if cause != nil {
		e.relevel(ev.SchoolID, st, ev.OccurredAt, cause, ev.ID, out)
	}
	return evalErr
}

// Tick advances the engine's clock to now, expiring every risk whose time ran
// out, and forgets applied event ids older than the horizon. The clock never
// goes back.
func (e *Engine) Tick(now time.Time, out *Output) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !now.After(e.now) {
		return
	}
	e.now = now
	forget := now.Add(-e.rules().Horizon())
	for id, st := range e.schools {
		var expired []*Risk
		for _, r := range st.risks {
			if !r.Until.After(now) {
				expired = append(expired, r)
			}
		}
		// Expire in time order, re-levelling after each, so that every colour
		// change has the risk that caused it and the time it happened.
		sort.Slice(expired, func(i, j int) bool {
			if !expired[i].Until.Equal(expired[j].Until) {
				return expired[i].Until.Before(expired[j].Until)
			}
			return expired[i].ref() < expired[j].ref()
		})
		for _, r := range expired {
			delete(st.risks, r.ref())
			out.Transitions = append(out.Transitions, RiskTransition{
				ID: transitionID(RiskExpired, r, ""), SchoolID: id, At: r.Until, State: RiskExpired, Risk: r.clone(),
			})
			e.relevel(id, st, r.Until, r, "", out)
		}
		for evID, at := range st.seen {
			if at.Before(forget) {
				delete(st.seen, evID)
			}
		}
		if len(st.risks) == 0 && len(st.seen) == 0 && st.level == LevelGreen && st.since.Before(forget) {
			delete(e.schools, id)
		}
	}
}

// relevel recomputes the school's colour from its active risks and records a
// change, caused by r, if there is one.
func (e *Engine) relevel(id string, st *schoolState, at time.Time, r *Risk, eventID string, out *Output) {
	level := levelOf(st.risks, e.now, at)
	if level == st.level {
		return
	}
	var cause string
	if eventID != "" {
		cause = fmt.Sprintf("新增%s：%s", r.Severity.Chinese(), r.Title)
	} else {
		cause = fmt.Sprintf("风险已到期解除：%s", r.Title)
	}
	c := LevelChange{
		SchoolID: id, At: at, From: st.level, To: level, Rule: r.Rule, EventID: eventID,
		Cause: cause, ActiveRisks: len(st.risks),
	}
	if eventID != "" {
		c.ID = fmt.Sprintf("%s:%s", eventID, r.ref())
	} else {
		c.ID = fmt.Sprintf("expired:%s:%d", r.ref(), r.Until.UnixMilli())
	}
	st.level, st.since, st.cause = level, at, cause
	out.Changes = append(out.Changes, c)
	if e.listener != nil {
		e.listener(c)
	}
}

// levelOf derives a colour from active risks: red if any is high, yellow if
// any is medium, green otherwise.
func levelOf(risks map[string]*Risk, _, _ time.Time) Level {
	max := Severity("")
	for _, r := range risks {
		if r.Severity.rank() > max.rank() {
			max = r.Severity
		}
	}
	return LevelFor(max)
}

func (r *Risk) clone() Risk {
	c := *r
	c.Evidence = slices.Clone(r.Evidence)
	return c
}

// SchoolView is a school as the map shows it.
type SchoolView struct {
	School *School
	Level  Level
	// Since is when the colour last changed; zero if it never changed
	// within the horizon.
	Since time.Time
	// Cause is the sentence recorded with the last colour change.
	Cause string
	// Risks are the active risks, most serious first, then newest first.
	Risks []Risk
}

// View returns the school with the given id as the map shows it.
func (e *Engine) View(id string) (SchoolView, bool) {
	school := e.registry().School(id)
	if school == nil {
		return SchoolView{}, false
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.view(school, true), true
}

// Views returns every school of the registry that keep accepts, in id order,
// without their risks (only counted in ActiveRisks of the result).
func (e *Engine) Views(keep func(*School) bool) []SchoolSummary {
	reg := e.registry()
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]SchoolSummary, 0, reg.Len())
	for _, s := range reg.Schools() {
		if keep != nil && !keep(s) {
			continue
		}
		sum := SchoolSummary{School: s, Level: LevelGreen}
		if st := e.schools[s.ID]; st != nil {
			sum.Level, sum.Since, sum.ActiveRisks = st.level, st.since, len(st.risks)
		}
		out = append(out, sum)
	}
	return out
}

// SchoolSummary is one point of the map.
type SchoolSummary struct {
	School      *School
	Level       Level
	Since       time.Time
	ActiveRisks int
}

func (e *Engine) view(school *School, withRisks bool) SchoolView {
	v := SchoolView{School: school, Level: LevelGreen}
	st := e.schools[school.ID]
	if st == nil {
		return v
	}
	v.Level, v.Since, v.Cause = st.level, st.since, st.cause
	if withRisks {
		for _, r := range st.risks {
			v.Risks = append(v.Risks, r.clone())
		}
		sort.Slice(v.Risks, func(i, j int) bool {
			a, b := v.Risks[i], v.Risks[j]
			if a.Severity != b.Severity {
				return a.Severity.rank() > b.Severity.rank()
			}
			if !a.LastSeen.Equal(b.LastSeen) {
				return a.LastSeen.After(b.LastSeen)
			}
			return a.ref() < b.ref()
		})
	}
	return v
}

// Horizon returns how far back the current rule set depends on events.
func (e *Engine) Horizon() time.Duration { return e.rules().Horizon() }
