package app_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/auth"
)

// TestRetentionDropsOldPartitionsAndAudits: partitions older than their
// table's age are dropped, newer ones kept, each drop recorded in the audit
// log; what a risk still waiting needs is kept whatever its age.
func TestRetentionDropsOldPartitionsAndAudits(t *testing.T) {
	r := build(t, newEnv(t))
	ctx := t.Context()
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, engine.Shanghai)
	ev := func(id string, at time.Time) engine.Event {
		return engine.Event{ID: id, SchoolID: schoolA, Source: engine.SourceVisitor, Type: "entry", OccurredAt: at,
			Payload: []byte(`{"id":"` + id + `"}`)}
	}
	old, kept := now.AddDate(0, -9, 0), now.AddDate(0, -1, 0) // events keep 180 days by default
	require.NoError(t, r.Store().Write(ctx, &engine.Batch{Events: []engine.Event{ev("old", old), ev("kept", kept)}}))

	require.NoError(t, r.EnforceRetention(ctx, now))
	requireEvents(t, r, []string{"kept"})
	entries, err := r.Store().Audit(ctx, auth.AuditFilter{Action: auth.ActionRetentionDrop})
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, "system", entries[0].Actor)
	require.Equal(t, "events/"+old.UTC().Format("200601"), entries[0].Target)
	require.Equal(t, auth.ResultOK, entries[0].Result)

	// A risk opened eight months ago still waits for a person: the events
	// since a day before its first one stay, old as they are.
	first := now.AddDate(0, -8, 0)
	risk := engine.Risk{Rule: "visitor.blacklist", Severity: engine.SeverityHigh, Title: "禁入", FirstSeen: first, LastSeen: first, Count: 1, Manual: true}
	require.NoError(t, r.Store().Write(ctx, &engine.Batch{
		Events: []engine.Event{ev("waiting", first)},
		Output: engine.Output{Transitions: []engine.RiskTransition{{SchoolID: schoolA, At: first, State: engine.RiskOpened, EventID: "waiting", Risk: risk}}},
	}))
	require.NoError(t, r.EnforceRetention(ctx, now))
	requireEvents(t, r, []string{"kept", "waiting"})
}

// requireEvents checks the ids of the stored events of schoolA.
func requireEvents(t *testing.T, r *running, want []string) {
	t.Helper()
	var got []string
	require.NoError(t, r.Store().ReplayEvents(t.Context(), time.Time{}, func(payload []byte, _ engine.Origin) error {
		got = append(got, string(payload))
		return nil
	}))
	var ids []string
	for _, p := range got {
		for _, id := range want {
			if p == `{"id":"`+id+`"}` {
				ids = append(ids, id)
			}
		}
	}
	require.ElementsMatch(t, want, ids, "stored: %v", got)
	require.Len(t, got, len(want), "stored: %v", got)
}
