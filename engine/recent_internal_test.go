package engine

import (
	"strconv"
	"strings"
	"testing"
)

// The ring recognises exactly the last RecentIDs ids, of any length, as its
// buffer is compacted again and again.
func TestRecentIDsRing(t *testing.T) {
	var r recentIDs
	id := func(i int) string { return strconv.Itoa(i) + ":" + strings.Repeat("x", i%97) }
	for n := 1; n <= 20*RecentIDs; n++ {
		r.add(idHash(id(n-1)), id(n-1))
		for back := range min(n, RecentIDs+3) {
			k := n - 1 - back
			if want := back < RecentIDs; r.has(idHash(id(k)), id(k)) != want {
				t.Fatalf("after %d ids: has(id %d) = %v, want %v", n, k, !want, want)
			}
		}
		if r.has(idHash("absent"), "absent") {
			t.Fatalf("after %d ids: has an id never added", n)
		}
		if cap(r.buf) > 2*RecentIDs*(len(id(n))+100)+256 {
			t.Fatalf("after %d ids: buffer of %d bytes", n, cap(r.buf))
		}
	}
}
