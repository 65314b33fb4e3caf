package rules

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// calendarUntil is a calendar file covering until the given day.
func calendarUntil(day string) string { return "calendar:\n  covers_until: " + day + "\n" }

func TestManagerCalendarCoverage(t *testing.T) {
	tm := newTestManager(t, map[string]string{"visitor.yaml": visitorRules, "calendar.yaml": calendarUntil("2026-12-31")}, ManagerOptions{})
	// Start afresh at a known time: NewManager checked at the real one.
	now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	tm.now = func() time.Time { return now }
	tm.calendarWarned = time.Time{}
	before := len(tm.logs.records(t, calendarShortMsg))
	gauge := func() float64 { return testutil.ToFloat64(tm.metrics.calendarCoveredDays) }
	warnings := func() int { return len(tm.logs.records(t, calendarShortMsg)) - before }

	steps := []struct {
		name     string
		at       time.Time
		calendar string // when set, written and reloaded before the check
		days     float64
		warnings int // logged so far
	}{
		{name: "60 days ahead: no warning", at: now, days: 60},
		{name: "29 days ahead: a warning", at: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC), days: 29, warnings: 1},
		{name: "23 hours later: not again", at: time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC), days: 28, warnings: 1},
		{name: "a day later: again", at: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC), days: 28, warnings: 2},
		{name: "a new end of coverage, still short: at once", at: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC),
			calendar: calendarUntil("2026-12-20"), days: 17, warnings: 3},
		{name: "the next year added: no warning", at: time.Date(2026, 12, 3, 11, 0, 0, 0, time.UTC),
			calendar: calendarUntil("2027-12-31"), days: 393, warnings: 3},
		{name: "ended", at: time.Date(2028, 1, 2, 9, 0, 0, 0, time.UTC), days: -2, warnings: 4},
	}
	for _, s := range steps {
		now = s.at
		if s.calendar != "" {
			writeFile(t, tm.dir, "calendar.yaml", s.calendar)
			require.NoError(t, tm.Reload(), s.name)
		} else {
			tm.checkCalendar()
		}
		require.Equal(t, s.days, gauge(), s.name)
		require.Equal(t, s.warnings, warnings(), s.name)
	}
	last := tm.logs.records(t, calendarShortMsg)[before+3]
	require.Equal(t, "2027-12-31", last["covers_until"])
	require.Contains(t, last["detail"], "ended on 2027-12-31")

	require.NoError(t, testutil.GatherAndCompare(tm.reg, strings.NewReader(`
# HELP sanse_rules_calendar_covered_days Days after today that the running rule set's school calendar covers (covers_until); negative once it has ended, +Inf when it names no day. Below 30 it needs the next year's holidays and terms; beyond it absence checks are not run.
# TYPE sanse_rules_calendar_covered_days gauge
sanse_rules_calendar_covered_days -2
`), "sanse_rules_calendar_covered_days"))
}

func TestManagerCalendarWithoutEnd(t *testing.T) {
	tm := newTestManager(t, map[string]string{"visitor.yaml": visitorRules}, ManagerOptions{})
	require.True(t, math.IsInf(testutil.ToFloat64(tm.metrics.calendarCoveredDays), 1), "a calendar naming no day has no end")
	require.Empty(t, tm.logs.records(t, calendarShortMsg))
}
