package engine_test

import (
	"fmt"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

// fakeRules matches visitor entries by watchlist: blacklist is high (24h),
// watch is medium (1h).
type fakeRules struct{}

func (fakeRules) NewState() engine.RuleState { return nil }

func (fakeRules) Evaluate(ev *engine.Event, _ *engine.School, _ engine.RuleState, out []engine.Match) ([]engine.Match, error) {
	switch get(ev, "watchlist") {
	case "blacklist":
		out = append(out, engine.Match{Rule: "blacklist", Severity: engine.SeverityHigh, Title: "禁入" + get(ev, "gate"), For: 24 * time.Hour})
	case "watch":
		out = append(out, engine.Match{Rule: "watch", Key: get(ev, "gate"), Severity: engine.SeverityMedium, Title: "关注", For: time.Hour})
	case "cleared":
		out = append(out, engine.Match{Rule: "blacklist", Clear: true})
	}
	return out, nil
}

func (fakeRules) Horizon() time.Duration { return 24 * time.Hour }

func (fakeRules) Check(_, _ time.Time, _ *engine.School, _ engine.RuleState, out []engine.Match) []engine.Match {
	return out
}

func (fakeRules) Escalate(*engine.School, []*engine.Risk) (engine.Level, string, string) {
	return engine.LevelGreen, "", ""
}

func newEngine(t *testing.T) *engine.Engine {
	t.Helper()
	reg, err := engine.NewRegistry([]engine.School{{ID: "S1", Name: "一小", District: "南湖区"}, {ID: "S2", Name: "二小", District: "秀洲区"}})
	require.NoError(t, err)
	return engine.New(func() engine.Evaluator { return fakeRules{} }, func() *engine.Registry { return reg })
}

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, engine.Shanghai)

func entry(id, school, watchlist, gate string, at time.Time) *engine.Event {
	ev := &engine.Event{ID: id, SchoolID: school, Source: engine.SourceVisitor, Type: "entry", OccurredAt: at}
	set(ev, "watchlist", watchlist)
	set(ev, "gate", gate)
	return ev
}

// The slots the fake rules read the watchlist and gate from. The engine
// never reads an event's values (rules do, by the contract's slots), so the
// test's own layout will do, and engine stays free of engine/event.
const (
	slotWatchlist = iota
	slotGate
)

var fieldSlots = map[string]int{"watchlist": slotWatchlist, "gate": slotGate}

// set sets the string field name of ev.
func set(ev *engine.Event, name, value string) { ev.Set(fieldSlots[name], engine.StrValue(value)) }

// get returns the string field name of ev.
func get(ev *engine.Event, name string) string { return ev.Value(fieldSlots[name]).Str() }

func TestColourFollowsRisks(t *testing.T) {
	e := newEngine(t)
	var out engine.Output
	e.Tick(t0, &out)

	require.NoError(t, e.Apply(entry("e1", "S1", "watch", "东门", t0), &out))
	require.Len(t, out.Changes, 1)
	require.Equal(t, engine.LevelGreen, out.Changes[0].From)
	require.Equal(t, engine.LevelYellow, out.Changes[0].To)
	require.Equal(t, "e1", out.Changes[0].EventID)
	cause := out.Changes[0].Cause
	require.Equal(t, engine.RiskOpened, cause.How)
	require.Equal(t, "watch", cause.Rule)
	require.Equal(t, engine.SeverityMedium, cause.Severity)
	require.Equal(t, "关注", cause.Title)

	require.NoError(t, e.Apply(entry("e2", "S1", "blacklist", "东门", t0.Add(time.Minute)), &out))
	require.Len(t, out.Changes, 2)
	require.Equal(t, engine.LevelRed, out.Changes[1].To)

	v, ok := e.View("S1")
	require.True(t, ok)
	require.Equal(t, engine.LevelRed, v.Level)
	require.Len(t, v.Risks, 2)
	require.Equal(t, "blacklist", v.Risks[0].Rule, "the most serious risk comes first")
	require.Equal(t, engine.LevelRed, e.Level("S1"))
	require.Equal(t, engine.LevelGreen, e.Level("S2"), "a school without state is green")

	// The watch risk expires after an hour; the school stays red.
	out.Reset()
	e.Tick(t0.Add(61*time.Minute), &out)
	require.Len(t, out.Transitions, 1)
	require.Equal(t, engine.RiskExpired, out.Transitions[0].State)
	require.Empty(t, out.Changes)

	// The blacklist risk expires after a day: green again, the cause says why.
	out.Reset()
	e.Tick(t0.Add(25*time.Hour), &out)
	require.Len(t, out.Changes, 1)
	require.Equal(t, engine.LevelGreen, out.Changes[0].To)
	require.Equal(t, t0.Add(time.Minute+24*time.Hour), out.Changes[0].At, "the change happens when the risk ran out")
	require.Equal(t, engine.RiskExpired, out.Changes[0].Cause.How)
}

func TestExpiryStepsDownOneCauseAtATime(t *testing.T) {
	e := newEngine(t)
	var out engine.Output
	e.Tick(t0, &out)
	require.NoError(t, e.Apply(entry("e1", "S1", "blacklist", "", t0), &out))
	require.NoError(t, e.Apply(entry("e2", "S1", "watch", "北门", t0.Add(23*time.Hour+30*time.Minute)), &out))
	out.Reset()
	// One tick long after both ran out still records red→yellow, then yellow→green.
	e.Tick(t0.Add(48*time.Hour), &out)
	require.Len(t, out.Changes, 2)
	require.Equal(t, []engine.Level{engine.LevelYellow, engine.LevelGreen}, []engine.Level{out.Changes[0].To, out.Changes[1].To})
	require.True(t, out.Changes[0].At.Before(out.Changes[1].At))
}

func TestRepeatedEventsUpdateOneRisk(t *testing.T) {
	e := newEngine(t)
	var out engine.Output
	e.Tick(t0, &out)
	for i, id := range []string{"a", "b", "c"} {
		require.NoError(t, e.Apply(entry(id, "S1", "blacklist", "", t0.Add(time.Duration(i)*time.Minute)), &out))
	}
	v, _ := e.View("S1")
	require.Len(t, v.Risks, 1)
	r := v.Risks[0]
	require.Equal(t, 3, r.Count)
	require.Equal(t, []string{"a", "b", "c"}, r.Evidence)
	require.Equal(t, t0, r.FirstSeen)
	require.Equal(t, t0.Add(2*time.Minute), r.LastSeen)
	require.Equal(t, t0.Add(2*time.Minute+24*time.Hour), r.Until)
	require.Len(t, out.Changes, 1, "one colour change for the first event only")
	require.Len(t, out.Transitions, 1, "repeats that change nothing people see are not transitions")
	require.Equal(t, engine.RiskOpened, out.Transitions[0].State)

	// A repeat that changes the title is recorded.
	ev := entry("d", "S1", "blacklist", "", t0.Add(3*time.Minute))
	set(ev, "gate", "北门")
	require.NoError(t, e.Apply(ev, &out))
	require.Len(t, out.Transitions, 2)
	require.Equal(t, engine.RiskUpdated, out.Transitions[1].State)
	require.Equal(t, "禁入北门", out.Transitions[1].Risk.Title)
	require.Equal(t, 4, out.Transitions[1].Risk.Count)
}

func TestDuplicateEventHasNoEffect(t *testing.T) {
	e := newEngine(t)
	var out engine.Output
	e.Tick(t0, &out)
	require.NoError(t, e.Apply(entry("a", "S1", "blacklist", "", t0), &out))
	n := out.Len()
	require.ErrorIs(t, e.Apply(entry("a", "S1", "blacklist", "", t0), &out), engine.ErrDuplicate)
	require.Equal(t, n, out.Len())
	v, _ := e.View("S1")
	require.Equal(t, 1, v.Risks[0].Count)
}

// A producer's copy of an event is recognised while its id is among the
// last RecentIDs events of its school, whatever other schools send; a copy
// sent later is applied again and counted a second time.
func TestDuplicateWithinRecentIDs(t *testing.T) {
	tests := []struct {
		name      string
		between   int // events of the same school between the event and its copy
		elsewhere int // events of another school between them
		duplicate bool
	}{
		{name: "right after", duplicate: true},
		{name: "after as many others as the window holds less one", between: engine.RecentIDs - 1, duplicate: true},
		{name: "other schools do not push it out", between: engine.RecentIDs - 1, elsewhere: 10 * engine.RecentIDs, duplicate: true},
		{name: "after as many others as the window holds", between: engine.RecentIDs, duplicate: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t)
			var out engine.Output
			e.Tick(t0, &out)
			require.NoError(t, e.Apply(entry("dup", "S1", "blacklist", "", t0), &out))
			for i := range tt.between {
				require.NoError(t, e.Apply(entry(fmt.Sprint("s1-", i), "S1", "none", "", t0), &out))
			}
			for i := range tt.elsewhere {
				require.NoError(t, e.Apply(entry(fmt.Sprint("s2-", i), "S2", "none", "", t0), &out))
			}
			n := out.Len()
			err := e.Apply(entry("dup", "S1", "blacklist", "", t0), &out)
			v, _ := e.View("S1")
			if tt.duplicate {
				require.ErrorIs(t, err, engine.ErrDuplicate)
				require.Equal(t, n, out.Len(), "a duplicate records nothing")
				require.Equal(t, 1, v.Risks[0].Count)
				return
			}
			require.NoError(t, err)
			require.Equal(t, 2, v.Risks[0].Count, "a copy sent later than the window is counted again")
			require.Equal(t, []string{"dup", "dup"}, v.Risks[0].Evidence)
		})
	}
}

// A copy of an event sent after more than RecentIDs other events of its
// school is applied again: it opens again a risk that a later event
// cleared, but not one a person resolved, nor one whose time is over.
func TestLateCopyOfAnEvent(t *testing.T) {
	tests := []struct {
		name     string
		then     func(e *engine.Engine, out *engine.Output) // after the event, before the others
		wantOpen bool
	}{
		{name: "cleared by a later event", wantOpen: true, then: func(e *engine.Engine, out *engine.Output) {
			require.NoError(t, e.Apply(entry("clear", "S1", "cleared", "", t0.Add(time.Minute)), out))
		}},
		{name: "resolved by a person", then: func(e *engine.Engine, out *engine.Output) {
			require.NoError(t, e.Resolve("S1", "blacklist", "", "王科长", "已处置", t0.Add(time.Minute), out))
		}},
		{name: "its time is over", then: func(e *engine.Engine, out *engine.Output) {
			e.Tick(t0.Add(25*time.Hour), out)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t)
			var out engine.Output
			e.Tick(t0, &out)
			require.NoError(t, e.Apply(entry("late", "S1", "blacklist", "", t0), &out))
			tt.then(e, &out)
			v, _ := e.View("S1")
			require.Empty(t, v.Risks)
			for i := range engine.RecentIDs {
				require.NoError(t, e.Apply(entry(fmt.Sprint("s1-", i), "S1", "none", "", t0.Add(2*time.Minute)), &out))
			}
			require.NoError(t, e.Apply(entry("late", "S1", "blacklist", "", t0), &out))
			v, _ = e.View("S1")
			if tt.wantOpen {
				require.Len(t, v.Risks, 1, "the copy opens the risk again")
				return
			}
			require.Empty(t, v.Risks)
		})
	}
}

// The recent ids of a school are forgotten with the rest of its state once
// its last event lies before the horizon.
func TestRecentIDsForgottenAfterHorizon(t *testing.T) {
	e := newEngine(t)
	var out engine.Output
	e.Tick(t0, &out)
	require.NoError(t, e.Apply(entry("a", "S1", "none", "", t0), &out))
	_, state := e.State()
	require.Equal(t, []string{"a"}, state["S1"].Recent)
	e.Tick(t0.Add(25*time.Hour), &out)
	_, state = e.State()
	require.NotContains(t, state, "S1", "nothing is kept of a school whose last event is older than the horizon")
	require.NoError(t, e.Apply(entry("a", "S1", "none", "", t0.Add(25*time.Hour)), &out), "an id older than the horizon is not remembered")
}

func TestLateEventPastItsTimeOpensNothing(t *testing.T) {
	e := newEngine(t)
	var out engine.Output
	e.Tick(t0, &out)
	require.NoError(t, e.Apply(entry("old", "S1", "watch", "", t0.Add(-2*time.Hour)), &out))
	require.Empty(t, out.Transitions)
	v, _ := e.View("S1")
	require.Equal(t, engine.LevelGreen, v.Level)
}

// memoryRules is fakeRules that also remembers, per gate, a window of the
// entries of the last hour and when the gate was last used, so that the
// state has rule state to compare.
type memoryRules struct{ fakeRules }

// gateMemory is memoryRules' state of one school.
type gateMemory struct {
	Window   map[string][]string // event ids per gate, within the hour
	At       map[string][]time.Time
	LastSeen map[string]time.Time
}

func (memoryRules) NewState() engine.RuleState {
	return &gateMemory{Window: map[string][]string{}, At: map[string][]time.Time{}, LastSeen: map[string]time.Time{}}
}

func (m *gateMemory) Prune(before time.Time) {
	for gate, ts := range m.At {
		i := 0
		for i < len(ts) && ts[i].Before(before) {
			i++
		}
		m.At[gate], m.Window[gate] = ts[i:], m.Window[gate][i:]
	}
}

func (m *gateMemory) Empty() bool { return len(m.LastSeen) == 0 }

func (m *gateMemory) Len() int {
	n := len(m.LastSeen)
	for _, w := range m.Window {
		n += len(w)
	}
	return n
}

func (r memoryRules) Evaluate(ev *engine.Event, s *engine.School, state engine.RuleState, out []engine.Match) ([]engine.Match, error) {
	m := state.(*gateMemory)
	m.Window[get(ev, "gate")] = append(m.Window[get(ev, "gate")], ev.ID)
	m.At[get(ev, "gate")] = append(m.At[get(ev, "gate")], ev.OccurredAt)
	m.Prune(ev.OccurredAt.Add(-time.Hour))
	m.LastSeen[get(ev, "gate")] = ev.OccurredAt
	return r.fakeRules.Evaluate(ev, s, state, out)
}

// Replaying the stored events and resolutions after a restart gives the same
// state as the run that saw them live: risks, colours, windows and the ids
// it recognises as duplicates.
func TestReplayGivesSameState(t *testing.T) {
	reg, err := engine.NewRegistry([]engine.School{{ID: "S1", Name: "一小", District: "南湖区"}, {ID: "S2", Name: "二小", District: "秀洲区"}})
	require.NoError(t, err)
	newEngine := func() *engine.Engine {
		return engine.New(func() engine.Evaluator { return memoryRules{} }, func() *engine.Registry { return reg })
	}
	events := []*engine.Event{
		entry("1", "S1", "watch", "东门", t0),
		entry("2", "S1", "blacklist", "", t0.Add(10*time.Minute)),
		entry("3", "S2", "watch", "北门", t0.Add(20*time.Minute)),
		entry("4", "S1", "watch", "东门", t0.Add(30*time.Minute)),
		entry("5", "S2", "watch", "西门", t0.Add(2*time.Hour)),
	}
	resolvedAt := t0.Add(40 * time.Minute)
	end := t0.Add(150 * time.Minute)

	live := newEngine()
	var out engine.Output
	for _, ev := range events {
		if ev.OccurredAt.After(resolvedAt) && live.Now().Before(resolvedAt) {
			live.Tick(resolvedAt, &out)
			require.NoError(t, live.Resolve("S2", "watch", "北门", "王科长", "已处置", resolvedAt, &out))
		}
		live.Tick(ev.OccurredAt, &out)
		require.NoError(t, live.Apply(ev, &out))
	}
	live.Tick(end, &out)

	replay := newEngine()
	stored := func(apply func(*engine.Event) error) error {
		for _, ev := range events {
			if err := apply(ev); err != nil {
				return err
			}
		}
		return nil
	}
	resolutions := []engine.RiskTransition{{SchoolID: "S2", At: resolvedAt, State: engine.RiskResolved,
		Risk: engine.Risk{Rule: "watch", Key: "北门"}}}
	var restored engine.Output
	n, err := replay.Restore(stored, resolutions, end, &restored)
	require.NoError(t, err)
	require.Equal(t, len(events), n)

	liveNow, liveState := live.State()
	replayNow, replayState := replay.State()
	require.Equal(t, liveNow, replayNow)
	// The scenario leaves something to compare in every part of the state.
	require.Equal(t, engine.LevelRed, liveState["S1"].Level)
	require.Equal(t, engine.LevelYellow, liveState["S2"].Level)
	require.Len(t, liveState["S1"].Recent, 3)
	require.NotEmpty(t, liveState["S2"].Rules.(*gateMemory).Window["西门"])
	require.NotEmpty(t, liveState["S2"].Rules.(*gateMemory).LastSeen)
	require.NotEmpty(t, liveState["S2"].Resolved)
	require.Equal(t, liveState, replayState)

	// A redelivered event after the replay is recognised, as it is live.
	require.ErrorIs(t, replay.Apply(events[4], &out), engine.ErrDuplicate)
	require.ErrorIs(t, live.Apply(events[4], &out), engine.ErrDuplicate)
}

func TestViewsListEverySchool(t *testing.T) {
	e := newEngine(t)
	var out engine.Output
	e.Tick(t0, &out)
	require.NoError(t, e.Apply(entry("a", "S2", "blacklist", "", t0), &out))
	views := e.Views(nil)
	require.Len(t, views, 2)
	require.Equal(t, engine.LevelGreen, views[0].Level)
	require.True(t, views[0].Since.IsZero())
	require.Equal(t, engine.LevelRed, views[1].Level)
	require.Equal(t, t0, views[1].Since)
	require.Equal(t, 1, views[1].ActiveRisks)
	only := e.Views(func(s *engine.School) bool { return s.District == "南湖区" })
	require.Len(t, only, 1)
	require.Equal(t, "S1", only[0].School.ID)
}

func TestDropRisksOfRemovedRules(t *testing.T) {
	e := newEngine(t)
	var out engine.Output
	e.Tick(t0, &out)
	require.NoError(t, e.Apply(entry("a", "S1", "blacklist", "", t0), &out))
	require.NoError(t, e.Apply(entry("b", "S1", "watch", "东门", t0), &out))
	out.Reset()
	e.DropRisks(func(rule string) bool { return rule != "blacklist" }, t0.Add(time.Minute), &out)
	v, _ := e.View("S1")
	require.Equal(t, engine.LevelYellow, v.Level, "the watch risk survives; the removed rule's risk is gone")
	require.Len(t, v.Risks, 1)
	require.Equal(t, "watch", v.Risks[0].Rule)
	require.Len(t, out.Transitions, 1)
	require.Equal(t, engine.RiskRemoved, out.Transitions[0].State)
	require.Len(t, out.Changes, 1)
	require.Equal(t, engine.RiskRemoved, out.Changes[0].Cause.How)
}

func TestResolvedRiskIsNotReopenedByEarlierEvents(t *testing.T) {
	e := newEngine(t)
	var out engine.Output
	e.Tick(t0, &out)
	require.ErrorIs(t, e.Resolve("S1", "blacklist", "", "王科长", "已处置", t0, &out), engine.ErrNoSuchRisk)
	require.NoError(t, e.Apply(entry("a", "S1", "blacklist", "", t0), &out))
	out.Reset()
	require.NoError(t, e.Resolve("S1", "blacklist", "", "王科长", "已处置", t0.Add(time.Hour), &out))
	require.Len(t, out.Transitions, 1)
	require.Equal(t, engine.RiskResolved, out.Transitions[0].State)
	require.Equal(t, "王科长", out.Transitions[0].Actor)
	require.Equal(t, engine.LevelGreen, out.Changes[0].To)
	require.Equal(t, engine.RiskResolved, out.Changes[0].Cause.How)

	// An event from before the resolution (late, or re-delivered) does not reopen it ...
	require.NoError(t, e.Apply(entry("b", "S1", "blacklist", "", t0.Add(30*time.Minute)), &out))
	v, _ := e.View("S1")
	require.Equal(t, engine.LevelGreen, v.Level)
	// ... a new one does.
	require.NoError(t, e.Apply(entry("c", "S1", "blacklist", "", t0.Add(2*time.Hour)), &out))
	v, _ = e.View("S1")
	require.Equal(t, engine.LevelRed, v.Level)

	// A restored resolution works the same on a fresh engine.
	f := newEngine(t)
	f.Tick(t0, &out)
	f.RestoreResolution("S1", "blacklist", "", t0.Add(time.Hour))
	f.Tick(t0.Add(time.Minute), &out)
	require.NoError(t, f.Apply(entry("a", "S1", "blacklist", "", t0), &out))
	v, _ = f.View("S1")
	require.Equal(t, engine.LevelGreen, v.Level)
}

func TestRestoreAppliesResolutionsInOrder(t *testing.T) {
	events := []*engine.Event{
		entry("1", "S1", "blacklist", "", t0),
		entry("2", "S2", "blacklist", "", t0),
		entry("3", "S2", "blacklist", "", t0.Add(2*time.Hour)),
	}
	stored := func(apply func(*engine.Event) error) error {
		for _, ev := range events {
			if err := apply(ev); err != nil {
				return err
			}
		}
		return nil
	}
	resolved := []engine.RiskTransition{
		{SchoolID: "S1", At: t0.Add(time.Hour), State: engine.RiskResolved, Risk: engine.Risk{Rule: "blacklist"}},
		{SchoolID: "S2", At: t0.Add(time.Hour), State: engine.RiskResolved, Risk: engine.Risk{Rule: "blacklist"}},
	}
	e := newEngine(t)
	var out engine.Output
	_, err := e.Restore(stored, resolved, t0.Add(3*time.Hour), &out)
	require.NoError(t, err)
	v, _ := e.View("S1")
	require.Equal(t, engine.LevelGreen, v.Level, "resolved, and nothing newer")
	v, _ = e.View("S2")
	require.Equal(t, engine.LevelRed, v.Level, "an event after the resolution opens the risk again")
	require.Equal(t, []string{"3"}, v.Risks[0].Evidence)
	require.Empty(t, out.Changes, "nothing but what ran out after the replay is recorded")
}

func TestTextCacheHandsOutOneStringPerText(t *testing.T) {
	var c engine.TextCache
	a := c.Intern([]byte("新增高风险：禁入名单"), 2)
	b := c.Intern([]byte("新增高风险：禁入名单"), 2)
	require.Equal(t, "新增高风险：禁入名单", a)
	require.True(t, unsafe.StringData(a) == unsafe.StringData(b), "the same text is the same string")
	c.Intern([]byte("二"), 2)
	d := c.Intern([]byte("三"), 2) // full: starts afresh
	require.Equal(t, "三", d)
	e := c.Intern([]byte("新增高风险：禁入名单"), 2)
	require.Equal(t, a, e)
	require.True(t, unsafe.StringData(a) != unsafe.StringData(e), "forgotten when the cache started afresh")
}
