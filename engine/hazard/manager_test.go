package hazard

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

// t0 is the clock of the manager tests: 2026-11-25 09:00 in Shanghai.
var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, engine.Shanghai)

// fixture is a Manager over fakes.
type fixture struct {
	m     *Manager
	eng   *fakeRisks
	store *fakeStore
	clock *clock
	reg   *prometheus.Registry
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{eng: &fakeRisks{}, store: newFakeStore(), clock: &clock{t: t0}, reg: prometheus.NewRegistry()}
	f.m = New(f.store, f.eng, Options{
		Registerer: f.reg,
		Now:        f.clock.now,
		School: func(id string) *engine.School {
			if id == "JX-NH-0001" || id == "JX-NH-0002" || id == "JX-XZ-0001" {
				return &engine.School{ID: id}
			}
			return nil
		},
	})
	_, err := f.m.Restore(t.Context())
	require.NoError(t, err)
	return f
}

// canteenHazard is a valid registration: a food-safety hazard due in 72h.
func canteenHazard() NewHazard {
	return NewHazard{
		SchoolID: "JX-NH-0001", Title: "后厨冷藏柜温控失效", Category: CategoryFood, Level: engine.SeverityMedium,
		Responsible: "张师傅（食堂负责人）", Deadline: t0.Add(72 * time.Hour), By: "李督学", Comment: "现场检查发现",
		Evidence: []Evidence{{Kind: EvidenceLink, Value: "https://files.example.cn/p/1.jpg"}},
	}
}

func TestCreateOpensManualRisk(t *testing.T) {
	f := newFixture(t)
	h, err := f.m.Create(t.Context(), canteenHazard())
	require.NoError(t, err)
	require.Regexp(t, `^HZ-[0-9A-Z]{26}$`, h.ID)
	require.Equal(t, StatusOpen, h.Status)
	require.Equal(t, uint64(1), h.Version)
	require.Equal(t, "inspector", h.Origin.String())
	require.Equal(t, t0.UTC(), h.CreatedAt)
	require.Equal(t, []Evidence{{Kind: EvidenceLink, Value: "https://files.example.cn/p/1.jpg", By: "李督学", At: t0.UTC()}}, h.Evidence)

	require.Equal(t, []engineCall{{
		op: "open", schoolID: "JX-NH-0001", at: t0.UTC(),
		match: engine.Match{
			Rule: RiskRule, Key: h.ID, Severity: engine.SeverityMedium, Title: "隐患：后厨冷藏柜温控失效", Manual: true,
			Source:      engine.SourceCanteen,
			Description: "隐患 " + h.ID + "（食品安全），整改责任人：张师傅（食堂负责人），整改期限：2026-11-28 09:00",
		},
	}}, f.eng.recorded())

	stored, err := f.store.LoadHazard(t.Context(), h.ID)
	require.NoError(t, err)
	require.Equal(t, h, stored)
	history, err := f.store.HazardHistory(t.Context(), h.ID)
	require.NoError(t, err)
	require.Equal(t, []Transition{{
		ID: h.ID + ":1", HazardID: h.ID, SchoolID: "JX-NH-0001", Version: 1, At: t0.UTC(), Action: ActionCreate,
		To: StatusOpen, By: "李督学", Comment: "现场检查发现", Evidence: h.Evidence,
	}}, history)
	require.Equal(t, 1.0, testutil.ToFloat64(f.m.metrics.active.WithLabelValues("open")))
}

func TestCreateLevelDefaultsToMedium(t *testing.T) {
	f := newFixture(t)
	req := canteenHazard()
	req.Level, req.Category = "", CategoryFire
	h, err := f.m.Create(t.Context(), req)
	require.NoError(t, err)
	require.Equal(t, engine.SeverityMedium, h.Level)
	calls := f.eng.recorded()
	require.Equal(t, engine.Source(""), calls[0].match.Source, "消防 has no event source")
}

func TestCreateInvalid(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*NewHazard)
		want   []string
	}{
		{name: "nothing", change: func(r *NewHazard) { *r = NewHazard{} },
			want: []string{"school_id is required", "title is required", "category is required", "responsible is required", "by is required", "deadline is required"}},
		{name: "blank title", change: func(r *NewHazard) { r.Title = "  \n" }, want: []string{"title is required"}},
		{name: "unknown category", change: func(r *NewHazard) { r.Category = "交通" },
			want: []string{`unknown category "交通", expected one of 食品安全, 防溺水, 校园欺凌, 门卫安保, 消防, 其他`}},
		{name: "unknown level", change: func(r *NewHazard) { r.Level = "critical" }, want: []string{`unknown level "critical"`}},
		{name: "deadline passed", change: func(r *NewHazard) { r.Deadline = t0.Add(-time.Hour) },
			want: []string{"deadline 2026-11-25T08:00:00+08:00 is not in the future"}},
		{name: "unknown school", change: func(r *NewHazard) { r.SchoolID = "JX-XX-9999" },
			want: []string{`school "JX-XX-9999" is not in the registry`}},
		{name: "evidence", change: func(r *NewHazard) {
			r.Evidence = []Evidence{{Kind: "photo", Value: "x"}, {Kind: EvidenceLink, Value: "ftp://x/y"}, {Kind: EvidenceText, Value: " "}}
		}, want: []string{`evidence[0]: unknown kind "photo", expected text or link`,
			`evidence[1]: a link must be an http or https URL, not "ftp://x/y"`, "evidence[2]: the value is empty"}},
		{name: "too long", change: func(r *NewHazard) { r.Title = string(make([]rune, 201)) },
			want: []string{"title is 201 characters long, at most 200"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			req := canteenHazard()
			tc.change(&req)
			_, err := f.m.Create(t.Context(), req)
			require.ErrorIs(t, err, ErrInvalid)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
			require.Empty(t, f.eng.recorded())
			require.Zero(t, f.store.writes)
		})
	}
}

func TestCreateStoreFailureChangesNothing(t *testing.T) {
	f := newFixture(t)
	f.store.setFail(errors.New("clickhouse down"))
	_, err := f.m.Create(t.Context(), canteenHazard())
	require.ErrorContains(t, err, "clickhouse down")
	require.Empty(t, f.m.List(Filter{}))
	require.Empty(t, f.eng.recorded())
}

func TestWorkflowToVerified(t *testing.T) {
	f := newFixture(t)
	h, err := f.m.Create(t.Context(), canteenHazard())
	require.NoError(t, err)

	steps := []struct {
		action   Action
		by, note string
		evidence []Evidence
		want     Status
	}{
		{ActionStart, "张师傅", "已联系维修", nil, StatusRectifying},
		{ActionComment, "张师傅", "", []Evidence{{Kind: EvidenceText, Value: "备件已订购"}}, StatusRectifying},
		{ActionSubmit, "张师傅", "已更换温控器", []Evidence{{Kind: EvidenceLink, Value: "https://files.example.cn/p/2.jpg"}}, StatusSubmitted},
		{ActionReject, "李督学", "温度记录仍缺三天", nil, StatusRectifying},
		{ActionSubmit, "张师傅", "已补齐温度记录", nil, StatusSubmitted},
		{ActionVerify, "李督学", "复查合格，同意销号", nil, StatusVerified},
	}
	for i, s := range steps {
		f.clock.advance(time.Hour)
		got, err := f.m.Transition(t.Context(), h.ID, s.action, s.by, s.note, s.evidence)
		require.NoError(t, err, "step %d %s", i, s.action)
		require.Equal(t, s.want, got.Status)
		require.Equal(t, uint64(i+2), got.Version)
	}

	verifiedAt := t0.Add(6 * time.Hour).UTC()
	calls := f.eng.recorded()
	require.Len(t, calls, 2, "the registration opened the risk, verification resolved it; nothing between")
	require.Equal(t, engineCall{op: "resolve", schoolID: "JX-NH-0001", rule: RiskRule, key: h.ID, actor: "李督学",
		comment: "复查合格，同意销号", at: verifiedAt}, calls[1])

	got, history, err := f.m.Get(t.Context(), h.ID)
	require.NoError(t, err)
	require.Equal(t, StatusVerified, got.Status)
	require.Equal(t, verifiedAt, got.VerifiedAt)
	require.Len(t, got.Evidence, 3, "the registration's link, the comment's text, the submission's link")
	require.Equal(t, "张师傅", got.Evidence[1].By)
	require.Len(t, history, 7)
	var trail []string
	for _, tr := range history {
		trail = append(trail, fmt.Sprintf("%s:%s→%s", tr.Action, tr.From, tr.To))
	}
	require.Equal(t, []string{
		"create:→open", "start:open→rectifying", "comment:rectifying→rectifying", "submit:rectifying→submitted",
		"reject:submitted→rectifying", "submit:rectifying→submitted", "verify:submitted→verified",
	}, trail)
	require.Equal(t, "温度记录仍缺三天", history[4].Comment)

	// Closed: nothing more.
	_, err = f.m.Transition(t.Context(), h.ID, ActionComment, "张师傅", "补充说明", nil)
	require.ErrorIs(t, err, ErrInvalidTransition)
	require.ErrorContains(t, err, "已销号")
	require.Equal(t, 0.0, testutil.ToFloat64(f.m.metrics.active.WithLabelValues("open")))
	require.Equal(t, 2.0, testutil.ToFloat64(f.m.metrics.transitions.WithLabelValues("submit")))
}

func TestTransitionRefused(t *testing.T) {
	for _, tc := range []struct {
		name     string
		action   Action
		by, note string
		evidence []Evidence
		is       error
		want     string
	}{
		{name: "verify an open hazard", action: ActionVerify, by: "李督学", note: "合格", is: ErrInvalidTransition,
			want: "不能验收销号（可以：开始整改、备注）; cannot verify hazard"},
		{name: "submit before start", action: ActionSubmit, by: "张师傅", is: ErrInvalidTransition, want: "cannot submit"},
		{name: "reject an open hazard", action: ActionReject, by: "李督学", note: "不合格", is: ErrInvalidTransition, want: "cannot reject"},
		{name: "supervise is the system's", action: ActionSupervise, by: "李督学", is: ErrInvalid, want: `unknown action "supervise"`},
		{name: "create is not a transition", action: ActionCreate, by: "李督学", is: ErrInvalid, want: `unknown action "create"`},
		{name: "no by", action: ActionStart, by: " ", is: ErrInvalid, want: "by is required"},
		{name: "verify needs a comment", action: ActionVerify, by: "李督学", is: ErrInvalid, want: "comment is required to verify"},
		{name: "reject needs a comment", action: ActionReject, by: "李督学", note: "\t", is: ErrInvalid, want: "comment is required to reject"},
		{name: "empty comment", action: ActionComment, by: "李督学", is: ErrInvalid, want: "a comment or evidence is required"},
		{name: "bad evidence", action: ActionComment, by: "李督学", evidence: []Evidence{{Kind: EvidenceLink, Value: "照片"}},
			is: ErrInvalid, want: "a link must be an http or https URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			h, err := f.m.Create(t.Context(), canteenHazard())
			require.NoError(t, err)
			writes := f.store.writes
			_, err = f.m.Transition(t.Context(), h.ID, tc.action, tc.by, tc.note, tc.evidence)
			require.ErrorIs(t, err, tc.is)
			require.ErrorContains(t, err, tc.want)
			require.Equal(t, writes, f.store.writes, "nothing stored")
			got, _, err := f.m.Get(t.Context(), h.ID)
			require.NoError(t, err)
			require.Equal(t, h, got, "unchanged")
		})
	}
}

func TestTransitionUnknownHazard(t *testing.T) {
	f := newFixture(t)
	_, err := f.m.Transition(t.Context(), "HZ-NOPE", ActionStart, "张师傅", "", nil)
	require.ErrorIs(t, err, ErrNotFound)
	_, _, err = f.m.Get(t.Context(), "HZ-NOPE")
	require.ErrorIs(t, err, ErrNotFound)
}

func TestTransitionStoreFailureChangesNothing(t *testing.T) {
	f := newFixture(t)
	h, err := f.m.Create(t.Context(), canteenHazard())
	require.NoError(t, err)
	f.store.setFail(errors.New("clickhouse down"))
	_, err = f.m.Transition(t.Context(), h.ID, ActionStart, "张师傅", "", nil)
	require.ErrorContains(t, err, "clickhouse down")
	require.Equal(t, StatusOpen, f.m.List(Filter{})[0].Status)
	f.store.setFail(nil)
	got, err := f.m.Transition(t.Context(), h.ID, ActionStart, "张师傅", "", nil)
	require.NoError(t, err)
	require.Equal(t, uint64(2), got.Version, "the failed attempt used no version")
}

func TestVerifyWithRiskAlreadyGone(t *testing.T) {
	f := newFixture(t)
	h, err := f.m.Create(t.Context(), canteenHazard())
	require.NoError(t, err)
	for _, a := range []Action{ActionStart, ActionSubmit} {
		_, err = f.m.Transition(t.Context(), h.ID, a, "张师傅", "", nil)
		require.NoError(t, err)
	}
	// Someone resolved the risk directly: verifying still closes the hazard.
	f.eng.resolveErr = fmt.Errorf("resolve: %w", engine.ErrNoSuchRisk)
	got, err := f.m.Transition(t.Context(), h.ID, ActionVerify, "李督学", "合格", nil)
	require.NoError(t, err)
	require.Equal(t, StatusVerified, got.Status)
}

func TestOverdueSupervisesOnce(t *testing.T) {
	f := newFixture(t)
	low := canteenHazard()
	low.Level, low.Deadline, low.Title = engine.SeverityLow, t0.Add(24*time.Hour), "留样柜标签不清"
	medium := canteenHazard()
	medium.Category, medium.Title, medium.Deadline = CategoryDrowning, "河道护栏破损", t0.Add(48*time.Hour)
	later := canteenHazard()
	later.Deadline, later.Title = t0.Add(30*24*time.Hour), "消毒柜老化"
	var ids []string
	for _, req := range []NewHazard{medium, low, later} {
		h, err := f.m.Create(t.Context(), req)
		require.NoError(t, err)
		ids = append(ids, h.ID)
	}
	// The low one is submitted, still not verified: it goes overdue too.
	for _, a := range []Action{ActionStart, ActionSubmit} {
		_, err := f.m.Transition(t.Context(), ids[1], a, "张师傅", "", nil)
		require.NoError(t, err)
	}

	require.Empty(t, f.m.Overdue(t.Context(), t0.Add(24*time.Hour)), "due at the deadline, overdue after it")
	opened := len(f.eng.recorded())

	now := t0.Add(72 * time.Hour)
	f.clock.set(now)
	due := f.m.Overdue(t.Context(), now)
	require.Len(t, due, 2)
	require.Equal(t, []string{ids[1], ids[0]}, []string{due[0].ID, due[1].ID}, "earliest deadline first")
	for _, h := range due {
		require.True(t, h.Supervised())
		require.Equal(t, now.UTC(), h.SupervisedAt)
	}
	require.Equal(t, StatusSubmitted, due[0].Status, "supervision keeps the status")

	calls := f.eng.recorded()[opened:]
	require.Len(t, calls, 2)
	require.Equal(t, engine.SeverityMedium, calls[0].match.Severity, "low goes up to medium")
	require.Equal(t, "隐患逾期未整改（挂牌督办）：留样柜标签不清", calls[0].match.Title)
	require.Equal(t, engine.SeverityHigh, calls[1].match.Severity, "medium goes up to high")
	require.Equal(t, RiskRule, calls[1].match.Rule)
	require.Equal(t, ids[0], calls[1].match.Key, "the same risk as the registration's")
	require.True(t, calls[1].match.Manual)
	require.Equal(t, engine.SourceDrowning, calls[1].match.Source)

	_, history, err := f.m.Get(t.Context(), ids[0])
	require.NoError(t, err)
	last := history[len(history)-1]
	require.Equal(t, ActionSupervise, last.Action)
	require.Equal(t, System, last.By)
	require.Equal(t, StatusOpen, last.From)
	require.Equal(t, StatusOpen, last.To)
	require.Equal(t, "超过整改期限（2026-11-27 09:00）未销号，挂牌督办", last.Comment)

	require.Empty(t, f.m.Overdue(t.Context(), now.Add(time.Hour)), "each hazard is supervised once")
	require.Len(t, f.eng.recorded(), opened+2)
	require.Equal(t, 2.0, testutil.ToFloat64(f.m.metrics.overdue))

	// Listing: overdue first, then by deadline.
	list := f.m.List(Filter{})
	require.Equal(t, []string{ids[1], ids[0], ids[2]}, []string{list[0].ID, list[1].ID, list[2].ID})
}

func TestOverdueIgnoresVerified(t *testing.T) {
	f := newFixture(t)
	h, err := f.m.Create(t.Context(), canteenHazard())
	require.NoError(t, err)
	for _, a := range []Action{ActionStart, ActionSubmit, ActionVerify} {
		_, err = f.m.Transition(t.Context(), h.ID, a, "李督学", "好", nil)
		require.NoError(t, err)
	}
	require.Empty(t, f.m.Overdue(t.Context(), t0.Add(100*time.Hour)))
}

// riskOpened is the transition of a rule's risk opening, as the engine
// records it.
func riskOpened(school, rule, key string, severity engine.Severity, at time.Time) engine.RiskTransition {
	return engine.RiskTransition{
		ID: "ev-1:" + rule + "/" + key, SchoolID: school, At: at, State: engine.RiskOpened, EventID: "ev-1",
		Risk: engine.Risk{Rule: rule, Key: key, Source: engine.SourceCanteen, Severity: severity, Title: "后厨发现老鼠",
			FirstSeen: at, LastSeen: at, Count: 1, Manual: true},
	}
}

func TestObserveTransitionOpensRuleHazard(t *testing.T) {
	f := newFixture(t)
	spec := Spec{Category: CategoryFood, Deadline: 48 * time.Hour, Responsible: "食堂负责人"}
	tr := riskOpened("JX-NH-0001", "canteen.rodent", "后厨", engine.SeverityHigh, t0)

	for _, ignored := range []struct {
		name string
		tr   engine.RiskTransition
		spec Spec
	}{
		{name: "no spec", tr: tr},
		{name: "an update", tr: func() engine.RiskTransition { x := tr; x.State = engine.RiskUpdated; return x }(), spec: spec},
		{name: "an expiry", tr: func() engine.RiskTransition { x := tr; x.State = engine.RiskExpired; return x }(), spec: spec},
	} {
		f.m.ObserveTransition(ignored.tr, ignored.spec)
		require.Empty(t, f.m.List(Filter{}), ignored.name)
	}

	f.m.ObserveTransition(tr, spec)
	f.m.ObserveTransition(tr, spec) // seen again: a redelivery
	list := f.m.List(Filter{})
	require.Len(t, list, 1)
	h := list[0]
	require.Equal(t, &Hazard{
		ID: RuleID("JX-NH-0001", "canteen.rodent", "后厨", t0), SchoolID: "JX-NH-0001", Title: "后厨发现老鼠",
		Category: CategoryFood, Level: engine.SeverityHigh, Responsible: "食堂负责人", Deadline: t0.Add(48 * time.Hour).UTC(),
		Status: StatusOpen, Origin: Origin{Rule: "canteen.rodent", Key: "后厨", Source: engine.SourceCanteen},
		CreatedAt: t0.UTC(), CreatedBy: System, UpdatedAt: t0.UTC(), Version: 1,
	}, h)
	require.Equal(t, "canteen.rodent/后厨", h.Origin.String())
	require.Empty(t, f.eng.recorded(), "a rule's hazard opens no risk of its own")
	require.Equal(t, 1, f.store.writes)

	// Verifying resolves the rule's risk.
	for _, a := range []Action{ActionStart, ActionSubmit, ActionVerify} {
		_, err := f.m.Transition(t.Context(), h.ID, a, "李督学", "已灭鼠并封堵", nil)
		require.NoError(t, err)
	}
	require.Equal(t, []engineCall{{op: "resolve", schoolID: "JX-NH-0001", rule: "canteen.rodent", key: "后厨",
		actor: "李督学", comment: "已灭鼠并封堵", at: t0.UTC()}}, f.eng.recorded())

	// A verified hazard seen again is not opened again.
	f.m.ObserveTransition(tr, spec)
	require.Equal(t, StatusVerified, f.m.List(Filter{})[0].Status)

	// A later opening of the same rule and key is a new hazard.
	f.m.ObserveTransition(riskOpened("JX-NH-0001", "canteen.rodent", "后厨", engine.SeverityHigh, t0.Add(time.Hour)), spec)
	require.Len(t, f.m.List(Filter{Statuses: []Status{StatusOpen}}), 1)
}

func TestObserveTransitionDefaults(t *testing.T) {
	f := newFixture(t)
	f.m.ObserveTransition(riskOpened("JX-NH-0001", "drowning.patrol", "七星湖", engine.SeverityMedium, t0), Spec{Responsible: "安全副校长"})
	h := f.m.List(Filter{})[0]
	require.Equal(t, CategoryOther, h.Category)
	require.Equal(t, t0.Add(DefaultDeadline).UTC(), h.Deadline)
}

func TestRuleHazardOverdueRaisesRuleRisk(t *testing.T) {
	f := newFixture(t)
	f.m.ObserveTransition(riskOpened("JX-NH-0001", "canteen.sample_short", "午餐", engine.SeverityLow, t0),
		Spec{Category: CategoryFood, Deadline: 24 * time.Hour})
	due := f.m.Overdue(t.Context(), t0.Add(25*time.Hour))
	require.Len(t, due, 1)
	require.Equal(t, []engineCall{{op: "open", schoolID: "JX-NH-0001", at: t0.Add(25 * time.Hour).UTC(), match: engine.Match{
		Rule: "canteen.sample_short", Key: "午餐", Severity: engine.SeverityMedium, Manual: true,
		Title: "隐患逾期未整改（挂牌督办）：后厨发现老鼠", Source: engine.SourceCanteen,
		Description: "隐患 " + due[0].ID + "（食品安全），整改责任人：—，整改期限：2026-11-26 09:00",
	}}}, f.eng.recorded())
}

func TestObserveOldTransitionAsksTheStore(t *testing.T) {
	f := newFixture(t)
	old := riskOpened("JX-NH-0001", "canteen.rodent", "后厨", engine.SeverityHigh, t0.Add(-60*24*time.Hour))
	spec := Spec{Category: CategoryFood}
	id := RuleID("JX-NH-0001", "canteen.rodent", "后厨", old.Risk.FirstSeen)
	// Verified long ago, so no longer in memory.
	closed := &Hazard{ID: id, SchoolID: "JX-NH-0001", Status: StatusVerified, Version: 4}
	require.NoError(t, f.store.WriteHazard(t.Context(), closed, Transition{ID: id + ":4", HazardID: id, Version: 4}))
	f.m.ObserveTransition(old, spec)
	require.Empty(t, f.m.List(Filter{}))

	// Unknown to the store: opened (and overdue at once).
	other := riskOpened("JX-NH-0002", "canteen.rodent", "后厨", engine.SeverityHigh, t0.Add(-60*24*time.Hour))
	f.m.ObserveTransition(other, spec)
	require.Len(t, f.m.List(Filter{}), 1)

	// The store cannot tell: not opened, rather than opening a closed one again.
	f.store.setFail(errors.New("clickhouse down"))
	third := riskOpened("JX-XZ-0001", "canteen.rodent", "后厨", engine.SeverityHigh, t0.Add(-60*24*time.Hour))
	f.m.ObserveTransition(third, spec)
	require.Len(t, f.m.List(Filter{}), 1)
}

func TestSystemWritesAreRetried(t *testing.T) {
	f := newFixture(t)
	f.store.setFail(errors.New("clickhouse down"))
	tr := riskOpened("JX-NH-0001", "canteen.rodent", "后厨", engine.SeverityHigh, t0)
	f.m.ObserveTransition(tr, Spec{Category: CategoryFood, Deadline: time.Hour})
	require.Len(t, f.m.List(Filter{}), 1, "the hazard takes effect although the store failed")
	require.Len(t, f.m.Overdue(t.Context(), t0.Add(2*time.Hour)), 1, "and goes overdue")
	require.Equal(t, 2.0, testutil.ToFloat64(f.m.metrics.pendingWrites))

	require.ErrorContains(t, f.m.Flush(t.Context()), "clickhouse down")
	require.Equal(t, 2.0, testutil.ToFloat64(f.m.metrics.pendingWrites))

	f.store.setFail(nil)
	id := RuleID("JX-NH-0001", "canteen.rodent", "后厨", t0)
	_, history, err := f.m.Get(t.Context(), id)
	require.NoError(t, err)
	require.Len(t, history, 2, "the history shows what waits to be stored")

	require.NoError(t, f.m.Flush(t.Context()))
	require.Equal(t, 0.0, testutil.ToFloat64(f.m.metrics.pendingWrites))
	stored, err := f.store.LoadHazard(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, uint64(2), stored.Version)
	require.True(t, stored.Supervised())
	_, history, err = f.m.Get(t.Context(), id)
	require.NoError(t, err)
	require.Len(t, history, 2)
}

func TestRestore(t *testing.T) {
	f := newFixture(t)
	a, err := f.m.Create(t.Context(), canteenHazard())
	require.NoError(t, err)
	f.clock.advance(time.Hour)
	bReq := canteenHazard()
	bReq.Title, bReq.Deadline, bReq.Level = "校门道闸故障", t0.Add(2*time.Hour), engine.SeverityLow
	bReq.Category = CategoryGate
	b, err := f.m.Create(t.Context(), bReq)
	require.NoError(t, err)
	f.m.ObserveTransition(riskOpened("JX-NH-0002", "canteen.rodent", "后厨", engine.SeverityMedium, t0), Spec{Category: CategoryFood, Deadline: time.Hour})
	supervisedAt := t0.Add(3 * time.Hour)
	f.clock.set(supervisedAt)
	require.Len(t, f.m.Overdue(t.Context(), supervisedAt), 2)
	closed := canteenHazard()
	closed.Title = "已销号的"
	c, err := f.m.Create(t.Context(), closed)
	require.NoError(t, err)
	for _, act := range []Action{ActionStart, ActionSubmit, ActionVerify} {
		_, err = f.m.Transition(t.Context(), c.ID, act, "李督学", "好", nil)
		require.NoError(t, err)
	}

	// A new process over the same store.
	eng := &fakeRisks{}
	m := New(f.store, eng, Options{Now: f.clock.now})
	opens, err := m.Restore(t.Context())
	require.NoError(t, err)
	require.Equal(t, f.m.List(Filter{}), m.List(Filter{}), "the same hazards, closed ones included")
	require.Empty(t, eng.recorded(), "a restore records nothing itself")

	var got []string
	for _, o := range opens {
		got = append(got, fmt.Sprintf("%s %s/%s %s %s", o.At.Sub(t0), o.Match.Rule, o.Match.Key, o.Match.Severity, o.Match.Title))
	}
	require.Equal(t, []string{
		"0s hazard/" + a.ID + " medium 隐患：后厨冷藏柜温控失效",
		"1h0m0s hazard/" + b.ID + " low 隐患：校门道闸故障",
		"3h0m0s hazard/" + b.ID + " medium 隐患逾期未整改（挂牌督办）：校门道闸故障",
		"3h0m0s canteen.rodent/后厨 high 隐患逾期未整改（挂牌督办）：后厨发现老鼠",
	}, got, "in time order; a rule's own risk comes back with the engine's replay, only its supervision here")

	// The restored manager goes on where the old one stopped.
	h, err := m.Transition(t.Context(), a.ID, ActionStart, "张师傅", "", nil)
	require.NoError(t, err)
	require.Equal(t, uint64(2), h.Version)
	require.Empty(t, m.Overdue(t.Context(), supervisedAt.Add(time.Minute)), "supervised hazards are not supervised again")
}

func TestRestoreFailure(t *testing.T) {
	f := newFixture(t)
	f.store.setFail(errors.New("clickhouse down"))
	_, err := f.m.Restore(t.Context())
	require.ErrorContains(t, err, "restore hazards: clickhouse down")
}

func TestListFilter(t *testing.T) {
	f := newFixture(t)
	mk := func(school, category string, deadline time.Duration) *Hazard {
		req := canteenHazard()
		req.SchoolID, req.Category, req.Deadline = school, category, t0.Add(deadline)
		h, err := f.m.Create(t.Context(), req)
		require.NoError(t, err)
		return h
	}
	food1 := mk("JX-NH-0001", CategoryFood, 10*time.Hour)
	fire := mk("JX-NH-0002", CategoryFire, 5*time.Hour)
	food2 := mk("JX-XZ-0001", CategoryFood, 1*time.Hour)
	_, err := f.m.Transition(t.Context(), fire.ID, ActionStart, "王老师", "", nil)
	require.NoError(t, err)

	ids := func(hs []*Hazard) []string {
		out := []string{}
		for _, h := range hs {
			out = append(out, h.ID)
		}
		return out
	}
	now := t0.Add(2 * time.Hour)
	for _, tc := range []struct {
		name   string
		filter Filter
		want   []string
	}{
		{name: "all, by deadline, overdue first", filter: Filter{Now: now}, want: []string{food2.ID, fire.ID, food1.ID}},
		{name: "status", filter: Filter{Statuses: []Status{StatusRectifying}}, want: []string{fire.ID}},
		{name: "two statuses", filter: Filter{Statuses: []Status{StatusOpen, StatusRectifying}, Now: now}, want: []string{food2.ID, fire.ID, food1.ID}},
		{name: "category", filter: Filter{Categories: []string{CategoryFood}}, want: []string{food2.ID, food1.ID}},
		{name: "school", filter: Filter{School: func(id string) bool { return id != "JX-XZ-0001" }}, want: []string{fire.ID, food1.ID}},
		{name: "overdue", filter: Filter{Overdue: true, Now: now}, want: []string{food2.ID}},
		{name: "overdue later", filter: Filter{Overdue: true, Now: t0.Add(6 * time.Hour)}, want: []string{food2.ID, fire.ID}},
		{name: "none", filter: Filter{Statuses: []Status{StatusVerified}}, want: []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, ids(f.m.List(tc.filter)))
		})
	}
}

func TestListReturnsCopies(t *testing.T) {
	f := newFixture(t)
	_, err := f.m.Create(t.Context(), canteenHazard())
	require.NoError(t, err)
	h := f.m.List(Filter{})[0]
	h.Status, h.Evidence[0].Value = StatusVerified, "changed"
	again := f.m.List(Filter{})[0]
	require.Equal(t, StatusOpen, again.Status)
	require.Equal(t, "https://files.example.cn/p/1.jpg", again.Evidence[0].Value)
}

func TestForgetsOldClosedHazards(t *testing.T) {
	f := newFixture(t)
	h, err := f.m.Create(t.Context(), canteenHazard())
	require.NoError(t, err)
	for _, a := range []Action{ActionStart, ActionSubmit, ActionVerify} {
		_, err = f.m.Transition(t.Context(), h.ID, a, "李督学", "好", nil)
		require.NoError(t, err)
	}
	f.m.Overdue(t.Context(), t0.Add(DefaultKeepClosed-time.Hour))
	require.Len(t, f.m.List(Filter{}), 1, "listed while within KeepClosed")
	f.m.Overdue(t.Context(), t0.Add(DefaultKeepClosed+time.Hour))
	require.Empty(t, f.m.List(Filter{}))
	got, history, err := f.m.Get(t.Context(), h.ID)
	require.NoError(t, err, "still found in the store")
	require.Equal(t, StatusVerified, got.Status)
	require.Len(t, history, 4)
	_, err = f.m.Transition(t.Context(), h.ID, ActionComment, "李督学", "补充", nil)
	require.ErrorIs(t, err, ErrInvalidTransition)
}

func TestRun(t *testing.T) {
	f := newFixture(t)
	f.m.interval = time.Millisecond
	req := canteenHazard()
	h, err := f.m.Create(t.Context(), req)
	require.NoError(t, err)
	f.clock.set(t0.Add(73 * time.Hour))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.m.Run(ctx) }()
	require.Eventually(t, func() bool {
		got, _, err := f.m.Get(t.Context(), h.ID)
		return err == nil && got.Supervised()
	}, 5*time.Second, time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}

func TestConcurrentUse(t *testing.T) {
	f := newFixture(t)
	var ids []string
	for i := range 8 {
		req := canteenHazard()
		req.Title = fmt.Sprintf("隐患 %d", i)
		h, err := f.m.Create(t.Context(), req)
		require.NoError(t, err)
		ids = append(ids, h.ID)
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			for _, a := range []Action{ActionStart, ActionComment, ActionSubmit, ActionVerify} {
				if _, err := f.m.Transition(context.Background(), id, a, "张师傅", "说明", nil); err != nil {
					t.Errorf("%s %s: %v", a, id, err)
				}
			}
		})
		wg.Go(func() {
			for range 20 {
				_ = f.m.List(Filter{Overdue: true})
				_, _, _ = f.m.Get(context.Background(), id)
			}
		})
	}
	wg.Go(func() {
		for i := range 20 {
			f.m.Overdue(context.Background(), t0.Add(time.Duration(i)*10*time.Hour))
		}
	})
	wg.Wait()
	for _, h := range f.m.List(Filter{}) {
		require.Equal(t, StatusVerified, h.Status)
	}
}

func TestObserveTransitionOneHazardPerRiskUntilVerified(t *testing.T) {
	f := newFixture(t)
	spec := Spec{Category: CategoryFood}
	f.m.ObserveTransition(riskOpened("JX-NH-0001", "canteen.rodent", "后厨", engine.SeverityHigh, t0), spec)
	// The risk ended and opened again before the hazard was verified.
	f.m.ObserveTransition(riskOpened("JX-NH-0001", "canteen.rodent", "后厨", engine.SeverityHigh, t0.Add(time.Hour)), spec)
	require.Len(t, f.m.List(Filter{}), 1)
	// Another key, another school: other hazards.
	f.m.ObserveTransition(riskOpened("JX-NH-0001", "canteen.rodent", "仓库", engine.SeverityHigh, t0), spec)
	f.m.ObserveTransition(riskOpened("JX-NH-0002", "canteen.rodent", "后厨", engine.SeverityHigh, t0), spec)
	require.Len(t, f.m.List(Filter{}), 3)
}

func TestObserveTransitionAfterRestoreKnowsEarlierHazards(t *testing.T) {
	st := newFakeStore()
	spec := Spec{Category: CategoryFood}
	// A hazard of an earlier run, still open.
	first := riskOpened("JX-NH-0001", "canteen.rodent", "后厨", engine.SeverityHigh, t0)
	earlier := New(st, &fakeRisks{}, Options{Now: func() time.Time { return t0 }})
	_, err := earlier.Restore(t.Context())
	require.NoError(t, err)
	earlier.ObserveTransition(first, spec)

	m := New(st, &fakeRisks{}, Options{Now: func() time.Time { return t0.Add(time.Hour) }})
	_, err = m.Restore(t.Context())
	require.NoError(t, err)
	// What the engine's restore found: the same risk opened again, and one
	// at another school.
	m.ObserveTransition(riskOpened("JX-NH-0001", "canteen.rodent", "后厨", engine.SeverityHigh, t0.Add(time.Hour)), spec)
	m.ObserveTransition(riskOpened("JX-NH-0002", "canteen.rodent", "后厨", engine.SeverityHigh, t0.Add(time.Hour)), spec)
	list := m.List(Filter{})
	require.Len(t, list, 2, "the restored hazard and the other school's; no second one for the same risk")
	require.Equal(t, RuleID("JX-NH-0001", "canteen.rodent", "后厨", t0), list[0].ID)
}

// TestActsOnHazardsHeldElsewhere: with several instances, a hazard is
// registered and moved through its workflow by the instance that holds its
// school; another refuses, saying so.
func TestActsOnHazardsHeldElsewhere(t *testing.T) {
	f := newFixture(t)
	h, err := f.m.Create(t.Context(), canteenHazard())
	require.NoError(t, err)
	f.m.holds = func(id string) bool { return id != canteenHazard().SchoolID }
	_, err = f.m.Create(t.Context(), canteenHazard())
	require.ErrorIs(t, err, engine.ErrHeldElsewhere)
	_, err = f.m.Transition(t.Context(), h.ID, ActionStart, "张师傅", "", nil)
	require.ErrorIs(t, err, engine.ErrHeldElsewhere)
	require.Len(t, f.store.hazards, 1, "nothing stored by the instance that does not hold the school")
	f.m.holds = nil
	_, err = f.m.Transition(t.Context(), h.ID, ActionStart, "张师傅", "", nil)
	require.NoError(t, err)
}

// The hazards one stored batch opens are stored together: one write,
// whatever their number, and a risk of the same rule and key opened twice
// in the batch is still one hazard. A refused write keeps them all for the
// next Flush.
func TestObserveTransitionsStoresTogether(t *testing.T) {
	f := newFixture(t)
	spec := Spec{Category: CategoryFood}
	batch := []Observed{
		{riskOpened("JX-NH-0001", "canteen.rodent", "后厨", engine.SeverityHigh, t0), spec},
		{riskOpened("JX-NH-0002", "canteen.rodent", "后厨", engine.SeverityHigh, t0), spec},
		{riskOpened("JX-NH-0002", "canteen.rodent", "后厨", engine.SeverityHigh, t0.Add(time.Minute)), spec},
		{riskOpened("JX-NH-0003", "canteen.rodent", "仓库", engine.SeverityMedium, t0), Spec{}},
	}
	f.m.ObserveTransitions(batch)
	require.Equal(t, 1, f.store.writes)
	list := f.m.List(Filter{})
	require.Len(t, list, 2)
	for _, h := range list {
		stored, err := f.store.LoadHazard(t.Context(), h.ID)
		require.NoError(t, err)
		require.Equal(t, h, stored)
	}

	f.store.setFail(errors.New("clickhouse down"))
	f.m.ObserveTransitions([]Observed{
		{riskOpened("JX-NH-0004", "canteen.rodent", "后厨", engine.SeverityHigh, t0), spec},
		{riskOpened("JX-NH-0005", "canteen.rodent", "后厨", engine.SeverityHigh, t0), spec},
	})
	require.Len(t, f.m.List(Filter{}), 4, "listed though not stored yet")
	require.Error(t, f.m.Flush(t.Context()))
	f.store.setFail(nil)
	require.NoError(t, f.m.Flush(t.Context()))
	for _, school := range []string{"JX-NH-0004", "JX-NH-0005"} {
		_, err := f.store.LoadHazard(t.Context(), RuleID(school, "canteen.rodent", "后厨", t0))
		require.NoError(t, err, school)
	}
}
