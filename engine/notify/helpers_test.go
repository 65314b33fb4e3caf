package notify

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/stretchr/testify/require"
)

// testNow is the clock of every test: 2026-11-25 10:30:00 in Shanghai.
var testNow = time.Date(2026, 11, 25, 2, 30, 0, 0, time.UTC)

func fixedNow() time.Time { return testNow }

// sampleMessage is a burst of two alerts at one school, with a detail of
// every sensitivity class.
func sampleMessage() *Message {
	return &Message{
		ID:         "n-20261125-0001",
		Kind:       KindFiring,
		SchoolID:   "JX-NH-0001",
		SchoolName: "嘉兴市南湖区城南幼儿园",
		District:   "南湖区",
		Town:       "余新镇",
		Level:      engine.LevelRed,
		URL:        "https://sanse.example.org/?school=JX-NH-0001",
		At:         testNow,
		Items: []Item{
			{
				AlertID:  "fp-visitor-1",
				Level:    engine.LevelRed,
				Status:   StatusFiring,
				Rule:     "visitor_blacklist",
				Source:   engine.SourceVisitor,
				Title:    "禁入名单人员进入校园",
				Cause:    "禁入名单人员于东门进入校园。",
				StartsAt: testNow.Add(-2 * time.Minute),
				URL:      "https://sanse.example.org/?alert=fp-visitor-1",
				Details: []Detail{
					{Label: "访客", Value: "张**（3304**********123X）", Sensitive: SensitiveVisitor},
					{Label: "校门", Value: "东门"},
				},
			},
			{
				AlertID:  "fp-bullying-1",
				Level:    engine.LevelYellow,
				Status:   StatusAcknowledged,
				Rule:     "bullying_report",
				Source:   engine.SourceBullying,
				Title:    "收到校园欺凌报告",
				Cause:    "三年级学生报告在操场遭同学推搡。",
				StartsAt: testNow.Add(-time.Hour),
				URL:      "https://sanse.example.org/?alert=fp-bullying-1",
				Details: []Detail{
					{Label: "学生", Value: "李小明", Sensitive: SensitiveStudent},
					{Label: "报告人", Value: "王老师", Sensitive: SensitiveReporter},
				},
			},
		},
	}
}

// request is one request as a test server saw it.
type request struct {
	Header http.Header
	Query  map[string][]string
	Body   []byte
}

// recorder is an HTTP test server that keeps every request and answers
// with answer (200 and {"errcode":0} when nil).
type recorder struct {
	*httptest.Server
	mu       sync.Mutex
	requests []request
}

func newRecorder(t *testing.T, answer func(w http.ResponseWriter, r request)) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := request{Header: r.Header.Clone(), Query: r.URL.Query(), Body: body}
		rec.mu.Lock()
		rec.requests = append(rec.requests, req)
		rec.mu.Unlock()
		if answer == nil {
			_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
			return
		}
		answer(w, req)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (r *recorder) last(t *testing.T) request {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NotEmpty(t, r.requests, "the server received no request")
	return r.requests[len(r.requests)-1]
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.requests)
}

// newTestReceiver builds c with the test clock.
func newTestReceiver(t *testing.T, c ReceiverConfig) *Receiver {
	t.Helper()
	r, err := NewReceiver(c, Options{Now: fixedNow})
	require.NoError(t, err)
	return r
}

// sendOne sends m through the receiver's only channel and returns its error.
func sendOne(t *testing.T, r *Receiver, m *Message) error {
	t.Helper()
	res := r.Send(t.Context(), m)
	require.Len(t, res, 1)
	return res[0].Err
}

func decodeJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(b, v), "body: %s", b)
}
