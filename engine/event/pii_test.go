package event_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sanse-campus/sanse/engine/event"
)

func TestMaskText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"ID number", "身份证330402198001011236来访", "身份证3304**********1236来访"},
		{"ID number with X", "id 11010519491231002X.", "id 1101**********002X."},
		{"ID number with x", "11010519491231002x", "1101**********002X"},
		{"ID number with a wrong check digit", "330402198001011234", "330402198001011234"},
		{"first-generation ID number", "330402800101123", "3304*******1123"},
		{"ID number with spaces", "330402 19800101 1236", "3304** ******** 1236"},
		{"mobile", "家长电话13912345678", "家长电话139****5678"},
		{"mobile with hyphens", "139-1234-5678", "139-****-5678"},
		{"mobile with +86", "+86 139 1234 5678", "+86 139 **** 5678"},
		{"mobile with 86", "8613912345678", "86139****5678"},
		{"full-width mobile", "１３９１２３４５６７８", "１３９****５６７８"},
		{"not a mobile", "12912345678", "12912345678"},
		{"longer run", "139123456789", "139123456789"},
		{"date then mobile", "2026-11-25 13912345678", "2026-11-25 139****5678"},
		{"separated runs too short", "1 3 9 1 2 3 4 5 6 7 8", "1 3 9 1 2 3 4 5 6 7 8"},
		{"valid IDs", "440306199003074513/330402201506010022", "4403**********4513/3304**********0022"},
		{"two numbers", "13912345678,13812345678", "139****5678,138****5678"},
		{"few digits", "fridge-1 9.5", "fridge-1 9.5"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := event.MaskText(tt.in); got != tt.want {
				t.Errorf("MaskText(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := event.MaskText(event.MaskText(tt.in)); got != tt.want {
				t.Errorf("masking twice gives %q", got)
			}
		})
	}
}

// TestMaskTextPreCheck holds the pre-check to the scanner: whatever it
// skips has nothing to mask.
func TestMaskTextPreCheck(t *testing.T) {
	parts := []string{"1", "3", "9", "86", "+", " ", "-", "X", "１", "３", "a", "12", "123", "1234", "13912345678", "440306199003074513"}
	r := rand.New(rand.NewPCG(3, 4))
	for range 200000 {
		var b strings.Builder
		for range r.IntN(14) {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		s := b.String()
		if !event.MaybePII([]byte(s)) && event.MaskText(s) != event.MaskTextUnchecked(s) {
			t.Fatalf("the pre-check skips %q, which has %q to mask", s, event.MaskTextUnchecked(s))
		}
	}
}
