package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/hazard"
)

// hazardAt returns a hazard registered at at(ms) at school, in version 1.
func hazardAt(id, school string, ms int) *hazard.Hazard {
	return &hazard.Hazard{
		ID: id, SchoolID: school, Title: "后厨冷藏柜温控失效", Category: hazard.CategoryFood, Level: engine.SeverityMedium,
		Responsible: "张师傅（食堂负责人）", Deadline: at(ms + 72*3600_000), Status: hazard.StatusOpen,
		Evidence:  []hazard.Evidence{{Kind: hazard.EvidenceLink, Value: "https://files.example.cn/p/1.jpg", By: "李督学", At: at(ms)}},
		CreatedAt: at(ms), CreatedBy: "李督学", UpdatedAt: at(ms), Version: 1,
	}
}

// step returns h after action at at(ms), and the transition.
func step(h *hazard.Hazard, action hazard.Action, to hazard.Status, ms int, by, comment string, evidence ...hazard.Evidence) (*hazard.Hazard, hazard.Transition) {
	next := h.Clone()
	next.Status, next.UpdatedAt, next.Version = to, at(ms), h.Version+1
	next.Evidence = append(next.Evidence, evidence...)
	if to == hazard.StatusVerified {
		next.VerifiedAt = at(ms)
	}
	if action == hazard.ActionSupervise {
		next.SupervisedAt = at(ms)
	}
	return next, hazard.Transition{
		ID: fmt.Sprintf("%s:%d", next.ID, next.Version), HazardID: next.ID, SchoolID: next.SchoolID, Version: next.Version,
		At: at(ms), Action: action, From: h.Status, To: to, By: by, Comment: comment, Evidence: evidence,
	}
}

// created returns the registration transition of h.
func created(h *hazard.Hazard) hazard.Transition {
	return hazard.Transition{
		ID: h.ID + ":1", HazardID: h.ID, SchoolID: h.SchoolID, Version: 1, At: h.CreatedAt, Action: hazard.ActionCreate,
		To: hazard.StatusOpen, By: h.CreatedBy, Comment: "现场检查发现", Evidence: h.Evidence,
	}
}

func TestHazardTablesMigrated(t *testing.T) {
	s := openTest(t, nil)
	for _, table := range []string{tableHazards, tableHazardTransitions} {
		var engineName string
		require.NoError(t, s.conn.QueryRow(t.Context(),
			"SELECT engine FROM system.tables WHERE database = ? AND name = ?", s.Database(), table).Scan(&engineName))
		require.Equal(t, "ReplacingMergeTree", engineName, table)
	}
}

func TestWriteHazardKeepsLatestVersion(t *testing.T) {
	s := openTest(t, nil)
	ctx := t.Context()
	// Keep every copy apart until FINAL folds them.
	for _, table := range []string{tableHazards, tableHazardTransitions} {
		require.NoError(t, s.conn.Exec(ctx, "SYSTEM STOP MERGES "+quoteIdent(s.Database())+"."+table))
	}

	v1 := hazardAt("HZ-01", "s1", 0)
	t1 := created(v1)
	v2, t2 := step(v1, hazard.ActionStart, hazard.StatusRectifying, 60_000, "张师傅", "已联系维修")
	v3, t3 := step(v2, hazard.ActionSubmit, hazard.StatusSubmitted, 120_000, "张师傅", "已更换温控器",
		hazard.Evidence{Kind: hazard.EvidenceText, Value: "温度记录正常", By: "张师傅", At: at(120_000)})
	v4, t4 := step(v3, hazard.ActionSupervise, hazard.StatusSubmitted, 73*3600_000, hazard.System, "超过整改期限")
	v5, t5 := step(v4, hazard.ActionVerify, hazard.StatusVerified, 74*3600_000, "李督学", "复查合格")

	for _, w := range []struct {
		h *hazard.Hazard
		t hazard.Transition
	}{{v1, t1}, {v2, t2}, {v3, t3}, {v4, t4}, {v5, t5}, {v3, t3}, {v1, t1}} { // the last two: late repeats
		require.NoError(t, s.WriteHazard(ctx, w.h, w.t))
	}

	got, err := s.LoadHazard(ctx, "HZ-01")
	require.NoError(t, err)
	require.Equal(t, v5, got, "the highest version, whatever was written last")
	require.True(t, got.Supervised())

	history, err := s.HazardHistory(ctx, "HZ-01")
	require.NoError(t, err)
	require.Equal(t, []hazard.Transition{t1, t2, t3, t4, t5}, history, "each transition once, in order")

	_, err = s.LoadHazard(ctx, "HZ-NOPE")
	require.ErrorIs(t, err, hazard.ErrNotFound)
	history, err = s.HazardHistory(ctx, "HZ-NOPE")
	require.NoError(t, err)
	require.Empty(t, history)

	var raw uint64
	require.NoError(t, s.conn.QueryRow(ctx, "SELECT count() FROM hazards").Scan(&raw))
	require.Equal(t, uint64(7), raw, "the copies are there until a merge")
}

func TestLoadHazards(t *testing.T) {
	s := openTest(t, nil)
	ctx := t.Context()
	require.NoError(t, s.conn.Exec(ctx, "SYSTEM STOP MERGES "+quoteIdent(s.Database())+"."+tableHazards))

	open := hazardAt("HZ-A", "s1", 0)
	// Another school, created a month later: another partition.
	rule := hazardAt("HZR-b", "s2", 31*24*3600_000)
	rule.Origin = hazard.Origin{Rule: "canteen.rodent", Key: "后厨", Source: engine.SourceCanteen}
	rule.CreatedBy, rule.Evidence = hazard.System, nil
	closedEarly := hazardAt("HZ-C", "s1", 1_000)
	closedLate := hazardAt("HZ-D", "s3", 2_000)
	for _, h := range []*hazard.Hazard{open, rule, closedEarly, closedLate} {
		require.NoError(t, s.WriteHazard(ctx, h, created(h)))
	}
	closedEarly, tc := step(closedEarly, hazard.ActionVerify, hazard.StatusVerified, 10*3600_000, "李督学", "合格")
	require.NoError(t, s.WriteHazard(ctx, closedEarly, tc))
	closedLate, td := step(closedLate, hazard.ActionVerify, hazard.StatusVerified, 20*3600_000, "李督学", "合格")
	require.NoError(t, s.WriteHazard(ctx, closedLate, td))

	for _, tc := range []struct {
		name        string
		closedSince time.Time
		want        []*hazard.Hazard
	}{
		{name: "open only", want: []*hazard.Hazard{open, rule}},
		{name: "closed since is inclusive", closedSince: at(10 * 3600_000), want: []*hazard.Hazard{open, closedEarly, closedLate, rule}},
		{name: "closed since between", closedSince: at(15 * 3600_000), want: []*hazard.Hazard{open, closedLate, rule}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.LoadHazards(ctx, tc.closedSince)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	got, err := s.LoadOpenHazards(ctx)
	require.NoError(t, err)
	require.Equal(t, []*hazard.Hazard{open, rule}, got)
}

// TestHazardManagerOverStore runs the workflow through the real store and
// restores a second manager from it.
func TestHazardManagerOverStore(t *testing.T) {
	s := openTest(t, nil)
	ctx := t.Context()
	reg, err := engine.NewRegistry([]engine.School{{ID: "JX-NH-0001", Name: "南湖区实验小学", District: "南湖区"}})
	require.NoError(t, err)
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, engine.Shanghai)
	clock := func() time.Time { return now }
	newEngine := func() *engine.Engine {
		e := engine.New(func() engine.Evaluator { return noRules{} }, func() *engine.Registry { return reg })
		var out engine.Output
		e.Tick(now, &out)
		return e
	}
	eng := newEngine()
	risks := &storedRisks{eng: eng, store: s}
	m := hazard.New(s, risks, hazard.Options{Now: clock})
	_, err = m.Restore(ctx)
	require.NoError(t, err)
	h, err := m.Create(ctx, hazard.NewHazard{
		SchoolID: "JX-NH-0001", Title: "学校东侧河道护栏破损", Category: hazard.CategoryDrowning,
		Responsible: "王副校长", Deadline: now.Add(24 * time.Hour), By: "李督学", Comment: "巡查发现",
		Evidence: []hazard.Evidence{{Kind: hazard.EvidenceLink, Value: "https://files.example.cn/p/9.jpg"}},
	})
	require.NoError(t, err)
	now = now.Add(time.Hour)
	_, err = m.Transition(ctx, h.ID, hazard.ActionStart, "王副校长", "已安排维修", nil)
	require.NoError(t, err)
	now = now.Add(24 * time.Hour)
	require.Len(t, m.Overdue(ctx, now), 1)
	v, _ := eng.View("JX-NH-0001")
	require.Equal(t, engine.LevelRed, v.Level)

	got, history, err := m.Get(ctx, h.ID)
	require.NoError(t, err)
	require.Len(t, history, 3)
	require.Equal(t, []hazard.Action{hazard.ActionCreate, hazard.ActionStart, hazard.ActionSupervise},
		[]hazard.Action{history[0].Action, history[1].Action, history[2].Action})
	require.Equal(t, "https://files.example.cn/p/9.jpg", history[0].Evidence[0].Value)

	// The engine's records reached the risk history.
	transitions, err := s.RiskTransitions(ctx, "JX-NH-0001", now.Add(-48*time.Hour), now.Add(time.Hour))
	require.NoError(t, err)
	require.Len(t, transitions, len(risks.recorded))
	require.Equal(t, hazard.RiskRule, transitions[0].Risk.Rule)
	require.Equal(t, h.ID, transitions[0].Risk.Key)

	// A restart restores the hazard and the school's colour.
	eng2 := newEngine()
	m2 := hazard.New(s, &storedRisks{eng: eng2, store: s}, hazard.Options{Now: clock})
	opens, err := m2.Restore(ctx)
	require.NoError(t, err)
	var discard engine.Output
	for _, o := range opens {
		require.NoError(t, eng2.Open(o.SchoolID, o.Match, o.At, &discard))
	}
	require.Equal(t, []*hazard.Hazard{got}, m2.List(hazard.Filter{}))
	v, _ = eng2.View("JX-NH-0001")
	require.Equal(t, engine.LevelRed, v.Level)
	require.Empty(t, m2.Overdue(ctx, now.Add(time.Hour)), "supervised once, across restarts")
}

// storedRisks applies the hazard manager's acts to the engine and stores
// what they caused, as the composition root does.
type storedRisks struct {
	eng      *engine.Engine
	store    *Store
	recorded []engine.RiskTransition
}

func (r *storedRisks) OpenRisk(ctx context.Context, schoolID string, m engine.Match, at time.Time) error {
	var b engine.Batch
	if err := r.eng.Open(schoolID, m, at, &b.Output); err != nil {
		return err
	}
	r.recorded = append(r.recorded, b.Transitions...)
	return r.store.Write(ctx, &b)
}

func (r *storedRisks) ResolveRisk(ctx context.Context, schoolID, rule, key, by, comment string, at time.Time) error {
	var b engine.Batch
	if err := r.eng.Resolve(schoolID, rule, key, by, comment, at, &b.Output); err != nil {
		return err
	}
	r.recorded = append(r.recorded, b.Transitions...)
	return r.store.Write(ctx, &b)
}

// noRules is an Evaluator that matches nothing.
type noRules struct{}

func (noRules) NewState() engine.RuleState { return nil }

func (noRules) Evaluate(_ *engine.Event, _ *engine.School, _ engine.RuleState, out []engine.Match) ([]engine.Match, error) {
	return out, nil
}

func (noRules) Check(_, _ time.Time, _ *engine.School, _ engine.RuleState, out []engine.Match) []engine.Match {
	return out
}

func (noRules) Escalate(*engine.School, []*engine.Risk) (engine.Level, string, string) {
	return engine.LevelGreen, "", ""
}

func (noRules) Horizon() time.Duration { return 24 * time.Hour }

// Several hazards' writes in one WriteHazards: every hazard and transition
// read back as written, two inserts in all.
func TestWriteHazardsTogether(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := openTest(t, reg)
	ctx := t.Context()
	a, b := hazardAt("HZ-A", "s1", 0), hazardAt("HZ-B", "s2", 1_000)
	b2, tb2 := step(b, hazard.ActionStart, hazard.StatusRectifying, 60_000, "张师傅", "已联系维修")
	require.NoError(t, s.WriteHazards(ctx, []hazard.Write{
		{Hazard: a, Transition: created(a)}, {Hazard: b, Transition: created(b)}, {Hazard: b2, Transition: tb2},
	}))
	for _, want := range []*hazard.Hazard{a, b2} {
		got, err := s.LoadHazard(ctx, want.ID)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	history, err := s.HazardHistory(ctx, "HZ-B")
	require.NoError(t, err)
	require.Equal(t, []hazard.Transition{created(b), tb2}, history)
	for table, rows := range map[string]float64{tableHazards: 3, tableHazardTransitions: 3} {
		require.Equal(t, rows, testutil.ToFloat64(s.metrics.insertRows.WithLabelValues(table)), table)
	}
	families, err := reg.Gather()
	require.NoError(t, err)
	inserts := map[string]uint64{}
	for _, f := range families {
		if f.GetName() != "sanse_store_insert_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			inserts[m.GetLabel()[0].GetValue()] = m.GetHistogram().GetSampleCount()
		}
	}
	require.Equal(t, uint64(1), inserts[tableHazards], "one insert per table")
	require.Equal(t, uint64(1), inserts[tableHazardTransitions], "one insert per table")
	require.NoError(t, s.WriteHazards(ctx, nil))
}
