package notify

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRedactionPerReceiver sends the same message to receivers with
// different redaction and checks what each one got.
func TestRedactionPerReceiver(t *testing.T) {
	const (
		visitor  = "张**（3304**********123X）"
		student  = "李小明"
		reporter = "王老师"
	)
	for _, tc := range []struct {
		name                            string
		redact, reveal                  []Sensitivity
		wantVisitor, wantStudent, wantR string
	}{
		{"default hides student and reporter", nil, nil, visitor, Redacted, Redacted},
		{"redact visitor", []Sensitivity{SensitiveVisitor}, nil, Redacted, Redacted, Redacted},
		{"reveal student", nil, []Sensitivity{SensitiveStudent}, visitor, student, Redacted},
		{"reveal all", nil, []Sensitivity{SensitiveStudent, SensitiveReporter}, visitor, student, reporter},
		{"redact wins for visitor, reveal reporter", []Sensitivity{SensitiveVisitor}, []Sensitivity{SensitiveReporter}, Redacted, Redacted, reporter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hook, robot := newRecorder(t, nil), newRecorder(t, nil)
			r := newTestReceiver(t, ReceiverConfig{
				Name: "r", Redact: tc.redact, Reveal: tc.reveal,
				Webhook: &WebhookConfig{URL: hook.URL},
				WeCom:   &WeComConfig{URL: Secret(robot.URL)},
			})
			m := sampleMessage()
			for _, res := range r.Send(t.Context(), m) {
				require.NoError(t, res.Err, res.Channel)
			}
			require.Equal(t, sampleMessage(), m, "the caller's message is not changed")

			var p wirePayload
			decodeJSON(t, hook.last(t).Body, &p)
			require.Equal(t, tc.wantVisitor, p.Items[0].Details[0].Value)
			require.Equal(t, "东门", p.Items[0].Details[1].Value)
			require.Equal(t, tc.wantStudent, p.Items[1].Details[0].Value)
			require.Equal(t, tc.wantR, p.Items[1].Details[1].Value)

			var w weComBody
			decodeJSON(t, robot.last(t).Body, &w)
			for _, hidden := range []struct{ value, want string }{{student, tc.wantStudent}, {reporter, tc.wantR}} {
				if hidden.want == Redacted {
					require.NotContains(t, w.Markdown.Content, hidden.value)
				} else {
					require.Contains(t, w.Markdown.Content, hidden.value)
				}
			}
		})
	}
}

func TestUnknownSensitivityAlwaysHidden(t *testing.T) {
	m := sampleMessage()
	m.Items[0].Details = append(m.Items[0].Details, Detail{Label: "病史", Value: "哮喘", Sensitive: "health"})
	c := redactMessage(nil, []Sensitivity{SensitiveVisitor, SensitiveStudent, SensitiveReporter}, m)
	require.Equal(t, Redacted, c.Items[0].Details[2].Value)
	require.Equal(t, "哮喘", m.Items[0].Details[2].Value)
}

// TestSendCancel checks that cancelling the context ends a delivery to a
// receiver that does not answer.
func TestSendCancel(t *testing.T) {
	release := make(chan struct{})
	srv := newRecorder(t, func(w http.ResponseWriter, _ request) { <-release })
	t.Cleanup(func() { close(release) })
	r := newTestReceiver(t, ReceiverConfig{
		Name:     "slow",
		Webhook:  &WebhookConfig{URL: srv.URL},
		DingTalk: &DingTalkConfig{URL: Secret(srv.URL + "/robot/send?access_token=t")},
	})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	res := r.Send(ctx, sampleMessage())
	require.Less(t, time.Since(start), 2*time.Second)
	require.Len(t, res, 2)
	for _, x := range res {
		require.ErrorIs(t, x.Err, context.Canceled, x.Channel)
		require.False(t, IsPermanent(x.Err))
	}
	require.Equal(t, "webhook", res[0].Channel)
	require.Equal(t, "dingtalk", res[1].Channel)
}

func TestChannelTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := newRecorder(t, func(w http.ResponseWriter, _ request) { <-release })
	t.Cleanup(func() { close(release) })
	r := newTestReceiver(t, ReceiverConfig{Name: "slow", Webhook: &WebhookConfig{URL: srv.URL, Timeout: 50 * time.Millisecond}})
	err := sendOne(t, r, sampleMessage())
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.False(t, IsPermanent(err))
}

// TestConcurrentSend runs many deliveries of one message at once; with
// -race it checks that receivers and channels are safe for concurrent use.
func TestConcurrentSend(t *testing.T) {
	srv := newRecorder(t, nil)
	r := newTestReceiver(t, ReceiverConfig{
		Name:         "all",
		Webhook:      &WebhookConfig{URL: srv.URL, Secret: "s"},
		Alertmanager: &AlertmanagerConfig{URL: srv.URL},
		DingTalk:     &DingTalkConfig{URL: Secret(srv.URL + "/?access_token=t"), Secret: "SECx"},
		WeCom:        &WeComConfig{URL: Secret(srv.URL + "/?key=k")},
	})
	m := sampleMessage()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for _, res := range r.Send(t.Context(), m) {
				assert.NoError(t, res.Err, res.Channel) // not require: this is not the test's goroutine
			}
		})
	}
	wg.Wait()
	require.Equal(t, 80, srv.count())
}

func TestPermanent(t *testing.T) {
	require.NoError(t, Permanent(nil))
	base := context.DeadlineExceeded
	err := Permanent(base)
	require.True(t, IsPermanent(err))
	require.ErrorIs(t, err, base)
	require.True(t, IsPermanent(&wrapped{err}))
	require.False(t, IsPermanent(base))
}

type wrapped struct{ err error }

func (w *wrapped) Error() string { return "wrapped: " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }

// TestPersonalNumbersMaskedForEveryReceiver: an ID-card or mobile number
// that reached a title, cause or detail is masked even for a receiver that
// reveals everything.
func TestPersonalNumbersMaskedForEveryReceiver(t *testing.T) {
	m := sampleMessage()
	m.Items[0].Title = "来访 440306199003074513"
	m.Items[0].Cause = "家长电话 13912345678"
	m.Items[0].Details = append(m.Items[0].Details, Detail{Label: "报告人", Value: "139-1234-5678", Sensitive: SensitiveReporter})
	c := redactMessage(nil, []Sensitivity{SensitiveVisitor, SensitiveStudent, SensitiveReporter}, m)
	require.Equal(t, "来访 4403**********4513", c.Items[0].Title)
	require.Equal(t, "家长电话 139****5678", c.Items[0].Cause)
	require.Equal(t, "139-****-5678", c.Items[0].Details[len(c.Items[0].Details)-1].Value)
	require.Equal(t, "家长电话 13912345678", m.Items[0].Cause, "the message itself is not changed")
}
