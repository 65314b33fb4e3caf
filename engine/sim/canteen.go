package sim

import (
	"fmt"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

type aiViolation struct {
	envelope
	Violation string `json:"violation"`
	AlarmID   string `json:"alarm_id,omitempty"`
}

type healthCert struct {
	envelope
	StaffID   string `json:"staff_id"`
	ExpiresOn string `json:"expires_on"`
}

type accompanyMeal struct {
	envelope
	Meal        string `json:"meal"`
	Role        string `json:"role"`
	IssuesFound bool   `json:"issues_found"`
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
	pHealthFailed    = 0.001
	pSampleShort     = 0.001
	pStorageWarm     = 0.0003
	pAIIncident      = 0.01
	pPesticideFailed = 0.0005
	pCertExpiring    = 0.004
	pChecksForgotten = 0.003 // per canteen and school day: 晨检 logged after 08:30
	pSampleForgotten = 0.003 // per canteen and school day: lunch samples logged after 13:00
	pHealthCertOld   = 0.004 // expired; expiring within 30 days is not an incident (low)
)

var (
	// Most hygiene alarms are dealt with on the spot; a few wait past the
	// 2 hours, a few are never answered.
	hygieneOutcomes = []outcome{
		{state: "handled", share: 91.5, note: "已现场纠正"},
		{state: "false_alarm", share: 8, note: "误识别"},
		{state: "", share: 0.5},
	}
	// Most rodent detections on camera are a cat, a shadow or a bag.
	rodentOutcomes = []outcome{
		{state: "false_alarm", share: 85, note: "核查为误报（阴影/杂物）"},
		{state: "confirmed", share: 12, note: "确认鼠迹，已安排消杀"},
		{state: "", share: 3},
	}
	mealRoles   = []string{"principal", "vice_principal", "leader_on_duty", "other"}
	roleWeights = []float64{20, 35, 40, 5}
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
func (s *Simulator) healthCheck(sc *school, now time.Time, m moment) message {
	if m.hour < 8.5 && len(sc.devices) > 0 && unit(mix(s.seed, hashString(sc.ID), uint64(m.day), 4)) < pChecksForgotten {
		// The kitchen logs its 晨检 late today: a fridge reading instead.
		return s.reading(sc, pick(s.r, sc.devices), now, false)
	}
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
	if m.hour < 13 && m.hour >= 12 && unit(mix(s.seed, hashString(sc.ID), uint64(m.day), 3)) < pSampleForgotten {
		// The canteen logs its lunch samples late today: a fridge reading instead.
		return s.reading(sc, pick(r, sc.devices), now, false)
	}
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
// goes warm (a door left open, a compressor failing) stays warm for three
// more readings over about 45 minutes, then recovers.
func (s *Simulator) storageTemp(sc *school, now time.Time, _ moment) message {
	d := pick(s.r, sc.devices)
	if !s.incident(pStorageWarm) {
		return s.reading(sc, d, now, false)
	}
	at := now
	for i := range 4 {
		at = s.after(at, 12*time.Minute, 20*time.Minute)
		warm := i < 3
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
	if sc.alarmIDs {
		ev.AlarmID = s.alarmID(sc)
		outcomes, lo, hi := hygieneOutcomes, 2*time.Minute, 50*time.Minute
		if v == "rodent" {
			outcomes, lo, hi = rodentOutcomes, 5*time.Minute, 40*time.Minute
		} else if s.r.chance(0.005) {
			lo, hi = 2*time.Hour+5*time.Minute, 4*time.Hour // handled late: overdue first
		}
		s.dispose(sc, engine.SourceCanteen, ev.AlarmID, now, lo, hi, outcomes)
	}
	ev.envelope = s.envelope(sc, engine.SourceCanteen, "ai_violation", now, fmt.Sprintf("cam-kitchen-%d", s.r.between(1, 3)))
	return message{school: sc, source: engine.SourceCanteen, typ: "ai_violation", body: ev, incident: incident}
}

// pesticideTest makes a rapid test of one item of the morning delivery.
func (s *Simulator) pesticideTest(sc *school, now time.Time, _ moment) message {
	incident := s.incident(pPesticideFailed)
	ev := pesticideTest{Item: pick(s.r, vegetables), Passed: !incident}
	if incident {
		// The item is re-tested within the hour; most first failures are
		// false positives of the rapid test.
		pass := s.r.chance(0.85)
		item := ev.Item
		s.later(s.after(now, 20*time.Minute, time.Hour), func(now time.Time, _ moment) message {
			e := pesticideTest{Item: item, Passed: pass}
			e.envelope = s.envelope(sc, engine.SourceCanteen, "pesticide_test", now, "rapid-test-1")
			return message{school: sc, source: engine.SourceCanteen, typ: "pesticide_test", body: e, incident: !pass}
		})
	}
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

// healthCert makes the record of a kitchen worker's 健康证明 from the
// yearly check: valid for months, some within 30 days of expiring (listed,
// low), rarely expired (an incident).
func (s *Simulator) healthCert(sc *school, now time.Time, _ moment) message {
	r := s.r
	ev := healthCert{StaffID: fmt.Sprintf("C%02d", r.between(1, max(sc.staff, 1)))}
	days := r.between(31, 365)
	if r.chance(0.08) {
		days = r.between(0, 30)
	}
	incident := s.incident(pHealthCertOld)
	if incident {
		days = -r.between(1, 20)
	}
	ev.ExpiresOn = date(now, days)
	ev.envelope = s.envelope(sc, engine.SourceCanteen, "health_cert", now, "canteen-platform")
	return message{school: sc, source: engine.SourceCanteen, typ: "health_cert", body: ev, incident: incident}
}

// accompanyMeal makes the 陪餐 record of a school leader.
func (s *Simulator) accompanyMeal(sc *school, now time.Time, meal string) message {
	r := s.r
	ev := accompanyMeal{Meal: meal, Role: mealRoles[r.weighted(roleWeights)], IssuesFound: r.chance(0.02)}
	ev.envelope = s.envelope(sc, engine.SourceCanteen, "accompany_meal", now, "canteen-platform")
	return message{school: sc, source: engine.SourceCanteen, typ: "accompany_meal", body: ev}
}
