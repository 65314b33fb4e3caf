package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// healthBody is the body of /healthz and /readyz.
type healthBody struct {
	Status string `json:"status"`
	// Checks maps each ready check to "ok" or the reason it failed.
	Checks map[string]string `json:"checks,omitempty"`
}

// handleHealth serves GET /healthz: the process is up and serving.
func (s *Server) handleHealth(c echo.Context) error {
	return c.JSON(http.StatusOK, healthBody{Status: "ok"})
}

// readyGrace is how long /readyz waits past the ready timeout for checks to
// report how their context ending stopped them, which says more than that
// they did not answer.
const readyGrace = 100 * time.Millisecond

// handleReady serves GET /readyz: 200 when every ready check returns nil
// within the ready timeout, else 503 naming each check's result. The checks
// run concurrently; one that has not answered shortly after the deadline
// counts as failed and is left to finish on its own.
func (s *Server) handleReady(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.readyTimeout)
	defer cancel()
	deadline := time.NewTimer(s.readyTimeout + readyGrace)
	defer deadline.Stop()

	type result struct {
		i   int
		err error
	}
	results := make(chan result, len(s.ready)) // buffered: late checks never block
	for i, rc := range s.ready {
		go func() {
			defer func() {
				if p := recover(); p != nil {
					results <- result{i, fmt.Errorf("check panicked: %v", p)}
				}
			}()
			results <- result{i, rc.Check(ctx)}
		}()
	}

	errs := make([]error, len(s.ready))
	answered := make([]bool, len(s.ready))
wait:
	for range s.ready {
		select {
		case r := <-results:
			errs[r.i], answered[r.i] = r.err, true
		case <-deadline.C:
			break wait
		case <-c.Request().Context().Done():
			break wait // the client went away
		}
	}

	body := healthBody{Status: "ok", Checks: make(map[string]string, len(s.ready))}
	for i, rc := range s.ready {
		err := errs[i]
		if !answered[i] {
			err = fmt.Errorf("no answer within %s", s.readyTimeout)
		}
		if err != nil {
			body.Status = "not ready"
			body.Checks[rc.Name] = err.Error()
			s.logger.LogAttrs(ctx, slog.LevelWarn, "not ready", slog.String("check", rc.Name), slog.Any("err", err))
			continue
		}
		body.Checks[rc.Name] = "ok"
	}
	if body.Status != "ok" {
		return c.JSON(http.StatusServiceUnavailable, body)
	}
	return c.JSON(http.StatusOK, body)
}
