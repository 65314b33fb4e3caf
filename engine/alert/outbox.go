package alert

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/sanse-campus/sanse/engine/notify"
	"github.com/sanse-campus/sanse/engine/retry"
)

// Notification is one message to one receiver, as the outbox keeps it: it
// is stored before it is sent, and sent again until every channel of the
// receiver accepted it (or gave a permanent error), across restarts.
type Notification struct {
	ID       string         `json:"id"`
	Receiver string         `json:"receiver"`
	Message  notify.Message `json:"message"`
	Created  time.Time      `json:"created"`
	// Done lists the channels (by kind) that accepted the message or
	// refused it for good; the others are still to be tried.
	Done []string `json:"done,omitempty"`

	attempts int
	next     time.Time
}

// Finished is the Channel of the Delivery that marks a notification as
// finished with: every channel took it, refused it for good, or it was
// given up.
const Finished = ""

// Delivery is one attempt to hand a notification to one channel, or (with
// Channel Finished) the mark that the notification is finished with.
type Delivery struct {
	NotificationID string
	SchoolID       string
	Receiver       string
	Channel        string
	Attempt        int
	At             time.Time
	OK             bool
	// Permanent says the channel refused the message for good.
	Permanent bool
	Error     string
}

// outbox delivers notifications, one queue and one sender per receiver, so
// that a receiver that is down holds back only its own messages.
type outbox struct {
	store     Store
	receivers map[string]*notify.Receiver
	retry     Retry
	now       func() time.Time
	logger    *slog.Logger
	metrics   *metrics

	queues map[string]*queue

	// deliveries are stored in batches by run, not one insert per attempt.
	mu         sync.Mutex
	deliveries []Delivery
}

// maxUnstoredDeliveries bounds the delivery attempts kept while the store
// is unreachable; beyond it the oldest are dropped (and logged).
const maxUnstoredDeliveries = 100_000

type queue struct {
	mu    sync.Mutex
	items []*Notification
	wake  chan struct{}
}

func (q *queue) push(n *Notification) {
	q.mu.Lock()
	q.items = append(q.items, n)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

func newOutbox(store Store, receivers map[string]*notify.Receiver, retry Retry, now func() time.Time, logger *slog.Logger, m *metrics) *outbox {
	o := &outbox{store: store, receivers: receivers, retry: retry, now: now, logger: logger, metrics: m, queues: map[string]*queue{}}
	for name := range receivers {
		o.queues[name] = &queue{wake: make(chan struct{}, 1)}
	}
	return o
}

// enqueue stores ns and queues them for delivery. An error means none was
// stored or queued: the caller tries again later.
func (o *outbox) enqueue(ctx context.Context, ns []*Notification) error {
	if len(ns) == 0 {
		return nil
	}
	if err := o.store.SaveNotifications(ctx, ns); err != nil {
		return err
	}
	for _, n := range ns {
		q := o.queues[n.Receiver]
		if q == nil {
			o.logger.Warn("no such receiver; message dropped", "receiver", n.Receiver, "notification", n.ID)
			continue
		}
		q.push(n)
		o.metrics.queued.WithLabelValues(n.Receiver).Inc()
	}
	return nil
}

// restore queues notifications loaded from the store, without storing them again.
func (o *outbox) restore(ns []*Notification) {
	for _, n := range ns {
		if q := o.queues[n.Receiver]; q != nil {
			q.push(n)
			o.metrics.queued.WithLabelValues(n.Receiver).Inc()
		}
	}
}

// run sends until ctx is done, storing the attempts every half second.
func (o *outbox) run(ctx context.Context) {
	var wg sync.WaitGroup
	for name, q := range o.queues {
		wg.Go(func() { o.send(ctx, name, q) })
	}
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			// The last attempts, with a little time of their own.
			c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			o.storeDeliveries(c)
			cancel()
			return
		case <-t.C:
			o.storeDeliveries(ctx)
		}
	}
}

func (o *outbox) record(ds []Delivery) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.deliveries = append(o.deliveries, ds...)
	if n := len(o.deliveries) - maxUnstoredDeliveries; n > 0 {
		o.logger.Error("delivery attempts could not be stored and were dropped", "attempts", n)
		o.deliveries = append(o.deliveries[:0], o.deliveries[n:]...)
	}
}

func (o *outbox) storeDeliveries(ctx context.Context) {
	o.mu.Lock()
	ds := o.deliveries
	o.deliveries = nil
	o.mu.Unlock()
	if len(ds) == 0 {
		return
	}
	if err := o.store.SaveDeliveries(ctx, ds); err != nil {
		o.logger.Warn("could not store delivery attempts; will retry", "attempts", len(ds), "err", err)
		o.mu.Lock()
		o.deliveries = append(ds, o.deliveries...)
		o.mu.Unlock()
	}
}

// send delivers the receiver's queue in order; the head is retried with
// backoff until it is delivered, then the next.
func (o *outbox) send(ctx context.Context, name string, q *queue) {
	r := o.receivers[name]
	for {
		q.mu.Lock()
		var head *Notification
		if len(q.items) > 0 {
			head = q.items[0]
		}
		q.mu.Unlock()
		if head == nil {
			select {
			case <-ctx.Done():
				return
			case <-q.wake:
				continue
			}
		}
		if wait := head.next.Sub(o.now()); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if done := o.attempt(ctx, r, head); done {
			q.mu.Lock()
			q.items[0] = nil
			q.items = q.items[1:]
			q.mu.Unlock()
			o.metrics.queued.WithLabelValues(name).Dec()
			// The mark that the message is finished with, so that a restart
			// does not look at it again.
			o.record([]Delivery{{NotificationID: head.ID, SchoolID: head.Message.SchoolID, Receiver: name,
				Channel: Finished, Attempt: head.attempts, At: o.now(), OK: true}})
		} else if ctx.Err() != nil {
			return
		}
	}
}

// attempt sends n to the channels of r that have not taken it yet and
// reports whether n is finished with (delivered, refused for good, or too old).
func (o *outbox) attempt(ctx context.Context, r *notify.Receiver, n *Notification) bool {
	sub := *r
	sub.Channels = nil
	for _, ch := range r.Channels {
		if !slices.Contains(n.Done, ch.Kind()) {
			sub.Channels = append(sub.Channels, ch)
		}
	}
	if len(sub.Channels) == 0 {
		return true
	}
	n.attempts++
	start := o.now()
	sendCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	results := sub.Send(sendCtx, &n.Message)
	cancel()
	if ctx.Err() != nil {
		return false
	}
	at := o.now()
	o.metrics.duration.WithLabelValues(r.Name).Observe(at.Sub(start).Seconds())
	deliveries := make([]Delivery, 0, len(results))
	failed := false
	for _, res := range results {
		d := Delivery{NotificationID: n.ID, SchoolID: n.Message.SchoolID, Receiver: r.Name, Channel: res.Channel, Attempt: n.attempts, At: at, OK: res.Err == nil}
		switch {
		case res.Err == nil:
			n.Done = append(n.Done, res.Channel)
			o.metrics.deliveries.WithLabelValues(r.Name, res.Channel, "ok").Inc()
		case notify.IsPermanent(res.Err):
			d.Permanent, d.Error = true, res.Err.Error()
			n.Done = append(n.Done, res.Channel)
			o.metrics.deliveries.WithLabelValues(r.Name, res.Channel, "refused").Inc()
			o.logger.Error("receiver refused a message for good; not retried", "receiver", r.Name, "channel", res.Channel,
				"notification", n.ID, "err", res.Err)
		default:
			d.Error = res.Err.Error()
			failed = true
			o.metrics.deliveries.WithLabelValues(r.Name, res.Channel, "failed").Inc()
		}
		deliveries = append(deliveries, d)
	}
	o.record(deliveries)
	if !failed {
		return true
	}
	if at.Sub(n.Created) > o.retry.MaxAge {
		o.metrics.deliveries.WithLabelValues(r.Name, "", "expired").Inc()
		o.logger.Error("message not delivered within the retry limit; given up", "receiver", r.Name,
			"notification", n.ID, "age", at.Sub(n.Created).String(), "attempts", n.attempts)
		return true
	}
	backoff := retry.Backoff{Initial: o.retry.Initial, Max: o.retry.Max}.Delay(n.attempts)
	n.next = at.Add(backoff)
	if n.attempts == 1 || n.attempts%10 == 0 {
		o.logger.Warn("receiver did not accept a message; will retry", "receiver", r.Name, "notification", n.ID,
			"attempts", n.attempts, "retry_in", backoff.String())
	}
	return false
}

// backlog returns the number of queued notifications per receiver.
func (o *outbox) backlog() map[string]int {
	out := make(map[string]int, len(o.queues))
	for name, q := range o.queues {
		out[name] = q.len()
	}
	return out
}
