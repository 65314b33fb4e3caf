package engine

import (
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Evaluator evaluates the current rule set. It is implemented by package
// rules. Evaluate must be safe for concurrent use and must not keep ev or
// school after it returns; it appends one Match per satisfied rule to out. A
// non-nil error reports rules that failed at run time; the matches of the
// other rules are still returned and used.
type Evaluator interface {
	// NewState returns an empty RuleState for one school, or nil when the
	// Evaluator remembers nothing between events. The states of the
	// Evaluators the engine is given over time (a rule reload) must be
	// interchangeable: a school keeps its state across a reload.
	NewState() RuleState
	// Evaluate evaluates the rules of ev's source against ev. state is the
	// school's RuleState, which Evaluate may update.
	Evaluate(ev *Event, school *School, state RuleState, out []Match) ([]Match, error)
	// Check evaluates the scheduled (absence) rules whose check time lies in
	// (from, to] for one school and appends what they find; it may update
	// the school's state.
	Check(from, to time.Time, school *School, state RuleState, out []Match) []Match
	// Escalate applies the level policy to a school's active risks. It
	// returns the colour the policy demands (LevelGreen when none applies),
	// the policy rule's id and the reason for people.
	Escalate(school *School, risks []*Risk) (level Level, rule, reason string)
	// Horizon is how far back the state depends on events: the longest time
	// a risk can stay active after its last event or a window can reach.
	// State is rebuilt on start by replaying the stored events of this span.
	Horizon() time.Duration
}

// RuleState is what an Evaluator remembers about one school between events
// (for package rules: sliding windows and when things were last seen). The
// engine keeps one per school, made by Evaluator.NewState, hands it back to
// Evaluate and Check under the engine's lock, and never looks inside. Like
// the rest of the state it is rebuilt on start by replaying stored events.
// Its methods are called under the engine's lock only.
type RuleState interface {
	// Prune forgets what is older than before, the start of the horizon.
	Prune(before time.Time)
	// Empty reports whether the state holds nothing, so that a school
	// without any other state can be forgotten.
	Empty() bool
	// Len returns the number of entries the state holds (for package
	// rules: the samples of its windows and its last-seen times), for the
	// sanse_engine_rule_state_entries gauge.
	Len() int
}

// emptyState reports whether s, which may be nil, holds nothing.
func emptyState(s RuleState) bool { return s == nil || s.Empty() }

// Output collects what applying events and advancing the clock caused, for
// the store. Reset empties it for reuse.
type Output struct {
	Transitions []RiskTransition
	Changes     []LevelChange
	// evidence holds the evidence lists of Transitions, so that recording
	// a risk does not allocate one per transition once o is warm.
	evidence []string
}

// Reset empties o, keeping its capacity. The records it held must not be
// used afterwards: their evidence lists share o's memory (copy what is kept).
func (o *Output) Reset() {
	o.Transitions = o.Transitions[:0]
	o.Changes = o.Changes[:0]
	clear(o.evidence)
	o.evidence = o.evidence[:0]
}

// snapshot returns a copy of r for a record of o, its evidence in o's memory.
func (o *Output) snapshot(r *Risk) Risk {
	c := *r
	start := len(o.evidence)
	o.evidence = append(o.evidence, r.Evidence...)
	c.Evidence = o.evidence[start:len(o.evidence):len(o.evidence)]
	if len(r.Alarms) > 0 {
		c.Alarms = slices.Clone(r.Alarms)
	}
	return c
}

// Len returns the number of records in o.
func (o *Output) Len() int { return len(o.Transitions) + len(o.Changes) }

// ErrDuplicate is returned by Apply for an event whose id is among the last
// RecentIDs applied to its school; the event has no further effect.
var ErrDuplicate = errors.New("event already applied")

// Engine keeps every school's active risks and colour. Apply and Tick are
// serialised by a mutex; the read methods may run concurrently with them.
type Engine struct {
	rules    func() Evaluator
	registry func() *Registry

	mu      sync.RWMutex
	seq     uint64 // colour changes made so far, for LevelChange.Seq
	now     time.Time
	schools map[string]*schoolState
	matches []Match
	riskBuf []*Risk
	expired []*Risk
	spare   RuleState // an empty rule state for the checks of schools without state
	// free holds ended risks for reuse by the next that opens.
	free []*Risk
	// owns says which schools this engine holds (nil: every school of the
	// registry): the scheduled checks of Tick run for these only. Several
	// instances share a province's schools this way (see Fork).
	owns func(schoolID string) bool

	// version counts the changes of what View and Views show (see
	// Version); shown is the registry it last saw.
	version atomic.Uint64
	shown   atomic.Pointer[Registry]
}

// Version returns a number that changes whenever what View and Views show may
// have changed: a colour, when it changed, the active risks (their number,
// sources, pending checks) or the registry. A reader that takes the version
// before reading the state and finds it unchanged later knows that nothing
// it showed has changed meanwhile; a change between the two readings only
// makes the version differ although the state read already had it. It is
// safe for concurrent use and never waits for the engine's lock.
func (e *Engine) Version() uint64 {
	if reg, seen := e.registry(), e.shown.Load(); reg != seen && e.shown.CompareAndSwap(seen, reg) {
		e.version.Add(1)
	}
	return e.version.Load()
}

// noteChanges counts a change of the state for Version when out holds more
// records than before, the length it had when the write began: every change
// that View and Views show is recorded (a transition or a colour change). It
// is deferred while e.mu is held, so that the count is taken before readers
// see the state.
func (e *Engine) noteChanges(out *Output, before int) {
	if out.Len() != before {
		e.version.Add(1)
	}
}

// maxFreeRisks bounds Engine.free.
const maxFreeRisks = 4096

// recycle keeps r, which no school holds any more, for reuse, with its
// evidence list.
func (e *Engine) recycle(r *Risk) {
	if len(e.free) < maxFreeRisks {
		ev, al := r.Evidence[:0], r.Alarms[:0]
		clear(r.Evidence)
		clear(r.Alarms)
		*r = Risk{Evidence: ev, Alarms: al}
		e.free = append(e.free, r)
	}
}

// addEvidence appends id to r's evidence, keeping the newest MaxEvidence.
// The list is made at its full size once per risk, and reused with it.
func (e *Engine) addEvidence(r *Risk, id string) {
	ev := r.Evidence
	switch {
	case len(ev) == MaxEvidence:
		copy(ev, ev[1:])
		ev[MaxEvidence-1] = id
		return
	case cap(ev) < MaxEvidence:
		ev = append(make([]string, 0, MaxEvidence), ev...)
	}
	r.Evidence = append(ev, id)
}

// addAlarm adds alarm id to r's alarms, keeping the newest MaxEvidence.
func addAlarm(r *Risk, id string) {
	if slices.Contains(r.Alarms, id) {
		return
	}
	if len(r.Alarms) == MaxEvidence {
		copy(r.Alarms, r.Alarms[1:])
		r.Alarms[MaxEvidence-1] = id
		return
	}
	r.Alarms = append(r.Alarms, id)
}

// newRisk returns an empty risk, reused when one is free.
func (e *Engine) newRisk() *Risk {
	if n := len(e.free); n > 0 {
		r := e.free[n-1]
		e.free[n-1] = nil
		e.free = e.free[:n-1]
		return r
	}
	return new(Risk)
}

type schoolState struct {
	level Level
	since time.Time
	cause Cause
	risks map[riskKey]*Risk
	// nextExpiry is at or before the earliest Until of the risks (zero when
	// no risk runs out), so that Tick looks at the risks only when one may
	// have expired.
	nextExpiry time.Time
	// recent holds the ids of the school's last events, and lastEvent when
	// the newest of them occurred.
	recent    recentIDs
	lastEvent time.Time
	rules     RuleState
	// resolved holds when a person last resolved each risk, so that an
	// event from before that time (late, or re-delivered after a crash)
	// does not open it again.
	resolved map[riskKey]time.Time
}

// riskKey identifies a risk within a school: its rule and group key.
type riskKey struct{ rule, key string }

// RecentIDs is how many event ids the engine remembers per school, the
// newest applied, to recognise an event a producer sent again: Apply refuses
// an id among them with ErrDuplicate. The bound keeps memory independent of
// the number of events processed. A message Kafka delivers again (after a
// crash, a restart or a rebalance) is recognised by its offset before it
// reaches the engine (package engine/ingest), whatever its age; this window
// is for copies a producer sent itself. A copy sent after RecentIDs other
// events of its school is applied again: ClickHouse keeps one row of the
// event (same id, school and time), but the engine counts it a second time —
// in the windows of the rules and in the count and evidence of the risk it
// updates — and can open again a risk that was cleared or expired since
// (not one a person resolved, nor one whose time is already over).
const RecentIDs = 64

// recentIDs holds the last RecentIDs event ids applied to one school, in a
// ring, with a hash of each so that looking one up compares words, not
// strings. The ids' bytes are copied into one buffer per school: a string
// per id made the ids of every school most of the objects the garbage
// collector had to mark, and kept each event's id allocation alive.
type recentIDs struct {
	hashes []uint64
	// spans[i] locates id i in buf: its offset and length.
	spans []idSpan
	buf   []byte
	next  int // where the next id goes once the ring is full
}

type idSpan struct{ off, n uint32 }

// idSeed seeds the hashes of recentIDs; they never leave the process.
var idSeed = maphash.MakeSeed()

func (r *recentIDs) len() int { return len(r.hashes) }

// id returns id i.
func (r *recentIDs) id(i int) []byte {
	sp := r.spans[i]
	return r.buf[sp.off : sp.off+sp.n]
}

// idHash returns the hash of id that recentIDs keeps.
func idHash(id string) uint64 { return maphash.String(idSeed, id) }

// has reports whether the ring holds id, whose idHash is h.
func (r *recentIDs) has(h uint64, id string) bool {
	for i, x := range r.hashes {
		if x == h && string(r.id(i)) == id {
			return true
		}
	}
	return false
}

// add puts id, whose idHash is h, in the ring, in place of the oldest id
// once the ring is full.
func (r *recentIDs) add(h uint64, id string) {
	i := len(r.hashes)
	if i < RecentIDs {
		if i == 0 {
			r.hashes = make([]uint64, 0, RecentIDs)
			r.spans = make([]idSpan, 0, RecentIDs)
		}
		r.hashes = append(r.hashes, h)
		r.spans = append(r.spans, idSpan{})
	} else {
		i = r.next
		r.hashes[i] = h
		r.spans[i] = idSpan{}
		r.next = (r.next + 1) % RecentIDs
	}
	if len(r.buf)+len(id) > cap(r.buf) {
		r.compact(len(id))
	}
	r.spans[i] = idSpan{off: uint32(len(r.buf)), n: uint32(len(id))}
	r.buf = append(r.buf, id...)
}

// compact moves the ids into a new buffer with room for them twice over
// and for extra more bytes, leaving out the bytes of ids no longer held. A
// buffer thus holds at most about twice its ids' bytes, and is copied once
// per as many bytes added as it held.
func (r *recentIDs) compact(extra int) {
	live := 0
	for _, sp := range r.spans {
		live += int(sp.n)
	}
	buf := make([]byte, 0, max(2*live+extra, 256))
	for i, sp := range r.spans {
		r.spans[i].off = uint32(len(buf))
		buf = append(buf, r.buf[sp.off:sp.off+sp.n]...)
	}
	r.buf = buf
}

// forget drops every id.
func (r *recentIDs) forget() {
	*r = recentIDs{}
}

// noteExpiry lowers the school's next expiry to until, a risk's new Until.
func (st *schoolState) noteExpiry(until time.Time) {
	if !until.IsZero() && (st.nextExpiry.IsZero() || until.Before(st.nextExpiry)) {
		st.nextExpiry = until
	}
}

// New returns an engine that evaluates the rule set rules returns (called
// once per event, so a reload takes effect at the next event) against the
// registry registry returns.
func New(rules func() Evaluator, registry func() *Registry) *Engine {
	return &Engine{rules: rules, registry: registry, schools: map[string]*schoolState{}}
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
		s = &schoolState{level: LevelGreen, risks: map[riskKey]*Risk{}, rules: e.rules().NewState()}
		e.schools[id] = s
	}
	return s
}

// Apply evaluates ev and appends what it caused to out. An event whose id is
// among the last RecentIDs applied to its school returns ErrDuplicate and
// changes nothing. Rule run-time
// errors are returned after the event has been applied with the other rules.
func (e *Engine) Apply(ev *Event, out *Output) error {
	school := e.registry().School(ev.SchoolID)
	if school == nil {
		return fmt.Errorf("school %q is not in the registry", ev.SchoolID)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.noteChanges(out, out.Len())
	st := e.state(ev.SchoolID)
	h := idHash(ev.ID)
	if st.recent.has(h, ev.ID) {
		return ErrDuplicate
	}
	st.recent.add(h, ev.ID)
	if ev.OccurredAt.After(st.lastEvent) {
		st.lastEvent = ev.OccurredAt
	}

	var evalErr error
	e.matches, evalErr = e.rules().Evaluate(ev, school, st.rules, e.matches[:0])
	if ev.Disposition != "" {
		e.dispose(school, st, ev, out)
	}
	e.applyMatches(school, st, ev.Source, ev.OccurredAt, ev, e.matches, out)
	return evalErr
}

// applyMatches opens, updates or clears risks for the matches found at time
// at (caused by event eventID, or by a scheduled check when it is "").
// ev is the event, nil for a scheduled check or an external match.
func (e *Engine) applyMatches(school *School, st *schoolState, source Source, at time.Time, ev *Event, matches []Match, out *Output) {
	var eventID, alarmID, device string
	if ev != nil {
		eventID, alarmID, device = ev.ID, ev.AlarmID, ev.Reporter
	}
	var (
		cause  *Risk
		change bool
	)
	for i := range matches {
		m := &matches[i]
		ref := riskKey{m.Rule, m.Key}
		r, ok := st.risks[ref]
		if m.Clear {
			if !ok {
				continue
			}
			delete(st.risks, ref)
			c := out.snapshot(r)
			c.LastSeen = at
			out.Transitions = append(out.Transitions, RiskTransition{
				SchoolID: school.ID, At: at, State: RiskCleared, EventID: eventID, Risk: c,
			})
			e.relevel(school, st, at, r, eventID, RiskCleared, out)
			e.recycle(r)
			continue
		}
		var until time.Time
		if m.For > 0 && !m.Manual {
			until = at.Add(m.For)
			if !until.After(e.now) {
				continue // already over by the engine's clock: a late event
			}
		}
		state := RiskUpdated
		if !ok {
			if done, was := st.resolved[ref]; was && !at.After(done) {
				continue // a person already dealt with what this event reports
			}
			state = RiskOpened
			src := m.Source
			if src == "" {
				src = source
			}
			r = e.newRisk()
			r.Rule, r.Key, r.Source, r.FirstSeen, r.LastSeen, r.Device = m.Rule, m.Key, src, at, at, device
			st.risks[ref] = r
		}
		prevSeverity, prevTitle := r.Severity, r.Title
		sev := m.Severity
		if m.Pending != "" && (!ok || r.Pending) {
			// 待核实: shown at the pending level until a human check;
			// Full is what a confirmation gives.
			if !ok || m.Severity.rank() > r.Full.rank() {
				r.Full = m.Severity
			}
			r.Pending, sev = true, m.Pending
		}
		if !ok || sev.rank() >= r.Severity.rank() {
			// A risk keeps its most serious level while it lasts.
			if ok && sev != r.Severity {
				change = true
			}
			r.Severity, r.Grade, r.Title, r.Description = sev, m.Grade, m.Title, m.Description
		}
		if alarmID != "" {
			addAlarm(r, alarmID)
		}
		if at.Before(r.FirstSeen) {
			r.FirstSeen = at
		}
		if at.After(r.LastSeen) {
			r.LastSeen = at
		}
		if m.Manual {
			r.Manual = true
		}
		if !ok && m.Overdue > 0 && m.OverdueLevel != "" {
			r.OverdueAt, r.OverdueLevel = at.Add(m.Overdue), m.OverdueLevel
			st.noteExpiry(r.OverdueAt)
		}
		switch {
		case m.For == 0 || r.Manual:
			r.Until = time.Time{} // until cleared or resolved
		case !r.Until.IsZero() && until.After(r.Until), !ok:
			r.Until = until
			st.noteExpiry(until)
		}
		r.Count++
		if eventID != "" {
			e.addEvidence(r, eventID)
		}
		// A transition is recorded when the risk opens or what people see of
		// it changes (level, title); a repeat that changes neither is in the
		// events table and the risk's count and evidence, not in the history.
		if state == RiskOpened || r.Severity != prevSeverity || r.Title != prevTitle {
			out.Transitions = append(out.Transitions, RiskTransition{
				SchoolID: school.ID, At: at, State: state, EventID: eventID, Risk: out.snapshot(r),
			})
		}
		if state == RiskOpened || change {
			if cause == nil || r.Severity.rank() > cause.Severity.rank() {
				cause = r
			}
		}
	}
	if cause != nil {
		e.relevel(school, st, at, cause, eventID, RiskOpened, out)
	}
}

// Tick advances the engine's clock to now, expiring every risk whose time ran
// out, and forgets what lies before the horizon: the rules' state, the
// resolutions, the recent event ids of a school whose last event is older,
// and the schools left with nothing. The clock never
// goes back.
func (e *Engine) Tick(now time.Time, out *Output) {
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.noteChanges(out, out.Len())
	if !now.After(e.now) {
		return
	}
	prev := e.now
	e.now = now
	rules := e.rules()
	forget := now.Add(-rules.Horizon())
	if !prev.IsZero() {
		// Scheduled (absence) checks for every school of the registry. A
		// school without state is checked against an empty rule state,
		// which becomes its own only if the checks found something.
		for _, school := range e.registry().Schools() {
			if e.owns != nil && !e.owns(school.ID) {
				continue
			}
			st := e.schools[school.ID]
			var state RuleState
			if st != nil {
				state = st.rules
			} else {
				if e.spare == nil {
					e.spare = rules.NewState()
				}
				state = e.spare
			}
			e.matches = rules.Check(prev, now, school, state, e.matches[:0])
			if st == nil && !emptyState(state) {
				st = e.state(school.ID)
				st.rules, e.spare = state, nil
			}
			if len(e.matches) == 0 {
				continue
			}
			if st == nil {
				st = e.state(school.ID)
				st.rules, e.spare = state, nil
			}
			for i := range e.matches {
				at := e.matches[i].At
				if at.IsZero() || at.After(now) {
					at = now
				}
				e.applyMatches(school, st, e.matches[i].Source, at, nil, e.matches[i:i+1], out)
			}
		}
	}
	reg := e.registry()
	for id, st := range e.schools {
		if !st.nextExpiry.IsZero() && !st.nextExpiry.After(now) {
			school := reg.School(id)
			if school == nil {
				school = &School{ID: id}
			}
			e.expire(school, st, now, out)
		}
		if st.rules != nil {
			st.rules.Prune(forget)
		}
		if st.lastEvent.Before(forget) {
			st.recent.forget()
		}
		for k, at := range st.resolved {
			if at.Before(forget) {
				delete(st.resolved, k)
			}
		}
		if len(st.risks) == 0 && st.recent.len() == 0 && emptyState(st.rules) && len(st.resolved) == 0 && st.level == LevelGreen && st.since.Before(forget) {
			if !st.since.IsZero() {
				e.version.Add(1) // its since is no longer shown
			}
			delete(e.schools, id)
		}
	}
}

// expire ends the school's risks whose time ran out by now, in time order,
// re-levelling after each, so that every colour change has the risk that
// caused it and the time it happened.
func (e *Engine) expire(school *School, st *schoolState, now time.Time, out *Output) {
	expired := e.riskBuf[:0]
	var next time.Time
	later := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	// Risks that are overdue rise first, in time order, then expiries.
	var overdue []*Risk
	for _, r := range st.risks {
		if r.OverdueAt.IsZero() || r.Overdue {
			continue
		}
		if !r.OverdueAt.After(now) && (r.Until.IsZero() || r.OverdueAt.Before(r.Until)) {
			overdue = append(overdue, r)
		} else if r.OverdueAt.After(now) {
			later(r.OverdueAt)
		}
	}
	slices.SortFunc(overdue, func(a, b *Risk) int {
		if c := a.OverdueAt.Compare(b.OverdueAt); c != 0 {
			return c
		}
		return strings.Compare(a.ref(), b.ref())
	})
	for _, r := range overdue {
		r.Overdue = true
		if r.OverdueLevel.rank() > r.Severity.rank() {
			r.Severity = r.OverdueLevel
		}
		out.Transitions = append(out.Transitions, RiskTransition{
			SchoolID: school.ID, At: r.OverdueAt, State: RiskOverdue, Risk: out.snapshot(r),
		})
		e.relevel(school, st, r.OverdueAt, r, "", RiskOverdue, out)
	}
	for _, r := range st.risks {
		switch {
		case r.Until.IsZero():
		case !r.Until.After(now):
			expired = append(expired, r)
		default:
			later(r.Until)
		}
	}
	st.nextExpiry = next
	slices.SortFunc(expired, func(a, b *Risk) int {
		if c := a.Until.Compare(b.Until); c != 0 {
			return c
		}
		if c := strings.Compare(a.Rule, b.Rule); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	// relevel reuses riskBuf: expire from a copy.
	e.expired = append(e.expired[:0], expired...)
	for _, r := range e.expired {
		delete(st.risks, riskKey{r.Rule, r.Key})
		out.Transitions = append(out.Transitions, RiskTransition{
			SchoolID: school.ID, At: r.Until, State: RiskExpired, Risk: out.snapshot(r),
		})
		e.relevel(school, st, r.Until, r, "", RiskExpired, out)
		e.recycle(r)
	}
	clear(e.expired)
	clear(e.riskBuf[:cap(e.riskBuf)])
}

// relevel recomputes the school's colour from its active risks and the
// level policy, and records a change, caused by r, if there is one.
func (e *Engine) relevel(school *School, st *schoolState, at time.Time, r *Risk, eventID string, how RiskState, out *Output) {
	level := LevelGreen
	for _, x := range st.risks {
		level = maxLevel(level, LevelFor(x.Severity))
	}
	var policyReason, policyRule string
	// The policy can only raise the colour: at red there is nothing to ask.
	if len(st.risks) > 0 && level != LevelRed {
		e.riskBuf = e.riskBuf[:0]
		for _, x := range st.risks {
			e.riskBuf = append(e.riskBuf, x)
		}
		if pl, rule, reason := e.rules().Escalate(school, e.riskBuf); pl.Rank() > level.Rank() {
			level, policyReason, policyRule = pl, reason, rule
		}
		clear(e.riskBuf)
	}
	if level == st.level {
		return
	}
	cause := Cause{How: how, Rule: r.Rule, Key: r.Key, Title: r.Title, Severity: r.Severity,
		PolicyRule: policyRule, PolicyReason: policyReason}
	c := LevelChange{
		SchoolID: school.ID, At: at, From: st.level, To: level,
		EventID: eventID, Cause: cause, ActiveRisks: len(st.risks),
	}
	e.seq++
	c.Seq = e.seq
	st.level, st.since, st.cause = level, at, cause
	out.Changes = append(out.Changes, c)
}

func maxLevel(a, b Level) Level {
	if b.Rank() > a.Rank() {
		return b
	}
	return a
}

func (r *Risk) clone() Risk {
	c := *r
	c.Evidence = slices.Clone(r.Evidence)
	c.Alarms = slices.Clone(r.Alarms)
	return c
}

// SchoolView is a school as the map shows it.
type SchoolView struct {
	School *School
	Level  Level
	// Since is when the colour last changed; zero if it never changed
	// within the horizon.
	Since time.Time
	// Cause is what made the last colour change.
	Cause Cause
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

// Level returns the school's colour now (green for a school without
// state), without copying its risks as View does.
func (e *Engine) Level(id string) Level {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if st := e.schools[id]; st != nil {
		return st.level
	}
	return LevelGreen
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

// Sizes is what the engine holds in memory, counted.
type Sizes struct {
	// Schools is the number of schools the engine keeps state for.
	Schools int
	// RecentIDs is the number of event ids remembered to recognise a
	// producer's copies: at most RecentIDs per school.
	RecentIDs int
	// Risks is the number of active risks.
	Risks int
	// RuleEntries is the number of entries the rules keep (RuleState.Len).
	RuleEntries int
	// Resolutions is the number of people's resolutions remembered, so
	// that an earlier event does not open a resolved risk again.
	Resolutions int
}

// Sizes counts what the engine holds, under its read lock: a pass over the
// schools with state.
func (e *Engine) Sizes() Sizes {
	e.mu.RLock()
	defer e.mu.RUnlock()
	z := Sizes{Schools: len(e.schools)}
	for _, st := range e.schools {
		z.RecentIDs += st.recent.len()
		z.Risks += len(st.risks)
		z.Resolutions += len(st.resolved)
		if st.rules != nil {
			z.RuleEntries += st.rules.Len()
		}
	}
	return z
}

// Horizon returns how far back the current rule set depends on events.
func (e *Engine) Horizon() time.Duration { return e.rules().Horizon() }

// DropRisks ends, at time at, every active risk whose rule keep rejects —
// used when a reload removes rules, so that their risks do not linger. The
// risks of rules that stay are untouched.
func (e *Engine) DropRisks(keep func(rule string) bool, at time.Time, out *Output) {
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.noteChanges(out, out.Len())
	reg := e.registry()
	for id, st := range e.schools {
		var gone []*Risk
		for _, r := range st.risks {
			if !keep(r.Rule) {
				gone = append(gone, r)
			}
		}
		sort.Slice(gone, func(i, j int) bool { return gone[i].ref() < gone[j].ref() })
		school := reg.School(id)
		if school == nil {
			school = &School{ID: id}
		}
		for _, r := range gone {
			delete(st.risks, riskKey{r.Rule, r.Key})
			out.Transitions = append(out.Transitions, RiskTransition{
				SchoolID: id, At: at, State: RiskRemoved, Risk: out.snapshot(r),
			})
			e.relevel(school, st, at, r, "", RiskRemoved, out)
		}
	}
}

// ErrNoSuchRisk is returned by Resolve when the school has no active risk of
// that rule and key.
var ErrNoSuchRisk = errors.New("no such active risk")

// ErrHeldElsewhere is returned for a person's act on a school whose state
// another instance of the consumer group holds: the act is made through that
// instance.
var ErrHeldElsewhere = errors.New("the school's state is held by another instance of the group")

// Resolve ends a school's active risk as a person's act, at time at, with
// who did it and why, and appends the transition and any colour change to
// out. Any risk may be resolved this way; for a rule that keeps its risks
// until a person resolves them it is the only way.
func (e *Engine) Resolve(schoolID, rule, key, actor, comment string, at time.Time, out *Output) error {
	school := e.registry().School(schoolID)
	if school == nil {
		return fmt.Errorf("school %q is not in the registry", schoolID)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.noteChanges(out, out.Len())
	st := e.schools[schoolID]
	if st == nil {
		return ErrNoSuchRisk
	}
	r, ok := st.risks[riskKey{rule, key}]
	if !ok {
		return ErrNoSuchRisk
	}
	st.noteResolved(riskKey{rule, key}, at)
	delete(st.risks, riskKey{rule, key})
	out.Transitions = append(out.Transitions, RiskTransition{
		SchoolID: schoolID, At: at, State: RiskResolved, Risk: out.snapshot(r), Actor: actor, Comment: comment,
	})
	e.relevel(school, st, at, r, "", RiskResolved, out)
	return nil
}

// RestoreResolution replays a stored resolution: the risk ends if it is
// active, and events from before at will not open it again. Nothing is
// recorded: the resolution is already in the history.
func (e *Engine) RestoreResolution(schoolID, rule, key string, at time.Time) {
	school := e.registry().School(schoolID)
	if school == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.version.Add(1) // nothing is recorded, but the state may change
	st := e.state(schoolID)
	st.noteResolved(riskKey{rule, key}, at)
	if r, ok := st.risks[riskKey{rule, key}]; ok {
		delete(st.risks, riskKey{rule, key})
		var discard Output
		e.relevel(school, st, at, r, "", RiskResolved, &discard)
	}
}

func (st *schoolState) noteResolved(k riskKey, at time.Time) {
	if st.resolved == nil {
		st.resolved = map[riskKey]time.Time{}
	}
	if at.After(st.resolved[k]) {
		st.resolved[k] = at
	}
}
