package report

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/notify"
	"github.com/sanse-campus/sanse/engine/testsmtp"
)

// memOutbox is an OutboxStore in memory that keeps messages as JSON, as
// the real store does (so the files are not kept with them).
type memOutbox struct {
	mu         sync.Mutex
	docs       map[string][]byte
	order      []string
	deliveries []notify.Delivery
}

func newMemOutbox() *memOutbox { return &memOutbox{docs: map[string][]byte{}} }

func (o *memOutbox) SaveNotifications(_ context.Context, ns []*notify.Notification) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, n := range ns {
		b, err := json.Marshal(n)
		if err != nil {
			return err
		}
		if _, ok := o.docs[n.ID]; !ok {
			o.order = append(o.order, n.ID)
		}
		o.docs[n.ID] = b
	}
	return nil
}

func (o *memOutbox) SaveDeliveries(_ context.Context, ds []notify.Delivery) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.deliveries = append(o.deliveries, ds...)
	return nil
}

func (o *memOutbox) PendingNotifications(_ context.Context, since time.Time) ([]*notify.Notification, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*notify.Notification
	for _, id := range o.order {
		if slices.ContainsFunc(o.deliveries, func(d notify.Delivery) bool { return d.NotificationID == id && d.Channel == notify.Finished }) {
			continue
		}
		n := new(notify.Notification)
		if err := json.Unmarshal(o.docs[id], n); err != nil {
			return nil, err
		}
		if !n.Created.Before(since) {
			out = append(out, n)
		}
	}
	return out, nil
}

func (o *memOutbox) finished() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, d := range o.deliveries {
		if d.Channel == notify.Finished {
			n++
		}
	}
	return n
}

// mailReceivers are a mail receiver through the sink and an Alertmanager
// receiver, which carries no reports.
func mailReceivers(sink *testsmtp.Sink) []notify.ReceiverConfig {
	no := false
	return []notify.ReceiverConfig{
		{Name: "南湖区安全科", Email: &notify.EmailConfig{Smarthost: sink.Addr, From: "三色预警 <reports@nanhu.example.org>",
			To: []string{"safety@nanhu.example.org"}, StartTLS: &no}},
		{Name: "am", Alertmanager: &notify.AlertmanagerConfig{URL: "http://127.0.0.1:1/"}},
	}
}

// archivedReport makes and archives the daily report of 南湖区 for 2026-12-02.
func archivedReport(t *testing.T, archive *memArchive) (Entry, *Output) {
	t.Helper()
	gen := &fakeGenerator{now: func() time.Time { return at(2026, 12, 3, 7, 30) }}
	out, err := gen.Generate(t.Context(), Spec{Kind: KindDaily, Scope: Scope{District: "南湖区"}, From: day(2026, 12, 2), To: day(2026, 12, 3)})
	require.NoError(t, err)
	key := "district-daily/daily/district:南湖区/2026-12-02"
	e := NewEntry(IDForKey(key), out, "district-daily", key, "")
	require.NoError(t, archive.ArchiveReport(t.Context(), e, out))
	return e, out
}

func newTestDelivery(t *testing.T, sink *testsmtp.Sink, box notify.OutboxStore, archive *memArchive, m *Metrics) *Delivery {
	t.Helper()
	d, err := NewDelivery(DeliveryOptions{
		Receivers: mailReceivers(sink), Store: box, Contents: archive, ExternalURL: "https://sanse.example.org/",
		Retry:    notify.Retry{Initial: time.Millisecond, Max: 10 * time.Millisecond},
		Registry: func() *engine.Registry { return testRegistry(t) }, Metrics: m,
	})
	require.NoError(t, err)
	return d
}

// run runs d until the sink holds n mails and nothing waits in the outbox
// (a message queued twice would be sent twice), then stops it.
func run(t *testing.T, d *Delivery, sink *testsmtp.Sink, n int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	require.Eventually(t, func() bool {
		for _, queued := range d.box.Backlog() {
			if queued > 0 {
				return false
			}
		}
		return len(sink.Received()) >= n
	}, 10*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}

// attachments reads a mail as a mail client does and returns its subject,
// its text and its files by name.
func attachments(t *testing.T, raw []byte) (string, string, map[string][]byte) {
	m := testsmtp.Read(t, raw)
	return m.Subject, m.Text, m.Files
}

// TestDeliveryMailsTheReportWithItsFiles delivers a report through the
// outbox to a real SMTP server, past a transient refusal, and checks the
// mail's files by name and content.
func TestDeliveryMailsTheReportWithItsFiles(t *testing.T) {
	sink := testsmtp.New(t)
	sink.Refuse(1) // the first try meets a 451: retried, not lost
	archive, box, m := newMemArchive(), newMemOutbox(), NewMetrics(nil)
	e, out := archivedReport(t, archive)
	d := newTestDelivery(t, sink, box, archive, m)
	require.NoError(t, d.Deliver(t.Context(), e, out, []string{"南湖区安全科"}))
	// Queued before the outbox restored what was pending, and delivered
	// again: still one message.
	require.NoError(t, d.Deliver(t.Context(), e, out, []string{"南湖区安全科"}))
	run(t, d, sink, 1)

	mails := sink.Received()
	require.Len(t, mails, 1)
	subject, text, files := attachments(t, mails[0])
	require.Equal(t, "【排查报告】南湖区校园安全报告（2026-12-02）", subject)
	require.Contains(t, text, "期末颜色：红色 1 · 黄色 0 · 绿色 1")
	require.Contains(t, text, "南湖区一所学校红色。")
	require.Contains(t, text, "查看报告：https://sanse.example.org/api/v1/reports/"+e.ID+"?format=html&inline=true")
	require.Equal(t, map[string][]byte{
		"sanse-report-daily-南湖区-2026-12-02.html": out.HTML,
		"sanse-report-daily-南湖区-2026-12-02.csv":  out.CSV,
		"sanse-report-daily-南湖区-2026-12-02.pdf":  out.PDF,
	}, files)
	require.Eventually(t, func() bool { return box.finished() == 1 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, 1.0, testutil.ToFloat64(m.deliveries.WithLabelValues("南湖区安全科", "email", "failed")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.deliveries.WithLabelValues("南湖区安全科", "email", "ok")))
}

// TestDeliveryResumesWithTheFiles: the process stopped while the message
// was waiting; the next one sends it with its files read from the archive.
func TestDeliveryResumesWithTheFiles(t *testing.T) {
	sink := testsmtp.New(t)
	archive, box := newMemArchive(), newMemOutbox()
	e, out := archivedReport(t, archive)
	// Stored, never sent: Deliver without Run.
	first := newTestDelivery(t, sink, box, archive, nil)
	require.NoError(t, first.Deliver(t.Context(), e, out, []string{"南湖区安全科", "am"}))

	next := newTestDelivery(t, sink, box, archive, nil)
	run(t, next, sink, 1)
	require.Eventually(t, func() bool { return box.finished() == 1 }, 10*time.Second, 5*time.Millisecond)
	_, _, files := attachments(t, sink.Received()[0])
	require.Len(t, files, 3)
	require.Equal(t, out.PDF, files["sanse-report-daily-南湖区-2026-12-02.pdf"])
	require.Len(t, sink.Received(), 1, "the alertmanager receiver gets no report")
}
