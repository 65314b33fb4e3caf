package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/auth"
	"github.com/sanse-campus/sanse/engine/hazard"
	"github.com/sanse-campus/sanse/engine/words"
)

// HazardService is the hazard rectification workflow (隐患排查治理) as the API
// uses it; *hazard.Manager satisfies it. Every method must be safe for
// concurrent use. The API checks the caller's scope before it calls Create
// or Transition, and filters what List and Get return.
type HazardService interface {
	// List returns the hazards f selects, overdue first, then by deadline.
	// It must not block on I/O.
	List(f hazard.Filter) []*hazard.Hazard
	// Get returns a hazard and its history, oldest first, or an error
	// wrapping hazard.ErrNotFound.
	Get(ctx context.Context, id string) (*hazard.Hazard, []hazard.Transition, error)
	// Create registers a hazard; an error wrapping hazard.ErrInvalid says
	// what is wrong with the request.
	Create(ctx context.Context, req hazard.NewHazard) (*hazard.Hazard, error)
	// Transition takes a person's action on a hazard and returns it as it is
	// afterwards, or an error wrapping hazard.ErrNotFound,
	// hazard.ErrInvalidTransition or hazard.ErrInvalid.
	Transition(ctx context.Context, id string, action hazard.Action, by, comment string, evidence []hazard.Evidence) (*hazard.Hazard, error)
}

const (
	// hazardTimeout bounds one change through the HazardService; like a
	// resolution, a change once begun is finished if the client goes away.
	hazardTimeout = 30 * time.Second
)

// routeHazards registers the hazard endpoints on e behind the scope
// middleware scoped.
func (s *Server) routeHazards(e *echo.Echo, svc HazardService, scoped echo.MiddlewareFunc) {
	e.GET("/api/v1/hazards", s.handleHazards(svc), scoped)
	e.POST("/api/v1/hazards", s.handleCreateHazard(svc), scoped)
	e.GET("/api/v1/hazards/:id", s.handleHazard(svc), scoped)
	e.POST("/api/v1/hazards/:id/transition", s.handleHazardTransition(svc), scoped)
}

// hazardJSON is one hazard as the API shows it.
type hazardJSON struct {
	ID          string          `json:"id"`
	SchoolID    string          `json:"school_id"`
	SchoolName  string          `json:"school_name"`
	District    string          `json:"district"`
	Title       string          `json:"title"`
	Category    string          `json:"category"`
	Level       engine.Severity `json:"level"`
	LevelZh     string          `json:"level_zh"`
	Status      hazard.Status   `json:"status"`
	StatusZh    string          `json:"status_zh"`
	Responsible string          `json:"responsible"`
	Deadline    time.Time       `json:"deadline"`
	// Overdue says that the deadline has passed and the hazard is not
	// verified; Supervised that it was put under supervision (挂牌督办) for
	// it, at SupervisedAt.
	Overdue      bool       `json:"overdue"`
	Supervised   bool       `json:"supervised"`
	SupervisedAt *time.Time `json:"supervised_at"`
	VerifiedAt   *time.Time `json:"verified_at"`
	CreatedAt    time.Time  `json:"created_at"`
	CreatedBy    string     `json:"created_by"`
	UpdatedAt    time.Time  `json:"updated_at"`
	Origin       originJSON `json:"origin"`
	// Actions are what a person may do next, in workflow order.
	Actions  []hazard.Action `json:"actions"`
	Evidence []evidenceJSON  `json:"evidence"`
}

// hazardDetail is the body of GET /api/v1/hazards/:id.
type hazardDetail struct {
	hazardJSON
	History []historyJSON `json:"history"`
}

// originJSON says where a hazard came from: kind "inspector", or kind "rule"
// with the rule and key of the risk that opened it.
type originJSON struct {
	Kind string `json:"kind"`
	Rule string `json:"rule,omitempty"`
	Key  string `json:"key,omitempty"`
}

// evidenceJSON is one piece of evidence.
type evidenceJSON struct {
	Kind  hazard.EvidenceKind `json:"kind"`
	Value string              `json:"value"`
	By    string              `json:"by"`
	At    time.Time           `json:"at"`
}

// historyJSON is one transition of a hazard.
type historyJSON struct {
	At       time.Time      `json:"at"`
	Action   hazard.Action  `json:"action"`
	ActionZh string         `json:"action_zh"`
	From     hazard.Status  `json:"from"` // "" for the registration
	To       hazard.Status  `json:"to"`
	By       string         `json:"by"`
	Comment  string         `json:"comment"`
	Evidence []evidenceJSON `json:"evidence"`
}

// hazardList is the body of GET /api/v1/hazards.
type hazardList struct {
	Hazards []hazardJSON `json:"hazards"`
	// Total counts the hazards the filters select, of which Hazards holds
	// the first limit; Overdue counts those of them past their deadline.
	Total   int `json:"total"`
	Overdue int `json:"overdue"`
}

func newEvidenceJSON(evidence []hazard.Evidence) []evidenceJSON {
	out := make([]evidenceJSON, 0, len(evidence))
	for _, e := range evidence {
		out = append(out, evidenceJSON{Kind: e.Kind, Value: e.Value, By: e.By, At: local(e.At)})
	}
	return out
}

// newHazardJSON shows h, at school (nil when the registry no longer has
// it), judging overdue at now.
func newHazardJSON(h *hazard.Hazard, school *engine.School, now time.Time) hazardJSON {
	j := hazardJSON{
		ID: h.ID, SchoolID: h.SchoolID, Title: h.Title, Category: h.Category,
		Level: h.Level, LevelZh: words.Severity(h.Level, words.Chinese), Status: h.Status, StatusZh: h.Status.Chinese(),
		Responsible: h.Responsible, Deadline: local(h.Deadline), Overdue: h.Overdue(now),
		Supervised: h.Supervised(), SupervisedAt: timeOrNil(h.SupervisedAt), VerifiedAt: timeOrNil(h.VerifiedAt),
		CreatedAt: local(h.CreatedAt), CreatedBy: h.CreatedBy, UpdatedAt: local(h.UpdatedAt),
		Origin:   originJSON{Kind: hazard.OriginInspector},
		Actions:  []hazard.Action{},
		Evidence: newEvidenceJSON(h.Evidence),
	}
	if school != nil {
		j.SchoolName, j.District = school.Name, school.District
	}
	if h.Origin.Rule != "" {
		j.Origin = originJSON{Kind: "rule", Rule: h.Origin.Rule, Key: h.Origin.Key}
	}
	for _, a := range hazard.Allowed(h.Status) {
		if slices.Contains(hazard.PersonActions, a) {
			j.Actions = append(j.Actions, a)
		}
	}
	return j
}

// handleHazards serves GET /api/v1/hazards: the hazards of the schools of
// the caller's scope, filtered by status, school, district and category
// (each repeatable or comma-separated) and overdue=true. Overdue hazards
// come first, then by deadline.
func (s *Server) handleHazards(svc HazardService) echo.HandlerFunc {
	return func(c echo.Context) error {
		q := c.QueryParams()
		limit, err := parseLimit(c.QueryParam("limit"))
		if err != nil {
			return err
		}
		var f hazard.Filter
		for _, v := range listParam(q["status"]) {
			st, err := hazard.ParseStatus(v)
			if err != nil {
				return httpError(http.StatusBadRequest, "invalid parameter status: %v", err)
			}
			f.Statuses = append(f.Statuses, st)
		}
		f.Categories = listParam(q["category"])
		if v := strings.TrimSpace(c.QueryParam("overdue")); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return httpError(http.StatusBadRequest, "invalid parameter overdue: %q is not true or false", v)
			}
			f.Overdue = b
		}
		schoolIDs, districts := listParam(q["school"]), listParam(q["district"])
		scope := ScopeFrom(c.Request().Context())
		schools := map[string]*engine.School{}
		for _, sum := range s.schools.Views(func(school *engine.School) bool {
			return scope.Allows(school) &&
				(schoolIDs == nil || slices.Contains(schoolIDs, school.ID)) &&
				(districts == nil || slices.Contains(districts, school.District))
		}) {
			schools[sum.School.ID] = sum.School
		}
		plainAll := scope.All && scope.District == "" && scope.School == ""
		f.School = func(id string) bool {
			if _, ok := schools[id]; ok {
				return true
			}
			// A school the registry no longer has: only a caller who sees
			// every school sees its hazards, and no district selects them.
			if !plainAll || districts != nil || (schoolIDs != nil && !slices.Contains(schoolIDs, id)) {
				return false
			}
			_, known := s.schools.View(id)
			return !known
		}
		f.Now = s.now()

		hs := svc.List(f)
		body := hazardList{Hazards: make([]hazardJSON, 0, min(len(hs), limit)), Total: len(hs)}
		for i, h := range hs {
			if h.Overdue(f.Now) {
				body.Overdue++
			}
			if i < limit {
				body.Hazards = append(body.Hazards, newHazardJSON(h, schools[h.SchoolID], f.Now))
			}
		}
		return c.JSON(http.StatusOK, body)
	}
}

// handleHazard serves GET /api/v1/hazards/:id: the hazard with its history.
func (s *Server) handleHazard(svc HazardService) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := hazardID(c)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		h, history, err := svc.Get(ctx, id)
		if err != nil {
			return hazardError(err, id, "read")
		}
		school, ok := s.hazardSchool(c, h.SchoolID)
		if !ok {
			return httpError(http.StatusNotFound, "hazard %q not found", id)
		}
		d := hazardDetail{hazardJSON: newHazardJSON(h, school, s.now()), History: make([]historyJSON, 0, len(history))}
		for _, t := range history {
			d.History = append(d.History, historyJSON{
				At: local(t.At), Action: t.Action, ActionZh: t.Action.Chinese(), From: t.From, To: t.To,
				By: t.By, Comment: t.Comment, Evidence: newEvidenceJSON(t.Evidence),
			})
		}
		return c.JSON(http.StatusOK, d)
	}
}

// evidenceRequest is one piece of evidence in a request body.
type evidenceRequest struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// createHazardRequest is the body of POST /api/v1/hazards.
type createHazardRequest struct {
	SchoolID    string            `json:"school_id"`
	Title       string            `json:"title"`
	Category    string            `json:"category"`
	Level       string            `json:"level"`
	Responsible string            `json:"responsible"`
	Deadline    string            `json:"deadline"`
	By          string            `json:"by"`
	Comment     string            `json:"comment"`
	Evidence    []evidenceRequest `json:"evidence"`
}

const createHazardFields = "school_id, title, category, level, responsible, deadline, by, comment and evidence (kind and value)"

// handleCreateHazard serves POST /api/v1/hazards: an inspector registers a
// hazard at a school of their scope. The answer, 201 Created, is the hazard.
func (s *Server) handleCreateHazard(svc HazardService) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req createHazardRequest
		if err := readJSON(c, &req, createHazardFields); err != nil {
			return err
		}
		req.By = actorOf(c, req.By)
		now := s.now()
		var missing []string
		for _, f := range []struct{ name, value string }{
			{"school_id", req.SchoolID}, {"title", req.Title}, {"category", req.Category},
			{"responsible", req.Responsible}, {"deadline", req.Deadline}, {"by", req.By},
		} {
			if strings.TrimSpace(f.value) == "" {
				missing = append(missing, strconv.Quote(f.name))
			}
		}
		if len(missing) > 0 {
			return httpError(http.StatusBadRequest,
				"missing required %s %s: registering a hazard needs the school, a title, a category, who rectifies it (responsible), by when (deadline) and who registers it (by)",
				plural(len(missing), "field", "fields"), strings.Join(missing, ", "))
		}
		deadline, err := parseDeadline(req.Deadline, now)
		if err != nil {
			return httpError(http.StatusBadRequest, "invalid field deadline: %v", err)
		}
		var level engine.Severity
		if req.Level != "" {
			if level, err = engine.ParseSeverity(req.Level); err != nil {
				return httpError(http.StatusBadRequest, "invalid field level: %v", err)
			}
		}
		schoolID := strings.TrimSpace(req.SchoolID)
		if school, ok := s.hazardSchool(c, schoolID); !ok || school == nil {
			return httpError(http.StatusNotFound, "school %q not found", schoolID)
		}

		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), hazardTimeout)
		defer cancel()
		var h *hazard.Hazard
		err = s.audited(c, audit{Action: auth.ActionHazardCreate, School: schoolID,
			Detail: map[string]any{"title": req.Title, "category": req.Category, "level": level}}, func() error {
			h, err = svc.Create(ctx, hazard.NewHazard{
				SchoolID: schoolID, Title: req.Title, Category: strings.TrimSpace(req.Category), Level: level,
				Responsible: req.Responsible, Deadline: deadline, By: req.By, Comment: req.Comment,
				Evidence: evidenceOf(req.Evidence),
			})
			if err != nil {
				return hazardError(err, "", "register")
			}
			return nil
		})
		if err != nil {
			return err
		}
		s.logger.LogAttrs(ctx, slog.LevelInfo, "hazard registered", slog.String("hazard", h.ID),
			slog.String("school", h.SchoolID), slog.String("actor", h.CreatedBy))
		school, _ := s.hazardSchool(c, h.SchoolID)
		c.Response().Header().Set(echo.HeaderLocation, "/api/v1/hazards/"+url.PathEscape(h.ID))
		return c.JSON(http.StatusCreated, newHazardJSON(h, school, s.now()))
	}
}

// transitionRequest is the body of POST /api/v1/hazards/:id/transition.
type transitionRequest struct {
	Action   string            `json:"action"`
	By       string            `json:"by"`
	Comment  string            `json:"comment"`
	Evidence []evidenceRequest `json:"evidence"`
}

const transitionFields = "action, by, comment and evidence (kind and value)"

// handleHazardTransition serves POST /api/v1/hazards/:id/transition: a
// person starts, submits, verifies, rejects or comments on a hazard of their
// scope. The answer is the hazard as it is afterwards; an action its status
// does not allow is 409 Conflict.
func (s *Server) handleHazardTransition(svc HazardService) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := hazardID(c)
		if err != nil {
			return err
		}
		var req transitionRequest
		if err := readJSON(c, &req, transitionFields); err != nil {
			return err
		}
		req.By = actorOf(c, req.By)
		action, err := hazard.ParseAction(strings.TrimSpace(req.Action))
		switch {
		case strings.TrimSpace(req.Action) == "":
			return httpError(http.StatusBadRequest, `missing required field "action": one of start, submit, verify, reject, comment`)
		case err != nil:
			return httpError(http.StatusBadRequest, "invalid field action: %v", err)
		case strings.TrimSpace(req.By) == "":
			return httpError(http.StatusBadRequest, `missing required field "by": who takes the action`)
		case strings.TrimSpace(req.Comment) == "" && action == hazard.ActionVerify:
			return httpError(http.StatusBadRequest, `missing required field "comment": to verify a hazard, say what was checked (验收意见)`)
		case strings.TrimSpace(req.Comment) == "" && action == hazard.ActionReject:
			return httpError(http.StatusBadRequest, `missing required field "comment": to reject, say what is still wrong (驳回理由)`)
		case strings.TrimSpace(req.Comment) == "" && action == hazard.ActionComment && len(req.Evidence) == 0:
			return httpError(http.StatusBadRequest, `missing required field "comment": a comment needs a comment or evidence`)
		}

		h, _, err := svc.Get(c.Request().Context(), id)
		if err != nil {
			return hazardError(err, id, "read")
		}
		school, ok := s.hazardSchool(c, h.SchoolID)
		if !ok {
			return httpError(http.StatusNotFound, "hazard %q not found", id)
		}

		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), hazardTimeout)
		defer cancel()
		var after *hazard.Hazard
		err = s.audited(c, audit{Action: auth.ActionHazardPrefix + string(action), Target: id, School: h.SchoolID,
			Detail: map[string]any{"comment": req.Comment}}, func() error {
			if err := checkHazardDuty(c, action, school); err != nil {
				return err
			}
			after, err = svc.Transition(ctx, id, action, req.By, req.Comment, evidenceOf(req.Evidence))
			if err != nil {
				return hazardError(err, id, string(action))
			}
			return nil
		})
		if err != nil {
			return err
		}
		s.logger.LogAttrs(ctx, slog.LevelInfo, "hazard transition", slog.String("hazard", id),
			slog.String("school", after.SchoolID), slog.String("action", string(action)),
			slog.String("status", string(after.Status)), slog.String("actor", strings.TrimSpace(req.By)))
		school, _ = s.hazardSchool(c, after.SchoolID)
		return c.JSON(http.StatusOK, newHazardJSON(after, school, s.now()))
	}
}

// checkHazardDuty applies separation of duties (销号): verifying or
// rejecting a hazard needs a caller whose scope is above the school (its
// district, or all); a school does not close out its own hazard. school is
// nil for a school the registry no longer has, which only a caller who sees
// every school reaches.
func checkHazardDuty(c echo.Context, action hazard.Action, school *engine.School) error {
	if action != hazard.ActionVerify && action != hazard.ActionReject {
		return nil
	}
	id, ok := IdentityFrom(c.Request().Context())
	if !ok || id.Scope.All || id.Scope.AboveSchool(school) {
		return nil
	}
	return httpError(http.StatusForbidden,
		"%s needs an operator of the district or above: a school does not verify or reject its own hazard (验收销号/驳回, separation of duties)", action)
}

// hazardError turns an error of the HazardService into the response: 404
// for an unknown hazard, 409 for a transition the workflow refuses, 400 for
// a request wrong in itself, 500 for the rest. what names the operation for
// the log.
func hazardError(err error, id, what string) error {
	var te *hazard.TransitionError
	switch {
	case errors.Is(err, hazard.ErrNotFound):
		return httpError(http.StatusNotFound, "hazard %q not found", id)
	case errors.As(err, &te):
		return httpError(http.StatusConflict, "%s", te.Error())
	case errors.Is(err, engine.ErrHeldElsewhere):
		return httpError(http.StatusConflict, "%v", err)
	case errors.Is(err, hazard.ErrInvalid):
		return httpError(http.StatusBadRequest, "%s", err.Error())
	}
	if id == "" {
		return httpError(http.StatusInternalServerError, "could not %s the hazard", what).
			SetInternal(fmt.Errorf("%s hazard: %w", what, err))
	}
	return httpError(http.StatusInternalServerError, "could not %s hazard %q", what, id).
		SetInternal(fmt.Errorf("%s hazard %q: %w", what, id, err))
}

// hazardSchool returns the registry entry of the school with the id and
// whether the caller's scope may see it. A school the registry no longer has
// is seen only by a caller who sees every school.
func (s *Server) hazardSchool(c echo.Context, id string) (*engine.School, bool) {
	scope := ScopeFrom(c.Request().Context())
	v, ok := s.schools.View(id)
	if !ok {
		return nil, scope.All && scope.District == "" && scope.School == ""
	}
	return v.School, scope.Allows(v.School)
}

// hazardID returns the path parameter id, unescaped.
func hazardID(c echo.Context) (string, error) {
	id := c.Param("id")
	if c.Request().URL.RawPath != "" {
		var err error
		if id, err = url.PathUnescape(id); err != nil {
			return "", httpError(http.StatusBadRequest, "invalid hazard id %q: %v", c.Param("id"), err)
		}
	}
	return id, nil
}

func evidenceOf(reqs []evidenceRequest) []hazard.Evidence {
	if len(reqs) == 0 {
		return nil
	}
	out := make([]hazard.Evidence, len(reqs))
	for i, r := range reqs {
		out[i] = hazard.Evidence{Kind: hazard.EvidenceKind(strings.TrimSpace(r.Kind)), Value: r.Value}
	}
	return out
}

// dayDuration matches a whole number of days, e.g. "3d".
var dayDuration = regexp.MustCompile(`^([0-9]{1,3})d$`)

// parseDeadline reads a deadline given as an RFC 3339 time or as a duration
// from now: Go's form ("72h", "36h30m") or whole days ("3d").
func parseDeadline(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	var (
		d   time.Duration
		err error
	)
	if m := dayDuration.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		d = time.Duration(n) * 24 * time.Hour
	} else if d, err = time.ParseDuration(s); err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (%s) nor a duration from now (72h, 3d)", s, timeExample)
	}
	if d <= 0 {
		return time.Time{}, fmt.Errorf("%q: a duration from now must be positive", s)
	}
	return now.Add(d), nil
}
