package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

// program is one compiled expression of a rule, with its native form.
type program struct {
	name string
	prog *vm.Program
	n    *native
	env  envKind
	src  *event.Source // the declaration of the rule's source
	tmpl bool          // a placeholder of a title or description
}

// packPrograms lists every expression of the default pack's rules with the
// native form evaluation uses.
func packPrograms(t *testing.T, set *Set) []program {
	t.Helper()
	var out []program
	add := func(r *Rule, field string, prog *vm.Program, n *native, env envKind) {
		if prog != nil {
			out = append(out, program{name: r.ID + " " + field, prog: prog, n: n, env: env, src: r.src})
		}
	}
	for _, r := range set.Rules() {
		f := r.prepared()
		require.NotSame(t, &noFast, f, "rule %s is not prepared", r.ID)
		add(r, "when", r.when, f.when, envRule)
		add(r, "key", r.key, f.key, envRule)
		add(r, "clear_when", r.clear, f.clear, envRule)
		add(r, "level", r.level, f.level, envRule)
		env := envRule
		if a := r.Absent; a != nil {
			env = envCheck
			add(r, "absent.on", a.on, f.on, envCheck)
			add(r, "absent.entities", a.entities, f.entities, envCheck)
		}
		if w := r.Window; w != nil {
			add(r, "window.value", w.value, f.value, envRule)
			add(r, "window.distinct", w.distinct, f.distinct, envRule)
			add(r, "window.having", w.having, f.having, envRule)
		}
		for name, ft := range map[string]fastTemplate{"title": f.title, "description": f.desc} {
			for i, p := range ft.parts {
				if p.prog != nil {
					out = append(out, program{name: fmt.Sprintf("%s %s ${%d}", r.ID, name, i), prog: p.prog, n: p.n, env: env, src: r.src, tmpl: true})
				}
			}
		}
	}
	return out
}

// TestPackIsNative checks that every expression of the default pack's rules
// runs natively: the VM is only the fallback for shapes a pack does not use.
func TestPackIsNative(t *testing.T) {
	set, errs := Default()
	require.Empty(t, errs)
	for _, p := range packPrograms(t, set) {
		require.NotNil(t, p.n, "%s: %s has no native form", p.name, p.prog.Source().String())
	}
}

// TestNativeMatchesVM evaluates every expression of the default pack on a
// corpus of events — a simulated district's stream and hand-made edge cases
// — natively and on expr's VM, and requires the same results.
func TestNativeMatchesVM(t *testing.T) {
	set, errs := Default()
	require.Empty(t, errs)
	progs := packPrograms(t, set)
	events, schools := nativeCorpus(t)
	aggs := []*Aggregate{
		{Count: 1, Sum: 1, Min: 1, Max: 1, Distinct: 1, First: benchStart, Last: benchStart},
		{Count: 2, Sum: 18.5, Min: 9, Max: 9.5, Distinct: 1, First: benchStart, Last: benchStart.Add(29 * time.Minute), Span: 29 * time.Minute},
		{Count: 2, Sum: 2, Min: 1, Max: 1, Distinct: 2, First: benchStart, Last: benchStart.Add(30 * time.Minute), Span: 30 * time.Minute},
		{Count: 3, Sum: 3, Min: 1, Max: 1, Distinct: 3, First: benchStart, Last: benchStart.Add(90 * time.Minute), Span: 90 * time.Minute},
		{Count: 7, Sum: -70.25, Min: -13, Max: -9.75, Distinct: 0, Span: 26 * time.Hour},
	}
	var sc scratch
	compared := map[string]int{}
	for _, p := range progs {
		if p.n == nil {
			continue
		}
		switch p.env {
		case envRule:
			for i := range events {
				ev := &events[i]
				if ev.Source != p.sourceOf(set) {
					continue
				}
				school := schools[i%len(schools)]
				for _, agg := range append([]*Aggregate{nil}, aggs...) {
					if !p.n.window && agg != nil {
						continue
					}
					sc.frame.env = Env{Event: ev, School: school, Window: agg}
					compareOne(t, &sc, p)
					compared[p.name]++
				}
			}
		case envCheck:
			for _, school := range schools {
				for _, now := range corpusTimes() {
					for _, key := range []string{"", "南湖", "运河"} {
						sc.frame.check = CheckEnv{School: school, Now: now, Key: key, LastSeen: now.Add(-50 * time.Hour)}
						compareOne(t, &sc, p)
						compared[p.name]++
					}
				}
			}
		}
	}
	for _, p := range progs {
		if p.n != nil {
			require.NotZero(t, compared[p.name], "%s was never evaluated", p.name)
		}
	}
}

// sourceOf returns the source of the rule a program belongs to.
func (p program) sourceOf(set *Set) engine.Source {
	id, _, _ := strings.Cut(p.name, " ")
	for _, r := range set.Rules() {
		if r.ID == id {
			return r.Source
		}
	}
	return ""
}

// compareOne evaluates p on the scratch's frame natively and on the VM,
// whose environment is built from the frame as evaluation builds it.
func compareOne(t *testing.T, sc *scratch, p program) {
	t.Helper()
	sc.src = p.src
	sc.vmEnv.reset()
	want, err := vm.Run(p.prog, sc.env(p.env))
	if !sc.usable(p.n) {
		require.Error(t, err, "%s: the VM needs no window, the native form does", p.name)
		return
	}
	require.NoError(t, err, p.name)
	var got any
	switch p.n.k {
	case kBool:
		got = p.n.b(&sc.frame)
	case kString:
		got = p.n.s(&sc.frame)
	case kFloat:
		got = p.n.f(&sc.frame)
	case kInt:
		got = p.n.i(&sc.frame)
	case kTime:
		got = p.n.t(&sc.frame)
	case kDuration:
		got = p.n.d(&sc.frame)
	case kStrings:
		got = p.n.ss(&sc.frame)
	}
	require.Equal(t, want, got, "%s: %s", p.name, p.prog.Source().String())
	if p.tmpl {
		require.Equal(t, string(appendRendered(nil, want)), string(p.n.appendValue(nil, &sc.frame)), "%s renders differently", p.name)
	}
}

// corpusTimes are instants around the calendar's and the helpers' edges:
// midnight, class hours, weekends, the summer holidays and the season.
func corpusTimes() []time.Time {
	var out []time.Time
	for _, day := range []time.Time{
		time.Date(2026, 5, 29, 0, 0, 0, 0, engine.Shanghai),  // Friday before the season
		time.Date(2026, 6, 1, 0, 0, 0, 0, engine.Shanghai),   // Monday, summer, term
		time.Date(2026, 6, 6, 0, 0, 0, 0, engine.Shanghai),   // Saturday
		time.Date(2026, 7, 6, 0, 0, 0, 0, engine.Shanghai),   // summer holidays
		time.Date(2026, 9, 30, 0, 0, 0, 0, engine.Shanghai),  // last day of the season
		time.Date(2026, 11, 2, 0, 0, 0, 0, engine.Shanghai),  // autumn term
		time.Date(2027, 1, 23, 0, 0, 0, 0, engine.Shanghai),  // winter holidays
		time.Date(2026, 12, 31, 0, 0, 0, 0, engine.Shanghai), // year end
	} {
		for _, hm := range [][2]int{{0, 0}, {7, 59}, {8, 0}, {11, 29}, {11, 30}, {13, 30}, {16, 29}, {16, 30}, {23, 59}} {
			out = append(out, day.Add(time.Duration(hm[0])*time.Hour+time.Duration(hm[1])*time.Minute))
		}
		out = append(out, day.Add(-time.Nanosecond), day.UTC())
	}
	return out
}

// nativeCorpus returns the events and schools the programs are compared on.
func nativeCorpus(t *testing.T) ([]engine.Event, []*engine.School) {
	t.Helper()
	s, err := newStream(40, 6000, 8*24*time.Hour, 1)
	require.NoError(t, err)
	events := append([]engine.Event(nil), s.events...)
	schools := append([]*engine.School(nil), s.reg.Schools()...)
	schools = append(schools,
		&engine.School{ID: "X-1", Canteen: false, WaterBodies: []string{"南湖", "运河"}},
		&engine.School{ID: "X-2", Canteen: true},
		&engine.School{ID: "X-3", Canteen: true, Connected: []string{"gate_security", "fire_safety", "canteen.accompany_meal"}},
		&engine.School{ID: "X-4", Canteen: false, Connected: []string{"school_bus", "canteen.accompany_meal"}},
	)
	var edges []engine.Event
	ev := func(src engine.Source, typ string, at time.Time, fs fields) {
		edges = append(edges, newEvent(t, src, typ, at, fs))
	}
	for _, at := range corpusTimes() {
		ev(engine.SourceVisitor, "entry", at, fields{"watchlist": "blacklist", "gate": "东门", "id_verified": false, "during_class": false})
		ev(engine.SourceVisitor, "entry", at, fields{"watchlist": "wanted", "prohibited_items": true, "id_verified": true})
		ev(engine.SourceVisitor, "entry", at, fields{"watchlist": "watch", "during_class": true})
		ev(engine.SourceVisitor, "entry", at, fields{"watchlist": "", "name": "无"})
		ev(engine.SourceVisitor, "entry", at, fields{}) // nothing present: every field reads as its zero
		ev(engine.SourceVisitor, "denied", at, fields{"visitor_hash": "h1"})
		ev(engine.SourceCanteen, "supplier_cert", at, fields{"supplier": "S", "expires_on": at.Add(-time.Hour)})
		ev(engine.SourceCanteen, "supplier_cert", at, fields{"supplier": "S", "expires_on": at.Add(7 * 24 * time.Hour)})
		ev(engine.SourceCanteen, "supplier_cert", at, fields{"supplier": "S", "expires_on": at.Add(8*24*time.Hour - time.Minute)})
		ev(engine.SourceDrowning, "weather", at, fields{"rain_mm_24h": 50})
		ev(engine.SourceDrowning, "water_level", at, fields{"level_m": 3.1, "warning_level_m": 3.2, "water_body": "南湖"})
	}
	for _, c := range []float64{-13, -12, -11.5, -11, 0, 6.9, 7, 7.5, 8, 8.01, 12} {
		for _, zone := range []string{"fridge", "freezer", ""} {
			ev(engine.SourceCanteen, "storage_temp", benchStart, fields{"device": "d-1", "zone": zone, "celsius": c})
		}
	}
	for _, v := range []string{"rodent", "no_hat", "uncovered_bin", "bare_hand", "unknown", ""} {
		ev(engine.SourceCanteen, "ai_violation", benchStart, fields{"violation": v, "reporter": "cam"})
	}
	for _, w := range [][2]float64{{125, 48}, {124.9, 48}, {125, 47.5}, {0, 0}} {
		ev(engine.SourceCanteen, "sample", benchStart, fields{"weight_g": w[0], "retained_hours": w[1], "dish": "菜"})
	}
	for _, lv := range [][2]float64{{3.1, 3.2}, {3.2, 3.2}, {3.1, 3.19}, {3.09, 3.2}, {3.1000001, 3.2}} {
		ev(engine.SourceDrowning, "water_level", benchStart, fields{"level_m": lv[0], "warning_level_m": lv[1]})
	}
	for _, sc := range [][2]float64{{59, 60}, {60, 60}, {61.5, 60}} {
		ev(engine.SourceBullying, "screening", benchStart, fields{"score": sc[0], "threshold": sc[1], "student_ref": "S-1"})
	}
	for _, inj := range []bool{true, false} {
		ev(engine.SourceBullying, "report", benchStart, fields{"injury": inj, "kind": "physical", "channel": "hotline", "victim_ref": "V-1", "suspect_refs": []string{"P-1", "P-2"}})
		ev(engine.SourceDrowning, "fence_intrusion", benchStart, fields{"minors": inj, "persons": 3, "water_body": "南湖"})
		ev(engine.SourceDrowning, "patrol", benchStart, fields{"hazard_found": inj, "water_body": "南湖", "note": "n"})
		ev(engine.SourceCanteen, "pesticide_test", benchStart, fields{"passed": inj, "item": "青菜"})
		ev(engine.SourceCanteen, "health_check", benchStart, fields{"passed": inj, "staff_id": "E1", "symptom": "发热"})
	}
	// The sources a district also needs (issue 12): every type, on and around the thresholds.
	for _, at := range []time.Time{benchStart, time.Date(2026, 11, 2, 16, 10, 0, 0, engine.Shanghai), time.Date(2026, 11, 7, 16, 10, 0, 0, engine.Shanghai), time.Date(2026, 11, 2, 22, 0, 0, 0, engine.Shanghai)} {
		ev("gate_security", "loitering", at, fields{"gate": "南门", "minutes": 20.5})
		ev("canteen", "health_cert", at, fields{"staff_id": "C1", "expires_on": at.Add(-time.Hour)})
		ev("canteen", "health_cert", at, fields{"staff_id": "C1", "expires_on": at.Add(30 * 24 * time.Hour)})
		ev("canteen", "health_cert", at, fields{"staff_id": "C1", "expires_on": at.Add(31 * 24 * time.Hour)})
	}
	for _, v := range [][3]any{{59.9, "other", false}, {60.5, "other", false}, {75.0, "expressway", false}, {80.5, "expressway", false}, {90.0, "other", true}, {61.0, "", false}} {
		ev("school_bus", "position", benchStart, fields{"bus_id": "浙F-1", "speed_kmh": v[0], "road": v[1], "empty": v[2], "off_route_m": v[0].(float64) * 9})
	}
	for _, h := range [][2]int{{30, 30}, {31, 30}, {0, 0}, {30, 31}} {
		for _, stage := range []string{"boarding", "trip_end"} {
			ev("school_bus", "headcount", benchStart, fields{"bus_id": "浙F-1", "trip_id": "AM-1", "stage": stage, "boarded": h[0], "alighted": h[1], "escort_present": h[0] == h[1]})
		}
	}
	ev("school_bus", "driver", benchStart, fields{"bus_id": "浙F-1", "driver_phone": "13912345678"})
	for _, kind := range []string{"smoke", "heat", "flame", "manual"} {
		ev("fire_safety", "fire_alarm", benchStart, fields{"kind": kind, "location": "教学楼"})
	}
	ev("fire_safety", "gas_leak", benchStart, fields{"location": "食堂后厨", "lel_percent": 25.0, "valve_closed": true})
	ev("fire_safety", "gas_leak", benchStart, fields{"location": "食堂后厨"})
	ev("fire_safety", "exit_blocked", benchStart, fields{"location": "东侧安全出口", "found_by": "inspection"})
	ev("fire_safety", "exit_blocked", benchStart, fields{"location": "东侧安全出口"})
	ev("fire_safety", "inspection", benchStart, fields{"facility": "灭火器", "issues_found": false})
	ev("gate_security", "panic_button", benchStart, fields{"gate": "东门"})
	ev("gate_security", "intrusion", benchStart, fields{"zone": "北墙"})
	for _, n := range []int{0, 1, 3} {
		ev("gate_security", "closing_check", benchStart, fields{"gate": "东门", "visitors_inside": n})
		ev("health", "sick_absence", benchStart, fields{"class_ref": "1-2", "absent_sick": n + 3})
	}
	for _, shift := range []string{"arrival", "dismissal"} {
		ev("gate_security", "duty_checkin", benchStart, fields{"gate": "东门", "shift": shift, "on_duty": 2})
	}
	for _, r := range []string{"self_harm", "suicidal_ideation", "suicide_attempt"} {
		ev("mental_health", "crisis_report", benchStart, fields{"student_ref": "P-1", "risk": r, "channel": "teacher"})
	}
	for _, tier := range []string{"normal", "attention", "crisis"} {
		ev("mental_health", "screening", benchStart, fields{"student_ref": "P-1", "tier": tier})
	}
	for _, sy := range []string{"vomiting", "diarrhea", "fever", "rash"} {
		ev("health", "symptom_report", benchStart, fields{"student_ref": "P-1", "symptom": sy, "class_ref": "2-3", "meal_ref": "lunch"})
		ev("health", "symptom_report", benchStart, fields{"student_ref": "P-2", "symptom": sy})
	}
	for _, m := range []string{"breakfast", "lunch", "dinner"} {
		ev("canteen", "accompany_meal", benchStart, fields{"meal": m, "role": "principal", "issues_found": false})
	}
	return append(events, edges...), schools
}
