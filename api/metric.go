package api

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics are the server's instruments. The handler label is the route
// pattern (e.g. /api/v1/schools/:id), never the requested URL, so its values
// are bounded by the routes.
type metrics struct {
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	authFailures  *prometheus.CounterVec
	auditFailures prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "api", Name: "requests_total",
			Help: "HTTP requests served, by route and status code.",
		}, []string{"handler", "code"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "sanse", Subsystem: "api", Name: "request_duration_seconds",
			Help:    "Time to serve an HTTP request, by route.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"handler"}),
		authFailures: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "api", Name: "auth_failures_total",
			Help: "Requests and sign-ins refused for their token, by reason (missing, invalid, expired, revoked).",
		}, []string{"reason"}),
		auditFailures: f.NewCounter(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "api", Name: "audit_write_failures_total",
			Help: "Audit records that could not be stored.",
		}),
	}
}

// streamMetrics are the instruments of the Hub and its streams.
type streamMetrics struct {
	clients prometheus.Gauge
	events  prometheus.Counter
	resets  *prometheus.CounterVec
}

func newStreamMetrics(reg prometheus.Registerer) *streamMetrics {
	f := promauto.With(reg)
	m := &streamMetrics{
		clients: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "sanse", Subsystem: "api", Name: "stream_clients",
			Help: "Clients connected to the live stream of colour changes.",
		}),
		events: f.NewCounter(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "api", Name: "stream_events_total",
			Help: "Colour changes sent to live stream clients, counted once per client.",
		}),
		resets: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "api", Name: "stream_resets_total",
			Help: "Reset events sent to live stream clients, telling them to reload the map, by reason.",
		}, []string{"reason"}),
	}
	for _, r := range []string{resetRestarted, resetExpired, resetBehind} {
		m.resets.WithLabelValues(r)
	}
	return m
}

// limitMetrics count what the limits refused.
type limitMetrics struct {
	rateLimited    *prometheus.CounterVec
	streamsRefused *prometheus.CounterVec
	atCacheHits    prometheus.Counter
	atCacheMisses  prometheus.Counter
}

// newLimitMetrics registers the limits' instruments; callers reports how
// many callers the rate limiter keeps (nil when it is off).
func newLimitMetrics(reg prometheus.Registerer, callers func() int) *limitMetrics {
	f := promauto.With(reg)
	m := &limitMetrics{
		rateLimited: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "api", Name: "rate_limited_requests_total",
			Help: "Requests refused with 429 because their caller was over the rate limit, by route.",
		}, []string{"handler"}),
		streamsRefused: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "api", Name: "stream_refused_total",
			Help: "Live streams refused with 429, by reason: total (too many open) or caller (too many of one caller).",
		}, []string{"reason"}),
	}
	for _, r := range []string{streamsTotal, streamsCaller} {
		m.streamsRefused.WithLabelValues(r)
	}
	atCache := f.NewCounterVec(prometheus.CounterOpts{
		Namespace: "sanse", Subsystem: "api", Name: "map_at_cache_requests_total",
		Help: "Reads of the colours at a past moment (GET /api/v1/map?at=), by result: hit (from the cache) or miss (from the store).",
	}, []string{"result"})
	m.atCacheHits, m.atCacheMisses = atCache.WithLabelValues("hit"), atCache.WithLabelValues("miss")
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "sanse", Subsystem: "api", Name: "rate_limit_callers",
		Help: "Callers whose rate the limiter tracks (those that have not refilled their burst).",
	}, func() float64 {
		if callers == nil {
			return 0
		}
		return float64(callers())
	})
	return m
}
