package notify

import (
	"encoding/json"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

// Report is what a report message (KindReport) carries: an inspection
// report (排查报告) made for a district or a school, summed up in a few
// figures and sentences, with a link to the whole report and, for e-mail,
// its files attached. Chat channels (DingTalk, WeCom) carry the summary and
// the link; the webhook carries them as JSON; e-mail carries them and the
// attachments; the Alertmanager channel carries no reports.
type Report struct {
	ID string
	// Kind is daily, weekly, monthly or custom.
	Kind string
	// Title is the report's title, Chinese, e.g. 南湖区校园安全日报（2026年12月3日）.
	Title string
	// Scope names what the report covers for people: the district, or the
	// school's name.
	Scope    string
	District string // the district of a district report
	SchoolID string // the school of a school report
	// From and To are the period, [From, To).
	From, To time.Time
	// Facts are the summary's figures for people ({"红色学校", "3"}); they
	// are subject to the receiver's redaction like an alert's details.
	Facts []Detail
	// Lines are a few sentences for people, Chinese.
	Lines []string
	// Summary is the machine-readable summary, as JSON, which the webhook
	// passes on.
	Summary json.RawMessage
	// Attachments are the report's files, which e-mail attaches. They are
	// not stored with the message: whoever restores a stored report message
	// loads them again.
	Attachments []Attachment `json:"-"`
}

// Attachment is one file of a report.
type Attachment struct {
	Name        string // a file name, may be Chinese
	ContentType string // e.g. text/csv; charset=utf-8
	Data        []byte
}

// ForReports returns a copy of r with only the channels that carry reports
// (every channel but alertmanager: reports are not alerts), or nil when r
// has none.
func (r *Receiver) ForReports() *Receiver {
	c := *r
	c.Channels = nil
	for _, ch := range r.Channels {
		if carriesReports(ch.Kind()) {
			c.Channels = append(c.Channels, ch)
		}
	}
	if len(c.Channels) == 0 {
		return nil
	}
	return &c
}

// CarriesReports reports whether the receiver configuration has a channel
// that carries reports.
func (c *ReceiverConfig) CarriesReports() bool {
	return c.Webhook != nil || c.DingTalk != nil || c.WeCom != nil || c.Email != nil
}

func carriesReports(kind string) bool { return kind != "alertmanager" }

// periodText writes the period [from, to) for people: one day as
// 2026-12-03, several as 2026-11-01 至 2026-11-30.
func periodText(from, to time.Time) string {
	first := from.In(engine.Shanghai).Format(time.DateOnly)
	last := to.Add(-time.Nanosecond).In(engine.Shanghai).Format(time.DateOnly)
	if first == last {
		return first
	}
	return first + " 至 " + last
}

// reportDocument builds the content of a report message, whose facts are
// already redacted.
func reportDocument(m *Message) *document {
	r := m.Report
	d := &document{Title: oneLine("【排查报告】" + r.Title), ID: m.ID, LinkLabel: "查看报告"}
	if r.Scope != "" {
		d.Lead = append(d.Lead, field{"范围", r.Scope})
	}
	if !r.From.IsZero() && r.To.After(r.From) {
		d.Lead = append(d.Lead, field{"时段", periodText(r.From, r.To)})
	}
	for _, f := range r.Facts {
		d.Lead = append(d.Lead, field{f.Label, f.Value})
	}
	if !m.At.IsZero() {
		d.Lead = append(d.Lead, field{"生成时间", formatTime(m.At)})
	}
	for i := range d.Lead {
		d.Lead[i] = field{oneLine(d.Lead[i].Label), oneLine(d.Lead[i].Value)}
	}
	for _, l := range r.Lines {
		if l = oneLine(l); l != "" {
			d.Notes = append(d.Notes, l)
		}
	}
	if safeURL(m.URL) {
		d.URL = m.URL
	}
	return d
}

// redactReport returns a copy of r with the facts the receiver must not
// see replaced by Redacted and every ID-card and mobile number in its text
// masked; the attachments are shared, not copied.
func redactReport(redact, reveal []Sensitivity, r *Report) *Report {
	c := *r
	c.Title = event.MaskText(r.Title)
	c.Scope = event.MaskText(r.Scope)
	c.Facts = make([]Detail, len(r.Facts))
	for i, f := range r.Facts {
		if hides(redact, reveal, f.Sensitive) {
			f.Value = Redacted
		}
		f.Label, f.Value = event.MaskText(f.Label), event.MaskText(f.Value)
		c.Facts[i] = f
	}
	c.Lines = make([]string, len(r.Lines))
	for i, l := range r.Lines {
		c.Lines[i] = event.MaskText(l)
	}
	if len(r.Summary) > 0 {
		// Masking writes digits as asterisks inside the JSON strings, which
		// keeps the document valid; a document that is not is left out.
		masked := json.RawMessage(event.MaskText(string(r.Summary)))
		if !json.Valid(masked) {
			masked = nil
		}
		c.Summary = masked
	}
	return &c
}

// webhookReport is the report of a webhook payload of kind report.
type webhookReport struct {
	ID       string          `json:"id"`
	Kind     string          `json:"kind"`
	Title    string          `json:"title"`
	District string          `json:"district,omitempty"`
	SchoolID string          `json:"school_id,omitempty"`
	From     time.Time       `json:"from"`
	To       time.Time       `json:"to"`
	Summary  json.RawMessage `json:"summary,omitempty"`
	Lines    []string        `json:"lines,omitempty"`
	URL      string          `json:"url,omitempty"`
}

func newWebhookReport(m *Message) *webhookReport {
	r := m.Report
	return &webhookReport{
		ID: r.ID, Kind: r.Kind, Title: r.Title, District: r.District, SchoolID: r.SchoolID,
		From: inShanghai(r.From), To: inShanghai(r.To), Summary: r.Summary, Lines: r.Lines, URL: m.URL,
	}
}
