package report

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/hazard"
	"github.com/sanse-campus/sanse/engine/store"
	"github.com/sanse-campus/sanse/rules"
)

// History is what a report reads: the queries of engine/store that take
// the scope's schools. *store.Store implements it.
type History interface {
	LevelsAtOf(ctx context.Context, schools []string, at time.Time) ([]engine.LevelChange, error)
	LevelChangesOf(ctx context.Context, schools []string, from, to time.Time) ([]engine.LevelChange, error)
	RiskCounts(ctx context.Context, schools []string, from, to time.Time) ([]store.RiskCount, error)
	RiskSteps(ctx context.Context, schools, rules []string, from, to time.Time) ([]store.RiskStep, error)
	CheckCountsOf(ctx context.Context, schools []string, since, until time.Time) ([]store.CheckCount, error)
	Alerts(ctx context.Context, f alert.Filter) ([]*alert.Alert, error)
	LoadHazards(ctx context.Context, closedSince time.Time) ([]*hazard.Hazard, error)
	FirstEvent(ctx context.Context, schools []string) (time.Time, error)
}

// routineLookback is how far before a period the transitions of routine
// checks are read, to know which were still active when it began.
const routineLookback = 31 * 24 * time.Hour

// Report is everything one report says, before rendering. Times are in
// Loc.
type Report struct {
	Spec      Spec
	Title     string
	ScopeName string // the district's name, or the school's
	Loc       *time.Location
	Generated time.Time
	// Until is where the period's figures end: To, or Generated for a
	// period not yet over.
	Until   time.Time
	Schools []*engine.School
	Summary Summary

	Days     []Day
	Flagged  []SchoolPeriod // red or yellow at some time, longest red first
	Changes  []Change       // colour changes, in time order
	Risks    []RiskRow      // risks opened, by rule and level, most first
	Sources  []SourceRow    // risks opened, by source, most first
	Alerts   AlertStats
	Hazards  HazardStats
	Routines []RoutineRow
	Checks   []CheckRow
	// Totals are the period's headline figures, Previous those of the
	// period of the same length before it (nil when not computed).
	Totals, Previous *Totals
}

// Day is the colours of the scope's schools at the end of one local day
// (or at Until for the last day of a period not yet over), and how many
// were red or yellow at some time that day.
type Day struct {
	Date                   time.Time
	Red, Yellow, Green     int
	EverRed, EverYellowish int // EverYellowish: yellow at some time and never red
}

// SchoolPeriod is one school's colours over the period.
type SchoolPeriod struct {
	School      *engine.School
	Red, Yellow time.Duration
	End         engine.Level // at Until
	Causes      []Cause      // the most frequent causes of its turning red or yellow
}

// Cause is a cause of colour changes and how often it occurred.
type Cause struct {
	Title string
	Count int
}

// Change is one colour change of a school.
type Change struct {
	At       time.Time
	School   *engine.School
	From, To engine.Level
	Cause    string
}

// RiskRow is the risks of one rule and level opened in the period.
type RiskRow struct {
	Source     engine.Source
	SourceName string
	Rule       string
	Level      engine.Severity
	Pending    bool
	Title      string
	Opened     int
	Schools    int
}

// SourceRow is the risks of one source opened in the period, by level.
type SourceRow struct {
	Source            engine.Source
	Name              string
	High, Medium, Low int
	Total             int
}

// Durations are the median and the worst of some durations.
type Durations struct {
	N             int
	Median, Worst time.Duration
}

func durations(ds []time.Duration) Durations {
	if len(ds) == 0 {
		return Durations{}
	}
	slices.Sort(ds)
	m := ds[len(ds)/2]
	if len(ds)%2 == 0 {
		m = (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
	}
	return Durations{N: len(ds), Median: m, Worst: ds[len(ds)-1]}
}

// AlertGroup is the alerts of one school or one escalation step: how many,
// and how long acknowledging and resolving them took.
type AlertGroup struct {
	School *engine.School // for a school's row
	Step   int            // for a step's row
	Alerts int
	Red    int
	Unack  int // not acknowledged when the report was made
	Ack    Durations
	Solve  Durations
}

// AlertStats are the alerts opened in the period.
type AlertStats struct {
	Total    AlertGroup
	BySchool []AlertGroup // most alerts first
	ByStep   []AlertGroup // by the escalation step reached, school first
}

// HazardRow is one open hazard.
type HazardRow struct {
	ID         string
	School     *engine.School
	Title      string
	Status     hazard.Status
	Created    time.Time
	Deadline   time.Time
	Supervised bool
	Overdue    bool
}

// HazardStats are the hazards (隐患) of the period.
type HazardStats struct {
	Opened, Verified        int
	OpenAtEnd, OverdueAtEnd int
	SupervisedAtEnd         int
	VerifyTime              Durations // from registered to verified (销号), of those verified in the period
	Oldest                  []HazardRow
}

// RoutineRow is the compliance of one inspection routine: how many times it
// was owed in the period (school × day × entity) and how many of them were
// done on time.
type RoutineRow struct {
	Rule      string
	Title     string
	Due, Done int
}

// Percent returns the share done on time, in percent; 100 when nothing was
// owed.
func (r RoutineRow) Percent() float64 {
	if r.Due == 0 {
		return 100
	}
	return 100 * float64(r.Done) / float64(r.Due)
}

// CheckRow is what human checks found of one rule's machine detections.
type CheckRow struct {
	Rule                           string
	Pending, Confirmed, FalseAlarm int
}

// FalseRate returns the share of checked detections found false, in
// percent, or -1 when none was checked.
func (c CheckRow) FalseRate() float64 {
	if n := c.Confirmed + c.FalseAlarm; n > 0 {
		return 100 * float64(c.FalseAlarm) / float64(n)
	}
	return -1
}

// Totals are a period's headline figures, compared with the previous
// period's.
type Totals struct {
	RedDays, YellowDays   float64 // school-days spent red, yellow
	EverRed, EverYellow   int
	Risks, Alerts         int
	HazardsOpened         int
	HazardsVerified       int
	RoutineDue, RoutineOK int
}

// Build reads the history and computes the report of spec.
func (b *Builder) Build(ctx context.Context, spec Spec) (*Report, error) {
	return b.build(ctx, spec, true)
}

func (b *Builder) build(ctx context.Context, spec Spec, previous bool) (*Report, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	loc := b.loc()
	reg := b.opts.Registry()
	r := &Report{Spec: spec, Loc: loc, Generated: b.now().In(loc)}
	r.Spec.From, r.Spec.To = spec.From.In(loc), spec.To.In(loc)
	if err := r.scope(reg); err != nil {
		return nil, err
	}
	r.Until = r.Spec.To
	if r.Generated.Before(r.Until) {
		r.Until = r.Generated
	}
	if !r.Until.After(r.Spec.From) {
		return nil, fmt.Errorf("the period begins (%s) after now", r.Spec.From.Format(time.DateTime))
	}
	r.Title = title(r)
	ids := make([]string, len(r.Schools))
	byID := make(map[string]*engine.School, len(r.Schools))
	for i, s := range r.Schools {
		ids[i], byID[s.ID] = s.ID, s
	}
	set := b.rules()
	if err := r.colours(ctx, b.opts.History, ids, byID); err != nil {
		return nil, err
	}
	if err := r.risks(ctx, b.opts.History, ids, set); err != nil {
		return nil, err
	}
	if err := r.alerts(ctx, b.opts.History, byID); err != nil {
		return nil, err
	}
	if err := r.hazards(ctx, b.opts.History, byID); err != nil {
		return nil, err
	}
	if set != nil {
		if err := r.routines(ctx, b.opts.History, ids, byID, set); err != nil {
			return nil, err
		}
	}
	checks, err := b.opts.History.CheckCountsOf(ctx, ids, r.Spec.From, r.Until)
	if err != nil {
		return nil, err
	}
	r.checks(checks)
	r.Totals = r.totals()
	if previous {
		prev := spec
		prev.From, prev.To = previousPeriod(spec.Kind, r.Spec.From, r.Spec.To)
		p, err := b.build(ctx, prev, false)
		if err != nil {
			return nil, fmt.Errorf("previous period: %w", err)
		}
		r.Previous = p.Totals
	}
	r.Summary = r.summary()
	return r, nil
}

// previousPeriod returns the period before [from, to): the previous month
// of a monthly report, otherwise the same length just before.
func previousPeriod(k Kind, from, to time.Time) (time.Time, time.Time) {
	if k == KindMonthly {
		return from.AddDate(0, -1, 0), from
	}
	return from.Add(-to.Sub(from)), from
}

// scope finds the scope's schools.
func (r *Report) scope(reg *engine.Registry) error {
	sc := r.Spec.Scope
	if sc.School != "" {
		s := reg.School(sc.School)
		if s == nil {
			return fmt.Errorf("%w: school %q", ErrUnknownScope, sc.School)
		}
		r.Schools, r.ScopeName = []*engine.School{s}, s.Name
		return nil
	}
	for _, s := range reg.Schools() {
		if s.District == sc.District {
			r.Schools = append(r.Schools, s)
		}
	}
	if len(r.Schools) == 0 {
		return fmt.Errorf("%w: district %q has no schools in the registry", ErrUnknownScope, sc.District)
	}
	r.ScopeName = sc.District
	return nil
}

// colours walks every school's colour through the period: the per-day
// counts, the time spent red and yellow, and the changes.
func (r *Report) colours(ctx context.Context, h History, ids []string, byID map[string]*engine.School) error {
	start, err := h.LevelsAtOf(ctx, ids, r.Spec.From)
	if err != nil {
		return err
	}
	changes, err := h.LevelChangesOf(ctx, ids, r.Spec.From, r.Until)
	if err != nil {
		return err
	}
	level := make(map[string]engine.Level, len(ids))
	for _, c := range start {
		level[c.SchoolID] = c.To
	}
	var days []time.Time // the local midnights that begin each day
	for d := r.Spec.From; d.Before(r.Until); d = nextDay(d, r.Loc) {
		days = append(days, d)
	}
	r.Days = make([]Day, len(days))
	periods := make(map[string]*SchoolPeriod, len(ids))
	causes := map[string]map[string]int{}
	// Walk each school's changes in order; changes are in time order.
	bySchool := map[string][]engine.LevelChange{}
	for _, c := range changes {
		bySchool[c.SchoolID] = append(bySchool[c.SchoolID], c)
		s := byID[c.SchoolID]
		r.Changes = append(r.Changes, Change{At: c.At.In(r.Loc), School: s, From: c.From, To: c.To, Cause: causeText(c)})
		if c.To == engine.LevelRed || c.To == engine.LevelYellow {
			if causes[c.SchoolID] == nil {
				causes[c.SchoolID] = map[string]int{}
			}
			causes[c.SchoolID][causeText(c)]++
		}
	}
	for _, id := range ids {
		lv := level[id]
		if lv == "" {
			lv = engine.LevelGreen
		}
		sp := &SchoolPeriod{School: byID[id]}
		cs := bySchool[id]
		t, ci := r.Spec.From, 0
		for di, d := range days {
			end := nextDay(d, r.Loc)
			if end.After(r.Until) {
				end = r.Until
			}
			red, yellow := lv == engine.LevelRed, lv == engine.LevelYellow
			for ci < len(cs) && cs[ci].At.Before(end) {
				sp.add(lv, cs[ci].At.Sub(t))
				t, lv = cs[ci].At, cs[ci].To
				red, yellow = red || lv == engine.LevelRed, yellow || lv == engine.LevelYellow
				ci++
			}
			sp.add(lv, end.Sub(t))
			t = end
			day := &r.Days[di]
			day.Date = d
			switch lv {
			case engine.LevelRed:
				day.Red++
			case engine.LevelYellow:
				day.Yellow++
			default:
				day.Green++
			}
			switch {
			case red:
				day.EverRed++
			case yellow:
				day.EverYellowish++
			}
		}
		sp.End = lv
		if sp.Red > 0 || sp.Yellow > 0 {
			periods[id] = sp
		}
	}
	for id, sp := range periods {
		for title, n := range causes[id] {
			sp.Causes = append(sp.Causes, Cause{Title: title, Count: n})
		}
		slices.SortFunc(sp.Causes, func(a, b Cause) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Title, b.Title))
		})
		if len(sp.Causes) > 3 {
			sp.Causes = sp.Causes[:3]
		}
		r.Flagged = append(r.Flagged, *sp)
	}
	slices.SortFunc(r.Flagged, func(a, b SchoolPeriod) int {
		return cmp.Or(cmp.Compare(b.Red, a.Red), cmp.Compare(b.Yellow, a.Yellow), cmp.Compare(a.School.ID, b.School.ID))
	})
	return nil
}

func (sp *SchoolPeriod) add(lv engine.Level, d time.Duration) {
	switch lv {
	case engine.LevelRed:
		sp.Red += d
	case engine.LevelYellow:
		sp.Yellow += d
	}
}

// nextDay returns the local midnight after the day that begins at d.
func nextDay(d time.Time, loc *time.Location) time.Time {
	d = d.In(loc)
	return time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc)
}

// causeText is a change's cause for people: the risk's title, the level
// policy's reason, or the sentence stored with older changes.
func causeText(c engine.LevelChange) string {
	k := c.Cause
	switch {
	case k.PolicyReason != "":
		return k.PolicyReason
	case k.Title != "":
		return k.Title
	case k.Text != "":
		return k.Text
	case k.Rule != "":
		return k.Rule
	}
	return "风险解除"
}

// risks counts the risks opened, by rule and by source.
func (r *Report) risks(ctx context.Context, h History, ids []string, set *rules.Set) error {
	counts, err := h.RiskCounts(ctx, ids, r.Spec.From, r.Until)
	if err != nil {
		return err
	}
	bySource := map[engine.Source]*SourceRow{}
	for _, c := range counts {
		row := RiskRow{Source: c.Source, SourceName: sourceName(set, c.Source), Rule: c.Rule, Level: c.Level,
			Pending: c.Pending, Title: c.Title, Opened: int(c.Opened), Schools: int(c.Schools)}
		r.Risks = append(r.Risks, row)
		s := bySource[c.Source]
		if s == nil {
			s = &SourceRow{Source: c.Source, Name: row.SourceName}
			bySource[c.Source] = s
		}
		switch c.Level {
		case engine.SeverityHigh:
			s.High += row.Opened
		case engine.SeverityMedium:
			s.Medium += row.Opened
		default:
			s.Low += row.Opened
		}
		s.Total += row.Opened
	}
	for _, s := range bySource {
		r.Sources = append(r.Sources, *s)
	}
	slices.SortFunc(r.Sources, func(a, b SourceRow) int {
		return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.Source, b.Source))
	})
	return nil
}

func sourceName(set *rules.Set, src engine.Source) string {
	if set != nil && set.Contract() != nil {
		if t := set.Contract().Title(src, false); t != "" {
			return t
		}
	}
	return string(src)
}

// alerts computes the times to acknowledge and resolve the alerts opened
// in the period, as known when the report is made.
func (r *Report) alerts(ctx context.Context, h History, byID map[string]*engine.School) error {
	f := alert.Filter{From: r.Spec.From, To: r.Until}
	if r.Spec.Scope.School != "" {
		f.School = r.Spec.Scope.School
	} else {
		f.District = r.Spec.Scope.District
	}
	as, err := h.Alerts(ctx, f)
	if err != nil {
		return err
	}
	type acc struct {
		g          AlertGroup
		ack, solve []time.Duration
	}
	total := &acc{}
	schools, steps := map[string]*acc{}, map[int]*acc{}
	for _, a := range as {
		s := byID[a.SchoolID]
		if s == nil {
			continue // a school that left the district: not in this scope
		}
		if schools[a.SchoolID] == nil {
			schools[a.SchoolID] = &acc{g: AlertGroup{School: s}}
		}
		if steps[a.Step] == nil {
			steps[a.Step] = &acc{g: AlertGroup{Step: a.Step}}
		}
		for _, x := range []*acc{total, schools[a.SchoolID], steps[a.Step]} {
			x.g.Alerts++
			if a.Level == engine.LevelRed {
				x.g.Red++
			}
			if !a.AcknowledgedAt.IsZero() {
				x.ack = append(x.ack, a.AcknowledgedAt.Sub(a.OpenedAt))
			} else if a.ResolvedAt.IsZero() {
				x.g.Unack++
			}
			if !a.ResolvedAt.IsZero() {
				x.solve = append(x.solve, a.ResolvedAt.Sub(a.OpenedAt))
			}
		}
	}
	done := func(x *acc) AlertGroup {
		x.g.Ack, x.g.Solve = durations(x.ack), durations(x.solve)
		return x.g
	}
	r.Alerts.Total = done(total)
	for _, x := range schools {
		r.Alerts.BySchool = append(r.Alerts.BySchool, done(x))
	}
	slices.SortFunc(r.Alerts.BySchool, func(a, b AlertGroup) int {
		return cmp.Or(cmp.Compare(b.Alerts, a.Alerts), cmp.Compare(a.School.ID, b.School.ID))
	})
	for _, x := range steps {
		r.Alerts.ByStep = append(r.Alerts.ByStep, done(x))
	}
	slices.SortFunc(r.Alerts.ByStep, func(a, b AlertGroup) int { return cmp.Compare(a.Step, b.Step) })
	return nil
}

// hazards counts the hazards of the period and names the oldest open at
// its end.
func (r *Report) hazards(ctx context.Context, h History, byID map[string]*engine.School) error {
	hs, err := h.LoadHazards(ctx, r.Spec.From)
	if err != nil {
		return err
	}
	st := &r.Hazards
	var verify []time.Duration
	end := r.Until
	for _, z := range hs {
		s := byID[z.SchoolID]
		if s == nil || !z.CreatedAt.Before(end) {
			continue
		}
		if !z.CreatedAt.Before(r.Spec.From) {
			st.Opened++
		}
		verified := !z.VerifiedAt.IsZero() && z.VerifiedAt.Before(end)
		if verified && !z.VerifiedAt.Before(r.Spec.From) {
			st.Verified++
			verify = append(verify, z.VerifiedAt.Sub(z.CreatedAt))
		}
		if verified {
			continue
		}
		st.OpenAtEnd++
		row := HazardRow{ID: z.ID, School: s, Title: z.Title, Status: z.Status, Created: z.CreatedAt.In(r.Loc),
			Deadline: z.Deadline.In(r.Loc)}
		if !z.VerifiedAt.IsZero() {
			row.Status = hazard.StatusSubmitted // verified since: its status at the end is not known, only that it was open
		}
		if !z.Deadline.IsZero() && z.Deadline.Before(end) {
			st.OverdueAtEnd++
			row.Overdue = true
		}
		if z.Supervised() && z.SupervisedAt.Before(end) {
			st.SupervisedAtEnd++
			row.Supervised = true
		}
		st.Oldest = append(st.Oldest, row)
	}
	st.VerifyTime = durations(verify)
	slices.SortFunc(st.Oldest, func(a, b HazardRow) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	if len(st.Oldest) > 10 {
		st.Oldest = st.Oldest[:10]
	}
	return nil
}

// span is a time a routine's risk was active; an end of zero lasts.
type span struct{ from, to time.Time }

// routines computes the compliance of every inspection routine: owed on
// each day as the absence check's `on` and entities say, missed when its
// risk was active at the deadline (a daily routine) or at some time that
// day (a routine with a longest gap). Days before the first stored event of
// the scope's schools are not counted.
func (r *Report) routines(ctx context.Context, h History, ids []string, byID map[string]*engine.School, set *rules.Set) error {
	routines := set.Routines()
	if len(routines) == 0 {
		return nil
	}
	names := make([]string, len(routines))
	for i, rt := range routines {
		names[i] = rt.Rule
	}
	steps, err := h.RiskSteps(ctx, ids, names, r.Spec.From.Add(-routineLookback), r.Until)
	if err != nil {
		return err
	}
	// Before the first event of the scope's schools nothing was watched:
	// the days before it are not counted, rather than counted done.
	first, err := h.FirstEvent(ctx, ids)
	if err != nil {
		return err
	}
	if first.IsZero() {
		return nil
	}
	firstDay := first.In(r.Loc)
	firstDay = time.Date(firstDay.Year(), firstDay.Month(), firstDay.Day(), 0, 0, 0, 0, r.Loc)
	type key struct{ school, rule, key string }
	spans := map[key][]span{}
	for _, st := range steps {
		k := key{st.SchoolID, st.Rule, st.Key}
		ss := spans[k]
		open := len(ss) > 0 && ss[len(ss)-1].to.IsZero()
		switch st.State {
		case engine.RiskOpened:
			if !open {
				spans[k] = append(ss, span{from: st.At})
			}
		case engine.RiskExpired, engine.RiskCleared, engine.RiskRemoved, engine.RiskResolved, engine.RiskFalseAlarm:
			if open {
				ss[len(ss)-1].to = st.At
			}
		}
	}
	active := func(k key, from, to time.Time) bool {
		for _, s := range spans[k] {
			if !s.from.After(to) && (s.to.IsZero() || s.to.After(from)) {
				return true
			}
		}
		return false
	}
	for _, rt := range routines {
		row := RoutineRow{Rule: rt.Rule}
		for d := r.Spec.From; d.Before(r.Until); d = nextDay(d, r.Loc) {
			end := nextDay(d, r.Loc)
			if rt.By > 0 {
				end = d.Add(rt.By)
			} else if end.After(r.Until) {
				end = r.Until
			}
			if end.After(r.Until) || d.Before(firstDay) {
				continue // the deadline has not come yet, or nothing was watched yet
			}
			for _, id := range ids {
				keys, title, err := set.RoutineDue(rt.Rule, byID[id], d)
				if err != nil {
					return err
				}
				if row.Title == "" || len(keys) > 0 && row.Title != title && row.Due == 0 {
					row.Title = title
				}
				for _, k := range keys {
					row.Due++
					from := d
					if rt.By > 0 {
						from = end // active at the deadline itself
					}
					if !active(key{id, rt.Rule, k}, from, end) {
						row.Done++
					}
				}
			}
		}
		if row.Due > 0 {
			r.Routines = append(r.Routines, row)
		}
	}
	return nil
}

// checks sums what human checks found of machine detections by rule.
func (r *Report) checks(cs []store.CheckCount) {
	by := map[string]*CheckRow{}
	for _, c := range cs {
		row := by[c.Rule]
		if row == nil {
			row = &CheckRow{Rule: c.Rule}
			by[c.Rule] = row
		}
		row.Pending += int(c.Pending)
		row.Confirmed += int(c.Confirmed)
		row.FalseAlarm += int(c.FalseAlarms)
	}
	for _, row := range by {
		r.Checks = append(r.Checks, *row)
	}
	slices.SortFunc(r.Checks, func(a, b CheckRow) int { return cmp.Compare(a.Rule, b.Rule) })
}

func (r *Report) totals() *Totals {
	t := &Totals{Alerts: r.Alerts.Total.Alerts, HazardsOpened: r.Hazards.Opened, HazardsVerified: r.Hazards.Verified}
	for _, f := range r.Flagged {
		t.RedDays += f.Red.Hours() / 24
		t.YellowDays += f.Yellow.Hours() / 24
		switch {
		case f.Red > 0:
			t.EverRed++
		case f.Yellow > 0:
			t.EverYellow++
		}
	}
	for _, x := range r.Risks {
		t.Risks += x.Opened
	}
	for _, x := range r.Routines {
		t.RoutineDue += x.Due
		t.RoutineOK += x.Done
	}
	return t
}
