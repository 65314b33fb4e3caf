package notify

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReceiverURLFiles takes the DingTalk and WeCom robots' URLs, which
// carry their tokens, and DingTalk's signing secret from files: the tokens
// reach the robots, and no error or log repeats them.
func TestReceiverURLFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content+"\n"), 0o600))
		return p
	}
	ding := dingTalkServer(t, dingTalkSecret)
	dingURL := write("dingtalk.url", ding.URL+"/robot/send?access_token=robot-token")
	dingSecret := write("dingtalk.secret", dingTalkSecret)
	var logs bytes.Buffer
	r, err := NewReceiver(ReceiverConfig{Name: "r", DingTalk: &DingTalkConfig{URLFile: dingURL, SecretFile: dingSecret}},
		Options{Now: fixedNow, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	require.NoError(t, err)
	require.NoError(t, sendOne(t, r, sampleMessage()), "the token and the secret from the files")

	wecom := newRecorder(t, func(w http.ResponseWriter, r request) {
		if r.Query["key"][0] != "wecom-key-from-file" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
	})
	wecomURL := write("wecom.url", wecom.URL+"/cgi-bin/webhook/send?key=wecom-key-from-file")
	r = newTestReceiver(t, ReceiverConfig{Name: "r", WeCom: &WeComConfig{URLFile: wecomURL}})
	require.NoError(t, sendOne(t, r, sampleMessage()))

	// A robot that went away: the error names the host, not the token.
	wecom.Close()
	err = sendOne(t, r, sampleMessage())
	require.Error(t, err)
	require.NotContains(t, err.Error(), "wecom-key-from-file")
	require.NotContains(t, logs.String(), "robot-token")
	require.NotContains(t, logs.String(), dingTalkSecret)

	notURL := write("not-a-url", "qyapi.weixin.qq.com/cgi-bin/webhook/send?key=leaked-key")
	for _, tc := range []struct {
		name string
		c    ReceiverConfig
		want string
	}{
		{"url and url_file", ReceiverConfig{Name: "r", WeCom: &WeComConfig{URL: "https://x", URLFile: wecomURL}},
			"wecom.url: set either wecom.url or wecom.url_file, not both"},
		{"missing url_file", ReceiverConfig{Name: "r", DingTalk: &DingTalkConfig{URLFile: filepath.Join(dir, "nope")}},
			`receiver "r": dingtalk.url_file: open`},
		{"empty url_file", ReceiverConfig{Name: "r", DingTalk: &DingTalkConfig{URLFile: write("empty", "")}},
			"is empty"},
		{"url_file without a URL", ReceiverConfig{Name: "r", WeCom: &WeComConfig{URLFile: notURL}},
			`receiver "r": wecom.url_file: must be an absolute http(s) URL`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReceiver(tc.c, Options{})
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "leaked-key")
		})
	}
}
