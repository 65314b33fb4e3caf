package api

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// Bounds of the rate limiter's memory.
const (
	// maxRateCallers is how many callers' buckets are kept at most; past
	// it, the bucket used least recently is dropped.
	maxRateCallers = 10_000
	// rateSweepInterval is how often buckets that have refilled, which
	// are the same as none, are dropped.
	rateSweepInterval = time.Minute
)

// rateLimiter is a token bucket per caller: each caller may make burst
// requests at once and rate per second on average. It is safe for
// concurrent use. Its memory is bounded: a bucket that has refilled is
// forgotten (it would start full anyway), and at most max are kept.
type rateLimiter struct {
	rate  float64 // tokens per second
	burst float64
	max   int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

// bucket holds a caller's tokens as they were at last.
type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(rate float64, burst int, now func() time.Time) *rateLimiter {
	return &rateLimiter{rate: rate, burst: float64(burst), max: maxRateCallers, now: now, buckets: map[string]*bucket{}}
}

// tokensAt returns how many tokens b holds at now.
func (l *rateLimiter) tokensAt(b *bucket, now time.Time) float64 {
	if d := now.Sub(b.last); d > 0 {
		return math.Min(l.burst, b.tokens+d.Seconds()*l.rate)
	}
	return b.tokens
}

// allow takes a token from the bucket of key. When there is none, it
// returns false and how long until there is one.
func (l *rateLimiter) allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) >= rateSweepInterval {
		l.sweep(now)
	}
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= l.max {
			l.sweep(now)
			if len(l.buckets) >= l.max {
				l.dropLeastRecent()
			}
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens, b.last = l.tokensAt(b, now), now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// sweep drops the buckets that have refilled by now. l.mu is held.
func (l *rateLimiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if l.tokensAt(b, now) >= l.burst {
			delete(l.buckets, k)
		}
	}
	l.swept = now
}

// dropLeastRecent drops the bucket used least recently. l.mu is held.
func (l *rateLimiter) dropLeastRecent() {
	var oldest string
	var at time.Time
	for k, b := range l.buckets {
		if at.IsZero() || b.last.Before(at) {
			oldest, at = k, b.last
		}
	}
	delete(l.buckets, oldest)
}

// callers returns how many buckets are kept.
func (l *rateLimiter) callers() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// rateLimit is the middleware of the limited routes: a request over its
// caller's rate is answered 429 with Retry-After. It runs after the scope
// (and authentication), so that the caller key can name the token.
func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	if s.rate == nil {
		return next
	}
	return func(c echo.Context) error {
		ok, wait := s.rate.allow(s.callerKey(c))
		if ok {
			return next(c)
		}
		s.limitMetrics.rateLimited.WithLabelValues(c.Path()).Inc()
		c.Response().Header().Set("Retry-After", retryAfter(wait))
		return httpError(http.StatusTooManyRequests,
			"too many requests: at most %g a second on average and %d at once; try again in %s",
			s.limits.RateLimit, s.limits.RateBurst, retryAfter(wait)+"s")
	}
}

// retryAfter returns d as the seconds of a Retry-After header: rounded up,
// at least 1.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// defaultCallerKey is the caller key when Options.CallerKey is nil: the
// token's name once authentication has named the caller, otherwise the
// peer's address (echo.ExtractIPDirect; no proxy header is trusted).
func defaultCallerKey(c echo.Context) string {
	if id, ok := IdentityFrom(c.Request().Context()); ok && id.Name != "" {
		return "token:" + id.Name
	}
	return "ip:" + c.RealIP()
}

// limitedBy returns the middleware that runs first, then s.rateLimit: the
// scope (and authentication) decides before the limiter counts.
func (s *Server) limitedBy(first echo.MiddlewareFunc) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc { return first(s.rateLimit(next)) }
}
