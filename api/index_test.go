package api

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/api/web"
)

func get(t *testing.T, h http.Handler, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestMapPage(t *testing.T) {
	s := newTestServer(t, Options{})
	rec := get(t, s.Handler(), "/", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
	require.Equal(t, "no-cache", rec.Header().Get("Cache-Control"), "a new release shows at once")
	require.NotEmpty(t, rec.Header().Get("ETag"))
	csp := rec.Header().Get("Content-Security-Policy")
	require.Contains(t, csp, "default-src 'self'")
	require.Contains(t, csp, "connect-src 'self'")
	require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
	body := rec.Body.String()
	require.Contains(t, body, `lang="zh-CN"`)

	// Every asset link carries the asset's content hash, and answers.
	links := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(body, -1)
	require.GreaterOrEqual(t, len(links), 5, body)
	for _, l := range links {
		require.Regexp(t, `\?v=[0-9a-f]{12}$`, l[1])
		rec := get(t, s.Handler(), l[1], nil)
		require.Equal(t, http.StatusOK, rec.Code, l[1])
		require.Equal(t, "public, max-age=31536000, immutable", rec.Header().Get("Cache-Control"), l[1])
	}
	require.Contains(t, body, `/assets/vendor/echarts.min.js?v=`)
	require.Contains(t, body, `/assets/app.js?v=`)
}

func TestMapPageLoadsNothingFromElsewhere(t *testing.T) {
	// The page's own files name no other host; what the browser fetches is
	// checked by the browser test (cmd/sanse).
	var names []string
	for _, pattern := range []string{"*.html", "*.js", "*.css"} {
		m, err := fs.Glob(web.Static(), pattern)
		require.NoError(t, err)
		names = append(names, m...)
	}
	require.Contains(t, names, "dashboard.js")
	for _, name := range names {
		data, err := fs.ReadFile(web.Static(), name)
		require.NoError(t, err)
		require.NotRegexp(t, `(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/`, string(data), name)
	}
}

func TestAssets(t *testing.T) {
	s := newTestServer(t, Options{})
	h := s.Handler()

	rec := get(t, h, "/assets/app.js", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "text/javascript; charset=utf-8", rec.Header().Get("Content-Type"))
	require.Equal(t, "no-cache", rec.Header().Get("Cache-Control"), "without its version an asset is revalidated")
	etag := rec.Header().Get("ETag")
	require.NotEmpty(t, etag)
	plain := rec.Body.Bytes()

	rec = get(t, h, "/assets/app.js?v=000000000000", nil)
	require.Equal(t, "no-cache", rec.Header().Get("Cache-Control"), "an old version is not cached for a year")

	rec = get(t, h, "/assets/app.js", http.Header{"If-None-Match": {etag}})
	require.Equal(t, http.StatusNotModified, rec.Code)
	require.Empty(t, rec.Body.Bytes())

	rec = get(t, h, "/assets/vendor/echarts.min.js", http.Header{"Accept-Encoding": {"gzip, deflate, br"}})
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "gzip", rec.Header().Get("Content-Encoding"))
	require.Contains(t, rec.Header().Values("Vary"), "Accept-Encoding")
	zr, err := gzip.NewReader(bytes.NewReader(rec.Body.Bytes()))
	require.NoError(t, err)
	unzipped, err := io.ReadAll(zr)
	require.NoError(t, err)
	want, err := fs.ReadFile(web.Static(), "vendor/echarts.min.js")
	require.NoError(t, err)
	require.Equal(t, want, unzipped)
	require.Less(t, rec.Body.Len(), len(want)/2)

	rec = get(t, h, "/assets/app.js", http.Header{"Accept-Encoding": {"gzip;q=0"}})
	require.Empty(t, rec.Header().Get("Content-Encoding"))
	require.Equal(t, plain, rec.Body.Bytes())

	for _, tc := range []struct{ name, ctype string }{
		{"/assets/app.css", "text/css; charset=utf-8"},
		{"/assets/favicon.svg", "image/svg+xml"},
		{"/assets/vendor/VERSIONS.json", "application/json"},
	} {
		rec := get(t, h, tc.name, nil)
		require.Equal(t, http.StatusOK, rec.Code, tc.name)
		require.Equal(t, tc.ctype, rec.Header().Get("Content-Type"), tc.name)
	}

	rec = serve(t, h, http.MethodHead, "/assets/app.js")
	require.Equal(t, http.StatusOK, rec.Code)
	require.Empty(t, rec.Body.Bytes())

	requireJSONError(t, get(t, h, "/assets/nope.js", nil), http.StatusNotFound, "no such asset")
	requireJSONError(t, get(t, h, "/assets/../web.go", nil), http.StatusNotFound)
	requireJSONError(t, serve(t, h, http.MethodPost, "/"), http.StatusMethodNotAllowed)
}

func TestBoundaries(t *testing.T) {
	rec := get(t, newTestServer(t, Options{}).Handler(), "/api/v1/boundaries", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "application/geo+json", rec.Header().Get("Content-Type"))
	require.Equal(t, "no-cache", rec.Header().Get("Cache-Control"))
	require.Equal(t, web.DemoBoundaries(), rec.Body.Bytes(), "the demo outlines by default")

	own := []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"某区"},` +
		`"geometry":{"type":"Polygon","coordinates":[[[120,30],[121,30],[121,31],[120,30]]]}}]}`)
	rec = get(t, newTestServer(t, Options{Boundaries: own}).Handler(), "/api/v1/boundaries", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, own, rec.Body.Bytes())

	_, err := New(Options{Schools: testSchools(), Timeline: (&fakeTimeline{}).timeline, Boundaries: []byte(`{"type":"Feature"}`)})
	require.ErrorContains(t, err, "Options.Boundaries")

	// A reload serves the new outlines with a new ETag; invalid ones are
	// refused and the current ones stay.
	s := newTestServer(t, Options{})
	before := get(t, s.Handler(), "/api/v1/boundaries", nil).Header().Get("ETag")
	require.NoError(t, s.ReloadBoundaries(own))
	rec = get(t, s.Handler(), "/api/v1/boundaries", nil)
	require.Equal(t, own, rec.Body.Bytes())
	require.NotEqual(t, before, rec.Header().Get("ETag"))
	require.ErrorContains(t, s.ReloadBoundaries([]byte(`{"type":"Feature"}`)), "FeatureCollection")
	require.Equal(t, own, get(t, s.Handler(), "/api/v1/boundaries", nil).Body.Bytes())
	require.NoError(t, s.ReloadBoundaries(nil))
	require.Equal(t, web.DemoBoundaries(), get(t, s.Handler(), "/api/v1/boundaries", nil).Body.Bytes())
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":            false,
		"gzip":        true,
		"br, gzip":    true,
		"gzip;q=0":    false,
		"gzip; q=0.5": true,
		"deflate":     false,
	} {
		require.Equal(t, want, acceptsGzip(header), "%q", header)
	}
}
