package hazard

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/words"
)

// rodentRules is a one-rule Evaluator: a canteen AI violation "rodent" opens
// a high, manual risk keyed by the event's zone (its device), the kind of
// rule that carries a hazard spec.
type rodentRules struct{}

func (rodentRules) NewState() engine.RuleState { return nil }

func (rodentRules) Evaluate(ev *engine.Event, _ *engine.School, _ engine.RuleState, out []engine.Match) ([]engine.Match, error) {
	if v, _ := event.Builtin().Value(ev, "violation"); ev.Source == engine.SourceCanteen && v.Str() == "rodent" {
		out = append(out, engine.Match{Rule: "canteen.rodent", Key: "后厨", Severity: engine.SeverityHigh,
			Title: "后厨发现老鼠", Manual: true})
	}
	return out, nil
}

// rodent returns a canteen AI violation "rodent" at school S1.
func rodent(id string, at time.Time) *engine.Event {
	ev := &engine.Event{ID: id, SchoolID: "S1", Source: engine.SourceCanteen, Type: "ai_violation", OccurredAt: at}
	r, _ := event.Builtin().Source(engine.SourceCanteen).Readable("violation")
	ev.Set(r.Slot, engine.StrValue("rodent"))
	return ev
}

func (rodentRules) Check(_, _ time.Time, _ *engine.School, _ engine.RuleState, out []engine.Match) []engine.Match {
	return out
}

func (rodentRules) Escalate(*engine.School, []*engine.Risk) (engine.Level, string, string) {
	return engine.LevelGreen, "", ""
}

func (rodentRules) Horizon() time.Duration { return 24 * time.Hour }

// engineRisks applies the Manager's acts to a real engine, as the
// composition root does, keeps the colour changes they caused, and hands
// the transitions to observe (the write path's subscriber) when set.
type engineRisks struct {
	eng     *engine.Engine
	observe func(*engine.Output)

	mu      sync.Mutex
	changes []engine.LevelChange
}

func (r *engineRisks) OpenRisk(_ context.Context, schoolID string, m engine.Match, at time.Time) error {
	var out engine.Output
	err := r.eng.Open(schoolID, m, at, &out)
	r.record(&out)
	return err
}

func (r *engineRisks) ResolveRisk(_ context.Context, schoolID, rule, key, by, comment string, at time.Time) error {
	var out engine.Output
	err := r.eng.Resolve(schoolID, rule, key, by, comment, at, &out)
	r.record(&out)
	return err
}

func (r *engineRisks) record(out *engine.Output) {
	r.mu.Lock()
	r.changes = append(r.changes, out.Changes...)
	r.mu.Unlock()
	if r.observe != nil {
		r.observe(out)
	}
}

// restore opens what Manager.Restore returned in the engine, recording
// nothing, as the composition root does.
func restore(t *testing.T, m *Manager, eng *engine.Engine) {
	t.Helper()
	opens, err := m.Restore(t.Context())
	require.NoError(t, err)
	var discard engine.Output
	for _, o := range opens {
		require.NoError(t, eng.Open(o.SchoolID, o.Match, o.At, &discard))
	}
}

// realFixture is a Manager over the real engine.
type realFixture struct {
	eng   *engine.Engine
	risks *engineRisks
	m     *Manager
	store *fakeStore
	clock *clock
}

func newRealFixture(t *testing.T) *realFixture {
	t.Helper()
	reg, err := engine.NewRegistry([]engine.School{
		{ID: "S1", Name: "南湖区实验小学", District: "南湖区", Canteen: true},
		{ID: "S2", Name: "秀洲区第二中学", District: "秀洲区", Canteen: true},
	})
	require.NoError(t, err)
	f := &realFixture{
		eng:   engine.New(func() engine.Evaluator { return rodentRules{} }, func() *engine.Registry { return reg }),
		store: newFakeStore(),
		clock: &clock{t: t0},
	}
	var out engine.Output
	f.eng.Tick(t0, &out)
	f.risks = &engineRisks{eng: f.eng}
	f.m = f.newManager(f.eng, f.risks)
	restore(t, f.m, f.eng)
	return f
}

func (f *realFixture) newManager(eng *engine.Engine, risks Risks) *Manager {
	return New(f.store, risks, Options{Now: f.clock.now, School: func(id string) *engine.School {
		v, ok := eng.View(id)
		if !ok {
			return nil
		}
		return v.School
	}})
}

// level returns the school's colour and the cause of its last change.
func (f *realFixture) level(t *testing.T, school string) (engine.Level, string) {
	t.Helper()
	v, ok := f.eng.View(school)
	require.True(t, ok)
	return v.Level, words.Cause(v.Cause, words.Chinese)
}

func (f *realFixture) emittedChanges() []engine.LevelChange {
	f.risks.mu.Lock()
	defer f.risks.mu.Unlock()
	return append([]engine.LevelChange(nil), f.risks.changes...)
}

func TestEngineColourFollowsHazard(t *testing.T) {
	f := newRealFixture(t)
	ctx := t.Context()
	step := func(id string, a Action, by, comment string) {
		t.Helper()
		f.clock.advance(time.Hour)
		_, err := f.m.Transition(ctx, id, a, by, comment, nil)
		require.NoError(t, err)
	}

	h, err := f.m.Create(ctx, NewHazard{
		SchoolID: "S1", Title: "学校东侧河道护栏破损", Category: CategoryDrowning, Responsible: "王副校长",
		Deadline: t0.Add(72 * time.Hour), By: "李督学",
	})
	require.NoError(t, err)
	level, cause := f.level(t, "S1")
	require.Equal(t, engine.LevelYellow, level, "a medium hazard turns the school yellow")
	require.Contains(t, cause, "隐患：学校东侧河道护栏破损")
	v, _ := f.eng.View("S1")
	require.Len(t, v.Risks, 1)
	require.Equal(t, engine.Risk{
		Rule: RiskRule, Key: h.ID, Source: engine.SourceDrowning, Severity: engine.SeverityMedium,
		Title: "隐患：学校东侧河道护栏破损", Description: "隐患 " + h.ID + "（防溺水），整改责任人：王副校长，整改期限：2026-11-28 09:00",
		FirstSeen: t0.UTC(), LastSeen: t0.UTC(), Count: 1, Manual: true,
	}, normalise(v.Risks[0]))

	for _, s := range []struct {
		action   Action
		by, note string
	}{
		{ActionStart, "王副校长", "已安排维修"},
		{ActionSubmit, "王副校长", "护栏已更换"},
		{ActionReject, "李督学", "警示牌未设置"},
		{ActionSubmit, "王副校长", "警示牌已设置"},
	} {
		step(h.ID, s.action, s.by, s.note)
		level, _ := f.level(t, "S1")
		require.Equal(t, engine.LevelYellow, level, "still yellow after %s", s.action)
	}

	// Time passes; the engine's own clock does not end a manual risk.
	var out engine.Output
	f.eng.Tick(t0.Add(48*time.Hour), &out)
	level, _ = f.level(t, "S1")
	require.Equal(t, engine.LevelYellow, level)

	step(h.ID, ActionVerify, "李督学", "复查合格，同意销号")
	level, cause = f.level(t, "S1")
	require.Equal(t, engine.LevelGreen, level, "verified: green again")
	require.Contains(t, cause, "隐患：学校东侧河道护栏破损")

	changes := f.emittedChanges()
	require.Len(t, changes, 2, "yellow when registered, green when verified")
	require.Equal(t, []engine.Level{engine.LevelYellow, engine.LevelGreen}, []engine.Level{changes[0].To, changes[1].To})
	require.Equal(t, RiskRule, changes[1].Cause.Rule)
}

func TestEngineOverdueHazardTurnsSchoolRed(t *testing.T) {
	f := newRealFixture(t)
	ctx := t.Context()
	h, err := f.m.Create(ctx, NewHazard{
		SchoolID: "S2", Title: "门卫室未配备防暴器材", Category: CategoryGate, Level: engine.SeverityMedium,
		Responsible: "保卫科", Deadline: t0.Add(24 * time.Hour), By: "李督学",
	})
	require.NoError(t, err)
	level, _ := f.level(t, "S2")
	require.Equal(t, engine.LevelYellow, level)

	require.Empty(t, f.m.Overdue(t.Context(), t0.Add(23*time.Hour)))
	now := t0.Add(25 * time.Hour)
	f.clock.set(now)
	due := f.m.Overdue(t.Context(), now)
	require.Len(t, due, 1)
	level, cause := f.level(t, "S2")
	require.Equal(t, engine.LevelRed, level, "overdue: one step up")
	require.Contains(t, cause, "隐患逾期未整改（挂牌督办）：门卫室未配备防暴器材")
	v, _ := f.eng.View("S2")
	require.Len(t, v.Risks, 1, "the same risk, raised")
	require.Equal(t, engine.SeverityHigh, v.Risks[0].Severity)

	// Still red until verified, whatever the status.
	for _, a := range []Action{ActionStart, ActionSubmit} {
		_, err := f.m.Transition(ctx, h.ID, a, "保卫科", "已配备", nil)
		require.NoError(t, err)
		level, _ := f.level(t, "S2")
		require.Equal(t, engine.LevelRed, level)
	}
	_, err = f.m.Transition(ctx, h.ID, ActionVerify, "李督学", "已配备钢叉、盾牌", nil)
	require.NoError(t, err)
	level, _ = f.level(t, "S2")
	require.Equal(t, engine.LevelGreen, level)

	changes := f.emittedChanges()
	var to []engine.Level
	for _, c := range changes {
		to = append(to, c.To)
	}
	require.Equal(t, []engine.Level{engine.LevelYellow, engine.LevelRed, engine.LevelGreen}, to)
}

func TestEngineLowHazardOverdueTurnsYellow(t *testing.T) {
	f := newRealFixture(t)
	_, err := f.m.Create(t.Context(), NewHazard{
		SchoolID: "S1", Title: "消防通道堆放杂物", Category: CategoryFire, Level: engine.SeverityLow,
		Responsible: "后勤主任", Deadline: t0.Add(time.Hour), By: "李督学",
	})
	require.NoError(t, err)
	level, _ := f.level(t, "S1")
	require.Equal(t, engine.LevelGreen, level, "a low hazard leaves the school green")
	f.m.Overdue(t.Context(), t0.Add(2*time.Hour))
	level, _ = f.level(t, "S1")
	require.Equal(t, engine.LevelYellow, level, "overdue: low goes up to medium")
}

func TestEngineRuleHazard(t *testing.T) {
	f := newRealFixture(t)
	var out engine.Output
	ev := rodent("ev-rat-1", t0.Add(time.Minute))
	require.NoError(t, f.eng.Apply(ev, &out))
	require.Len(t, out.Transitions, 1)
	spec := Spec{Category: CategoryFood, Deadline: 24 * time.Hour, Responsible: "食堂负责人"}
	// What the serving pipeline does with every stored transition.
	for _, tr := range out.Transitions {
		f.m.ObserveTransition(tr, spec)
		f.m.ObserveTransition(tr, spec)
	}
	list := f.m.List(Filter{})
	require.Len(t, list, 1)
	h := list[0]
	require.Equal(t, Origin{Rule: "canteen.rodent", Key: "后厨", Source: engine.SourceCanteen}, h.Origin)
	v, _ := f.eng.View("S1")
	require.Len(t, v.Risks, 1, "no second risk: the rule's holds the colour")
	require.Equal(t, engine.LevelRed, v.Level)

	// Overdue: the rule's risk is already high; its title says it is supervised.
	f.m.Overdue(t.Context(), t0.Add(25*time.Hour))
	v, _ = f.eng.View("S1")
	require.Len(t, v.Risks, 1)
	require.Equal(t, "隐患逾期未整改（挂牌督办）：后厨发现老鼠", v.Risks[0].Title)

	f.clock.set(t0.Add(26 * time.Hour))
	for _, a := range []Action{ActionStart, ActionSubmit, ActionVerify} {
		_, err := f.m.Transition(t.Context(), h.ID, a, "李督学", "已灭鼠、封堵鼠洞", nil)
		require.NoError(t, err)
	}
	v, _ = f.eng.View("S1")
	require.Equal(t, engine.LevelGreen, v.Level, "verifying resolved the rule's risk")
	require.Empty(t, v.Risks)
}

func TestEngineRestore(t *testing.T) {
	f := newRealFixture(t)
	ctx := t.Context()
	_, err := f.m.Create(ctx, NewHazard{SchoolID: "S1", Title: "食堂排烟管道油污", Category: CategoryFire,
		Responsible: "后勤主任", Deadline: t0.Add(72 * time.Hour), By: "李督学"})
	require.NoError(t, err)
	_, err = f.m.Create(ctx, NewHazard{SchoolID: "S2", Title: "围墙监控盲区", Category: CategoryGate,
		Responsible: "保卫科", Deadline: t0.Add(time.Hour), By: "李督学"})
	require.NoError(t, err)
	now := t0.Add(2 * time.Hour)
	f.clock.set(now)
	require.Len(t, f.m.Overdue(ctx, now), 1)

	// A restart: a new engine (its replay has no events here) and manager.
	reg, err := engine.NewRegistry([]engine.School{{ID: "S1"}, {ID: "S2"}})
	require.NoError(t, err)
	eng := engine.New(func() engine.Evaluator { return rodentRules{} }, func() *engine.Registry { return reg })
	var out engine.Output
	eng.Tick(now, &out)
	m := f.newManager(eng, &engineRisks{eng: eng})
	restore(t, m, eng)
	for school, want := range map[string]engine.Level{"S1": engine.LevelYellow, "S2": engine.LevelRed} {
		v, _ := eng.View(school)
		require.Equal(t, want, v.Level, school)
	}
	v, _ := eng.View("S2")
	require.Equal(t, now.UTC(), v.Since.UTC(), "red since the supervision")
}

// normalise returns r with its times in UTC, as the Manager hands them to
// the engine, and without empty slices.
func normalise(r engine.Risk) engine.Risk {
	r.FirstSeen, r.LastSeen = r.FirstSeen.UTC(), r.LastSeen.UTC()
	if len(r.Evidence) == 0 {
		r.Evidence = nil
	}
	return r
}

// TestEngineRisksMayObserve wires the Manager as the composition root does:
// what its acts cause in the engine goes through the write path, whose
// subscriber calls ObserveTransition. Supervising a rule's hazard whose risk
// a person had already resolved opens the rule's risk again; that opening
// must neither deadlock nor open a second hazard.
func TestEngineRisksMayObserve(t *testing.T) {
	reg, err := engine.NewRegistry([]engine.School{{ID: "S1", Canteen: true}})
	require.NoError(t, err)
	eng := engine.New(func() engine.Evaluator { return rodentRules{} }, func() *engine.Registry { return reg })
	var out engine.Output
	eng.Tick(t0, &out)
	specs := map[string]Spec{"canteen.rodent": {Category: CategoryFood, Deadline: time.Hour}}
	var m *Manager
	observe := func(out *engine.Output) {
		for _, tr := range out.Transitions {
			m.ObserveTransition(tr, specs[tr.Risk.Rule])
		}
	}
	m = New(newFakeStore(), &engineRisks{eng: eng, observe: observe}, Options{Now: func() time.Time { return t0 }})
	restore(t, m, eng)

	out.Reset()
	require.NoError(t, eng.Apply(rodent("ev-1", t0), &out))
	observe(&out)
	require.Len(t, m.List(Filter{}), 1)
	out.Reset()
	require.NoError(t, eng.Resolve("S1", "canteen.rodent", "后厨", "王老师", "已处理", t0.Add(time.Minute), &out))

	done := make(chan []*Hazard, 1)
	go func() { done <- m.Overdue(context.Background(), t0.Add(2*time.Hour)) }()
	select {
	case due := <-done:
		require.Len(t, due, 1)
	case <-time.After(10 * time.Second):
		t.Fatal("Overdue deadlocked: the write path called ObserveTransition")
	}
	require.Len(t, m.List(Filter{}), 1, "the reopened risk belongs to the same hazard")
	v, _ := eng.View("S1")
	require.Equal(t, engine.LevelRed, v.Level, "the supervision holds the colour")
}
