package notify

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/stretchr/testify/require"
)

// amMessage mirrors Alertmanager's webhook payload, version 4
// (notify/webhook.Message embedding template.Data).
type amMessage struct {
	Version         string `json:"version"`
	GroupKey        string `json:"groupKey"`
	TruncatedAlerts uint64 `json:"truncatedAlerts"`

	Receiver string `json:"receiver"`
	Status   string `json:"status"`
	Alerts   []struct {
		Status       string            `json:"status"`
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		StartsAt     time.Time         `json:"startsAt"`
		EndsAt       time.Time         `json:"endsAt"`
		GeneratorURL string            `json:"generatorURL"`
		Fingerprint  string            `json:"fingerprint"`
	} `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
}

func decodeAM(t *testing.T, b []byte) amMessage {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m amMessage
	require.NoError(t, dec.Decode(&m), "body: %s", b)
	return m
}

func amReceiver(t *testing.T, srv *recorder, maxAlerts int) *Receiver {
	return newTestReceiver(t, ReceiverConfig{
		Name:         "ops",
		Alertmanager: &AlertmanagerConfig{URL: srv.URL + "/api/v1/alerts", MaxAlerts: maxAlerts},
	})
}

func TestAlertmanagerFiring(t *testing.T) {
	srv := newRecorder(t, nil)
	require.NoError(t, sendOne(t, amReceiver(t, srv, 0), sampleMessage()))

	req := srv.last(t)
	require.Equal(t, "n-20261125-0001", req.Header.Get("X-Sanse-Notification-Id"))
	p := decodeAM(t, req.Body)
	require.Equal(t, "4", p.Version)
	require.Equal(t, "ops", p.Receiver)
	require.Equal(t, "firing", p.Status, "an acknowledged alert is still firing")
	require.Equal(t, `{}:{school_id="JX-NH-0001"}`, p.GroupKey)
	require.Equal(t, map[string]string{"school_id": "JX-NH-0001"}, p.GroupLabels)
	require.Equal(t, "https://sanse.example.org", p.ExternalURL)
	require.Zero(t, p.TruncatedAlerts)

	require.Len(t, p.Alerts, 2)
	a := p.Alerts[0]
	require.Equal(t, "firing", a.Status)
	require.Equal(t, "fp-visitor-1", a.Fingerprint)
	require.Equal(t, map[string]string{
		"alertname": "visitor_blacklist",
		"school_id": "JX-NH-0001",
		"school":    "嘉兴市南湖区城南幼儿园",
		"district":  "南湖区",
		"town":      "余新镇",
		"level":     "red",
		"source":    "visitor",
		"severity":  "critical",
	}, a.Labels)
	require.Equal(t, map[string]string{"summary": "禁入名单人员进入校园", "description": "禁入名单人员于东门进入校园。"}, a.Annotations)
	require.True(t, a.StartsAt.Equal(testNow.Add(-2*time.Minute)))
	require.True(t, a.EndsAt.IsZero())
	require.Equal(t, "https://sanse.example.org/?alert=fp-visitor-1", a.GeneratorURL, "each alert links to itself on the map")
	require.Equal(t, "fp-bullying-1", p.Alerts[1].Fingerprint)
	require.Equal(t, "https://sanse.example.org/?alert=fp-bullying-1", p.Alerts[1].GeneratorURL)
	require.Equal(t, "warning", p.Alerts[1].Labels["severity"])

	require.Equal(t, map[string]string{"school_id": "JX-NH-0001", "school": "嘉兴市南湖区城南幼儿园", "district": "南湖区", "town": "余新镇"}, p.CommonLabels)
	require.Empty(t, p.CommonAnnotations)
}

func TestAlertmanagerResolved(t *testing.T) {
	srv := newRecorder(t, nil)
	m := sampleMessage()
	m.Kind, m.Level = KindResolved, engine.LevelGreen
	m.Items = m.Items[:1]
	m.Items[0].Status = StatusResolved
	m.Items[0].EndsAt = testNow
	m.Items[0].Source = ""
	require.NoError(t, sendOne(t, amReceiver(t, srv, 0), m))

	p := decodeAM(t, srv.last(t).Body)
	require.Equal(t, "resolved", p.Status)
	require.Equal(t, "resolved", p.Alerts[0].Status)
	require.True(t, p.Alerts[0].EndsAt.Equal(testNow))
	require.NotContains(t, p.Alerts[0].Labels, "source", "empty labels are left out")
	require.Equal(t, p.Alerts[0].Annotations, p.CommonAnnotations)
}

func TestAlertmanagerTruncates(t *testing.T) {
	srv := newRecorder(t, nil)
	require.NoError(t, sendOne(t, amReceiver(t, srv, 1), sampleMessage()))
	p := decodeAM(t, srv.last(t).Body)
	require.Len(t, p.Alerts, 1)
	require.Equal(t, uint64(1), p.TruncatedAlerts)
}
