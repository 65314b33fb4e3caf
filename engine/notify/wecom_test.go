package notify

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/sanse-campus/sanse/engine"
	"github.com/stretchr/testify/require"
)

func weComReceiver(t *testing.T, srv *recorder) *Receiver {
	return newTestReceiver(t, ReceiverConfig{
		Name:  "余新镇中心校企业微信群",
		WeCom: &WeComConfig{URL: Secret(srv.URL + "/cgi-bin/webhook/send?key=wecom-key")},
	})
}

type weComBody struct {
	MsgType  string `json:"msgtype"`
	Markdown struct {
		Content string `json:"content"`
	} `json:"markdown"`
}

func TestWeComMarkdown(t *testing.T) {
	srv := newRecorder(t, nil)
	require.NoError(t, sendOne(t, weComReceiver(t, srv), sampleMessage()))

	req := srv.last(t)
	require.Equal(t, []string{"wecom-key"}, req.Query["key"])
	var body weComBody
	decodeJSON(t, req.Body, &body)
	require.Equal(t, "markdown", body.MsgType)
	for _, want := range []string{
		"【红色预警】嘉兴市南湖区城南幼儿园", "红色", "禁入名单人员于东门进入校园。",
		"https://sanse.example.org/?school=JX-NH-0001",
	} {
		require.Contains(t, body.Markdown.Content, want)
	}
}

func TestWeComLongBurstFits(t *testing.T) {
	srv := newRecorder(t, nil)
	m := sampleMessage()
	for i := range 100 {
		m.Items = append(m.Items, Item{Level: engine.LevelYellow, Title: fmt.Sprintf("食品留样不足 %d", i), Cause: "午餐留样不足 125 克。"})
	}
	require.NoError(t, sendOne(t, weComReceiver(t, srv), m))
	var body weComBody
	decodeJSON(t, srv.last(t).Body, &body)
	require.LessOrEqual(t, len(body.Markdown.Content), 4096)
	require.Contains(t, body.Markdown.Content, "条预警未列出")
}

func TestWeComErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		answer    string
		status    int
		permanent bool
	}{
		{"invalid key", `{"errcode":93000,"errmsg":"invalid webhook url"}`, 200, true},
		{"rate limited", `{"errcode":45009,"errmsg":"api freq out of limit"}`, 200, false},
		{"system busy", `{"errcode":-1,"errmsg":"system busy"}`, 200, false},
		{"no errcode", `{}`, 200, false},
		{"bad gateway", `bad gateway`, 502, false},
		{"too many requests", ``, 429, false},
		{"forbidden", ``, 403, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRecorder(t, func(w http.ResponseWriter, _ request) {
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.answer)
			})
			err := sendOne(t, weComReceiver(t, srv), sampleMessage())
			require.Error(t, err)
			require.Equal(t, tc.permanent, IsPermanent(err), "%v", err)
			require.NotContains(t, err.Error(), "wecom-key")
		})
	}
}
