package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/notify"
)

// t0 is the time the suites' records are made at: a whole second, so that
// no implementation rounds it.
var t0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

// notification returns a message to receiver about one alert at school,
// created at created.
func notification(id, receiver, school string, created time.Time) *notify.Notification {
	return &notify.Notification{
		ID: id, Receiver: receiver, Created: created,
		Message: notify.Message{
			ID: id, Kind: notify.KindFiring, SchoolID: school, SchoolName: "测试学校" + school, District: "南湖区", Town: "新兴街道",
			Level: engine.LevelRed, Step: notify.StepSchool, At: created, URL: "http://sanse.test/?school=" + school,
			Items: []notify.Item{{
				AlertID: "alert:" + id, Level: engine.LevelRed, Status: notify.StatusFiring, Rule: "visitor.blacklist",
				Source: engine.SourceVisitor, Title: "黑名单人员进校", Cause: "新增高风险：黑名单人员进校", StartsAt: created,
				Details: []notify.Detail{{Label: "涉及学生编号", Value: "STU-1", Sensitive: notify.SensitiveStudent}},
			}},
		},
	}
}

// TestOutboxStore checks the behaviour the outbox relies on (see
// notify.OutboxStore): open returns an empty store of the test's own.
func TestOutboxStore(t *testing.T, open func(t *testing.T) notify.OutboxStore) {
	t.Run("a message saved twice is pending once, as it was saved", func(t *testing.T) {
		s := open(t)
		n := notification("n-1", "school-robot", "S1", t0)
		require.NoError(t, s.SaveNotifications(t.Context(), []*notify.Notification{n}))
		require.NoError(t, s.SaveNotifications(t.Context(), []*notify.Notification{n}))
		got, err := s.PendingNotifications(t.Context(), t0.Add(-time.Hour))
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.Empty(t, got[0].Done)
		requireSameJSON(t, n, got[0])
	})

	t.Run("pending messages are the ones created since, oldest first", func(t *testing.T) {
		s := open(t)
		old := notification("n-old", "r", "S1", t0.Add(-2*time.Hour))
		b := notification("n-b", "r", "S2", t0.Add(time.Second))
		a := notification("n-a", "r", "S1", t0)
		c := notification("n-c", "other", "S1", t0.Add(time.Second)) // same time as b: by id
		require.NoError(t, s.SaveNotifications(t.Context(), []*notify.Notification{b, old, c, a}))
		got, err := s.PendingNotifications(t.Context(), t0.Add(-time.Hour))
		require.NoError(t, err)
		require.Equal(t, []string{"n-a", "n-b", "n-c"}, ids(got))
		got, err = s.PendingNotifications(t.Context(), t0.Add(-3*time.Hour))
		require.NoError(t, err)
		require.Equal(t, []string{"n-old", "n-a", "n-b", "n-c"}, ids(got))
	})

	t.Run("done lists the channels that took a message or refused it for good, once each", func(t *testing.T) {
		s := open(t)
		n := notification("n-1", "district-office", "S1", t0)
		require.NoError(t, s.SaveNotifications(t.Context(), []*notify.Notification{n}))
		at := t0.Add(time.Second)
		d := func(channel string, attempt int, ok, permanent bool) notify.Delivery {
			return notify.Delivery{NotificationID: n.ID, SchoolID: "S1", Receiver: n.Receiver, Channel: channel,
				Attempt: attempt, At: at.Add(time.Duration(attempt) * time.Second), OK: ok, Permanent: permanent}
		}
		ds := []notify.Delivery{
			d("dingtalk", 1, true, false),
			d("email", 1, false, false),
			d("email", 2, false, false),
			d("webhook", 1, false, true),
		}
		require.NoError(t, s.SaveDeliveries(t.Context(), ds))
		require.NoError(t, s.SaveDeliveries(t.Context(), ds[:1])) // saved again
		got, err := s.PendingNotifications(t.Context(), t0.Add(-time.Hour))
		require.NoError(t, err)
		require.Len(t, got, 1, "some channel has still to take it")
		require.ElementsMatch(t, []string{"dingtalk", "webhook"}, got[0].Done)

		require.NoError(t, s.SaveDeliveries(t.Context(), []notify.Delivery{d("email", 3, true, false)}))
		got, err = s.PendingNotifications(t.Context(), t0.Add(-time.Hour))
		require.NoError(t, err)
		require.Len(t, got, 1, "every channel took it, but it is not marked finished")
		require.ElementsMatch(t, []string{"dingtalk", "email", "webhook"}, got[0].Done)
	})

	t.Run("a message marked finished is not pending", func(t *testing.T) {
		s := open(t)
		a := notification("n-a", "r", "S1", t0)
		b := notification("n-b", "r", "S2", t0.Add(time.Second))
		require.NoError(t, s.SaveNotifications(t.Context(), []*notify.Notification{a, b}))
		finished := notify.Delivery{NotificationID: a.ID, SchoolID: "S1", Receiver: "r", Channel: notify.Finished,
			Attempt: 3, At: t0.Add(time.Minute), OK: true}
		require.NoError(t, s.SaveDeliveries(t.Context(), []notify.Delivery{finished}))
		require.NoError(t, s.SaveDeliveries(t.Context(), []notify.Delivery{finished}))
		got, err := s.PendingNotifications(t.Context(), t0.Add(-time.Hour))
		require.NoError(t, err)
		require.Equal(t, []string{"n-b"}, ids(got))
		require.Empty(t, got[0].Done, "the finished mark of another message is no channel of this one")
		// Saving the finished message again does not bring it back.
		require.NoError(t, s.SaveNotifications(t.Context(), []*notify.Notification{a}))
		got, err = s.PendingNotifications(t.Context(), t0.Add(-time.Hour))
		require.NoError(t, err)
		require.Equal(t, []string{"n-b"}, ids(got))
	})

	t.Run("nothing saved, nothing pending", func(t *testing.T) {
		s := open(t)
		require.NoError(t, s.SaveNotifications(t.Context(), nil))
		require.NoError(t, s.SaveDeliveries(t.Context(), nil))
		got, err := s.PendingNotifications(t.Context(), t0.Add(-time.Hour))
		require.NoError(t, err)
		require.Empty(t, got)
	})
}

func ids(ns []*notify.Notification) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.ID
	}
	return out
}

// requireSameJSON checks that want and got say the same once encoded, so
// that times compare by instant and not by their location.
func requireSameJSON(t *testing.T, want, got any) {
	t.Helper()
	w, err := json.Marshal(want)
	require.NoError(t, err)
	g, err := json.Marshal(got)
	require.NoError(t, err)
	require.JSONEq(t, string(w), string(g))
}
