package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sanse-campus/sanse/engine/auth"
)

// auditTimeout bounds one write of an audit record.
const auditTimeout = 10 * time.Second

// maxAuditLimit bounds GET /api/v1/audit; defaultAuditLimit is its default.
const (
	maxAuditLimit     = 1000
	defaultAuditLimit = 100
)

// detailJSON encodes an audit record's detail.
func detailJSON(v map[string]any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// writeAudit stores one record, giving it an id and a time when it has
// none; nil when acts are not audited.
func (s *Server) writeAudit(ctx context.Context, e auth.Entry) error {
	if s.auth == nil || s.auth.Audit == nil {
		return nil
	}
	if e.ID == "" {
		e.ID = randomHex(12)
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	err := s.auth.Audit(ctx, e)
	if err != nil {
		s.metrics.auditFailures.Inc()
	}
	return err
}

// audit is an act to record: what and on which target.
type audit struct {
	Action string
	Target string
	School string
	Detail map[string]any
}

// audited runs act as an audited act of the caller: the record is written
// first, pending (if that fails, the act is refused with 503: no act goes
// unrecorded), then again with the outcome, which act's error decides (nil:
// ok; 401/403: denied; otherwise failed). A failure to write the outcome is
// logged; the pending record stays.
func (s *Server) audited(c echo.Context, a audit, act func() error) error {
	if s.auth == nil || s.auth.Audit == nil {
		return act()
	}
	ctx := c.Request().Context()
	id, _ := IdentityFrom(ctx)
	e := auth.Entry{
		ID: randomHex(12), At: s.now(), Actor: id.Actor(), Role: id.Role, Scope: id.Scope.String(),
		Action: a.Action, Target: a.Target, School: a.School, Remote: c.RealIP(), Result: auth.ResultPending,
	}
	if a.Detail != nil {
		e.Detail = detailJSON(a.Detail)
	}
	if err := s.writeAudit(ctx, e); err != nil {
		return httpError(http.StatusServiceUnavailable, "could not record the act in the audit log; nothing was done, try again").SetInternal(err)
	}
	err := act()
	e.Result = resultOf(err)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			if e.Detail == nil {
				e.Detail = detailJSON(map[string]any{"status": he.Code})
			} else {
				d := map[string]any{}
				_ = json.Unmarshal(e.Detail, &d)
				d["status"] = he.Code
				e.Detail = detailJSON(d)
			}
		}
	}
	if werr := s.writeAudit(ctx, e); werr != nil {
		s.logger.LogAttrs(ctx, slog.LevelError, "could not record the outcome of an act; its pending record stays",
			slog.String("action", e.Action), slog.String("target", e.Target), slog.String("actor", e.Actor), slog.Any("err", werr))
	}
	return err
}

// resultOf classifies the outcome of an act.
func resultOf(err error) string {
	if err == nil {
		return auth.ResultOK
	}
	var he *echo.HTTPError
	if errors.As(err, &he) && (he.Code == http.StatusForbidden || he.Code == http.StatusUnauthorized) {
		return auth.ResultDenied
	}
	return auth.ResultFailed
}

// auditDenied records a change refused before its handler ran.
func (s *Server) auditDenied(c echo.Context, id auth.Identity, what string, herr *echo.HTTPError) {
	err := s.writeAudit(c.Request().Context(), auth.Entry{
		Actor: id.Actor(), Role: id.Role, Scope: id.Scope.String(), Action: "denied", Target: what,
		Remote: c.RealIP(), Result: auth.ResultDenied, Detail: detailJSON(map[string]any{"status": herr.Code}),
	})
	if err != nil {
		s.logger.Error("could not record a refused act", "target", what, "err", err)
	}
}

// auditBody is the body of GET /api/v1/audit.
type auditBody struct {
	Entries []auth.Entry `json:"entries"`
	// Next is the offset of the next page; absent on the last page.
	Next *int `json:"next,omitempty"`
}

// handleAudit serves GET /api/v1/audit to admins: filters actor, action (a
// name, or a prefix ending in "."), school, from and to (RFC 3339), limit
// (at most 1000) and offset; newest first.
func (s *Server) handleAudit(read AuditLogFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		q := c.QueryParams()
		f := auth.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), School: q.Get("school"), Limit: defaultAuditLimit}
		for _, p := range []struct {
			name string
			dst  *time.Time
		}{{"from", &f.From}, {"to", &f.To}} {
			if v := q.Get(p.name); v != "" {
				t, err := time.Parse(time.RFC3339, v)
				if err != nil {
					return httpError(http.StatusBadRequest, "%s %q: expected a time like 2026-11-25T08:00:00+08:00", p.name, v)
				}
				*p.dst = t
			}
		}
		for _, p := range []struct {
			name     string
			dst      *int
			min, max int
		}{{"limit", &f.Limit, 1, maxAuditLimit}, {"offset", &f.Offset, 0, 1 << 30}} {
			if v := q.Get(p.name); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < p.min || n > p.max {
					return httpError(http.StatusBadRequest, "%s %q: expected a number from %d to %d", p.name, v, p.min, p.max)
				}
				*p.dst = n
			}
		}
		list, err := read(c.Request().Context(), f)
		if err != nil {
			return httpError(http.StatusInternalServerError, "could not read the audit log").SetInternal(err)
		}
		body := auditBody{Entries: list}
		if body.Entries == nil {
			body.Entries = []auth.Entry{}
		}
		if len(list) == f.Limit {
			next := f.Offset + f.Limit
			body.Next = &next
		}
		return c.JSON(http.StatusOK, body)
	}
}
