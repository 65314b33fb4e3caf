package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

// benchBatch returns a batch of n events with one risk transition each and a
// colour change for every tenth, at 50 schools: the shape of a busy flush.
func benchBatch(n int) *engine.Batch {
	b := &engine.Batch{}
	payload := []byte(`{"id":"x","school_id":"s","source":"canteen","type":"ai_violation","violation":"no_hat","device":"cam-3"}`)
	for i := range n {
		school := fmt.Sprintf("330402%03d", i%50)
		id := fmt.Sprintf("ev-%08d", i)
		at := t0.Add(time.Duration(i) * time.Second)
		b.Events = append(b.Events, engine.Event{
			ID: id, SchoolID: school, Source: engine.SourceCanteen, Type: "ai_violation", OccurredAt: at,
			Reporter: "cam-3", Payload: payload, Origin: engine.Origin{Topic: "campus.canteen", Partition: i % 6, Offset: int64(i)},
		})
		b.Transitions = append(b.Transitions, engine.RiskTransition{
			ID: id + ":canteen_hygiene", SchoolID: school, At: at, State: engine.RiskUpdated, EventID: id,
			Risk: engine.Risk{
				Rule: "canteen_hygiene", Source: engine.SourceCanteen, Severity: engine.SeverityMedium,
				Title: "后厨人员未戴帽", FirstSeen: t0, LastSeen: at, Until: at.Add(2 * time.Hour), Count: i + 1,
				Evidence: []string{id},
			},
		})
		if i%10 == 0 {
			b.Changes = append(b.Changes, engine.LevelChange{
				ID: id + ":canteen_hygiene", SchoolID: school, At: at, From: engine.LevelGreen, To: engine.LevelYellow,
				Cause: engine.Cause{Rule: "canteen_hygiene", Text: "新增中风险：后厨人员未戴帽"}, EventID: id, ActiveRisks: 1,
			})
		}
	}
	return b
}

// BenchmarkWrite measures the batch writer against the real server: one
// Write is three acknowledged inserts. The same batch is written again each
// time, which costs the same as new rows.
func BenchmarkWrite(b *testing.B) {
	s := openTest(b, nil)
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			batch := benchBatch(n)
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Write(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(batch.Len()*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
