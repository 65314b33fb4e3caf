package sim

import (
	"fmt"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

type aiViolation struct {
	envelope
	Violation string `json:"violation"`
}

type sample struct {
	envelope
	Dish          string  `json:"dish"`
	WeightG       float64 `json:"weight_g"`
	RetainedHours float64 `json:"retained_hours"`
}

type healthCheck struct {
	envelope
	StaffID string `json:"staff_id"`
	Passed  bool   `json:"passed"`
	Symptom string `json:"symptom,omitempty"`
}

type storageTemp struct {
	envelope
	Device  string  `json:"device"`
	Celsius float64 `json:"celsius"`
	Zone    string  `json:"zone"`
}

type pesticideTest struct {
	envelope
	Item   string `json:"item"`
	Passed bool   `json:"passed"`
}

type supplierCert struct {
	envelope
	Supplier  string `json:"supplier"`
	ExpiresOn string `json:"expires_on"`
}

// Incident probabilities per event at IncidentRate 1.
const (
	pHealthFailed    = 0.006
	pSampleShort     = 0.006
	pStorageWarm     = 0.0003
	pAIIncident      = 0.06
	pPesticideFailed = 0.005
	pCertExpiring    = 0.1
)

var (
	breakfastDishes = []string{"白粥", "肉包", "菜包", "水煮蛋", "豆浆", "花卷", "葱油饼", "小馄饨"}
	lunchDishes     = []string{
		"红烧肉", "番茄炒蛋", "清炒青菜", "红烧鸡块", "糖醋排骨", "麻婆豆腐", "酸辣土豆丝", "西兰花炒虾仁",
		"冬瓜排骨汤", "紫菜蛋花汤", "清蒸鲈鱼", "茭白肉丝", "油焖春笋", "梅干菜扣肉", "酱鸭", "蒜蓉菠菜",
		"鱼香肉丝", "青椒肉片", "咖喱鸡块", "虾仁炒蛋", "白切鸡", "米饭",
	}
	vegetables = []string{"青菜", "菠菜", "芹菜", "韭菜", "豇豆", "黄瓜", "番茄", "茄子", "生菜", "大白菜", "油麦菜", "芥兰", "西兰花", "卷心菜", "四季豆"}
	symptoms   = []string{"发热", "腹泻", "手部化脓性伤口", "咳嗽", "呕吐", "皮肤感染"}
	// hygiene violations with how often the cameras see them.
	hygiene       = []string{"no_hat", "no_mask", "no_uniform", "phone", "uncovered_bin", "bare_hand", "smoking"}
	hygieneWeight = []float64{25, 30, 10, 15, 15, 5, 2}
)

// healthCheck makes a 晨检 record for the next member of staff.
func (s *Simulator) healthCheck(sc *school, now time.Time, _ moment) message {
	staff := sc.nextStaff%max(sc.staff, 1) + 1
	sc.nextStaff++
	ev := healthCheck{StaffID: fmt.Sprintf("C%02d", staff), Passed: true}
	incident := s.incident(pHealthFailed)
	if incident {
		ev.Passed, ev.Symptom = false, pick(s.r, symptoms)
	}
	ev.envelope = s.envelope(sc, engine.SourceCanteen, "health_check", now, "health-kiosk-1")
	return message{school: sc, source: engine.SourceCanteen, typ: "health_check", body: ev, incident: incident}
}

// sample makes a 留样 record: at least 125 g of each dish, kept 48 hours or
// more; an incident is too little or too short.
func (s *Simulator) sample(sc *school, now time.Time, m moment) message {
	r := s.r
	dish := pick(r, lunchDishes)
	if m.hour < 10 {
		dish = pick(r, breakfastDishes)
	}
	ev := sample{Dish: dish, WeightG: round(clamp(r.norm(165, 20), 126, 260), 0), RetainedHours: 48}
	if r.chance(0.3) {
		ev.RetainedHours = 72
	}
	incident := s.incident(pSampleShort)
	if incident {
		if r.chance(0.5) {
			ev.WeightG = round(r.uniform(60, 120), 0)
		} else {
			ev.RetainedHours = pick(r, []float64{12, 24, 36})
		}
	}
	ev.envelope = s.envelope(sc, engine.SourceCanteen, "sample", now, "sample-cabinet-1")
	return message{school: sc, source: engine.SourceCanteen, typ: "sample", body: ev, incident: incident}
}

// storageTemp makes a reading of one cold-storage device. A device that
// goes warm stays warm for two more readings, then recovers.
func (s *Simulator) storageTemp(sc *school, now time.Time, _ moment) message {
	d := pick(s.r, sc.devices)
	if !s.incident(pStorageWarm) {
		return s.reading(sc, d, now, false)
	}
	at := now
	for i := range 3 {
		at = s.after(at, time.Minute, 3*time.Minute)
		warm := i < 2
		s.later(at, func(now time.Time, _ moment) message { return s.reading(sc, d, now, warm) })
	}
	return s.reading(sc, d, now, true)
}

func (s *Simulator) reading(sc *school, d device, now time.Time, warm bool) message {
	r := s.r
	var c float64
	switch {
	case d.zone == "fridge" && warm:
		c = r.uniform(8.6, 13.5)
	case d.zone == "fridge":
		c = clamp(r.norm(3.5, 1.0), 0.5, 7.3)
	case warm:
		c = r.uniform(-11.5, -4)
	default:
		c = clamp(r.norm(-18, 1.5), -24, -13.5)
	}
	ev := storageTemp{Device: d.id, Celsius: round(c, 1), Zone: d.zone}
	ev.envelope = s.envelope(sc, engine.SourceCanteen, "storage_temp", now, "sensor-"+d.id)
	return message{school: sc, source: engine.SourceCanteen, typ: "storage_temp", body: ev, incident: warm}
}

// aiViolation makes a 明厨亮灶 camera hit. Most are single lapses of
// hygiene; an incident is a rodent, or several lapses within minutes.
func (s *Simulator) aiViolation(sc *school, now time.Time, _ moment) message {
	r := s.r
	if !s.incident(pAIIncident) {
		return s.violation(sc, now, hygiene[r.weighted(hygieneWeight)], false)
	}
	if r.chance(0.4) {
		return s.violation(sc, now, "rodent", true)
	}
	at := now
	for range r.between(2, 3) {
		at = s.after(at, 20*time.Second, 2*time.Minute)
		v := hygiene[r.weighted(hygieneWeight)]
		s.later(at, func(now time.Time, _ moment) message { return s.violation(sc, now, v, true) })
	}
	return s.violation(sc, now, hygiene[r.weighted(hygieneWeight)], true)
}

func (s *Simulator) violation(sc *school, now time.Time, v string, incident bool) message {
	ev := aiViolation{Violation: v}
	ev.envelope = s.envelope(sc, engine.SourceCanteen, "ai_violation", now, fmt.Sprintf("cam-kitchen-%d", s.r.between(1, 3)))
	return message{school: sc, source: engine.SourceCanteen, typ: "ai_violation", body: ev, incident: incident}
}

// pesticideTest makes a rapid test of one item of the morning delivery.
func (s *Simulator) pesticideTest(sc *school, now time.Time, _ moment) message {
	incident := s.incident(pPesticideFailed)
	ev := pesticideTest{Item: pick(s.r, vegetables), Passed: !incident}
	ev.envelope = s.envelope(sc, engine.SourceCanteen, "pesticide_test", now, "rapid-test-1")
	return message{school: sc, source: engine.SourceCanteen, typ: "pesticide_test", body: ev, incident: incident}
}

// supplierCert makes a check of a supplier's licence: valid for months
// ahead, or, as an incident, expiring within a week or already expired.
func (s *Simulator) supplierCert(sc *school, now time.Time, _ moment) message {
	r := s.r
	days := r.between(30, 720)
	incident := s.incident(pCertExpiring)
	if incident {
		if r.chance(0.5) {
			days = r.between(0, 7)
		} else {
			days = -r.between(1, 15)
		}
	}
	ev := supplierCert{Supplier: pick(r, sc.suppliers), ExpiresOn: date(now, days)}
	ev.envelope = s.envelope(sc, engine.SourceCanteen, "supplier_cert", now, "procurement")
	return message{school: sc, source: engine.SourceCanteen, typ: "supplier_cert", body: ev, incident: incident}
}
