package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// dingRobot is a DingTalk custom robot as a school or a district office has
// one: it accepts only correctly signed requests and keeps the markdown.
type dingRobot struct {
	secret string
	srv    *httptest.Server

	mu       sync.Mutex
	messages []string
	at       []time.Time
	bad      int
}

func newDingRobot(t *testing.T, secret string) *dingRobot {
	r := &dingRobot{secret: secret}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(req.URL.Query().Get("timestamp") + "\n" + secret))
		ok := req.URL.Query().Get("sign") == base64.StdEncoding.EncodeToString(mac.Sum(nil))
		var body struct {
			MsgType  string `json:"msgtype"`
			Markdown struct {
				Text string `json:"text"`
			} `json:"markdown"`
		}
		_ = json.NewDecoder(req.Body).Decode(&body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if !ok || body.MsgType != "markdown" {
			r.bad++
			_, _ = io.WriteString(w, `{"errcode":310000,"errmsg":"sign not match"}`)
			return
		}
		r.messages = append(r.messages, body.Markdown.Text)
		r.at = append(r.at, time.Now())
		_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *dingRobot) got() ([]string, []time.Time, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.messages...), append([]time.Time(nil), r.at...), r.bad
}

// TestNewUserAlertReachesRobots is the alerting path as a district tries
// it: a config file with the school's and the district's DingTalk robots,
// a blacklisted visitor produced with kcat, one message to the school's
// robot within 2 seconds, and with no acknowledgement the district's robot
// after the configured delay.
func TestNewUserAlertReachesRobots(t *testing.T) {
	dsn := clickhouseDSN(t)
	kcatPath(t)
	dbDSN, _ := testDatabase(t, dsn)
	dir := t.TempDir()
	reg := filepath.Join(dir, "registry.csv")
	require.NoError(t, os.WriteFile(reg, []byte(e2eRegistry), 0o644))
	school := newDingRobot(t, "SECschool")
	district := newDingRobot(t, "SECdistrict")
	const delay = 4 * time.Second
	cfg := fmt.Sprintf(`alerting:
  external_url: http://sanse.example
  receivers:
    - name: e02-robot
      dingtalk:
        url: %s/robot/send?access_token=e02
        secret: SECschool
    - name: nanhu-office
      dingtalk:
        url: %s/robot/send?access_token=nanhu
        secret: SECdistrict
  contacts:
    schools:
      E-02: e02-robot
    districts:
      南湖区: nanhu-office
  route:
    group_wait: 500ms
  escalation:
    red: %s
`, school.srv.URL, district.srv.URL, delay)
	cfgFile := filepath.Join(dir, "sanse.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(cfg), 0o644))
	broker := freeAddr(t)
	in := startSanse(t, "--config.file", cfgFile, "--kafka.embedded-listen-address", broker, "--clickhouse.dsn", dbDSN,
		"--registry.file", reg, "--data.dir", filepath.Join(dir, "data"))

	ev := fmt.Sprintf(`{"id":"kcat-alert-1","school_id":"E-02","source":"visitor","type":"entry","occurred_at":%q,`+
		`"visitor_id":"330402198001011234","name":"张三","id_verified":true,"watchlist":"blacklist","gate":"东门"}`,
		time.Now().Format(time.RFC3339))
	kcat(t, []string{"-P", "-b", broker, "-t", "campus.visitor", "-K", "|"}, "E-02|"+ev+"\n")
	sent := time.Now()

	waitFor(t, 2*time.Second, "a message at the school's robot", func() bool {
		m, _, _ := school.got()
		return len(m) > 0
	})
	t.Logf("school robot reached %s after kcat returned", time.Since(sent).Round(time.Millisecond))
	msgs, _, bad := school.got()
	require.Zero(t, bad, "every request correctly signed")
	require.Len(t, msgs, 1)
	require.Contains(t, msgs[0], "南湖区实验初级中学")
	require.Contains(t, msgs[0], "红")
	// A message about one alert links to it (the page opens the alert and
	// its school); the alert's id is checked below, once it is read.
	require.Contains(t, msgs[0], "http://sanse.example/?alert=")
	require.NotContains(t, msgs[0], "330402198001011234", "the visitor's id number never leaves in clear")
	require.NotContains(t, msgs[0], "张三")

	// No acknowledgement: the district office's robot after the delay, not before.
	waitFor(t, delay+3*time.Second, "the district office's robot", func() bool {
		m, _, _ := district.got()
		return len(m) > 0
	})
	dm, dat, dbad := district.got()
	require.Zero(t, dbad)
	require.GreaterOrEqual(t, dat[0].Sub(sent), delay-500*time.Millisecond, "escalated only after the configured delay")
	require.Contains(t, dm[0], "南湖区实验初级中学")
	t.Logf("district robot reached %s after kcat returned", dat[0].Sub(sent).Round(time.Millisecond))

	// The alert, as the API shows it: firing, escalated to the district.
	var list struct {
		Alerts []struct {
			ID             string `json:"id"`
			Status         string `json:"status"`
			Level          string `json:"level"`
			EscalationStep int    `json:"escalation_step"`
			History        []struct {
				Action string `json:"action"`
			} `json:"history"`
		} `json:"alerts"`
	}
	require.Equal(t, http.StatusOK, in.getJSON("/api/v1/alerts?school=E-02", &list))
	require.Len(t, list.Alerts, 1)
	a := list.Alerts[0]
	require.Contains(t, msgs[0], "http://sanse.example/?alert="+url.QueryEscape(a.ID), "the school's message links to its alert")
	require.Equal(t, "firing", a.Status)
	require.Equal(t, "red", a.Level)
	require.Equal(t, 2, a.EscalationStep)

	// Acknowledged through the API: the answer says so, with who.
	body, _ := json.Marshal(map[string]string{"by": "王校长", "comment": "已报警并加强门卫"})
	resp := in.post("/api/v1/alerts/"+a.ID+"/ack", "application/json", bytes.NewReader(body))
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(out))
	require.True(t, strings.Contains(string(out), `"status":"acknowledged"`) && strings.Contains(string(out), `"acknowledged_by":"`+testTokenName+`"`), string(out))
}
