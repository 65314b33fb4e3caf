package notify

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

// sampleReport is a district's daily report message with its three files.
func sampleReport() *Message {
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, engine.Shanghai)
	return &Message{
		ID:       "report-rep0001-1a2b3c4d",
		Kind:     KindReport,
		District: "南湖区",
		URL:      "https://sanse.example.org/api/v1/reports/rep0001?format=html",
		At:       testNow,
		Report: &Report{
			ID: "rep0001", Kind: "daily", Title: "南湖区校园安全日报（2026年11月24日）", Scope: "南湖区", District: "南湖区",
			From: day, To: day.AddDate(0, 0, 1),
			Facts:   []Detail{{Label: "学校", Value: "120"}, {Label: "红色", Value: "2"}, {Label: "逾期隐患", Value: "1"}},
			Lines:   []string{"东栅小学红色持续 6 小时。", "值班电话 13812345678 未接通。"},
			Summary: json.RawMessage(`{"schools":120,"red":2,"lines":["值班电话 13812345678 未接通。"]}`),
			Attachments: []Attachment{
				{Name: "sanse-report-daily-南湖区-2026-11-24.html", ContentType: "text/html; charset=utf-8", Data: []byte("<h1>南湖区校园安全日报</h1>")},
				{Name: "sanse-report-daily-南湖区-2026-11-24.csv", ContentType: "text/csv; charset=utf-8", Data: []byte("学校,颜色\n东栅小学,红色\n")},
				{Name: "sanse-report-daily-南湖区-2026-11-24.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.7\n\x00\x01\x02binary")},
			},
		},
	}
}

// TestEmailReportAttachments sends a report through a real SMTP server and
// reads the mail as a mail client would: the summary in the body, each
// file attached under its Chinese name with its exact content.
func TestEmailReportAttachments(t *testing.T) {
	ms := newMailServer(t, true)
	m := sampleReport()
	require.NoError(t, sendOne(t, emailReceiver(t, emailConfig(ms)), m))

	mails := ms.received()
	require.Len(t, mails, 1)
	msg, err := mail.ReadMessage(bytes.NewReader(mails[0].data))
	require.NoError(t, err)
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "【排查报告】南湖区校园安全日报（2026年11月24日）", subject)

	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/mixed", mediaType)
	mr := multipart.NewReader(msg.Body, params["boundary"])

	// The first part is the message itself, text and HTML.
	first, err := mr.NextRawPart()
	require.NoError(t, err)
	altType, altParams, err := mime.ParseMediaType(first.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/alternative", altType)
	bodies := readParts(t, multipart.NewReader(first, altParams["boundary"]))
	text := bodies["text/plain; charset=UTF-8"]
	require.Contains(t, text, "范围：南湖区")
	require.Contains(t, text, "时段：2026-11-24")
	require.Contains(t, text, "红色：2")
	require.Contains(t, text, "东栅小学红色持续 6 小时。")
	require.Contains(t, text, "查看报告：https://sanse.example.org/api/v1/reports/rep0001?format=html")
	require.NotContains(t, text, "13812345678", "a mobile number in a line is masked")
	require.Contains(t, bodies["text/html; charset=UTF-8"], "东栅小学红色持续 6 小时。")

	// Then the files, by name, as a mail client decodes them.
	files := map[string][]byte{}
	types := map[string]string{}
	for {
		p, err := mr.NextPart() // NextPart decodes the RFC 2231 filename
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		require.Equal(t, "base64", p.Header.Get("Content-Transfer-Encoding"))
		disposition, dp, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		require.NoError(t, err)
		require.Equal(t, "attachment", disposition)
		require.NotContains(t, p.Header.Get("Content-Disposition"), "南湖区", "the raw header is ASCII")
		require.Contains(t, p.Header.Get("Content-Disposition"), "filename*=UTF-8''sanse-report-daily-%E5%8D%97%E6%B9%96%E5%8C%BA-2026-11-24.")
		b, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
		require.NoError(t, err)
		files[dp["filename"]] = b
		types[dp["filename"]] = p.Header.Get("Content-Type")
		// The RFC 2047 form that older clients read says the same.
		_, tp, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		require.NoError(t, err)
		name, err := new(mime.WordDecoder).DecodeHeader(tp["name"])
		require.NoError(t, err)
		require.Equal(t, dp["filename"], name)
	}
	require.Len(t, files, 3)
	for _, a := range m.Report.Attachments {
		require.Equal(t, a.Data, files[a.Name], a.Name)
		require.True(t, strings.HasPrefix(types[a.Name], strings.Split(a.ContentType, ";")[0]), types[a.Name])
	}
}

func readParts(t *testing.T, mr *multipart.Reader) map[string]string {
	t.Helper()
	out := map[string]string{}
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		b, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
		require.NoError(t, err)
		out[p.Header.Get("Content-Type")] = string(b)
	}
}

func TestAttachmentDispositionASCII(t *testing.T) {
	require.Equal(t, `attachment; filename=report.csv`, attachmentDisposition("report.csv"))
	require.Equal(t, `attachment; filename="a b.csv"`, attachmentDisposition("a b.csv"))
}

func TestDingTalkAndWeComReportSummary(t *testing.T) {
	srv := dingTalkServer(t, dingTalkSecret)
	require.NoError(t, sendOne(t, dingTalkReceiver(t, srv, dingTalkSecret), sampleReport()))
	var ding struct {
		Markdown struct{ Title, Text string } `json:"markdown"`
	}
	decodeJSON(t, srv.last(t).Body, &ding)
	require.Equal(t, "【排查报告】南湖区校园安全日报（2026年11月24日）", ding.Markdown.Title)
	require.Contains(t, ding.Markdown.Text, "- 红色：2")
	require.Contains(t, ding.Markdown.Text, "东栅小学红色持续 6 小时。")
	require.Contains(t, ding.Markdown.Text, "查看报告：[https://sanse.example.org/api/v1/reports/rep0001?format=html](https://sanse.example.org/api/v1/reports/rep0001?format=html)")
	require.Contains(t, ding.Markdown.Text, "三色预警", "the keyword of robots secured by one")
	require.NotContains(t, ding.Markdown.Text, "13812345678")

	wecom := newRecorder(t, nil)
	r := newTestReceiver(t, ReceiverConfig{Name: "wecom", WeCom: &WeComConfig{URL: Secret(wecom.URL)}})
	require.NoError(t, sendOne(t, r, sampleReport()))
	var body struct {
		Markdown struct{ Content string } `json:"markdown"`
	}
	decodeJSON(t, wecom.last(t).Body, &body)
	require.Contains(t, body.Markdown.Content, "【排查报告】南湖区校园安全日报")
	require.Contains(t, body.Markdown.Content, "查看报告")
}

func TestWebhookReportPayload(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, _ request) { w.WriteHeader(http.StatusNoContent) })
	r := newTestReceiver(t, ReceiverConfig{Name: "hook", Webhook: &WebhookConfig{URL: srv.URL}})
	require.NoError(t, sendOne(t, r, sampleReport()))
	var p struct {
		Kind     string `json:"kind"`
		StepName string `json:"step_name"`
		URL      string `json:"url"`
		Report   struct {
			ID       string         `json:"id"`
			Kind     string         `json:"kind"`
			Title    string         `json:"title"`
			District string         `json:"district"`
			From     time.Time      `json:"from"`
			To       time.Time      `json:"to"`
			Summary  map[string]any `json:"summary"`
			URL      string         `json:"url"`
		} `json:"report"`
	}
	decodeJSON(t, srv.last(t).Body, &p)
	require.Equal(t, "report", p.Kind)
	require.Empty(t, p.StepName)
	require.Equal(t, "rep0001", p.Report.ID)
	require.Equal(t, "daily", p.Report.Kind)
	require.Equal(t, "南湖区", p.Report.District)
	require.Equal(t, "2026-11-24T00:00:00+08:00", p.Report.From.Format(time.RFC3339))
	require.Equal(t, "2026-11-25T00:00:00+08:00", p.Report.To.Format(time.RFC3339))
	require.EqualValues(t, 2, p.Report.Summary["red"])
	require.Equal(t, []any{"值班电话 138****5678 未接通。"}, p.Report.Summary["lines"], "masked inside the summary too")
	require.Equal(t, p.URL, p.Report.URL)
	require.NotContains(t, string(srv.last(t).Body), "13812345678")
}

func TestReportReceiverLeavesAlertmanagerOut(t *testing.T) {
	am := newRecorder(t, nil)
	hook := newRecorder(t, nil)
	both := newTestReceiver(t, ReceiverConfig{Name: "both",
		Alertmanager: &AlertmanagerConfig{URL: am.URL}, Webhook: &WebhookConfig{URL: hook.URL}})
	r := both.ForReports()
	require.NotNil(t, r)
	res := r.Send(t.Context(), sampleReport())
	require.Len(t, res, 1)
	require.Equal(t, "webhook", res[0].Channel)
	require.NoError(t, res[0].Err)
	require.Zero(t, am.count())

	only := ReceiverConfig{Name: "am", Alertmanager: &AlertmanagerConfig{URL: am.URL}}
	require.False(t, only.CarriesReports())
	require.Nil(t, newTestReceiver(t, only).ForReports())
	// Sent anyway, the Alertmanager channel refuses a report for good.
	err := sendOne(t, newTestReceiver(t, only), sampleReport())
	require.True(t, IsPermanent(err), "%v", err)
	require.Zero(t, am.count())
}

func TestReportRedactionHonoursTheReceiver(t *testing.T) {
	m := sampleReport()
	m.Report.Facts = append(m.Report.Facts, Detail{Label: "报告人", Value: "王老师", Sensitive: SensitiveReporter})
	c := redactMessage(nil, nil, m)
	require.Equal(t, Redacted, c.Report.Facts[3].Value)
	require.Equal(t, "值班电话 138****5678 未接通。", c.Report.Lines[1])
	require.Equal(t, "王老师", m.Report.Facts[3].Value, "the original is not changed")
	require.Equal(t, "值班电话 13812345678 未接通。", m.Report.Lines[1])
	require.Len(t, c.Report.Attachments, 3, "the files go with the copy")
	shown := redactMessage(nil, []Sensitivity{SensitiveReporter}, m)
	require.Equal(t, "王老师", shown.Report.Facts[3].Value)
}

// TestReportMessageStoredWithoutFiles checks that a stored report message
// (the outbox keeps messages as JSON) does not carry the files.
func TestReportMessageStoredWithoutFiles(t *testing.T) {
	b, err := json.Marshal(Notification{ID: "n", Receiver: "r", Message: *sampleReport()})
	require.NoError(t, err)
	require.NotContains(t, string(b), "PDF-1.7")
	var n Notification
	require.NoError(t, json.Unmarshal(b, &n))
	require.Equal(t, "rep0001", n.Message.Report.ID)
	require.Empty(t, n.Message.Report.Attachments)
	require.JSONEq(t, string(sampleReport().Report.Summary), string(n.Message.Report.Summary))
}
