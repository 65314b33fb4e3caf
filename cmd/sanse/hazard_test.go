package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
)

// postAPI posts a JSON body and decodes the JSON answer into out.
func (in *instance) postAPI(path string, body any, out any) int {
	in.t.Helper()
	b, err := json.Marshal(body)
	require.NoError(in.t, err)
	resp := in.post(path, "application/json", bytes.NewReader(b))
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(in.t, err)
	if out != nil {
		require.NoError(in.t, json.Unmarshal(data, out), "%s: %s", path, data)
	}
	return resp.StatusCode
}

func (in *instance) level(school string) string {
	in.t.Helper()
	var d struct {
		Level string `json:"level"`
	}
	require.Equal(in.t, http.StatusOK, in.getJSON("/api/v1/schools/"+school, &d))
	return d.Level
}

type hazardDoc struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	StatusZh string `json:"status_zh"`
	Title    string `json:"title"`
	Overdue  bool   `json:"overdue"`
}

// TestHazardsHoldColourAndEscalate is the hazard workflow through the API of
// `sanse serve`, run in-process: a patrol that finds a hazard (a rule with `hazard:`) keeps the
// school yellow through a clean patrol and the rectification, until the
// hazard is verified; a hazard an inspector registers with a short deadline
// turns the school red when it is overdue, and the district's robot is told
// (挂牌督办).
func TestHazardsHoldColourAndEscalate(t *testing.T) {
	dsn := clickhouseDSN(t)
	dbDSN, _ := testDatabase(t, dsn)
	dir := t.TempDir()
	reg := filepath.Join(dir, "registry.csv")
	require.NoError(t, os.WriteFile(reg, []byte(e2eRegistry), 0o644))
	district := newDingRobot(t, "SECdistrict")
	cfg := fmt.Sprintf(`alerting:
  receivers:
    - name: nanhu-office
      dingtalk:
        url: %s/robot/send?access_token=nanhu
        secret: SECdistrict
  contacts:
    districts:
      南湖区: nanhu-office
  escalation:
    red: 1h
    yellow: 1h
hazards:
  check_interval: 200ms
`, district.srv.URL)
	cfgFile := filepath.Join(dir, "sanse.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(cfg), 0o644))
	broker := freeAddr(t)
	in := serveInProcess(t, "--config.file", cfgFile, "--kafka.embedded-listen-address", broker, "--clickhouse.dsn", dbDSN,
		"--registry.file", reg, "--data.dir", filepath.Join(dir, "data"))

	// A patrol finds a broken fence: a hazard, and the school yellow.
	now := time.Now()
	w := &kafka.Writer{Addr: kafka.TCP(broker), Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	defer w.Close()
	patrol := func(id string, found bool, at time.Time) {
		ev := fmt.Sprintf(`{"id":%q,"school_id":"E-02","source":"drowning","type":"patrol","occurred_at":%q,"water_body":"南湖","hazard_found":%t,"note":"护栏破损"}`,
			id, at.Format(time.RFC3339), found)
		require.NoError(t, w.WriteMessages(t.Context(), kafka.Message{Topic: "campus.drowning", Key: []byte("E-02"), Value: []byte(ev)}))
	}
	patrol("p-1", true, now.Add(-time.Minute))
	waitFor(t, 3*time.Second, "E-02 yellow", func() bool { return in.level("E-02") == "yellow" })
	var list struct {
		Hazards []hazardDoc `json:"hazards"`
	}
	waitFor(t, 3*time.Second, "the rule's hazard registered", func() bool {
		in.getJSON("/api/v1/hazards?school=E-02", &list)
		return len(list.Hazards) == 1
	})
	h := list.Hazards[0]
	require.Equal(t, "open", h.Status)
	require.Contains(t, h.Title, "南湖")

	// A clean patrol does not end it: the hazard is not rectified yet. The
	// consumer commits a message's offset once what it caused is stored and
	// handed on, so with both patrols committed the clean one has had its
	// effect.
	patrol("p-2", false, now)
	waitFor(t, 10*time.Second, "both patrols consumed and committed", func() bool {
		return consumed(t, []string{broker}, "sanse", "campus.drowning") == 2
	})
	require.Equal(t, "yellow", in.level("E-02"))

	// Rectified, submitted, rejected once, submitted again, verified.
	var got hazardDoc
	for _, step := range []map[string]any{
		{"action": "start", "by": "李校长"},
		{"action": "submit", "by": "李校长", "comment": "护栏已修复", "evidence": []map[string]string{{"kind": "link", "value": "https://photos.example/fence.jpg"}}},
		{"action": "reject", "by": "区安全科张科长", "comment": "警示牌未设置"},
		{"action": "submit", "by": "李校长", "comment": "警示牌已设置"},
	} {
		require.Equal(t, http.StatusOK, in.postAPI("/api/v1/hazards/"+h.ID+"/transition", step, &got), "%v", step)
		require.Equal(t, "yellow", in.level("E-02"), "yellow until verified (after %s)", step["action"])
	}
	require.Equal(t, "submitted", got.Status)
	require.Equal(t, http.StatusOK, in.postAPI("/api/v1/hazards/"+h.ID+"/transition",
		map[string]any{"action": "verify", "by": "区安全科张科长", "comment": "现场验收合格，销号"}, &got))
	require.Equal(t, "verified", got.Status)
	waitFor(t, 2*time.Second, "E-02 green once verified", func() bool { return in.level("E-02") == "green" })

	// An inspector's hazard with a deadline of two seconds: yellow, then
	// red when overdue, and the district's robot hears of it.
	require.Equal(t, http.StatusCreated, in.postAPI("/api/v1/hazards", map[string]any{
		"school_id": "E-01", "title": "消防通道堵塞", "category": "消防", "level": "medium",
		"responsible": "后勤主任", "deadline": "2s", "by": "区安全科张科长",
	}, &got))
	waitFor(t, 2*time.Second, "E-01 yellow", func() bool { return in.level("E-01") == "yellow" })
	waitFor(t, 5*time.Second, "E-01 red once overdue", func() bool { return in.level("E-01") == "red" })
	waitFor(t, 3*time.Second, "the district robot told of the supervision", func() bool {
		msgs, _, _ := district.got()
		for _, m := range msgs {
			if strings.Contains(m, "挂牌督办") && strings.Contains(m, "南湖区第一小学") && strings.Contains(m, "消防通道堵塞") {
				return true
			}
		}
		return false
	})
	_, _, bad := district.got()
	require.Zero(t, bad)
	var overdue struct {
		Hazards []hazardDoc `json:"hazards"`
	}
	in.getJSON("/api/v1/hazards?overdue=true", &overdue)
	require.Len(t, overdue.Hazards, 1)
	require.True(t, overdue.Hazards[0].Overdue)
}
