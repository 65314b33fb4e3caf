package store

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

func TestMonthEnd(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    string
		want time.Time
		ok   bool
	}{
		{name: "a month", p: "202505", want: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), ok: true},
		{name: "december", p: "202412", want: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), ok: true},
		{name: "not a month", p: "202513"},
		{name: "not a partition by month", p: "tuple()"},
		{name: "a day", p: "20250501"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := monthEnd(tc.p)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestDropPartitionsBefore(t *testing.T) {
	s := openTest(t, prometheus.NewRegistry())
	ctx := t.Context()
	event := func(id string, at time.Time) engine.Event {
		return engine.Event{ID: id, SchoolID: "s1", Source: engine.SourceVisitor, Type: "entry", OccurredAt: at,
			Payload: []byte(`{"id":"` + id + `"}`)}
	}
	require.NoError(t, s.Write(ctx, &engine.Batch{Events: []engine.Event{
		event("old-1", time.Date(2024, 1, 15, 9, 0, 0, 0, time.UTC)),
		event("old-2", time.Date(2024, 2, 10, 9, 0, 0, 0, time.UTC)),
		event("edge", time.Date(2024, 3, 31, 23, 0, 0, 0, time.UTC)),
		event("new", time.Date(2024, 6, 1, 9, 0, 0, 0, time.UTC)),
	}}))
	count := func() uint64 {
		var n uint64
		require.NoError(t, s.conn.QueryRow(ctx, "SELECT count() FROM events").Scan(&n))
		return n
	}
	require.Equal(t, uint64(4), count())

	// The cutoff falls within a day of March's end: March is kept.
	dropped, err := s.DropPartitionsBefore(ctx, "events", time.Date(2024, 4, 1, 12, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Equal(t, []string{"202401", "202402"}, dropped)
	require.Equal(t, uint64(2), count(), "the rows of the kept months stay")

	again, err := s.DropPartitionsBefore(ctx, "events", time.Date(2024, 4, 1, 12, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Empty(t, again, "dropping again finds nothing to drop")

	_, err = s.DropPartitionsBefore(ctx, "schema_migrations", time.Now())
	require.ErrorContains(t, err, "not a table retention may drop from")
}

func TestOldestOpen(t *testing.T) {
	s := openTest(t, prometheus.NewRegistry())
	floors, err := s.OldestOpen(t.Context())
	require.NoError(t, err)
	require.Empty(t, floors, "nothing open, nothing held back")

	first := time.Date(2024, 1, 15, 9, 0, 0, 0, time.UTC)
	risk := engine.Risk{Rule: "visitor.blacklist", Key: "东门", Severity: engine.SeverityHigh, Title: "禁入", FirstSeen: first, LastSeen: first, Count: 1, Manual: true}
	require.NoError(t, s.Write(t.Context(), &engine.Batch{Output: engine.Output{Transitions: []engine.RiskTransition{
		{SchoolID: "s1", At: first, State: engine.RiskOpened, EventID: "e1", Risk: risk},
	}}}))
	floors, err = s.OldestOpen(t.Context())
	require.NoError(t, err)
	for _, table := range []string{"events", "risk_transitions", "level_changes"} {
		require.Equal(t, first, floors[table], table)
	}
}
