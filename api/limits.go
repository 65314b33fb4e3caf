package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Caps of list and history queries. They are not options: they bound what
// one request may cost, whatever the installation.
const (
	// DefaultListLimit is how many items a list (alerts, hazards) returns
	// when the request gives no limit.
	DefaultListLimit = 100
	// MaxListLimit is the largest limit a list accepts.
	MaxListLimit = 1000
	// MaxHistoryDays bounds the time range of one history query (a school's
	// timeline, the alerts' from and to).
	MaxHistoryDays  = 366
	maxHistoryRange = MaxHistoryDays * 24 * time.Hour
)

// Defaults of Limits.
const (
	// DefaultHistoryHorizon is how far back a history query may reach:
	// three years, the colour history's retention.
	DefaultHistoryHorizon = 1096 * 24 * time.Hour
	// DefaultReadHeaderTimeout bounds the reading of a request's headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultReadTimeout bounds the reading of a whole request, body
	// included (bodies are small: see maxBody).
	DefaultReadTimeout = 30 * time.Second
	// DefaultWriteTimeout bounds the writing of a response. The live
	// stream extends it before each of its writes, so it does not end a
	// stream.
	DefaultWriteTimeout = time.Minute
	// DefaultIdleTimeout is how long a kept-alive connection may wait for
	// its next request.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultRateLimit is how many requests per second one caller may make
	// on average.
	DefaultRateLimit = 20
	// DefaultRateBurst is how many requests one caller may make at once
	// (loading the page takes about fifteen).
	DefaultRateBurst = 100
	// DefaultMaxStreams bounds the live streams open at once.
	DefaultMaxStreams = 1000
	// DefaultMaxStreamsPerCaller bounds the live streams one caller may
	// have open at once (a few browser tabs).
	DefaultMaxStreamsPerCaller = 8
)

// Limits bounds what callers may ask of the server. A zero field takes its
// default (DefaultLimits); a negative rate limit or stream cap turns that
// limit off. The YAML names are those of the web section of sanse's
// configuration.
type Limits struct {
	// HistoryHorizon is how far back from now a history query may reach:
	// the timeline's from, the alerts' from and the map's at.
	HistoryHorizon time.Duration `yaml:"history_horizon"`

	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout are
	// those of http.Server.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`

	// RateLimit is how many requests per second one caller (see
	// Options.CallerKey) may make on average, and RateBurst how many at
	// once; over it, requests are answered 429 with Retry-After. The
	// health, readiness and metrics endpoints are not limited.
	RateLimit float64 `yaml:"rate_limit"`
	RateBurst int     `yaml:"rate_burst"`

	// MaxStreams bounds the live streams open at once, and
	// MaxStreamsPerCaller those of one caller; over either, a new stream
	// is answered 429 with Retry-After.
	MaxStreams          int `yaml:"max_streams"`
	MaxStreamsPerCaller int `yaml:"max_streams_per_caller"`
}

// DefaultLimits returns the limits a zero Limits stands for.
func DefaultLimits() Limits {
	return Limits{
		HistoryHorizon:      DefaultHistoryHorizon,
		ReadHeaderTimeout:   DefaultReadHeaderTimeout,
		ReadTimeout:         DefaultReadTimeout,
		WriteTimeout:        DefaultWriteTimeout,
		IdleTimeout:         DefaultIdleTimeout,
		RateLimit:           DefaultRateLimit,
		RateBurst:           DefaultRateBurst,
		MaxStreams:          DefaultMaxStreams,
		MaxStreamsPerCaller: DefaultMaxStreamsPerCaller,
	}
}

// withDefaults returns l with each zero field set to its default.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	set := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.HistoryHorizon, d.HistoryHorizon)
	set(&l.ReadHeaderTimeout, d.ReadHeaderTimeout)
	set(&l.ReadTimeout, d.ReadTimeout)
	set(&l.WriteTimeout, d.WriteTimeout)
	set(&l.IdleTimeout, d.IdleTimeout)
	if l.RateLimit == 0 {
		l.RateLimit = d.RateLimit
	}
	if l.RateBurst <= 0 {
		l.RateBurst = d.RateBurst
	}
	if l.MaxStreams == 0 {
		l.MaxStreams = d.MaxStreams
	}
	if l.MaxStreamsPerCaller == 0 {
		l.MaxStreamsPerCaller = d.MaxStreamsPerCaller
	}
	return l
}

// parseLimit parses the limit parameter of a list: DefaultListLimit when
// empty, otherwise a number from 1 to MaxListLimit.
func parseLimit(v string) (int, error) {
	if v == "" {
		return DefaultListLimit, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 || n > MaxListLimit {
		return 0, httpError(http.StatusBadRequest, "invalid parameter limit: %q is not a number from 1 to %d", v, MaxListLimit)
	}
	return n, nil
}

// parseTime parses the time parameter name: an RFC 3339 time with an
// offset.
func parseTime(name, value string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, value)
	if err != nil && strings.Contains(value, " ") {
		// An offset such as +08:00 written unescaped in a query string
		// arrives as " 08:00".
		t, err = time.Parse(time.RFC3339, strings.Replace(value, " ", "+", 1))
	}
	if err != nil {
		return time.Time{}, httpError(http.StatusBadRequest,
			"invalid parameter %s: %q is not an RFC 3339 time such as %s", name, value, timeExample)
	}
	return t, nil
}

// checkHorizon refuses a moment t of the parameter name that is before the
// history horizon.
func (s *Server) checkHorizon(name string, t time.Time) error {
	if oldest := s.now().Add(-s.limits.HistoryHorizon); t.Before(oldest) {
		return httpError(http.StatusBadRequest,
			"invalid parameter %s: %s is before the history kept (%d days, since %s)", name,
			t.Format(time.RFC3339), int(s.limits.HistoryHorizon/(24*time.Hour)), local(oldest).Format(time.RFC3339))
	}
	return nil
}

// checkRange refuses a history range [from, to) that starts before the
// horizon or is longer than MaxHistoryDays.
func (s *Server) checkRange(from, to time.Time) error {
	if err := s.checkHorizon("from", from); err != nil {
		return err
	}
	if to.Sub(from) > maxHistoryRange {
		return httpError(http.StatusBadRequest,
			"invalid time range: from %s to %s is longer than %d days", from.Format(time.RFC3339),
			to.Format(time.RFC3339), MaxHistoryDays)
	}
	return nil
}

// initLimits builds what enforces the limits: the caller key, the rate
// limiter (none when RateLimit is negative), the stream counter, the cache
// of past moments in front of LevelsAt, and their metrics. The limiter reads the server's clock, which tests replace.
func (s *Server) initLimits(opts Options) {
	s.callerKey = opts.CallerKey
	if s.callerKey == nil {
		s.callerKey = defaultCallerKey
	}
	var callers func() int
	if s.limits.RateLimit > 0 {
		s.rate = newRateLimiter(s.limits.RateLimit, s.limits.RateBurst, func() time.Time { return s.now() })
		callers = s.rate.callers
	}
	s.streams = newStreamLimiter(s.limits.MaxStreams, s.limits.MaxStreamsPerCaller)
	s.limitMetrics = newLimitMetrics(opts.Registerer, callers)
	if s.levelsAt != nil {
		m := s.limitMetrics
		s.atCache = newAtCache(s.levelsAt, func() time.Time { return s.now() }, func(hit bool) {
			if hit {
				m.atCacheHits.Inc()
			} else {
				m.atCacheMisses.Inc()
			}
		})
		s.levelsAt = s.atCache.get
	}
}
