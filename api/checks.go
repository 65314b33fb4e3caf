package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sanse-campus/sanse/engine"
)

// CheckCount is what the human checks of one rule's machine detections
// found at one school from one device (the reporter of the opening event):
// how many risks opened pending a check, how many were confirmed and how
// many found false alarms (误报).
type CheckCount struct {
	Rule, SchoolID, Device          string
	Pending, Confirmed, FalseAlarms uint64
}

// CheckCountsFunc returns the check counts of every school from since to
// before until, ordered by rule, school and device. It is provided by the
// history store and must honour ctx: the request's context is cancelled
// when the client goes away.
type CheckCountsFunc func(ctx context.Context, since, until time.Time) ([]CheckCount, error)

// defaultChecksSpan is the range of GET /api/v1/checks when from is not
// given.
const defaultChecksSpan = 30 * 24 * time.Hour

// checksBody is the body of GET /api/v1/checks.
type checksBody struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Rules are the totals per rule over the schools of the caller's
	// scope, in rule order.
	Rules []checkJSON `json:"rules"`
	// Checks are the counts per rule, school and device, in that order.
	Checks []checkJSON `json:"checks"`
}

// checkJSON is one line of check counts: per rule, school and device, or a
// rule's total (no school, device).
type checkJSON struct {
	Rule       string `json:"rule"`
	SchoolID   string `json:"school_id,omitempty"`
	SchoolName string `json:"school_name,omitempty"`
	Device     string `json:"device,omitempty"`
	// Pending counts the detections that opened a risk pending a check.
	Pending     uint64 `json:"pending"`
	Confirmed   uint64 `json:"confirmed"`
	FalseAlarms uint64 `json:"false_alarms"`
	// FalseAlarmRate is FalseAlarms over the checked detections
	// (Confirmed + FalseAlarms); 0 when none was checked.
	FalseAlarmRate float64 `json:"false_alarm_rate"`
}

func (c *checkJSON) add(n CheckCount) {
	c.Pending += n.Pending
	c.Confirmed += n.Confirmed
	c.FalseAlarms += n.FalseAlarms
	c.FalseAlarmRate = 0
	if checked := c.Confirmed + c.FalseAlarms; checked > 0 {
		c.FalseAlarmRate = float64(c.FalseAlarms) / float64(checked)
	}
}

// handleChecks serves GET /api/v1/checks?from=&to=: what the human checks
// of machine detections found in [from, to) at the schools of the caller's
// scope, per rule, school and device, with each rule's totals — the false
// alarm rates (误报率) reports use. to defaults to now and from to thirty
// days before to; either may be a date (Asia/Shanghai), to then meaning the
// end of that day.
func (s *Server) handleChecks(counts CheckCountsFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		from, to, err := s.checksRange(c.QueryParam("from"), c.QueryParam("to"))
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		list, err := counts(ctx, from, to)
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, context.Canceled) {
				s.logger.LogAttrs(ctx, slog.LevelDebug, "check counts query cancelled")
				return httpError(http.StatusServiceUnavailable, "request cancelled")
			}
			return httpError(http.StatusInternalServerError, "could not read the check counts").
				SetInternal(fmt.Errorf("check counts from %s to %s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err))
		}
		return c.JSON(http.StatusOK, s.checksOf(ScopeFrom(ctx), list, from, to))
	}
}

// checksOf keeps the counts of the schools scope allows and adds up each
// rule's totals. A school no longer in the registry is shown only to a
// caller who sees every school.
func (s *Server) checksOf(scope Scope, list []CheckCount, from, to time.Time) checksBody {
	body := checksBody{From: local(from), To: local(to), Rules: []checkJSON{}, Checks: []checkJSON{}}
	totals := map[string]*checkJSON{}
	for _, n := range list {
		school := s.school(n.SchoolID)
		if !scope.Allows(school) && (school != nil || !scope.allSeeing()) {
			continue
		}
		line := checkJSON{Rule: n.Rule, SchoolID: n.SchoolID, Device: n.Device}
		if school != nil {
			line.SchoolName = school.Name
		}
		line.add(n)
		body.Checks = append(body.Checks, line)
		t := totals[n.Rule]
		if t == nil {
			t = &checkJSON{Rule: n.Rule}
			totals[n.Rule] = t
		}
		t.add(n)
	}
	for _, t := range totals {
		body.Rules = append(body.Rules, *t)
	}
	slices.SortFunc(body.Rules, func(a, b checkJSON) int { return cmp.Compare(a.Rule, b.Rule) })
	return body
}

// allSeeing reports whether the scope allows every school, including ones
// the registry no longer holds.
func (s Scope) allSeeing() bool {
	return s.All && s.District == "" && s.School == "" && len(s.Any) == 0
}

// school returns the registry entry of the school with the id, or nil.
func (s *Server) school(id string) *engine.School {
	if s.schoolOf != nil {
		return s.schoolOf(id)
	}
	v, ok := s.schools.View(id)
	if !ok {
		return nil
	}
	return v.School
}

// checksRange parses the from and to parameters of GET /api/v1/checks: RFC
// 3339 times or dates, to defaulting to now and from to thirty days before
// to, within the history limits.
func (s *Server) checksRange(fromParam, toParam string) (from, to time.Time, err error) {
	to = s.now()
	if toParam != "" {
		if to, err = parseTimeOrDate("to", toParam, true); err != nil {
			return
		}
	}
	if fromParam != "" {
		if from, err = parseTimeOrDate("from", fromParam, false); err != nil {
			return
		}
	} else {
		from = to.Add(-defaultChecksSpan)
		// The default range is cut at the horizon rather than refused.
		if oldest := s.now().Add(-s.limits.HistoryHorizon); from.Before(oldest) && !to.Before(oldest) {
			from = oldest
		}
	}
	if from.After(to) {
		return from, to, httpError(http.StatusBadRequest, "invalid parameter from: %s is after to (%s)",
			local(from).Format(time.RFC3339), local(to).Format(time.RFC3339))
	}
	return from, to, s.checkRange(from, to)
}

// parseTimeOrDate parses an RFC 3339 time or a date such as 2026-11-01, which
// is the start of that day in Asia/Shanghai, or its end (the start of the
// next day) when end is set.
func parseTimeOrDate(name, value string, end bool) (time.Time, error) {
	if d, err := time.ParseInLocation(time.DateOnly, value, engine.Shanghai); err == nil {
		if end {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	t, err := parseTime(name, value)
	if err != nil {
		return time.Time{}, httpError(http.StatusBadRequest,
			"invalid parameter %s: %q is neither a date such as 2026-11-01 nor an RFC 3339 time such as %s", name, value, timeExample)
	}
	return t, nil
}
