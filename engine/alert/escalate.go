package alert

import (
	"time"

	"github.com/sanse-campus/sanse/engine"
)

// Repeats and escalation: a firing alert that nobody acknowledged is sent
// again to its current step every repeat interval of its route, and goes
// one step up the organisation (to the next step with a contact) once the
// escalation delay of its colour has passed since it reached its step.
// Escalation wins over a repeat due at the same tick.

// escalationDelay returns how long an alert of level waits at a step.
func escalationDelay(e Escalation, l engine.Level) time.Duration {
	if l == engine.LevelRed {
		return e.Red
	}
	return e.Yellow
}

// stepUp is an alert to escalate and the step it goes to.
type stepUp struct {
	alert *Alert
	step  int
}

// notices is what dueNotices needs to know beyond the alerts themselves.
type notices struct {
	escalation Escalation
	// repeatInterval is the repeat interval of a's route.
	repeatInterval func(a *Alert) time.Duration
	// nextStep is the step a goes to next, or -1 when nobody is above.
	nextStep func(a *Alert) int
	// inhibited reports whether a is not sent on its own.
	inhibited func(a *Alert) bool
}

// dueNotices returns, of one school's active alerts, those to escalate and
// those to repeat at now. Only firing alerts whose first message went out
// count; acknowledged and inhibited ones are left alone.
func dueNotices(alerts []*Alert, now time.Time, n notices) (escalate []stepUp, repeat []*Alert) {
	for _, a := range alerts {
		// The times first: most alerts, most ticks, have nothing due.
		escalateDue := !now.Before(a.StepAt.Add(escalationDelay(n.escalation, a.Level)))
		repeatDue := !now.Before(a.NotifiedAt.Add(n.repeatInterval(a)))
		if a.Status != StatusFiring || a.NotifiedAt.IsZero() || !escalateDue && !repeatDue || n.inhibited(a) {
			continue
		}
		if escalateDue {
			if step := n.nextStep(a); step >= 0 {
				escalate = append(escalate, stepUp{alert: a, step: step})
				continue
			}
		}
		if repeatDue {
			repeat = append(repeat, a)
		}
	}
	return escalate, repeat
}

// byStep groups alerts by their current step: a repeat goes to the
// receivers of the step each alert is at.
func byStep(alerts []*Alert) map[int][]*Alert {
	m := map[int][]*Alert{}
	for _, a := range alerts {
		m[a.Step] = append(m[a.Step], a)
	}
	return m
}
