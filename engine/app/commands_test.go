package app_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/hazard"
	"github.com/sanse-campus/sanse/engine/words"
)

// TestResolveEndsRiskAndRecordsIt: a person resolves the risk that holds a
// school red; the risk ends, the school is green, the history has the
// resolution (who, why) and the colour change (已人工处置解除…), and the
// stream is handed the change by the time Resolve returns.
func TestResolveEndsRiskAndRecordsIt(t *testing.T) {
	a := start(t, newEnv(t))
	produce(t, a.Brokers(), blacklisted("res-1", schoolA, time.Now().Add(-time.Minute)))
	waitFor(t, 30*time.Second, schoolA+" red", func() bool { return a.Engine().Level(schoolA) == engine.LevelRed })
	v, _ := a.Engine().View(schoolA)
	require.Len(t, v.Risks, 1)
	risk := v.Risks[0]
	require.Equal(t, "visitor.watchlist_entry", risk.Rule)

	var after engine.SchoolView
	within(t, 30*time.Second, "Resolve", func() (err error) {
		after, err = a.Resolve(t.Context(), schoolA, risk.Rule, risk.Key, "王科长", "已由保卫处带离并报警")
		return err
	})
	require.Equal(t, engine.LevelGreen, after.Level)
	require.Empty(t, after.Risks)
	require.Equal(t, engine.LevelGreen, a.Engine().Level(schoolA))

	// Recorded: the resolution with who and why, the colour change with
	// the cause people read.
	trs, err := a.Store().RiskTransitions(t.Context(), schoolA, time.Now().Add(-time.Hour), time.Now().Add(time.Minute))
	require.NoError(t, err)
	require.NotEmpty(t, trs)
	tr := trs[len(trs)-1]
	require.Equal(t, engine.RiskResolved, tr.State)
	require.Equal(t, risk.Rule, tr.Risk.Rule)
	require.Equal(t, "王科长", tr.Actor)
	require.Equal(t, "已由保卫处带离并报警", tr.Comment)
	c := lastStored(t, a.App, schoolA)
	require.Equal(t, engine.LevelRed, c.From)
	require.Equal(t, engine.LevelGreen, c.To)
	require.Equal(t, engine.RiskResolved, c.Cause.How)
	require.Contains(t, words.Cause(c.Cause, words.Chinese), "已人工处置解除")
	require.Contains(t, c.Cause.Text, "已人工处置解除", "the history keeps the sentence as written")

	// The stream has it already: Resolve returns after the write path.
	p, ok := a.stream.last(schoolA)
	require.True(t, ok)
	require.Equal(t, engine.LevelGreen, p.change.To)
	require.Equal(t, engine.RiskResolved, p.change.Cause.How)

	// Nothing is left to resolve.
	_, err = a.Resolve(t.Context(), schoolA, risk.Rule, risk.Key, "王科长", "again")
	require.ErrorIs(t, err, engine.ErrNoSuchRisk)
}

// TestHazardHoldsColourUntilVerified: a hazard an inspector registers opens
// its risk (the school turns yellow, recorded and streamed); the workflow
// keeps it yellow until the hazard is verified, which resolves the risk
// (green, recorded and streamed). Every call returns: the hazards ask the
// App to act on the engine and the App's write path hands the result back
// to the hazards, without a deadlock.
func TestHazardHoldsColourUntilVerified(t *testing.T) {
	a := start(t, newEnv(t))
	var h *hazard.Hazard
	within(t, 30*time.Second, "Hazards().Create", func() (err error) {
		h, err = a.Hazards().Create(t.Context(), hazard.NewHazard{
			SchoolID: schoolC, Title: "消防通道堵塞", Category: hazard.CategoryFire, Level: engine.SeverityMedium,
			Responsible: "后勤主任", Deadline: time.Now().Add(time.Hour), By: "区安全科张科长",
		})
		return err
	})
	require.Equal(t, engine.LevelYellow, a.Engine().Level(schoolC))
	c := lastStored(t, a.App, schoolC)
	require.Equal(t, engine.LevelYellow, c.To, "the risk a hazard opens is recorded")
	require.Equal(t, hazard.RiskRule, c.Cause.Rule)
	p, ok := a.stream.last(schoolC)
	require.True(t, ok, "the stream is handed the change")
	require.Equal(t, engine.LevelYellow, p.change.To)

	for _, step := range []struct {
		action  hazard.Action
		by      string
		comment string
	}{
		{hazard.ActionStart, "李校长", ""},
		{hazard.ActionSubmit, "李校长", "通道已清理"},
		{hazard.ActionReject, "区安全科张科长", "堆放物未清运"},
		{hazard.ActionSubmit, "李校长", "已清运"},
	} {
		within(t, 30*time.Second, "Hazards().Transition "+string(step.action), func() error {
			_, err := a.Hazards().Transition(t.Context(), h.ID, step.action, step.by, step.comment, nil)
			return err
		})
		require.Equal(t, engine.LevelYellow, a.Engine().Level(schoolC), "yellow until verified (after %s)", step.action)
	}
	var got *hazard.Hazard
	within(t, 30*time.Second, "Hazards().Transition verify", func() (err error) {
		got, err = a.Hazards().Transition(t.Context(), h.ID, hazard.ActionVerify, "区安全科张科长", "现场验收合格，销号", nil)
		return err
	})
	require.Equal(t, hazard.StatusVerified, got.Status)
	require.Equal(t, engine.LevelGreen, a.Engine().Level(schoolC))
	c = lastStored(t, a.App, schoolC)
	require.Equal(t, engine.LevelGreen, c.To, "the resolution is recorded")
	require.Equal(t, engine.RiskResolved, c.Cause.How)
	p, _ = a.stream.last(schoolC)
	require.Equal(t, engine.LevelGreen, p.change.To)
}

// TestRuleHazardHoldsColour: a patrol that finds a hazard (a rule with
// `hazard:`) opens the hazard through the write path's hazard subscriber;
// a clean patrol does not end it, verifying it does.
func TestRuleHazardHoldsColour(t *testing.T) {
	a := start(t, newEnv(t))
	now := time.Now()
	produce(t, a.Brokers(), patrol("p-1", schoolD, true, now.Add(-time.Minute)))
	var hs []*hazard.Hazard
	waitFor(t, 30*time.Second, "the rule's hazard registered", func() bool {
		hs = a.Hazards().List(hazard.Filter{School: func(id string) bool { return id == schoolD }})
		return len(hs) == 1
	})
	require.Equal(t, hazard.StatusOpen, hs[0].Status)
	require.Equal(t, "drowning.patrol_hazard", hs[0].Origin.Rule)
	require.Equal(t, engine.LevelYellow, a.Engine().Level(schoolD))

	produce(t, a.Brokers(), patrol("p-2", schoolD, false, now))
	// The engine applies a batch before the write path stores it.
	waitFor(t, 30*time.Second, "the clean patrol stored", func() bool { return storedEvents(t, a.App) == 2 })
	require.Equal(t, engine.LevelYellow, a.Engine().Level(schoolD), "a clean patrol does not end a hazard")

	for _, action := range []hazard.Action{hazard.ActionStart, hazard.ActionSubmit} {
		within(t, 30*time.Second, "Hazards().Transition "+string(action), func() error {
			_, err := a.Hazards().Transition(t.Context(), hs[0].ID, action, "李校长", "护栏已修复", nil)
			return err
		})
	}
	within(t, 30*time.Second, "Hazards().Transition verify", func() error {
		_, err := a.Hazards().Transition(t.Context(), hs[0].ID, hazard.ActionVerify, "区安全科张科长", "现场验收合格", nil)
		return err
	})
	require.Equal(t, engine.LevelGreen, a.Engine().Level(schoolD))
	require.Equal(t, engine.LevelGreen, lastStored(t, a.App, schoolD).To)
}
