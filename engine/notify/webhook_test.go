package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const webhookSecret = "a-long-random-shared-secret"

// verifyingServer checks the signature the way docs/notify.md tells a
// receiver to, independently of VerifyWebhook, and answers 401 on mismatch.
func verifyingServer(t *testing.T, secret string) *recorder {
	return newRecorder(t, func(w http.ResponseWriter, r request) {
		ts := r.Header.Get("X-Sanse-Timestamp")
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || time.Unix(sec, 0).Sub(testNow).Abs() > 5*time.Minute {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(ts + "." + string(r.Body)))
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		if !hmac.Equal([]byte(want), []byte(r.Header.Get("X-Sanse-Signature"))) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func webhookReceiver(t *testing.T, srv *recorder, secret string) *Receiver {
	return newTestReceiver(t, ReceiverConfig{
		Name: "区县平台",
		Webhook: &WebhookConfig{
			URL:     srv.URL + "/hooks/sanse",
			Secret:  Secret(secret),
			Headers: map[string]Secret{"Authorization": "Bearer platform-token"},
		},
	})
}

// wirePayload mirrors the webhook payload as docs/notify.md describes it.
type wirePayload struct {
	Version string `json:"version"`
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	School  struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		District string `json:"district"`
		Town     string `json:"town"`
	} `json:"school"`
	Level    string    `json:"level"`
	Step     int       `json:"step"`
	StepName string    `json:"step_name"`
	URL      string    `json:"url"`
	At       time.Time `json:"at"`
	Title    string    `json:"title"`
	Text     string    `json:"text"`
	Items    []struct {
		AlertID  string     `json:"alert_id"`
		Level    string     `json:"level"`
		Status   string     `json:"status"`
		Rule     string     `json:"rule"`
		Source   string     `json:"source"`
		Title    string     `json:"title"`
		Cause    string     `json:"cause"`
		StartsAt time.Time  `json:"starts_at"`
		EndsAt   *time.Time `json:"ends_at"`
		URL      string     `json:"url"`
		Details  []struct {
			Label     string `json:"label"`
			Value     string `json:"value"`
			Sensitive string `json:"sensitive"`
		} `json:"details"`
	} `json:"items"`
}

func TestWebhookSignedPayload(t *testing.T) {
	srv := verifyingServer(t, webhookSecret)
	require.NoError(t, sendOne(t, webhookReceiver(t, srv, webhookSecret), sampleMessage()))

	req := srv.last(t)
	require.Equal(t, "n-20261125-0001", req.Header.Get("X-Sanse-Notification-Id"))
	require.Equal(t, "Bearer platform-token", req.Header.Get("Authorization"))
	require.Equal(t, "application/json; charset=utf-8", req.Header.Get("Content-Type"))
	require.NoError(t, VerifyWebhook([]byte(webhookSecret), req.Header, req.Body, testNow, 5*time.Minute))

	var p wirePayload
	decodeJSON(t, req.Body, &p)
	require.Equal(t, "1", p.Version)
	require.Equal(t, "firing", p.Kind)
	require.Equal(t, "JX-NH-0001", p.School.ID)
	require.Equal(t, "red", p.Level)
	require.Equal(t, "学校", p.StepName)
	require.True(t, p.At.Equal(testNow))
	require.Equal(t, "【红色预警】嘉兴市南湖区城南幼儿园", p.Title)
	require.Contains(t, p.Text, "禁入名单人员于东门进入校园。")
	require.Len(t, p.Items, 2)
	require.Equal(t, "fp-visitor-1", p.Items[0].AlertID)
	require.Equal(t, "https://sanse.example.org/?school=JX-NH-0001", p.URL, "a message of several alerts links to the school")
	require.Equal(t, "https://sanse.example.org/?alert=fp-visitor-1", p.Items[0].URL, "each alert links to itself")
	require.Equal(t, "visitor", p.Items[0].Source)
	require.Nil(t, p.Items[0].EndsAt)
	require.Equal(t, "张**（3304**********123X）", p.Items[0].Details[0].Value)
	require.Equal(t, "（已隐去）", p.Items[1].Details[0].Value)
	require.Equal(t, "student", p.Items[1].Details[0].Sensitive)
}

func TestWebhookWrongSecretFailsVerification(t *testing.T) {
	srv := verifyingServer(t, webhookSecret)
	err := sendOne(t, webhookReceiver(t, srv, "another-secret"), sampleMessage())
	require.Error(t, err)
	require.True(t, IsPermanent(err), "401 is permanent: %v", err)

	req := srv.last(t)
	require.ErrorIs(t, VerifyWebhook([]byte(webhookSecret), req.Header, req.Body, testNow, 5*time.Minute), ErrSignature)
}

func TestWebhookUnsigned(t *testing.T) {
	srv := newRecorder(t, nil)
	require.NoError(t, sendOne(t, webhookReceiver(t, srv, ""), sampleMessage()))
	h := srv.last(t).Header
	require.Empty(t, h.Get("X-Sanse-Signature"))
	require.Empty(t, h.Get("X-Sanse-Timestamp"))
}

func TestVerifyWebhook(t *testing.T) {
	body := []byte(`{"id":"n-1"}`)
	ts := strconv.FormatInt(testNow.Unix(), 10)
	signed := func(ts, sig string) http.Header {
		h := http.Header{}
		h.Set("X-Sanse-Timestamp", ts)
		h.Set("X-Sanse-Signature", sig)
		return h
	}
	good := SignWebhook([]byte("k"), ts, body)
	for _, tc := range []struct {
		name string
		h    http.Header
		body []byte
		want error
	}{
		{"valid", signed(ts, good), body, nil},
		{"body changed", signed(ts, good), []byte(`{"id":"n-2"}`), ErrSignature},
		{"timestamp changed", signed(strconv.FormatInt(testNow.Unix()+1, 10), good), body, ErrSignature},
		{"no signature", signed(ts, ""), body, ErrSignature},
		{"too old", signed(strconv.FormatInt(testNow.Add(-time.Hour).Unix(), 10), good), body, ErrTimestamp},
		{"no timestamp", signed("", good), body, ErrTimestamp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyWebhook([]byte("k"), tc.h, tc.body, testNow, 5*time.Minute)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
		})
	}
}
