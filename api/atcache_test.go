package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

func mapAt(t *testing.T, s *Server, at string) map[string]any {
	t.Helper()
	rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/map?at="+url.QueryEscape(at))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	return decodeJSON[map[string]any](t, rec)
}

func TestMapAtCached(t *testing.T) {
	f := &fakeLevelsAt{changes: pastChanges()}
	reg := prometheus.NewRegistry()
	s := newTestServer(t, Options{LevelsAt: f.levelsAt, Registerer: reg})
	clock := &fakeClock{t: testNow}
	s.now = clock.now

	// A moment asked again is read once.
	body := mapAt(t, s, "2025-06-08T12:00:10+08:00")
	require.Equal(t, "2025-06-08T12:00:10+08:00", body["at"])
	for range 5 {
		require.Equal(t, body, mapAt(t, s, "2025-06-08T12:00:10+08:00"))
	}
	require.Equal(t, body, mapAt(t, s, "2025-06-08T04:00:10Z"), "the same moment in another offset")
	require.Equal(t, []time.Time{at("2025-06-08T12:00:10+08:00")}, f.asked)
	require.Equal(t, 6.0, testutil.ToFloat64(s.limitMetrics.atCacheHits))
	require.Equal(t, 1.0, testutil.ToFloat64(s.limitMetrics.atCacheMisses))

	// Another moment, a millisecond later, is another query: a change
	// between the two shows.
	mapAt(t, s, "2025-06-08T12:00:10.001+08:00")
	require.Len(t, f.asked, 2)

	// After the cache's time, the store is asked again.
	clock.advance(atCacheTTL)
	mapAt(t, s, "2025-06-08T12:00:10+08:00")
	require.Len(t, f.asked, 3)
}

func TestMapAtCacheKeepsNoErrors(t *testing.T) {
	f := &fakeLevelsAt{err: errors.New("clickhouse: connection refused")}
	s := newTestServer(t, Options{LevelsAt: f.levelsAt})
	for range 3 {
		rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/map?at="+url.QueryEscape("2025-06-08T12:00:00+08:00"))
		require.Equal(t, http.StatusInternalServerError, rec.Code)
	}
	require.Len(t, f.asked, 3)
	require.Zero(t, s.atCache.size())
}

func TestMapAtCacheIsBounded(t *testing.T) {
	f := &fakeLevelsAt{changes: pastChanges()}
	s := newTestServer(t, Options{LevelsAt: f.levelsAt})
	clock := &fakeClock{t: testNow}
	s.now = clock.now
	start := at("2025-06-01T00:00:00Z")
	for i := range 3 * atCacheSize {
		_, err := s.atCache.get(context.Background(), start.Add(time.Duration(i)*time.Minute))
		require.NoError(t, err)
		require.LessOrEqual(t, s.atCache.size(), atCacheSize)
		clock.advance(time.Second)
	}
	// The newest moments are kept, the oldest were dropped.
	_, err := s.atCache.get(context.Background(), start.Add(time.Duration(3*atCacheSize-1)*time.Minute))
	require.NoError(t, err)
	require.Len(t, f.asked, 3*atCacheSize)
	_, err = s.atCache.get(context.Background(), start)
	require.NoError(t, err)
	require.Len(t, f.asked, 3*atCacheSize+1)
}

// blockingLevelsAt holds every query until released, counting them.
type blockingLevelsAt struct {
	mu      sync.Mutex
	queries int
	release chan struct{}
}

func (b *blockingLevelsAt) levelsAt(ctx context.Context, _ time.Time) ([]engine.LevelChange, error) {
	b.mu.Lock()
	b.queries++
	b.mu.Unlock()
	select {
	case <-b.release:
		return pastChanges(), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// TestMapAtConcurrentRequestsShareOneQuery sends many requests for one
// moment at once: the store is asked once, and a client that goes away
// does not fail the others.
func TestMapAtConcurrentRequestsShareOneQuery(t *testing.T) {
	b := &blockingLevelsAt{release: make(chan struct{})}
	s := newTestServer(t, Options{LevelsAt: b.levelsAt})
	target := "/api/v1/map?at=" + url.QueryEscape("2025-06-08T12:00:00+08:00")

	gone, cancel := context.WithCancel(context.Background())
	goneDone := make(chan int)
	go func() {
		req, _ := http.NewRequestWithContext(gone, http.MethodGet, target, nil)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		goneDone <- rec.Code
	}()
	require.Eventually(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.queries == 1 }, streamWait, time.Millisecond)

	const n = 8
	codes := make(chan int, n)
	for range n {
		go func() { codes <- serve(t, s.Handler(), http.MethodGet, target).Code }()
	}
	cancel()
	require.Equal(t, http.StatusServiceUnavailable, <-goneDone, "the client that went away")
	close(b.release)
	for range n {
		require.Equal(t, http.StatusOK, <-codes)
	}
	require.Equal(t, 1, b.queries)
}
