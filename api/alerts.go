package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/auth"
	"github.com/sanse-campus/sanse/engine/hazard"
	"github.com/sanse-campus/sanse/engine/notify"
	"github.com/sanse-campus/sanse/engine/words"
)

// AlertService is what the alert endpoints need; *alert.Manager satisfies it.
type AlertService interface {
	List(ctx context.Context, f alert.Filter) ([]*alert.Alert, error)
	Get(ctx context.Context, id string) (*alert.Alert, error)
	Acknowledge(ctx context.Context, id, by, comment string) (*alert.Alert, error)
	Resolve(ctx context.Context, id, by, comment string) (*alert.Alert, error)
}

// routeAlerts registers the alert endpoints when opts.Alerts is set.
func (s *Server) routeAlerts(e *echo.Echo, opts Options, scoped echo.MiddlewareFunc) {
	if opts.Alerts == nil {
		return
	}
	svc := opts.Alerts
	e.GET("/api/v1/alerts", s.handleAlerts(svc), scoped)
	e.GET("/api/v1/alerts/:id", s.handleAlert(svc), scoped)
	e.POST("/api/v1/alerts/:id/ack", s.handleAlertAction(svc, "ack"), scoped)
	e.POST("/api/v1/alerts/:id/resolve", s.handleAlertAction(svc, "resolve"), scoped)
}

// alertJSON is an alert as the API shows it, times in +08:00.
type alertJSON struct {
	ID             string          `json:"id"`
	SchoolID       string          `json:"school_id"`
	SchoolName     string          `json:"school_name"`
	District       string          `json:"district"`
	Town           string          `json:"town"`
	Level          engine.Level    `json:"level"`
	LevelZh        string          `json:"level_zh"`
	Status         alert.Status    `json:"status"`
	StatusZh       string          `json:"status_zh"`
	Title          string          `json:"title"`
	Cause          string          `json:"cause"`
	Rule           string          `json:"rule"`
	RiskKey        string          `json:"risk_key,omitempty"`
	Source         engine.Source   `json:"source,omitempty"`
	RiskLevel      engine.Severity `json:"risk_level,omitempty"`
	OpenedAt       time.Time       `json:"opened_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
	AcknowledgedAt *time.Time      `json:"acknowledged_at"`
	AcknowledgedBy string          `json:"acknowledged_by,omitempty"`
	ResolvedAt     *time.Time      `json:"resolved_at"`
	ResolvedBy     string          `json:"resolved_by,omitempty"`
	EscalationStep int             `json:"escalation_step"`
	EscalationName string          `json:"escalation_name"`
	History        []alertEntry    `json:"history"`
}

type alertEntry struct {
	At      time.Time `json:"at"`
	Action  string    `json:"action"`
	By      string    `json:"by,omitempty"`
	Comment string    `json:"comment,omitempty"`
	Step    int       `json:"step"`
}

func newAlertJSON(a *alert.Alert) alertJSON {
	j := alertJSON{
		ID: a.ID, SchoolID: a.SchoolID, SchoolName: a.SchoolName, District: a.District, Town: a.Town,
		Level: a.Level, LevelZh: words.Level(a.Level, words.Chinese), Status: a.Status, StatusZh: a.Status.Chinese(),
		Title: a.Title, Cause: a.Cause, Rule: a.Rule, RiskKey: a.RiskKey, Source: a.Source, RiskLevel: a.RiskLevel,
		OpenedAt: local(a.OpenedAt), UpdatedAt: local(a.UpdatedAt),
		AcknowledgedBy: a.AcknowledgedBy, ResolvedBy: a.ResolvedBy, EscalationStep: a.Step,
		EscalationName: notify.StepName(a.Step), History: make([]alertEntry, 0, len(a.History)),
	}
	if !a.AcknowledgedAt.IsZero() {
		t := local(a.AcknowledgedAt)
		j.AcknowledgedAt = &t
	}
	if !a.ResolvedAt.IsZero() {
		t := local(a.ResolvedAt)
		j.ResolvedAt = &t
	}
	for _, h := range a.History {
		j.History = append(j.History, alertEntry{At: local(h.At), Action: h.Action, By: h.By, Comment: h.Comment, Step: h.Step})
	}
	return j
}

type alertList struct {
	Alerts []alertJSON `json:"alerts"`
	Total  int         `json:"total"`
}

// handleAlerts serves GET /api/v1/alerts: the alerts of the schools the
// caller may see, firing first, then newest first.
func (s *Server) handleAlerts(svc AlertService) echo.HandlerFunc {
	return func(c echo.Context) error {
		q := c.QueryParams()
		f := alert.Filter{
			Level: engine.Level(q.Get("level")), District: q.Get("district"), School: q.Get("school"),
			Source: engine.Source(q.Get("source")),
		}
		if v := q.Get("status"); v != "" {
			for _, st := range strings.Split(v, ",") {
				x := alert.Status(strings.TrimSpace(st))
				if !slices.Contains(alert.Statuses, x) {
					return httpError(http.StatusBadRequest, "status %q: expected firing, acknowledged or resolved (comma-separated)", st)
				}
				f.Status = append(f.Status, x)
			}
		}
		if f.Level != "" && f.Level != engine.LevelRed && f.Level != engine.LevelYellow {
			return httpError(http.StatusBadRequest, "level %q: expected red or yellow", f.Level)
		}
		var err error
		if f.Limit, err = parseLimit(q.Get("limit")); err != nil {
			return err
		}
		for _, p := range []struct {
			name string
			dst  *time.Time
		}{{"from", &f.From}, {"to", &f.To}} {
			if v := q.Get(p.name); v != "" {
				if *p.dst, err = parseTime(p.name, v); err != nil {
					return err
				}
			}
		}
		if !f.From.IsZero() {
			to := f.To
			if to.IsZero() {
				to = s.now()
			}
			if err := s.checkRange(f.From, to); err != nil {
				return err
			}
		}
		scope := ScopeFrom(c.Request().Context())
		if len(scope.Any) > 0 {
			return s.listAlertsOfGrants(c, svc, f, scope.Any)
		}
		if scope.District != "" {
			if f.District != "" && f.District != scope.District {
				return c.JSON(http.StatusOK, alertList{Alerts: []alertJSON{}})
			}
			f.District = scope.District
		}
		if scope.School != "" {
			if f.School != "" && f.School != scope.School {
				return c.JSON(http.StatusOK, alertList{Alerts: []alertJSON{}})
			}
			f.School = scope.School
		}
		list, err := svc.List(c.Request().Context(), f)
		if err != nil {
			return httpError(http.StatusInternalServerError, "could not read the alerts").SetInternal(err)
		}
		out := alertList{Alerts: make([]alertJSON, 0, len(list))}
		for _, a := range list {
			out.Alerts = append(out.Alerts, newAlertJSON(a))
		}
		out.Total = len(out.Alerts)
		return c.JSON(http.StatusOK, out)
	}
}

// listAlertsOfGrants answers GET /api/v1/alerts for a scope of several
// grants: one query per grant, narrowed by it, merged (firing first, then
// newest first, as the store orders them) and cut to the limit.
func (s *Server) listAlertsOfGrants(c echo.Context, svc AlertService, f alert.Filter, grants []Scope) error {
	seen := map[string]bool{}
	var all []*alert.Alert
	for _, g := range grants {
		gf := f
		if g.District != "" {
			if gf.District != "" && gf.District != g.District {
				continue
			}
			gf.District = g.District
		}
		if g.School != "" {
			if gf.School != "" && gf.School != g.School {
				continue
			}
			gf.School = g.School
		}
		list, err := svc.List(c.Request().Context(), gf)
		if err != nil {
			return httpError(http.StatusInternalServerError, "could not read the alerts").SetInternal(err)
		}
		for _, a := range list {
			if !seen[a.ID] {
				seen[a.ID] = true
				all = append(all, a)
			}
		}
	}
	slices.SortStableFunc(all, func(a, b *alert.Alert) int {
		if fa, fb := a.Status == alert.StatusFiring, b.Status == alert.StatusFiring; fa != fb {
			if fa {
				return -1
			}
			return 1
		}
		return b.OpenedAt.Compare(a.OpenedAt)
	})
	if len(all) > f.Limit {
		all = all[:f.Limit]
	}
	out := alertList{Alerts: make([]alertJSON, 0, len(all))}
	for _, a := range all {
		out.Alerts = append(out.Alerts, newAlertJSON(a))
	}
	out.Total = len(out.Alerts)
	return c.JSON(http.StatusOK, out)
}

// scopedAlert reads the alert of the :id parameter when the caller may see its school.
func (s *Server) scopedAlert(c echo.Context, svc AlertService) (*alert.Alert, error) {
	id := c.Param("id")
	if c.Request().URL.RawPath != "" {
		// echo routes on the escaped path when it differs from the default
		// escaping (an id with "/" in it); the parameter is then escaped.
		var err error
		if id, err = url.PathUnescape(id); err != nil {
			return nil, httpError(http.StatusBadRequest, "invalid alert id %q: %v", c.Param("id"), err)
		}
	}
	a, err := svc.Get(c.Request().Context(), id)
	switch {
	case errors.Is(err, alert.ErrNotFound):
		return nil, httpError(http.StatusNotFound, "alert %q not found", id)
	case err != nil:
		return nil, httpError(http.StatusInternalServerError, "could not read alert %q", id).SetInternal(err)
	}
	scope := ScopeFrom(c.Request().Context())
	school := &engine.School{ID: a.SchoolID, District: a.District}
	if v, ok := s.schools.View(a.SchoolID); ok {
		school = v.School
	}
	if !scope.Allows(school) {
		return nil, httpError(http.StatusNotFound, "alert %q not found", id)
	}
	return a, nil
}

// handleAlert serves GET /api/v1/alerts/:id, with the alert's history.
func (s *Server) handleAlert(svc AlertService) echo.HandlerFunc {
	return func(c echo.Context) error {
		a, err := s.scopedAlert(c, svc)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, newAlertJSON(a))
	}
}

// alertActionRequest is the body of POST /api/v1/alerts/:id/ack and /resolve.
type alertActionRequest struct {
	By      string `json:"by"`
	Comment string `json:"comment"`
}

// handleAlertAction serves POST /api/v1/alerts/:id/ack and /resolve.
func (s *Server) handleAlertAction(svc AlertService, action string) echo.HandlerFunc {
	return func(c echo.Context) error {
		req, err := readAlertAction(c, action)
		if err != nil {
			return err
		}
		a, err := s.scopedAlert(c, svc)
		if err != nil {
			return err
		}
		what := audit{Action: auth.ActionAlertAck, Target: a.ID, School: a.SchoolID, Detail: map[string]any{"comment": req.Comment}}
		if action != "ack" {
			what.Action = auth.ActionAlertResolve
		}
		var after *alert.Alert
		err = s.audited(c, what, func() error {
			after, err = s.alertAction(c, svc, action, a, req)
			return err
		})
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, newAlertJSON(after))
	}
}

// alertAction acknowledges or resolves alert a and returns it afterwards,
// or the error response.
func (s *Server) alertAction(c echo.Context, svc AlertService, action string, a *alert.Alert, req alertActionRequest) (*alert.Alert, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), resolveTimeout)
	defer cancel()
	var (
		after *alert.Alert
		err   error
	)
	if action == "ack" {
		after, err = svc.Acknowledge(ctx, a.ID, req.By, req.Comment)
	} else {
		after, err = svc.Resolve(ctx, a.ID, req.By, req.Comment)
	}
	if err := func() error {
		switch {
		case errors.Is(err, hazard.ErrHeldByHazard):
			return httpError(http.StatusConflict, "alert %q: %v", a.ID, hazard.ErrHeldByHazard)
		case errors.Is(err, engine.ErrHeldElsewhere):
			return httpError(http.StatusConflict, "%v", err)
		case errors.Is(err, alert.ErrResolved):
			return httpError(http.StatusConflict, "alert %q is already resolved (已解除)", a.ID)
		case errors.Is(err, alert.ErrNotFound):
			return httpError(http.StatusNotFound, "alert %q not found", a.ID)
		case errors.Is(err, alert.ErrNeedsBy), errors.Is(err, alert.ErrNeedsComment):
			return httpError(http.StatusBadRequest, "%s", err.Error())
		case err != nil && after == nil:
			return httpError(http.StatusInternalServerError, "could not %s alert %q", action, a.ID).SetInternal(err)
		case err != nil:
			// Done in memory, storing it is retried in the background.
			s.logger.Warn("alert action not yet stored; will retry", "alert", a.ID, "action", action, "err", err)
		}
		return nil
	}(); err != nil {
		return nil, err
	}
	return after, nil
}

func readAlertAction(c echo.Context, action string) (alertActionRequest, error) {
	var req alertActionRequest
	if err := readJSON(c, &req, "by and comment"); err != nil {
		return req, err
	}
	req.By, req.Comment = strings.TrimSpace(actorOf(c, req.By)), strings.TrimSpace(req.Comment)
	switch {
	case req.By == "":
		return req, httpError(http.StatusBadRequest, `missing required field "by": who takes this action`)
	case action == "resolve" && req.Comment == "":
		return req, httpError(http.StatusBadRequest, `missing required field "comment": resolving an alert needs what was done`)
	}
	return req, nil
}
