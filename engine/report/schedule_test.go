package report

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

// at returns a time in Shanghai.
func at(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, engine.Shanghai)
}

func day(y int, m time.Month, d int) time.Time { return at(y, m, d, 0, 0) }

func compile(t *testing.T, s ScheduleConfig) *Schedule {
	t.Helper()
	if !s.AllDistricts && len(s.Districts) == 0 && len(s.Schools) == 0 {
		s.AllDistricts = true
	}
	c := Config{Schedules: []ScheduleConfig{s}}
	list, err := c.Compile(nil)
	require.NoError(t, err)
	return list[0]
}

func TestDuePeriods(t *testing.T) {
	type period struct{ from, to, due time.Time }
	for _, tc := range []struct {
		name  string
		sched ScheduleConfig
		now   time.Time
		n     int
		want  []period
	}{
		{
			name:  "daily before its time today: yesterday's run was the day before's",
			sched: ScheduleConfig{Name: "d", Cron: "30 7 * * *", Kind: KindDaily},
			now:   at(2026, 12, 3, 7, 29), n: 2,
			want: []period{
				{day(2026, 11, 30), day(2026, 12, 1), at(2026, 12, 1, 7, 30)},
				{day(2026, 12, 1), day(2026, 12, 2), at(2026, 12, 2, 7, 30)},
			},
		},
		{
			name:  "daily at its time: the previous day is due",
			sched: ScheduleConfig{Name: "d", Cron: "30 7 * * *", Kind: KindDaily},
			now:   at(2026, 12, 3, 7, 30), n: 1,
			want: []period{{day(2026, 12, 2), day(2026, 12, 3), at(2026, 12, 3, 7, 30)}},
		},
		{
			name:  "daily across a month's end",
			sched: ScheduleConfig{Name: "d", Cron: "30 7 * * *", Kind: KindDaily},
			now:   at(2026, 3, 2, 8, 0), n: 3,
			want: []period{
				{day(2026, 2, 27), day(2026, 2, 28), at(2026, 2, 28, 7, 30)},
				{day(2026, 2, 28), day(2026, 3, 1), at(2026, 3, 1, 7, 30)},
				{day(2026, 3, 1), day(2026, 3, 2), at(2026, 3, 2, 7, 30)},
			},
		},
		{
			name:  "a daily report fired every hour is still one per day",
			sched: ScheduleConfig{Name: "d", Cron: "0 * * * *", Kind: KindDaily},
			now:   at(2026, 12, 3, 15, 10), n: 2,
			want: []period{
				{day(2026, 12, 1), day(2026, 12, 2), at(2026, 12, 2, 0, 0)},
				{day(2026, 12, 2), day(2026, 12, 3), at(2026, 12, 3, 0, 0)},
			},
		},
		{
			name:  "weekly on Monday: the previous Monday to Sunday",
			sched: ScheduleConfig{Name: "w", Cron: "0 8 * * 1", Kind: KindWeekly},
			now:   at(2026, 12, 9, 12, 0), n: 2, // a Wednesday
			want: []period{
				{day(2026, 11, 23), day(2026, 11, 30), at(2026, 11, 30, 8, 0)},
				{day(2026, 11, 30), day(2026, 12, 7), at(2026, 12, 7, 8, 0)},
			},
		},
		{
			name:  "weekly across the year's end",
			sched: ScheduleConfig{Name: "w", Cron: "0 8 * * 1", Kind: KindWeekly},
			now:   at(2027, 1, 4, 8, 0), n: 1, // a Monday
			want: []period{{day(2026, 12, 28), day(2027, 1, 4), at(2027, 1, 4, 8, 0)}},
		},
		{
			name:  "monthly through February of a leap year",
			sched: ScheduleConfig{Name: "m", Cron: "0 9 1 * *", Kind: KindMonthly},
			now:   at(2028, 3, 15, 0, 0), n: 3,
			want: []period{
				{day(2027, 12, 1), day(2028, 1, 1), at(2028, 1, 1, 9, 0)},
				{day(2028, 1, 1), day(2028, 2, 1), at(2028, 2, 1, 9, 0)},
				{day(2028, 2, 1), day(2028, 3, 1), at(2028, 3, 1, 9, 0)},
			},
		},
		{
			name:  "a monthly report fired every day is still one per month",
			sched: ScheduleConfig{Name: "m", Cron: "0 6 * * *", Kind: KindMonthly},
			now:   at(2026, 5, 20, 0, 0), n: 2,
			want: []period{
				{day(2026, 3, 1), day(2026, 4, 1), at(2026, 4, 1, 6, 0)},
				{day(2026, 4, 1), day(2026, 5, 1), at(2026, 5, 1, 6, 0)},
			},
		},
		{
			name:  "@monthly",
			sched: ScheduleConfig{Name: "m", Cron: "@monthly", Kind: KindMonthly},
			now:   at(2026, 1, 1, 0, 0), n: 1,
			want: []period{{day(2025, 12, 1), day(2026, 1, 1), at(2026, 1, 1, 0, 0)}},
		},
		{
			name:  "catch-up is bounded to the last n periods",
			sched: ScheduleConfig{Name: "d", Cron: "30 7 * * *", Kind: KindDaily},
			now:   at(2026, 12, 31, 23, 0), n: 7,
			want: []period{
				{day(2026, 12, 24), day(2026, 12, 25), at(2026, 12, 25, 7, 30)},
				{day(2026, 12, 25), day(2026, 12, 26), at(2026, 12, 26, 7, 30)},
				{day(2026, 12, 26), day(2026, 12, 27), at(2026, 12, 27, 7, 30)},
				{day(2026, 12, 27), day(2026, 12, 28), at(2026, 12, 28, 7, 30)},
				{day(2026, 12, 28), day(2026, 12, 29), at(2026, 12, 29, 7, 30)},
				{day(2026, 12, 29), day(2026, 12, 30), at(2026, 12, 30, 7, 30)},
				{day(2026, 12, 30), day(2026, 12, 31), at(2026, 12, 31, 7, 30)},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := compile(t, tc.sched)
			var got []period
			// The clock of the caller may be in any zone.
			for _, p := range s.Due(tc.now.UTC(), tc.n, engine.Shanghai) {
				got = append(got, period{p.From, p.To, p.Due})
			}
			require.Len(t, got, len(tc.want))
			for i := range tc.want {
				require.True(t, tc.want[i].from.Equal(got[i].from), "period %d from: want %s, got %s", i, tc.want[i].from, got[i].from)
				require.True(t, tc.want[i].to.Equal(got[i].to), "period %d to: want %s, got %s", i, tc.want[i].to, got[i].to)
				require.True(t, tc.want[i].due.Equal(got[i].due), "period %d due: want %s, got %s", i, tc.want[i].due, got[i].due)
			}
		})
	}
}

// TestDuePeriodsInAnotherZone checks that periods are local days of the
// configured zone, also across a daylight-saving change there.
func TestDuePeriodsInAnotherZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	s := compile(t, ScheduleConfig{Name: "d", Cron: "30 7 * * *", Kind: KindDaily})
	// The night of 2026-03-29 has 23 hours in Berlin.
	got := s.Due(time.Date(2026, 3, 30, 8, 0, 0, 0, berlin), 1, berlin)
	require.Len(t, got, 1)
	require.Equal(t, time.Date(2026, 3, 29, 0, 0, 0, 0, berlin), got[0].From)
	require.Equal(t, time.Date(2026, 3, 30, 0, 0, 0, 0, berlin), got[0].To)
	require.Equal(t, 23*time.Hour, got[0].To.Sub(got[0].From))
}

func TestRunKeysAndIDs(t *testing.T) {
	s := compile(t, ScheduleConfig{Name: "district-daily", Cron: "30 7 * * *", Kind: KindDaily})
	r := Run{Schedule: s, Spec: Spec{Kind: KindDaily, Scope: Scope{District: "南湖区"}, From: day(2026, 12, 3), To: day(2026, 12, 4)}}
	require.Equal(t, "district-daily/daily/district:南湖区/2026-12-03", r.Key())
	// The key reads the same from a time in another zone.
	utc := r
	utc.Spec.From = utc.Spec.From.In(engine.Shanghai)
	require.Equal(t, r.Key(), utc.Key())
	require.Equal(t, "ra556c47a1e1d8e3d9441", IDForKey(r.Key()), "every instance, every release names a run's report alike")
	require.NotEqual(t, IDForKey(r.Key()), IDForKey("district-daily/daily/district:秀洲区/2026-12-03"))
	require.Regexp(t, `^r[0-9a-f]{20}$`, IDForKey(r.Key()))
	a, b := NewID(), NewID()
	require.NotEqual(t, a, b)
}

func TestScopes(t *testing.T) {
	reg := testRegistry(t)
	all := compile(t, ScheduleConfig{Name: "a", Cron: "@daily", Kind: KindDaily, AllDistricts: true})
	require.Equal(t, []Scope{{District: "南湖区"}, {District: "秀洲区"}}, all.Scopes(reg))
	listed := compile(t, ScheduleConfig{Name: "b", Cron: "@daily", Kind: KindDaily, Schools: []string{"XZ-1", "NH-1", "XZ-1"}})
	require.Equal(t, []Scope{{School: "XZ-1"}, {School: "NH-1"}}, listed.Scopes(reg), "each once, in order")
	require.True(t, KnownScope(reg, Scope{School: "NH-2"}))
	require.False(t, KnownScope(reg, Scope{District: "嘉善县"}))
}
