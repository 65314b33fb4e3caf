package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/auth"
	"github.com/sanse-campus/sanse/engine/hazard"
)

// DisposeFunc records a person's check of a school's active risk of rule
// and key (key "" when the rule has none): d says what the check found, by
// who checked and comment what was seen. It returns the school as it is
// afterwards, or an error wrapping engine.ErrNoSuchRisk when the school has
// no such active risk, engine.ErrNotPending when confirming a risk that is
// not pending a check, or hazard.ErrHeldByHazard when ending a risk a hazard
// holds. It must be safe for concurrent use.
//
// ctx is as for ResolveFunc: not cancelled when the client goes away, and
// cancelled after resolveTimeout.
type DisposeFunc func(ctx context.Context, schoolID, rule, key string, d engine.Disposition, by, comment string) (engine.SchoolView, error)

// disposeRequest is the body of POST /api/v1/schools/:id/risks/dispose.
type disposeRequest struct {
	Rule    string             `json:"rule"`
	Key     string             `json:"key"`
	State   engine.Disposition `json:"state"`
	By      string             `json:"by"`
	Comment string             `json:"comment"`
}

// handleDispose serves POST /api/v1/schools/:id/risks/dispose: a person
// records the outcome of the check of one active risk of a school they may
// see — confirmed (a risk pending a check takes its full level), false_alarm
// (误报) or handled (both end it). The answer is the school as GET
// /api/v1/schools/:id shows it afterwards.
func (s *Server) handleDispose(dispose DisposeFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req, err := readDisposeRequest(c)
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
		detail := map[string]any{"state": req.State, "comment": req.Comment}
		err = s.audited(c, audit{Action: auth.ActionRiskDispose, Target: ref, School: id, Detail: detail},
			func() error {
				// A confirmation ends nothing; a false alarm or handled ends
				// the risk as resolving it does, under the same duty.
				if req.State != engine.DispositionConfirmed {
					if err := s.checkResolveDuty(c, v, resolveRequest{Rule: req.Rule, Key: req.Key}); err != nil {
						return err
					}
				}
				after, err = s.disposeRisk(c, dispose, id, ref, req)
				return err
			})
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, newSchoolDetail(after))
	}
}

// disposeRisk records the check and returns the school afterwards, or the
// error response.
func (s *Server) disposeRisk(c echo.Context, dispose DisposeFunc, id, ref string, req disposeRequest) (engine.SchoolView, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), resolveTimeout)
	defer cancel()
	after, err := dispose(ctx, id, req.Rule, req.Key, req.State, req.By, req.Comment)
	switch {
	case errors.Is(err, hazard.ErrHeldByHazard):
		return after, httpError(http.StatusConflict, "risk %q of school %q: %v", ref, id, hazard.ErrHeldByHazard)
	case errors.Is(err, engine.ErrNotPending):
		return after, httpError(http.StatusConflict,
			"risk %q of school %q is not pending a check: only a risk pending a check (待核实) is confirmed", ref, id)
	case errors.Is(err, engine.ErrNoSuchRisk):
		return after, httpError(http.StatusNotFound, "school %q has no active risk %q", id, ref)
	case errors.Is(err, engine.ErrHeldElsewhere):
		return after, httpError(http.StatusConflict, "%v", err)
	case err != nil:
		return after, httpError(http.StatusInternalServerError, "could not record the check of risk %q of school %q", ref, id).
			SetInternal(fmt.Errorf("dispose risk %q of school %q as %s: %w", ref, id, req.State, err))
	case after.School == nil:
		return after, httpError(http.StatusInternalServerError, "could not record the check of risk %q of school %q", ref, id).
			SetInternal(fmt.Errorf("dispose risk %q of school %q: no school in the answer", ref, id))
	}
	s.logger.LogAttrs(ctx, slog.LevelInfo, "risk checked", slog.String("school", id),
		slog.String("rule", req.Rule), slog.String("risk_key", req.Key), slog.String("state", string(req.State)),
		slog.String("actor", req.By))
	return after, nil
}

// readDisposeRequest decodes and checks the body of a dispose request. by
// and comment come back trimmed of surrounding white space. A comment is
// required when the check ends the risk (false_alarm, handled): why it ends
// must be on record, as for resolving it.
func readDisposeRequest(c echo.Context) (disposeRequest, error) {
	var req disposeRequest
	if err := readJSON(c, &req, "rule, key, state, by and comment"); err != nil {
		return disposeRequest{}, err
	}
	req.By, req.Comment = strings.TrimSpace(actorOf(c, req.By)), strings.TrimSpace(req.Comment)
	if req.State != "" && !slices.Contains(engine.Dispositions, req.State) {
		return disposeRequest{}, httpError(http.StatusBadRequest, "unknown state %q, expected %s", req.State, dispositionList())
	}
	fields := []namedValue{{"rule", req.Rule}, {"state", string(req.State)}, {"by", req.By}}
	if req.State != engine.DispositionConfirmed {
		fields = append(fields, namedValue{"comment", req.Comment})
	}
	if missing := missingFields(fields); len(missing) > 0 {
		return disposeRequest{}, httpError(http.StatusBadRequest,
			"missing required %s %s: checking a risk needs the rule, what the check found (state: %s), "+
				"who checked (by) and, for a false alarm or handled, why (comment)",
			plural(len(missing), "field", "fields"), strings.Join(missing, ", "), dispositionList())
	}
	return req, nil
}

// dispositionList names the accepted states, as "confirmed, false_alarm or
// handled".
func dispositionList() string {
	names := make([]string, len(engine.Dispositions))
	for i, d := range engine.Dispositions {
		names[i] = string(d)
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
