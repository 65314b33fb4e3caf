package engine

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"
)

// The closed loop of machine detections (待核实): a rule may open its risk
// pending a human check, at a lower level; the check — a disposition event
// from the vendor platform naming the alarm, or a person on the page —
// confirms it (it takes its full level), finds it a false alarm (误报: it ends
// and is counted), or says it was handled (it ends).

// dispose applies a disposition event to the school's risks that hold its
// alarm. A disposition naming no active risk changes nothing: the alarm may
// have ended already, or never have opened a risk.
func (e *Engine) dispose(school *School, st *schoolState, ev *Event, out *Output) {
	if ev.AlarmID == "" {
		return
	}
	var hit []*Risk
	for _, r := range st.risks {
		if slices.Contains(r.Alarms, ev.AlarmID) {
			hit = append(hit, r)
		}
	}
	sort.Slice(hit, func(i, j int) bool { return hit[i].ref() < hit[j].ref() })
	actor := ev.Reporter
	if actor == "" {
		actor = string(ev.Source)
	}
	for _, r := range hit {
		e.disposeRisk(school, st, r, ev.Disposition, actor, "", ev.OccurredAt, ev.ID, out)
	}
}

// disposeRisk applies disposition d to r at time at.
func (e *Engine) disposeRisk(school *School, st *schoolState, r *Risk, d Disposition, actor, comment string, at time.Time, eventID string, out *Output) {
	ref := riskKey{r.Rule, r.Key}
	switch d {
	case DispositionConfirmed:
		if !r.Pending {
			return
		}
		r.Pending = false
		if r.Full.rank() > r.Severity.rank() {
			r.Severity = r.Full
		}
		out.Transitions = append(out.Transitions, RiskTransition{
			SchoolID: school.ID, At: at, State: RiskConfirmed, EventID: eventID, Risk: out.snapshot(r), Actor: actor, Comment: comment,
		})
		e.relevel(school, st, at, r, eventID, RiskConfirmed, out)
	case DispositionFalseAlarm, DispositionHandled:
		state := RiskFalseAlarm
		if d == DispositionHandled {
			state = RiskResolved
		}
		st.noteResolved(ref, at)
		delete(st.risks, ref)
		out.Transitions = append(out.Transitions, RiskTransition{
			SchoolID: school.ID, At: at, State: state, EventID: eventID, Risk: out.snapshot(r), Actor: actor, Comment: comment,
		})
		e.relevel(school, st, at, r, eventID, state, out)
		e.recycle(r)
	}
}

// Dispose applies a person's check of a school's active risk: confirmed (a
// pending risk takes its full level), false_alarm or handled (the risk ends,
// and events from before at do not open it again). It returns ErrNoSuchRisk
// when the risk is not active, and an error when confirming a risk that is
// not pending.
func (e *Engine) Dispose(schoolID, rule, key string, d Disposition, actor, comment string, at time.Time, out *Output) error {
	if !slices.Contains(Dispositions, d) {
		return fmt.Errorf("unknown disposition %q, expected confirmed, false_alarm or handled", d)
	}
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
	if d == DispositionConfirmed && !r.Pending {
		return ErrNotPending
	}
	e.disposeRisk(school, st, r, d, actor, comment, at, "", out)
	return nil
}

// ErrNotPending is returned by Dispose when confirming a risk that is not
// pending a human check.
var ErrNotPending = errors.New("the risk is not pending a check")

// RestoreConfirmation replays a person's stored confirmation: the risk, if
// it is active and pending, takes its full level. Nothing is recorded.
func (e *Engine) RestoreConfirmation(schoolID, rule, key string, at time.Time) {
	school := e.registry().School(schoolID)
	if school == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.version.Add(1) // nothing is recorded, but the state may change
	st := e.schools[schoolID]
	if st == nil {
		return
	}
	if r, ok := st.risks[riskKey{rule, key}]; ok && r.Pending {
		var discard Output
		e.disposeRisk(school, st, r, DispositionConfirmed, "", "", at, "", &discard)
	}
}
