package event

import "time"

// Reading occurred_at without time.Parse. Every producer sends RFC 3339
// (2026-11-25T09:12:00.500+08:00), and time.Parse spends most of its time
// on it in time.Date; this path reads that form with plain arithmetic and
// returns what time.Parse(time.RFC3339Nano, s) returns, location included.
// Anything else (other forms, out-of-range fields, more than nine digits of
// fraction) is left to time.Parse.

// parseRFC3339 returns the time s holds, as time.ParseInLocation(
// time.RFC3339Nano, s, local) returns it (time.Parse is local time.Local),
// or false when s is not in the one form it reads: a four-digit year,
// two-digit month, day, hour, minute and second, an optional fraction of one
// to nine digits after a period, and Z or an offset ±hh:mm.
func parseRFC3339(s string, local *time.Location) (time.Time, bool) {
	const base = len("2006-01-02T15:04:05")
	if len(s) < base+1 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := digits4(s[0:4])
	month, ok2 := digits2(s[5:7])
	day, ok3 := digits2(s[8:10])
	hour, ok4 := digits2(s[11:13])
	minute, ok5 := digits2(s[14:16])
	sec, ok6 := digits2(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > daysInMonth(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	rest := s[base:]
	nsec := 0
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && isDigit(rest[n]) {
			nsec = nsec*10 + int(rest[n]-'0')
			n++
		}
		if n == 1 || n > 10 {
			return time.Time{}, false
		}
		for k := n; k < 10; k++ {
			nsec *= 10
		}
		rest = rest[n:]
	}
	unix := daysSinceEpoch(year, month, day)*86400 + int64(hour*3600+minute*60+sec)
	if len(rest) == 1 && rest[0] == 'Z' {
		return time.Unix(unix, int64(nsec)).UTC(), true
	}
	if len(rest) != len("+07:00") || (rest[0] != '+' && rest[0] != '-') || rest[3] != ':' {
		return time.Time{}, false
	}
	oh, ok1 := digits2(rest[1:3])
	om, ok2 := digits2(rest[4:6])
	if !ok1 || !ok2 || oh > 23 || om > 59 {
		return time.Time{}, false
	}
	offset := (oh*60 + om) * 60
	if rest[0] == '-' {
		offset = -offset
	}
	// As time.Parse does: the local zone when it has that offset at that
	// instant, else a zone fixed at the offset.
	t := time.Unix(unix-int64(offset), int64(nsec)).In(local)
	if _, off := t.Zone(); off != offset {
		t = t.In(time.FixedZone("", offset))
	}
	return t, true
}

func digits2(s string) (int, bool) {
	a, b := s[0]-'0', s[1]-'0'
	return int(a)*10 + int(b), a < 10 && b < 10
}

func digits4(s string) (int, bool) {
	x, ok1 := digits2(s[0:2])
	y, ok2 := digits2(s[2:4])
	return x*100 + y, ok1 && ok2
}

func daysInMonth(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysSinceEpoch returns the days from 1970-01-01 to the date, in the
// proleptic Gregorian calendar (H. Hinnant's days_from_civil), for years 0
// to 9999.
func daysSinceEpoch(year, month, day int) int64 {
	y := int64(year)
	if month <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400 // [0, 399]
	mp := int64(month+9) % 12
	doy := (153*mp+2)/5 + int64(day) - 1 // [0, 365]
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
