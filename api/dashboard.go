package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/hazard"
	"github.com/sanse-campus/sanse/engine/notify"
	"github.com/sanse-campus/sanse/engine/words"
)

// ColourCount is how many schools of a set had each colour at one moment.
type ColourCount struct {
	At                 time.Time
	Red, Yellow, Green int
}

// ColourCountsFunc counts, for each moment of at, how many of the schools
// schoolIDs names were red, yellow and green then, from the history: each
// school has the colour of its last change stored before the moment, and a
// school with none was green. It returns one count per moment, in the order
// of at. It is provided by the history store and must honour ctx: the
// request's context is cancelled when the client goes away.
type ColourCountsFunc func(ctx context.Context, schoolIDs []string, at []time.Time) ([]ColourCount, error)

// Dashboard sizes.
const (
	// dashboardItems is how many alerts and hazards the dashboard lists.
	dashboardItems = 20
	// defaultDashboardDays is the days of the colour series without days.
	defaultDashboardDays = 7
)

// dashboardDays are the values the days parameter accepts.
var dashboardDays = []int{7, 30}

// otherSource is the name of the risks of no declared source (a hazard of
// the category 消防 or 其他).
const otherSource = "其他"

// ageBucket is one age range of unacknowledged alerts: those opened at least
// from and less than to ago (no upper bound when to is zero).
type ageBucket struct {
	name     string
	from, to time.Duration
}

// alertAges are the age ranges of unacknowledged alerts, youngest first.
var alertAges = []ageBucket{
	{"lt_15m", 0, 15 * time.Minute},
	{"15m_1h", 15 * time.Minute, time.Hour},
	{"1h_4h", time.Hour, 4 * time.Hour},
	{"4h_24h", 4 * time.Hour, 24 * time.Hour},
	{"gt_24h", 24 * time.Hour, 0},
}

// dashboardBody is the body of GET /api/v1/dashboard.
type dashboardBody struct {
	GeneratedAt time.Time `json:"generated_at"`
	// Days is how many days ColoursByDay holds.
	Days int `json:"days"`
	// Schools counts the schools of the scope and the district and town
	// filters.
	Schools       int           `json:"schools"`
	ColoursByDay  []dayColours  `json:"colours_by_day"`
	RisksBySource []sourceRisks `json:"risks_by_source"`
	RisksByTown   []townRisks   `json:"risks_by_town"`
	// AlertsUnacknowledged is null when the server has no alerts, and
	// HazardsOverdue when it has no hazards.
	AlertsUnacknowledged *alertBacklog   `json:"alerts_unacknowledged"`
	HazardsOverdue       *overdueHazards `json:"hazards_overdue"`
	// Compliance is today's inspection-routine compliance so far; null
	// when the server has no history to read it from.
	Compliance *complianceToday `json:"compliance"`
}

// ComplianceFunc returns the compliance of the inspection routines (晨检,
// 留样, 巡查, …) at the schools on the local day that holds now, counting
// the deadlines passed by now.
type ComplianceFunc func(ctx context.Context, schools []*engine.School, now time.Time) ([]RoutineCompliance, error)

// RoutineCompliance is one routine's compliance: how many times it was
// owed (school × entity) and how many of them were done on time.
type RoutineCompliance struct {
	Rule    string  `json:"rule"`
	Title   string  `json:"title"`
	Due     int     `json:"due"`
	Done    int     `json:"done"`
	Percent float64 `json:"percent"`
}

// complianceToday is the dashboard's compliance panel.
type complianceToday struct {
	Date     string              `json:"date"`
	Routines []RoutineCompliance `json:"routines"`
}

// dayColours counts the schools by colour at the end of one local day, or
// now for today.
type dayColours struct {
	Date string `json:"date"`
	// At is the moment counted: the end of the day, or now.
	At     time.Time `json:"at"`
	Red    int       `json:"red"`
	Yellow int       `json:"yellow"`
	Green  int       `json:"green"`
}

// riskCounts counts active risks by level; Pending counts those of them
// waiting for a human check (待核实), which are also counted at their level.
type riskCounts struct {
	High    int `json:"high"`
	Medium  int `json:"medium"`
	Low     int `json:"low"`
	Pending int `json:"pending"`
	Total   int `json:"total"`
}

func (c *riskCounts) add(r *engine.Risk) {
	switch r.Severity {
	case engine.SeverityHigh:
		c.High++
	case engine.SeverityMedium:
		c.Medium++
	case engine.SeverityLow:
		c.Low++
	}
	if r.Pending {
		c.Pending++
	}
	c.Total++
}

// sourceRisks counts the active risks of one source.
type sourceRisks struct {
	Source engine.Source `json:"source"`
	Name   string        `json:"name"`
	riskCounts
}

// townRisks counts the active risks and the schools by colour of one town.
type townRisks struct {
	District string `json:"district"`
	Town     string `json:"town"`
	Schools  int    `json:"schools"`
	riskCounts
	Red    int `json:"red"`
	Yellow int `json:"yellow"`
	Green  int `json:"green"`
}

// alertBacklog is what the unacknowledged alerts (待处置) are.
type alertBacklog struct {
	Count          int          `json:"count"`
	OldestOpenedAt *time.Time   `json:"oldest_opened_at"`
	ByAge          []ageCount   `json:"by_age"`
	Items          []alertBrief `json:"items"`
}

type ageCount struct {
	Bucket string `json:"bucket"`
	Count  int    `json:"count"`
}

// alertBrief is one alert on the dashboard.
type alertBrief struct {
	ID         string       `json:"id"`
	SchoolID   string       `json:"school_id"`
	SchoolName string       `json:"school_name"`
	District   string       `json:"district"`
	Town       string       `json:"town"`
	Level      engine.Level `json:"level"`
	LevelZh    string       `json:"level_zh"`
	Title      string       `json:"title"`
	OpenedAt   time.Time    `json:"opened_at"`
	AgeSeconds int64        `json:"age_seconds"`
	Step       int          `json:"step"`
	StepName   string       `json:"step_name"`
}

// overdueHazards is what the hazards past their deadline are.
type overdueHazards struct {
	Count      int           `json:"count"`
	Supervised int           `json:"supervised"`
	Items      []hazardBrief `json:"items"`
}

// hazardBrief is one hazard on the dashboard.
type hazardBrief struct {
	ID          string        `json:"id"`
	SchoolID    string        `json:"school_id"`
	SchoolName  string        `json:"school_name"`
	District    string        `json:"district"`
	Town        string        `json:"town"`
	Title       string        `json:"title"`
	Category    string        `json:"category"`
	Status      hazard.Status `json:"status"`
	StatusZh    string        `json:"status_zh"`
	Deadline    time.Time     `json:"deadline"`
	DaysOverdue int           `json:"days_overdue"`
	Supervised  bool          `json:"supervised"`
}

// dashboardQuery is what the query parameters of GET /api/v1/dashboard ask.
type dashboardQuery struct {
	districts, towns []string
	// sources is nil for every source.
	sources []engine.Source
	days    int
}

// routeDashboard registers GET /api/v1/dashboard when opts.ColourCounts is
// set; the alerts and hazards are those of opts, left out when nil.
func (s *Server) routeDashboard(e *echo.Echo, opts Options, scoped echo.MiddlewareFunc) {
	if opts.ColourCounts == nil {
		return
	}
	e.GET("/api/v1/dashboard", s.handleDashboard(opts.ColourCounts, opts.Compliance, opts.Alerts, opts.Hazards), scoped)
}

// handleDashboard serves GET /api/v1/dashboard: the panels of a district
// office's dashboard (数据大屏) over the schools of the caller's scope,
// narrowed by district and town, with risks, alerts and hazards narrowed by
// source: the colours at the end of each of the last days, the active
// risks per source and per town, the unacknowledged alerts by age and the
// overdue hazards.
func (s *Server) handleDashboard(counts ColourCountsFunc, compliance ComplianceFunc, alerts AlertService, hazards HazardService) echo.HandlerFunc {
	return func(c echo.Context) error {
		q, err := s.dashboardQuery(c)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		scope := ScopeFrom(ctx)
		now := s.now()
		views := s.schools.Views(func(school *engine.School) bool {
			return scope.Allows(school) &&
				(q.districts == nil || slices.Contains(q.districts, school.District)) &&
				(q.towns == nil || slices.Contains(q.towns, school.Town))
		})
		selected := make(map[string]*engine.School, len(views))
		for _, v := range views {
			selected[v.School.ID] = v.School
		}

		body := dashboardBody{GeneratedAt: local(now), Days: q.days, Schools: len(views)}
		if body.ColoursByDay, err = s.coloursByDay(ctx, counts, views, q.days, now); err != nil {
			return err
		}
		body.RisksBySource, body.RisksByTown = s.risksOf(views, q.sources)
		if alerts != nil {
			if body.AlertsUnacknowledged, err = s.alertBacklog(ctx, alerts, scope, selected, q.sources, now); err != nil {
				return err
			}
		}
		if hazards != nil {
			body.HazardsOverdue = overdueOf(hazards, selected, q.sources, now)
		}
		if compliance != nil {
			schools := make([]*engine.School, len(views))
			for i, v := range views {
				schools[i] = v.School
			}
			rows, err := compliance(ctx, schools, now)
			if err != nil {
				return err
			}
			body.Compliance = &complianceToday{Date: local(now).Format(time.DateOnly), Routines: rows}
			if body.Compliance.Routines == nil {
				body.Compliance.Routines = []RoutineCompliance{}
			}
		}
		return c.JSON(http.StatusOK, body)
	}
}

// dashboardQuery parses the parameters district, town and source (each
// repeatable or comma-separated) and days.
func (s *Server) dashboardQuery(c echo.Context) (dashboardQuery, error) {
	params := c.QueryParams()
	q := dashboardQuery{districts: listParam(params["district"]), towns: listParam(params["town"]), days: defaultDashboardDays}
	for _, v := range listParam(params["source"]) {
		src := engine.Source(v)
		if !slices.Contains(s.sources, src) {
			names := make([]string, len(s.sources))
			for i, x := range s.sources {
				names[i] = string(x)
			}
			return q, httpError(http.StatusBadRequest, "invalid parameter source: unknown source %q, expected one of %s",
				v, strings.Join(names, ", "))
		}
		q.sources = append(q.sources, src)
	}
	if v := strings.TrimSpace(c.QueryParam("days")); v != "" {
		d, err := strconv.Atoi(v)
		if err != nil || !slices.Contains(dashboardDays, d) {
			return q, httpError(http.StatusBadRequest, "invalid parameter days: %q is not 7 or 30", v)
		}
		q.days = d
	}
	return q, nil
}

// coloursByDay counts the schools of views by colour at the end of each of
// the last days local days, oldest first, today's count being now's.
func (s *Server) coloursByDay(ctx context.Context, counts ColourCountsFunc, views []engine.SchoolSummary, days int, now time.Time) ([]dayColours, error) {
	n := local(now)
	today := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, engine.Shanghai)
	dates := make([]time.Time, days)
	ends := make([]time.Time, days)
	for i := range days {
		dates[i] = today.AddDate(0, 0, i-days+1)
		ends[i] = dates[i].AddDate(0, 0, 1)
	}
	ends[days-1] = now
	if err := s.checkHorizon("days", dates[0]); err != nil {
		return nil, err
	}
	ids := make([]string, len(views))
	for i, v := range views {
		ids[i] = v.School.ID
	}
	got, err := counts(ctx, ids, ends)
	if err == nil && len(got) != len(ends) {
		err = fmt.Errorf("%d counts for %d moments", len(got), len(ends))
	}
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			s.logger.LogAttrs(ctx, slog.LevelDebug, "dashboard query cancelled")
			return nil, httpError(http.StatusServiceUnavailable, "request cancelled")
		}
		return nil, httpError(http.StatusInternalServerError, "could not read the colours of the last %d days", days).
			SetInternal(fmt.Errorf("colours at the ends of %d days: %w", days, err))
	}
	out := make([]dayColours, days)
	for i, c := range got {
		out[i] = dayColours{Date: dates[i].Format(time.DateOnly), At: local(ends[i]), Red: c.Red, Yellow: c.Yellow, Green: c.Green}
	}
	return out, nil
}

// risksOf counts the active risks of the schools of views, of the sources
// (all when nil), per source and per town; the towns also count their
// schools by colour now, whatever the sources. Sources are in the contract's
// order (only those asked for, when sources is set), those it does not
// declare after them; towns by district and town.
func (s *Server) risksOf(views []engine.SchoolSummary, sources []engine.Source) ([]sourceRisks, []townRisks) {
	bySource := map[engine.Source]*riskCounts{}
	type townKey struct{ district, town string }
	byTown := map[townKey]*townRisks{}
	for i := range views {
		v := &views[i]
		k := townKey{v.School.District, v.School.Town}
		t := byTown[k]
		if t == nil {
			t = &townRisks{District: k.district, Town: k.town}
			byTown[k] = t
		}
		t.Schools++
		switch v.Level {
		case engine.LevelRed:
			t.Red++
		case engine.LevelYellow:
			t.Yellow++
		default:
			t.Green++
		}
		if v.ActiveRisks == 0 {
			continue
		}
		full, ok := s.schools.View(v.School.ID)
		if !ok {
			continue
		}
		for j := range full.Risks {
			r := &full.Risks[j]
			if sources != nil && !slices.Contains(sources, r.Source) {
				continue
			}
			c := bySource[r.Source]
			if c == nil {
				c = &riskCounts{}
				bySource[r.Source] = c
			}
			c.add(r)
			t.add(r)
		}
	}

	var listed []engine.Source
	for _, src := range s.sources {
		if sources == nil || slices.Contains(sources, src) {
			listed = append(listed, src)
		}
	}
	if sources == nil {
		var others []engine.Source
		for src := range bySource {
			if !slices.Contains(listed, src) {
				others = append(others, src)
			}
		}
		slices.Sort(others)
		listed = append(listed, others...)
	}
	outSources := make([]sourceRisks, 0, len(listed))
	for _, src := range listed {
		sr := sourceRisks{Source: src, Name: s.sourceName(src)}
		if c := bySource[src]; c != nil {
			sr.riskCounts = *c
		}
		outSources = append(outSources, sr)
	}
	outTowns := make([]townRisks, 0, len(byTown))
	for _, t := range byTown {
		outTowns = append(outTowns, *t)
	}
	slices.SortFunc(outTowns, func(a, b townRisks) int {
		return cmp.Or(strings.Compare(a.District, b.District), strings.Compare(a.Town, b.Town))
	})
	return outSources, outTowns
}

// sourceName returns the Chinese title of src from the declared contract,
// its own name when it is not declared, or otherSource for none.
func (s *Server) sourceName(src engine.Source) string {
	for _, m := range s.meta.Sources {
		if m.ID == string(src) {
			return m.Zh
		}
	}
	if src == "" {
		return otherSource
	}
	return string(src)
}

// alertBacklog reads the unacknowledged (firing) alerts of the selected
// schools, of the sources (all when nil), and counts them by age at now.
// The query is narrowed to the scope's district or school when it has one;
// the selected schools decide in any case.
func (s *Server) alertBacklog(ctx context.Context, svc AlertService, scope Scope, selected map[string]*engine.School, sources []engine.Source, now time.Time) (*alertBacklog, error) {
	f := alert.Filter{Status: []alert.Status{alert.StatusFiring}}
	if len(scope.Any) == 0 {
		f.District, f.School = scope.District, scope.School
	}
	var (
		list []*alert.Alert
		err  error
	)
	if len(selected) > 0 {
		list, err = svc.List(ctx, f)
	}
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return nil, httpError(http.StatusServiceUnavailable, "request cancelled")
		}
		return nil, httpError(http.StatusInternalServerError, "could not read the alerts").SetInternal(err)
	}
	var kept []*alert.Alert
	for _, a := range list {
		if a.Status != alert.StatusFiring || selected[a.SchoolID] == nil ||
			(sources != nil && !slices.Contains(sources, a.Source)) {
			continue
		}
		kept = append(kept, a)
	}
	slices.SortFunc(kept, func(a, b *alert.Alert) int {
		return cmp.Or(a.OpenedAt.Compare(b.OpenedAt), strings.Compare(a.ID, b.ID))
	})

	out := &alertBacklog{Count: len(kept), ByAge: make([]ageCount, len(alertAges)), Items: []alertBrief{}}
	for i, b := range alertAges {
		out.ByAge[i].Bucket = b.name
	}
	if len(kept) > 0 {
		oldest := local(kept[0].OpenedAt)
		out.OldestOpenedAt = &oldest
	}
	for i, a := range kept {
		age := max(now.Sub(a.OpenedAt), 0)
		for j, b := range alertAges {
			if age >= b.from && (b.to == 0 || age < b.to) {
				out.ByAge[j].Count++
				break
			}
		}
		if i >= dashboardItems {
			continue
		}
		school := selected[a.SchoolID]
		out.Items = append(out.Items, alertBrief{
			ID: a.ID, SchoolID: a.SchoolID, SchoolName: school.Name, District: school.District, Town: school.Town,
			Level: a.Level, LevelZh: words.Level(a.Level, words.Chinese), Title: a.Title,
			OpenedAt: local(a.OpenedAt), AgeSeconds: int64(age / time.Second), Step: a.Step, StepName: notify.StepName(a.Step),
		})
	}
	return out, nil
}

// overdueOf lists the hazards of the selected schools, of the sources (all
// when nil), that are past their deadline at now: most overdue first.
func overdueOf(svc HazardService, selected map[string]*engine.School, sources []engine.Source, now time.Time) *overdueHazards {
	list := svc.List(hazard.Filter{Overdue: true, Now: now, School: func(id string) bool { return selected[id] != nil }})
	slices.SortFunc(list, func(a, b *hazard.Hazard) int {
		return cmp.Or(a.Deadline.Compare(b.Deadline), strings.Compare(a.ID, b.ID))
	})
	out := &overdueHazards{Items: []hazardBrief{}}
	for _, h := range list {
		if !h.Overdue(now) || selected[h.SchoolID] == nil || (sources != nil && !slices.Contains(sources, h.Source())) {
			continue
		}
		out.Count++
		if h.Supervised() {
			out.Supervised++
		}
		if len(out.Items) == dashboardItems {
			continue
		}
		school := selected[h.SchoolID]
		out.Items = append(out.Items, hazardBrief{
			ID: h.ID, SchoolID: h.SchoolID, SchoolName: school.Name, District: school.District, Town: school.Town,
			Title: h.Title, Category: h.Category, Status: h.Status, StatusZh: h.Status.Chinese(),
			Deadline: local(h.Deadline), DaysOverdue: int(now.Sub(h.Deadline) / (24 * time.Hour)), Supervised: h.Supervised(),
		})
	}
	return out
}
