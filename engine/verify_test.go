package engine_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

// cameraRules opens a rodent risk, high once confirmed, pending a check at
// low, for every canteen alarm.
type cameraRules struct{ noRules }

func (cameraRules) Evaluate(ev *engine.Event, _ *engine.School, _ engine.RuleState, out []engine.Match) ([]engine.Match, error) {
	if ev.Type == "ai_violation" {
		out = append(out, engine.Match{Rule: "rodent", Severity: engine.SeverityHigh, Pending: engine.SeverityLow,
			Title: "鼠患（待核实）", Manual: true})
	}
	return out, nil
}

func newCameraEngine(t *testing.T) *engine.Engine {
	t.Helper()
	reg, err := engine.NewRegistry([]engine.School{{ID: "S1", Name: "一小", District: "南湖区"}})
	require.NoError(t, err)
	e := engine.New(func() engine.Evaluator { return cameraRules{} }, func() *engine.Registry { return reg })
	var out engine.Output
	e.Tick(t0, &out)
	return e
}

func alarm(id, alarmID string, at time.Time) *engine.Event {
	return &engine.Event{ID: id, SchoolID: "S1", Source: engine.SourceCanteen, Type: "ai_violation", OccurredAt: at, AlarmID: alarmID}
}

func disposition(id, alarmID string, d engine.Disposition, at time.Time) *engine.Event {
	return &engine.Event{ID: id, SchoolID: "S1", Source: engine.SourceCanteen, Type: "disposition", OccurredAt: at,
		AlarmID: alarmID, Disposition: d, Reporter: "platform"}
}

func TestPendingRiskConfirmedByDisposition(t *testing.T) {
	e := newCameraEngine(t)
	var out engine.Output
	require.NoError(t, e.Apply(alarm("a1", "MK-1", t0), &out))
	v, _ := e.View("S1")
	require.Equal(t, engine.LevelGreen, v.Level, "a pending detection shows at its pending level")
	require.Len(t, v.Risks, 1)
	require.True(t, v.Risks[0].Pending)
	require.Equal(t, engine.SeverityLow, v.Risks[0].Severity)
	require.Equal(t, engine.SeverityHigh, v.Risks[0].Full)

	// A disposition naming another alarm changes nothing.
	require.NoError(t, e.Apply(disposition("d0", "MK-9", engine.DispositionConfirmed, t0.Add(time.Minute)), &out))
	require.Equal(t, engine.LevelGreen, e.Level("S1"))

	out = engine.Output{}
	require.NoError(t, e.Apply(disposition("d1", "MK-1", engine.DispositionConfirmed, t0.Add(5*time.Minute)), &out))
	require.Equal(t, engine.LevelRed, e.Level("S1"))
	require.Len(t, out.Transitions, 1)
	require.Equal(t, engine.RiskConfirmed, out.Transitions[0].State)
	require.Equal(t, "platform", out.Transitions[0].Actor)
	require.Len(t, out.Changes, 1)
	require.Equal(t, engine.RiskConfirmed, out.Changes[0].Cause.How)
	v, _ = e.View("S1")
	require.False(t, v.Risks[0].Pending)
	require.Equal(t, engine.SeverityHigh, v.Risks[0].Severity)

	// A later alarm of the confirmed risk keeps it at its full level.
	require.NoError(t, e.Apply(alarm("a2", "MK-2", t0.Add(time.Hour)), &out))
	require.Equal(t, engine.LevelRed, e.Level("S1"))
}

func TestFalseAlarmEndsTheRisk(t *testing.T) {
	e := newCameraEngine(t)
	var out engine.Output
	require.NoError(t, e.Apply(alarm("a1", "MK-1", t0), &out))
	out = engine.Output{}
	require.NoError(t, e.Apply(disposition("d1", "MK-1", engine.DispositionFalseAlarm, t0.Add(5*time.Minute)), &out))
	v, _ := e.View("S1")
	require.Empty(t, v.Risks)
	require.Len(t, out.Transitions, 1)
	require.Equal(t, engine.RiskFalseAlarm, out.Transitions[0].State, "a false alarm is recorded as such, to be counted")

	// The alarm arriving again late (a replay) does not reopen it.
	require.ErrorIs(t, e.Apply(alarm("a1", "MK-1", t0), &out), engine.ErrDuplicate)
	require.NoError(t, e.Apply(alarm("a1b", "MK-1", t0.Add(time.Minute)), &out))
	v, _ = e.View("S1")
	require.Empty(t, v.Risks)
}

func TestPersonDisposes(t *testing.T) {
	e := newCameraEngine(t)
	var out engine.Output
	require.NoError(t, e.Apply(alarm("a1", "MK-1", t0), &out))
	require.ErrorIs(t, e.Dispose("S1", "other", "", engine.DispositionConfirmed, "王老师", "", t0, &out), engine.ErrNoSuchRisk)
	require.Error(t, e.Dispose("S1", "rodent", "", "maybe", "王老师", "", t0, &out))
	require.NoError(t, e.Dispose("S1", "rodent", "", engine.DispositionConfirmed, "王老师", "看了监控", t0.Add(time.Minute), &out))
	require.Equal(t, engine.LevelRed, e.Level("S1"))
	require.ErrorIs(t, e.Dispose("S1", "rodent", "", engine.DispositionConfirmed, "王老师", "", t0.Add(2*time.Minute), &out), engine.ErrNotPending)
	out = engine.Output{}
	require.NoError(t, e.Dispose("S1", "rodent", "", engine.DispositionHandled, "王老师", "已消杀", t0.Add(time.Hour), &out))
	require.Equal(t, engine.LevelGreen, e.Level("S1"))
	require.Equal(t, engine.RiskResolved, out.Transitions[0].State)
	require.Equal(t, "已消杀", out.Transitions[0].Comment)
}

// reportRules opens a bullying case, low, rising to medium when it is still
// open after 10 days (the school's finding is late).
type reportRules struct{ noRules }

func (reportRules) Evaluate(ev *engine.Event, _ *engine.School, _ engine.RuleState, out []engine.Match) ([]engine.Match, error) {
	switch ev.Type {
	case "report":
		out = append(out, engine.Match{Rule: "case", Key: ev.Reporter, Severity: engine.SeverityLow, Title: "欺凌报告待认定",
			Manual: true, Overdue: 10 * 24 * time.Hour, OverdueLevel: engine.SeverityMedium})
	case "finding":
		out = append(out, engine.Match{Rule: "case", Key: ev.Reporter, Clear: true})
	}
	return out, nil
}

func TestOverdueRiskRises(t *testing.T) {
	reg, err := engine.NewRegistry([]engine.School{{ID: "S1", Name: "一小", District: "南湖区"}})
	require.NoError(t, err)
	e := engine.New(func() engine.Evaluator { return reportRules{} }, func() *engine.Registry { return reg })
	var out engine.Output
	e.Tick(t0, &out)
	report := func(id, key, typ string, at time.Time) *engine.Event {
		return &engine.Event{ID: id, SchoolID: "S1", Source: engine.SourceBullying, Type: typ, OccurredAt: at, Reporter: key}
	}
	require.NoError(t, e.Apply(report("r1", "C-1", "report", t0), &out))
	require.NoError(t, e.Apply(report("r2", "C-2", "report", t0.Add(time.Hour)), &out))
	// C-2's finding is recorded in time; C-1's is not.
	require.NoError(t, e.Apply(report("f2", "C-2", "finding", t0.Add(48*time.Hour)), &out))
	e.Tick(t0.Add(9*24*time.Hour), &out)
	require.Equal(t, engine.LevelGreen, e.Level("S1"))

	out = engine.Output{}
	e.Tick(t0.Add(10*24*time.Hour+time.Minute), &out)
	require.Equal(t, engine.LevelYellow, e.Level("S1"), "the late finding raises the colour")
	require.Len(t, out.Transitions, 1)
	require.Equal(t, engine.RiskOverdue, out.Transitions[0].State)
	require.Equal(t, "C-1", out.Transitions[0].Risk.Key)
	require.True(t, out.Transitions[0].At.Equal(t0.Add(10*24*time.Hour)), "at the time it became overdue")
	require.Len(t, out.Changes, 1)
	require.Equal(t, engine.RiskOverdue, out.Changes[0].Cause.How)

	// Once risen it does not rise again; the finding ends it.
	out = engine.Output{}
	e.Tick(t0.Add(20*24*time.Hour), &out)
	require.Empty(t, out.Transitions)
	require.NoError(t, e.Apply(report("f1", "C-1", "finding", t0.Add(20*24*time.Hour+time.Hour)), &out))
	require.Equal(t, engine.LevelGreen, e.Level("S1"))
}
