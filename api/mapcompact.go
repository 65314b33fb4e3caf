package api

import (
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/sanse-campus/sanse/engine"
)

// compactColumns name the members of each school's array in the compact map
// (GET /api/v1/map?format=compact), in order. They are the GeoJSON
// properties of the same names, with the point's coordinates as longitude
// and latitude; level_zh is left out (GET /api/v1/meta names the colours).
var compactColumns = []string{
	"school_id", "name", "district", "town", "stage", "longitude", "latitude",
	"level", "since", "active_risks", "pending_risks", "sources",
}

// compactMap encodes views as the compact answer:
//
//	{"columns": [...], "schools": [[...], ...], "summary": {...}, "at": ...}
//
// written by hand rather than through reflection, as encoding/json would
// write the same values (TestMapCompactMatchesGeoJSON holds it to the
// GeoJSON answer).
func compactMap(views []engine.SchoolSummary, req mapRequest, facts func(*engine.SchoolSummary) ([]engine.Source, int)) ([]byte, error) {
	b := make([]byte, 0, 160+len(views)*120)
	b = append(b, `{"columns":[`...)
	for i, c := range compactColumns {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, c)
	}
	b = append(b, `],"schools":[`...)
	var sum summary
	first := true
	for i := range views {
		v := &views[i]
		sum.add(v.Level)
		if req.Levels != nil && !slices.Contains(req.Levels, v.Level) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		sources, pending := facts(v)
		s := v.School
		b = append(b, '[')
		b = appendJSONString(b, s.ID)
		b = append(b, ',')
		b = appendJSONString(b, s.Name)
		b = append(b, ',')
		b = appendJSONString(b, s.District)
		b = append(b, ',')
		b = appendJSONString(b, s.Town)
		b = append(b, ',')
		b = appendJSONString(b, string(s.Stage))
		b = append(b, ',')
		b = appendJSONFloat(b, s.Longitude)
		b = append(b, ',')
		b = appendJSONFloat(b, s.Latitude)
		b = append(b, ',')
		b = appendJSONString(b, string(v.Level))
		b = append(b, ',')
		if v.Since.IsZero() {
			b = append(b, "null"...)
		} else {
			b = appendJSONTime(b, local(v.Since))
		}
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(v.ActiveRisks), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(pending), 10)
		b = append(b, ",["...)
		for j, src := range sources {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, string(src))
		}
		b = append(b, "]]"...)
	}
	b = append(b, `],"summary":`...)
	b = sum.appendJSON(b)
	if req.At != nil {
		b = append(b, `,"at":`...)
		b = appendJSONTime(b, local(*req.At))
	}
	b = append(b, '}')
	return finishJSON(b, req.Pretty)
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it (with its HTML escaping): invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendJSONFloat appends f as encoding/json writes a float64. NaN and
// infinities, which JSON cannot hold, are written as null.
func appendJSONFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	abs, format := math.Abs(f), byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendJSONTime appends t as encoding/json writes a time.Time.
func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}
