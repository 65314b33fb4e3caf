package store

import (
	"math"
	"time"
)

// maxDateTime is the last second a DateTime column holds.
const maxDateTime = math.MaxUint32

// dateTime returns t in seconds clamped to what a DateTime column holds, so
// that a far past or future time is stored at the nearest end instead of
// wrapping around. The exact time lives in the *_ms column; queries clamp
// their bounds the same way, so comparisons stay right.
func dateTime(t time.Time) int64 {
	return clampSeconds(t.Unix())
}

func clampSeconds(sec int64) int64 {
	return min(max(sec, 0), maxDateTime)
}

// millis returns t as unix milliseconds, 0 for the zero time.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMillis is the inverse of millis; times come back in UTC.
func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
