package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/auth"
)

// cachedMapServer is a server whose map is cached: over a state with a
// version, with a clock the test moves, and rebuilds run at once instead of
// in the background, so that what a request finds is decided.
type cachedMapServer struct {
	*Server
	schools *versionedSchools
	hub     *Hub
	mu      sync.Mutex
	clock   time.Time
}

func newCachedMapServer(t *testing.T, opts Options) *cachedMapServer {
	t.Helper()
	m := &cachedMapServer{schools: &versionedSchools{fakeSchools: testSchools()}, clock: testNow}
	if opts.Schools == nil {
		opts.Schools = m.schools
	}
	if opts.Stream == nil {
		opts.Stream = NewHub(0, nil)
	}
	m.hub = opts.Stream
	m.Server = newTestServer(t, opts)
	m.now = m.time
	require.NotNil(t, m.mapCache, "the map is cached")
	m.mapCache.spawn = func(f func()) { f() }
	return m
}

func (m *cachedMapServer) time() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.clock
}

func (m *cachedMapServer) advance(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clock = m.clock.Add(d)
}

// getMap sends GET target with the header to h.
func getMap(t *testing.T, h http.Handler, target string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// levelOf returns the colour the GeoJSON answer rec gives the school id.
func levelOf(t *testing.T, rec *httptest.ResponseRecorder, id string) string {
	t.Helper()
	for _, f := range decodeJSON[geoJSON](t, rec).Features {
		if f.ID == id {
			return f.Properties["level"].(string)
		}
	}
	t.Fatalf("%s is not on the map", id)
	return ""
}

// TestMapRevalidated checks what a browser relies on to keep the map and ask
// only whether it changed: a strong ETag, private revalidation, Vary on the
// coding, and 304 without a body for the tag it kept (in any coding), on
// the cached live map, on a server without a cache and on a past moment.
func TestMapRevalidated(t *testing.T) {
	for _, tc := range []struct {
		name   string
		server func(t *testing.T) *Server
		target string
	}{
		{"cached", func(t *testing.T) *Server { return newCachedMapServer(t, Options{}).Server }, "/api/v1/map"},
		{"uncached", func(t *testing.T) *Server { return newTestServer(t, Options{}) }, "/api/v1/map"},
		{"compact", func(t *testing.T) *Server { return newCachedMapServer(t, Options{}).Server }, "/api/v1/map?format=compact"},
		{"past moment", func(t *testing.T) *Server {
			return newTestServer(t, Options{LevelsAt: (&fakeLevelsAt{changes: pastChanges()}).levelsAt})
		}, "/api/v1/map?at=" + url.QueryEscape("2025-06-08T12:00:00+08:00")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.server(t).Handler()
			rec := getMap(t, h, tc.target, nil)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			etag := rec.Header().Get("ETag")
			require.Regexp(t, `^"[0-9a-f]{32}"$`, etag, "a strong tag of the identity body")
			require.Equal(t, "private, no-cache", rec.Header().Get("Cache-Control"))
			require.Equal(t, "Accept-Encoding", rec.Header().Get("Vary"))
			require.Equal(t, rec.Body.Len(), mustAtoi(t, rec.Header().Get("Content-Length")))

			again := getMap(t, h, tc.target, map[string]string{"If-None-Match": etag})
			require.Equal(t, http.StatusNotModified, again.Code)
			require.Empty(t, again.Body.String())
			require.Equal(t, etag, again.Header().Get("ETag"))
			require.Equal(t, "private, no-cache", again.Header().Get("Cache-Control"))

			gz := strings.TrimSuffix(etag, `"`) + `-gzip"`
			again = getMap(t, h, tc.target, map[string]string{"If-None-Match": `"other", W/` + gz, "Accept-Encoding": "gzip"})
			require.Equal(t, http.StatusNotModified, again.Code, "the gzip body kept is the same map")

			other := getMap(t, h, tc.target, map[string]string{"If-None-Match": `"0123456789abcdef0123456789abcdef"`})
			require.Equal(t, http.StatusOK, other.Code)
			require.Equal(t, rec.Body.String(), other.Body.String())
		})
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	require.NoError(t, json.Unmarshal([]byte(s), &n), "%q", s)
	return n
}

// TestMapChangeInvalidates follows one change through the cache: within the
// refresh interval the answer kept is sent; after it, a request is sent the
// answer kept and starts a rebuild, and the next has the new colour and a
// new ETag; past twice the interval a request waits for the new answer.
func TestMapChangeInvalidates(t *testing.T) {
	m := newCachedMapServer(t, Options{})
	h := m.Handler()
	first := getMap(t, h, "/api/v1/map", nil)
	require.Equal(t, "green", levelOf(t, first, "JX-NH-0003"))
	etag := first.Header().Get("ETag")

	// Nothing changed: the answer is current however old.
	m.advance(time.Hour)
	require.Equal(t, http.StatusNotModified, getMap(t, h, "/api/v1/map", map[string]string{"If-None-Match": etag}).Code)
	require.Equal(t, 1, m.schools.reads())

	m.schools.set("JX-NH-0003", engine.LevelRed, testNow)
	m.advance(DefaultMapRefresh / 2)
	require.Equal(t, http.StatusNotModified, getMap(t, h, "/api/v1/map", map[string]string{"If-None-Match": etag}).Code,
		"within the refresh interval, the answer kept")

	m.advance(DefaultMapRefresh / 2)
	stale := getMap(t, h, "/api/v1/map", nil)
	require.Equal(t, etag, stale.Header().Get("ETag"), "sent while the rebuild starts")
	require.Equal(t, 2, m.schools.reads(), "the rebuild read the state")
	fresh := getMap(t, h, "/api/v1/map", map[string]string{"If-None-Match": etag})
	require.Equal(t, http.StatusOK, fresh.Code)
	require.NotEqual(t, etag, fresh.Header().Get("ETag"))
	require.Equal(t, "red", levelOf(t, fresh, "JX-NH-0003"))

	// After a quiet spell of more than twice the interval, the first
	// request waits for the new answer.
	m.schools.set("JX-NH-0003", engine.LevelYellow, testNow)
	m.advance(2 * DefaultMapRefresh)
	rec := getMap(t, h, "/api/v1/map", nil)
	require.Equal(t, "yellow", levelOf(t, rec, "JX-NH-0003"))
	require.Equal(t, 3, m.schools.reads())

	// A version that moved without anything shown changing: rebuilt, same
	// tag, so browsers keep what they have.
	m.schools.touch()
	m.advance(2 * DefaultMapRefresh)
	require.Equal(t, http.StatusNotModified, getMap(t, h, "/api/v1/map", map[string]string{"If-None-Match": rec.Header().Get("ETag")}).Code)
	require.Equal(t, 4, m.schools.reads())
}

// TestMapScopeIsolation checks that the cache never hands one caller the
// answer built for another scope: the province's admin, a district's office
// and one school's viewer ask for the same URL, in every order, and each
// gets only its own schools, with an ETag that does not revalidate another's.
func TestMapScopeIsolation(t *testing.T) {
	m := newCachedMapServer(t, Options{Auth: &AuthOptions{Verifier: fakeVerifier{
		"sanse_province": {Name: "province", Role: auth.RoleAdmin, Scope: auth.ScopeAll},
		"sanse_nanhu":    {Name: "nanhu", Role: auth.RoleViewer, Scope: auth.Scope{Districts: []string{"南湖区"}}},
		"sanse_xiuzhou":  {Name: "xiuzhou", Role: auth.RoleViewer, Scope: auth.Scope{Districts: []string{"秀洲区"}}},
		"sanse_school":   {Name: "school", Role: auth.RoleViewer, Scope: auth.Scope{Schools: []string{"JX-NH-0002"}}},
	}}})
	h := m.Handler()
	want := map[string][]string{
		"sanse_province": {"JX-JS-0001", "JX-NH-0001", "JX-NH-0002", "JX-NH-0003", "JX-XZ-0001"},
		"sanse_nanhu":    {"JX-NH-0001", "JX-NH-0002", "JX-NH-0003"},
		"sanse_xiuzhou":  {"JX-XZ-0001"},
		"sanse_school":   {"JX-NH-0002"},
	}
	tags := map[string]string{}
	for _, order := range [][]string{
		{"sanse_province", "sanse_nanhu", "sanse_xiuzhou", "sanse_school"},
		{"sanse_school", "sanse_xiuzhou", "sanse_nanhu", "sanse_province"},
	} {
		for _, token := range order {
			for _, coding := range []string{"", "gzip", "zstd"} {
				rec := getMap(t, h, "/api/v1/map", map[string]string{"Authorization": "Bearer " + token, "Accept-Encoding": coding})
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				var g geoJSON
				require.NoError(t, json.Unmarshal(decodeBody(t, rec), &g))
				require.Equal(t, want[token], g.ids(), "%s with %q", token, coding)
				if coding == "" {
					tags[token] = rec.Header().Get("ETag")
				}
			}
		}
	}
	for token, tag := range tags {
		for other := range tags {
			if other == token {
				continue
			}
			rec := getMap(t, h, "/api/v1/map", map[string]string{"Authorization": "Bearer " + other, "If-None-Match": tag})
			require.Equal(t, http.StatusOK, rec.Code, "%s's tag does not revalidate %s's map", token, other)
			require.Equal(t, want[other], decodeJSON[geoJSON](t, rec).ids())
		}
	}
	// The same scope and filters, written differently, share one answer.
	before := m.schools.reads()
	nh, xz := url.QueryEscape("南湖区"), url.QueryEscape("秀洲区")
	for _, q := range []string{"?district=" + nh + "," + xz + "&level=red", "?level=red&district=" + xz + "&district=" + nh,
		"?district=" + xz + "," + nh + "," + xz + "&level=red,red"} {
		rec := getMap(t, h, "/api/v1/map"+q, map[string]string{"Authorization": "Bearer sanse_province"})
		require.Equal(t, []string{"JX-NH-0001", "JX-XZ-0001"}, decodeJSON[geoJSON](t, rec).ids())
	}
	require.Equal(t, before+1, m.schools.reads())
}

// decodeBody returns the body of rec decoded from its Content-Encoding.
func decodeBody(t *testing.T, rec *httptest.ResponseRecorder) []byte {
	t.Helper()
	body := rec.Body.Bytes()
	var r io.Reader
	switch enc := rec.Header().Get("Content-Encoding"); enc {
	case "":
		return body
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		require.NoError(t, err)
		r = zr
	case "br":
		r = brotli.NewReader(bytes.NewReader(body))
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(body))
		require.NoError(t, err)
		defer zr.Close()
		r = zr
	default:
		t.Fatalf("unexpected Content-Encoding %q", enc)
	}
	out, err := io.ReadAll(r)
	require.NoError(t, err)
	return out
}

// TestMapCodings checks that every coding decodes to the identity body, is
// named in Content-Encoding and has its own strong ETag, in both formats.
func TestMapCodings(t *testing.T) {
	m := newCachedMapServer(t, Options{Schools: provinceSchools(2000)})
	h := m.Handler()
	for _, target := range []string{"/api/v1/map", "/api/v1/map?format=compact", "/api/v1/map?district=" + url.QueryEscape("南湖区") + "&level=red,yellow"} {
		identity := getMap(t, h, target, nil)
		require.Equal(t, http.StatusOK, identity.Code)
		require.Empty(t, identity.Header().Get("Content-Encoding"))
		tags := map[string]bool{identity.Header().Get("ETag"): true}
		for _, tc := range []struct{ accept, want string }{
			{"gzip", "gzip"},
			{"br", "br"},
			{"zstd", "zstd"},
			{"gzip, deflate, br, zstd", "zstd"},
			{"gzip, deflate, br", "br"},
			{"gzip;q=1.0, br;q=0.5", "gzip"},
		} {
			rec := getMap(t, h, target, map[string]string{"Accept-Encoding": tc.accept})
			require.Equal(t, http.StatusOK, rec.Code)
			require.Equal(t, tc.want, rec.Header().Get("Content-Encoding"), tc.accept)
			require.Less(t, rec.Body.Len(), identity.Body.Len()/3, "%s compresses", tc.want)
			require.Equal(t, identity.Body.String(), string(decodeBody(t, rec)), "%s decodes to the identity body", tc.want)
			require.Equal(t, identity.Header().Get("Content-Type"), rec.Header().Get("Content-Type"))
			tags[rec.Header().Get("ETag")] = true
		}
		require.Len(t, tags, 4, "one tag per coding")
	}
}

func TestNegotiateEncoding(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   encoding
	}{
		{"", encIdentity},
		{"gzip", encGzip},
		{"x-gzip", encGzip},
		{"GZIP", encGzip},
		{"deflate", encIdentity},
		{"gzip, deflate, br, zstd", encZstd},
		{"gzip, deflate, br", encBrotli},
		{"br;q=0.9, gzip", encGzip},
		{"zstd;q=0, gzip;q=0.5", encGzip},
		{"gzip;q=0", encIdentity},
		{"identity, gzip;q=0.5", encIdentity},
		{"identity;q=0.5, gzip", encGzip},
		{"*", encZstd},
		{"gzip, *;q=0", encGzip},
		{"br;q=bad, gzip;q=0.1", encGzip},
	} {
		require.Equal(t, tc.want, negotiateEncoding(tc.header), "%q", tc.header)
	}
}

// fakeMapBuilds is a build function for the cache alone that counts its
// builds and gives each answer the number of the build.
type fakeMapBuilds struct {
	mu      sync.Mutex
	builds  int
	version uint64
	fail    error
	panics  bool
}

func (f *fakeMapBuilds) build(mapRequest) (*mapAnswer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.panics {
		panic("the map exploded")
	}
	if f.fail != nil {
		return nil, f.fail
	}
	f.builds++
	body := []byte{byte(f.builds)}
	return &mapAnswer{contentType: "application/json", body: body, etag: bodyTag(body), lastEventID: "run-1"}, nil
}

func (f *fakeMapBuilds) currentVersion() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.version
}

func (f *fakeMapBuilds) change() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.version++
}

func (f *fakeMapBuilds) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.builds
}

// TestMapCacheCoalescesBursts changes the state before every request, a
// request every millisecond of a fake clock for ten seconds (10,000 changes,
// as the engine consumes 10,000 events per second): the answer is rebuilt
// at most once per refresh interval, and no answer sent shows a state older
// than twice the interval.
func TestMapCacheCoalescesBursts(t *testing.T) {
	for _, refresh := range []time.Duration{250 * time.Millisecond, time.Second} {
		f := &fakeMapBuilds{}
		clock := testNow
		c := newMapCache(f.currentVersion, func() string { return "run-2" }, f.build, func() time.Time { return clock }, refresh, slog.New(slog.DiscardHandler), nil)
		c.spawn = func(run func()) { run() }
		const steps, step = 10000, time.Millisecond
		for range steps {
			f.change()
			a, _, err := c.get(t.Context(), mapRequest{Scope: ScopeAll, Format: mapGeoJSON}, encGzip)
			require.NoError(t, err)
			require.Less(t, clock.Sub(a.read), 2*refresh, "the answer's state is younger than twice the interval")
			clock = clock.Add(step)
		}
		elapsed := time.Duration(steps) * step
		require.LessOrEqual(t, f.count(), int(elapsed/refresh)+1, "at most one build per interval (refresh %v)", refresh)
		require.GreaterOrEqual(t, f.count(), int(elapsed/(2*refresh)), "and rebuilt while it changes (refresh %v)", refresh)
	}
}

// TestMapCacheResumePosition checks the stream position sent with an answer:
// the one read before its state while the state changed since, and the
// newest one while the answer is still current (so that an unchanged map
// does not send the page back to changes the stream no longer keeps).
func TestMapCacheResumePosition(t *testing.T) {
	f := &fakeMapBuilds{}
	clock := testNow
	pos := "run-1"
	c := newMapCache(f.currentVersion, func() string { return pos }, f.build, func() time.Time { return clock }, time.Second, slog.New(slog.DiscardHandler), nil)
	c.spawn = func(run func()) { run() }
	req := mapRequest{Scope: ScopeAll, Format: mapGeoJSON}
	_, got, err := c.get(t.Context(), req, encIdentity)
	require.NoError(t, err)
	require.Equal(t, "run-1", got)

	pos = "run-9" // eight alerts published, nothing on the map changed
	_, got, err = c.get(t.Context(), req, encIdentity)
	require.NoError(t, err)
	require.Equal(t, "run-9", got)

	f.change()
	pos = "run-10"
	_, got, err = c.get(t.Context(), req, encIdentity)
	require.NoError(t, err)
	require.Equal(t, "run-1", got, "the answer kept is from before the change")
}

// TestMapCacheFailures checks that a failed or panicking build answers the
// requests that waited for it with an error, is not kept, and that the next
// request builds again.
func TestMapCacheFailures(t *testing.T) {
	f := &fakeMapBuilds{fail: errors.New("no state")}
	c := newMapCache(f.currentVersion, func() string { return "" }, f.build, func() time.Time { return testNow }, time.Second, slog.New(slog.DiscardHandler), nil)
	req := mapRequest{Scope: ScopeAll, Format: mapGeoJSON}
	_, _, err := c.get(t.Context(), req, encIdentity)
	require.ErrorIs(t, err, f.fail)

	f.mu.Lock()
	f.fail, f.panics = nil, true
	f.mu.Unlock()
	_, _, err = c.get(t.Context(), req, encIdentity)
	var he *echo.HTTPError
	require.ErrorAs(t, err, &he)
	require.Equal(t, http.StatusInternalServerError, he.Code)

	f.mu.Lock()
	f.panics = false
	f.mu.Unlock()
	a, _, err := c.get(t.Context(), req, encIdentity)
	require.NoError(t, err)
	require.Equal(t, []byte{1}, a.body)
}

// TestMapCacheBounded asks for more distinct maps than the cache keeps: the
// least recently asked for are dropped, the bytes counted stay those of the
// answers kept, and a dropped map is built again when asked for.
func TestMapCacheBounded(t *testing.T) {
	f := &fakeMapBuilds{}
	c := newMapCache(f.currentVersion, func() string { return "" }, f.build, func() time.Time { return testNow }, time.Second, slog.New(slog.DiscardHandler), nil)
	c.spawn = func(run func()) { run() }
	district := func(i int) mapRequest {
		return mapRequest{Scope: Scope{District: "区" + string(rune('A'+i%26)) + string(rune('a'+i/26))}, Format: mapGeoJSON}
	}
	for i := range 3 * mapCacheEntries {
		_, _, err := c.get(t.Context(), district(i), encIdentity)
		require.NoError(t, err)
	}
	entries, size := c.stats()
	require.Equal(t, mapCacheEntries, entries)
	require.Equal(t, mapCacheEntries, size, "one byte per answer kept")
	builds := f.count()
	_, _, err := c.get(t.Context(), district(3*mapCacheEntries-1), encIdentity)
	require.NoError(t, err)
	require.Equal(t, builds, f.count(), "the newest is kept")
	_, _, err = c.get(t.Context(), district(0), encIdentity)
	require.NoError(t, err)
	require.Equal(t, builds+1, f.count(), "the oldest was dropped")
}

// TestMapStreamPosition checks the live stream's position sent with the
// map: a stream resumed from it sends the changes made after the answer.
func TestMapStreamPosition(t *testing.T) {
	m := newCachedMapServer(t, Options{})
	m.hub.Publish(engine.LevelChange{SchoolID: "JX-NH-0001", To: engine.LevelRed})
	rec := getMap(t, m.Handler(), "/api/v1/map", nil)
	require.Equal(t, m.hub.eventID(1), rec.Header().Get("Sanse-Last-Event-Id"))
	compact := getMap(t, m.Handler(), "/api/v1/map?format=compact", nil)
	require.Equal(t, m.hub.eventID(1), compact.Header().Get("Sanse-Last-Event-Id"))
	after, reset := m.hub.resume(rec.Header().Get("Sanse-Last-Event-Id"))
	require.Empty(t, reset)
	require.Equal(t, uint64(1), after)

	// Without a stream, no position.
	plain := newTestServer(t, Options{})
	require.Empty(t, getMap(t, plain.Handler(), "/api/v1/map", nil).Header().Get("Sanse-Last-Event-Id"))
}
