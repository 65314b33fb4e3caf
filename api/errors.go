package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
)

// errorBody is the body of every error response.
type errorBody struct {
	Error string `json:"error"`
}

// httpError returns an error that the error handler sends with code and the
// formatted message.
func httpError(code int, format string, args ...any) *echo.HTTPError {
	return echo.NewHTTPError(code, fmt.Sprintf(format, args...))
}

// handleError is echo's HTTPErrorHandler: every error, including echo's own
// 404 and 405 and recovered panics, becomes a JSON {"error": "..."} with its
// status code. Errors that are not *echo.HTTPError are internal: they are
// logged and the client learns nothing about them.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code, msg := http.StatusInternalServerError, "internal server error"
	var he *echo.HTTPError
	switch {
	case errors.Is(err, echo.ErrNotFound):
		code, msg = http.StatusNotFound, fmt.Sprintf("no such endpoint: %s", c.Request().URL.Path)
	case errors.Is(err, echo.ErrMethodNotAllowed):
		code, msg = http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed here", c.Request().Method)
	case errors.As(err, &he):
		code = he.Code
		switch m := he.Message.(type) {
		case string:
			msg = m
		case error:
			msg = m.Error()
		default:
			msg = http.StatusText(code)
		}
		if code >= http.StatusInternalServerError && he.Internal != nil {
			s.logger.LogAttrs(c.Request().Context(), slog.LevelError, "request failed",
				slog.String("route", c.Path()), slog.Int("code", code), slog.Any("err", he.Internal))
		}
	default:
		s.logger.LogAttrs(c.Request().Context(), slog.LevelError, "request failed",
			slog.String("route", c.Path()), slog.Any("err", err))
	}

	if c.Request().Method == http.MethodHead {
		err = c.NoContent(code)
	} else {
		err = c.JSON(code, errorBody{Error: msg})
	}
	if err != nil {
		s.logger.Debug("write error response", "err", err)
	}
}
