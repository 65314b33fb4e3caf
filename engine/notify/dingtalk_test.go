package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const dingTalkSecret = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"

// dingTalkServer answers like a DingTalk robot secured by signing with
// secret: it recomputes the signature from the timestamp as DingTalk
// documents it and refuses a mismatch or a timestamp more than an hour off.
func dingTalkServer(t *testing.T, secret string) *recorder {
	return newRecorder(t, func(w http.ResponseWriter, r request) {
		q := url.Values(r.Query)
		ts := q.Get("timestamp")
		ms, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || time.UnixMilli(ms).Sub(testNow).Abs() > time.Hour || q.Get("access_token") != "robot-token" {
			_, _ = io.WriteString(w, `{"errcode":310000,"errmsg":"invalid timestamp"}`)
			return
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(ts + "\n" + secret))
		if q.Get("sign") != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
			_, _ = io.WriteString(w, `{"errcode":310000,"errmsg":"sign not match"}`)
			return
		}
		_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
	})
}

func dingTalkReceiver(t *testing.T, srv *recorder, secret string) *Receiver {
	return newTestReceiver(t, ReceiverConfig{
		Name:     "南湖区安全科钉钉群",
		DingTalk: &DingTalkConfig{URL: Secret(srv.URL + "/robot/send?access_token=robot-token"), Secret: Secret(secret)},
	})
}

func TestDingTalkSignedMarkdown(t *testing.T) {
	srv := dingTalkServer(t, dingTalkSecret)
	require.NoError(t, sendOne(t, dingTalkReceiver(t, srv, dingTalkSecret), sampleMessage()))

	req := srv.last(t)
	require.Equal(t, "n-20261125-0001", req.Header.Get("X-Sanse-Notification-Id"))
	var body struct {
		MsgType  string `json:"msgtype"`
		Markdown struct {
			Title string `json:"title"`
			Text  string `json:"text"`
		} `json:"markdown"`
	}
	decodeJSON(t, req.Body, &body)
	require.Equal(t, "markdown", body.MsgType)
	require.Equal(t, "【红色预警】嘉兴市南湖区城南幼儿园", body.Markdown.Title)
	for _, want := range []string{
		"嘉兴市南湖区城南幼儿园", "红色", "禁入名单人员进入校园", "禁入名单人员于东门进入校园。",
		"查看地图：", "https://sanse.example.org/?school=JX-NH-0001", "2026-11-25 10:30:00",
	} {
		require.Contains(t, body.Markdown.Text, want)
	}
	require.NotContains(t, body.Markdown.Text, "李小明", "student names are hidden by default")
}

func TestDingTalkErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		answer    func(w http.ResponseWriter, r request)
		secret    string
		permanent bool
	}{
		{"wrong secret gives errcode 310000", nil, "SECnot-the-robots-secret", true},
		{"HTTP 500", func(w http.ResponseWriter, _ request) { w.WriteHeader(http.StatusInternalServerError) }, dingTalkSecret, false},
		{"HTTP 404", func(w http.ResponseWriter, _ request) { w.WriteHeader(http.StatusNotFound) }, dingTalkSecret, true},
		{"rate limited", func(w http.ResponseWriter, _ request) {
			_, _ = io.WriteString(w, `{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}`)
		}, dingTalkSecret, false},
		{"not JSON", func(w http.ResponseWriter, _ request) { _, _ = io.WriteString(w, `<html>busy</html>`) }, dingTalkSecret, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := dingTalkServer(t, dingTalkSecret)
			if tc.answer != nil {
				srv = newRecorder(t, tc.answer)
			}
			err := sendOne(t, dingTalkReceiver(t, srv, tc.secret), sampleMessage())
			require.Error(t, err)
			require.Equal(t, tc.permanent, IsPermanent(err), "%v", err)
			require.NotContains(t, err.Error(), "robot-token", "errors must not carry the access token")
		})
	}
}

func TestDingTalkUnsigned(t *testing.T) {
	srv := newRecorder(t, nil)
	require.NoError(t, sendOne(t, dingTalkReceiver(t, srv, ""), sampleMessage()))
	q := srv.last(t).Query
	require.NotContains(t, q, "sign")
	require.NotContains(t, q, "timestamp")
	require.Equal(t, []string{"robot-token"}, q["access_token"])
}
