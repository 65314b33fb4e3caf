package alert

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

func shanghai(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.ParseInLocation("2006-01-02 15:04", s, engine.Shanghai)
	require.NoError(t, err)
	return tm
}

func TestQuietHours(t *testing.T) {
	night := []QuietHours{{Start: "22:00", End: "07:00"}}
	lunch := []QuietHours{{Start: "12:00", End: "13:30"}}
	for _, tc := range []struct {
		name  string
		hours []QuietHours
		at    string
		until string // "" when not quiet
	}{
		{name: "a minute before the night", hours: night, at: "2026-11-25 21:59"},
		{name: "the night starts", hours: night, at: "2026-11-25 22:00", until: "2026-11-26 07:00"},
		{name: "after midnight", hours: night, at: "2026-11-26 03:30", until: "2026-11-26 07:00"},
		{name: "the night ends", hours: night, at: "2026-11-26 07:00"},
		{name: "midday", hours: night, at: "2026-11-26 12:00"},
		{name: "within a span of one day", hours: lunch, at: "2026-11-25 12:10", until: "2026-11-25 13:30"},
		{name: "the second of two spans", hours: append(night, lunch...), at: "2026-11-25 13:00", until: "2026-11-25 13:30"},
		{name: "an empty span is never quiet", hours: []QuietHours{{Start: "08:00", End: "08:00"}}, at: "2026-11-25 08:00"},
		{name: "none", at: "2026-11-25 23:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, until := quiet(tc.hours, shanghai(t, tc.at))
			require.Equal(t, tc.until != "", q)
			if q {
				require.True(t, until.Equal(shanghai(t, tc.until)), "until %s", until)
			}
		})
	}
}
