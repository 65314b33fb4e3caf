package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

// BenchmarkColourCountsAt measures the dashboard's colours per day of a
// district of 500 schools with a year of history, two colour changes per
// school and day (365,000 rows), against the real server.
func BenchmarkColourCountsAt(b *testing.B) {
	s := openTest(b, nil)
	const schools, days = 500, 365
	now := time.Date(2026, 12, 4, 8, 0, 0, 0, engine.Shanghai)
	start := now.AddDate(0, 0, -days)
	ids := make([]string, schools)
	for i := range ids {
		ids[i] = fmt.Sprintf("JX-NH-%04d", i)
	}
	for d := 0; d < days; d += 50 {
		var batch engine.Batch
		for day := d; day < min(d+50, days); day++ {
			for i, id := range ids {
				morning := start.AddDate(0, 0, day).Add(time.Duration(8*3600+i) * time.Second)
				to := []engine.Level{engine.LevelYellow, engine.LevelRed}[(day+i)%2]
				batch.Changes = append(batch.Changes,
					engine.LevelChange{ID: fmt.Sprintf("%s-%d-a", id, day), SchoolID: id, At: morning, From: engine.LevelGreen, To: to,
						Cause: engine.Cause{How: engine.RiskOpened, Rule: "r"}, ActiveRisks: 1},
					engine.LevelChange{ID: fmt.Sprintf("%s-%d-b", id, day), SchoolID: id, At: morning.Add(time.Duration(i%20) * time.Hour), From: to, To: engine.LevelGreen,
						Cause: engine.Cause{How: engine.RiskExpired, Rule: "r"}})
			}
		}
		if err := s.Write(b.Context(), &batch); err != nil {
			b.Fatal(err)
		}
	}
	for _, n := range []int{7, 30} {
		ends := make([]time.Time, n)
		today := time.Date(2026, 12, 4, 0, 0, 0, 0, engine.Shanghai)
		for i := range n - 1 {
			ends[i] = today.AddDate(0, 0, i-n+2)
		}
		ends[n-1] = now
		b.Run(fmt.Sprintf("schools=%d/days=%d", schools, n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.ColourCountsAt(b.Context(), ids, ends); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
