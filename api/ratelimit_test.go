package api

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestRateLimiter(t *testing.T) {
	type step struct {
		advance time.Duration
		key     string
		allowed bool
		wait    time.Duration
	}
	tests := []struct {
		name  string
		rate  float64
		burst int
		steps []step
	}{
		{
			name: "burst then one a second", rate: 1, burst: 3,
			steps: []step{
				{key: "a", allowed: true}, {key: "a", allowed: true}, {key: "a", allowed: true},
				{key: "a", wait: time.Second},
				{advance: 400 * time.Millisecond, key: "a", wait: 600 * time.Millisecond},
				{advance: 600 * time.Millisecond, key: "a", allowed: true},
				{key: "a", wait: time.Second},
			},
		},
		{
			name: "callers have their own buckets", rate: 1, burst: 1,
			steps: []step{
				{key: "a", allowed: true}, {key: "a", wait: time.Second},
				{key: "b", allowed: true}, {key: "b", wait: time.Second},
			},
		},
		{
			name: "refill stops at the burst", rate: 10, burst: 2,
			steps: []step{
				{advance: time.Hour, key: "a", allowed: true},
				{advance: time.Hour, key: "a", allowed: true}, {key: "a", allowed: true},
				{key: "a", wait: 100 * time.Millisecond},
			},
		},
		{
			name: "a fraction of a token is kept", rate: 4, burst: 1,
			steps: []step{
				{key: "a", allowed: true},
				{advance: 100 * time.Millisecond, key: "a", wait: 150 * time.Millisecond},
				{advance: 150 * time.Millisecond, key: "a", allowed: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{t: testNow}
			l := newRateLimiter(tt.rate, tt.burst, clock.now)
			for i, st := range tt.steps {
				clock.advance(st.advance)
				ok, wait := l.allow(st.key)
				require.Equal(t, st.allowed, ok, "step %d", i)
				require.InDelta(t, st.wait, wait, float64(time.Millisecond), "step %d", i)
			}
		})
	}
}

// TestRateLimiterMemory checks that the buckets kept are bounded: those that
// have refilled are dropped, and past the maximum the least recent goes.
func TestRateLimiterMemory(t *testing.T) {
	clock := &fakeClock{t: testNow}
	l := newRateLimiter(1, 2, clock.now)
	l.max = 3
	for _, k := range []string{"a", "b", "c"} {
		l.allow(k)
		clock.advance(100 * time.Millisecond)
	}
	require.Equal(t, 3, l.callers())

	// None has refilled: the least recent, a, is dropped for d.
	l.allow("d")
	require.Equal(t, 3, l.callers())
	require.NotContains(t, l.buckets, "a")

	// After two seconds every bucket is full, which is the same as none:
	// the next sweep drops them all.
	clock.advance(rateSweepInterval)
	l.allow("e")
	require.Equal(t, 1, l.callers())

	// Thousands of callers, one request each, never keep more than max.
	for i := range 5000 {
		l.allow("caller-" + strconv.Itoa(i))
	}
	require.Equal(t, 3, l.callers())
}

func TestRateLimitMiddleware(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := newTestServer(t, Options{
		Registerer: reg, Gatherer: reg,
		Limits:    Limits{RateLimit: 1, RateBurst: 2},
		CallerKey: func(c echo.Context) string { return c.Request().Header.Get("X-Caller") },
	})
	clock := &fakeClock{t: testNow}
	s.now = clock.now
	get := func(target, caller string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("X-Caller", caller)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		return rec
	}
	for range 2 {
		require.Equal(t, http.StatusOK, get("/api/v1/map", "a").Code)
	}
	rec := get("/api/v1/schools/JX-NH-0001", "a")
	requireJSONError(t, rec, http.StatusTooManyRequests, "too many requests", "try again in 1s")
	require.Equal(t, "1", rec.Header().Get("Retry-After"))
	require.Equal(t, 1.0, testutil.ToFloat64(s.limitMetrics.rateLimited.WithLabelValues("/api/v1/schools/:id")))

	require.Equal(t, http.StatusOK, get("/api/v1/map", "b").Code, "another caller has its own bucket")
	for _, target := range []string{"/healthz", "/readyz", "/metrics"} {
		for range 5 {
			require.Equal(t, http.StatusOK, get(target, "a").Code, "%s is not limited", target)
		}
	}
	require.Equal(t, http.StatusNotFound, get("/api/v1/schools/JX-NONE", "b").Code, "a request over nothing still counts")
	requireJSONError(t, get("/api/v1/map", "b"), http.StatusTooManyRequests)

	clock.advance(time.Second)
	require.Equal(t, http.StatusOK, get("/api/v1/map", "a").Code, "a token came back")
}

func TestRateLimitOff(t *testing.T) {
	s := newTestServer(t, Options{Limits: Limits{RateLimit: -1, RateBurst: 1}})
	require.Nil(t, s.rate)
	for range 50 {
		require.Equal(t, http.StatusOK, serve(t, s.Handler(), http.MethodGet, "/api/v1/map").Code)
	}
}

func TestRetryAfter(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "1", time.Millisecond: "1", time.Second: "1",
		1001 * time.Millisecond: "2", 30 * time.Second: "30"} {
		require.Equal(t, want, retryAfter(d), "%s", d)
	}
}
