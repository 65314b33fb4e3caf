package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine/auth"
)

// fakeVerifier knows a fixed set of secrets.
type fakeVerifier map[string]auth.Identity

func (f fakeVerifier) Verify(_ context.Context, secret string) (auth.Identity, error) {
	if secret == "" {
		return auth.Identity{}, auth.ErrNoToken
	}
	id, ok := f[secret]
	if !ok {
		return auth.Identity{}, auth.ErrInvalidToken
	}
	return id, nil
}

// fakeAudit records audit entries.
type fakeAudit struct {
	mu      sync.Mutex
	entries []auth.Entry
}

func (f *fakeAudit) write(_ context.Context, e auth.Entry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entries = append(f.entries, e)
	return nil
}

// TestSessionCookieAndCSRF signs in as the page does and checks that the
// cookie authenticates reads, that changes also need the CSRF header and
// the server's own origin, and that the Host is checked.
func TestSessionCookieAndCSRF(t *testing.T) {
	ext, _ := url.Parse("https://sanse.example.org")
	au := &fakeAudit{}
	resolver := &fakeResolve{view: resolvedView()}
	h := newTestServer(t, Options{Auth: &AuthOptions{
		Verifier: fakeVerifier{"sanse_op": {Name: "nanhu-op", Role: auth.RoleOperator, Scope: auth.Scope{Districts: []string{"南湖区"}}}},
		Audit:    au.write, ExternalURL: ext,
	}, Resolve: resolver.resolve}).Handler()
	send := func(method, path, body string, header map[string]string, cookies []*http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Host = "sanse.example.org"
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		for k, v := range header {
			r.Header.Set(k, v)
		}
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	w := send("POST", "/api/v1/session", `{"token":"sanse_wrong"}`, nil, nil)
	require.Equal(t, http.StatusUnauthorized, w.Code)
	w = send("GET", "/", "", nil, nil)
	require.Equal(t, http.StatusUnauthorized, w.Code, "the page without a session is the sign-in")
	require.Contains(t, w.Body.String(), `id="signin"`)

	w = send("POST", "/api/v1/session", `{"token":"sanse_op"}`, nil, nil)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.JSONEq(t, `{"name":"nanhu-op","role":"operator","scope":"district:南湖区"}`, w.Body.String())
	cookies := w.Result().Cookies()
	require.Len(t, cookies, 2)
	var csrf string
	for _, c := range cookies {
		require.Equal(t, http.SameSiteStrictMode, c.SameSite)
		require.True(t, c.Secure, "https external URL")
		if c.Name == SessionCookie {
			require.True(t, c.HttpOnly)
		} else {
			require.False(t, c.HttpOnly, "the page's script reads the CSRF cookie")
			csrf = c.Value
		}
	}
	require.Len(t, au.entries, 2)
	require.Equal(t, auth.ResultDenied, au.entries[0].Result)
	require.Equal(t, "nanhu-op", au.entries[1].Actor)

	w = send("GET", "/", "", nil, cookies)
	require.Equal(t, http.StatusOK, w.Code, "the cookie opens the page")
	w = send("GET", "/api/v1/schools/JX-XZ-0001", "", nil, cookies)
	require.Equal(t, http.StatusNotFound, w.Code, "another district's school does not exist")

	resolve := `{"rule":"visitor.watchlist_entry","comment":"已处置"}`
	path := "/api/v1/schools/JX-NH-0001/risks/resolve"
	w = send("POST", path, resolve, nil, cookies)
	require.Equal(t, http.StatusForbidden, w.Code, "a change with the cookie needs the CSRF header")
	w = send("POST", path, resolve, map[string]string{CSRFHeader: csrf, "Origin": "https://evil.example"}, cookies)
	require.Equal(t, http.StatusForbidden, w.Code, "from another origin")
	w = send("POST", path, resolve, map[string]string{CSRFHeader: csrf, "Origin": "https://sanse.example.org"}, cookies)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	w = send("POST", path, resolve, map[string]string{"Authorization": "Bearer sanse_op"}, nil)
	require.Equal(t, http.StatusOK, w.Code, "a bearer token needs no CSRF header")

	r := httptest.NewRequest("GET", "/api/v1/map", nil)
	r.Host = "rebound.attacker.example"
	r.Header.Set("Authorization", "Bearer sanse_op")
	rw := httptest.NewRecorder()
	h.ServeHTTP(rw, r)
	require.Equal(t, http.StatusMisdirectedRequest, rw.Code, "DNS rebinding: another Host")

	for _, c := range resolver.recorded() {
		require.Equal(t, "nanhu-op", c.by, "the actor is the identity")
	}
	require.Len(t, au.entries, 2+2*2, "two sign-ins, then each of the two resolutions pending and ok (refusals before the handler are not acts)")

	w = send("DELETE", "/api/v1/session", "", nil, cookies)
	require.Equal(t, http.StatusNoContent, w.Code)
	for _, c := range w.Result().Cookies() {
		require.Negative(t, c.MaxAge, "%s cleared", c.Name)
	}
}
