package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/sanse-campus/sanse/engine/auth"
)

// ReloadFunc loads the rule files again and puts the new set in force. It
// returns nil when the new set runs, otherwise every problem found, joined
// with errors.Join, while the previous set keeps running. rules.Manager's
// Reload is one. It must be safe for concurrent use.
type ReloadFunc func() error

// reloadedBody is the body of a successful POST /-/reload.
type reloadedBody struct {
	Status string `json:"status"`
	// Rules is the number of running rules; absent when the server has no
	// RulesStatus to count them.
	Rules *int `json:"rules,omitempty"`
}

// reloadFailedBody is the body of a refused POST /-/reload: the usual error
// member, and every problem found.
type reloadFailedBody struct {
	Error  string   `json:"error"`
	Errors []string `json:"errors"`
}

// handleReload serves POST /-/reload: reload the rule files now, as SIGHUP
// does. 200 when the new set runs; 500 with every problem when it was
// refused and the previous set keeps running. It needs a province-wide
// scope, since it changes what every school is judged by.
func (s *Server) handleReload(reload ReloadFunc, status RulesStatusFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !provinceWide(ScopeFrom(c.Request().Context())) {
			return httpError(http.StatusForbidden, "reloading the rules needs a province-wide scope")
		}
		var failed []string
		err := s.audited(c, audit{Action: auth.ActionRulesReload}, func() error {
			if err := reload(); err != nil {
				failed = splitErrors(err)
				return httpError(http.StatusInternalServerError, "rules not reloaded")
			}
			return nil
		})
		if failed != nil {
			return c.JSON(http.StatusInternalServerError, reloadFailedBody{
				Error:  fmt.Sprintf("rules not reloaded: %d %s; the previous rule set keeps running", len(failed), plural(len(failed), "error", "errors")),
				Errors: failed,
			})
		}
		if err != nil {
			return err
		}
		body := reloadedBody{Status: "reloaded"}
		if status != nil {
			n := len(status().Rules)
			body.Rules = &n
		}
		return c.JSON(http.StatusOK, body)
	}
}

// provinceWide reports whether scope allows every school, unnarrowed.
func provinceWide(scope Scope) bool {
	return scope.All && scope.District == "" && scope.School == ""
}

// splitErrors returns the messages of the errors joined in err, or of err
// alone.
func splitErrors(err error) []string {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		var out []string
		for _, e := range joined.Unwrap() {
			if e != nil {
				out = append(out, e.Error())
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return []string{err.Error()}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
