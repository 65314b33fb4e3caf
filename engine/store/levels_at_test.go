package store

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

func change(id, school string, ms int, from, to engine.Level, active int) engine.LevelChange {
	return engine.LevelChange{
		ID: id, SchoolID: school, At: at(ms), From: from, To: to, Cause: engine.Cause{Rule: "rule-" + id, Text: "cause of " + id}, EventID: "ev-" + id,
		ActiveRisks: active,
	}
}

func TestLevelsAt(t *testing.T) {
	s := openTest(t, nil)
	const (
		red, yellow, green = engine.LevelRed, engine.LevelYellow, engine.LevelGreen
		day                = 24 * 3600 * 1000
	)
	a1 := change("a1", "a", 1_000, green, yellow, 1)
	a2 := change("a2", "a", 2_500, yellow, red, 2)
	a3 := change("a3", "a", 40*day, red, green, 0) // a month later: another partition
	b1 := change("b1", "b", 2_000, green, red, 1)
	// Two changes of c at the same millisecond: the larger id is the later.
	c1 := change("c1", "c", 3_000, green, yellow, 1)
	c2 := change("c2", "c", 3_000, yellow, red, 2)
	changes := []engine.LevelChange{a1, a2, a3, b1, c2, c1}
	// Stored twice, unmerged, as a redelivery would.
	require.NoError(t, s.conn.Exec(t.Context(), "SYSTEM STOP MERGES "+quoteIdent(s.Database())+"."+tableLevelChanges))
	for range 2 {
		require.NoError(t, s.Write(t.Context(), &engine.Batch{Output: engine.Output{Changes: changes}}))
	}

	tests := []struct {
		name string
		at   time.Time
		want []engine.LevelChange
	}{
		{name: "before any change", at: at(0), want: nil},
		{name: "at a change is before it", at: at(1_000), want: nil},
		{name: "a millisecond after", at: at(1_001), want: []engine.LevelChange{a1}},
		{name: "within the second of the next change", at: at(2_499), want: []engine.LevelChange{a1, b1}},
		{name: "the latest change of each school", at: at(2_501), want: []engine.LevelChange{a2, b1}},
		{name: "ties by id", at: at(3_001), want: []engine.LevelChange{a2, b1, c2}},
		{name: "a month later", at: at(41 * day), want: []engine.LevelChange{a3, b1, c2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.LevelsAt(t.Context(), tt.at)
			require.NoError(t, err)
			slices.SortFunc(got, func(x, y engine.LevelChange) int { return strings.Compare(x.SchoolID, y.SchoolID) })
			require.Equal(t, tt.want, got)
		})
	}

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := s.LevelsAt(ctx, at(41*day))
		require.Error(t, err)
	})
}
