package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine/auth"
	"github.com/sanse-campus/sanse/engine/store"
)

// caller is one kind of client of the route matrix.
type caller struct {
	name  string
	token string // "" sends no credentials
	// sees are the e2e schools in the caller's scope; nil for a caller
	// that is refused (401).
	sees []string
	role auth.Role // "" for a refused caller
}

// allE2ESchools are the school ids of e2eRegistry.
var allE2ESchools = []string{"E-01", "E-02", "E-03", "E-04", "E-05", "E-06"}

// schoolIDPattern finds the e2e school ids in a body.
var schoolIDPattern = regexp.MustCompile(`E-0[1-6]`)

// matrixServer starts `sanse serve` in-process over the e2e registry with
// authentication on, red alerts at E-01 (南湖区) and E-03 (秀洲区), a hazard
// registered at E-01, and a token for each kind of caller.
type matrixServer struct {
	in      *instance
	broker  string
	st      *store.Store
	callers map[string]caller
	alertID string // E-01's alert
	hazard  string // E-01's hazard
}

func newMatrixServer(t *testing.T, extraConfig string) *matrixServer {
	dsn := clickhouseDSN(t)
	dbDSN, _ := testDatabase(t, dsn)
	dir := t.TempDir()
	reg := filepath.Join(dir, "registry.csv")
	require.NoError(t, os.WriteFile(reg, []byte(e2eRegistry), 0o644))
	cfgFile := filepath.Join(dir, "sanse.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte("alerting:\n  escalation:\n    red: 1h\n    yellow: 1h\n"+extraConfig), 0o644))
	broker := freeAddr(t)
	in := serveInProcess(t, "--config.file", cfgFile, "--kafka.embedded-listen-address", broker, "--clickhouse.dsn", dbDSN,
		"--registry.file", reg, "--data.dir", filepath.Join(dir, "data"))

	ctx := t.Context()
	st, err := openTokenStore(ctx, dbDSN, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	mk := func(name, scope, role string) string {
		secret, _, err := createToken(ctx, st, name, scope, role, "24h", "test", time.Now())
		require.NoError(t, err)
		return secret
	}
	expired := auth.NewSecret()
	require.NoError(t, st.CreateToken(ctx, auth.Token{Name: "expired", Hash: auth.HashSecret(expired), Scope: auth.ScopeAll,
		Role: auth.RoleAdmin, CreatedAt: time.Now().Add(-2 * time.Hour), ExpiresAt: time.Now().Add(-time.Hour)}))
	revoked := mk("revoked", "all", "admin")
	_, err = st.RevokeToken(ctx, "revoked", time.Now())
	require.NoError(t, err)
	nanhu := []string{"E-01", "E-02"}
	m := &matrixServer{in: in, broker: broker, st: st, callers: map[string]caller{
		"no token":            {name: "no token"},
		"expired":             {name: "expired", token: expired},
		"revoked":             {name: "revoked", token: revoked},
		"another school":      {name: "another school", token: mk("xiuzhou-e03-op", "school:E-03", "operator"), sees: []string{"E-03"}, role: auth.RoleOperator},
		"own-school viewer":   {name: "own-school viewer", token: mk("e01-viewer", "school:E-01", "viewer"), sees: []string{"E-01"}, role: auth.RoleViewer},
		"own-school operator": {name: "own-school operator", token: mk("e01-op", "school:E-01", "operator"), sees: []string{"E-01"}, role: auth.RoleOperator},
		"district viewer":     {name: "district viewer", token: mk("nanhu-viewer", "district:南湖区", "viewer"), sees: nanhu, role: auth.RoleViewer},
		"district operator":   {name: "district operator", token: mk("nanhu-op", "district:南湖区", "operator"), sees: nanhu, role: auth.RoleOperator},
		"admin":               {name: "admin", token: in.token, sees: allE2ESchools, role: auth.RoleAdmin},
	}}

	// Red at E-01 and E-03, each with an alert; a hazard at E-01.
	require.NoError(t, produce(ctx, []string{broker}, []kafka.Message{
		visitorEntry("m-1", "E-01", "blacklist"), visitorEntry("m-2", "E-03", "blacklist"),
	}, 0))
	var alerts struct {
		Alerts []struct {
			ID       string `json:"id"`
			SchoolID string `json:"school_id"`
		} `json:"alerts"`
	}
	waitFor(t, 10*time.Second, "alerts at E-01 and E-03", func() bool {
		in.getJSON("/api/v1/alerts", &alerts)
		n := 0
		for _, a := range alerts.Alerts {
			if a.SchoolID == "E-01" {
				m.alertID = a.ID
			}
			if a.SchoolID == "E-01" || a.SchoolID == "E-03" {
				n++
			}
		}
		return n >= 2
	})
	// A kitchen camera's rodent detection pending a check at E-01 and at
	// E-03, for the check counts.
	require.NoError(t, produce(ctx, []string{broker}, []kafka.Message{
		rodentDetection("m-r1", "E-01", "cam-e01", "MX-1"), rodentDetection("m-r2", "E-03", "cam-e03", "MX-2"),
	}, 0))
	waitFor(t, 10*time.Second, "check counts at E-01 and E-03", func() bool {
		var body struct {
			Checks []struct {
				SchoolID string `json:"school_id"`
			} `json:"checks"`
		}
		in.getJSON("/api/v1/checks", &body)
		return len(body.Checks) == 2
	})
	var h struct {
		ID string `json:"id"`
	}
	require.Equal(t, http.StatusCreated, in.postAPI("/api/v1/hazards", map[string]any{
		"school_id": "E-01", "title": "消防通道堵塞", "category": "消防", "level": "medium",
		"responsible": "后勤主任", "deadline": "3d",
	}, &h))
	m.hazard = h.ID
	return m
}

// route is one method and path of the matrix, with the role it needs and
// whether it concerns E-01 alone (so another school's caller gets 404).
type route struct {
	method, path string
	body         func(c caller) string // JSON body; nil for none
	need         auth.Role             // "" for a route open to everyone
	perSchool    bool
	session      bool // the sign-in: the token goes in the body
}

func (m *matrixServer) routes() []route {
	j := func(s string) func(caller) string { return func(caller) string { return s } }
	return []route{
		{method: "GET", path: "/", need: auth.RoleViewer},
		{method: "GET", path: "/healthz"},
		{method: "GET", path: "/readyz"},
		{method: "GET", path: "/metrics"},
		{method: "GET", path: "/assets/app.js"},
		{method: "GET", path: "/api/v1/openapi.json"},
		{method: "GET", path: "/api/v1/meta", need: auth.RoleViewer},
		{method: "GET", path: "/api/v1/map", need: auth.RoleViewer},
		{method: "GET", path: "/api/v1/boundaries", need: auth.RoleViewer},
		{method: "GET", path: "/api/v1/rules", need: auth.RoleViewer},
		{method: "GET", path: "/api/v1/alerts", need: auth.RoleViewer},
		{method: "GET", path: "/api/v1/hazards", need: auth.RoleViewer},
		{method: "GET", path: "/api/v1/dashboard", need: auth.RoleViewer},
		{method: "GET", path: "/api/v1/session", need: auth.RoleViewer},
		{method: "GET", path: "/api/v1/schools/E-01", need: auth.RoleViewer, perSchool: true},
		{method: "GET", path: "/api/v1/schools/E-01/timeline", need: auth.RoleViewer, perSchool: true},
		{method: "GET", path: "/api/v1/alerts/" + m.alertID, need: auth.RoleViewer, perSchool: true},
		{method: "GET", path: "/api/v1/hazards/" + m.hazard, need: auth.RoleViewer, perSchool: true},
		{method: "POST", path: "/api/v1/alerts/" + m.alertID + "/ack", need: auth.RoleOperator, perSchool: true,
			body: j(`{"comment":"已通知保卫处"}`)},
		{method: "POST", path: "/api/v1/alerts/" + m.alertID + "/resolve", need: auth.RoleOperator, perSchool: true,
			body: j(`{"comment":"已处置"}`)},
		// The hazard's own risk: a permitted caller is told it ends only
		// through the hazard (409).
		{method: "POST", path: "/api/v1/schools/E-01/risks/resolve", need: auth.RoleOperator, perSchool: true,
			body: j(`{"rule":"hazard","key":"` + m.hazard + `","comment":"已处置"}`)},
		// Checking the hazard's own risk: as for resolving it, 409.
		{method: "POST", path: "/api/v1/schools/E-01/risks/dispose", need: auth.RoleOperator, perSchool: true,
			body: j(`{"rule":"hazard","key":"` + m.hazard + `","state":"handled","comment":"已处置"}`)},
		{method: "GET", path: "/api/v1/checks", need: auth.RoleViewer},
		{method: "POST", path: "/api/v1/hazards", need: auth.RoleOperator, perSchool: true,
			body: j(`{"school_id":"E-01","title":"护栏破损","category":"防溺水","responsible":"后勤主任","deadline":"3d"}`)},
		{method: "POST", path: "/api/v1/hazards/" + m.hazard + "/transition", need: auth.RoleOperator, perSchool: true,
			body: j(`{"action":"comment","comment":"已安排整改"}`)},
		{method: "GET", path: "/api/v1/reports", need: auth.RoleViewer},
		// Making a report of E-01: an operator of its scope (201, or 503
		// while the build has no report generator).
		{method: "POST", path: "/api/v1/reports", need: auth.RoleOperator, perSchool: true,
			body: j(`{"school_id":"E-01","from":"2026-11-01","to":"2026-11-01"}`)},
		{method: "POST", path: "/api/v1/rules/validate", need: auth.RoleAdmin},
		{method: "POST", path: "/-/reload", need: auth.RoleAdmin},
		{method: "GET", path: "/api/v1/audit", need: auth.RoleAdmin},
		{method: "POST", path: "/api/v1/session", session: true,
			body: func(c caller) string { return fmt.Sprintf(`{"token":%q}`, c.token) }},
		{method: "DELETE", path: "/api/v1/session"},
	}
}

// want is the status class a caller should get from a route: 401, 403,
// 404, or "allowed" (anything else below 500).
func (r route) want(c caller) int {
	switch {
	case r.session:
		if c.role == "" {
			return http.StatusUnauthorized
		}
		return 0
	case r.need == "":
		return 0
	case c.role == "":
		return http.StatusUnauthorized
	case !c.role.AtLeast(r.need):
		return http.StatusForbidden
	case r.perSchool && !contains(c.sees, "E-01"):
		return http.StatusNotFound
	}
	return 0
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// do sends one request of the matrix as caller c.
func (m *matrixServer) do(t *testing.T, r route, c caller) (int, string) {
	t.Helper()
	var body io.Reader
	if r.body != nil {
		body = strings.NewReader(r.body(c))
	}
	if r.path == "/api/v1/rules/validate" {
		body = strings.NewReader("rules: []\n")
	}
	req, err := http.NewRequest(r.method, "http://"+m.in.web+r.path, body)
	require.NoError(t, err)
	switch {
	case r.path == "/api/v1/rules/validate":
		req.Header.Set("Content-Type", "application/yaml")
	case body != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" && !r.session {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// checkNoLeak fails when body names a school outside what c sees, other
// than one the request itself named (a 404 repeats the id it was asked for).
func checkNoLeak(t *testing.T, c caller, what, body string, asked ...string) {
	t.Helper()
	for _, id := range schoolIDPattern.FindAllString(body, -1) {
		if contains(asked, id) {
			continue
		}
		require.Contains(t, c.sees, id, "%s: %s sees school %s outside its scope:\n%.2000s", what, c.name, id, body)
	}
}

// TestRouteMatrix is the first Done-when: every route × every kind
// of caller, the status code, and no school outside the caller's scope in
// any answer or any message of the live stream.
func TestRouteMatrix(t *testing.T) {
	m := newMatrixServer(t, "")
	for _, r := range m.routes() {
		for _, cname := range []string{"no token", "expired", "revoked", "another school", "own-school viewer",
			"own-school operator", "district viewer", "district operator", "admin"} {
			c := m.callers[cname]
			t.Run(r.method+" "+r.path+" as "+cname, func(t *testing.T) {
				code, body := m.do(t, r, c)
				want := r.want(c)
				if r.method == "POST" && r.path == "/api/v1/reports" && want == 0 && code == http.StatusServiceUnavailable {
					require.Contains(t, body, "reports cannot be made on this server")
					code = http.StatusCreated
				}
				if want == 0 {
					require.True(t, code < 500 && code != 401 && code != 403 && code != 404,
						"%s %s as %s: want allowed, got %d: %s", r.method, r.path, cname, code, body)
				} else {
					require.Equal(t, want, code, "%s %s as %s: %s", r.method, r.path, cname, body)
				}
				if (r.path == "/api/v1/schools/E-01/risks/resolve" || r.path == "/api/v1/schools/E-01/risks/dispose") && want == 0 {
					require.Equal(t, http.StatusConflict, code, "a hazard's risk ends only through the hazard: %s", body)
					require.Contains(t, body, "验收销号")
				}
				if r.path == "/api/v1/checks" && want == 0 {
					// The counts of every school the caller sees, and no
					// other (checkNoLeak below).
					for _, id := range []string{"E-01", "E-03"} {
						require.Equal(t, contains(c.sees, id), strings.Contains(body, `"school_id":"`+id+`"`), "%s: %s", id, body)
					}
				}
				if r.path == "/api/v1/dashboard" && want == 0 {
					checkDashboard(t, c, body)
				}
				if code != http.StatusOK || !strings.HasPrefix(r.path, "/api/v1/audit") {
					var asked []string
					if r.body != nil {
						asked = schoolIDPattern.FindAllString(r.body(c), -1)
					}
					asked = append(asked, schoolIDPattern.FindAllString(r.path, -1)...)
					checkNoLeak(t, c, r.method+" "+r.path, body, asked...)
				}
			})
		}
	}

	t.Run("the live stream", func(t *testing.T) {
		type got struct {
			code int
			body bytes.Buffer
		}
		ctx, cancel := context.WithTimeout(t.Context(), 4*time.Second)
		defer cancel()
		results := map[string]*got{}
		var wg sync.WaitGroup
		var mu sync.Mutex
		opened := make(chan struct{}, len(m.callers))
		for name, c := range m.callers {
			g := &got{}
			results[name] = g
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+m.in.web+"/api/v1/stream", nil)
				if c.token != "" {
					req.Header.Set("Authorization", "Bearer "+c.token)
				}
				resp, err := http.DefaultClient.Do(req)
				opened <- struct{}{}
				if err != nil {
					return
				}
				defer resp.Body.Close()
				g.code = resp.StatusCode
				buf := make([]byte, 4096)
				for {
					n, err := resp.Body.Read(buf)
					mu.Lock()
					g.body.Write(buf[:n])
					mu.Unlock()
					if err != nil {
						return
					}
				}
			}()
		}
		for range m.callers {
			<-opened
		}
		// Changes at a school of 南湖区 (E-02) and of 秀洲区 (E-04).
		require.NoError(t, produce(t.Context(), []string{m.broker}, []kafka.Message{
			visitorEntry("s-1", "E-02", "blacklist"), visitorEntry("s-2", "E-04", "blacklist"),
		}, 0))
		wg.Wait()
		for name, g := range results {
			c := m.callers[name]
			if c.role == "" {
				require.Equal(t, http.StatusUnauthorized, g.code, name)
				continue
			}
			require.Equal(t, http.StatusOK, g.code, name)
			checkNoLeak(t, c, "stream", g.body.String())
			if contains(c.sees, "E-02") {
				require.Contains(t, g.body.String(), "E-02", "%s sees its district's change on the stream", name)
			}
		}
	})
}

// checkDashboard checks the dashboard a caller gets, before any alert is
// acknowledged: its schools, today's colours from the history (E-01 and E-03
// red), and the unacknowledged alerts of E-01 and E-03 where it sees them.
func checkDashboard(t *testing.T, c caller, body string) {
	t.Helper()
	var d struct {
		Schools      int `json:"schools"`
		ColoursByDay []struct {
			Red, Yellow, Green int
		} `json:"colours_by_day"`
		AlertsUnacknowledged struct {
			Count int `json:"count"`
			Items []struct {
				SchoolID string `json:"school_id"`
			} `json:"items"`
		} `json:"alerts_unacknowledged"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &d), body)
	require.Equal(t, len(c.sees), d.Schools, body)
	require.Len(t, d.ColoursByDay, 7, body)
	today := d.ColoursByDay[6]
	red := 0
	for _, id := range []string{"E-01", "E-03"} {
		if contains(c.sees, id) {
			red++
			require.Contains(t, body, `"school_id":"`+id+`"`, "%s's alert", id)
		}
	}
	require.Equal(t, red, today.Red, body)
	require.Equal(t, len(c.sees), today.Red+today.Yellow+today.Green, body)
	require.Equal(t, red, d.AlertsUnacknowledged.Count, body)
}

// TestVerifyNeedsAboveSchool is the second Done-when: a school's
// operator may not verify its own hazard (403); the district's operator
// may; both are in the audit log, with their identities.
func TestVerifyNeedsAboveSchool(t *testing.T) {
	m := newMatrixServer(t, "")
	post := func(c caller, path, body string) (int, string) {
		return m.do(t, route{method: "POST", path: path, body: func(caller) string { return body }}, c)
	}
	school, district := m.callers["own-school operator"], m.callers["district operator"]
	tr := "/api/v1/hazards/" + m.hazard + "/transition"
	for _, a := range []string{`{"action":"start"}`, `{"action":"submit","comment":"通道已清理"}`} {
		code, body := post(school, tr, a)
		require.Equal(t, http.StatusOK, code, body)
	}
	code, body := post(school, tr, `{"action":"verify","comment":"自查合格","by":"区安全科张科长"}`)
	require.Equal(t, http.StatusForbidden, code, body)
	require.Contains(t, body, "separation of duties")
	code, body = post(school, tr, `{"action":"reject","comment":"x"}`)
	require.Equal(t, http.StatusForbidden, code, body)
	code, body = post(district, tr, `{"action":"verify","comment":"现场验收合格，销号","by":"someone else"}`)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"status":"verified"`)

	var h struct {
		History []struct {
			Action string `json:"action"`
			By     string `json:"by"`
		} `json:"history"`
	}
	require.Equal(t, http.StatusOK, m.in.getJSON("/api/v1/hazards/"+m.hazard, &h))
	last := h.History[len(h.History)-1]
	require.Equal(t, "verify", last.Action)
	require.Equal(t, "nanhu-op", last.By, "the actor is the token, never the body's by")

	var log struct {
		Entries []auth.Entry `json:"entries"`
	}
	require.Equal(t, http.StatusOK, m.in.getJSON("/api/v1/audit?action=hazard.verify", &log))
	var results []string
	for _, e := range log.Entries {
		require.Equal(t, m.hazard, e.Target)
		require.Equal(t, "E-01", e.School)
		results = append(results, e.Actor+" "+e.Result)
	}
	require.ElementsMatch(t, []string{"e01-op denied", "nanhu-op ok"}, results)

	// The viewer of the audit log must be an admin.
	code, _ = m.do(t, route{method: "GET", path: "/api/v1/audit"}, district)
	require.Equal(t, http.StatusForbidden, code)
}
