package engine_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

// absenceRules finds, at every scheduled check, that no morning check was
// reported: a medium risk per school.
type absenceRules struct{ fakeRules }

func (absenceRules) Check(_, to time.Time, _ *engine.School, _ engine.RuleState, out []engine.Match) []engine.Match {
	return append(out, engine.Match{Rule: "no_check", Severity: engine.SeverityMedium, Title: "晨检未报", At: to, For: time.Hour})
}

func TestScheduledChecksRunForOwnedSchoolsOnly(t *testing.T) {
	reg, err := engine.NewRegistry([]engine.School{{ID: "S1"}, {ID: "S2"}, {ID: "S3"}})
	require.NoError(t, err)
	e := engine.New(func() engine.Evaluator { return absenceRules{} }, func() *engine.Registry { return reg })
	e.Own(func(id string) bool { return id != "S2" })
	require.False(t, e.Owns("S2"))
	require.True(t, e.Owns("S1"))
	var out engine.Output
	e.Tick(t0, &out)
	e.Tick(t0.Add(time.Minute), &out)
	require.Equal(t, engine.LevelYellow, e.Level("S1"))
	require.Equal(t, engine.LevelGreen, e.Level("S2"), "another instance checks S2")
	require.Equal(t, engine.LevelYellow, e.Level("S3"))
	for _, tr := range out.Transitions {
		require.NotEqual(t, "S2", tr.SchoolID)
	}
}

func TestForkAdoptDrop(t *testing.T) {
	e := newEngine(t)
	var out engine.Output
	e.Tick(t0, &out)
	require.NoError(t, e.Apply(entry("a", "S1", "blacklist", "东门", t0), &out))
	require.Equal(t, engine.LevelRed, e.Level("S1"))
	last := out.Changes[len(out.Changes)-1].Seq

	// S2's state is rebuilt in a fork, as a new owner does, and adopted.
	f := e.Fork(func(id string) bool { return id == "S2" })
	var discard engine.Output
	f.Tick(t0, &discard)
	require.NoError(t, f.Apply(entry("b", "S2", "watch", "西门", t0.Add(time.Minute)), &discard))
	require.Equal(t, engine.LevelYellow, f.Level("S2"))
	require.Greater(t, discard.Changes[0].Seq, last, "the fork numbers its changes after the engine's")
	v := e.Version()
	e.Adopt(f)
	require.NotEqual(t, v, e.Version(), "the map sees the adopted schools")
	require.Equal(t, engine.LevelYellow, e.Level("S2"))
	require.Equal(t, engine.LevelRed, e.Level("S1"))
	sv, ok := e.View("S2")
	require.True(t, ok)
	require.Len(t, sv.Risks, 1)

	// S1's partition moves away: its state is dropped, nothing recorded.
	v = e.Version()
	require.Equal(t, 1, e.Drop(func(id string) bool { return id != "S1" }))
	require.NotEqual(t, v, e.Version())
	require.Equal(t, engine.LevelGreen, e.Level("S1"))
	require.Equal(t, engine.LevelYellow, e.Level("S2"))
	// An event the engine already applied before S1 left is new again
	// to it: the consumer decides what is a re-delivery, by offset.
	out.Reset()
	require.NoError(t, e.Apply(entry("a", "S1", "blacklist", "东门", t0), &out))
}
