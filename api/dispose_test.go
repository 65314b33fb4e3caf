package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/auth"
	"github.com/sanse-campus/sanse/engine/hazard"
)

const disposePath = "/api/v1/schools/JX-NH-0003/risks/dispose"

// fakeDispose records its calls and answers with view or err.
type fakeDispose struct {
	mu    sync.Mutex
	calls []disposeCall
	view  engine.SchoolView
	err   error
}

// disposeCall is one call of the fake, with what its context held.
type disposeCall struct {
	schoolID, rule, key string
	state               engine.Disposition
	by, comment         string
	ctxErr              error
	hasDeadline         bool
}

func (f *fakeDispose) dispose(ctx context.Context, schoolID, rule, key string, d engine.Disposition, by, comment string) (engine.SchoolView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, deadline := ctx.Deadline()
	f.calls = append(f.calls, disposeCall{schoolID: schoolID, rule: rule, key: key, state: d, by: by, comment: comment,
		ctxErr: ctx.Err(), hasDeadline: deadline})
	return f.view, f.err
}

func (f *fakeDispose) recorded() []disposeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// checkedView is JX-NH-0003 of pendingSchools after a person found its
// rodent detection a false alarm: green, no risk left.
func checkedView() engine.SchoolView {
	v := pendingSchools().views["JX-NH-0003"]
	v.Risks = nil
	v.Since, v.Cause = testNow, engine.Cause{How: engine.RiskFalseAlarm, Rule: "canteen.rodent", Title: "后厨发现鼠患", Severity: engine.SeverityLow}
	return v
}

// disposeBody is a request body for canteen.rodent.
func disposeBody(state, by, comment string) string {
	return fmt.Sprintf(`{"rule": "canteen.rodent", "key": "", "state": %q, "by": %q, "comment": %q}`, state, by, comment)
}

func TestDispose(t *testing.T) {
	for _, tc := range []struct {
		name, state, comment string
	}{
		{name: "false alarm", state: "false_alarm", comment: "回看录像：是猫"},
		{name: "handled", state: "handled", comment: "已消杀并封堵洞口"},
		{name: "confirmed without a comment", state: "confirmed", comment: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			fake := &fakeDispose{view: checkedView()}
			s := newTestServer(t, Options{Schools: pendingSchools(), Dispose: fake.dispose, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			rec := post(t, s.Handler(), disposePath, "application/json",
				strings.NewReader(disposeBody(tc.state, " 王老师（食堂） ", tc.comment+"\n")))
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

			// The answer is the school as its page shows it after the check.
			detail := newTestServer(t, Options{Schools: &fakeSchools{views: map[string]engine.SchoolView{"JX-NH-0003": checkedView()}}})
			want := serve(t, detail.Handler(), http.MethodGet, "/api/v1/schools/JX-NH-0003")
			require.JSONEq(t, want.Body.String(), rec.Body.String())

			require.Equal(t, []disposeCall{{
				schoolID: "JX-NH-0003", rule: "canteen.rodent", state: engine.Disposition(tc.state),
				by: "王老师（食堂）", comment: tc.comment, hasDeadline: true,
			}}, fake.recorded())
			require.Contains(t, logs.String(), `"msg":"risk checked","component":"api","school":"JX-NH-0003","rule":"canteen.rodent","risk_key":"","state":"`+tc.state+`"`)
		})
	}
}

func TestDisposeBadRequest(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want []string
	}{
		{name: "unknown state", body: disposeBody("resolved", "王老师", "已处置"),
			want: []string{`unknown state "resolved"`, "confirmed, false_alarm or handled"}},
		{name: "no state", body: `{"rule": "canteen.rodent", "by": "王老师", "comment": "是猫"}`,
			want: []string{`missing required field "state"`, "confirmed, false_alarm or handled"}},
		{name: "false alarm without a comment", body: disposeBody("false_alarm", "王老师", " \n"),
			want: []string{`missing required field "comment"`}},
		{name: "handled without a comment", body: disposeBody("handled", "王老师", ""),
			want: []string{`missing required field "comment"`}},
		{name: "no rule, no by", body: `{"state": "confirmed"}`,
			want: []string{`missing required fields "rule", "by"`}},
		{name: "a field misspelt", body: `{"rule": "canteen.rodent", "status": "confirmed", "by": "王老师"}`,
			want: []string{`unknown field "status"`, "rule, key, state, by and comment"}},
		{name: "empty body", body: "", want: []string{"the body is empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeDispose{view: checkedView()}
			s := newTestServer(t, Options{Schools: pendingSchools(), Dispose: fake.dispose})
			rec := post(t, s.Handler(), disposePath, "application/json", strings.NewReader(tc.body))
			requireJSONError(t, rec, http.StatusBadRequest, tc.want...)
			require.Empty(t, fake.recorded(), "nothing is checked")
		})
	}
}

func TestDisposeErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target string
		scope  Scope
		state  string
		err    error
		view   engine.SchoolView
		code   int
		want   []string
		called bool
		logged string
	}{
		{name: "school of another district", target: "/api/v1/schools/JX-XZ-0001/risks/dispose", scope: Scope{District: "南湖区"},
			state: "confirmed", code: http.StatusNotFound, want: []string{`school "JX-XZ-0001" not found`}},
		{name: "another school", target: disposePath, scope: Scope{School: "JX-NH-0001"},
			state: "false_alarm", code: http.StatusNotFound, want: []string{`school "JX-NH-0003" not found`}},
		{name: "no such active risk", target: disposePath, scope: ScopeAll, state: "false_alarm",
			err:  fmt.Errorf("dispose: %w", engine.ErrNoSuchRisk),
			code: http.StatusNotFound, want: []string{`school "JX-NH-0003" has no active risk "canteen.rodent"`}, called: true},
		{name: "confirming a risk not pending", target: disposePath, scope: ScopeAll, state: "confirmed",
			err:  engine.ErrNotPending,
			code: http.StatusConflict, want: []string{"is not pending a check"}, called: true},
		{name: "held by a hazard", target: disposePath, scope: ScopeAll, state: "handled",
			err:  fmt.Errorf("handled risk: %w", hazard.ErrHeldByHazard),
			code: http.StatusConflict, want: []string{hazard.ErrHeldByHazard.Error()}, called: true},
		{name: "the store failed", target: disposePath, scope: ScopeAll, state: "false_alarm",
			err:  errors.New("store the check: dial tcp 10.0.0.7:9000: connection refused"),
			code: http.StatusInternalServerError, want: []string{`could not record the check of risk "canteen.rodent" of school "JX-NH-0003"`},
			called: true, logged: "10.0.0.7:9000: connection refused"},
		{name: "no school in the answer", target: disposePath, scope: ScopeAll, state: "confirmed", view: engine.SchoolView{},
			code: http.StatusInternalServerError, want: []string{"could not record the check"}, called: true, logged: "no school in the answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			fake := &fakeDispose{view: tc.view, err: tc.err}
			s := newTestServer(t, Options{
				Schools: pendingSchools(),
				Dispose: fake.dispose,
				Scope:   func(*http.Request) (Scope, error) { return tc.scope, nil },
				Logger:  slog.New(slog.NewJSONHandler(&logs, nil)),
			})
			rec := post(t, s.Handler(), tc.target, "application/json", strings.NewReader(disposeBody(tc.state, "王老师", "是猫")))
			requireJSONError(t, rec, tc.code, tc.want...)
			require.Len(t, fake.recorded(), map[bool]int{false: 0, true: 1}[tc.called])
			if tc.logged != "" {
				require.NotContains(t, rec.Body.String(), tc.logged)
				require.Contains(t, logs.String(), tc.logged)
			}
			require.NotContains(t, logs.String(), "risk checked")
		})
	}
}

// TestDisposeOutlivesTheClient: as a resolution, a check once begun is
// finished when the client goes away, within a bound.
func TestDisposeOutlivesTheClient(t *testing.T) {
	fake := &fakeDispose{view: checkedView()}
	s := newTestServer(t, Options{Schools: pendingSchools(), Dispose: fake.dispose})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, disposePath, strings.NewReader(disposeBody("false_alarm", "王老师", "是猫")))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	calls := fake.recorded()
	require.Len(t, calls, 1)
	require.NoError(t, calls[0].ctxErr)
	require.True(t, calls[0].hasDeadline)
}

func TestDisposeRoute(t *testing.T) {
	t.Run("not served without a DisposeFunc", func(t *testing.T) {
		s := newTestServer(t, Options{})
		rec := post(t, s.Handler(), disposePath, "application/json", strings.NewReader(disposeBody("confirmed", "王老师", "")))
		requireJSONError(t, rec, http.StatusNotFound, "no such endpoint")
	})
	t.Run("POST only", func(t *testing.T) {
		s := newTestServer(t, Options{Dispose: (&fakeDispose{}).dispose})
		requireJSONError(t, serve(t, s.Handler(), http.MethodGet, disposePath), http.StatusMethodNotAllowed)
	})
	t.Run("an operator's act", func(t *testing.T) {
		require.Equal(t, auth.RoleOperator, RequiredRole(http.MethodPost, "/api/v1/schools/:id/risks/dispose"))
	})
}

// TestDisposeAuthenticated: signed in, the actor is the token whatever the
// body says; the act is audited with its state and comment; a viewer may
// not check; and with separation of duties, a school's own operator may
// confirm a high risk that waits for a person but not end it, which the
// district's operator may.
func TestDisposeAuthenticated(t *testing.T) {
	schools := pendingSchools()
	v := schools.views["JX-NH-0003"]
	v.Risks = append([]engine.Risk(nil), v.Risks...)
	v.Risks[0].Severity, v.Risks[0].Pending, v.Risks[0].Full = engine.SeverityHigh, false, "" // confirmed earlier: high, manual
	schools.views["JX-NH-0003"] = v
	au := &fakeAudit{}
	fake := &fakeDispose{view: checkedView()}
	s := newTestServer(t, Options{Schools: schools, Dispose: fake.dispose, Auth: &AuthOptions{
		Verifier: fakeVerifier{
			"sanse_school": {Name: "nh3-op", Role: auth.RoleOperator, Scope: auth.Scope{Schools: []string{"JX-NH-0003"}}},
			"sanse_viewer": {Name: "nh3-viewer", Role: auth.RoleViewer, Scope: auth.Scope{Schools: []string{"JX-NH-0003"}}},
			"sanse_dist":   {Name: "nanhu-op", Role: auth.RoleOperator, Scope: auth.Scope{Districts: []string{"南湖区"}}},
		},
		Audit: au.write, HighRiskAboveSchool: true,
	}})
	send := func(token, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, disposePath, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, r)
		return rec
	}

	requireJSONError(t, send("sanse_viewer", disposeBody("false_alarm", "", "是猫")), http.StatusForbidden, "needs operator")
	requireJSONError(t, send("sanse_school", disposeBody("false_alarm", "", "是猫")), http.StatusForbidden, "separation of duties")
	require.Empty(t, fake.recorded())

	rec := send("sanse_school", disposeBody("confirmed", "someone else", ""))
	require.Equal(t, http.StatusOK, rec.Code, "confirming ends nothing: the school may: %s", rec.Body.String())
	rec = send("sanse_dist", disposeBody("false_alarm", "", "回看录像：是猫"))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	calls := fake.recorded()
	require.Len(t, calls, 2)
	require.Equal(t, []string{"nh3-op", "nanhu-op"}, []string{calls[0].by, calls[1].by}, "the actor is the token, never the body's by")

	au.mu.Lock()
	defer au.mu.Unlock()
	var got []string
	for _, e := range au.entries {
		if e.Action != auth.ActionRiskDispose || e.Result == auth.ResultPending {
			continue
		}
		require.Equal(t, "canteen.rodent", e.Target)
		require.Equal(t, "JX-NH-0003", e.School)
		var d map[string]any
		require.NoError(t, json.Unmarshal(e.Detail, &d))
		got = append(got, fmt.Sprintf("%s %s %s", e.Actor, d["state"], e.Result))
	}
	require.Equal(t, []string{"nh3-op false_alarm denied", "nh3-op confirmed ok", "nanhu-op false_alarm ok"}, got)
}
