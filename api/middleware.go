package api

import (
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// notFoundRoute labels requests that matched no route in metrics and logs.
const notFoundRoute = "not_found"

// instrument is the outermost middleware: it hands errors to the error
// handler itself so that it sees the status code that was sent, then counts
// and times the request by route and logs it at Debug.
func (s *Server) instrument(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		elapsed := time.Since(start)

		route := c.Path()
		if errors.Is(err, echo.ErrNotFound) {
			// The router's own 404: c.Path() is whatever route prefix came
			// closest, which would mislabel the request.
			route = notFoundRoute
		}
		code := c.Response().Status
		s.metrics.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
		s.metrics.duration.WithLabelValues(route).Observe(elapsed.Seconds())

		ctx := c.Request().Context()
		if s.logger.Enabled(ctx, slog.LevelDebug) {
			s.logger.LogAttrs(ctx, slog.LevelDebug, "request",
				slog.String("method", c.Request().Method),
				slog.String("uri", c.Request().RequestURI),
				slog.String("route", route),
				slog.Int("code", code),
				slog.Duration("duration", elapsed),
				slog.String("remote", c.RealIP()),
			)
		}
		return nil
	}
}

// recoverPanics turns a panic in a handler into a 500 for the error handler,
// after logging it with its stack; the client learns nothing about it.
// http.ErrAbortHandler is re-raised: it is how a handler aborts a response.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if perr, ok := p.(error); ok && errors.Is(perr, http.ErrAbortHandler) {
				panic(p)
			}
			s.logger.LogAttrs(c.Request().Context(), slog.LevelError, "panic serving request",
				slog.String("route", c.Path()), slog.Any("err", p), slog.String("stack", string(debug.Stack())))
			err = httpError(http.StatusInternalServerError, "internal server error")
		}()
		return next(c)
	}
}
