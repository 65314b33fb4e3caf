package sim

import (
	"sort"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

// stream is one kind of report and how often schools send it: each school
// has a static weight (how many gates, devices, water bodies …), and the
// stream's rate scales all of them by the local time of day and season.
// Weights are events per school per hour at rate 1, compressed so that rare
// kinds show up within minutes of a demo; only their proportions matter,
// since Options.Rate sets the overall pace.
type stream struct {
	name   string
	source engine.Source
	rate   func(m moment) float64
	gen    func(sc *school, now time.Time, m moment) message

	schools []*school
	cum     []float64 // cumulative weights of schools
	total   float64
}

// newStream builds a stream over the schools with a positive weight.
func (s *Simulator) newStream(name string, src engine.Source, weight func(*school) float64,
	rate func(moment) float64, gen func(*school, time.Time, moment) message) *stream {
	st := &stream{name: name, source: src, rate: rate, gen: gen}
	for _, sc := range s.schools {
		if w := weight(sc); w > 0 {
			st.total += w
			st.schools = append(st.schools, sc)
			st.cum = append(st.cum, st.total)
		}
	}
	return st
}

// pickSchool chooses a school of the stream in proportion to its weight.
func (st *stream) pickSchool(r *rng) *school {
	x := r.float() * st.total
	i := sort.SearchFloat64s(st.cum, x)
	if i < len(st.cum) && st.cum[i] == x {
		i++
	}
	return st.schools[min(i, len(st.schools)-1)]
}

// pickStream chooses the stream of the next event by the streams' current
// rates. Weather reports never stop, so some stream always has a rate.
func (s *Simulator) pickStream(m moment) *stream {
	var total float64
	for i, st := range s.streams {
		s.weights[i] = 0
		if st.total > 0 {
			s.weights[i] = st.total * st.rate(m)
		}
		total += s.weights[i]
	}
	if total <= 0 {
		return s.weatherStream()
	}
	return s.streams[s.r.weighted(s.weights)]
}

func (s *Simulator) weatherStream() *stream {
	for _, st := range s.streams {
		if st.name == "weather" {
			return st
		}
	}
	panic("sim: no weather stream")
}

// always is the rate of streams that do not follow the clock.
func always(moment) float64 { return 1 }

// window returns a rate of 1 on school days between from and to, else 0.
func window(from, to float64) func(moment) float64 {
	return func(m moment) float64 {
		if m.schoolDay && m.between(from, to) {
			return 1
		}
		return 0
	}
}

func hasCanteen(sc *school) bool { return sc.Canteen }

// newStreams lists every stream. The order is fixed: it is part of what a
// seed reproduces.
func (s *Simulator) newStreams() []*stream {
	canteen := func(w float64) func(*school) float64 {
		return func(sc *school) float64 {
			if hasCanteen(sc) {
				return w
			}
			return 0
		}
	}
	// Kindergartens hold no screenings; reports about small children are rarer.
	pupils := func(w, kindergarten float64) func(*school) float64 {
		return func(sc *school) float64 {
			if sc.Stage == engine.StageKindergarten {
				return kindergarten
			}
			return w
		}
	}
	return []*stream{
		// 外来人员: the gates, busiest at 07:30 and 16:30 on school days.
		s.newStream("visitor", engine.SourceVisitor, func(sc *school) float64 {
			switch sc.Stage {
			case engine.StageKindergarten:
				return 4
			case engine.StagePrimary, engine.StageJunior:
				return 5
			case engine.StageSenior:
				return 6
			}
			return 7
		}, visitorRate, s.visitor),

		// 晨检: every member of the canteen staff, 06:30–08:00.
		s.newStream("health_check", engine.SourceCanteen, func(sc *school) float64 {
			return float64(sc.staff) / 1.5
		}, window(6.5, 8), s.healthCheck),
		// 留样: every dish after lunch, and after breakfast and dinner where pupils board.
		s.newStream("sample.lunch", engine.SourceCanteen, canteen(5), window(12, 13), s.sample),
		s.newStream("sample.boarding", engine.SourceCanteen, func(sc *school) float64 {
			if sc.Boarding && sc.Canteen {
				return 4
			}
			return 0
		}, func(m moment) float64 {
			if m.schoolDay && (m.between(7.5, 8.5) || m.between(18, 19)) {
				return 1
			}
			return 0
		}, s.sample),
		// Cold storage: every device, day and night.
		s.newStream("storage_temp", engine.SourceCanteen, func(sc *school) float64 {
			return float64(len(sc.devices))
		}, always, s.storageTemp),
		// 明厨亮灶 AI cameras: while the kitchen works.
		s.newStream("ai_violation", engine.SourceCanteen, canteen(0.05), func(m moment) float64 {
			if m.schoolDay && m.between(6, 19) {
				return 1
			}
			return 0.1
		}, s.aiViolation),
		// 农残快检: each item of the morning delivery.
		s.newStream("pesticide_test", engine.SourceCanteen, canteen(4), window(5.5, 9), s.pesticideTest),
		// 索证索票: now and then, in office hours.
		s.newStream("supplier_cert", engine.SourceCanteen, canteen(0.06), func(m moment) float64 {
			if m.between(8, 17) {
				return 1
			}
			return 0.05
		}, s.supplierCert),

		// 防溺水: patrols by day, more in summer; gauges and weather always.
		s.newStream("patrol", engine.SourceDrowning, func(sc *school) float64 {
			return 0.6 * float64(len(sc.waters))
		}, func(m moment) float64 {
			switch {
			case !m.between(7, 19):
				return 0
			case m.vacation || m.flood:
				return 2
			}
			return 1
		}, s.patrol),
		s.newStream("water_level", engine.SourceDrowning, func(sc *school) float64 {
			return float64(len(sc.waters))
		}, always, s.waterLevel),
		s.newStream("weather", engine.SourceDrowning, func(*school) float64 { return 1 }, always, s.weather),
		s.newStream("fence_intrusion", engine.SourceDrowning, func(sc *school) float64 {
			return 0.0008 * s.incidents * float64(len(sc.waters))
		}, fenceRate, s.fenceIntrusion),

		// 校园欺凌: screening campaigns in school hours, and rare reports.
		s.newStream("screening", engine.SourceBullying, pupils(0.015, 0), window(8.5, 16), s.screeningBatch),
		s.newStream("report", engine.SourceBullying, pupils(0.00015*s.incidents, 0.000015*s.incidents), func(m moment) float64 {
			switch {
			case m.vacation:
				return 0.4
			case m.between(8, 22):
				return 1
			}
			return 0.25
		}, s.bullyingReport),

		// The platforms only some schools are connected to (registry
		// connected); their daily routine is in the agenda.
		// 消防: the fire alarm system's reports of its facilities, and rare alarms.
		s.newStream("fire_safety", srcFireSafety, onPlatform("fire_safety", 0.0004*s.incidents), always, s.fireSafety),
		// 门卫安保: alarms at the gate, most while pupils come and go.
		s.newStream("gate_alarm", srcGateSecurity, onPlatform("gate_security", 0.0012*s.incidents), func(m moment) float64 {
			switch {
			case m.schoolDay && (m.between(6.5, 8) || m.between(15, 18)):
				return 3
			case m.between(22, 24) || m.between(0, 5):
				return 0.6
			}
			return 0.5
		}, s.gateSecurity),
		// 心理: screening campaigns in school hours, and very rare crisis reports.
		s.newStream("mental_screening", srcMentalHealth, onPlatform("mental_health", 0.01), window(8.5, 16), s.mentalScreening),
		s.newStream("crisis_report", srcMentalHealth, onPlatform("mental_health", 0.00006*s.incidents), func(m moment) float64 {
			if m.between(8, 22) {
				return 1
			}
			return 0.3
		}, s.crisisReport),
		// 卫生: the school doctor's records in school hours.
		s.newStream("symptom_report", srcHealth, onPlatform("health", 0.02), window(8, 16.5), s.symptomReport),
		// 健康证明: a worker's yearly certificate now and then, in office hours.
		s.newStream("health_cert", engine.SourceCanteen, canteen(0.01), func(m moment) float64 {
			if m.between(8, 17) {
				return 1
			}
			return 0
		}, s.healthCert),
	}
}

// onPlatform returns the weight w for the schools whose registry entry
// lists platform in Connected, else 0.
func onPlatform(platform string, w float64) func(*school) float64 {
	return func(sc *school) float64 {
		if sc.has(platform) {
			return w
		}
		return 0
	}
}

// visitorRate follows the school gate: peaks at 07:30 and 16:30 on school
// days, steady traffic in between, a trickle at night and on days off.
func visitorRate(m moment) float64 {
	if !m.schoolDay {
		if m.between(8, 17) {
			return 0.08
		}
		return 0.02
	}
	if !m.between(6.5, 19) {
		return 0.03
	}
	r := 0.1 + 1.0*bell(m.hour, 7.5, 0.35) + 0.8*bell(m.hour, 16.5, 0.4)
	if m.between(8.3, 16) {
		r += 0.3
	}
	return r
}

// fenceRate is when people come to the water: after school and at
// weekends, far more in the summer vacation.
func fenceRate(m moment) float64 {
	var r float64
	switch {
	case m.between(16, 20):
		r = 1
	case m.between(12, 16):
		r = 0.6
	case m.between(7, 12):
		r = 0.4
	default:
		r = 0.15
	}
	if m.vacation {
		r *= 3
	}
	if m.weekend() {
		r *= 1.5
	}
	return r
}
