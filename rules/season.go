package rules

import (
	"fmt"
	"strconv"
	"time"
)

// A season is a stretch of the year between two dates written MM-DD, both
// included, read in Asia/Shanghai: the flood season 04-15..10-15, the
// drowning season 05-01..09-30. It may run over the new year (11-01..03-31).
// Rules test it with season(t, from, to), usually with the dates as params.

// monthDay is a date of the year as month*100 + day (04-15 is 415), so that
// dates of the year compare as numbers.
type monthDay int

// parseMonthDay reads MM-DD. February 29 is accepted: it is in a season on
// the years that have it.
func parseMonthDay(s string) (monthDay, error) {
	bad := fmt.Errorf("%q is not a date of the year, expected MM-DD such as 04-15", s)
	if len(s) != 5 || s[2] != '-' {
		return 0, bad
	}
	m, err1 := strconv.Atoi(s[:2])
	d, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || m < 1 || m > 12 || d < 1 {
		return 0, bad
	}
	// 2024 is a leap year: the longest February.
	if d > time.Date(2024, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return 0, bad
	}
	return monthDay(m*100 + d), nil
}

// inSeason reports whether t's local date lies in the season from..to.
func inSeason(t time.Time, from, to monthDay) bool {
	l := local(t)
	md := monthDay(int(l.Month())*100 + l.Day())
	if from <= to {
		return md >= from && md <= to
	}
	return md >= from || md <= to
}

// seasonOf is the helper season(t, from, to) of the VM form.
func seasonOf(t time.Time, from, to string) (bool, error) {
	f, err := parseMonthDay(from)
	if err != nil {
		return false, fmt.Errorf("season: %w", err)
	}
	u, err := parseMonthDay(to)
	if err != nil {
		return false, fmt.Errorf("season: %w", err)
	}
	return inSeason(t, f, u), nil
}
