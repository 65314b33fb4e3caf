package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sanse-campus/sanse/engine/logthrottle"
	"github.com/sanse-campus/sanse/engine/retry"
)

// Notification is one message to one receiver, as the outbox keeps it: it
// is stored before it is sent, and sent again until every channel of the
// receiver accepted it (or gave a permanent error), across restarts.
type Notification struct {
	ID       string    `json:"id"`
	Receiver string    `json:"receiver"`
	Message  Message   `json:"message"`
	Created  time.Time `json:"created"`
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

// OutboxStore is what the outbox keeps in storage: the messages before
// they are sent, and every delivery attempt. Its methods must be safe for
// concurrent use. Saving the same notification, or the same delivery
// (notification, channel, attempt), twice must store it once. Cancelling
// ctx makes a call return an error; what was stored then is undefined, and
// the outbox saves it again later.
type OutboxStore interface {
	// SaveNotifications stores messages before they are sent.
	SaveNotifications(ctx context.Context, ns []*Notification) error
	// SaveDeliveries stores delivery attempts and finished marks.
	SaveDeliveries(ctx context.Context, ds []Delivery) error
	// PendingNotifications returns the messages created since since that
	// have no delivery with Channel Finished, oldest first, with Done
	// filled from their deliveries that were accepted or refused for good.
	PendingNotifications(ctx context.Context, since time.Time) ([]*Notification, error)
}

// Retry bounds redelivery: the backoff doubles from Initial up to Max, and
// a message not delivered within MaxAge is given up (and logged).
type Retry struct {
	Initial time.Duration `yaml:"initial"`
	Max     time.Duration `yaml:"max"`
	MaxAge  time.Duration `yaml:"max_age"`
}

// Defaults of Retry.
const (
	DefaultRetryInitial = time.Second
	DefaultRetryMax     = time.Minute
	DefaultRetryMaxAge  = 72 * time.Hour
)

// WithDefaults fills what r leaves out.
func (r Retry) WithDefaults() Retry {
	if r.Initial <= 0 {
		r.Initial = DefaultRetryInitial
	}
	if r.Max <= 0 {
		r.Max = DefaultRetryMax
	}
	if r.MaxAge <= 0 {
		r.MaxAge = DefaultRetryMaxAge
	}
	return r
}

// OutboxOptions configure an Outbox. Store is required.
type OutboxOptions struct {
	Store OutboxStore
	// Receivers are where messages go; a message to a receiver not listed
	// is stored and dropped (and logged).
	Receivers []*Receiver
	// Retry is filled with its defaults.
	Retry Retry
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
	// Logger is used as given; nil discards.
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Outbox delivers notifications, one queue and one sender per receiver, so
// that a receiver that is down holds back only its own messages. A message
// is stored before it is queued, and its attempts and its finished mark
// are stored as they happen, so a restart (Restore) resumes exactly the
// messages not yet finished with. It is safe for concurrent use.
type Outbox struct {
	store     OutboxStore
	receivers map[string]*Receiver
	retry     Retry
	now       func() time.Time
	logger    *slog.Logger
	metrics   *metrics

	queues map[string]*queue

	// deliveries are stored in batches by Run, not one insert per attempt.
	mu         sync.Mutex
	deliveries []Delivery
	// storeErrors logs a store that keeps refusing the deliveries (Run
	// tries every 500 ms) once per storeErrorInterval; failedStores counts
	// the attempts since the last that succeeded. Owned by Run.
	storeErrors  *logthrottle.Limiter
	failedStores int
}

// storeErrorInterval is how often a store that keeps refusing the delivery
// attempts is logged.
const storeErrorInterval = 30 * time.Second

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

// NewOutbox builds an outbox; nothing is sent before Run.
func NewOutbox(opts OutboxOptions) (*Outbox, error) {
	if opts.Store == nil {
		return nil, errors.New("notify: OutboxOptions.Store is required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	o := &Outbox{
		store: opts.Store, receivers: map[string]*Receiver{}, retry: opts.Retry.WithDefaults(), now: opts.Now,
		logger: opts.Logger, metrics: newMetrics(opts.Registerer), queues: map[string]*queue{},
		storeErrors: logthrottle.New(storeErrorInterval),
	}
	for _, r := range opts.Receivers {
		o.receivers[r.Name] = r
		o.queues[r.Name] = &queue{wake: make(chan struct{}, 1)}
	}
	return o, nil
}

// Enqueue stores ns and queues them for delivery. An error means none was
// queued (some may be stored): the caller tries again later with the same
// notifications, which the store keeps once.
func (o *Outbox) Enqueue(ctx context.Context, ns []*Notification) error {
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

// Restore queues the messages the store holds as not finished with, created
// within the retry limit (Retry.MaxAge), without storing them again. Call it
// once, before Run, and before Enqueue of new messages so that the order is
// kept. It returns how many it loaded.
func (o *Outbox) Restore(ctx context.Context) (int, error) {
	ns, err := o.store.PendingNotifications(ctx, o.now().Add(-o.retry.MaxAge))
	if err != nil {
		return 0, fmt.Errorf("load undelivered messages: %w", err)
	}
	for _, n := range ns {
		if q := o.queues[n.Receiver]; q != nil {
			q.push(n)
			o.metrics.queued.WithLabelValues(n.Receiver).Inc()
		}
	}
	return len(ns), nil
}

// Run sends until ctx is done, storing the attempts every half second, and
// the last ones (with five seconds of their own) when ctx is done. It
// always returns nil.
func (o *Outbox) Run(ctx context.Context) error {
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
			c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			o.storeDeliveries(c)
			cancel()
			return nil
		case <-t.C:
			o.storeDeliveries(ctx)
		}
	}
}

func (o *Outbox) record(ds []Delivery) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.deliveries = append(o.deliveries, ds...)
	if n := len(o.deliveries) - maxUnstoredDeliveries; n > 0 {
		o.logger.Error("delivery attempts could not be stored and were dropped", "attempts", n)
		o.deliveries = append(o.deliveries[:0], o.deliveries[n:]...)
	}
}

func (o *Outbox) storeDeliveries(ctx context.Context) {
	o.mu.Lock()
	ds := o.deliveries
	o.deliveries = nil
	o.mu.Unlock()
	if len(ds) == 0 {
		return
	}
	if err := o.store.SaveDeliveries(ctx, ds); err != nil {
		o.failedStores++
		if ok, suppressed := o.storeErrors.Allow(o.now()); ok {
			o.logger.Warn("could not store delivery attempts; will retry", "attempts", len(ds), "suppressed", suppressed, "err", err)
		}
		o.mu.Lock()
		o.deliveries = append(ds, o.deliveries...)
		o.mu.Unlock()
		return
	}
	if o.failedStores > 0 {
		o.logger.Info("delivery attempts stored again", "failed_attempts", o.failedStores)
		o.failedStores = 0
		o.storeErrors.Reset()
	}
}

// send delivers the receiver's queue in order; the head is retried with
// backoff until it is delivered, then the next.
func (o *Outbox) send(ctx context.Context, name string, q *queue) {
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
func (o *Outbox) attempt(ctx context.Context, r *Receiver, n *Notification) bool {
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
		case IsPermanent(res.Err):
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

// Backlog returns the number of queued notifications per receiver.
func (o *Outbox) Backlog() map[string]int {
	out := make(map[string]int, len(o.queues))
	for name, q := range o.queues {
		out[name] = q.len()
	}
	return out
}
