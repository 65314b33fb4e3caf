package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

type fenceIntrusion struct {
	envelope
	WaterBody string `json:"water_body"`
	Persons   int    `json:"persons"`
	Minors    bool   `json:"minors"`
	AlarmID   string `json:"alarm_id"`
}

// The guard or the village's 护河员 goes to the water and sends them away.
var fenceOutcomes = []outcome{
	{state: "handled", share: 80, note: "已到场劝离"},
	{state: "false_alarm", share: 12, note: "核查为误报"},
	{state: "", share: 8},
}

type patrol struct {
	envelope
	WaterBody   string `json:"water_body"`
	HazardFound bool   `json:"hazard_found"`
	Note        string `json:"note,omitempty"`
}

type waterLevel struct {
	envelope
	WaterBody     string  `json:"water_body"`
	LevelM        float64 `json:"level_m"`
	WarningLevelM float64 `json:"warning_level_m"`
}

type weather struct {
	envelope
	RainMM24h float64 `json:"rain_mm_24h"`
	TempC     float64 `json:"temp_c"`
}

// Incident probabilities per event at IncidentRate 1.
const (
	pPatrolHazard = 0.0006
	pWaterHigh    = 0.00006
	pHeavyRain    = 0.00003
	pMinors       = 0.6
)

var (
	patrolNotes = []string{"巡查正常", "警示牌、救生圈完好", "护栏完好，无人员逗留", "巡查正常，已清理岸边杂物"}
	hazardNotes = []string{"护栏破损约3米", "警示牌缺失", "救生圈缺失", "岸边有学生逗留，已劝离", "救生竿损坏", "岸边杂草遮挡警示标志", "亲水平台无防护栏"}
	// Mean temperature of 嘉兴 by month, °C.
	monthlyTemp = [12]float64{4.5, 6.5, 10.5, 16, 21.5, 25, 29, 28.5, 24.5, 19, 13, 7}
	// Chance that a day is wet, and the mean rain of a wet day (mm), by month.
	wetDays  = [12]float64{0.30, 0.35, 0.40, 0.40, 0.40, 0.55, 0.40, 0.40, 0.35, 0.25, 0.25, 0.25}
	wetMeans = [12]float64{6, 7, 9, 10, 12, 16, 14, 15, 12, 8, 7, 6}
)

// patrol makes a 巡查 record of one of the school's water bodies.
func (s *Simulator) patrol(sc *school, now time.Time, m moment) message {
	r := s.r
	w := pick(r, sc.waters)
	if len(sc.waters) > 1 && w == sc.waters[len(sc.waters)-1] && s.lapsed(sc, m, "patrol", 0.05) && m.day%3 != 0 {
		// Some weeks a school patrols its farthest water only every third day.
		w = sc.waters[0]
	}
	incident := s.incident(pPatrolHazard)
	ev := patrol{WaterBody: w.name, HazardFound: incident, Note: pick(r, patrolNotes)}
	if incident {
		ev.Note = pick(r, hazardNotes)
	}
	ev.envelope = s.envelope(sc, engine.SourceDrowning, "patrol", now, fmt.Sprintf("patrol-app-%d", r.between(1, 4)))
	return message{school: sc, source: engine.SourceDrowning, typ: "patrol", body: ev, incident: incident}
}

// waterLevel makes a gauge reading. The level of a water body follows the
// season and a slow daily swing, the same for every school beside it; an
// incident is a rise over the warning level for three readings.
func (s *Simulator) waterLevel(sc *school, now time.Time, m moment) message {
	w := pick(s.r, sc.waters)
	if !s.incident(pWaterHigh) {
		return s.level(sc, w, now, m, false)
	}
	at := now
	for i := range 3 {
		at = s.after(at, time.Minute, 5*time.Minute)
		high := i < 2
		s.later(at, func(now time.Time, m moment) message { return s.level(sc, w, now, m, high) })
	}
	return s.level(sc, w, now, m, true)
}

func (s *Simulator) level(sc *school, w water, now time.Time, m moment, high bool) message {
	below := 0.35 + 0.55*unit(mix(s.seed, hashString(w.name), uint64(m.day)))
	if m.flood {
		below *= 0.6
	}
	lvl := w.warning - below + 0.05*math.Sin(2*math.Pi*m.hour/12.4) + s.r.uniform(-0.01, 0.01)
	lvl = math.Min(lvl, w.warning-0.05)
	if high {
		lvl = w.warning + s.r.uniform(0.02, 0.35)
	}
	ev := waterLevel{WaterBody: w.name, LevelM: round(lvl, 2), WarningLevelM: w.warning}
	ev.envelope = s.envelope(sc, engine.SourceDrowning, "water_level", now, "gauge-"+fmt.Sprint(hashString(w.name)%90+10))
	return message{school: sc, source: engine.SourceDrowning, typ: "water_level", body: ev, incident: high}
}

// weather makes the hourly report of the school's weather station. A
// county shares its day's rain; an incident is a storm of 50 mm or more that
// reaches a few more schools of the county within minutes.
func (s *Simulator) weather(sc *school, now time.Time, m moment) message {
	p := pHeavyRain
	if !m.flood {
		p /= 5 // storms are rare outside the flood season
	}
	if !s.incident(p) {
		return s.weatherReport(sc, now, m, 0)
	}
	rain := s.r.uniform(50, 130)
	neighbours := s.byCounty[sc.county.name]
	at := now
	for range min(s.r.between(2, 5), len(neighbours)-1) {
		at = s.after(at, 10*time.Second, time.Minute)
		n := pick(s.r, neighbours)
		more := rain * s.r.uniform(0.85, 1.1)
		s.later(at, func(now time.Time, m moment) message { return s.weatherReport(n, now, m, math.Max(more, 50)) })
	}
	return s.weatherReport(sc, now, m, rain)
}

func (s *Simulator) weatherReport(sc *school, now time.Time, m moment, storm float64) message {
	r := s.r
	day := mix(s.seed, hashString(sc.county.code), uint64(m.day))
	mi := m.month - 1
	rain := 0.0
	if unit(day) < wetDays[mi] {
		rain = math.Min(-math.Log(1-unit(mix(day, 1)))*wetMeans[mi], 45)
		rain *= r.uniform(0.9, 1.1)
	}
	if storm > 0 {
		rain = storm
	}
	temp := monthlyTemp[mi] + 4*math.Cos(2*math.Pi*(m.hour-14)/24) + 4*(unit(mix(day, 2))-0.5) + r.uniform(-0.3, 0.3)
	ev := weather{RainMM24h: round(rain, 1), TempC: round(temp, 1)}
	ev.envelope = s.envelope(sc, engine.SourceDrowning, "weather", now, "wx-"+sc.county.code)
	return message{school: sc, source: engine.SourceDrowning, typ: "weather", body: ev, incident: storm > 0}
}

// fenceIntrusion makes an 电子围栏 alarm: people at the water, often
// children. Every one is an incident.
func (s *Simulator) fenceIntrusion(sc *school, now time.Time, _ moment) message {
	r := s.r
	i := r.intn(len(sc.waters))
	ev := fenceIntrusion{WaterBody: sc.waters[i].name, Persons: r.between(1, 4), Minors: r.chance(pMinors), AlarmID: s.alarmID(sc)}
	s.dispose(sc, engine.SourceDrowning, ev.AlarmID, now, 5*time.Minute, 40*time.Minute, fenceOutcomes)
	ev.envelope = s.envelope(sc, engine.SourceDrowning, "fence_intrusion", now, fmt.Sprintf("fence-cam-%d", i+1))
	return message{school: sc, source: engine.SourceDrowning, typ: "fence_intrusion", body: ev, incident: true}
}
