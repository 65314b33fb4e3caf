// Package calibrate runs the simulator through the engine in-process, with
// a rule set and a simulated clock that advances as fast as the machine
// allows, and reports what the district's map would show: per simulated day
// the share of red, yellow and green schools, and how often each rule fired.
// It needs no Kafka and no ClickHouse, and leaves out what they add (the
// dead-letter topic, storage, notifications); it measures the simulator and
// the rule pack together, so that the demo's map stays plausible.
package calibrate

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/sim"
	"github.com/sanse-campus/sanse/rules"
)

// Options configure Run. Registry and Rules are required.
type Options struct {
	// Registry is the simulated district.
	Registry *engine.Registry
	// Rules is the rule set the engine evaluates, e.g. rules.Default().
	Rules *rules.Set
	// Seed, Rate and IncidentRate are the simulator's (sim.Options).
	Seed         int64
	Rate         float64
	IncidentRate float64
	// Start is the local midnight the measured run begins at; it is
	// truncated to midnight in Asia/Shanghai.
	Start time.Time
	// Days is how many days are measured (default 2).
	Days int
	// WarmUp is how long the simulator and the engine run before Start, so
	// that the engine holds the history a running installation would (the
	// last patrol of each water body, the last fire inspection) and absence
	// checks do not all fire at once; default DefaultWarmUp. Nothing
	// during the warm-up is counted.
	WarmUp time.Duration
	// Tick is how often the engine's clock is advanced (absence checks and
	// expiry), in simulated time; default one minute.
	Tick time.Duration
	// Unattended leaves out the people who act on risks (see people): no
	// risk kept for a person is resolved, no hazard verified, no pending
	// detection checked but by the vendors' dispositions the simulator
	// sends. A district is never like that; it shows what the rules alone
	// leave on the map.
	Unattended bool
	// Progress, when not nil, is called after each simulated day.
	Progress func(day Day)
	// Record, when not nil, is handed everything the engine recorded, the
	// warm-up included, e.g. to store it: ev is an event the engine applied
	// (nil after the clock's ticks and the people's acts), out what it or
	// they caused, at the simulated time of it. Both are valid during the call
	// only: copy what is kept (out's evidence lists are reused). An error
	// ends the run with it.
	Record func(at time.Time, ev *engine.Event, out *engine.Output) error
}

// DefaultWarmUp is the default of Options.WarmUp.
const DefaultWarmUp = 24 * time.Hour

// Shares is the share of a district's schools of each colour, 0 to 1.
type Shares struct {
	Red, Yellow, Green float64
}

// Day is what one simulated day showed.
type Day struct {
	// Date is the local date, 2006-01-02.
	Date string
	// SchoolDay says whether the rule set's calendar counts it as one.
	SchoolDay bool
	// End is the shares at the end of the day (23:59 local).
	End Shares
	// MaxRed and MaxYellow are the largest shares at any full hour of the
	// day.
	MaxRed, MaxYellow float64
	// Events is the number of events generated during the day.
	Events int64
}

// Report is the outcome of Run.
type Report struct {
	Schools int
	Seed    int64
	Rate    float64
	Start   time.Time
	Days    []Day
	// Fired counts, per rule of the set, the risks it opened over the
	// measured days (not the warm-up); a rule that never fired has 0.
	Fired map[string]int
	// Events is the number of events generated over the measured days.
	Events int64
	// Rejected counts generated events the decoder or the engine refused.
	Rejected int64
	// Held counts, per rule, the risks of medium or high level still
	// active at the end: what keeps schools yellow or red.
	Held map[string]int
	// Attended says whether people acted on risks (Options.Unattended
	// false); Resolved, Verified and Checked count, per rule, the risks
	// they resolved, the hazards they verified and the pending detections
	// they checked, warm-up included.
	Attended                    bool
	Resolved, Verified, Checked map[string]int
}

// Never returns the rules of the set that never fired, sorted.
func (r *Report) Never() []string {
	var out []string
	for id, n := range r.Fired {
		if n == 0 {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// Run simulates the district from Start minus WarmUp for Days days.
func Run(opts Options) (*Report, error) {
	if opts.Registry == nil || opts.Registry.Len() == 0 {
		return nil, errors.New("calibrate: the registry holds no school")
	}
	if opts.Rules == nil {
		return nil, errors.New("calibrate: no rule set")
	}
	if opts.Days <= 0 {
		opts.Days = 2
	}
	if opts.WarmUp <= 0 {
		opts.WarmUp = DefaultWarmUp
	}
	if opts.Tick <= 0 {
		opts.Tick = time.Minute
	}
	if opts.Rate <= 0 {
		opts.Rate = sim.DefaultRate
	}
	l := opts.Start.In(engine.Shanghai)
	start := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, engine.Shanghai)
	set := opts.Rules
	reg := opts.Registry

	now := start.Add(-opts.WarmUp)
	step := time.Duration(float64(time.Second) / opts.Rate)
	clock := func() time.Time { return now }
	schoolDay := func(t time.Time) bool {
		if c := set.Calendar(); c != nil {
			return c.SchoolDay(t)
		}
		wd := t.In(engine.Shanghai).Weekday()
		return wd != time.Saturday && wd != time.Sunday
	}
	s := sim.New(sim.Options{Registry: reg, Seed: opts.Seed, Rate: opts.Rate, IncidentRate: opts.IncidentRate,
		Clock: clock, SchoolDay: schoolDay}, nil)
	identity, err := event.NewIdentity([]byte("calibrate-visitor-key-0123456789"))
	if err != nil {
		return nil, err
	}
	dec := &event.Decoder{Contract: set.Contract(), Registry: func() *engine.Registry { return reg }, Identity: identity, Now: clock}
	eng := engine.New(func() engine.Evaluator { return set }, func() *engine.Registry { return reg })
	sources := map[string]engine.Source{}
	for _, src := range set.Contract().Names() {
		sources[s.Topic(src)] = src
	}

	staff := newPeople(set, !opts.Unattended)
	rep := &Report{Schools: reg.Len(), Seed: opts.Seed, Rate: opts.Rate, Start: start, Fired: map[string]int{},
		Held: map[string]int{}, Attended: staff.enabled, Resolved: staff.resolved, Verified: staff.verified, Checked: staff.checked}
	for _, r := range set.Rules() {
		rep.Fired[r.ID] = 0
	}
	for _, p := range set.Policy() {
		rep.Fired[p.ID] = 0
	}
	var (
		out      engine.Output
		ev       engine.Event
		measured bool
		nextTick = now.Add(opts.Tick)
		nextHour = start
		end      = start.AddDate(0, 0, opts.Days)
		day      *Day
	)
	record := func(at time.Time, ev *engine.Event) error {
		if opts.Record != nil && (ev != nil || out.Len() > 0) {
			if err := opts.Record(at, ev, &out); err != nil {
				return err
			}
		}
		if measured {
			for i := range out.Transitions {
				if out.Transitions[i].State == engine.RiskOpened {
					rep.Fired[out.Transitions[i].Risk.Rule]++
				}
			}
			for i := range out.Changes {
				if c := out.Changes[i].Cause; c.PolicyRule != "" && out.Changes[i].To == engine.LevelRed {
					rep.Fired[c.PolicyRule]++
				}
			}
		}
		out.Reset()
		return nil
	}
	for now.Before(end) {
		for !nextTick.After(now) {
			if !nextTick.Before(start) {
				measured = true
			}
			eng.Tick(nextTick, &out)
			if err := record(nextTick, nil); err != nil {
				return nil, err
			}
			if nextTick.Minute()%5 == 0 {
				staff.act(eng, reg, nextTick, &out)
				if err := record(nextTick, nil); err != nil {
					return nil, err
				}
			}
			if !nextHour.After(nextTick) {
				sh := shares(eng, reg)
				if nextHour.In(engine.Shanghai).Hour() == 0 {
					if day != nil {
						finish(rep, day, opts.Progress)
					}
					if nextHour.Before(end) {
						day = &Day{Date: nextHour.In(engine.Shanghai).Format("2006-01-02"), SchoolDay: schoolDay(nextHour.Add(12 * time.Hour))}
					}
				}
				if day != nil {
					day.MaxRed = max(day.MaxRed, sh.Red)
					day.MaxYellow = max(day.MaxYellow, sh.Yellow)
				}
				nextHour = nextHour.Add(time.Hour)
			}
			nextTick = nextTick.Add(opts.Tick)
		}
		topic, _, value := s.Next()
		if measured {
			rep.Events++
			day.Events++
		}
		src, ok := sources[topic]
		if !ok {
			return nil, fmt.Errorf("calibrate: no source for topic %q", topic)
		}
		var applied *engine.Event
		if err := dec.Decode(src, value, &ev); err != nil {
			rep.Rejected++
		} else if err := eng.Apply(&ev, &out); err != nil {
			rep.Rejected++
		} else {
			applied = &ev
		}
		if err := record(now, applied); err != nil {
			return nil, err
		}
		// The last minute of a day ends with its shares.
		if day != nil && !now.Add(step).Before(start.Add(time.Duration(len(rep.Days)+1)*24*time.Hour)) {
			day.End = shares(eng, reg)
		}
		now = now.Add(step)
	}
	if day != nil {
		finish(rep, day, opts.Progress)
	}
	for _, sc := range reg.Schools() {
		v, _ := eng.View(sc.ID)
		for _, r := range v.Risks {
			if r.Severity == engine.SeverityMedium || r.Severity == engine.SeverityHigh {
				rep.Held[r.Rule]++
			}
		}
	}
	return rep, nil
}

func finish(rep *Report, day *Day, progress func(Day)) {
	rep.Days = append(rep.Days, *day)
	if progress != nil {
		progress(*day)
	}
}

// shares counts the colours of every school of the registry.
func shares(eng *engine.Engine, reg *engine.Registry) Shares {
	var red, yellow int
	for _, sc := range reg.Schools() {
		switch eng.Level(sc.ID) {
		case engine.LevelRed:
			red++
		case engine.LevelYellow:
			yellow++
		}
	}
	n := float64(reg.Len())
	return Shares{Red: float64(red) / n, Yellow: float64(yellow) / n, Green: float64(reg.Len()-red-yellow) / n}
}

// Write prints the report for people: per day the shares of colours, per
// rule how often it fired, and the rules that never fired.
func (r *Report) Write(w io.Writer) error {
	var err error
	p := func(format string, args ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, args...)
		}
	}
	p("simulated %d schools from %s, %d day(s), %.0f events/s (seed %d): %d events, %d refused\n",
		r.Schools, r.Start.Format("2006-01-02 Mon"), len(r.Days), r.Rate, r.Seed, r.Events, r.Rejected)
	p("\n%-12s %-10s %7s %7s %7s   %8s %8s   %9s\n", "day", "", "red", "yellow", "green", "max red", "max yel", "events")
	for _, d := range r.Days {
		kind := "day off"
		if d.SchoolDay {
			kind = "school day"
		}
		p("%-12s %-10s %6.1f%% %6.1f%% %6.1f%%   %7.1f%% %7.1f%%   %9d\n", d.Date, kind,
			100*d.End.Red, 100*d.End.Yellow, 100*d.End.Green, 100*d.MaxRed, 100*d.MaxYellow, d.Events)
	}
	ids := make([]string, 0, len(r.Fired))
	for id := range r.Fired {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if r.Attended {
		p("\npeople acted: risks kept for a person resolved 1–6 h after opening, hazards verified 2–30 h after,\n" +
			"pending detections checked 30 min–3 h after (70 %% false alarms), in working hours 07:30–18:00\n")
	} else {
		p("\nunattended: nobody resolved, verified or checked a risk\n")
	}
	p("\n%-45s %8s %8s %8s %8s %8s\n", "rule", "fired", "held", "resolved", "verified", "checked")
	for _, id := range ids {
		p("%-45s %8d %8d %8d %8d %8d\n", id, r.Fired[id], r.Held[id], r.Resolved[id], r.Verified[id], r.Checked[id])
	}
	p("(fired: risks opened over the measured days; held: risks of medium or high level active at the end)\n")
	never := r.Never()
	if len(never) == 0 {
		p("\nevery rule fired\n")
	} else {
		p("\nnever fired (%d): %v\n", len(never), never)
	}
	return err
}
