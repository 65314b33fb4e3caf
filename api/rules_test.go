package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/rules"
)

// Rule files of the rules API tests.
const (
	goodRuleFile = `rules:
  - id: visitor.watchlist
    source: visitor
    type: entry
    when: event.watchlist == "blacklist"
    level: high
    for: 72h
    title: 禁入名单人员进入校园
  - id: canteen.fridge
    source: canteen
    when: event.celsius > 8
    level: medium
    title: 冷藏温度超标
`
)

// testRulesStatus is what the fake rule manager reports: the last reload was
// refused.
var testRulesStatus = rules.Status{
	Source:   "/etc/sanse/rules",
	LoadedAt: at("2025-06-10T08:00:00+08:00"),
	LastReload: rules.ReloadStatus{
		At: at("2025-06-10T09:30:00+08:00"), Success: false,
		Errors: []string{`/etc/sanse/rules/visitor.yaml:5:17: rule "visitor.misspelt": when: unknown field event.watchlst`},
	},
	Rules: []rules.RuleStatus{
		{ID: "visitor.watchlist_entry", Source: engine.SourceVisitor, Types: []string{"entry"}, Level: engine.SeverityHigh,
			Grade: "I", For: 72 * time.Hour, File: "/etc/sanse/rules/visitor.yaml", Line: 3,
			Provenance: "《中小学幼儿园安全管理办法》", State: rules.RuleActive},
		{ID: "bullying.repeated", Source: engine.SourceBullying, LevelExpr: `window.count >= 3 ? "high" : "medium"`,
			For: 7 * 24 * time.Hour, File: "/etc/sanse/rules/bullying.yaml", Line: 14, State: rules.RuleActive},
		{ID: "canteen.storage_temperature", Source: engine.SourceCanteen, Types: []string{"storage_temp"},
			Level: engine.SeverityMedium, File: "/etc/sanse/rules/canteen.yaml", Line: 40, State: rules.RuleActive},
	},
}

// fakeReload records its calls and answers with err.
type fakeReload struct {
	mu    sync.Mutex
	calls int
	err   error
}

func (f *fakeReload) reload() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.err
}

func (f *fakeReload) called() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// post sends a POST with body and, unless empty, the content type to h.
func post(t *testing.T, h http.Handler, target, contentType string, body io.Reader) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestRulesRoutesNeedTheirFunctions(t *testing.T) {
	s := newTestServer(t, Options{})
	h := s.Handler()
	requireJSONError(t, serve(t, h, http.MethodGet, "/api/v1/rules"), http.StatusNotFound, "/api/v1/rules")
	requireJSONError(t, post(t, h, "/api/v1/rules/validate", "application/yaml", strings.NewReader(goodRuleFile)), http.StatusNotFound)
	requireJSONError(t, post(t, h, "/-/reload", "", nil), http.StatusNotFound, "/-/reload")
}

func TestListRules(t *testing.T) {
	s := newTestServer(t, Options{RulesStatus: func() rules.Status { return testRulesStatus }})
	rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/rules")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.JSONEq(t, `{
		"source": "/etc/sanse/rules",
		"loaded_at": "2025-06-10T08:00:00+08:00",
		"last_reload": {
			"at": "2025-06-10T09:30:00+08:00",
			"success": false,
			"errors": ["/etc/sanse/rules/visitor.yaml:5:17: rule \"visitor.misspelt\": when: unknown field event.watchlst"]
		},
		"rules": [
			{"id": "visitor.watchlist_entry", "source": "visitor", "types": ["entry"], "level": "high", "grade": "I",
			 "for": "72h", "file": "/etc/sanse/rules/visitor.yaml", "line": 3, "provenance": "《中小学幼儿园安全管理办法》",
			 "state": "active"},
			{"id": "bullying.repeated", "source": "bullying", "types": [], "level": "",
			 "level_expr": "window.count >= 3 ? \"high\" : \"medium\"", "for": "7d",
			 "file": "/etc/sanse/rules/bullying.yaml", "line": 14, "provenance": "", "state": "active"},
			{"id": "canteen.storage_temperature", "source": "canteen", "types": ["storage_temp"], "level": "medium",
			 "for": "until_cleared", "file": "/etc/sanse/rules/canteen.yaml", "line": 40, "provenance": "", "state": "active"}
		]
	}`, rec.Body.String())

	requireJSONError(t, serve(t, s.Handler(), http.MethodDelete, "/api/v1/rules"), http.StatusMethodNotAllowed, "DELETE")
}

func TestListRulesAfterSuccess(t *testing.T) {
	st := testRulesStatus
	st.LastReload = rules.ReloadStatus{At: st.LoadedAt, Success: true}
	st.Rules = nil
	s := newTestServer(t, Options{RulesStatus: func() rules.Status { return st }})
	rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/rules")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	body := decodeJSON[map[string]any](t, rec)
	require.Equal(t, map[string]any{"at": "2025-06-10T08:00:00+08:00", "success": true, "errors": []any{}}, body["last_reload"])
	require.Equal(t, []any{}, body["rules"], "an empty list, never null")
}

func TestValidateRules(t *testing.T) {
	tests := []struct {
		name        string
		target      string
		contentType string
		body        string
		validate    ValidateRulesFunc
		wantCode    int
		wantBody    string   // JSON, when the answer is not an error
		wantError   []string // substrings of the error message otherwise
	}{
		{
			name: "valid", contentType: "application/yaml", body: goodRuleFile,
			wantCode: http.StatusOK, wantBody: `{"valid": true, "rules": 2}`,
		},
		{
			name: "valid as text with a charset", contentType: "text/plain; charset=utf-8", body: goodRuleFile,
			wantCode: http.StatusOK, wantBody: `{"valid": true, "rules": 2}`,
		},
		{
			name: "an id of the running rules is no error", contentType: "application/x-yaml",
			body:     strings.ReplaceAll(goodRuleFile, "visitor.watchlist", "visitor.watchlist_entry"),
			wantCode: http.StatusOK, wantBody: `{"valid": true, "rules": 2}`,
		},
		{
			name: "two mistakes, both located", target: "?file=visitor.yaml", contentType: "application/yaml", body: badRuleFile,
			wantCode: http.StatusUnprocessableEntity,
			wantBody: `{"valid": false, "errors": [
				{"file": "visitor.yaml", "rule": "visitor.misspelt", "line": 5, "column": 17, "field": "when",
				 "message": "unknown field event.watchlst (did you mean event.watchlist?)\n | event.watchlst == \"blacklist\"\n | ......^"},
				{"file": "visitor.yaml", "rule": "canteen.type_error", "line": 10, "column": 25, "field": "when",
				 "message": "invalid operation: > (mismatched types float64 and string)\n | event.celsius > \"8\"\n | ..............^"}
			]}`,
		},
		{
			name: "the file name is a base name only", target: "?file=..%2F..%2Fetc%2Fcanteen.yaml", contentType: "application/yaml",
			body: goodRuleFile,
			validate: func(name string, _ []byte) []error {
				return []error{&rules.Error{File: name, Rule: "x", Line: 2, Column: 5, Field: "level", Msg: "required"}}
			},
			wantCode: http.StatusUnprocessableEntity,
			wantBody: `{"valid": false, "errors": [
				{"file": "canteen.yaml", "rule": "x", "line": 2, "column": 5, "field": "level", "message": "required"}
			]}`,
		},
		{
			name: "the default file name", contentType: "application/yaml", body: goodRuleFile,
			validate: func(name string, _ []byte) []error { return []error{&rules.Error{File: name, Msg: "odd"}} },
			wantCode: http.StatusUnprocessableEntity,
			wantBody: `{"valid": false, "errors": [{"file": "uploaded.yaml", "message": "odd"}]}`,
		},
		{
			name: "an error that is not located", contentType: "application/yaml", body: goodRuleFile,
			validate: func(string, []byte) []error { return []error{errors.New("rule checker unavailable")} },
			wantCode: http.StatusUnprocessableEntity,
			wantBody: `{"valid": false, "errors": [{"message": "rule checker unavailable"}]}`,
		},
		{
			name: "a located error wrapped", contentType: "application/yaml", body: goodRuleFile,
			validate: func(name string, _ []byte) []error {
				return []error{fmt.Errorf("check: %w", &rules.Error{File: name, Line: 3, Msg: "odd"})}
			},
			wantCode: http.StatusUnprocessableEntity,
			wantBody: `{"valid": false, "errors": [{"file": "uploaded.yaml", "line": 3, "message": "odd"}]}`,
		},
		{
			name: "JSON is refused", contentType: "application/json", body: `{"rules": []}`,
			wantCode: http.StatusUnsupportedMediaType, wantError: []string{"application/yaml", "application/json"},
		},
		{
			name: "no content type", body: goodRuleFile,
			wantCode: http.StatusUnsupportedMediaType, wantError: []string{"application/yaml", "none"},
		},
		{
			name: "empty body", contentType: "application/yaml", body: " \n",
			wantCode: http.StatusBadRequest, wantError: []string{"empty"},
		},
		{
			name: "larger than 1 MiB", contentType: "application/yaml", body: goodRuleFile + "#" + strings.Repeat("x", 1<<20) + "\n",
			wantCode: http.StatusRequestEntityTooLarge, wantError: []string{"1 MiB"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			validate := tt.validate
			if validate == nil {
				validate = rules.Validate
			}
			s := newTestServer(t, Options{ValidateRules: validate})
			rec := post(t, s.Handler(), "/api/v1/rules/validate"+tt.target, tt.contentType, strings.NewReader(tt.body))
			if tt.wantBody == "" {
				requireJSONError(t, rec, tt.wantCode, tt.wantError...)
				return
			}
			require.Equal(t, tt.wantCode, rec.Code, rec.Body.String())
			require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			require.JSONEq(t, tt.wantBody, rec.Body.String())
		})
	}
}

func TestValidateRulesBodyLimitWithoutLength(t *testing.T) {
	s := newTestServer(t, Options{ValidateRules: rules.Validate})
	// A body of unknown length (chunked) is cut at the limit too.
	body := io.MultiReader(strings.NewReader(goodRuleFile+"#"), strings.NewReader(strings.Repeat("x", 1<<20)))
	req := httptest.NewRequest(http.MethodPost, "/api/v1/rules/validate", body)
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/yaml")
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	requireJSONError(t, rec, http.StatusRequestEntityTooLarge, "1 MiB")
}

func TestReload(t *testing.T) {
	status := func() rules.Status { return testRulesStatus }
	tests := []struct {
		name      string
		err       error
		status    RulesStatusFunc
		scope     Scope
		wantCode  int
		wantBody  string
		wantCalls int
	}{
		{
			name: "reloaded", status: status, scope: ScopeAll,
			wantCode: http.StatusOK, wantBody: `{"status": "reloaded", "rules": 3}`, wantCalls: 1,
		},
		{
			name: "reloaded, nothing to count the rules", scope: ScopeAll,
			wantCode: http.StatusOK, wantBody: `{"status": "reloaded"}`, wantCalls: 1,
		},
		{
			name: "refused with every error", status: status, scope: ScopeAll,
			err: errors.Join(
				&rules.Error{File: "r/visitor.yaml", Rule: "visitor.misspelt", Line: 5, Column: 17, Field: "when", Msg: "unknown field event.watchlst"},
				&rules.Error{File: "r/canteen.yaml", Rule: "canteen.type_error", Line: 10, Column: 25, Field: "when", Msg: "invalid operation"},
			),
			wantCode: http.StatusInternalServerError,
			wantBody: `{"error": "rules not reloaded: 2 errors; the previous rule set keeps running", "errors": [
				"r/visitor.yaml:5:17: rule \"visitor.misspelt\": when: unknown field event.watchlst",
				"r/canteen.yaml:10:25: rule \"canteen.type_error\": when: invalid operation"
			]}`,
			wantCalls: 1,
		},
		{
			name: "refused with one error", status: status, scope: ScopeAll,
			err:      errors.New("read rule directory: open /etc/sanse/rules: no such file or directory"),
			wantCode: http.StatusInternalServerError,
			wantBody: `{"error": "rules not reloaded: 1 error; the previous rule set keeps running",
				"errors": ["read rule directory: open /etc/sanse/rules: no such file or directory"]}`,
			wantCalls: 1,
		},
		{
			name: "a district may not reload", status: status, scope: Scope{District: "南湖区"},
			wantCode: http.StatusForbidden, wantCalls: 0,
		},
		{
			name: "nor a province scope narrowed to a school", status: status, scope: Scope{All: true, School: "JX-NH-0001"},
			wantCode: http.StatusForbidden, wantCalls: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeReload{err: tt.err}
			s := newTestServer(t, Options{
				Reload: fake.reload, RulesStatus: tt.status,
				Scope: func(*http.Request) (Scope, error) { return tt.scope, nil },
			})
			rec := post(t, s.Handler(), "/-/reload", "", nil)
			require.Equal(t, tt.wantCalls, fake.called())
			if tt.wantBody == "" {
				requireJSONError(t, rec, tt.wantCode, "province-wide")
				return
			}
			require.Equal(t, tt.wantCode, rec.Code, rec.Body.String())
			require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			require.JSONEq(t, tt.wantBody, rec.Body.String())
		})
	}
}

func TestReloadOnlyByPost(t *testing.T) {
	fake := &fakeReload{}
	s := newTestServer(t, Options{Reload: fake.reload})
	requireJSONError(t, serve(t, s.Handler(), http.MethodGet, "/-/reload"), http.StatusMethodNotAllowed, "GET")
	require.Zero(t, fake.called())
}

func TestRulesRoutesNeedAScope(t *testing.T) {
	fake := &fakeReload{}
	s := newTestServer(t, Options{
		RulesStatus: func() rules.Status { return testRulesStatus }, ValidateRules: rules.Validate, Reload: fake.reload,
		Scope: func(*http.Request) (Scope, error) { return Scope{}, errors.New("no token") },
	})
	h := s.Handler()
	requireJSONError(t, serve(t, h, http.MethodGet, "/api/v1/rules"), http.StatusUnauthorized, "no token")
	requireJSONError(t, post(t, h, "/api/v1/rules/validate", "application/yaml", strings.NewReader(goodRuleFile)), http.StatusUnauthorized, "no token")
	requireJSONError(t, post(t, h, "/-/reload", "", nil), http.StatusUnauthorized, "no token")
	require.Zero(t, fake.called())

	// Listing and validating are for every scope.
	s = newTestServer(t, Options{
		RulesStatus: func() rules.Status { return testRulesStatus }, ValidateRules: rules.Validate,
		Scope: func(*http.Request) (Scope, error) { return Scope{School: "JX-NH-0001"}, nil },
	})
	require.Equal(t, http.StatusOK, serve(t, s.Handler(), http.MethodGet, "/api/v1/rules").Code)
	require.Equal(t, http.StatusOK, post(t, s.Handler(), "/api/v1/rules/validate", "text/plain", strings.NewReader(goodRuleFile)).Code)
}

// TestRulesAPIWithManager runs the three endpoints against a rules.Manager
// over a directory: a bad file is refused with both mistakes while the old
// rules keep running, and a fixed one is taken.
func TestRulesAPIWithManager(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "visitor.yaml"), []byte(goodRuleFile), 0o644))
	reg := prometheus.NewRegistry()
	m, err := rules.NewManager(rules.ManagerOptions{Dir: dir, Registerer: reg})
	require.NoError(t, err)
	s := newTestServer(t, Options{
		Registerer: reg, Gatherer: reg,
		RulesStatus: m.Status, ValidateRules: m.Validate, Reload: m.Reload,
	})
	h := s.Handler()

	// Validating the bad file changes nothing.
	rec := post(t, h, "/api/v1/rules/validate?file=canteen.yaml", "application/yaml", strings.NewReader(badRuleFile))
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
	invalid := decodeJSON[invalidBody](t, rec)
	require.Len(t, invalid.Errors, 2)
	require.Equal(t, filepath.Join(dir, "canteen.yaml"), invalid.Errors[0].File, "located in the rule directory")
	// A new version of the running file is no duplicate of itself.
	rec = post(t, h, "/api/v1/rules/validate?file=visitor.yaml", "application/yaml", strings.NewReader(goodRuleFile))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	// A copy under another name is.
	rec = post(t, h, "/api/v1/rules/validate?file=copy.yaml", "application/yaml", strings.NewReader(goodRuleFile))
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), "duplicate rule id")

	// Putting it in place and reloading is refused.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "canteen.yaml"), []byte(badRuleFile), 0o644))
	rec = post(t, h, "/-/reload", "", nil)
	require.Equal(t, http.StatusInternalServerError, rec.Code, rec.Body.String())
	failed := decodeJSON[reloadFailedBody](t, rec)
	require.Len(t, failed.Errors, 2)
	require.Contains(t, failed.Errors[0], filepath.Join(dir, "canteen.yaml")+`:5:17: rule "visitor.misspelt": when: unknown field event.watchlst`)
	require.Contains(t, failed.Errors[1], filepath.Join(dir, "canteen.yaml")+`:10:25: rule "canteen.type_error": when: invalid operation`)

	rec = serve(t, h, http.MethodGet, "/api/v1/rules")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	list := decodeJSON[rulesBody](t, rec)
	require.Equal(t, dir, list.Source)
	require.False(t, list.LastReload.Success)
	require.Equal(t, failed.Errors, list.LastReload.Errors)
	require.Len(t, list.Rules, 2, "the previous rules keep running")
	require.Equal(t, "visitor.watchlist", list.Rules[0].ID)
	require.Equal(t, "72h", list.Rules[0].For)
	require.Equal(t, "24h", list.Rules[1].For)
	require.Equal(t, []string{}, list.Rules[1].Types)

	metrics := serve(t, h, http.MethodGet, "/metrics").Body.String()
	require.Contains(t, metrics, "sanse_rules_last_reload_successful 0\n")
	require.Contains(t, metrics, `sanse_rules_reloads_total{result="failure"} 1`+"\n")
	require.Contains(t, metrics, "sanse_rules_loaded 2\n")

	// Fixing the file.
	fixed := strings.NewReplacer("watchlst", "watchlist", `"8"`, "8").Replace(badRuleFile)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "canteen.yaml"), []byte(fixed), 0o644))
	rec = post(t, h, "/-/reload", "", nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.JSONEq(t, `{"status": "reloaded", "rules": 4}`, rec.Body.String())
	list = decodeJSON[rulesBody](t, serve(t, h, http.MethodGet, "/api/v1/rules"))
	require.True(t, list.LastReload.Success)
	require.Empty(t, list.LastReload.Errors)
	require.Len(t, list.Rules, 4)

	metrics = serve(t, h, http.MethodGet, "/metrics").Body.String()
	require.Contains(t, metrics, "sanse_rules_last_reload_successful 1\n")
	require.Contains(t, metrics, `sanse_rules_reloads_total{result="success"} 1`+"\n")
	require.Contains(t, metrics, `sanse_api_requests_total{code="500",handler="/-/reload"} 1`+"\n")
}

func TestFormatFor(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		want string
	}{
		{name: "hours", d: 72 * time.Hour, want: "72h"},
		{name: "a day in hours", d: 24 * time.Hour, want: "24h"},
		{name: "a week in days", d: 7 * 24 * time.Hour, want: "7d"},
		{name: "weeks and a day", d: 15 * 24 * time.Hour, want: "15d"},
		{name: "hours and minutes", d: 36*time.Hour + 30*time.Minute, want: "36h30m"},
		{name: "minutes", d: 30 * time.Minute, want: "30m"},
		{name: "scaled for the demo", d: time.Duration(float64(72*time.Hour) * (1.0 / 60)), want: "1h12m"},
		{name: "seconds", d: 90 * time.Second, want: "1m30s"},
		{name: "until a clearing event", d: 0, want: "until_cleared"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, formatFor(tt.d))
		})
	}
}

// badRuleFile has a misspelt field and a type error (testdata/rules/bad).
var badRuleFile = mustRead("../testdata/rules/bad/two_mistakes.yaml")

func mustRead(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return string(b)
}
