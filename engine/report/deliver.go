package report

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/notify"
)

// Contents reads a report back from the archive, for the messages that
// must carry its files again after a restart. *Storage satisfies it.
type Contents interface {
	// ArchivedOutput returns the entry and the renderings of the report
	// with the id, or an error wrapping ErrNotFound.
	ArchivedOutput(ctx context.Context, id string) (Entry, *Output, error)
}

// DeliveryOptions configure a Delivery. Store and Contents are required.
type DeliveryOptions struct {
	// Receivers are the configured receivers (alerting.receivers); those
	// that carry reports are built, without their Alertmanager channels.
	Receivers []notify.ReceiverConfig
	// Store keeps the report messages and their deliveries: an outbox of
	// its own, apart from the alerts' (Storage.Outbox), so that a
	// report being retried never holds back an alert.
	Store    notify.OutboxStore
	Contents Contents
	Retry    notify.Retry
	// ExternalURL is the address people reach Sanse at, for the link to
	// each report; messages carry no link when empty.
	ExternalURL string
	// Registry names the schools of school reports.
	Registry func() *engine.Registry
	// ReceiverOptions build the channels (HTTP client, clock).
	ReceiverOptions notify.Options
	Now             func() time.Time
	Logger          *slog.Logger
	// Metrics are shared with the Scheduler and the Service; registered
	// with Registerer when nil.
	Metrics    *Metrics
	Registerer prometheus.Registerer
}

// Delivery hands reports to the receivers through a durable outbox: a
// report's messages are stored before they are sent, retried with backoff
// until each channel took them (a transient SMTP failure loses nothing),
// and resumed after a restart with their files read again from the archive.
type Delivery struct {
	box      *notify.Outbox
	queued   *queuedSet
	names    map[string]bool
	url      string
	registry func() *engine.Registry
	now      func() time.Time
	logger   *slog.Logger
}

// NewDelivery builds the receivers that carry reports and their outbox;
// nothing is sent before Run.
func NewDelivery(opts DeliveryOptions) (*Delivery, error) {
	if opts.Store == nil || opts.Contents == nil {
		return nil, errors.New("report: DeliveryOptions.Store and Contents are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(opts.Registerer)
	}
	if opts.Registry == nil {
		opts.Registry = func() *engine.Registry { return nil }
	}
	logger := opts.Logger.With("component", "report")
	d := &Delivery{names: map[string]bool{}, url: strings.TrimRight(opts.ExternalURL, "/"), registry: opts.Registry,
		now: opts.Now, logger: logger, queued: &queuedSet{ids: map[string]bool{}}}
	var (
		receivers []*notify.Receiver
		errs      []error
	)
	ro := opts.ReceiverOptions
	if ro.Logger == nil {
		ro.Logger = logger
	}
	for _, rc := range opts.Receivers {
		if !rc.CarriesReports() {
			continue
		}
		r, err := notify.NewReceiver(rc, ro)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if r = r.ForReports(); r != nil {
			receivers = append(receivers, r)
			d.names[r.Name] = true
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// The outbox's own sanse_notify_* metrics belong to the alerts' outbox;
	// report deliveries are counted as sanse_reports_deliveries_total.
	box, err := notify.NewOutbox(notify.OutboxOptions{
		Store: &outboxStore{OutboxStore: opts.Store, contents: opts.Contents, metrics: opts.Metrics, logger: logger,
			queued: d.queued},
		Receivers: receivers, Retry: opts.Retry, Now: opts.Now, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	d.box = box
	return d, nil
}

// Run sends until ctx is done, and resumes the report messages not yet
// delivered (with their files, read again from the archive), trying again
// while the archive cannot be read.
func (d *Delivery) Run(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- d.box.Run(ctx) }()
	for wait := 5 * time.Second; ; wait = min(2*wait, 5*time.Minute) {
		n, err := d.box.Restore(ctx)
		if err == nil {
			if n > 0 {
				d.logger.Info("undelivered report messages restored", "messages", n)
			}
			break
		}
		d.logger.Error("undelivered report messages not restored yet; trying again", "err", err, "retry_in", wait.String())
		if sleepCtx(ctx, wait) != nil {
			break
		}
	}
	return <-done
}

// Deliver stores the messages of the report e (made as out) to each of
// receivers and queues them; an error means none was queued, and calling
// again queues them once.
func (d *Delivery) Deliver(ctx context.Context, e Entry, out *Output, receivers []string) error {
	var ns []*notify.Notification
	var unknown []string
	for _, r := range receivers {
		if !d.names[r] {
			unknown = append(unknown, r)
			continue
		}
		id := NotificationID(e.ID, r)
		if !d.queued.add(id) {
			continue // queued already by this process (restored, or delivered before)
		}
		m := d.message(e, out)
		m.ID = id
		ns = append(ns, &notify.Notification{ID: m.ID, Receiver: r, Message: *m, Created: d.now()})
	}
	if len(unknown) > 0 {
		// Config validation refuses them; a receiver that failed to build
		// stops the start. This is a bug if it happens.
		d.logger.Error("report receivers not known; their messages are not sent", "report", e.ID, "receivers", unknown)
	}
	if err := d.box.Enqueue(ctx, ns); err != nil {
		for _, n := range ns {
			d.queued.remove(n.ID)
		}
		return err
	}
	return nil
}

// queuedSet is the ids of the messages this process has queued, so that a
// message is never in its outbox twice: one restored after a restart is not
// queued again by a delivery of its report, nor one delivered before the
// restore ran restored again.
type queuedSet struct {
	mu  sync.Mutex
	ids map[string]bool
}

// add adds id and reports whether it was not in the set.
func (q *queuedSet) add(id string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ids[id] {
		return false
	}
	q.ids[id] = true
	return true
}

func (q *queuedSet) remove(id string) {
	q.mu.Lock()
	delete(q.ids, id)
	q.mu.Unlock()
}

// NotificationID is the id of the message of report id to receiver: the
// same every time, so that a report delivered twice carries one id (and
// one mail Message-ID) that receivers drop duplicates by.
func NotificationID(id, receiver string) string {
	sum := sha256.Sum256([]byte(receiver))
	return "report-" + id + "-" + hex.EncodeToString(sum[:4])
}

// Link returns the link to the report id at externalURL (shown in the
// browser), or "" without an address.
func Link(externalURL, id string) string {
	if externalURL == "" {
		return ""
	}
	return strings.TrimRight(externalURL, "/") + "/api/v1/reports/" + url.PathEscape(id) + "?format=html&inline=true"
}

// message returns the message of a report, without its id.
func (d *Delivery) message(e Entry, out *Output) *notify.Message {
	m := Message(e, d.registry())
	m.URL = Link(d.url, e.ID)
	m.At = e.Generated
	if out != nil {
		m.Report.Attachments = Attachments(e, out)
	}
	return m
}

// Message returns the message that carries report e (without id, link or
// files): its title, scope, period, summary figures and lines.
func Message(e Entry, reg *engine.Registry) *notify.Message {
	scope := e.Spec.Scope.District
	m := &notify.Message{Kind: notify.KindReport, District: e.District, At: e.Generated}
	if id := e.Spec.Scope.School; id != "" {
		scope = id
		m.SchoolID = id
		if reg != nil {
			if sc := reg.School(id); sc != nil {
				scope, m.SchoolName = sc.Name, sc.Name
			}
		}
	}
	summary, _ := json.Marshal(e.Summary)
	m.Report = &notify.Report{
		ID: e.ID, Kind: string(e.Spec.Kind), Title: e.Title, Scope: scope,
		District: e.Spec.Scope.District, SchoolID: e.Spec.Scope.School,
		From: e.Spec.From, To: e.Spec.To, Facts: Facts(e.Summary), Lines: e.Summary.Lines, Summary: summary,
	}
	return m
}

// Facts are the figures of a summary as a message shows them, Chinese.
func Facts(s Summary) []notify.Detail {
	n := strconv.Itoa
	return []notify.Detail{
		{Label: "学校", Value: n(s.Schools) + " 所"},
		{Label: "期末颜色", Value: fmt.Sprintf("红色 %d · 黄色 %d · 绿色 %d", s.Red, s.Yellow, s.Green)},
		{Label: "期间曾红色", Value: n(s.EverRed) + " 所"},
		{Label: "期间曾黄色", Value: n(s.EverYellow) + " 所"},
		{Label: "新增风险", Value: n(s.Risks)},
		{Label: "新增预警", Value: n(s.Alerts)},
		{Label: "新增隐患", Value: n(s.HazardsOpened)},
		{Label: "逾期隐患", Value: n(s.HazardsOverdue)},
	}
}

// Attachments returns the renderings of out as files named for e.
func Attachments(e Entry, out *Output) []notify.Attachment {
	var files []notify.Attachment
	for _, f := range []Format{FormatHTML, FormatCSV, FormatPDF} {
		if b, ok := out.Content(f); ok {
			files = append(files, notify.Attachment{Name: e.FileName(f), ContentType: f.ContentType(), Data: b})
		}
	}
	return files
}

// outboxStore is the report outbox's store: the messages restored after a
// restart get their files again from the archive, and every delivery
// attempt stored is counted.
type outboxStore struct {
	notify.OutboxStore
	contents Contents
	metrics  *Metrics
	logger   *slog.Logger
	queued   *queuedSet
}

// PendingNotifications returns the report messages not finished with,
// each with its report's files.
func (s *outboxStore) PendingNotifications(ctx context.Context, since time.Time) ([]*notify.Notification, error) {
	all, err := s.OutboxStore.PendingNotifications(ctx, since)
	if err != nil {
		return nil, err
	}
	var ns []*notify.Notification
	for _, n := range all {
		if s.queued.add(n.ID) {
			ns = append(ns, n)
		}
	}
	for _, n := range ns {
		r := n.Message.Report
		if r == nil {
			continue
		}
		e, out, err := s.contents.ArchivedOutput(ctx, r.ID)
		switch {
		case errors.Is(err, ErrNotFound):
			s.logger.Warn("a report message is sent without its files: the report is no longer in the archive",
				"report", r.ID, "notification", n.ID)
		case err != nil:
			for _, n := range ns {
				s.queued.remove(n.ID)
			}
			return nil, fmt.Errorf("read report %s for its message: %w", r.ID, err)
		default:
			r.Attachments = Attachments(e, out)
		}
	}
	return ns, nil
}

// SaveDeliveries stores the attempts and, once they are stored, counts
// them.
func (s *outboxStore) SaveDeliveries(ctx context.Context, ds []notify.Delivery) error {
	if err := s.OutboxStore.SaveDeliveries(ctx, ds); err != nil {
		return err
	}
	for _, d := range ds {
		if d.Channel == notify.Finished {
			continue
		}
		result := "failed"
		switch {
		case d.OK:
			result = "ok"
		case d.Permanent:
			result = "refused"
		}
		s.metrics.deliveries.WithLabelValues(d.Receiver, d.Channel, result).Inc()
	}
	return nil
}
