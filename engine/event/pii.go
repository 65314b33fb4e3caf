package event

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// Masking of personal numbers in free text. Producers put what they have in
// whatever field they like (a parent's phone number in a patrol's note, a
// second ID-card number in a canteen health check): everything a person or a
// system outside the engine reads — the stored payload, the fields rules see,
// the dead-letter topic, logs, notifications — goes through MaskText or
// AppendMasked first.
//
// What is masked, wherever it stands between non-digits:
//
//   - a resident ID number of 18 characters (17 digits and a digit or X)
//     whose ISO 7064 MOD 11-2 check character is right, or of 15 digits
//     (the first generation): 3304**********123X;
//   - a mainland mobile number, 1[3-9] and 9 digits, optionally after 86 or
//     +86: 139****5678, +86 139****5678.
//
// The digits may be split by single spaces or hyphens (139-1234-5678,
// 330402 19800101 1234), and may be full-width (１３９…); separators stay,
// digits in the middle become stars. Runs of other lengths (order numbers,
// timestamps) are left alone. Text without a chain of runs joined that way
// holding 11 digits or more is returned without looking further
// (maybePII), so the check costs a byte loop or two on most fields.

// minPIIDigits is the fewest digits a maskable number has (a mobile).
const minPIIDigits = 11

// MaskText returns s with every ID-card and mobile number masked. It returns
// s itself when there is nothing to mask.
func MaskText(s string) string {
	b := []byte(s) // the compiler avoids the copy when nothing escapes
	if !maybePII(b) {
		return s
	}
	out, changed := appendMasked(nil, b)
	if !changed {
		return s
	}
	return string(out)
}

// AppendMasked appends s with every ID-card and mobile number masked to dst.
func AppendMasked(dst, s []byte) []byte {
	out, _ := appendMasked(dst, s)
	return out
}

// HasPII reports whether s holds an ID-card or mobile number that
// MaskText would mask.
func HasPII(s []byte) bool {
	if !maybePII(s) {
		return false
	}
	_, _, _, _, ok := nextMatch(s, 0)
	return ok
}

// maybePII is the fast pre-check, false when s cannot hold a match. A
// match is one run of digits, or runs of three digits or more each joined
// to the next by one space or hyphen, after at most a leading 86 (and the
// 11 digits of a mobile follow that): it always holds such a chain of
// minPIIDigits digits or more. maybePII looks for that chain, ignoring
// which digits it holds and where a number ends, so it finds every chain
// nextMatch finds and a few more. Dates and times (2026-11-25, 09:12:00)
// and ids made of shorter runs (JX-NH-0001-visitor-101604-1a21040c744)
// have none.
func maybePII(s []byte) bool {
	// Most strings have few digits: count them (and the lead bytes of
	// full-width ones) first, in a loop the compiler keeps tight.
	if len(s) < minPIIDigits {
		return false
	}
	n := 0
	i := 0
	for ; i+8 <= len(s); i += 8 {
		n += digitBytes(binary.LittleEndian.Uint64(s[i:]))
	}
	for _, c := range s[i:] {
		if c-'0' < 10 || c == 0xEF {
			n++
		}
	}
	if n < minPIIDigits {
		return false
	}
	// n counts down what the first loop counted, so that the loop stops
	// once too few digits are left to make a new chain.
	chain, run := 0, 0 // the digits of the chain, and of its last run so far
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c-'0' < 10:
			run++
			n--
			continue
		case c == 0xEF && i+2 < len(s) && s[i+1] == 0xBC && s[i+2]-0x90 < 10:
			run++
			n--
			i += 2
			continue
		case c == 0xEF:
			n--
		}
		if chain = chained(chain, run); chain >= minPIIDigits {
			return true
		}
		// Only one separator between digits carries the chain on.
		if run == 0 || (c != ' ' && c != '-') || !digitStarts(s, i+1) {
			if n < minPIIDigits {
				return false
			}
			chain = 0
		}
		run = 0
	}
	return chained(chain, run) >= minPIIDigits
}

// digitBytes counts the bytes of x that are ASCII digits or 0xEF (the
// lead byte of a full-width digit), eight bytes at once: the high bit of
// each byte's sum says where it stands, with the high bits cleared first
// so that no sum carries into the next byte.
func digitBytes(x uint64) int {
	const low7, highs = 0x7f7f7f7f7f7f7f7f, 0x8080808080808080
	const ones = 0x0101010101010101
	y := x & low7
	digits := (y + ones*(0x80-'0')) &^ (y + ones*(0x7f-'9')) &^ x & highs
	ef := x ^ (ones * 0xEF)
	nonEF := ((ef & low7) + low7 | ef) & highs
	return bits.OnesCount64(digits | (^nonEF & highs))
}

// chained returns the digits of a chain of chain digits once a run of run
// digits ends it: a run too short to be joined ends the chain.
func chained(chain, run int) int {
	if run < 3 {
		return 0
	}
	return chain + run
}

// digitStarts reports whether a digit, ASCII or full-width, starts at s[i].
func digitStarts(s []byte, i int) bool {
	_, size := digitAt(s, i)
	return size > 0
}

// appendMasked appends s to dst with every match masked; changed reports
// whether anything was.
func appendMasked(dst, s []byte) (out []byte, changed bool) {
	last := 0
	for i := 0; ; {
		start, end, head, tail, ok := nextMatch(s, i)
		if !ok {
			break
		}
		dst = append(dst, s[last:start]...)
		dst = appendMaskedMatch(dst, s[start:end], head, tail)
		last, i, changed = end, end, true
	}
	return append(dst, s[last:]...), changed
}

// appendMaskedMatch appends the match m with all but its first head and last
// tail digits (or check letter) starred; separators are kept.
func appendMaskedMatch(dst, m []byte, head, tail int) []byte {
	n := 0
	for i := 0; i < len(m); {
		if _, size := digitAt(m, i); size > 0 || m[i] == 'X' || m[i] == 'x' {
			n++
			i += max(size, 1)
			continue
		}
		i++
	}
	k := 0
	for i := 0; i < len(m); {
		d, size := digitAt(m, i)
		switch {
		case size == 0 && m[i] != 'X' && m[i] != 'x':
			dst = append(dst, m[i])
			i++
			continue
		case size == 0:
			d, size = m[i]&^0x20, 1 // the check letter, upper case
		}
		if k < head || k >= n-tail {
			if size == 1 {
				dst = append(dst, d)
			} else {
				dst = append(dst, m[i:i+size]...) // full-width, as written
			}
		} else {
			dst = append(dst, '*')
		}
		k++
		i += size
	}
	return dst
}

// digitAt returns the value ('0'…'9') of the digit at s[i], ASCII or
// full-width, and its size in bytes; size 0 if there is none.
func digitAt(s []byte, i int) (byte, int) {
	if i >= len(s) {
		return 0, 0
	}
	if c := s[i]; c-'0' < 10 {
		return c, 1
	}
	if s[i] == 0xEF && i+2 < len(s) && s[i+1] == 0xBC && s[i+2]-0x90 < 10 {
		return '0' + s[i+2] - 0x90, 3
	}
	return 0, 0
}

// digitBefore reports whether a digit ends just before s[i].
func digitBefore(s []byte, i int) bool {
	if i >= 1 && s[i-1]-'0' < 10 {
		return true
	}
	return i >= 3 && s[i-3] == 0xEF && s[i-2] == 0xBC && s[i-1]-0x90 < 10
}

// nextMatch finds the first number to mask in s at or after from: its
// bounds, and how many leading and trailing characters stay clear. A match
// starts where a run of digits starts and ends where one ends (or after the
// check letter X), so it never cuts a longer number; runs may be joined by
// one space or hyphen. The longest match at the first start wins.
func nextMatch(s []byte, from int) (start, end, head, tail int, ok bool) {
	for i := from; i < len(s); {
		if _, size := digitAt(s, i); size == 0 || digitBefore(s, i) {
			if size == 0 {
				size = 1
				if s[i] >= utf8.RuneSelf {
					_, size = utf8.DecodeRune(s[i:])
				}
			}
			i += size
			continue
		}
		// A run of digits starts at i: walk the runs joined to it.
		var digits [18]byte
		total, j := 0, i
		for {
			for {
				d, size := digitAt(s, j)
				if size == 0 {
					break
				}
				if total < len(digits) {
					digits[total] = d
				}
				total++
				j += size
			}
			if total > 18 {
				break
			}
			if e, h, t, found := matchEnd(s, j, digits[:min(total, 18)], total); found {
				end, head, tail, ok = e, h, t, true
			}
			if j+1 < len(s) && (s[j] == ' ' || s[j] == '-') && joins(s, j+1, digits[:min(total, 18)], total) {
				j++
				continue
			}
			break
		}
		if ok {
			return i, end, head, tail, true
		}
		// Skip the rest of this run: no match starts inside it.
		for {
			_, size := digitAt(s, i)
			if size == 0 {
				break
			}
			i += size
		}
	}
	return 0, 0, 0, 0, false
}

// joins reports whether the run of digits at s[j] continues the number
// whose digits were read so far, across one separator. Both runs need three
// digits or more (the first may be the prefix 86), so that dates such as
// 2026-11-25 do not join a number that follows.
func joins(s []byte, j int, digits []byte, total int) bool {
	if total < 3 && (total != 2 || digits[0] != '8' || digits[1] != '6') {
		return false
	}
	n := 0
	for n < 3 {
		_, size := digitAt(s, j)
		if size == 0 {
			return false
		}
		n++
		j += size
	}
	return true
}

// matchEnd checks whether the digits read so far, ending at s[j], form a
// number to mask, and returns where it ends and what stays clear.
func matchEnd(s []byte, j int, digits []byte, total int) (end, head, tail int, ok bool) {
	switch {
	case total == 17 && j < len(s) && (s[j] == 'X' || s[j] == 'x') && validIDCheck(digits, 'X'):
		return j + 1, 4, 4, true
	case total == 18 && validIDCheck(digits[:17], digits[17]):
		return j, 4, 4, true
	case total == 15:
		return j, 4, 4, true
	case total == 13 && digits[0] == '8' && digits[1] == '6' && isMobile(digits[2:]):
		return j, 5, 4, true
	case total == 11 && isMobile(digits):
		return j, 3, 4, true
	}
	return 0, 0, 0, false
}

func isMobile(d []byte) bool { return d[0] == '1' && d[1] >= '3' && d[1] <= '9' }

// idWeights are the ISO 7064 MOD 11-2 weights of an ID number's 17 digits.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// validIDCheck reports whether check ('0'…'9' or 'X') is the check
// character of the 17 digits.
func validIDCheck(digits []byte, check byte) bool {
	sum := 0
	for k, d := range digits[:17] {
		sum += int(d-'0') * idWeights[k]
	}
	if check == 'x' {
		check = 'X'
	}
	return "10X98765432"[sum%11] == check
}
