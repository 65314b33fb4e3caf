package alert_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/notify"
)

// A message links to what it is about on the map: the alert when it is
// about one, the school when it groups several (and each alert in it to
// itself), the hazard when it puts one under supervision.
func TestMessageLinks(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, engine.Shanghai)
	cfg := baseConfig()
	cfg.ExternalURL = "https://sanse.example.org"
	cfg.Route.Receivers = []string{alert.SchoolContact}
	reg, err := engine.NewRegistry([]engine.School{
		{ID: "S1", Name: "南湖区第一小学", District: "南湖区", Town: "新兴街道", Stage: engine.StagePrimary},
		{ID: "K1", Name: "秀洲区新塍镇中心幼儿园", District: "秀洲区", Town: "新塍镇", Stage: engine.StageKindergarten},
	})
	require.NoError(t, err)
	st := newFakeStore()
	clk := &clock{t: t0}
	m, err := alert.New(alert.Options{
		Config: cfg, Store: st, Registry: func() *engine.Registry { return reg },
		Level: func(string) engine.Level { return engine.LevelRed }, Now: clk.now,
	})
	require.NoError(t, err)
	ctx := t.Context()
	require.NoError(t, m.Restore(ctx))

	// S1: one alert. K1: a burst of two, grouped into one message.
	out := change("S1", engine.LevelGreen, engine.LevelRed, blacklist, "黑名单人员进校", t0)
	require.NoError(t, m.Observe(ctx, &out))
	out = change("K1", engine.LevelGreen, engine.LevelRed, blacklist, "黑名单人员进校", t0)
	require.NoError(t, m.Observe(ctx, &out))
	out = change("K1", engine.LevelRed, engine.LevelRed, items, "携带违禁物品", t0.Add(100*time.Millisecond))
	out.Changes = nil
	require.NoError(t, m.Observe(ctx, &out))
	clk.set(t0.Add(2 * time.Second))
	require.NoError(t, m.Tick(ctx))
	require.NoError(t, m.Supervise(ctx, alert.Supervision{
		HazardID: "HZ-20261120-0007", SchoolID: "S1", Title: "消防通道堵塞", Deadline: t0.Add(-24 * time.Hour), At: t0.Add(3 * time.Second),
	}))

	bySchool := func(school string) []*alert.Alert {
		list, err := m.List(ctx, alert.Filter{School: school})
		require.NoError(t, err)
		return list
	}
	s1, k1 := bySchool("S1"), bySchool("K1")
	require.Len(t, s1, 1)
	require.Len(t, k1, 2)
	got := map[notify.Kind]map[string]*notify.Message{}
	for _, n := range st.sent() {
		if got[n.Message.Kind] == nil {
			got[n.Message.Kind] = map[string]*notify.Message{}
		}
		got[n.Message.Kind][n.Message.SchoolID] = &n.Message
	}

	one := got[notify.KindFiring]["S1"]
	require.NotNil(t, one)
	require.Equal(t, "https://sanse.example.org/?alert="+url.QueryEscape(s1[0].ID), one.URL)
	require.Equal(t, one.URL, one.Items[0].URL)

	burst := got[notify.KindFiring]["K1"]
	require.NotNil(t, burst)
	require.Len(t, burst.Items, 2)
	require.Equal(t, "https://sanse.example.org/?school=K1", burst.URL)
	var itemLinks []string
	for _, it := range burst.Items {
		itemLinks = append(itemLinks, it.URL)
	}
	require.ElementsMatch(t, []string{"https://sanse.example.org/?alert=" + url.QueryEscape(k1[0].ID), "https://sanse.example.org/?alert=" + url.QueryEscape(k1[1].ID)}, itemLinks)

	sup := got[notify.KindSupervision]["S1"]
	require.NotNil(t, sup, "the supervision message")
	require.Equal(t, "https://sanse.example.org/?hazard=HZ-20261120-0007", sup.URL)
	require.Equal(t, sup.URL, sup.Items[0].URL)
}
