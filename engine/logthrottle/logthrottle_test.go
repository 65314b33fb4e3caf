package logthrottle_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine/logthrottle"
)

func TestLimiter(t *testing.T) {
	start := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name           string
		after          time.Duration
		reset          bool
		wantOK         bool
		wantSuppressed int
	}{
		{name: "first passes", after: 0, wantOK: true},
		{name: "within the interval is held", after: time.Second, wantOK: false},
		{name: "still within", after: 9 * time.Second, wantOK: false},
		{name: "after the interval passes with the count", after: 10 * time.Second, wantOK: true, wantSuppressed: 2},
		{name: "count starts over", after: 11 * time.Second, wantOK: false},
		{name: "after a reset the next passes at once", after: 12 * time.Second, reset: true, wantOK: true},
		{name: "and the interval starts from it", after: 13 * time.Second, wantOK: false},
	}
	l := logthrottle.New(10 * time.Second)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.reset {
				require.Equal(t, 1, l.Reset(), "the line held back since the last one")
			}
			ok, suppressed := l.Allow(start.Add(tc.after))
			require.Equal(t, tc.wantOK, ok)
			require.Equal(t, tc.wantSuppressed, suppressed)
		})
	}
}

// An outage of many retries, one every 200 ms for ten minutes, lets one line
// through per interval, and the lines let through account for every retry.
func TestLimiterBoundsAnOutage(t *testing.T) {
	l := logthrottle.New(30 * time.Second)
	start := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	const retries = 3000
	logged, counted := 0, 0
	for i := range retries {
		if ok, suppressed := l.Allow(start.Add(time.Duration(i) * 200 * time.Millisecond)); ok {
			logged++
			counted += 1 + suppressed
		}
	}
	require.Equal(t, 20, logged, "ten minutes at one line per 30 s")
	require.Equal(t, retries-l.Reset(), counted)
}
