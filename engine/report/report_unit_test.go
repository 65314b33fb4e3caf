package report_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine/report"
)

func TestPeriods(t *testing.T) {
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, shanghai) }
	run := time.Date(2026, 3, 2, 7, 30, 0, 0, shanghai) // a Monday
	for _, c := range []struct {
		kind     report.Kind
		from, to time.Time
	}{
		{report.KindDaily, d(2026, 3, 1), d(2026, 3, 2)},
		{report.KindWeekly, d(2026, 2, 23), d(2026, 3, 2)},
		{report.KindMonthly, d(2026, 2, 1), d(2026, 3, 1)},
	} {
		from, to := report.Previous(c.kind, run, shanghai)
		require.Equal(t, c.from, from, c.kind)
		require.Equal(t, c.to, to, c.kind)
	}
	// A run just after midnight UTC is already the next day in Shanghai.
	from, _ := report.Previous(report.KindDaily, time.Date(2026, 12, 31, 16, 30, 0, 0, time.UTC), shanghai)
	require.Equal(t, d(2026, 12, 31), from)
	// Sunday belongs to the week that began on Monday.
	from, to := report.Period(report.KindWeekly, d(2026, 11, 29), shanghai)
	require.Equal(t, d(2026, 11, 23), from)
	require.Equal(t, d(2026, 11, 30), to)
}

func TestSpecValidate(t *testing.T) {
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, shanghai)
	ok := report.Spec{Kind: report.KindCustom, Scope: report.Scope{District: "南湖区"}, From: from, To: from.AddDate(0, 1, 0)}
	require.NoError(t, ok.Validate())
	for name, c := range map[string]struct {
		spec report.Spec
		want string
	}{
		"no scope":  {report.Spec{Kind: report.KindDaily, From: from, To: from.AddDate(0, 0, 1)}, "a district or a school"},
		"both":      {report.Spec{Kind: report.KindDaily, Scope: report.Scope{District: "南湖区", School: "x"}, From: from, To: from.AddDate(0, 0, 1)}, "not both"},
		"backwards": {report.Spec{Kind: report.KindDaily, Scope: report.Scope{District: "南湖区"}, From: from, To: from.AddDate(0, 0, -1)}, "before it begins"},
		"too long":  {report.Spec{Kind: report.KindCustom, Scope: report.Scope{District: "南湖区"}, From: from, To: from.AddDate(2, 0, 0)}, "at most 400 days"},
		"bad kind":  {report.Spec{Kind: "hourly", Scope: report.Scope{District: "南湖区"}, From: from, To: from.AddDate(0, 0, 1)}, "unknown report kind"},
		"no period": {report.Spec{Kind: report.KindDaily, Scope: report.Scope{District: "南湖区"}}, "needs a period"},
	} {
		require.ErrorContains(t, c.spec.Validate(), c.want, name)
	}
}

func TestDurationText(t *testing.T) {
	for d, want := range map[time.Duration]string{
		40 * time.Second:              "40秒",
		12 * time.Minute:              "12分钟",
		5*time.Hour + 20*time.Minute:  "5小时20分",
		2 * time.Hour:                 "2小时",
		76 * time.Hour:                "3天4小时",
		48*time.Hour + 30*time.Minute: "2天",
	} {
		require.Equal(t, want, report.DurationText(d))
	}
}
