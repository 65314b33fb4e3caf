package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// testTokenName names the admin token the test helpers create for an
// instance; it is the actor of every act the tests do through the API.
const testTokenName = "test-admin"

var (
	testTokensMu sync.Mutex
	testTokens   = map[string]string{} // DSN → secret
)

// testToken returns an admin token of the database the instance's args
// name with --clickhouse.dsn, created once per database, so that the
// instance starts (serve refuses to without a token) and the test can call
// the API; "" when the args turn authentication off.
func testToken(t *testing.T, args []string) string {
	t.Helper()
	if slices.Contains(args, "--web.insecure-no-auth") {
		return ""
	}
	i := slices.Index(args, "--clickhouse.dsn")
	if i < 0 || i+1 >= len(args) {
		return ""
	}
	dsn := args[i+1]
	testTokensMu.Lock()
	defer testTokensMu.Unlock()
	if secret, ok := testTokens[dsn]; ok {
		return secret
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := openTokenStore(ctx, dsn, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer st.Close()
	secret, _, err := createToken(ctx, st, testTokenName, "all", "admin", "24h", "test", time.Now())
	require.NoError(t, err)
	testTokens[dsn] = secret
	return secret
}

// request sends a request with the instance's token.
func (in *instance) request(method, path, contentType string, body io.Reader) *http.Response {
	in.t.Helper()
	req, err := http.NewRequest(method, "http://"+in.web+path, body)
	require.NoError(in.t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if in.token != "" {
		req.Header.Set("Authorization", "Bearer "+in.token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(in.t, err)
	return resp
}

// post posts body with the instance's token.
func (in *instance) post(path, contentType string, body io.Reader) *http.Response {
	in.t.Helper()
	return in.request(http.MethodPost, path, contentType, body)
}

// signIn signs the browser in through the page's sign-in form with the
// instance's token, and waits for the map page that follows.
func (in *instance) signIn(t *testing.T, ctx context.Context) {
	t.Helper()
	if in.token == "" {
		return
	}
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate("http://"+in.web+"/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), in.token),
		chromedp.Click(chromedp.ID("submit")),
	))
	// The page reloads itself once signed in: evaluating may fail while it
	// navigates.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.sanse === "object"`)); err == nil && ok {
			break
		}
		require.True(t, time.Now().Before(deadline), "no map 30s after signing in")
		time.Sleep(100 * time.Millisecond)
	}
	cookies := eval[string](t, ctx, `document.cookie`)
	require.Contains(t, cookies, "sanse_csrf=", "the CSRF cookie is readable by the page; the session cookie is not: %q", cookies)
	require.NotContains(t, cookies, "sanse_session", "the session cookie is HttpOnly")
}
