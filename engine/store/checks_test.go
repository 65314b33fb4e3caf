package store

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

// TestCheckCountsAndConfirmations stores the lives of camera detections
// pending a human check and reads back what the checks found, per rule,
// school and device, and the confirmations people made.
func TestCheckCountsAndConfirmations(t *testing.T) {
	s := openTest(t, nil)
	pending := func(id, school, device string, state engine.RiskState, ms int, eventID, actor string) engine.RiskTransition {
		tr := transition(id, school, "canteen.rodent", "", state, ms, 1_000, 0)
		tr.Risk.Source, tr.Risk.Pending, tr.Risk.Full, tr.Risk.Device = engine.SourceCanteen, state == engine.RiskOpened, engine.SeverityHigh, device
		tr.Risk.Severity, tr.Risk.Alarms = engine.SeverityLow, []string{"MK-" + id}
		tr.EventID, tr.Actor = eventID, actor
		return tr
	}
	trs := []engine.RiskTransition{
		// cam-1 at s1: three detections, two false alarms (one by the
		// platform, one by a person), one confirmed by a person.
		pending("a1", "s1", "cam-1", engine.RiskOpened, 1_000, "e1", ""),
		pending("a1f", "s1", "cam-1", engine.RiskFalseAlarm, 2_000, "d1", "platform"),
		pending("a2", "s1", "cam-1", engine.RiskOpened, 3_000, "e2", ""),
		pending("a2f", "s1", "cam-1", engine.RiskFalseAlarm, 4_000, "", "王老师"),
		pending("a3", "s1", "cam-1", engine.RiskOpened, 5_000, "e3", ""),
		pending("a3c", "s1", "cam-1", engine.RiskConfirmed, 6_000, "", "王老师"),
		// cam-7 at s2: one detection, confirmed by the platform.
		pending("b1", "s2", "cam-7", engine.RiskOpened, 1_000, "e4", ""),
		pending("b1c", "s2", "cam-7", engine.RiskConfirmed, 2_000, "d2", "platform"),
	}
	// A risk that was never pending is not counted.
	trs = append(trs, transition("x1", "s1", "drowning.patrol", "七星湖", engine.RiskOpened, 1_000, 1_000, 0))
	require.NoError(t, s.Write(t.Context(), &engine.Batch{Output: engine.Output{Transitions: trs}}))

	counts, err := s.CheckCounts(t.Context(), at(0), at(10_000))
	require.NoError(t, err)
	require.Equal(t, []CheckCount{
		{Rule: "canteen.rodent", SchoolID: "s1", Device: "cam-1", Pending: 3, Confirmed: 1, FalseAlarms: 2},
		{Rule: "canteen.rodent", SchoolID: "s2", Device: "cam-7", Pending: 1, Confirmed: 1},
	}, counts)
	require.InDelta(t, 2.0/3, counts[0].FalseAlarmRate(), 1e-9)
	require.InDelta(t, 0, counts[1].FalseAlarmRate(), 0)

	// The transitions read back keep what the check needs.
	got, err := s.RiskTransitions(t.Context(), "s1", at(0), at(10_000))
	require.NoError(t, err)
	require.True(t, got[0].Risk.Pending)
	require.Equal(t, engine.SeverityHigh, got[0].Risk.Full)
	require.Equal(t, []string{"MK-a1"}, got[0].Risk.Alarms)
	require.Equal(t, "cam-1", got[0].Risk.Device)

	// Confirmations: only those a person made; resolutions include false
	// alarms.
	conf, err := s.Confirmations(t.Context(), at(0))
	require.NoError(t, err)
	require.Len(t, conf, 1)
	require.Equal(t, "a3c", conf[0].ID)
	res, err := s.Resolutions(t.Context(), at(0))
	require.NoError(t, err)
	require.Len(t, res, 2)
}
