// Package logthrottle keeps a log line that repeats — the same failure at
// every retry of a loop, a broker or ClickHouse away for minutes — to one
// per interval, and counts the lines it held back, so that an outage shows in
// the log without filling it. The consumer's reads and writes, the alert
// manager's and the outbox's stores use it.
//
// It leaves out what to log and at which level: the caller logs, with the
// count of lines held back that Allow returns, under the key "suppressed".
package logthrottle

import (
	"sync"
	"time"
)

// Limiter lets one line through per interval and counts the others. It is
// safe for concurrent use; the zero value lets every line through.
type Limiter struct {
	interval time.Duration

	mu         sync.Mutex
	next       time.Time
	suppressed int
}

// New returns a Limiter that lets one line through per interval.
func New(interval time.Duration) *Limiter { return &Limiter{interval: interval} }

// Allow reports whether a line may be logged at now: the first one, and then
// the first at least an interval after the last let through. When it may,
// suppressed is the number of lines held back since the last one.
func (l *Limiter) Allow(now time.Time) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.next) {
		l.suppressed++
		return false, 0
	}
	suppressed, l.suppressed = l.suppressed, 0
	l.next = now.Add(l.interval)
	return true, suppressed
}

// Reset lets the next line through whenever it comes, as after the end of
// an outage, and returns the number of lines held back since the last one
// let through.
func (l *Limiter) Reset() (suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	suppressed, l.suppressed = l.suppressed, 0
	l.next = time.Time{}
	return suppressed
}
