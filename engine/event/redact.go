package event

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
)

// RedactRaw returns a copy of a message, which need not be valid JSON (it
// is what the dead-letter topic receives instead of the message), in which
// no identity number, name or mobile number is left in clear:
//
//   - \uXXXX escapes of printable characters are written out first, so that
//     an escaped digit cannot hide a number;
//   - the string value of every "visitor_id" key, at any depth and in any
//     case, is masked as MaskID masks it, and of every "name" key as
//     MaskName does; an unterminated value is masked to the end;
//   - every ID-card and mobile number anywhere, in strings, numbers or keys,
//     is masked as MaskText masks it.
//
// The result is valid JSON when data was. maxLen > 0 truncates data to that
// many bytes first (a trailing partial number is then cut off as well).
func RedactRaw(data []byte, maxLen int) []byte { return builtin.RedactRaw(data, maxLen) }

// RedactRaw is the package's RedactRaw with every key any source of c
// declares personal in place of visitor_id and name: the value of a hashed
// or dropped field is masked as MaskID masks it, of a masked field as
// MaskID does when it has digits, else as MaskName does.
func (c *Contract) RedactRaw(data []byte, maxLen int) []byte {
	if maxLen > 0 && len(data) > maxLen {
		data = cutNumber(data[:maxLen])
	}
	buf := unescapePrintable(make([]byte, 0, len(data)), data)
	for _, key := range c.personalKeys {
		switch c.personal[key] {
		case PersonalMask:
			buf = maskKeyed(buf, key, appendRawPersonal)
		default:
			buf = maskKeyed(buf, key, appendRawID)
		}
	}
	if !maybePII(buf) {
		return buf
	}
	out, _ := appendMasked(make([]byte, 0, len(buf)), buf)
	return out
}

// shortEscape holds the short JSON escape of the control characters that
// have one.
var shortEscape = [0x20]byte{'\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't'}

// unescapePrintable appends data with every \uXXXX escape (and surrogate
// pair) of a printable character other than the quote and the backslash
// written as the character itself, and the others as said below. Other
// escapes are copied as they are.
func unescapePrintable(dst, data []byte) []byte {
	for i := 0; i < len(data); {
		c := data[i]
		if c != '\\' || i+1 >= len(data) {
			dst = append(dst, c)
			i++
			continue
		}
		if data[i+1] != 'u' {
			dst = append(dst, c, data[i+1]) // \\ stays \\, so the next byte is not taken for an escape
			i += 2
			continue
		}
		r := hex4(data[i+2:])
		if r < 0 {
			// Not an escape: the bytes after \u are read as they are.
			dst = append(dst, '\\', 'u')
			i += 2
			continue
		}
		n := 6
		if utf16.IsSurrogate(r) {
			if i+12 <= len(data) && data[i+6] == '\\' && data[i+7] == 'u' {
				r = utf16.DecodeRune(r, hex4(data[i+8:]))
				n = 12
			} else {
				r = utf8.RuneError
			}
		}
		// What cannot be written out is written so that no digit of an
		// escape joins the digits around it into a number that escapes
		// masking: the quote and the backslash by their short escapes,
		// control characters by theirs (\b \f \n \r \t) or else, like an
		// invalid escape or a lone surrogate, as U+FFFD; DEL ends in f.
		switch {
		case r == '"' || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r < 0x20 && shortEscape[r] != 0:
			dst = append(dst, '\\', shortEscape[r])
		case r < 0x20 || r == utf8.RuneError:
			dst = utf8.AppendRune(dst, utf8.RuneError)
		case r == 0x7f:
			dst = append(dst, data[i:i+n]...)
		default:
			dst = utf8.AppendRune(dst, r)
		}
		i += min(n, len(data)-i)
	}
	return dst
}

// maskKeyed rewrites the string value of every key equal to key (ignoring
// case) in buf, which may be malformed JSON, with mask.
func maskKeyed(buf []byte, key string, mask func(dst, v []byte) []byte) []byte {
	var out []byte
	last := 0
	for i := 0; i < len(buf); {
		k := bytes.IndexByte(buf[i:], '"')
		if k < 0 {
			break
		}
		i += k + 1
		if i+len(key)+1 > len(buf) || !bytes.EqualFold(buf[i:i+len(key)], []byte(key)) || buf[i+len(key)] != '"' {
			continue
		}
		j := i + len(key) + 1
		for j < len(buf) && isJSONSpace(buf[j]) {
			j++
		}
		if j >= len(buf) || buf[j] != ':' {
			continue
		}
		j++
		for j < len(buf) && isJSONSpace(buf[j]) {
			j++
		}
		if j >= len(buf) || buf[j] != '"' {
			continue
		}
		start := j + 1
		end := start
		for end < len(buf) && buf[end] != '"' {
			if buf[end] == '\\' {
				end++
			}
			end++
		}
		end = min(end, len(buf))
		if out == nil {
			out = make([]byte, 0, len(buf))
		}
		out = append(out, buf[last:start]...)
		out = mask(out, buf[start:end])
		last, i = end, end
	}
	if out == nil {
		return buf
	}
	return append(out, buf[last:]...)
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// appendRawID appends the masked form of v, the raw bytes of a JSON string:
// MaskID's when v has no escapes, all stars otherwise.
func appendRawID(dst, v []byte) []byte {
	if bytes.IndexByte(v, '\\') >= 0 {
		return appendStars(dst, len(v))
	}
	return append(dst, MaskID(string(v))...)
}

// appendRawName appends the masked form of v, the raw bytes of a JSON
// string: MaskName's when v has no escapes, all stars otherwise.
func appendRawName(dst, v []byte) []byte {
	if bytes.IndexByte(v, '\\') >= 0 {
		return appendStars(dst, utf8.RuneCount(v))
	}
	return append(dst, MaskName(string(v))...)
}

// cutNumber drops from the end of data, cut short, a character cut in half
// and the number it ends with (digits joined by single spaces or hyphens),
// which, cut short, MaskText would not recognise but might still say too
// much.
func cutNumber(data []byte) []byte {
	for k := 1; k <= 3 && k <= len(data); k++ {
		if utf8.RuneStart(data[len(data)-k]) {
			if r, _ := utf8.DecodeRune(data[len(data)-k:]); r == utf8.RuneError && k > 1 {
				data = data[:len(data)-k]
			}
			break
		}
	}
	for {
		n := len(data)
		for n > 0 && (data[n-1] == 'X' || data[n-1] == 'x') {
			n--
		}
		for n > 0 && (digitBefore(data, n) || data[n-1] == 'X' || data[n-1] == 'x') {
			if data[n-1]-'0' < 10 || data[n-1] == 'X' || data[n-1] == 'x' {
				n--
			} else {
				n -= 3
			}
		}
		if n == len(data) {
			return data
		}
		data = data[:n]
		if n >= 2 && (data[n-1] == ' ' || data[n-1] == '-') && digitBefore(data, n-1) {
			data = data[:n-1]
			continue
		}
		return data
	}
}

// appendRawPersonal appends the masked form of v, the raw value of a field
// declared personal: mask.
func appendRawPersonal(dst, v []byte) []byte {
	for _, c := range v {
		if isDigit(c) {
			return appendRawID(dst, v)
		}
	}
	return appendRawName(dst, v)
}
