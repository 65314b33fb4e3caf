package ingest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSometimes(t *testing.T) {
	start := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name           string
		after          time.Duration
		wantOK         bool
		wantSuppressed int
	}{
		{name: "first passes", after: 0, wantOK: true},
		{name: "within the interval is held", after: time.Second, wantOK: false},
		{name: "still within", after: 9 * time.Second, wantOK: false},
		{name: "after the interval passes with the count", after: 10 * time.Second, wantOK: true, wantSuppressed: 2},
		{name: "count starts over", after: 11 * time.Second, wantOK: false},
	}
	s := sometimes{interval: 10 * time.Second}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, suppressed := s.allow(start.Add(tc.after))
			require.Equal(t, tc.wantOK, ok)
			require.Equal(t, tc.wantSuppressed, suppressed)
		})
	}
}

func TestOffsetsAdvance(t *testing.T) {
	tests := []struct {
		name      string
		partition int
		next      int64
		want      map[string]map[int]int64
	}{
		{name: "first offset", partition: 0, next: 5, want: map[string]map[int]int64{"t": {0: 5}}},
		{name: "forward", partition: 0, next: 9, want: map[string]map[int]int64{"t": {0: 9}}},
		{name: "never back", partition: 0, next: 7, want: map[string]map[int]int64{"t": {0: 9}}},
		{name: "other partition", partition: 1, next: 1, want: map[string]map[int]int64{"t": {0: 9, 1: 1}}},
	}
	o := offsets{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o.advance("t", tc.partition, tc.next)
			require.Equal(t, tc.want, map[string]map[int]int64(o))
		})
	}
}
