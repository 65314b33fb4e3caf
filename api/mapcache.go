package api

import (
	"container/list"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// VersionedSchools is a Schools that tells when what it shows has changed.
// When Options.Schools is one (engine.Engine is), the answers of the live
// map are built once per change and kept (mapCache); otherwise every
// request builds its own.
type VersionedSchools interface {
	Schools
	// Version returns a number that changes whenever View or Views may
	// answer differently. It is read before the state, so that a change
	// between the two readings only costs a rebuild. It must be safe for
	// concurrent use and must not block.
	Version() uint64
}

// Bounds of the map's cache.
const (
	// DefaultMapRefresh is Options.MapRefresh when zero.
	DefaultMapRefresh = time.Second
	// mapCacheEntries bounds how many answers (one per scope, filters and
	// format asked for) are kept; the one asked for least recently goes
	// first.
	mapCacheEntries = 64
	// mapCacheBytes bounds the bodies of the answers kept, in every coding
	// together (the whole province's GeoJSON for 20,000 schools is about
	// 6.6 MB, 0.5 to 0.8 MB compressed).
	mapCacheBytes = 256 << 20
)

// Results of a request to the map's cache, the values of the result label of
// sanse_api_map_cache_requests_total.
const (
	// mapHit: the answer kept was current, or younger than the refresh
	// interval.
	mapHit = "hit"
	// mapStale: the answer kept was older than the refresh interval and the
	// state had changed; it was sent (it is younger than twice the
	// interval) while a rebuild started.
	mapStale = "stale"
	// mapMiss: the request waited for an answer to be built: none was kept
	// (or not in its coding), or the one kept was too old.
	mapMiss = "miss"
)

// mapCache keeps the answers of the live map, one per request that means the
// same (mapRequest: the caller's scope, the filters, the format), each with
// its body in the codings clients asked for, so that a request costs no more
// than writing bytes out. How fresh an answer is:
//
//   - An answer read from a state of the current version is sent, however
//     old: nothing it shows has changed since.
//   - After a change, the answer kept is sent for up to refresh after it
//     was last known current (its state read, or the version found
//     unchanged by a request); this coalesces a burst of changes into at
//     most one rebuild per refresh interval.
//   - Later than that, it is still sent, to a request that then starts a
//     rebuild in the background, up to twice the interval; past that, the
//     request waits for the rebuild.
//
// So every answer sent showed the current state at most 2×refresh before,
// and under steady requests at most refresh plus one build before; requests
// wait only for the first answer of a request, for a coding not made yet, or
// after a quiet spell. One rebuild at a time runs per answer, read from the
// state of when it starts. Failed builds are not kept.
type mapCache struct {
	version func() uint64
	// position returns the live stream's last event id ("" without one).
	position func() string
	build    func(mapRequest) (*mapAnswer, error)
	now      func() time.Time
	refresh  time.Duration
	// spawn runs a rebuild that no request waits for: in a goroutine
	// (tests run it at once).
	spawn   func(func())
	logger  *slog.Logger
	metrics *mapMetrics

	mu      sync.Mutex
	entries map[string]*list.Element // of *mapEntry, by key
	lru     list.List                // the most recently asked for first
	size    int                      // bytes of the answers kept
}

// mapEntry is the cache's place for the answers to one request. Its fields
// are guarded by mapCache.mu.
type mapEntry struct {
	key    string
	req    mapRequest
	answer *mapAnswer // the newest built; nil before the first
	size   int        // answer.bytes()
	// current is the last time answer was known to show the current
	// state: when its state was read, or a request found the version
	// unchanged.
	current time.Time
	// building is the build under way; nil when none is.
	building *mapBuild
	// wanted are the codings asked for; every build makes them all.
	wanted [numEncodings]bool
}

// mapBuild is one build of an entry's answer. answer and err are set before
// done is closed.
type mapBuild struct {
	done   chan struct{}
	answer *mapAnswer
	err    error
}

func newMapCache(version func() uint64, position func() string, build func(mapRequest) (*mapAnswer, error),
	now func() time.Time, refresh time.Duration, logger *slog.Logger, reg prometheus.Registerer) *mapCache {
	if refresh <= 0 {
		refresh = DefaultMapRefresh
	}
	c := &mapCache{
		version: version, position: position, build: build, now: now, refresh: refresh,
		spawn: func(f func()) { go f() }, logger: logger, entries: map[string]*list.Element{},
	}
	c.metrics = newMapMetrics(reg, c.stats)
	return c
}

// key returns the cache key of req: its canonical JSON, which differs for
// requests that may be answered differently (scope, filters, format).
func (req mapRequest) key() string {
	b, err := json.Marshal(req)
	if err != nil {
		panic(fmt.Sprintf("api: map request %+v: %v", req, err)) // plain strings and bools
	}
	return string(b)
}

// get returns the answer to req with its body in coding enc (made by a
// build when the answer kept lacks it), and the live stream's event id to
// resume from for that answer. It waits for a build when it has to (see
// mapCache), until ctx is done; the build goes on for the next request.
func (c *mapCache) get(ctx context.Context, req mapRequest, enc encoding) (*mapAnswer, string, error) {
	key := req.key()
	for waited := false; ; waited = true {
		// The position before the version: when the version is still the
		// answer's, every change published up to that position is in it.
		pos := c.position()
		c.mu.Lock()
		e := c.entry(key, req)
		e.wanted[enc] = true
		a, b := e.answer, e.building
		result := mapMiss
		if a != nil && a.bodyOf(enc) != nil {
			now := c.now()
			switch age := now.Sub(e.current); {
			case a.version == c.version():
				result = mapHit
				if now.After(e.current) {
					e.current = now
				}
			case age < c.refresh:
				result, pos = mapHit, a.lastEventID
			case age < 2*c.refresh:
				result, pos = mapStale, a.lastEventID
			}
		}
		start := result != mapHit && b == nil
		if start {
			b = c.startBuild(e)
		}
		c.mu.Unlock()
		if start {
			c.spawn(func() { c.run(e, b) })
		}
		if !waited {
			c.metrics.requests.WithLabelValues(result).Inc()
		}
		if result != mapMiss {
			return a, pos, nil
		}

		select {
		case <-b.done:
		case <-ctx.Done():
			return nil, "", httpError(http.StatusServiceUnavailable, "request cancelled")
		}
		if b.err != nil {
			return nil, "", b.err
		}
		if a := b.answer; a.bodyOf(enc) != nil {
			// Read after the request came: as fresh as can be.
			return a, a.lastEventID, nil
		}
		// The build began before this request wanted enc: the next one
		// makes it.
	}
}

// entry returns the entry of key, made when there is none, as the most
// recently asked for. c.mu is held.
func (c *mapCache) entry(key string, req mapRequest) *mapEntry {
	if el, ok := c.entries[key]; ok {
		c.lru.MoveToFront(el)
		return el.Value.(*mapEntry)
	}
	e := &mapEntry{key: key, req: req}
	c.entries[key] = c.lru.PushFront(e)
	c.evict()
	return e
}

// evict drops the entries asked for least recently while the cache holds
// more than its bounds, all but the newest. c.mu is held.
func (c *mapCache) evict() {
	for c.lru.Len() > 1 && (c.lru.Len() > mapCacheEntries || c.size > mapCacheBytes) {
		e := c.lru.Remove(c.lru.Back()).(*mapEntry)
		delete(c.entries, e.key)
		c.size -= e.size
	}
}

// startBuild records a new build of e's answer as under way. c.mu is held;
// the caller runs c.run(e, b).
func (c *mapCache) startBuild(e *mapEntry) *mapBuild {
	b := &mapBuild{done: make(chan struct{})}
	e.building = b
	return b
}

// run builds e's answer: the state's version first, then the answer, then
// its body in every coding wanted (the bodies of the answer kept are reused
// when the map is the same). The answer replaces the one kept, and the
// requests waiting for b get it.
func (c *mapCache) run(e *mapEntry, b *mapBuild) {
	start := time.Now()
	c.mu.Lock()
	wanted, prev := e.wanted, e.answer
	c.mu.Unlock()

	version, read := c.version(), c.now()
	a, err := c.safeBuild(e.req)
	if err == nil {
		a.version, a.read = version, read
		for enc := encZstd; enc < numEncodings; enc++ {
			switch {
			case !wanted[enc]:
			case prev != nil && prev.etag == a.etag && prev.coded[enc] != nil:
				a.coded[enc] = prev.coded[enc]
			default:
				a.coded[enc] = compress(enc, a.body)
			}
		}
	}

	c.mu.Lock()
	b.answer, b.err = a, err
	if err == nil {
		size := a.bytes()
		if el, ok := c.entries[e.key]; ok && el.Value == e {
			c.size += size - e.size
		}
		e.answer, e.size = a, size
		if read.After(e.current) {
			e.current = read
		}
		c.evict()
	}
	e.building = nil
	close(b.done)
	c.mu.Unlock()

	c.metrics.builds.WithLabelValues(string(e.req.Format)).Inc()
	c.metrics.buildDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		c.logger.Error("map answer not built", "err", err)
	}
}

// safeBuild calls c.build, turning a panic into an error: a build may run
// in a goroutine of its own, where nothing else would recover it.
func (c *mapCache) safeBuild(req mapRequest) (a *mapAnswer, err error) {
	defer func() {
		if p := recover(); p != nil {
			c.logger.Error("panic building the map", "err", p, "stack", string(debug.Stack()))
			err = httpError(http.StatusInternalServerError, "internal server error")
		}
	}()
	return c.build(req)
}

// stats returns how many answers the cache keeps and their bytes.
func (c *mapCache) stats() (entries, size int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.size
}

// mapMetrics are the instruments of the map's cache.
type mapMetrics struct {
	requests      *prometheus.CounterVec
	builds        *prometheus.CounterVec
	buildDuration prometheus.Histogram
}

func newMapMetrics(reg prometheus.Registerer, stats func() (entries, size int)) *mapMetrics {
	f := promauto.With(reg)
	m := &mapMetrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "api", Name: "map_cache_requests_total",
			Help: "Requests for the live map (GET /api/v1/map), by result: hit (a current answer, or one younger than the refresh interval), stale (an older one, sent while a rebuild started) or miss (waited for a build).",
		}, []string{"result"}),
		builds: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "api", Name: "map_builds_total",
			Help: "Answers of the live map built (the state read, encoded and compressed), by format.",
		}, []string{"format"}),
		buildDuration: f.NewHistogram(prometheus.HistogramOpts{
			Namespace: "sanse", Subsystem: "api", Name: "map_build_duration_seconds",
			Help:    "Time to build one answer of the live map, in every coding asked for.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
	}
	for _, r := range []string{mapHit, mapStale, mapMiss} {
		m.requests.WithLabelValues(r)
	}
	for _, f := range []mapFormat{mapGeoJSON, mapCompact} {
		m.builds.WithLabelValues(string(f))
	}
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "sanse", Subsystem: "api", Name: "map_cache_answers",
		Help: "Answers of the live map kept (one per scope, filters and format asked for).",
	}, func() float64 { n, _ := stats(); return float64(n) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "sanse", Subsystem: "api", Name: "map_cache_bytes",
		Help: "Bytes of the answers of the live map kept, in every coding.",
	}, func() float64 { _, n := stats(); return float64(n) })
	return m
}
