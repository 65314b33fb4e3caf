package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
)

// newAlert returns a firing alert at school, opened at opened.
func newAlert(id, school, district string, level engine.Level, source engine.Source, opened time.Time) *alert.Alert {
	a := &alert.Alert{
		ID: id, SchoolID: school, SchoolName: "测试学校" + school, District: district, Town: "新兴街道",
		Level: level, Status: alert.StatusFiring, Rule: "visitor.blacklist", RiskKey: "k", Source: source,
		RiskLevel: engine.SeverityHigh, Title: "黑名单人员进校", Cause: "新增高风险：黑名单人员进校",
		OpenedAt: opened, UpdatedAt: opened, StepAt: opened,
	}
	a.History = append(a.History, alert.Entry{At: opened, Action: alert.ActionOpened, Comment: a.Cause})
	return a
}

// TestAlertStore checks the behaviour engine/alert relies on of the alerts
// (see alert.Store; the outbox's part is TestOutboxStore): open returns an
// empty store of the test's own.
func TestAlertStore(t *testing.T, open func(t *testing.T) alert.Store) {
	t.Run("an alert saved again is the last version, once", func(t *testing.T) {
		s := open(t)
		a := newAlert("a-1", "S1", "南湖区", engine.LevelRed, engine.SourceVisitor, t0)
		require.NoError(t, s.SaveAlerts(t.Context(), []*alert.Alert{a}))
		require.NoError(t, s.SaveAlerts(t.Context(), []*alert.Alert{a}))
		acked := *a
		acked.History = append(append([]alert.Entry(nil), a.History...),
			alert.Entry{At: t0.Add(time.Minute), Action: alert.ActionAcknowledged, By: "王老师", Comment: "已处置"})
		acked.Status, acked.AcknowledgedAt, acked.AcknowledgedBy, acked.UpdatedAt = alert.StatusAcknowledged, t0.Add(time.Minute), "王老师", t0.Add(time.Minute)
		require.NoError(t, s.SaveAlerts(t.Context(), []*alert.Alert{&acked}))

		got, err := s.Alert(t.Context(), "a-1")
		require.NoError(t, err)
		requireSameJSON(t, &acked, got)
		list, err := s.Alerts(t.Context(), alert.Filter{})
		require.NoError(t, err)
		require.Len(t, list, 1)
		requireSameJSON(t, &acked, list[0])
	})

	t.Run("open alerts are the firing and the acknowledged ones", func(t *testing.T) {
		s := open(t)
		firing := newAlert("a-firing", "S1", "南湖区", engine.LevelRed, engine.SourceVisitor, t0)
		acked := newAlert("a-acked", "S2", "南湖区", engine.LevelYellow, engine.SourceCanteen, t0.Add(time.Second))
		acked.Status = alert.StatusAcknowledged
		resolved := newAlert("a-resolved", "S3", "秀洲区", engine.LevelRed, engine.SourceVisitor, t0.Add(2*time.Second))
		resolved.Status, resolved.ResolvedAt = alert.StatusResolved, t0.Add(time.Hour)
		require.NoError(t, s.SaveAlerts(t.Context(), []*alert.Alert{firing, acked, resolved}))
		open, err := s.OpenAlerts(t.Context())
		require.NoError(t, err)
		require.ElementsMatch(t, []string{"a-firing", "a-acked"}, alertIDs(open))

		// Resolving saves a new version: no longer open.
		done := *firing
		done.Status, done.ResolvedAt, done.UpdatedAt = alert.StatusResolved, t0.Add(time.Hour), t0.Add(time.Hour)
		require.NoError(t, s.SaveAlerts(t.Context(), []*alert.Alert{&done}))
		open, err = s.OpenAlerts(t.Context())
		require.NoError(t, err)
		require.Equal(t, []string{"a-acked"}, alertIDs(open))
	})

	t.Run("filters select alerts, newest first", func(t *testing.T) {
		s := open(t)
		a1 := newAlert("a-1", "S1", "南湖区", engine.LevelRed, engine.SourceVisitor, t0)
		a2 := newAlert("a-2", "S2", "南湖区", engine.LevelYellow, engine.SourceCanteen, t0.Add(time.Minute))
		a3 := newAlert("a-3", "S3", "秀洲区", engine.LevelYellow, engine.SourceVisitor, t0.Add(2*time.Minute))
		a3.Status = alert.StatusResolved
		a4 := newAlert("a-4", "S1", "南湖区", engine.LevelRed, engine.SourceBullying, t0.Add(2*time.Minute)) // same time as a-3: by id
		a4.Status = alert.StatusAcknowledged
		require.NoError(t, s.SaveAlerts(t.Context(), []*alert.Alert{a2, a4, a1, a3}))
		for _, tc := range []struct {
			name   string
			filter alert.Filter
			want   []string
		}{
			{name: "everything", want: []string{"a-3", "a-4", "a-2", "a-1"}},
			{name: "status", filter: alert.Filter{Status: []alert.Status{alert.StatusFiring, alert.StatusResolved}}, want: []string{"a-3", "a-2", "a-1"}},
			{name: "level", filter: alert.Filter{Level: engine.LevelRed}, want: []string{"a-4", "a-1"}},
			{name: "district", filter: alert.Filter{District: "秀洲区"}, want: []string{"a-3"}},
			{name: "school", filter: alert.Filter{School: "S1"}, want: []string{"a-4", "a-1"}},
			{name: "source", filter: alert.Filter{Source: engine.SourceVisitor}, want: []string{"a-3", "a-1"}},
			{name: "from is inclusive", filter: alert.Filter{From: t0.Add(time.Minute)}, want: []string{"a-3", "a-4", "a-2"}},
			{name: "to is exclusive", filter: alert.Filter{To: t0.Add(2 * time.Minute)}, want: []string{"a-2", "a-1"}},
			{name: "limit", filter: alert.Filter{Limit: 2}, want: []string{"a-3", "a-4"}},
			{name: "all together", filter: alert.Filter{Level: engine.LevelYellow, District: "南湖区", Status: []alert.Status{alert.StatusFiring}}, want: []string{"a-2"}},
			{name: "nothing matches", filter: alert.Filter{School: "S9"}, want: []string{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.Alerts(t.Context(), tc.filter)
				require.NoError(t, err)
				require.Equal(t, tc.want, alertIDs(got))
			})
		}
	})

	t.Run("a missing alert is not found", func(t *testing.T) {
		s := open(t)
		_, err := s.Alert(t.Context(), "nope")
		require.ErrorIs(t, err, alert.ErrNotFound)
		require.NoError(t, s.SaveAlerts(t.Context(), nil))
		list, err := s.OpenAlerts(t.Context())
		require.NoError(t, err)
		require.Empty(t, list)
	})
}

func alertIDs(as []*alert.Alert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}
