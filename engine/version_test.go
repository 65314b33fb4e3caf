package engine_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

// TestVersionFollowsWhatViewsShow checks the contract the map's cache relies
// on: the version moves with every change Views shows (a colour, a risk
// opened or ended, the registry), and stays when an event changes nothing
// shown.
func TestVersionFollowsWhatViewsShow(t *testing.T) {
	regA, err := engine.NewRegistry([]engine.School{{ID: "S1", Name: "一小", District: "南湖区"}, {ID: "S2", Name: "二小", District: "秀洲区"}})
	require.NoError(t, err)
	regB, err := engine.NewRegistry([]engine.School{{ID: "S1", Name: "一小（新址）", District: "南湖区"}, {ID: "S2", Name: "二小", District: "秀洲区"}})
	require.NoError(t, err)
	var current atomic.Pointer[engine.Registry]
	current.Store(regA)
	e := engine.New(func() engine.Evaluator { return fakeRules{} }, current.Load)
	var out engine.Output
	e.Tick(t0, &out)

	last := e.Version()
	step := func(name string, moved bool, act func()) {
		t.Helper()
		act()
		v := e.Version()
		if moved {
			require.NotEqual(t, last, v, "%s: the version moves", name)
		} else {
			require.Equal(t, last, v, "%s: the version stays", name)
		}
		last = v
	}
	step("a blacklisted visitor turns S1 red", true, func() {
		require.NoError(t, e.Apply(entry("a", "S1", "blacklist", "东门", t0), &out))
	})
	step("the same visitor again changes nothing shown", false, func() {
		require.NoError(t, e.Apply(entry("b", "S1", "blacklist", "东门", t0.Add(time.Minute)), &out))
	})
	step("a duplicate event", false, func() {
		require.ErrorIs(t, e.Apply(entry("b", "S1", "blacklist", "东门", t0.Add(time.Minute)), &out), engine.ErrDuplicate)
	})
	step("an event with no match", false, func() {
		require.NoError(t, e.Apply(entry("c", "S2", "", "东门", t0.Add(2*time.Minute)), &out))
	})
	step("a second risk of S1, same colour, one more active risk", true, func() {
		require.NoError(t, e.Apply(entry("d", "S1", "watch", "西门", t0.Add(3*time.Minute)), &out))
	})
	step("a tick with nothing running out", false, func() { e.Tick(t0.Add(4*time.Minute), &out) })
	step("the watch risk runs out", true, func() { e.Tick(t0.Add(2*time.Hour), &out) })
	step("a person resolves the blacklist risk", true, func() {
		require.NoError(t, e.Resolve("S1", "blacklist", "", "王老师", "核实无误", t0.Add(3*time.Hour), &out))
	})
	step("resolving it again is refused", false, func() {
		require.ErrorIs(t, e.Resolve("S1", "blacklist", "", "王老师", "", t0.Add(3*time.Hour), &out), engine.ErrNoSuchRisk)
	})
	step("the registry is reloaded", true, func() { current.Store(regB) })
	step("and read again", false, func() {})
	require.Equal(t, "一小（新址）", e.Views(nil)[0].School.Name)
}
