package rules

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

func TestSeason(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, engine.Shanghai)
		require.NoError(t, err)
		return v
	}
	tests := []struct {
		name     string
		t        time.Time
		from, to string
		want     bool
	}{
		{name: "the first day is in", t: at("2026-04-15 00:00"), from: "04-15", to: "10-15", want: true},
		{name: "the last day is in", t: at("2026-10-15 23:59"), from: "04-15", to: "10-15", want: true},
		{name: "the day before is out", t: at("2026-04-14 23:59"), from: "04-15", to: "10-15"},
		{name: "the day after is out", t: at("2026-10-16 00:00"), from: "04-15", to: "10-15"},
		{name: "read in Asia/Shanghai", t: at("2026-04-15 07:00").UTC(), from: "04-15", to: "10-15", want: true},
		{name: "May is in the drowning season", t: at("2026-05-01 08:00"), from: "05-01", to: "09-30", want: true},
		{name: "October is not", t: at("2026-10-01 08:00"), from: "05-01", to: "09-30"},
		{name: "over the new year, January is in", t: at("2027-01-10 08:00"), from: "11-01", to: "03-31", want: true},
		{name: "over the new year, June is out", t: at("2027-06-10 08:00"), from: "11-01", to: "03-31"},
		{name: "a leap day", t: at("2028-02-29 08:00"), from: "02-29", to: "02-29", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := seasonOf(tt.t, tt.from, tt.to)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParseMonthDay(t *testing.T) {
	for _, s := range []string{"4-15", "04/15", "13-01", "00-10", "04-31", "02-30", "04-00", "aa-bb", "04-15x"} {
		_, err := parseMonthDay(s)
		require.Error(t, err, s)
	}
	md, err := parseMonthDay("10-15")
	require.NoError(t, err)
	require.Equal(t, monthDay(1015), md)
}

// TestSeasonParamChecked checks that a season date that is not MM-DD is a
// load error located in the file, not a failure at every event.
func TestSeasonParamChecked(t *testing.T) {
	f, perrs := ParseFile("bad.yaml", []byte(`params:
  flood_from: "4-15"
rules:
  - id: drowning.bad_season
    source: drowning
    type: weather
    when: season(event.occurred_at, params.flood_from, "10-15")
    level: medium
    title: t
`))
	require.Empty(t, perrs)
	_, errs := Compile(f)
	require.Len(t, errs, 1)
	require.Contains(t, errs[0].Error(), `bad.yaml:7:`)
	require.Contains(t, errs[0].Error(), `"4-15" is not a date of the year`)
}
