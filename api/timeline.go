package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/words"
)

// defaultTimelineSpan is the timeline's time range when from is not given.
const defaultTimelineSpan = 7 * 24 * time.Hour

// timeExample shows the expected form of time parameters in error messages.
const timeExample = "2025-06-01T08:00:00+08:00"

// timeline is the body of GET /api/v1/schools/:id/timeline.
type timeline struct {
	SchoolID string       `json:"school_id"`
	From     time.Time    `json:"from"`
	To       time.Time    `json:"to"`
	Changes  []changeJSON `json:"changes"`
}

// changeJSON is one colour change.
type changeJSON struct {
	At   time.Time    `json:"at"`
	From engine.Level `json:"from"`
	To   engine.Level `json:"to"`
	Rule string       `json:"rule"`
	// EventID is the event that caused the change; nil when a risk expired.
	EventID *string `json:"event_id"`
	Cause   string  `json:"cause"`
	// CauseEn is the cause in English, for the page's English view.
	CauseEn     string `json:"cause_en"`
	ActiveRisks int    `json:"active_risks"`
}

// handleTimeline serves GET /api/v1/schools/:id/timeline?from=&to=: the
// school's colour changes in [from, to), oldest first. to defaults to now
// and from to seven days before to.
func (s *Server) handleTimeline(c echo.Context) error {
	from, to, err := s.timeRange(c.QueryParam("from"), c.QueryParam("to"))
	if err != nil {
		return err
	}
	v, err := s.scopedView(c)
	if err != nil {
		return err
	}

	ctx := c.Request().Context()
	changes, err := s.timeline(ctx, v.School.ID, from, to)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			// The client went away; there is no one to answer.
			s.logger.LogAttrs(ctx, slog.LevelDebug, "timeline query cancelled", slog.String("school", v.School.ID))
			return httpError(http.StatusServiceUnavailable, "request cancelled")
		}
		return httpError(http.StatusInternalServerError, "could not read the timeline of school %q", v.School.ID).
			SetInternal(fmt.Errorf("timeline of school %q: %w", v.School.ID, err))
	}
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].At.Before(changes[j].At) })

	body := timeline{SchoolID: v.School.ID, From: local(from), To: local(to), Changes: make([]changeJSON, 0, len(changes))}
	for _, ch := range changes {
		cj := changeJSON{
			At: local(ch.At), From: ch.From, To: ch.To, Rule: ch.Cause.Rule, Cause: words.Cause(ch.Cause, words.Chinese),
			CauseEn: words.Cause(ch.Cause, words.English), ActiveRisks: ch.ActiveRisks,
		}
		if ch.EventID != "" {
			cj.EventID = &ch.EventID
		}
		body.Changes = append(body.Changes, cj)
	}
	return c.JSON(http.StatusOK, body)
}

// timeRange parses the from and to parameters, applying the defaults and
// the limits of handleTimeline.
func (s *Server) timeRange(fromParam, toParam string) (from, to time.Time, err error) {
	if fromParam != "" {
		if from, err = parseTime("from", fromParam); err != nil {
			return
		}
	}
	if toParam != "" {
		if to, err = parseTime("to", toParam); err != nil {
			return
		}
	}
	if toParam == "" {
		to = s.now()
	}
	if fromParam == "" {
		from = to.Add(-defaultTimelineSpan)
		// The default range is cut at the horizon rather than refused.
		if oldest := s.now().Add(-s.limits.HistoryHorizon); from.Before(oldest) && !to.Before(oldest) {
			from = oldest
		}
	}
	if from.After(to) {
		return from, to, httpError(http.StatusBadRequest, "invalid parameter from: %s is after to (%s)",
			from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return from, to, s.checkRange(from, to)
}
