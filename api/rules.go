package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/auth"
	"github.com/sanse-campus/sanse/rules"
)

// RulesStatusFunc returns the running rule set and the outcome of the last
// load of the rule files. rules.Manager's Status is one. It must be safe for
// concurrent use and must not block on I/O.
type RulesStatusFunc func() rules.Status

// ValidateRulesFunc checks data as a rule file of the given base name and
// returns every problem (each a *rules.Error where it can be located), or
// nil when the file is valid. rules.Manager's Validate is one (the file is
// checked with the other files of the rule directory, in place of the file
// of that name); rules.Validate is another (the file is checked on its own).
// It must be safe for concurrent use and must not change the running rules.
type ValidateRulesFunc func(name string, data []byte) []error

// maxRuleFile bounds the body of POST /api/v1/rules/validate.
const maxRuleFile = 1 << 20

// defaultRuleFileName names the file when the request does not.
const defaultRuleFileName = "uploaded.yaml"

// ruleMediaTypes are the content types POST /api/v1/rules/validate accepts.
var ruleMediaTypes = []string{"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain"}

// rulesBody is the body of GET /api/v1/rules.
type rulesBody struct {
	// Source is the rule directory, or "embedded" for the default pack.
	Source     string         `json:"source"`
	LoadedAt   time.Time      `json:"loaded_at"`
	LastReload lastReloadJSON `json:"last_reload"`
	Rules      []ruleJSON     `json:"rules"`
}

// lastReloadJSON is the outcome of the last load of the rule files.
type lastReloadJSON struct {
	At      time.Time `json:"at"`
	Success bool      `json:"success"`
	// Errors are why the load was refused; empty after a success.
	Errors []string `json:"errors"`
}

// ruleJSON is one rule of the running set.
type ruleJSON struct {
	ID     string        `json:"id"`
	Source engine.Source `json:"source"`
	// Types are the event types the rule reads; empty: every type.
	Types []string `json:"types"`
	// Level is empty when LevelExpr decides the level of each match.
	Level     engine.Severity `json:"level"`
	LevelExpr string          `json:"level_expr,omitempty"`
	// Grade is the four-grade level (I–IV) the rule was written with.
	Grade string `json:"grade,omitempty"`
	// For is how long a risk stays active, written as in rule files
	// ("30m", "72h", "7d"), or untilCleared.
	For        string          `json:"for"`
	File       string          `json:"file"`
	Line       int             `json:"line"`
	Provenance string          `json:"provenance"`
	State      rules.RuleState `json:"state"`
}

// validBody is the body of a POST /api/v1/rules/validate that found no problem.
type validBody struct {
	Valid bool `json:"valid"`
	Rules int  `json:"rules"`
}

// invalidBody is the body of a POST /api/v1/rules/validate that found problems.
type invalidBody struct {
	Valid  bool            `json:"valid"`
	Errors []ruleErrorJSON `json:"errors"`
}

// ruleErrorJSON is one problem of a rule file. Every member but message is
// absent when unknown.
type ruleErrorJSON struct {
	File    string `json:"file,omitempty"`
	Rule    string `json:"rule,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// routeRules registers the rule endpoints whose functions opts provides.
// Every caller with a valid scope may list and validate rules: they are the
// same for every school. Reloading changes what every school is judged by,
// so it needs a province-wide scope.
func (s *Server) routeRules(e *echo.Echo, opts Options, scoped echo.MiddlewareFunc) {
	if opts.RulesStatus != nil {
		e.GET("/api/v1/rules", s.handleRules(opts.RulesStatus), scoped)
	}
	if opts.ValidateRules != nil {
		e.POST("/api/v1/rules/validate", s.handleValidateRules(opts.ValidateRules), scoped)
	}
	if opts.Reload != nil {
		e.POST("/-/reload", s.handleReload(opts.Reload, opts.RulesStatus), scoped)
	}
}

// handleRules serves GET /api/v1/rules: the running rules, where they come
// from, and whether the last reload succeeded and if not why.
func (s *Server) handleRules(status RulesStatusFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		st := status()
		errs := st.LastReload.Errors
		if errs == nil {
			errs = []string{}
		}
		body := rulesBody{
			Source:     st.Source,
			LoadedAt:   st.LoadedAt,
			LastReload: lastReloadJSON{At: st.LastReload.At, Success: st.LastReload.Success, Errors: errs},
			Rules:      make([]ruleJSON, 0, len(st.Rules)),
		}
		for _, r := range st.Rules {
			types := r.Types
			if types == nil {
				types = []string{}
			}
			body.Rules = append(body.Rules, ruleJSON{
				ID: r.ID, Source: r.Source, Types: types, Level: r.Level, LevelExpr: r.LevelExpr, Grade: r.Grade,
				For: formatFor(r.For), File: r.File, Line: r.Line, Provenance: r.Provenance, State: r.State,
			})
		}
		return c.JSON(http.StatusOK, body)
	}
}

// handleValidateRules serves POST /api/v1/rules/validate?file=NAME: the body
// is one rule file, checked without changing the running rules.
// It answers 200 when the file is valid and 422 with every problem when it
// is not.
func (s *Server) handleValidateRules(validate ValidateRulesFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if err := checkRuleMediaType(r.Header.Get(echo.HeaderContentType)); err != nil {
			return err
		}
		if r.ContentLength > maxRuleFile {
			return httpError(http.StatusRequestEntityTooLarge, "the rule file is larger than %d bytes (1 MiB)", maxRuleFile)
		}
		data, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, maxRuleFile))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return httpError(http.StatusRequestEntityTooLarge, "the rule file is larger than %d bytes (1 MiB)", maxRuleFile)
			}
			return httpError(http.StatusBadRequest, "could not read the rule file: %v", err)
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return httpError(http.StatusBadRequest, "the body is empty: send one rule file")
		}

		name := ruleFileName(c.QueryParam("file"))
		var errs []error
		if err := s.audited(c, audit{Action: auth.ActionRulesValidate, Target: name}, func() error {
			errs = validate(name, data)
			return nil
		}); err != nil {
			return err
		}
		if len(errs) == 0 {
			return c.JSON(http.StatusOK, validBody{Valid: true, Rules: countRules(name, data)})
		}
		body := invalidBody{Valid: false, Errors: make([]ruleErrorJSON, 0, len(errs))}
		for _, err := range errs {
			var re *rules.Error
			if errors.As(err, &re) {
				body.Errors = append(body.Errors, ruleErrorJSON{
					File: re.File, Rule: re.Rule, Line: re.Line, Column: re.Column, Field: re.Field, Message: re.Msg,
				})
				continue
			}
			body.Errors = append(body.Errors, ruleErrorJSON{Message: err.Error()})
		}
		return c.JSON(http.StatusUnprocessableEntity, body)
	}
}

// checkRuleMediaType returns a 415 error unless contentType is one of
// ruleMediaTypes, with any parameters.
func checkRuleMediaType(contentType string) error {
	mt, _, err := mime.ParseMediaType(contentType)
	if err == nil {
		for _, ok := range ruleMediaTypes {
			if mt == ok {
				return nil
			}
		}
	}
	if contentType == "" {
		contentType = "none"
	}
	return httpError(http.StatusUnsupportedMediaType,
		"send the rule file as application/yaml or text/plain, not %s", contentType)
}

// ruleFileName returns the base name of the file parameter, or
// defaultRuleFileName. It only names the file in problems.
func ruleFileName(p string) string {
	name := path.Base(strings.ReplaceAll(p, `\`, "/"))
	if name == "." || name == "/" || len(name) > 255 {
		return defaultRuleFileName
	}
	return name
}

// countRules returns the number of rules of a valid rule file.
func countRules(name string, data []byte) int {
	f, _ := rules.ParseFile(name, data)
	if f == nil {
		return 0
	}
	return len(f.Rules)
}

// untilCleared is the `for` of a rule whose risks last until a clearing
// event (clear_when) rather than for a time.
const untilCleared = "until_cleared"

// formatFor writes d as a rule file would: whole weeks and longer in days,
// otherwise as a duration without trailing zero units ("72h", "1h12m"); 0 is
// untilCleared.
func formatFor(d time.Duration) string {
	const day = 24 * time.Hour
	if d == 0 {
		return untilCleared
	}
	if d >= 7*day && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	s := d.Round(time.Millisecond).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
