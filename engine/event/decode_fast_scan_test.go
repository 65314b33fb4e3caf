package event

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// firstNotPlain is what notPlain computes, a byte at a time: the index of
// the first byte of b that is not plain, or len(b).
func firstNotPlain(b []byte) int {
	for i, c := range b {
		if !plain[c] {
			return i
		}
	}
	return len(b)
}

func checkNotPlain(t *testing.T, b []byte) {
	t.Helper()
	got := 8
	if m := notPlain(binary.LittleEndian.Uint64(b)); m != 0 {
		got = bits.TrailingZeros64(m) / 8
	}
	if want := firstNotPlain(b); got != want {
		t.Fatalf("notPlain(%q) finds byte %d, the first not plain is byte %d", b, got, want)
	}
}

// TestNotPlain holds the eight-byte scan of strings to the byte table:
// every byte value at every place among plain bytes, after every other,
// and random words.
func TestNotPlain(t *testing.T) {
	for pos := range 8 {
		for c := range 256 {
			for _, fill := range []byte{' ', '!', '0', 'a', 0x7f, '"' + 1, '\\' - 1} {
				b := []byte{fill, fill, fill, fill, fill, fill, fill, fill}
				b[pos] = byte(c)
				checkNotPlain(t, b)
				for after := pos + 1; after < 8; after++ {
					for _, d := range []byte{0, 1, 0x1f, '"', '\\', 0x80, 0xff} {
						b2 := append([]byte(nil), b...)
						b2[after] = d
						checkNotPlain(t, b2)
					}
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(9, 10))
	const bytesOften = " !\"#0123456789:AZ[\\]az{}~\x00\x01\x1f\x20\x7f\x80\xbf\xc0\xe4\xef\xff"
	b := make([]byte, 8)
	for range 300000 {
		for i := range b {
			if r.IntN(4) == 0 {
				b[i] = byte(r.IntN(256))
			} else {
				b[i] = bytesOften[r.IntN(len(bytesOften))]
			}
		}
		checkNotPlain(t, b)
	}
}
