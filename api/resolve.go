package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/auth"
	"github.com/sanse-campus/sanse/engine/hazard"
)

// ResolveFunc ends a school's active risk of rule and key (key "" when the
// rule has none) as a person's act: by says who, comment why. It returns the
// school as it is after the risk ended, or an error wrapping
// engine.ErrNoSuchRisk when the school has no such active risk. It must be
// safe for concurrent use.
//
// ctx carries the request's values but is not cancelled when the client goes
// away: once begun, a resolution is finished, so that the live state and the
// stored history agree. It is cancelled after resolveTimeout.
type ResolveFunc func(ctx context.Context, schoolID, rule, key, by, comment string) (engine.SchoolView, error)

const (
	// resolveTimeout bounds one call of the ResolveFunc.
	resolveTimeout = 30 * time.Second
)

// resolveRequest is the body of POST /api/v1/schools/:id/risks/resolve.
type resolveRequest struct {
	Rule    string `json:"rule"`
	Key     string `json:"key"`
	By      string `json:"by"`
	Comment string `json:"comment"`
}

// handleResolve serves POST /api/v1/schools/:id/risks/resolve: a person ends
// one active risk of a school they may see, saying who they are and why. The
// answer is the school as GET /api/v1/schools/:id shows it afterwards.
func (s *Server) handleResolve(resolve ResolveFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req, err := readResolveRequest(c)
		if err != nil {
			return err
		}
		v, err := s.scopedView(c)
		if err != nil {
			return err
		}
		id, ref := v.School.ID, req.Rule
		if req.Key != "" {
			ref += "/" + req.Key
		}
		var after engine.SchoolView
		err = s.audited(c, audit{Action: auth.ActionRiskResolve, Target: ref, School: id, Detail: map[string]any{"comment": req.Comment}},
			func() error {
				if err := s.checkResolveDuty(c, v, req); err != nil {
					return err
				}
				after, err = s.resolveRisk(c, resolve, id, ref, req)
				return err
			})
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, newSchoolDetail(after))
	}
}

// checkResolveDuty applies separation of duties to resolving a risk: when
// configured (AuthOptions.HighRiskAboveSchool), a high risk that waits for a
// person is resolved only by a caller whose scope is above the school.
func (s *Server) checkResolveDuty(c echo.Context, v engine.SchoolView, req resolveRequest) error {
	id, ok := IdentityFrom(c.Request().Context())
	if !ok || s.auth == nil || !s.auth.HighRiskAboveSchool || id.Scope.AboveSchool(v.School) {
		return nil
	}
	for _, r := range v.Risks {
		if r.Rule == req.Rule && r.Key == req.Key && r.Severity == engine.SeverityHigh && (r.Manual || r.Until.IsZero()) {
			return httpError(http.StatusForbidden,
				"a high risk that waits for a person is resolved by the district or above, not by the school itself (separation of duties)")
		}
	}
	return nil
}

// resolveRisk ends the risk and returns the school afterwards, or the error
// response.
func (s *Server) resolveRisk(c echo.Context, resolve ResolveFunc, id, ref string, req resolveRequest) (engine.SchoolView, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), resolveTimeout)
	defer cancel()
	after, err := resolve(ctx, id, req.Rule, req.Key, req.By, req.Comment)
	switch {
	case errors.Is(err, hazard.ErrHeldByHazard):
		return after, httpError(http.StatusConflict, "risk %q of school %q: %v", ref, id, hazard.ErrHeldByHazard)
	case errors.Is(err, engine.ErrNoSuchRisk):
		return after, httpError(http.StatusNotFound, "school %q has no active risk %q", id, ref)
	case errors.Is(err, engine.ErrHeldElsewhere):
		return after, httpError(http.StatusConflict, "%v", err)
	case err != nil:
		return after, httpError(http.StatusInternalServerError, "could not resolve risk %q of school %q", ref, id).
			SetInternal(fmt.Errorf("resolve risk %q of school %q: %w", ref, id, err))
	case after.School == nil:
		return after, httpError(http.StatusInternalServerError, "could not resolve risk %q of school %q", ref, id).
			SetInternal(fmt.Errorf("resolve risk %q of school %q: no school in the answer", ref, id))
	}
	s.logger.LogAttrs(ctx, slog.LevelInfo, "risk resolved", slog.String("school", id),
		slog.String("rule", req.Rule), slog.String("risk_key", req.Key), slog.String("actor", req.By))
	return after, nil
}

// readResolveRequest decodes and checks the body of a resolve request. by
// and comment come back trimmed of surrounding white space.
func readResolveRequest(c echo.Context) (resolveRequest, error) {
	var req resolveRequest
	if err := readJSON(c, &req, "rule, key, by and comment"); err != nil {
		return resolveRequest{}, err
	}
	req.By, req.Comment = strings.TrimSpace(actorOf(c, req.By)), strings.TrimSpace(req.Comment)
	if missing := missingFields([]namedValue{{"rule", req.Rule}, {"by", req.By}, {"comment", req.Comment}}); len(missing) > 0 {
		return resolveRequest{}, httpError(http.StatusBadRequest,
			"missing required %s %s: resolving a risk needs the rule, who resolves it (by) and why (comment)",
			plural(len(missing), "field", "fields"), strings.Join(missing, ", "))
	}
	return req, nil
}

// namedValue is a required field of a request body and its value.
type namedValue struct{ name, value string }

// missingFields returns the quoted names of the fields left empty, in order.
func missingFields(fields []namedValue) []string {
	var missing []string
	for _, f := range fields {
		if strings.TrimSpace(f.value) == "" {
			missing = append(missing, fmt.Sprintf("%q", f.name))
		}
	}
	return missing
}
