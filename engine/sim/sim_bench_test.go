package sim

import (
	"testing"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

func BenchmarkNext(b *testing.B) {
	s := New(Options{Registry: loadDemo(b), Seed: 1,
		Clock: stepClock(time.Date(2025, 6, 3, 6, 0, 0, 0, engine.Shanghai), 100*time.Millisecond)}, nil)
	b.ReportAllocs()
	for b.Loop() {
		s.Next()
	}
}
