package app_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/store"
)

// rodent returns a kitchen camera's rodent detection, an alarm of the
// vendor platform, which opens a risk pending a check.
func rodent(id, school, camera, alarmID string, at time.Time) map[string]any {
	return map[string]any{
		"id": id, "school_id": school, "source": "canteen", "type": "ai_violation", "occurred_at": at.Format(time.RFC3339Nano),
		"violation": "rodent", "reporter": camera, "alarm_id": alarmID,
	}
}

// pendingRisk returns the school's canteen.rodent risk, if active.
func pendingRisk(a *running, school string) (engine.Risk, bool) {
	v, _ := a.Engine().View(school)
	for _, r := range v.Risks {
		if r.Rule == "canteen.rodent" {
			return r, true
		}
	}
	return engine.Risk{}, false
}

// TestDisposeSurvivesRestart: two camera detections open risks pending a
// check; a person confirms one (it takes its full level, the school turns
// red) and finds the other a false alarm (it ends). Both are stored with who
// and why, counted in the check counts, and survive a restart: the replayed
// detection is confirmed again by the stored confirmation, and the false
// alarm stays ended.
func TestDisposeSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	a := start(t, e)
	at := time.Now().Add(-time.Minute)
	produce(t, a.Brokers(), rodent("ro-1", schoolA, "cam-kitchen-1", "MK-1", at), rodent("ro-2", schoolB, "cam-store-2", "MK-2", at))
	waitFor(t, 30*time.Second, "two risks pending a check", func() bool {
		ra, okA := pendingRisk(a, schoolA)
		rb, okB := pendingRisk(a, schoolB)
		return okA && okB && ra.Pending && rb.Pending
	})
	r, _ := pendingRisk(a, schoolA)
	require.Equal(t, engine.SeverityLow, r.Severity)
	require.Equal(t, engine.SeverityHigh, r.Full)
	require.Equal(t, "cam-kitchen-1", r.Device)
	require.Equal(t, engine.LevelGreen, a.Engine().Level(schoolA), "a low risk pending a check leaves the school green")

	var after engine.SchoolView
	within(t, 30*time.Second, "Dispose", func() (err error) {
		after, err = a.Dispose(t.Context(), schoolA, "canteen.rodent", "", engine.DispositionConfirmed, "食堂张主任", "回看录像属实")
		return err
	})
	require.Equal(t, engine.LevelRed, after.Level)
	require.Len(t, after.Risks, 1)
	require.False(t, after.Risks[0].Pending)
	require.Equal(t, engine.SeverityHigh, after.Risks[0].Severity)
	_, err := a.Dispose(t.Context(), schoolA, "canteen.rodent", "", engine.DispositionConfirmed, "食堂张主任", "")
	require.ErrorIs(t, err, engine.ErrNotPending, "confirmed once")

	after, err = a.Dispose(t.Context(), schoolB, "canteen.rodent", "", engine.DispositionFalseAlarm, "李老师", "是一只猫")
	require.NoError(t, err)
	require.Empty(t, after.Risks)
	_, err = a.Dispose(t.Context(), schoolB, "canteen.rodent", "", engine.DispositionFalseAlarm, "李老师", "again")
	require.ErrorIs(t, err, engine.ErrNoSuchRisk)

	// Recorded with who and why.
	trs, err := a.Store().RiskTransitions(t.Context(), schoolA, time.Now().Add(-time.Hour), time.Now().Add(time.Minute))
	require.NoError(t, err)
	require.NotEmpty(t, trs)
	tr := trs[len(trs)-1]
	require.Equal(t, engine.RiskConfirmed, tr.State)
	require.Equal(t, "食堂张主任", tr.Actor)
	require.Equal(t, "回看录像属实", tr.Comment)

	// The detections' own transitions are stored with their batch, which
	// the consumer flushes on its own schedule: wait for them.
	want := []store.CheckCount{
		{Rule: "canteen.rodent", SchoolID: schoolA, Device: "cam-kitchen-1", Pending: 1, Confirmed: 1},
		{Rule: "canteen.rodent", SchoolID: schoolB, Device: "cam-store-2", Pending: 1, FalseAlarms: 1},
	}
	var counts []store.CheckCount
	waitFor(t, 30*time.Second, "the check counts stored", func() bool {
		counts, err = a.CheckCounts(t.Context(), time.Now().Add(-time.Hour), time.Now().Add(time.Minute))
		require.NoError(t, err)
		return reflect.DeepEqual(want, sortedCounts(counts))
	})
	require.Equal(t, want, sortedCounts(counts))

	before := snapshot(a.App)
	a.stop()

	b := start(t, e)
	require.Equal(t, before, snapshot(b.App), "the same state after a restart")
	r, ok := pendingRisk(b, schoolA)
	require.True(t, ok)
	require.False(t, r.Pending, "the stored confirmation is replayed")
	require.Equal(t, engine.SeverityHigh, r.Severity)
	require.Equal(t, engine.LevelRed, b.Engine().Level(schoolA))
	_, ok = pendingRisk(b, schoolB)
	require.False(t, ok, "the false alarm stays ended")

	// The restored state goes on: the confirmed risk is resolved.
	_, err = b.Resolve(t.Context(), schoolA, "canteen.rodent", "", "食堂张主任", "已消杀并封堵洞口")
	require.NoError(t, err)
	require.Equal(t, engine.LevelGreen, b.Engine().Level(schoolA))
}

// sortedCounts orders check counts by school, as the tests compare them.
func sortedCounts(cs []store.CheckCount) []store.CheckCount {
	out := slices.Clone(cs)
	slices.SortFunc(out, func(x, y store.CheckCount) int { return strings.Compare(x.SchoolID, y.SchoolID) })
	return out
}
