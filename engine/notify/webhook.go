package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

// webhook posts the message as Sanse's own JSON payload.
type webhook struct {
	post   poster
	secret []byte
	now    func() time.Time
}

func (w *webhook) Kind() string { return "webhook" }

func (w *webhook) Send(ctx context.Context, m *Message) error {
	body, err := json.Marshal(newWebhookPayload(m))
	if err != nil {
		return Permanent(fmt.Errorf("webhook: encode: %w", err))
	}
	h := http.Header{}
	h.Set(headerID, m.ID)
	if len(w.secret) > 0 {
		ts := strconv.FormatInt(w.now().Unix(), 10)
		h.Set(headerTimestamp, ts)
		h.Set(headerSignature, SignWebhook(w.secret, ts, body))
	}
	code, answer, err := w.post.post(ctx, "", body, h)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	if code/100 != 2 {
		return fmt.Errorf("webhook: %w", statusError(code, answer))
	}
	return nil
}

// SignWebhook returns the X-Sanse-Signature value of a webhook body sent
// with X-Sanse-Timestamp ts: "sha256=" and the hex HMAC-SHA256, keyed with
// secret, of ts, ".", and the body.
func SignWebhook(secret []byte, ts string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// ErrSignature is returned by VerifyWebhook when the signature is missing
// or does not match the body.
var ErrSignature = errors.New("webhook signature does not match")

// ErrTimestamp is returned by VerifyWebhook when the timestamp is missing,
// malformed, or further than the allowed skew from now.
var ErrTimestamp = errors.New("webhook timestamp missing or out of range")

// VerifyWebhook checks the X-Sanse-Timestamp and X-Sanse-Signature headers
// of a webhook request with body against secret, accepting timestamps
// within maxSkew of now (a receiver keeps the IDs it has seen for at least
// as long, to refuse replays).
func VerifyWebhook(secret []byte, h http.Header, body []byte, now time.Time, maxSkew time.Duration) error {
	ts := h.Get(headerTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrTimestamp
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxSkew || d < -maxSkew {
		return ErrTimestamp
	}
	got := h.Get(headerSignature)
	if !strings.HasPrefix(got, "sha256=") ||
		!hmac.Equal([]byte(got), []byte(SignWebhook(secret, ts, body))) {
		return ErrSignature
	}
	return nil
}

// webhookPayload is the JSON body of the webhook channel (docs/notify.md).
type webhookPayload struct {
	Version  string        `json:"version"`
	ID       string        `json:"id"`
	Kind     Kind          `json:"kind"`
	School   webhookSchool `json:"school"`
	Level    engine.Level  `json:"level"`
	Step     int           `json:"step"`
	StepName string        `json:"step_name"`
	URL      string        `json:"url,omitempty"`
	At       time.Time     `json:"at"`
	Title    string        `json:"title"`
	Text     string        `json:"text"`
	Items    []webhookItem `json:"items"`
	// Report is the report of a message of kind report.
	Report *webhookReport `json:"report,omitempty"`
}

type webhookSchool struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	District string `json:"district,omitempty"`
	Town     string `json:"town,omitempty"`
}

type webhookItem struct {
	AlertID  string          `json:"alert_id"`
	Level    engine.Level    `json:"level"`
	Status   string          `json:"status"`
	Rule     string          `json:"rule"`
	Source   engine.Source   `json:"source,omitempty"`
	Title    string          `json:"title"`
	Cause    string          `json:"cause"`
	StartsAt time.Time       `json:"starts_at"`
	EndsAt   *time.Time      `json:"ends_at,omitempty"`
	Details  []webhookDetail `json:"details,omitempty"`
}

type webhookDetail struct {
	Label     string      `json:"label"`
	Value     string      `json:"value"`
	Sensitive Sensitivity `json:"sensitive,omitempty"`
}

// webhookVersion changes when a field changes meaning or is removed.
const webhookVersion = "1"

func newWebhookPayload(m *Message) webhookPayload {
	doc := newDocument(m)
	p := webhookPayload{
		Version:  webhookVersion,
		ID:       m.ID,
		Kind:     m.Kind,
		School:   webhookSchool{ID: m.SchoolID, Name: m.SchoolName, District: m.District, Town: m.Town},
		Level:    m.Level,
		Step:     m.Step,
		StepName: m.stepName(),
		URL:      m.URL,
		At:       inShanghai(m.At),
		Title:    doc.Title,
		Text:     doc.text(),
		Items:    make([]webhookItem, 0, len(m.Items)),
	}
	if m.Kind == KindReport && m.Report != nil {
		// A report is not sent up an escalation.
		p.Report, p.StepName = newWebhookReport(m), ""
	}
	for _, it := range m.Items {
		wi := webhookItem{
			AlertID:  it.AlertID,
			Level:    it.Level,
			Status:   it.Status,
			Rule:     it.Rule,
			Source:   it.Source,
			Title:    it.Title,
			Cause:    it.Cause,
			StartsAt: inShanghai(it.StartsAt),
		}
		if !it.EndsAt.IsZero() {
			t := inShanghai(it.EndsAt)
			wi.EndsAt = &t
		}
		for _, d := range it.Details {
			wi.Details = append(wi.Details, webhookDetail(d))
		}
		p.Items = append(p.Items, wi)
	}
	return p
}

// inShanghai returns t in China Standard Time; a zero time stays zero.
func inShanghai(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(engine.Shanghai)
}
