package event

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// The JSON grammar for the parser: reading and skipping values, and syntax
// errors in encoding/json's words.

// maxDepth bounds how deeply arrays and objects nest, as in encoding/json.
const maxDepth = 10000

// Syntax error contexts, worded as encoding/json words them.
const (
	ctxValue     = "looking for beginning of value"
	ctxKey       = "looking for beginning of object key string"
	ctxAfterKey  = "after object key"
	ctxAfterPair = "after object key:value pair"
	ctxAfterElem = "after array element"
	ctxAfterTop  = "after top-level value"
	ctxString    = "in string literal"
	ctxEscape    = "in string escape code"
	ctxHex       = `in \u hexadecimal character escape`
	ctxNumber    = "in numeric literal"
	ctxDot       = "after decimal point in numeric literal"
	ctxExponent  = "in exponent of numeric literal"
	ctxDepth     = "exceeded max depth"
)

// fail records a syntax error at p.pos and returns false. At the end of
// the input, encoding/json reports what a space would cause there: nothing
// where spaces are allowed (an unexpected end), else an invalid ' '.
func (p *parser) fail(ctx string, spaceOK bool) bool {
	p.synCtx = ctx
	switch {
	case p.pos < len(p.data):
		p.synChar = p.data[p.pos]
	case spaceOK:
		p.synEOF = true
	default:
		p.synChar = ' '
	}
	return false
}

func (p *parser) syntaxMessage() string {
	if p.synEOF {
		return "unexpected end of JSON input"
	}
	return "invalid character " + quoteChar(p.synChar) + " " + p.synCtx
}

// quoteChar formats c as encoding/json does in syntax errors.
func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

func (p *parser) space() {
	for p.pos < len(p.data) && p.data[p.pos] <= ' ' {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// skip reads one value of any type, p.pos at its first byte. depth is the
// number of arrays and objects open around it.
func (p *parser) skip(depth int) bool {
	base := len(p.stack)
	for {
		if p.pos >= len(p.data) {
			return p.fail(ctxValue, true)
		}
		switch c := p.data[p.pos]; c {
		case '{', '[':
			if depth+len(p.stack)-base >= maxDepth {
				return p.fail(ctxDepth, false)
			}
			p.pos++
			p.space()
			closer := byte('}')
			if c == '[' {
				closer = ']'
			}
			if p.pos < len(p.data) && p.data[p.pos] == closer {
				p.pos++
				break
			}
			p.stack = append(p.stack, closer)
			if c == '{' && !p.skipKey() {
				return false
			}
			continue
		case '"':
			if _, _, _, ok := p.str(); !ok {
				return false
			}
		case 't':
			if !p.literal("true") {
				return false
			}
		case 'f':
			if !p.literal("false") {
				return false
			}
		case 'n':
			if !p.literal("null") {
				return false
			}
		default:
			if !p.num() {
				return false
			}
		}
		// After a value: close what ends here, then go on to the next one.
		for {
			if len(p.stack) == base {
				return true
			}
			closer := p.stack[len(p.stack)-1]
			ctx := ctxAfterElem
			if closer == '}' {
				ctx = ctxAfterPair
			}
			p.space()
			if p.pos >= len(p.data) {
				return p.fail(ctx, true)
			}
			c := p.data[p.pos]
			if c == closer {
				p.pos++
				p.stack = p.stack[:len(p.stack)-1]
				continue
			}
			if c != ',' {
				return p.fail(ctx, true)
			}
			p.pos++
			p.space()
			if closer == '}' && !p.skipKey() {
				return false
			}
			break
		}
	}
}

// skipKey reads `"key":` in an object being skipped, p.pos where the key
// should start.
func (p *parser) skipKey() bool {
	if p.pos >= len(p.data) || p.data[p.pos] != '"' {
		return p.fail(ctxKey, true)
	}
	if _, _, _, ok := p.str(); !ok {
		return false
	}
	p.space()
	if p.pos >= len(p.data) || p.data[p.pos] != ':' {
		return p.fail(ctxAfterKey, true)
	}
	p.pos++
	p.space()
	return true
}

// literal reads true, false or null, p.pos at its first byte.
func (p *parser) literal(word string) bool {
	for k := 1; k < len(word); k++ {
		if i := p.pos + k; i >= len(p.data) || p.data[i] != word[k] {
			p.pos = i
			return p.fail("in literal "+word+" (expecting '"+word[k:k+1]+"')", false)
		}
	}
	p.pos += len(word)
	return true
}

// num reads a number, p.pos at its first byte.
func (p *parser) num() bool {
	d, i := p.data, p.pos
	if d[i] == '-' {
		i++
		if i >= len(d) || !isDigit(d[i]) {
			p.pos = i
			return p.fail(ctxNumber, false)
		}
	} else if !isDigit(d[i]) {
		return p.fail(ctxValue, true)
	}
	if d[i] == '0' {
		i++
	} else {
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || !isDigit(d[i]) {
			p.pos = i
			return p.fail(ctxDot, false)
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || !isDigit(d[i]) {
			p.pos = i
			return p.fail(ctxExponent, false)
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	p.pos = i
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// plain marks the bytes a string holds as they are: printable ASCII other
// than the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// notPlain returns the high bits of the bytes of x (eight bytes of a
// message, the first in the low byte) that may not be plain: a quote, a
// backslash, a control character or a byte of a non-ASCII character. The
// lowest bit set is exact, the first byte that is not plain (a subtraction
// borrows only from a byte matching its term, so no byte below the first
// one is marked); bytes above it may be marked when plain. Zero means all
// eight are plain.
func notPlain(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote, backslash := x^(ones*'"'), x^(ones*'\\')
	return ((quote - ones) | (backslash - ones) | (x - ones*0x20) | x) & highs
}

// str reads a string, p.pos at its opening quote. It returns the bounds of
// what is between the quotes, and slow if that needs unescaping (escapes,
// or invalid UTF-8 to replace).
func (p *parser) str() (start, end int, slow, ok bool) {
	d := p.data
	i := p.pos + 1
	start = i
	for {
		// Eight bytes at a time up to the first that is not plain, but
		// for the last few bytes of the message.
		for {
			if i+8 > len(d) {
				for i < len(d) && plain[d[i]] {
					i++
				}
				break
			}
			if m := notPlain(binary.LittleEndian.Uint64(d[i:])); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		if i >= len(d) {
			p.pos = i
			return 0, 0, false, p.fail(ctxString, true)
		}
		switch c := d[i]; {
		case c == '"':
			p.pos = i + 1
			return start, i, slow, true
		case c == '\\':
			slow = true
			i++
			if i >= len(d) {
				p.pos = i
				return 0, 0, false, p.fail(ctxEscape, false)
			}
			switch d[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				i++
				for n := 0; n < 4; n++ {
					if i >= len(d) || !isHex(d[i]) {
						p.pos = i
						return 0, 0, false, p.fail(ctxHex, false)
					}
					i++
				}
			default:
				p.pos = i
				return 0, 0, false, p.fail(ctxEscape, false)
			}
		case c < 0x20:
			p.pos = i
			return 0, 0, false, p.fail(ctxString, true)
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				slow = true
			}
			i += size
		}
	}
}

// textOf records a string read by str, unescaping it if needed.
func (p *parser) textOf(start, end int, slow bool) text {
	if !slow {
		return text{off: start, end: end}
	}
	n := len(p.scratch)
	p.scratch = appendUnquoted(p.scratch, p.data[start:end])
	return text{off: n, end: len(p.scratch), scratch: true}
}

// appendUnquoted appends the string s, a valid JSON string without its
// quotes, unescaped as encoding/json does: invalid UTF-8 and lone or
// mismatched surrogates become U+FFFD.
func appendUnquoted(dst, s []byte) []byte {
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			r++
			switch c = s[r]; c {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				rr := hex4(s[r+1:])
				r += 5
				if utf16.IsSurrogate(rr) {
					rr1 := rune(-1)
					if r+6 <= len(s) && s[r] == '\\' && s[r+1] == 'u' {
						rr1 = hex4(s[r+2:])
					}
					if dec := utf16.DecodeRune(rr, rr1); dec != unicode.ReplacementChar {
						dst = utf8.AppendRune(dst, dec)
						r += 6
						continue
					}
					rr = unicode.ReplacementChar
				}
				dst = utf8.AppendRune(dst, rr)
				continue
			default: // '"', '\\', '/'
				dst = append(dst, c)
			}
			r++
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			dst = utf8.AppendRune(dst, rr)
			r += size
		}
	}
	return dst
}

// hex4 decodes four hexadecimal digits, or returns -1.
func hex4(s []byte) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}
