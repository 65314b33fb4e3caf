package rules

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// day is noon of a day in Asia/Shanghai.
func day(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04 -0700", s+" 12:00 +0800")
	if err != nil {
		panic(err)
	}
	return t
}

// parseCal parses src, the body of a `calendar:` mapping.
func parseCal(t *testing.T, src string) (*Calendar, []error) {
	t.Helper()
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(src), &doc))
	return parseCalendar(&File{Name: "calendar.yaml"}, doc.Content[0])
}

func TestShippedCalendarSchoolDays(t *testing.T) {
	set, errs := Default()
	require.Empty(t, errs)
	cal := set.Calendar()
	tests := []struct {
		name   string
		day    string
		school bool
	}{
		{name: "an ordinary Monday in term", day: "2026-11-02", school: true},
		{name: "an ordinary Saturday in term", day: "2026-11-07", school: false},
		{name: "New Year's Day", day: "2026-01-01", school: false},
		{name: "the New Year make-up Sunday", day: "2026-01-04", school: true},
		{name: "a make-up Saturday of the Spring Festival in the winter vacation", day: "2026-02-14", school: false},
		{name: "the other one, also in the vacation", day: "2026-02-28", school: false},
		{name: "the first day of the spring term", day: "2026-03-04", school: true},
		{name: "Qingming, a Monday", day: "2026-04-06", school: false},
		{name: "Labour Day holiday, a Tuesday", day: "2026-05-05", school: false},
		{name: "the Labour Day make-up Saturday", day: "2026-05-09", school: true},
		{name: "Dragon Boat Festival, a Friday", day: "2026-06-19", school: false},
		{name: "the last day of the spring term, a Saturday", day: "2026-07-04", school: false},
		{name: "a weekday of the summer vacation", day: "2026-08-12", school: false},
		{name: "the National Day make-up Sunday", day: "2026-09-20", school: true},
		{name: "Mid-Autumn holiday, a Friday", day: "2026-09-25", school: false},
		{name: "National Day", day: "2026-10-01", school: false},
		{name: "the last day of the National Day holiday, a Wednesday", day: "2026-10-07", school: false},
		{name: "the National Day make-up Saturday", day: "2026-10-10", school: true},
		{name: "the last covered day, a Thursday", day: "2026-12-31", school: true},
		{name: "beyond coverage a weekday in a term is still guessed a school day", day: "2027-01-04", school: true},
		{name: "beyond the last term", day: "2027-03-01", school: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.school, cal.SchoolDay(day(tt.day)))
		})
	}
	require.Equal(t, Date{2026, 12, 31}, cal.CoversUntil)
}

func TestCalendarAbsenceViewEndsAtCoverage(t *testing.T) {
	cal, errs := parseCal(t, "covers_until: 2026-12-31\nholidays: [{from: 2026-10-01, to: 2026-10-07, name: 国庆节, work: [2026-10-10]}]\nschool_days: [2027-01-09]\n")
	require.Empty(t, errs)
	strict := cal.absence()
	tests := []struct {
		name           string
		day            string
		school, strict bool
	}{
		{name: "a covered weekday", day: "2026-12-31", school: true, strict: true},
		{name: "a covered holiday", day: "2026-10-01", school: false, strict: false},
		{name: "a covered make-up day", day: "2026-10-10", school: true, strict: true},
		{name: "an uncovered weekday", day: "2027-01-04", school: true, strict: false},
		{name: "an uncovered make-up day", day: "2027-01-09", school: true, strict: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.school, cal.SchoolDay(day(tt.day)), "schoolDay")
			require.Equal(t, tt.strict, strict.SchoolDay(day(tt.day)), "schoolDay in absent.on")
			require.Equal(t, tt.strict, classTime(strict, day(tt.day).Add(-2*time.Hour)), "classTime in absent.on at 10:00")
		})
	}
	require.False(t, cal.strict, "the view is a copy")
}

func TestCalendarCoverage(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		until Date
		// days covered after each of these days
		days map[string]float64
	}{
		{
			name: "covers_until given", src: "covers_until: 2026-12-31\nholidays: [{from: 2027-01-01, to: 2027-01-01}]\n",
			until: Date{2026, 12, 31},
			days:  map[string]float64{"2026-12-01": 30, "2026-12-02": 29, "2026-12-31": 0, "2027-01-02": -2, "2025-12-31": 365},
		},
		{
			name: "derived from the last day named", src: "terms: [{from: 2026-09-01, to: 2027-01-29}]\nholidays: [{from: 2026-10-01, to: 2026-10-07, work: [2027-02-06]}]\n",
			until: Date{2027, 2, 6},
			days:  map[string]float64{"2027-01-07": 30},
		},
		{
			name: "a calendar naming no day has no end", src: "summer_months: [6]\n",
			days: map[string]float64{"2030-01-01": math.Inf(1)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cal, errs := parseCal(t, tt.src)
			require.Empty(t, errs)
			require.Equal(t, tt.until, cal.CoversUntil)
			for d, want := range tt.days {
				require.Equal(t, want, cal.CoveredDays(day(d)), d)
				// Any time of the day counts as the day, in Asia/Shanghai.
				require.Equal(t, want, cal.CoveredDays(day(d).Add(-12*time.Hour)), d+" 00:00")
				require.Equal(t, want, cal.CoveredDays(day(d).Add(12*time.Hour-time.Second)), d+" 23:59:59")
			}
		})
	}
}

func TestCalendarErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "a bad covers_until",
			src:  "covers_until: end of 2026\n",
			want: []string{`calendar.yaml:1:15: calendar: "end of 2026" is not a date, expected YYYY-MM-DD`},
		},
		{
			name: "work is for holidays only",
			src:  "terms:\n  - {from: 2026-09-01, to: 2027-01-29, work: [2026-09-20]}\n",
			want: []string{`calendar.yaml:2:40: calendar: unknown key "work", expected from, to or name`},
		},
		{
			name: "a bad make-up day and a holiday without an end, both reported",
			src:  "holidays:\n  - {from: 2026-10-01, name: 国庆节, work: [2026-10-32]}\n",
			want: []string{
				`calendar.yaml:2:42: calendar: "2026-10-32" is not a date, expected YYYY-MM-DD`,
				`calendar.yaml:2:5: calendar: expected both from and to`,
			},
		},
		{
			name: "make-up days not a list",
			src:  "school_days: 2026-09-20\n",
			want: []string{`calendar.yaml:1:14: calendar: expected a list of dates YYYY-MM-DD`},
		},
		{
			name: "an unknown key names covers_until",
			src:  "covered_until: 2026-12-31\n",
			want: []string{`calendar.yaml:1:1: calendar: unknown key "covered_until", expected terms, holidays, school_days, covers_until or summer_months`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := parseCal(t, tt.src)
			var got []string
			for _, err := range errs {
				got = append(got, err.Error())
			}
			require.Equal(t, tt.want, got)
		})
	}
}
