package api

import (
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// streamRetryAfter is the Retry-After of a stream refused for the number
// of streams open.
const streamRetryAfter = 30 * time.Second

// Reasons a live stream is refused, the values of the reason label of
// sanse_api_stream_refused_total.
const (
	streamsTotal  = "total"
	streamsCaller = "caller"
)

// streamLimiter counts the live streams open, in all and per caller. It is
// safe for concurrent use; a negative cap is no cap.
type streamLimiter struct {
	max, perCaller int

	mu       sync.Mutex
	open     int
	byCaller map[string]int
}

func newStreamLimiter(max, perCaller int) *streamLimiter {
	return &streamLimiter{max: max, perCaller: perCaller, byCaller: map[string]int{}}
}

// acquire counts a stream of key, or returns the reason it may not open.
func (l *streamLimiter) acquire(key string) (refused string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.max >= 0 && l.open >= l.max:
		return streamsTotal
	case l.perCaller >= 0 && l.byCaller[key] >= l.perCaller:
		return streamsCaller
	}
	l.open++
	l.byCaller[key]++
	return ""
}

// release uncounts a stream of key that acquire counted.
func (l *streamLimiter) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byCaller[key]--; l.byCaller[key] <= 0 {
		delete(l.byCaller, key)
	}
}

// limitStreams wraps the stream handler: a stream over the caps is answered
// 429 with Retry-After before anything is sent.
func (s *Server) limitStreams(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key := s.callerKey(c)
		if reason := s.streams.acquire(key); reason != "" {
			s.limitMetrics.streamsRefused.WithLabelValues(reason).Inc()
			c.Response().Header().Set("Retry-After", retryAfter(streamRetryAfter))
			if reason == streamsTotal {
				return httpError(http.StatusTooManyRequests, "too many live streams are open (%d); try again later", s.limits.MaxStreams)
			}
			return httpError(http.StatusTooManyRequests,
				"too many live streams of yours are open (at most %d); close one, or try again later", s.limits.MaxStreamsPerCaller)
		}
		defer s.streams.release(key)
		return next(c)
	}
}
