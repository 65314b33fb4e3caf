package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

func TestColourCountsAt(t *testing.T) {
	s := openTest(t, nil)
	const red, yellow, green = engine.LevelRed, engine.LevelYellow, engine.LevelGreen
	// A week of local days, 2026-11-28 to 2026-12-04; now is 08:00 on the
	// last one.
	day := func(d, hour, minute int) time.Time {
		return time.Date(2026, 11, 28+d, hour, minute, 0, 0, engine.Shanghai)
	}
	now := day(6, 8, 0)
	ch := func(id, school string, at time.Time, from, to engine.Level) engine.LevelChange {
		return engine.LevelChange{ID: id, SchoolID: school, At: at, From: from, To: to,
			Cause: engine.Cause{How: engine.RiskOpened, Rule: "r-" + id}, EventID: "ev-" + id, ActiveRisks: 1}
	}
	changes := []engine.LevelChange{
		// a: twice on day 1 (yellow, then red), back to green on day 3.
		ch("a1", "a", day(1, 9, 0), green, yellow),
		ch("a2", "a", day(1, 15, 0), yellow, red),
		ch("a3", "a", day(3, 10, 0), red, green),
		// b: yellow since a month before the week (another partition),
		// nothing since.
		ch("b1", "b", day(-30, 12, 0), green, yellow),
		// c has no change at all.
		// d: red at the very first millisecond of day 2, which belongs to
		// day 2, not to the end of day 1.
		ch("d1", "d", day(2, 0, 0), green, red),
		// e: two changes in the same millisecond on day 0: the larger id is
		// the later; then back to green after now.
		ch("e1", "e", day(0, 23, 59), green, red),
		ch("e2", "e", day(0, 23, 59), red, yellow),
		ch("e3", "e", day(6, 9, 0), yellow, green),
		// f: red before the week, green during day 0, red again today
		// before now.
		ch("f1", "f", day(-2, 10, 0), green, red),
		ch("f2", "f", day(0, 11, 0), red, green),
		ch("f3", "f", day(6, 7, 59), green, red),
		// x is not asked about.
		ch("x1", "x", day(2, 12, 0), green, red),
	}
	// Stored twice, unmerged, as a redelivery would: repeats count once.
	require.NoError(t, s.conn.Exec(t.Context(), "SYSTEM STOP MERGES "+quoteIdent(s.Database())+"."+tableLevelChanges))
	for range 2 {
		require.NoError(t, s.Write(t.Context(), &engine.Batch{Output: engine.Output{Changes: changes}}))
	}

	schools := []string{"a", "b", "c", "d", "e", "f"}
	var ends []time.Time
	for d := 1; d <= 6; d++ {
		ends = append(ends, day(d, 0, 0)) // the end of day d-1
	}
	ends = append(ends, now)
	got, err := s.ColourCountsAt(t.Context(), schools, ends)
	require.NoError(t, err)

	count := func(at time.Time, r, y, g int) ColourCount { return ColourCount{At: at, Red: r, Yellow: y, Green: g} }
	want := []ColourCount{
		// day 0: b yellow, e yellow (e2 after e1), f green; a, c, d green.
		count(ends[0], 0, 2, 4),
		// day 1: a red (its second change), b, e yellow.
		count(ends[1], 1, 2, 3),
		// day 2: a, d red.
		count(ends[2], 2, 2, 2),
		// day 3: a green again.
		count(ends[3], 1, 2, 3),
		count(ends[4], 1, 2, 3),
		count(ends[5], 1, 2, 3),
		// now: f red again; e's change after now is not counted yet.
		count(ends[6], 2, 2, 2),
	}
	require.Equal(t, want, got)

	// The same counts as the colours LevelsAt gives at each moment.
	asked := map[string]bool{}
	for _, id := range schools {
		asked[id] = true
	}
	for i, end := range ends {
		last, err := s.LevelsAt(t.Context(), end)
		require.NoError(t, err)
		ref := ColourCount{At: end, Green: len(schools)}
		for _, c := range last {
			if !asked[c.SchoolID] || c.To == green {
				continue
			}
			ref.Green--
			if c.To == red {
				ref.Red++
			} else {
				ref.Yellow++
			}
		}
		require.Equal(t, ref, got[i], "moment %d", i)
	}

	t.Run("moments in any order, given twice", func(t *testing.T) {
		got, err := s.ColourCountsAt(t.Context(), schools, []time.Time{now, ends[0], now})
		require.NoError(t, err)
		require.Equal(t, []ColourCount{want[6], want[0], want[6]}, got)
	})
	t.Run("no school", func(t *testing.T) {
		got, err := s.ColourCountsAt(t.Context(), nil, ends[:1])
		require.NoError(t, err)
		require.Equal(t, []ColourCount{count(ends[0], 0, 0, 0)}, got)
	})
	t.Run("an id given twice", func(t *testing.T) {
		got, err := s.ColourCountsAt(t.Context(), []string{"a", "c", "a"}, ends[1:2])
		require.NoError(t, err)
		require.Equal(t, []ColourCount{count(ends[1], 1, 0, 1)}, got)
	})
	t.Run("only schools without changes", func(t *testing.T) {
		got, err := s.ColourCountsAt(t.Context(), []string{"c", "unknown"}, ends[2:3])
		require.NoError(t, err)
		require.Equal(t, []ColourCount{count(ends[2], 0, 0, 2)}, got)
	})
	t.Run("more ids than one query holds", func(t *testing.T) {
		// 30,000 ids of a province (some 600 KB), among them the six.
		many := make([]string, 0, 30_000)
		for i := range 30_000 - len(schools) {
			many = append(many, fmt.Sprintf("ZJ-XX-%06d", i))
		}
		many = append(many, schools...)
		got, err := s.ColourCountsAt(t.Context(), many, ends)
		require.NoError(t, err)
		for i := range want {
			w := want[i]
			w.Green += len(many) - len(schools)
			require.Equal(t, w, got[i], "moment %d", i)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := s.ColourCountsAt(ctx, schools, ends)
		require.Error(t, err)
	})
}
