package calibrate

import (
	"hash/fnv"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/rules"
)

// people act on the risks that wait for a person, as a district's staff do:
// the risks a rule keeps until a person resolves them (resolve: person), the
// hidden hazards a rule opens (rectified and then verified, 销号), and the
// machine detections still waiting for a human check (待核实) that no vendor
// disposition ended. Without them every such risk would hold its school's
// colour for ever, which no real district shows; with them the harness
// measures the map a district with working staff sees.
//
// Each risk gets a delay drawn from its school, rule and key (so a run is
// reproducible), counted from when it opened; people act only in working
// hours (07:30–18:00 local, any day: duty staff), so a risk opened in the
// evening waits for the morning.
type people struct {
	manual  map[string]bool // rules whose risks a person resolves
	hazard  map[string]bool // rules whose risks are hazards to verify
	enabled bool
	// Acted counts what they did, per rule.
	resolved, verified, checked map[string]int
}

// Delays of the people, from the risk's opening.
const (
	// A person handles a risk kept for a person (talks to the pupil,
	// confirms the watch-list visitor left, …) within 1 to 6 hours.
	manualMin, manualMax = time.Hour, 6 * time.Hour
	// A hazard (a broken fence, a missing sign, a blocked exit) is
	// rectified and verified within 2 hours to a day and a quarter: inside
	// the patrol hazards' 72 h deadline, and the upper end crosses the 24 h
	// one of blocked exits, as some real ones do.
	hazardMin, hazardMax = 2 * time.Hour, 30 * time.Hour
	// A pending detection is checked on the page within 30 minutes to 3
	// hours; most are false alarms (误报), the rest confirmed and handled.
	checkMin, checkMax = 30 * time.Minute, 3 * time.Hour
	falseAlarmShare    = 0.7
)

func newPeople(set *rules.Set, enabled bool) *people {
	p := &people{manual: map[string]bool{}, hazard: map[string]bool{}, enabled: enabled,
		resolved: map[string]int{}, verified: map[string]int{}, checked: map[string]int{}}
	for _, r := range set.Rules() {
		if r.Manual {
			p.manual[r.ID] = true
		}
		if r.Hazard != nil {
			p.hazard[r.ID] = true
		}
	}
	return p
}

// workingHours reports whether people are at work at t.
func workingHours(t time.Time) bool {
	l := t.In(engine.Shanghai)
	m := l.Hour()*60 + l.Minute()
	return m >= 7*60+30 && m < 18*60
}

// draw returns a number in [0, 1) fixed by the risk and salt.
func draw(schoolID string, r *engine.Risk, salt string) float64 {
	h := fnv.New64a()
	h.Write([]byte(schoolID + "\x00" + r.Rule + "\x00" + r.Key + "\x00" + r.FirstSeen.String() + "\x00" + salt))
	return float64(h.Sum64()>>11) / (1 << 53)
}

func between(x float64, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(x*float64(hi-lo))
}

// act does, at now, what is due on the school's risks.
func (p *people) act(eng *engine.Engine, reg *engine.Registry, now time.Time, out *engine.Output) {
	if !p.enabled || !workingHours(now) {
		return
	}
	for _, sc := range reg.Schools() {
		if eng.Level(sc.ID) == engine.LevelGreen {
			continue // nothing above low waits
		}
		v, _ := eng.View(sc.ID)
		for i := range v.Risks {
			r := &v.Risks[i]
			switch {
			case r.Pending:
				if now.Sub(r.FirstSeen) < between(draw(sc.ID, r, "check"), checkMin, checkMax) {
					continue
				}
				d := engine.DispositionHandled
				if draw(sc.ID, r, "false") < falseAlarmShare {
					d = engine.DispositionFalseAlarm
				}
				if eng.Dispose(sc.ID, r.Rule, r.Key, d, "calibrate-duty", "simulated check", now, out) == nil {
					p.checked[r.Rule]++
				}
			case p.hazard[r.Rule]:
				if now.Sub(r.FirstSeen) < between(draw(sc.ID, r, "hazard"), hazardMin, hazardMax) {
					continue
				}
				if eng.Resolve(sc.ID, r.Rule, r.Key, "calibrate-inspector", "simulated rectification verified", now, out) == nil {
					p.verified[r.Rule]++
				}
			case r.Manual || p.manual[r.Rule]:
				if now.Sub(r.FirstSeen) < between(draw(sc.ID, r, "manual"), manualMin, manualMax) {
					continue
				}
				if eng.Resolve(sc.ID, r.Rule, r.Key, "calibrate-duty", "simulated handling", now, out) == nil {
					p.resolved[r.Rule]++
				}
			}
		}
	}
}
