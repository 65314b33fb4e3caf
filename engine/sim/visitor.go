package sim

import (
	"fmt"
	"slices"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

// visitorEntry is the JSON of visitor entry and denied events.
type visitorEntry struct {
	envelope
	VisitorID       string `json:"visitor_id"`
	Name            string `json:"name"`
	IDVerified      bool   `json:"id_verified"`
	Watchlist       string `json:"watchlist"`
	Appointment     bool   `json:"appointment"`
	Host            string `json:"host,omitempty"`
	Gate            string `json:"gate"`
	DuringClass     bool   `json:"during_class"`
	ProhibitedItems bool   `json:"prohibited_items"`
}

// visitorExit is the JSON of a visitor leaving.
type visitorExit struct {
	envelope
	VisitorID string `json:"visitor_id"`
	Name      string `json:"name"`
	Gate      string `json:"gate"`
}

// maxInside bounds the visitors a school remembers as on the premises; the
// oldest are taken to have left unrecorded.
const maxInside = 40

// Incident probabilities per event at IncidentRate 1.
const (
	pVisitorIncident = 0.0004
	pDenied          = 0.03
	pDeniedBurst     = 0.004 // of denials, the first of a group
)

// visitor makes a gate event: an entry, the exit of someone inside, or now
// and then a denied entry.
func (s *Simulator) visitor(sc *school, now time.Time, m moment) message {
	r := s.r
	gi := r.intn(len(sc.gates))
	reporter := fmt.Sprintf("gate-%d", gi+1)
	if len(sc.inside) > 0 && r.chance(0.45) {
		i := r.intn(len(sc.inside))
		p := sc.inside[i]
		sc.inside = slices.Delete(sc.inside, i, i+1)
		return message{school: sc, source: engine.SourceVisitor, typ: "exit", body: visitorExit{
			envelope:  s.envelope(sc, engine.SourceVisitor, "exit", now, reporter),
			VisitorID: p.id, Name: p.name, Gate: sc.gates[gi],
		}}
	}
	p := newPerson(r, sc.county)
	ev := visitorEntry{
		VisitorID: p.id, Name: p.name, IDVerified: true, Watchlist: "none",
		Appointment: r.chance(0.8), Host: pick(r, sc.teachers), Gate: sc.gates[gi], DuringClass: m.classTime,
	}
	if r.chance(pDenied) {
		// Turned away at the gate: no identity card, no appointment, or a
		// name on a list. The system worked; no incident.
		ev.Appointment = false
		switch r.intn(10) {
		case 0:
			ev.Watchlist = "blacklist"
		case 1:
			ev.Watchlist = "watch"
		default:
			ev.IDVerified = false
		}
		ev.envelope = s.envelope(sc, engine.SourceVisitor, "denied", now, reporter)
		incident := s.incident(pDeniedBurst)
		if incident {
			// A group trying to get in: more people turned away within the hour.
			at := now
			for range r.between(4, 6) {
				at = s.after(at, 2*time.Minute, 9*time.Minute)
				s.later(at, func(now time.Time, _ moment) message {
					q := newPerson(s.r, sc.county)
					e := visitorEntry{VisitorID: q.id, Name: q.name, IDVerified: false, Watchlist: "none", Gate: sc.gates[gi], DuringClass: momentAt(now).classTime}
					e.envelope = s.envelope(sc, engine.SourceVisitor, "denied", now, reporter)
					return message{school: sc, source: engine.SourceVisitor, typ: "denied", body: e, incident: true}
				})
			}
		}
		return message{school: sc, source: engine.SourceVisitor, typ: "denied", body: ev, incident: incident}
	}
	incident := s.incident(pVisitorIncident)
	switch {
	case incident:
		kinds := []float64{20, 5, 30, 20, 25} // blacklist, wanted, watch, prohibited items, unverified
		// Unverified while pupils are in: in class, at after-school care
		// (16:30–18:30 on school days) or, where pupils board, at night.
		afterClass := (m.schoolDay && m.between(16.5, 18.5)) || (sc.Boarding && (m.hour >= 18 || m.hour < 7))
		if !m.classTime && !afterClass {
			kinds[4] = 0
		}
		switch r.weighted(kinds) {
		case 0:
			ev.Watchlist = "blacklist"
		case 1:
			ev.Watchlist = "wanted"
		case 2:
			ev.Watchlist = "watch"
		case 3:
			ev.ProhibitedItems = true
		case 4:
			ev.IDVerified, ev.Appointment = false, false
		}
	case m.schoolDay && m.hour < 7.5 && !sc.Boarding && r.chance(0.04):
		// At arrival a parent without a card is let in after a call.
		ev.IDVerified = false
	}
	ev.envelope = s.envelope(sc, engine.SourceVisitor, "entry", now, reporter)
	if len(sc.inside) >= maxInside {
		sc.inside = slices.Delete(sc.inside, 0, 1)
	}
	sc.inside = append(sc.inside, p)
	return message{school: sc, source: engine.SourceVisitor, typ: "entry", body: ev, incident: incident}
}
