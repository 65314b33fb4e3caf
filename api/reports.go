package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/auth"
	"github.com/sanse-campus/sanse/engine/report"
)

// ReportService is the report archive (排查报告) as the API uses it;
// *report.Service satisfies it. Every method must be safe for concurrent
// use. The API narrows List to the caller's scope and checks the scope
// before it calls Generate or hands out a report.
type ReportService interface {
	// List returns the archived reports f selects, newest first.
	List(ctx context.Context, f report.Filter) ([]report.Entry, error)
	// Get returns a report's entry, or an error wrapping report.ErrNotFound.
	Get(ctx context.Context, id string) (report.Entry, error)
	// Content returns a report's rendering, or an error wrapping
	// report.ErrNotFound or report.ErrNoContent.
	Content(ctx context.Context, id string, f report.Format) ([]byte, error)
	// Generate makes the report spec asks for, archives it and returns its
	// entry; an error wrapping report.ErrUnknownScope, report.ErrBusy or
	// report.ErrUnavailable says why not.
	Generate(ctx context.Context, spec report.Spec) (report.Entry, error)
}

// reportTimeout bounds making one report on demand; like a hazard's
// registration, a report once begun is finished (and archived) if the
// client goes away.
const reportTimeout = 3 * time.Minute

// routeReports registers the report endpoints on e behind the scope
// middleware scoped.
func (s *Server) routeReports(e *echo.Echo, svc ReportService, zone *time.Location, scoped echo.MiddlewareFunc) {
	if zone == nil {
		zone = engine.Shanghai
	}
	e.GET("/api/v1/reports", s.handleReports(svc, zone), scoped)
	e.POST("/api/v1/reports", s.handleCreateReport(svc, zone), scoped)
	e.GET("/api/v1/reports/:id", s.handleReport(svc, zone), scoped)
}

// reportScopeJSON is what a report covers: a district, or a school (with
// its name when the registry has it).
type reportScopeJSON struct {
	District   string `json:"district,omitempty"`
	SchoolID   string `json:"school_id,omitempty"`
	SchoolName string `json:"school_name,omitempty"`
}

// reportJSON is one report of the archive as the API shows it. From and To
// are the first and the last day of the period, local dates, as POST takes
// them.
type reportJSON struct {
	ID          string          `json:"id"`
	Kind        report.Kind     `json:"kind"`
	Scope       reportScopeJSON `json:"scope"`
	From        string          `json:"from"`
	To          string          `json:"to"`
	Title       string          `json:"title"`
	GeneratedAt time.Time       `json:"generated_at"`
	Formats     []report.Format `json:"formats"`
	Summary     report.Summary  `json:"summary"`
	// Schedule names the schedule that made the report; "" for one made on
	// demand.
	Schedule string `json:"schedule"`
}

// reportList is the body of GET /api/v1/reports.
type reportList struct {
	Reports []reportJSON `json:"reports"`
	// Next is the offset of the next page; absent on the last page.
	Next *int `json:"next,omitempty"`
}

func (s *Server) newReportJSON(e report.Entry, zone *time.Location) reportJSON {
	j := reportJSON{
		ID: e.ID, Kind: e.Spec.Kind, From: e.Spec.From.In(zone).Format(time.DateOnly),
		To:    e.Spec.To.Add(-time.Nanosecond).In(zone).Format(time.DateOnly),
		Title: e.Title, GeneratedAt: local(e.Generated), Formats: e.Formats, Summary: e.Summary, Schedule: e.Schedule,
		Scope: reportScopeJSON{District: e.Spec.Scope.District, SchoolID: e.Spec.Scope.School},
	}
	if j.Formats == nil {
		j.Formats = []report.Format{}
	}
	if e.Spec.Scope.School != "" {
		if v, ok := s.schools.View(e.Spec.Scope.School); ok {
			j.Scope.SchoolName = v.School.Name
		}
	}
	return j
}

// reportGrants returns the grants of a scope for report.Filter, and false
// when the scope allows no report.
func reportGrants(scope Scope) ([]report.Scope, bool) {
	if len(scope.Any) > 0 {
		var out []report.Scope
		for _, g := range scope.Any {
			gs, ok := reportGrants(g)
			if !ok {
				continue
			}
			if gs == nil {
				return nil, true // one grant sees everything
			}
			out = append(out, gs...)
		}
		return out, len(out) > 0
	}
	if scope.District == "" && scope.School == "" {
		return nil, scope.All
	}
	return []report.Scope{{District: scope.District, School: scope.School}}, true
}

// reportAllowed reports whether scope may see the report e.
func reportAllowed(scope Scope, e report.Entry) bool {
	grants, ok := reportGrants(scope)
	if !ok {
		return false
	}
	if grants == nil {
		return true
	}
	for _, g := range grants {
		if (g.District == "" || g.District == e.District) && (g.School == "" || g.School == e.Spec.Scope.School) {
			return true
		}
	}
	return false
}

// parseReportDay reads a local date (2026-11-01) or an RFC 3339 time.
func parseReportDay(name, v string, zone *time.Location) (time.Time, error) {
	v = strings.TrimSpace(v)
	if t, err := time.ParseInLocation(time.DateOnly, v, zone); err == nil {
		return t, nil
	}
	if t, err := parseTime(name, v); err == nil {
		return t, nil
	}
	return time.Time{}, httpError(http.StatusBadRequest, "invalid %s %q: expected a date such as 2026-11-01 (or an RFC 3339 time such as %s)", name, v, timeExample)
}

// handleReports serves GET /api/v1/reports: the archived reports of the
// caller's scope, newest first, filtered by district, school, kind, scope
// (district or school reports) and the period (from, to: the reports that
// cover any day of it), paged by limit and offset.
func (s *Server) handleReports(svc ReportService, zone *time.Location) echo.HandlerFunc {
	return func(c echo.Context) error {
		q := c.QueryParams()
		f := report.Filter{District: strings.TrimSpace(q.Get("district")), School: strings.TrimSpace(q.Get("school"))}
		var err error
		if v := q.Get("kind"); v != "" {
			if f.Kind, err = report.ParseKind(v); err != nil {
				return httpError(http.StatusBadRequest, "invalid parameter kind: %v", err)
			}
		}
		switch v := q.Get("scope"); v {
		case "", "district", "school":
			f.ScopeKind = v
		default:
			return httpError(http.StatusBadRequest, "invalid parameter scope %q: expected district (district reports) or school (school reports)", v)
		}
		if v := q.Get("from"); v != "" {
			if f.From, err = parseReportDay("from", v, zone); err != nil {
				return err
			}
		}
		if v := q.Get("to"); v != "" {
			if f.To, err = parseReportDay("to", v, zone); err != nil {
				return err
			}
			if _, dateOnly := time.ParseInLocation(time.DateOnly, strings.TrimSpace(v), zone); dateOnly == nil {
				f.To = f.To.AddDate(0, 0, 1) // the last day, inclusive
			}
		}
		if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
			return httpError(http.StatusBadRequest, "the period ends before it begins: from %s, to %s", q.Get("from"), q.Get("to"))
		}
		if f.Limit, err = parseLimit(q.Get("limit")); err != nil {
			return err
		}
		if v := q.Get("offset"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 1<<30 {
				return httpError(http.StatusBadRequest, "invalid parameter offset: %q is not a number from 0", v)
			}
			f.Offset = n
		}
		grants, ok := reportGrants(ScopeFrom(c.Request().Context()))
		f.Grants, f.None = grants, !ok
		list, err := svc.List(c.Request().Context(), f)
		if err != nil {
			return httpError(http.StatusInternalServerError, "could not read the reports").SetInternal(err)
		}
		body := reportList{Reports: make([]reportJSON, 0, len(list))}
		for _, e := range list {
			body.Reports = append(body.Reports, s.newReportJSON(e, zone))
		}
		if len(list) == f.Limit {
			next := f.Offset + f.Limit
			body.Next = &next
		}
		return c.JSON(http.StatusOK, body)
	}
}

// handleReport serves GET /api/v1/reports/:id?format=html|csv|pdf: the
// report's rendering as a file (Content-Disposition attachment, its file
// name in UTF-8), or with inline=true for the browser to show it (in a
// sandbox: no script runs, nothing is loaded).
func (s *Server) handleReport(svc ReportService, zone *time.Location) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Param("id")
		if c.Request().URL.RawPath != "" {
			var err error
			if id, err = url.PathUnescape(id); err != nil {
				return httpError(http.StatusBadRequest, "invalid report id %q: %v", c.Param("id"), err)
			}
		}
		format := report.FormatHTML
		if v := c.QueryParam("format"); v != "" {
			var err error
			if format, err = report.ParseFormat(v); err != nil {
				return httpError(http.StatusBadRequest, "invalid parameter format: %v", err)
			}
		}
		inline := false
		if v := c.QueryParam("inline"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return httpError(http.StatusBadRequest, "invalid parameter inline: %q is not true or false", v)
			}
			inline = b
		}
		ctx := c.Request().Context()
		e, err := svc.Get(ctx, id)
		switch {
		case errors.Is(err, report.ErrNotFound):
			return httpError(http.StatusNotFound, "report %q not found", id)
		case err != nil:
			return httpError(http.StatusInternalServerError, "could not read report %q", id).SetInternal(err)
		case !reportAllowed(ScopeFrom(ctx), e):
			return httpError(http.StatusNotFound, "report %q not found", id)
		}
		b, err := svc.Content(ctx, id, format)
		switch {
		case errors.Is(err, report.ErrNoContent) && format == report.FormatPDF:
			return httpError(http.StatusNotFound, "report %q has no PDF: no PDF renderer was available when this report was made; download it as html or csv", id)
		case errors.Is(err, report.ErrNoContent):
			return httpError(http.StatusNotFound, "report %q has no %s rendering", id, format)
		case errors.Is(err, report.ErrNotFound):
			return httpError(http.StatusNotFound, "report %q not found", id)
		case err != nil:
			return httpError(http.StatusInternalServerError, "could not read report %q", id).SetInternal(err)
		}
		h := c.Response().Header()
		disposition := "attachment"
		if inline {
			disposition = "inline"
			// A report shown in the browser runs nothing and loads nothing:
			// its charts are inline SVG, its styles inline.
			h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox")
		}
		// The file is named by the local dates of the period.
		e.Spec.From, e.Spec.To = e.Spec.From.In(zone), e.Spec.To.In(zone)
		h.Set("Content-Disposition", contentDisposition(disposition, e.FileName(format)))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "private, max-age=300")
		return c.Blob(http.StatusOK, format.ContentType(), b)
	}
}

// contentDisposition returns a Content-Disposition with the file name:
// filename= in ASCII (what is not ASCII left out) for old clients, and the
// whole name as RFC 6266's filename* (UTF-8, percent-encoded).
func contentDisposition(disposition, name string) string {
	var ascii strings.Builder
	for _, r := range name {
		if r > 0x20 && r < 0x7f && r != '"' && r != '\\' && r != '%' {
			ascii.WriteRune(r)
		}
	}
	fallback := strings.ReplaceAll(ascii.String(), "--", "-")
	return disposition + `; filename="` + fallback + `"; filename*=UTF-8''` + url.PathEscape(name)
}

// createReportRequest is the body of POST /api/v1/reports.
type createReportRequest struct {
	Kind     string `json:"kind"`
	District string `json:"district"`
	SchoolID string `json:"school_id"`
	From     string `json:"from"`
	To       string `json:"to"`
}

const createReportFields = `kind (custom, daily, weekly, monthly), district or school_id, from and to (dates such as "2026-11-01", both inclusive)`

// handleCreateReport serves POST /api/v1/reports: make a report now for a
// district or a school of the caller's scope and a period of local dates,
// both inclusive. The answer, 201 Created, is the archived report's entry.
func (s *Server) handleCreateReport(svc ReportService, zone *time.Location) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req createReportRequest
		if err := readJSON(c, &req, createReportFields); err != nil {
			return err
		}
		spec, err := s.reportSpec(c, req, zone)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), reportTimeout)
		defer cancel()
		var e report.Entry
		err = s.audited(c, audit{Action: auth.ActionReportCreate, Target: spec.Scope.String(), School: spec.Scope.School,
			Detail: map[string]any{"kind": spec.Kind, "from": req.From, "to": req.To}}, func() error {
			e, err = svc.Generate(ctx, spec)
			return reportError(c, err, spec)
		})
		if err != nil {
			return err
		}
		s.logger.LogAttrs(ctx, slog.LevelInfo, "report made on demand", slog.String("report", e.ID),
			slog.String("scope", spec.Scope.String()), slog.String("actor", actorOf(c, "")))
		c.Response().Header().Set(echo.HeaderLocation, "/api/v1/reports/"+url.PathEscape(e.ID))
		return c.JSON(http.StatusCreated, s.newReportJSON(e, zone))
	}
}

// reportSpec checks a request and returns what it asks for.
func (s *Server) reportSpec(c echo.Context, req createReportRequest, zone *time.Location) (report.Spec, error) {
	var spec report.Spec
	kind := strings.TrimSpace(req.Kind)
	if kind == "" {
		kind = string(report.KindCustom)
	}
	k, err := report.ParseKind(kind)
	if err != nil {
		return spec, httpError(http.StatusBadRequest, "invalid field kind: %v", err)
	}
	district, school := strings.TrimSpace(req.District), strings.TrimSpace(req.SchoolID)
	switch {
	case district == "" && school == "":
		return spec, httpError(http.StatusBadRequest, `missing field "district" or "school_id": a report covers a district or one school`)
	case district != "" && school != "":
		return spec, httpError(http.StatusBadRequest, `set "district" or "school_id", not both: a report covers a district or one school`)
	}
	var missing []string
	for _, f := range []struct{ name, value string }{{"from", req.From}, {"to", req.To}} {
		if strings.TrimSpace(f.value) == "" {
			missing = append(missing, strconv.Quote(f.name))
		}
	}
	if len(missing) > 0 {
		return spec, httpError(http.StatusBadRequest, "missing required %s %s: the first and the last day of the period, such as \"2026-11-01\" and \"2026-11-30\"",
			plural(len(missing), "field", "fields"), strings.Join(missing, " and "))
	}
	var days [2]time.Time
	for i, f := range []struct{ name, value string }{{"from", req.From}, {"to", req.To}} {
		t, err := time.ParseInLocation(time.DateOnly, strings.TrimSpace(f.value), zone)
		if err != nil {
			return spec, httpError(http.StatusBadRequest, "invalid field %s %q: expected a date such as 2026-11-01", f.name, f.value)
		}
		days[i] = t
	}
	from, last := days[0], days[1]
	if last.Before(from) {
		return spec, httpError(http.StatusBadRequest, "the period ends (%s) before it begins (%s)", req.To, req.From)
	}
	now := s.now().In(zone)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, zone)
	if last.After(today) {
		return spec, httpError(http.StatusBadRequest, "the period ends after today (%s): a report covers days that have begun", today.Format(time.DateOnly))
	}
	spec = report.Spec{Kind: k, Scope: report.Scope{District: district, School: school}, From: from, To: last.AddDate(0, 0, 1)}
	if k != report.KindCustom {
		pf, pt := report.Period(k, from, zone)
		if !pf.Equal(spec.From) || !pt.Equal(spec.To) {
			return spec, httpError(http.StatusBadRequest, "a %s report covers %s: %s to %s, not %s to %s; use kind custom for any other period",
				k, periodWords(k), pf.Format(time.DateOnly), pt.AddDate(0, 0, -1).Format(time.DateOnly), req.From, req.To)
		}
	}
	if err := spec.Validate(); err != nil {
		return spec, httpError(http.StatusBadRequest, "%v", err)
	}
	return spec, s.checkReportScope(c, spec.Scope)
}

func periodWords(k report.Kind) string {
	switch k {
	case report.KindWeekly:
		return "one week, Monday to Sunday"
	case report.KindMonthly:
		return "one calendar month"
	}
	return "one day"
}

// checkReportScope refuses a report the caller's scope does not cover: a
// district token makes reports of its district and its schools, a school
// token of its school.
func (s *Server) checkReportScope(c echo.Context, sc report.Scope) error {
	scope := ScopeFrom(c.Request().Context())
	if sc.School != "" {
		v, ok := s.schools.View(sc.School)
		if !ok || !scope.Allows(v.School) {
			return httpError(http.StatusNotFound, "school %q not found", sc.School)
		}
		return nil
	}
	grants, ok := reportGrants(scope)
	if ok && grants == nil {
		return nil
	}
	for _, g := range grants {
		if g.District == sc.District && g.School == "" {
			return nil
		}
	}
	return httpError(http.StatusForbidden, "your scope (%s) does not cover district %s: a district's report is made by a token of that district or above",
		scopeWords(scope), sc.District)
}

// scopeWords names a scope in an error.
func scopeWords(scope Scope) string {
	grants, ok := reportGrants(scope)
	switch {
	case !ok:
		return "no school"
	case grants == nil:
		return "every school"
	}
	var parts []string
	for _, g := range grants {
		switch {
		case g.School != "":
			parts = append(parts, "school "+g.School)
		default:
			parts = append(parts, "district "+g.District)
		}
	}
	return strings.Join(parts, ", ")
}

// reportError turns an error of Generate into the response.
func reportError(c echo.Context, err error, spec report.Spec) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, report.ErrUnknownScope):
		if spec.Scope.School != "" {
			return httpError(http.StatusNotFound, "school %q not found", spec.Scope.School)
		}
		return httpError(http.StatusNotFound, "district %q not found: the registry has no school in it", spec.Scope.District)
	case errors.Is(err, report.ErrBusy):
		c.Response().Header().Set("Retry-After", "60")
		return httpError(http.StatusServiceUnavailable, "other reports are being made; try again in a minute")
	case errors.Is(err, report.ErrUnavailable):
		return httpError(http.StatusServiceUnavailable, "%v", err)
	}
	return httpError(http.StatusInternalServerError, "could not make the report").SetInternal(fmt.Errorf("generate report %s: %w", spec.Scope, err))
}
