package event

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The pre-check may skip only what has nothing to mask: these tests hold
// HasPII (pre-check, then scanner) to the scanner alone.

// checkPreCheck fails t if the pre-check skips s although the scanner
// finds a number to mask in it.
func checkPreCheck(t testing.TB, s []byte) {
	t.Helper()
	_, _, _, _, match := nextMatch(s, 0)
	if match && !maybePII(s) {
		t.Fatalf("the pre-check skips %q, in which the scanner finds a number to mask", s)
	}
	if HasPII(s) != match {
		t.Fatalf("HasPII(%q) = %v, the scanner says %v", s, !match, match)
	}
}

func TestMaybePII(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"mobile", "13912345678", true},
		{"mobile in text", "家长电话13912345678。", true},
		{"mobile with hyphens", "139-1234-5678", true},
		{"mobile with spaces after +86", "+86 139 1234 5678", true},
		{"86 joined", "86-139-1234-5678", true},
		{"ID number with X", "11010519491231002X", true},
		{"ID number with spaces", "330402 19800101 1236", true},
		{"full-width mobile", "１３９１２３４５６７８", true},
		{"full-width and ASCII", "１３９1234５６７８", true},
		{"eleven digits that are no mobile", "12912345678", true}, // the scanner decides
		{"simulator id", "JX-NH-2222-drowning-101604-1a210384f4c", false},
		{"benchmark id", "visitor-00000123", false},
		{"time", "2026-11-25T09:12:00.500+08:00", false},
		{"date and time", "2026-11-25 09:12:00", false},
		{"runs of two", "12-34-56-78-90-12", false},
		{"runs of one", "1 3 9 1 2 3 4 5 6 7 8", false},
		{"two separators", "139--1234-5678", false},
		{"a run of two inside", "13912-34-567890", false},
		{"a run of two then enough", "12-139-12345678", true},
		{"86 then too few", "86-139-1234-567", false},
		{"a separator then a letter", "1391234-x5678", false},
		{"a letter between runs", "1391234x5678", false},
		{"a period between runs", "139 1234.5678", false},
		{"ten digits", "1391234567", false},
		{"ten digits joined", "139-123-4567", false},
		{"broken full-width", "１３９１２３４５６７\xef\xbc", false},
		{"digits apart", "1391 2345 678", true}, // 11 digits joined by spaces
		{"few digits", "fridge-1 9.5", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := maybePII([]byte(tt.in)); got != tt.want {
				t.Fatalf("maybePII(%q) = %v, want %v", tt.in, got, tt.want)
			}
			checkPreCheck(t, []byte(tt.in))
		})
	}
}

// TestMaybePIIRandom builds strings from the pieces numbers to mask, and
// the near misses, are made of.
func TestMaybePIIRandom(t *testing.T) {
	parts := []string{"1", "3", "9", "8", "6", "0", "86", "+", "+86", " ", "-", "--", "  ", "X", "x", "１", "３", "８", "\xef\xbc", "\xef",
		"a", "字", ".", ":", "12", "123", "1234", "12345", "139", "1391234", "5678", "13912345678", "440306199003074513", "11010519491231002",
		"330402800101123", "2026-11-25", "09:12:00"}
	r := rand.New(rand.NewPCG(7, 8))
	var b strings.Builder
	for range 300000 {
		b.Reset()
		for range r.IntN(16) {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		checkPreCheck(t, []byte(b.String()))
	}
}

// TestMaybePIISeeds checks the pre-check on every short stretch of the
// fuzz seeds and of the fuzz corpus: messages, and the strings in them.
func TestMaybePIISeeds(t *testing.T) {
	inputs := append([]string(nil), seeds...)
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, string(b))
	}
	const window = 48
	n := 0
	for _, in := range inputs {
		s := []byte(in)
		checkPreCheck(t, s)
		for i := range s {
			for j := i + 1; j <= min(i+window, len(s)); j++ {
				checkPreCheck(t, s[i:j])
				n++
			}
		}
	}
	if n < 10000 {
		t.Fatalf("only %d stretches checked", n)
	}
}

func FuzzMaybePII(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Add([]byte("+86 139-1234-5678"))
	f.Add([]byte("１３９１２３４５６７８"))
	f.Add([]byte("330402 19800101 1236"))
	f.Fuzz(func(t *testing.T, s []byte) {
		checkPreCheck(t, s)
	})
}

// TestDigitBytes holds the eight-byte count of the pre-check to the byte
// loop: every byte value at every place, and random words.
func TestDigitBytes(t *testing.T) {
	count := func(b []byte) int {
		n := 0
		for _, c := range b {
			if c-'0' < 10 || c == 0xEF {
				n++
			}
		}
		return n
	}
	check := func(b []byte) {
		t.Helper()
		if got, want := digitBytes(binary.LittleEndian.Uint64(b)), count(b); got != want {
			t.Fatalf("digitBytes(%q) = %d, want %d", b, got, want)
		}
	}
	for pos := range 8 {
		for c := range 256 {
			for _, fill := range []byte{0, '0', '9', '/', ':', 0x7f, 0x80, 0xbc, 0xef, 0xff} {
				b := []byte{fill, fill, fill, fill, fill, fill, fill, fill}
				b[pos] = byte(c)
				check(b)
			}
		}
	}
	r := rand.New(rand.NewPCG(13, 14))
	b := make([]byte, 8)
	for range 300000 {
		for i := range b {
			b[i] = byte(r.IntN(256))
			if r.IntN(3) == 0 {
				b[i] = "0123456789\xef\xbc/:"[r.IntN(14)]
			}
		}
		check(b)
	}
}
