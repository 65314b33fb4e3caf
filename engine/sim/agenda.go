package sim

import (
	"time"
)

// agenda schedules what a school does at set times of the day, which
// absence checks expect and streams drawn at random could miss: the
// 护学岗 check-ins and the closing check at the gate, the 陪餐 record, the
// daily fire patrol, the 因病缺课 counts and the school buses' trips. It
// is made once a day, at the first event of the day, for the times still
// ahead; only schools whose registry entry lists the platform take part.
// Now and then a school forgets one, as schools do.
func (s *Simulator) agenda(now time.Time, m moment) {
	midnight := time.Date(m.local.Year(), m.local.Month(), m.local.Day(), 0, 0, 0, 0, m.local.Location())
	at := func(h float64) time.Time { return midnight.Add(time.Duration(h * float64(time.Hour))) }
	// when returns a time between hours lo and hi, or false when it has passed.
	when := func(lo, hi float64) (time.Time, bool) {
		t := at(lo + s.r.float()*(hi-lo))
		return t, t.After(now)
	}
	plan := func(lo, hi float64, emit func(now time.Time, m moment) message) {
		if t, ok := when(lo, hi); ok {
			s.later(t, emit)
		}
	}
	for _, sc := range s.schools {
		// 防火巡查: every day, by the guards, weekends included.
		if sc.has("fire_safety") && !s.lapsed(sc, m, "fire", 0.02) {
			plan(8, 11, func(now time.Time, _ moment) message { return s.inspection(sc, now) })
		}
		if !m.schoolDay {
			continue
		}
		if sc.has("gate_security") {
			if !s.r.chance(0.004) {
				plan(6.75, 7.45, func(now time.Time, _ moment) message { return s.dutyCheckin(sc, now, "arrival") })
			}
			if !s.r.chance(0.004) {
				plan(15.8, 16.45, func(now time.Time, _ moment) message { return s.dutyCheckin(sc, now, "dismissal") })
			}
			lo, hi := 17.5, 19.0
			if sc.Boarding {
				lo, hi = 21.5, 22.5
			}
			plan(lo, hi, func(now time.Time, _ moment) message { return s.closingCheck(sc, now) })
		}
		if sc.Canteen && sc.has("canteen.accompany_meal") {
			if !s.r.chance(0.004) {
				plan(11.4, 12.8, func(now time.Time, _ moment) message { return s.accompanyMeal(sc, now, "lunch") })
			}
			if sc.Boarding {
				plan(17.3, 18.3, func(now time.Time, _ moment) message { return s.accompanyMeal(sc, now, "dinner") })
			}
		}
		if sc.has("health") {
			for range s.r.between(1, 4) {
				plan(8.3, 9.5, func(now time.Time, _ moment) message { return s.sickAbsence(sc, now) })
			}
		}
		if sc.has("school_bus") {
			for b := range sc.buses {
				if t, ok := when(6.5, 7.2); ok {
					s.trip(sc, b, t, "AM")
				}
				if t, ok := when(16.0, 16.8); ok {
					s.trip(sc, b, t, "PM")
				}
			}
		}
	}
}

// lapsed reports whether a school neglects a routine duty (what) this week:
// a share p of schools, a different few each week.
func (s *Simulator) lapsed(sc *school, m moment, what string, p float64) bool {
	week := (m.day + 3) / 7 // weeks starting on Monday
	return unit(mix(s.seed, hashString(sc.ID), hashString(what), uint64(week))) < p
}
