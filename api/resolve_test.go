package api

import (
	"bytes"
	"context"
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
)

const resolvePath = "/api/v1/schools/JX-NH-0001/risks/resolve"

// fakeResolve records its calls and answers with view or err.
type fakeResolve struct {
	mu    sync.Mutex
	calls []resolveCall
	view  engine.SchoolView
	err   error
}

// resolveCall is one call of the fake, with what its context held.
type resolveCall struct {
	schoolID, rule, key, by, comment string
	// ctxErr is the context's error at the call; hasDeadline whether it
	// had one.
	ctxErr      error
	hasDeadline bool
	scope       Scope
}

func (f *fakeResolve) resolve(ctx context.Context, schoolID, rule, key, by, comment string) (engine.SchoolView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, deadline := ctx.Deadline()
	f.calls = append(f.calls, resolveCall{
		schoolID: schoolID, rule: rule, key: key, by: by, comment: comment,
		ctxErr: ctx.Err(), hasDeadline: deadline, scope: ScopeFrom(ctx),
	})
	return f.view, f.err
}

func (f *fakeResolve) recorded() []resolveCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// resolvedView is JX-NH-0001 after a person resolved its visitor.blacklist
// risk: yellow, with the canteen risk left.
func resolvedView() engine.SchoolView {
	v := testSchools().views["JX-NH-0001"]
	v.Level, v.Since, v.Cause = engine.LevelYellow, testNow, engine.Cause{Text: "已人工处置解除：禁入名单人员到访"}
	v.Risks = v.Risks[1:]
	return v
}

// resolveBody is a valid request body with the given by and comment.
func resolveBody(by, comment string) string {
	return fmt.Sprintf(`{"rule": "visitor.blacklist", "key": "", "by": %q, "comment": %q}`, by, comment)
}

func TestResolve(t *testing.T) {
	var logs bytes.Buffer
	fake := &fakeResolve{view: resolvedView()}
	s := newTestServer(t, Options{Resolve: fake.resolve, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})

	rec := post(t, s.Handler(), resolvePath, "application/json; charset=utf-8",
		strings.NewReader(resolveBody(" 王老师（安全办） ", "已核实：来访者为学生家长，名单比对有误\n")))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))

	// The answer is the school as its page shows it after the change.
	detail := newTestServer(t, Options{Schools: &fakeSchools{views: map[string]engine.SchoolView{"JX-NH-0001": resolvedView()}}})
	want := serve(t, detail.Handler(), http.MethodGet, "/api/v1/schools/JX-NH-0001")
	require.Equal(t, http.StatusOK, want.Code)
	require.JSONEq(t, want.Body.String(), rec.Body.String())
	body := decodeJSON[map[string]any](t, rec)
	require.Equal(t, "yellow", body["level"])
	require.Equal(t, "已人工处置解除：禁入名单人员到访", body["cause"])
	require.Len(t, body["active_risks"], 1)

	require.Equal(t, []resolveCall{{
		schoolID: "JX-NH-0001", rule: "visitor.blacklist", key: "",
		by: "王老师（安全办）", comment: "已核实：来访者为学生家长，名单比对有误",
		hasDeadline: true, scope: ScopeAll,
	}}, fake.recorded())
	require.Contains(t, logs.String(), `"msg":"risk resolved","component":"api","school":"JX-NH-0001","rule":"visitor.blacklist","risk_key":"","actor":"王老师（安全办）"`)
}

func TestResolveWithKey(t *testing.T) {
	fake := &fakeResolve{view: resolvedView()}
	s := newTestServer(t, Options{Resolve: fake.resolve})
	rec := post(t, s.Handler(), resolvePath, "application/json",
		strings.NewReader(`{"rule": "canteen.no_hat", "key": "后厨", "by": "张师傅", "comment": "已整改"}`))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	calls := fake.recorded()
	require.Len(t, calls, 1)
	require.Equal(t, []string{"canteen.no_hat", "后厨"}, []string{calls[0].rule, calls[0].key})
}

func TestResolveBadRequest(t *testing.T) {
	for _, tc := range []struct {
		name        string
		contentType string
		body        string
		code        int
		want        []string
	}{
		{name: "no rule", body: `{"key": "", "by": "王老师", "comment": "已处置"}`,
			code: http.StatusBadRequest, want: []string{`missing required field "rule"`}},
		{name: "no by", body: `{"rule": "visitor.blacklist", "comment": "已处置"}`,
			code: http.StatusBadRequest, want: []string{`missing required field "by"`, "who resolves it"}},
		{name: "blank comment", body: resolveBody("王老师", " \n\t"),
			code: http.StatusBadRequest, want: []string{`missing required field "comment"`, "why"}},
		{name: "nothing", body: `{}`,
			code: http.StatusBadRequest, want: []string{`missing required fields "rule", "by", "comment"`}},
		{name: "empty body", body: "",
			code: http.StatusBadRequest, want: []string{"the body is empty"}},
		{name: "not JSON", body: `rule=visitor.blacklist`,
			code: http.StatusBadRequest, want: []string{"invalid body: not JSON"}},
		{name: "cut short", body: `{"rule": "visitor.blacklist", `,
			code: http.StatusBadRequest, want: []string{"invalid body: not JSON"}},
		{name: "a field misspelt", body: `{"rule": "visitor.blacklist", "by": "王老师", "comments": "已处置"}`,
			code: http.StatusBadRequest, want: []string{`unknown field "comments"`, "rule, key, by and comment"}},
		{name: "a number for a string", body: `{"rule": 7, "by": "王老师", "comment": "已处置"}`,
			code: http.StatusBadRequest, want: []string{`field "rule" must be a string, not number`}},
		{name: "an array", body: `[]`,
			code: http.StatusBadRequest, want: []string{"a JSON object expected, not array"}},
		{name: "two objects", body: resolveBody("王老师", "已处置") + "{}",
			code: http.StatusBadRequest, want: []string{"one JSON object expected"}},
		{name: "too large", body: resolveBody("王老师", strings.Repeat("很", maxBody)),
			code: http.StatusRequestEntityTooLarge, want: []string{"larger than 65536 bytes"}},
		{name: "a form", contentType: "application/x-www-form-urlencoded", body: "rule=visitor.blacklist",
			code: http.StatusUnsupportedMediaType, want: []string{"application/json", "application/x-www-form-urlencoded"}},
		{name: "no content type", contentType: "-", body: resolveBody("王老师", "已处置"),
			code: http.StatusUnsupportedMediaType, want: []string{"not none"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeResolve{view: resolvedView()}
			s := newTestServer(t, Options{Resolve: fake.resolve})
			contentType := tc.contentType
			switch contentType {
			case "":
				contentType = "application/json"
			case "-":
				contentType = ""
			}
			rec := post(t, s.Handler(), resolvePath, contentType, strings.NewReader(tc.body))
			requireJSONError(t, rec, tc.code, tc.want...)
			require.Empty(t, fake.recorded(), "nothing is resolved")
		})
	}
}

func TestResolveErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target string
		scope  Scope
		err    error
		view   engine.SchoolView
		code   int
		want   []string
		// called says whether the ResolveFunc is reached.
		called bool
		// logged is in the server's log, never in the answer.
		logged string
	}{
		{name: "unknown school", target: "/api/v1/schools/JX-NONE/risks/resolve", scope: ScopeAll,
			code: http.StatusNotFound, want: []string{`school "JX-NONE" not found`}},
		{name: "school of another district", target: "/api/v1/schools/JX-XZ-0001/risks/resolve", scope: Scope{District: "南湖区"},
			code: http.StatusNotFound, want: []string{`school "JX-XZ-0001" not found`}},
		{name: "another school", target: resolvePath, scope: Scope{School: "JX-NH-0002"},
			code: http.StatusNotFound, want: []string{`school "JX-NH-0001" not found`}},
		{name: "no such active risk", target: resolvePath, scope: ScopeAll,
			err:  fmt.Errorf("resolve: %w", engine.ErrNoSuchRisk),
			code: http.StatusNotFound, want: []string{`school "JX-NH-0001" has no active risk "visitor.blacklist"`}, called: true},
		{name: "the store failed", target: resolvePath, scope: ScopeAll,
			err:  errors.New("store the resolution: dial tcp 10.0.0.7:9000: connection refused"),
			code: http.StatusInternalServerError, want: []string{`could not resolve risk "visitor.blacklist" of school "JX-NH-0001"`},
			called: true, logged: "10.0.0.7:9000: connection refused"},
		{name: "no school in the answer", target: resolvePath, scope: ScopeAll, view: engine.SchoolView{},
			code: http.StatusInternalServerError, want: []string{"could not resolve"}, called: true, logged: "no school in the answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			fake := &fakeResolve{view: tc.view, err: tc.err}
			s := newTestServer(t, Options{
				Resolve: fake.resolve,
				Scope:   func(*http.Request) (Scope, error) { return tc.scope, nil },
				Logger:  slog.New(slog.NewJSONHandler(&logs, nil)),
			})
			rec := post(t, s.Handler(), tc.target, "application/json", strings.NewReader(resolveBody("王老师", "已处置")))
			requireJSONError(t, rec, tc.code, tc.want...)
			require.Len(t, fake.recorded(), map[bool]int{false: 0, true: 1}[tc.called])
			if tc.logged != "" {
				require.NotContains(t, rec.Body.String(), tc.logged)
				require.Contains(t, logs.String(), tc.logged)
			}
			require.NotContains(t, logs.String(), "risk resolved")
		})
	}
}

// TestResolveOutlivesTheClient checks that a client going away does not
// abandon a resolution half-way: the ResolveFunc gets a context that is not
// cancelled with the request, but bounded.
func TestResolveOutlivesTheClient(t *testing.T) {
	fake := &fakeResolve{view: resolvedView()}
	s := newTestServer(t, Options{Resolve: fake.resolve})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, resolvePath, strings.NewReader(resolveBody("王老师", "已处置")))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	calls := fake.recorded()
	require.Len(t, calls, 1)
	require.NoError(t, calls[0].ctxErr)
	require.True(t, calls[0].hasDeadline)
}

func TestResolveRoute(t *testing.T) {
	t.Run("not served without a ResolveFunc", func(t *testing.T) {
		s := newTestServer(t, Options{})
		rec := post(t, s.Handler(), resolvePath, "application/json", strings.NewReader(resolveBody("王老师", "已处置")))
		requireJSONError(t, rec, http.StatusNotFound, "no such endpoint")
	})
	t.Run("POST only", func(t *testing.T) {
		s := newTestServer(t, Options{Resolve: (&fakeResolve{}).resolve})
		requireJSONError(t, serve(t, s.Handler(), http.MethodGet, resolvePath), http.StatusMethodNotAllowed)
	})
	t.Run("refused credentials", func(t *testing.T) {
		fake := &fakeResolve{view: resolvedView()}
		s := newTestServer(t, Options{
			Resolve: fake.resolve,
			Scope:   func(*http.Request) (Scope, error) { return Scope{}, errors.New("token expired") },
		})
		rec := post(t, s.Handler(), resolvePath, "application/json", strings.NewReader(resolveBody("王老师", "已处置")))
		requireJSONError(t, rec, http.StatusUnauthorized, "token expired")
		require.Empty(t, fake.recorded())
	})
}
