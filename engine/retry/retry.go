// Package retry is the one backoff of the program: how long to wait before
// the next attempt of a write or a delivery, and a loop that keeps trying
// until an attempt succeeds, the attempts run out or the context is done.
//
// It leaves out what a failure means (permanent or not) and what to log:
// callers decide those through Do's notify function.
package retry

import (
	"context"
	"time"
)

// Backoff doubles the wait after each failed attempt, from Initial up to Max.
type Backoff struct {
	// Initial is the wait after the first failure.
	Initial time.Duration
	// Max bounds every wait.
	Max time.Duration
	// Attempts bounds the number of attempts Do makes; 0 means no bound.
	Attempts int
}

// Delay returns the wait after the given failed attempt (1 for the first):
// Initial doubled attempt-1 times, at most Max.
func (b Backoff) Delay(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := b.Initial << min(attempt-1, 30)
	if d > b.Max || d <= 0 {
		return b.Max
	}
	return d
}

// Do calls fn until it returns nil, the attempts run out (then it returns
// fn's last error) or ctx is done (then it returns the context's cause,
// without calling fn again). After each failure that will be tried again it
// calls notify, when not nil, with the attempt's number, the wait before the
// next one and the error.
func Do(ctx context.Context, b Backoff, fn func(context.Context) error, notify func(attempt int, wait time.Duration, err error)) error {
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if b.Attempts > 0 && attempt >= b.Attempts {
			return err
		}
		wait := b.Delay(attempt)
		if notify != nil {
			notify(attempt, wait, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-t.C:
		}
	}
}
