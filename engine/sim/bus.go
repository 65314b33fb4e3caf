package sim

import (
	"fmt"
	"time"
)

type busEvent struct {
	envelope
	BusID  string `json:"bus_id"`
	TripID string `json:"trip_id,omitempty"`
}

type busPosition struct {
	busEvent
	SpeedKMH  float64 `json:"speed_kmh"`
	Road      string  `json:"road"`
	OffRouteM float64 `json:"off_route_m"`
	Empty     bool    `json:"empty"`
}

type busHeadcount struct {
	busEvent
	Stage         string `json:"stage"`
	Boarded       int    `json:"boarded"`
	Alighted      int    `json:"alighted"`
	EscortPresent bool   `json:"escort_present"`
}

type busDriver struct {
	busEvent
	Qualified bool `json:"qualified"`
}

// Incident probabilities per trip at IncidentRate 1, before the scaling by
// rate (see Options.IncidentRate): a bus is on the road twice a school
// day, so these are per trip, not per event.
const (
	pBusSpeeding    = 0.005
	pBusOffRoute    = 0.004
	pBusNoEscort    = 0.004
	pChildLeftOnBus = 0.003
)

// tripIncident is incident for the events of the agenda, which do not grow
// with the rate: p is per occasion, not per event.
func (s *Simulator) tripIncident(p float64) bool {
	return s.incident(p * s.rate / (CalibratedRate * float64(len(s.schools))))
}

// trip schedules one trip of bus b from start: the driver, the boarding
// headcount, positions every few minutes for half an hour to an hour, the
// headcount at the end, and the empty bus's positions on its way back.
// Pupils are counted, never named.
func (s *Simulator) trip(sc *school, b int, start time.Time, half string) {
	r := s.r
	bus := fmt.Sprintf("BUS-%s-%d", sc.ID, b+1)
	trip := fmt.Sprintf("%s-%s-%d", date(start, 0), half, b+1)
	base := busEvent{BusID: bus, TripID: trip}
	boarded := r.between(18, 45)
	escort := !s.tripIncident(pBusNoEscort)
	speeding, offRoute := s.tripIncident(pBusSpeeding), s.tripIncident(pBusOffRoute)
	left := s.tripIncident(pChildLeftOnBus)
	road := "other"
	if r.chance(0.1) {
		road = "expressway"
	}
	s.later(start, func(now time.Time, _ moment) message {
		ev := busDriver{busEvent: base, Qualified: true}
		ev.envelope = s.envelope(sc, srcSchoolBus, "driver", now, "bus-platform")
		return message{school: sc, source: srcSchoolBus, typ: "driver", body: ev}
	})
	at := start.Add(time.Minute)
	s.later(at, func(now time.Time, _ moment) message {
		ev := busHeadcount{busEvent: base, Stage: "boarding", Boarded: boarded, EscortPresent: escort}
		ev.envelope = s.envelope(sc, srcSchoolBus, "headcount", now, "escort-app")
		return message{school: sc, source: srcSchoolBus, typ: "headcount", body: ev, incident: !escort}
	})
	n := r.between(5, 10)
	bad := r.between(1, n-2) // where an episode of speeding or leaving the route starts
	for i := range n {
		at = s.after(at, 3*time.Minute, 6*time.Minute)
		fast := speeding && (i == bad || i == bad+1)
		off := offRoute && (i == bad || i == bad+1)
		s.later(at, func(now time.Time, _ moment) message { return s.position(sc, base, now, road, fast, off, false) })
	}
	at = s.after(at, 2*time.Minute, 5*time.Minute)
	s.later(at, func(now time.Time, _ moment) message {
		ev := busHeadcount{busEvent: base, Stage: "trip_end", Boarded: boarded, Alighted: boarded, EscortPresent: escort}
		if left {
			ev.Alighted--
		}
		ev.envelope = s.envelope(sc, srcSchoolBus, "headcount", now, "escort-app")
		return message{school: sc, source: srcSchoolBus, typ: "headcount", body: ev, incident: left || !escort}
	})
	for range r.between(1, 3) {
		at = s.after(at, 4*time.Minute, 8*time.Minute)
		s.later(at, func(now time.Time, _ moment) message { return s.position(sc, base, now, "other", false, false, true) })
	}
}

func (s *Simulator) position(sc *school, base busEvent, now time.Time, road string, fast, off, empty bool) message {
	r := s.r
	limit := 60.0
	if road == "expressway" {
		limit = 80
	}
	ev := busPosition{busEvent: base, Road: road, Empty: empty,
		SpeedKMH: round(clamp(r.norm(limit*0.6, limit*0.15), 0, limit-2), 0)}
	if r.chance(0.1) {
		ev.SpeedKMH = 0 // at a stop or a light
	}
	if empty {
		ev.TripID = ""
	}
	if r.chance(0.2) {
		ev.OffRouteM = round(r.uniform(5, 120), 0) // GPS drift
	}
	if fast {
		ev.SpeedKMH = round(limit+r.uniform(4, 18), 0)
	}
	if off {
		ev.OffRouteM = round(r.uniform(600, 2500), 0)
	}
	ev.envelope = s.envelope(sc, srcSchoolBus, "position", now, "bus-gps")
	return message{school: sc, source: srcSchoolBus, typ: "position", body: ev, incident: fast || off}
}
