package sim

import (
	"fmt"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

// The built-in sources declared as data only (engine/event/sources), which
// engine has no constant for.
const (
	srcSchoolBus    engine.Source = "school_bus"
	srcFireSafety   engine.Source = "fire_safety"
	srcGateSecurity engine.Source = "gate_security"
	srcMentalHealth engine.Source = "mental_health"
	srcHealth       engine.Source = "health"
)

type fireAlarm struct {
	envelope
	Location string `json:"location"`
	AlarmID  string `json:"alarm_id"`
	Kind     string `json:"kind"`
}

type gasLeak struct {
	envelope
	Location    string  `json:"location"`
	AlarmID     string  `json:"alarm_id"`
	LELPercent  float64 `json:"lel_percent"`
	ValveClosed bool    `json:"valve_closed"`
}

type exitBlocked struct {
	envelope
	Location string `json:"location"`
	AlarmID  string `json:"alarm_id"`
	FoundBy  string `json:"found_by"`
}

type inspection struct {
	envelope
	Location    string `json:"location,omitempty"`
	Facility    string `json:"facility"`
	IssuesFound bool   `json:"issues_found"`
}

var (
	buildings      = []string{"教学楼", "实验楼", "综合楼", "行政楼", "宿舍楼", "图书馆", "体育馆"}
	fireFacilities = []string{"消防设施", "灭火器", "疏散通道", "应急照明", "消火栓", "电气线路", "消防控制室"}
	fireKinds      = []string{"smoke", "heat", "flame", "manual"}
	fireWeights    = []float64{80, 8, 2, 10}
	// Fire alarms at schools are mostly dust, steam or a pupil at a manual call point.
	fireOutcomes = []outcome{
		{state: "false_alarm", share: 80, note: "现场核查为误报（灰尘/水汽）"},
		{state: "handled", share: 18, note: "现场处置完毕"},
		{state: "", share: 2},
	}
	gasOutcomes = []outcome{
		{state: "handled", share: 75, note: "已关阀通风，燃气公司检修"},
		{state: "false_alarm", share: 23, note: "探测器故障，已报修"},
		{state: "", share: 2},
	}
	exitOutcomes = []outcome{
		{state: "handled", share: 85, note: "已清理疏散通道"},
		{state: "", share: 15},
	}
)

// The mix of fire and gas alarms; the rest are blocked exits.
const (
	pFireAlarm = 0.35
	pGasLeak   = 0.3
)

// location returns a place at the school, for fire and gas events.
func (s *Simulator) location(sc *school) string {
	return fmt.Sprintf("%s%d层", pick(s.r, buildings), s.r.between(1, 5))
}

// fireSafety makes an alarm of the fire alarm system: a fire alarm, a gas
// alarm in the kitchen or a blocked exit seen by a camera. The stream is
// all alarms (its rate follows IncidentRate); inspections are in the
// agenda. Alarms carry an alarm id, and a person's check follows within
// minutes.
func (s *Simulator) fireSafety(sc *school, now time.Time, _ moment) message {
	r := s.r
	switch {
	case r.chance(pFireAlarm):
		ev := fireAlarm{Location: s.location(sc), AlarmID: s.alarmID(sc), Kind: fireKinds[r.weighted(fireWeights)]}
		ev.envelope = s.envelope(sc, srcFireSafety, "fire_alarm", now, fmt.Sprintf("fas-%d", r.between(1, 4)))
		s.dispose(sc, srcFireSafety, ev.AlarmID, now, 3*time.Minute, 20*time.Minute, fireOutcomes)
		return message{school: sc, source: srcFireSafety, typ: "fire_alarm", body: ev, incident: true}
	case sc.Canteen && r.chance(pGasLeak):
		ev := gasLeak{Location: "食堂后厨", AlarmID: s.alarmID(sc), LELPercent: round(r.uniform(12, 40), 0), ValveClosed: r.chance(0.8)}
		ev.envelope = s.envelope(sc, srcFireSafety, "gas_leak", now, "gas-detector-1")
		s.dispose(sc, srcFireSafety, ev.AlarmID, now, 5*time.Minute, 40*time.Minute, gasOutcomes)
		return message{school: sc, source: srcFireSafety, typ: "gas_leak", body: ev, incident: true}
	default:
		ev := exitBlocked{Location: s.location(sc) + "安全出口", AlarmID: s.alarmID(sc), FoundBy: "camera"}
		ev.envelope = s.envelope(sc, srcFireSafety, "exit_blocked", now, fmt.Sprintf("cam-exit-%d", r.between(1, 6)))
		s.dispose(sc, srcFireSafety, ev.AlarmID, now, 20*time.Minute, 3*time.Hour, exitOutcomes)
		return message{school: sc, source: srcFireSafety, typ: "exit_blocked", body: ev, incident: true}
	}
}

// inspection makes the daily 防火巡查 of the whole school by the guards.
func (s *Simulator) inspection(sc *school, now time.Time) message {
	facility := ""
	if s.r.chance(0.3) {
		facility = pick(s.r, fireFacilities)
	}
	return s.inspectionOf(sc, now, facility, "guard-patrol")
}

func (s *Simulator) inspectionOf(sc *school, now time.Time, facility, reporter string) message {
	ev := inspection{Facility: facility, IssuesFound: s.r.chance(0.03)}
	ev.envelope = s.envelope(sc, srcFireSafety, "inspection", now, reporter)
	return message{school: sc, source: srcFireSafety, typ: "inspection", body: ev}
}

type gateAlarm struct {
	envelope
	Gate    string  `json:"gate,omitempty"`
	Zone    string  `json:"zone,omitempty"`
	AlarmID string  `json:"alarm_id"`
	Minutes float64 `json:"minutes,omitempty"`
}

type dutyCheckin struct {
	envelope
	Gate   string `json:"gate"`
	Shift  string `json:"shift"`
	OnDuty int    `json:"on_duty"`
}

type closingCheck struct {
	envelope
	Gate           string `json:"gate"`
	VisitorsInside int    `json:"visitors_inside"`
}

var (
	zones         = []string{"东侧围墙", "西侧围墙", "北侧围墙", "操场围栏", "后门围墙"}
	panicOutcomes = []outcome{
		{state: "false_alarm", share: 70, note: "误触"},
		{state: "handled", share: 28, note: "已与属地派出所联动处置"},
		{state: "", share: 2},
	}
	intrusionOutcomes = []outcome{
		{state: "false_alarm", share: 75, note: "鸟类/树枝触发"},
		{state: "handled", share: 20, note: "保安到场核查处置"},
		{state: "", share: 5},
	}
	loiterOutcomes = []outcome{
		{state: "handled", share: 60, note: "门卫上前询问，已离开"},
		{state: "false_alarm", share: 30, note: "接孩子的家长"},
		{state: "", share: 10},
	}
)

// The mix of the gate's alarms, and the chance that a closing check
// finds a visitor not signed out (per check at IncidentRate 1).
const (
	pPanicButton     = 0.03
	pIntrusion       = 0.22
	pVisitorsAtClose = 0.01
)

// gateSecurity makes an alarm of the gate: the stream is all alarms (its
// rate follows IncidentRate), the gate sending nothing else but the
// agenda's check-ins. Most are loitering, checked within minutes.
func (s *Simulator) gateSecurity(sc *school, now time.Time, m moment) message {
	r := s.r
	gate := pick(r, sc.gates)
	switch {
	case r.chance(pPanicButton):
		ev := gateAlarm{Gate: gate, AlarmID: s.alarmID(sc)}
		ev.envelope = s.envelope(sc, srcGateSecurity, "panic_button", now, "panic-"+gate)
		s.dispose(sc, srcGateSecurity, ev.AlarmID, now, 2*time.Minute, 15*time.Minute, panicOutcomes)
		return message{school: sc, source: srcGateSecurity, typ: "panic_button", body: ev, incident: true}
	case r.chance(pIntrusion):
		ev := gateAlarm{Zone: pick(r, zones), AlarmID: s.alarmID(sc)}
		ev.envelope = s.envelope(sc, srcGateSecurity, "intrusion", now, "perimeter")
		s.dispose(sc, srcGateSecurity, ev.AlarmID, now, 3*time.Minute, 20*time.Minute, intrusionOutcomes)
		return message{school: sc, source: srcGateSecurity, typ: "intrusion", body: ev, incident: true}
	}
	ev := gateAlarm{Gate: gate, AlarmID: s.alarmID(sc), Minutes: round(r.uniform(5, 25), 0)}
	ev.envelope = s.envelope(sc, srcGateSecurity, "loitering", now, "cam-"+gate)
	s.dispose(sc, srcGateSecurity, ev.AlarmID, now, 3*time.Minute, 25*time.Minute, loiterOutcomes)
	return message{school: sc, source: srcGateSecurity, typ: "loitering", body: ev,
		incident: m.schoolDay && m.between(15, 18)}
}

// dutyCheckin makes the 护学岗 check-in at the main gate.
func (s *Simulator) dutyCheckin(sc *school, now time.Time, shift string) message {
	ev := dutyCheckin{Gate: sc.gates[0], Shift: shift, OnDuty: s.r.between(2, 6)}
	ev.envelope = s.envelope(sc, srcGateSecurity, "duty_checkin", now, "duty-app")
	return message{school: sc, source: srcGateSecurity, typ: "duty_checkin", body: ev}
}

// closingCheck makes the guard's check at closing; now and then a visitor
// signed in has not signed out, and the next day's check finds none.
func (s *Simulator) closingCheck(sc *school, now time.Time) message {
	ev := closingCheck{Gate: sc.gates[0]}
	incident := s.tripIncident(pVisitorsAtClose)
	if incident {
		ev.VisitorsInside = s.r.between(1, 2)
	}
	ev.envelope = s.envelope(sc, srcGateSecurity, "closing_check", now, "guard-app")
	return message{school: sc, source: srcGateSecurity, typ: "closing_check", body: ev, incident: incident}
}
