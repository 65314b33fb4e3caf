package alert

import (
	"slices"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/notify"
)

// Routing: who gets an alert's messages at each step up the organisation.
// The routing tree (Route) picks the receivers of the school step and the
// timing of the alert's messages; the contacts (Contacts) name the town,
// district and city steps. Everything here is a function of the alert and
// the configuration.

// routed is where the routing tree sends an alert.
type routed struct {
	level     engine.Level // the alert's level it was worked out for
	receivers []string     // of the school step, SchoolContact unresolved
	node      Route        // the settings: group wait, repeat, send resolved
}

// labels are an alert's values for route matching.
func labels(a *Alert, school *engine.School) map[string]string {
	l := map[string]string{
		"district": a.District, "town": a.Town, "school": a.SchoolID,
		"source": string(a.Source), "level": string(a.Level),
	}
	if school != nil {
		l["stage"] = string(school.Stage)
	}
	return l
}

// routeFor returns the receivers and the route settings for an alert: the
// deepest matching routes' receivers, their settings inherited from above.
func (r *Route) routeFor(l map[string]string) (receivers []string, node Route) {
	var walk func(n *Route, inherited Route) bool
	walk = func(n *Route, inherited Route) bool {
		for k, v := range n.Match {
			if l[k] != v {
				return false
			}
		}
		eff := *n
		if eff.GroupWait <= 0 {
			eff.GroupWait = inherited.GroupWait
		}
		if eff.RepeatInterval <= 0 {
			eff.RepeatInterval = inherited.RepeatInterval
		}
		if eff.SendResolved == nil {
			eff.SendResolved = inherited.SendResolved
		}
		if len(eff.Receivers) == 0 {
			eff.Receivers = inherited.Receivers
		}
		matched := false
		for i := range n.Routes {
			if walk(&n.Routes[i], eff) {
				matched = true
				if !n.Routes[i].Continue {
					break
				}
			}
		}
		if !matched {
			for _, name := range eff.Receivers {
				if !slices.Contains(receivers, name) {
					receivers = append(receivers, name)
				}
			}
			if node.GroupWait == 0 {
				node = eff
			}
		}
		return true
	}
	walk(r, *r)
	return receivers, node
}

// receiversAt returns the receiver names of step for a, given the
// receivers its route names for the school step (SchoolContact standing
// for the school's own contact): each name once, in order.
func receiversAt(c *Contacts, a *Alert, step int, routeReceivers []string) []string {
	var names []string
	add := func(name string) {
		if name != "" && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	switch step {
	case notify.StepSchool:
		for _, name := range routeReceivers {
			if name == SchoolContact {
				name = c.Schools[a.SchoolID]
			}
			add(name)
		}
	case notify.StepTown:
		add(c.Towns[a.District+"/"+a.Town])
	case notify.StepDistrict:
		add(c.Districts[a.District])
	case notify.StepCity:
		add(c.City)
	}
	return names
}

// receiversUpTo returns everyone told of a so far: the receivers of every
// step up to its own, each once.
func receiversUpTo(a *Alert, receivers func(step int) []string) []string {
	var names []string
	for s := notify.StepSchool; s <= a.Step; s++ {
		for _, n := range receivers(s) {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	return names
}

// nextStep returns the next step above a's, up to maxStep, with someone to
// tell, or -1.
func nextStep(a *Alert, maxStep int, receivers func(step int) []string) int {
	for s := a.Step + 1; s <= maxStep; s++ {
		if len(receivers(s)) > 0 {
			return s
		}
	}
	return -1
}
