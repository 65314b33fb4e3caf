package event

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

// timeZones are the zones parseRFC3339 is compared in: time.Parse gives
// the local zone to a time whose offset it has at that instant.
func timeZones(t testing.TB) []*time.Location {
	zones := []*time.Location{time.Local, time.UTC, engine.Shanghai, time.FixedZone("IST", 5*3600+1800), time.FixedZone("", -7*3600)}
	if ny, err := time.LoadLocation("America/New_York"); err == nil {
		zones = append(zones, ny) // offsets that change with the date
	} else {
		t.Logf("no America/New_York: %v", err)
	}
	return zones
}

// checkRFC3339 fails t unless parseRFC3339 either declines s or returns
// exactly what time.ParseInLocation(time.RFC3339Nano, s, loc) returns.
func checkRFC3339(t testing.TB, s string, loc *time.Location) (fast bool) {
	t.Helper()
	got, ok := parseRFC3339(s, loc)
	want, err := time.ParseInLocation(time.RFC3339Nano, s, loc)
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("parseRFC3339(%q) = %v, time.Parse fails: %v", s, got, err)
	}
	gotName, gotOff := got.Zone()
	wantName, wantOff := want.Zone()
	// A zone fixed at an offset of part of an hour is a new *Location
	// each time: compare it by what it says.
	sameLoc := got.Location() == want.Location() ||
		(got.Location().String() == want.Location().String() && gotName == wantName && gotOff == wantOff)
	if !got.Equal(want) || !sameLoc || got.Format(time.RFC3339Nano) != want.Format(time.RFC3339Nano) ||
		(got.Location() == want.Location() && got != want) {
		t.Fatalf("parseRFC3339(%q) in %s = %v (%s %d), time.Parse gives %v (%s %d)", s, loc, got, gotName, gotOff, want, wantName, wantOff)
	}
	return true
}

func TestParseRFC3339(t *testing.T) {
	tests := []struct {
		name string
		in   string
		fast bool // read without time.Parse
	}{
		{"UTC", "2026-11-25T09:12:00Z", true},
		{"offset", "2026-11-25T09:12:00+08:00", true},
		{"negative offset", "2026-11-25T09:12:00-05:00", true},
		{"part-hour offset", "2026-11-25T09:12:00+05:30", true},
		{"milliseconds", "2026-11-25T09:12:00.500+08:00", true},
		{"one digit of fraction", "2026-11-25T09:12:00.5Z", true},
		{"nanoseconds", "2026-11-25T09:12:00.123456789+08:00", true},
		{"ten digits of fraction", "2026-11-25T09:12:00.1234567891+08:00", false},
		{"period without digits", "2026-11-25T09:12:00.+08:00", false},
		{"comma", "2026-11-25T09:12:00,5+08:00", false},
		{"leap day", "2024-02-29T00:00:00Z", true},
		{"not a leap day", "2026-02-29T00:00:00Z", false},
		{"not a leap century", "2100-02-29T00:00:00Z", false},
		{"leap century", "2000-02-29T23:59:59.999999999Z", true},
		{"day 31 of a month of 30", "2026-11-31T00:00:00Z", false},
		{"month 13", "2026-13-01T00:00:00Z", false},
		{"month 0", "2026-00-01T00:00:00Z", false},
		{"day 0", "2026-01-00T00:00:00Z", false},
		{"hour 24", "2026-01-01T24:00:00Z", false},
		{"minute 60", "2026-01-01T00:60:00Z", false},
		{"leap second", "2026-12-31T23:59:60Z", false},
		{"offset hour 24", "2026-01-01T00:00:00+24:00", false},
		{"offset minute 60", "2026-01-01T00:00:00+01:60", false},
		{"largest offset", "2026-01-01T00:00:00-23:59", true},
		{"year 0", "0000-01-01T00:00:00Z", true},
		{"year 0 March", "0000-03-01T00:00:00+01:00", true},
		{"year 9999", "9999-12-31T23:59:59.999999999-23:59", true},
		{"epoch", "1970-01-01T00:00:00Z", true},
		{"before the epoch", "1969-12-31T23:59:59.999Z", true},
		{"lower-case t", "2026-11-25t09:12:00Z", false},
		{"lower-case z", "2026-11-25T09:12:00z", false},
		{"space", "2026-11-25 09:12:00+08:00", false},
		{"no zone", "2026-11-25T09:12:00", false},
		{"short offset", "2026-11-25T09:12:00+0800", false},
		{"offset without colon", "2026-11-25T09:12:00+08000", false},
		{"trailing bytes", "2026-11-25T09:12:00Zx", false},
		{"one-digit hour", "2026-11-25T9:12:00Z", false},
		{"sign in a field", "2026-+1-25T09:12:00Z", false},
		{"date", "2026-11-25", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, loc := range timeZones(t) {
				if fast := checkRFC3339(t, tt.in, loc); fast != tt.fast {
					t.Fatalf("parseRFC3339(%q) in %s read it: %v, want %v", tt.in, loc, fast, tt.fast)
				}
			}
		})
	}
}

// TestParseRFC3339Random compares parseRFC3339 with time.Parse on times
// over the whole range of years, in every form it reads, and on the same
// strings with one byte changed.
func TestParseRFC3339Random(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	zones := timeZones(t)
	const alphabet = "0123456789-+:.TZtz ,"
	fast := 0
	for n := range 100000 {
		at := time.Unix(r.Int64N(253402300800+62135596800)-62135596800, r.Int64N(1e9)).UTC() // years 0001 to 9999
		if n%10 == 0 {
			at = time.Date(r.IntN(10000), time.Month(1+r.IntN(12)), 1+r.IntN(31), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1e9), time.UTC)
		}
		off := (r.IntN(48*60) - 24*60 + 1) * 60
		if n%3 == 0 {
			off = (r.IntN(27) - 12) * 3600
		}
		frac := r.IntN(11)
		layout := "2006-01-02T15:04:05"
		if frac > 0 {
			layout += "." + "000000000"[:min(frac, 9)]
		}
		layout += "Z07:00"
		s := at.In(time.FixedZone("", off)).Format(layout)
		if frac == 10 {
			s = s[:len("2006-01-02T15:04:05.000000000")] + fmt.Sprint(r.IntN(10)) + s[len("2006-01-02T15:04:05.000000000"):]
		}
		if n%4 == 0 && len(s) > 0 {
			b := []byte(s)
			b[r.IntN(len(b))] = alphabet[r.IntN(len(alphabet))]
			s = string(b)
		}
		if checkRFC3339(t, s, zones[n%len(zones)]) {
			fast++
		}
	}
	if fast < 50000 {
		t.Fatalf("parseRFC3339 read only %d of 100000 times", fast)
	}
}

func FuzzParseRFC3339(f *testing.F) {
	f.Add("2026-11-25T09:12:00.500+08:00", uint8(0))
	f.Add("2026-11-25T09:12:00Z", uint8(1))
	f.Add("2024-02-29T23:59:59.999999999-23:59", uint8(2))
	f.Add("0000-03-01T00:00:00+05:30", uint8(3))
	zones := timeZones(f)
	f.Fuzz(func(t *testing.T, s string, zone uint8) {
		checkRFC3339(t, s, zones[int(zone)%len(zones)])
	})
}
