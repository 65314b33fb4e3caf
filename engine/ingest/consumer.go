package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/sanse-campus/sanse/engine"
)

// Defaults of Options.
const (
	DefaultGroupID         = "sanse"
	DefaultDeadLetterTopic = "campus.deadletter"
	DefaultBatchSize       = 5000
	DefaultBatchInterval   = 200 * time.Millisecond
	DefaultTickInterval    = time.Second
	DefaultShutdownTimeout = 10 * time.Second
)

// DefaultTopics returns the default topic of each source.
func DefaultTopics() map[engine.Source]string {
	return map[engine.Source]string{
		engine.SourceVisitor:  "campus.visitor",
		engine.SourceCanteen:  "campus.canteen",
		engine.SourceDrowning: "campus.drowning",
		engine.SourceBullying: "campus.bullying",
	}
}

// Backoff between attempts of a failed store or dead-letter write: it
// starts at retryBackoffMin and doubles up to retryBackoffMax.
const (
	retryBackoffMin = 100 * time.Millisecond
	retryBackoffMax = 10 * time.Second
)

// Store makes batches durable.
//
// Write is called from a single goroutine, never concurrently, and must not
// keep b or anything it references after it returns. It returns nil only
// once everything in b is durable: the consumer then commits the offsets of
// the messages behind it. Write must be idempotent by event id and record
// id, because the consumer writes the same batch again after an error and
// a message is read again after a crash or rebalance. Cancelling ctx must
// make Write return promptly with an error; the batch is then written again
// or, on shutdown, left uncommitted to be read again.
type Store interface {
	Write(ctx context.Context, b *engine.Batch) error
}

// Engine applies events to the per-school state. *engine.Engine satisfies it.
//
// The consumer calls Apply and Tick from a single goroutine. Apply appends
// what ev caused to out and returns engine.ErrDuplicate, changing nothing,
// for an event id it has already applied; any other error reports rules that
// failed at run time after the event was applied. Tick advances the clock to
// now and appends the expiries it caused to out. Neither may keep ev or out.
type Engine interface {
	Apply(ev *engine.Event, out *engine.Output) error
	Tick(now time.Time, out *engine.Output)
}

// Options configures a Consumer. Zero fields take the defaults documented
// on each.
type Options struct {
	// Brokers are the bootstrap addresses (host:port) of the Kafka cluster.
	Brokers []string
	// GroupID is the consumer group shared by every Sanse instance
	// (default "sanse").
	GroupID string
	// Topics maps each source to its topic; sources left out take the
	// topic of DefaultTopics.
	Topics map[engine.Source]string
	// DeadLetterTopic receives the messages that fail validation
	// (default "campus.deadletter").
	DeadLetterTopic string
	// BatchSize is the number of records (events, risk transitions, colour
	// changes) or messages at which a batch is flushed (default 5000).
	BatchSize int
	// BatchInterval is the longest a record or message waits in a batch
	// before the batch is flushed (default 200ms).
	BatchInterval time.Duration
	// TickInterval is how often the engine's clock is advanced, expiring
	// risks (default 1s).
	TickInterval time.Duration
	// ShutdownTimeout bounds the last flush when Run's context is cancelled
	// (default 10s).
	ShutdownTimeout time.Duration

	// Decoder validates messages; required.
	Decoder *engine.Decoder
	// Engine applies valid events; required.
	Engine Engine
	// Store makes batches durable; required.
	Store Store
	// Logger receives the consumer's logs; nil discards them.
	Logger *slog.Logger
	// Registerer registers the consumer's metrics; nil leaves them
	// unregistered.
	Registerer prometheus.Registerer
}

func (o *Options) setDefaults() error {
	var errs []error
	if len(o.Brokers) == 0 {
		errs = append(errs, errors.New("no Kafka brokers configured"))
	}
	if o.Decoder == nil {
		errs = append(errs, errors.New("no decoder"))
	}
	if o.Engine == nil {
		errs = append(errs, errors.New("no engine"))
	}
	if o.Store == nil {
		errs = append(errs, errors.New("no store"))
	}
	if o.GroupID == "" {
		o.GroupID = DefaultGroupID
	}
	topics := DefaultTopics()
	for src, t := range o.Topics {
		if _, ok := topics[src]; !ok {
			errs = append(errs, fmt.Errorf("topic %q configured for unknown source %q", t, src))
			continue
		}
		if t != "" {
			topics[src] = t
		}
	}
	o.Topics = topics
	if o.DeadLetterTopic == "" {
		o.DeadLetterTopic = DefaultDeadLetterTopic
	}
	seen := map[string]string{o.DeadLetterTopic: "the dead-letter topic"}
	for _, src := range engine.Sources {
		t := o.Topics[src]
		if other, dup := seen[t]; dup {
			errs = append(errs, fmt.Errorf("topic %q of source %s is also %s", t, src, other))
		}
		seen[t] = "the topic of source " + string(src)
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.BatchInterval <= 0 {
		o.BatchInterval = DefaultBatchInterval
	}
	if o.TickInterval <= 0 {
		o.TickInterval = DefaultTickInterval
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return errors.Join(errs...)
}

// Consumer reads the event topics as one Kafka consumer group, validates
// each message, applies valid events to the engine, rejects invalid ones to
// the dead-letter topic, and writes what the events caused to the store in
// batches. It commits a message's offset only after the batch holding what
// the message caused is durable and its dead letter, if any, is acknowledged
// by the broker: delivery is at least once, and a message read again is made
// harmless by the engine's duplicate check and the store's idempotency.
type Consumer struct {
	opts    Options
	logger  *slog.Logger
	metrics *metrics
	client  *kafka.Client
	dlq     *kafka.Writer
	sources map[string]engine.Source // by topic
	topics  []string                 // the event topics, in the order of engine.Sources
	ran     atomic.Bool
	closing sync.WaitGroup // partition readers being closed
	// readErrors lets through one partition reader error log per interval.
	readErrors *throttle

	// The state below is owned by the goroutine running consume.
	p           pending
	uncommitted offsets // stored, not yet committed in this generation
	counters    map[string]*topicCounters
	ruleErrors  sometimes
	joinErrors  sometimes // owned by Run
}

// NewConsumer returns a consumer configured by opts; it does not connect to
// the brokers until Run.
func NewConsumer(opts Options) (*Consumer, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	c := &Consumer{
		opts:        opts,
		logger:      opts.Logger.With("component", "ingest"),
		client:      &kafka.Client{Addr: kafka.TCP(opts.Brokers...), Timeout: 10 * time.Second},
		sources:     make(map[string]engine.Source, len(opts.Topics)),
		uncommitted: offsets{},
		counters:    make(map[string]*topicCounters, len(opts.Topics)),
		ruleErrors:  sometimes{interval: 10 * time.Second},
		joinErrors:  sometimes{interval: 30 * time.Second},
		readErrors:  &throttle{s: sometimes{interval: 10 * time.Second}},
	}
	for _, src := range engine.Sources {
		t := opts.Topics[src]
		c.sources[t] = src
		c.topics = append(c.topics, t)
	}
	c.metrics = newMetrics(opts.Registerer, c.topics)
	for _, t := range c.topics {
		c.counters[t] = &topicCounters{
			ok:         c.metrics.messages.WithLabelValues(t, resultOK),
			deadLetter: c.metrics.messages.WithLabelValues(t, resultDeadLetter),
			duplicate:  c.metrics.messages.WithLabelValues(t, resultDuplicate),
			ruleError:  c.metrics.messages.WithLabelValues(t, resultRuleError),
		}
	}
	c.dlq = newDeadLetterWriter(opts.Brokers, c.logger)
	c.p.offsets = offsets{}
	return c, nil
}

// Topics returns every topic the consumer uses: the event topics, then the
// dead-letter topic.
func (c *Consumer) Topics() []string {
	return append(slices.Clone(c.topics), c.opts.DeadLetterTopic)
}

// Run consumes until ctx is cancelled, then flushes what is pending within
// ShutdownTimeout, commits what was stored, leaves the group and returns
// nil. It returns an error if that last flush failed (the messages behind
// it are read again later, nothing is lost) or if the decoder failed other
// than by rejecting a message. Run may be called once.
func (c *Consumer) Run(ctx context.Context) error {
	if !c.ran.CompareAndSwap(false, true) {
		return errors.New("ingest: Run called more than once")
	}
	defer c.dlq.Close()
	defer c.closing.Wait()
	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                    c.opts.GroupID,
		Brokers:               c.opts.Brokers,
		Topics:                c.topics,
		StartOffset:           kafka.FirstOffset,
		WatchPartitionChanges: true,
		JoinGroupBackoff:      time.Second,
		Logger:                kafkaLogger(c.logger, slog.LevelDebug, nil),
		ErrorLogger:           kafkaLogger(c.logger, slog.LevelWarn, nil),
	})
	if err != nil {
		return fmt.Errorf("ingest: create consumer group: %w", err)
	}
	// Closing the group on cancellation ends the current generation without
	// starting another; the generation waits for consume to flush and commit
	// before the group is left.
	stop := context.AfterFunc(ctx, func() { group.Close() })
	defer func() {
		stop()
		group.Close()
	}()
	c.logger.Info("consumer started", "group", c.opts.GroupID, "topics", c.topics, "brokers", c.opts.Brokers)
	for {
		gen, err := group.Next(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			// kafka-go waits JoinGroupBackoff before trying again.
			if ok, suppressed := c.joinErrors.allow(time.Now()); ok {
				c.logger.Warn("join consumer group", "group", c.opts.GroupID, "suppressed", suppressed, "err", err)
			}
			continue
		}
		if err := c.runGeneration(ctx, gen); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// committer commits offsets within the current group generation;
// *kafka.Generation satisfies it.
type committer interface {
	CommitOffsets(offsets map[string]map[int]int64) error
}

// runGeneration consumes the partitions assigned in gen until the generation
// ends (a rebalance, a lost coordinator) or ctx is cancelled, and returns once
// everything read in it is flushed and committed. One reader per partition
// feeds a single consuming goroutine, so events are applied in partition
// order.
func (c *Consumer) runGeneration(ctx context.Context, gen *kafka.Generation) error {
	clear(c.uncommitted)
	msgs := make(chan kafka.Message, 1024)
	// Start does not count functions started after the generation ended,
	// so the fetchers are also counted here.
	var fetchers sync.WaitGroup
	defer fetchers.Wait()
	n := 0
	for topic, assigned := range gen.Assignments {
		for _, a := range assigned {
			n++
			fetchers.Add(1)
			gen.Start(func(gctx context.Context) {
				defer fetchers.Done()
				c.fetch(gctx, topic, a, msgs)
			})
		}
	}
	c.logger.Info("consumer group generation started", "group", c.opts.GroupID, "generation", gen.ID, "partitions", n)
	c.logger.Debug("partitions assigned", "generation", gen.ID, "assignments", gen.Assignments)
	c.metrics.assigned.Set(float64(n))
	defer c.metrics.assigned.Set(0)
	done := make(chan error, 1)
	// Start runs consume even if the generation already ended, so done
	// is always sent to.
	gen.Start(func(gctx context.Context) { done <- c.consume(ctx, gctx, gen, msgs) })
	return <-done
}

// fetch reads one partition from the offset of its assignment and sends
// the messages to out until gctx is done or reading fails, which ends the
// generation.
func (c *Consumer) fetch(gctx context.Context, topic string, a kafka.PartitionAssignment, out chan<- kafka.Message) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:         c.opts.Brokers,
		Topic:           topic,
		Partition:       a.ID,
		MinBytes:        1,
		MaxBytes:        16 << 20,
		MaxWait:         500 * time.Millisecond,
		ReadLagInterval: -1,
		Logger:          kafkaLogger(c.logger, slog.LevelDebug, nil),
		// While a broker is away every reader reports every retry.
		ErrorLogger: kafkaLogger(c.logger, slog.LevelWarn, c.readErrors),
	})
	// Closing a reader waits for its fetch in flight, up to MaxWait; the
	// generation, and with it a rebalance, does not wait for that.
	defer c.closing.Go(func() { r.Close() })
	if err := r.SetOffset(a.Offset); err != nil {
		c.logger.Warn("set read offset", "topic", topic, "partition", a.ID, "offset", a.Offset, "err", err)
		return
	}
	for {
		m, err := r.FetchMessage(gctx)
		if err != nil {
			if gctx.Err() == nil {
				c.logger.Warn("read partition", "topic", topic, "partition", a.ID, "err", err)
			}
			return
		}
		select {
		case out <- m:
		case <-gctx.Done():
			return
		}
	}
}

// consume handles messages, ticks the engine and flushes batches until the
// generation ends (gctx) or ctx is cancelled, then flushes and commits what
// is pending.
func (c *Consumer) consume(ctx, gctx context.Context, gen committer, msgs <-chan kafka.Message) error {
	tick := time.NewTicker(c.opts.TickInterval)
	defer tick.Stop()
	timer := time.NewTimer(c.opts.BatchInterval)
	timer.Stop()
	defer timer.Stop()
	armed := false
	flush := func() error {
		timer.Stop()
		armed = false
		return c.flush(ctx, gen)
	}
	for {
		select {
		case <-ctx.Done():
			return c.finish(ctx, gen, nil)
		case <-gctx.Done():
			return c.finish(ctx, gen, nil)
		case m := <-msgs:
			if err := c.handle(&m); err != nil {
				return c.finish(ctx, gen, err)
			}
			if c.p.messages >= c.opts.BatchSize || c.p.batch.Len() >= c.opts.BatchSize {
				if err := flush(); err != nil {
					return c.finish(ctx, gen, nil)
				}
			} else if !armed {
				timer.Reset(c.opts.BatchInterval)
				armed = true
			}
		case <-tick.C:
			c.opts.Engine.Tick(time.Now(), &c.p.batch.Output)
			if !armed && c.p.batch.Len() > 0 {
				timer.Reset(c.opts.BatchInterval)
				armed = true
			}
		case <-timer.C:
			armed = false
			if err := flush(); err != nil {
				return c.finish(ctx, gen, nil)
			}
		}
	}
}

// handle decodes and applies one message. It fails only if the decoder
// fails other than by rejecting the message; the message is then left
// uncommitted.
func (c *Consumer) handle(m *kafka.Message) error {
	cnt := c.counters[m.Topic]
	evs := &c.p.batch.Events
	i := len(*evs)
	*evs = append(*evs, engine.Event{})
	ev := &(*evs)[i]
	if err := c.opts.Decoder.Decode(c.sources[m.Topic], m.Value, ev); err != nil {
		(*evs)[i] = engine.Event{}
		*evs = (*evs)[:i]
		var de *engine.DecodeError
		if !errors.As(err, &de) {
			return fmt.Errorf("ingest: decode message at %s/%d offset %d: %w", m.Topic, m.Partition, m.Offset, err)
		}
		c.p.dead = append(c.p.dead, deadLetter(c.opts.DeadLetterTopic, m, de))
		cnt.deadLetter.Inc()
		c.metrics.deadLetters.WithLabelValues(string(de.Reason)).Inc()
		c.logger.Debug("message rejected", "topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "err", de)
	} else {
		ev.Origin = engine.Origin{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset}
		switch err := c.opts.Engine.Apply(ev, &c.p.batch.Output); {
		case err == nil:
			cnt.ok.Inc()
		case errors.Is(err, engine.ErrDuplicate):
			(*evs)[i] = engine.Event{}
			*evs = (*evs)[:i]
			cnt.duplicate.Inc()
		default:
			// The event was applied with the rules that did not fail;
			// it is stored like any other.
			cnt.ruleError.Inc()
			if ok, suppressed := c.ruleErrors.allow(time.Now()); ok {
				c.logger.Warn("rules failed on an event", "school", ev.SchoolID, "topic", m.Topic,
					"partition", m.Partition, "offset", m.Offset, "suppressed", suppressed, "err", err)
			}
		}
	}
	c.p.offsets.advance(m.Topic, m.Partition, m.Offset+1)
	c.p.messages++
	return nil
}

// flush makes the pending batch durable and commits the offsets of its
// messages: dead letters first, then the store, retrying each until it
// succeeds. It returns an error only when ctx is done before both succeeded;
// the batch is then kept and nothing is committed.
func (c *Consumer) flush(ctx context.Context, gen committer) error {
	if c.p.messages == 0 && c.p.batch.Len() == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	start := time.Now()
	if err := c.writeDeadLetters(ctx); err != nil {
		return err
	}
	if n := c.p.batch.Len(); n > 0 {
		err := c.retry(ctx, targetStore, func(ctx context.Context) error {
			return c.opts.Store.Write(ctx, &c.p.batch)
		})
		if err != nil {
			return err
		}
		c.metrics.batchRecords.Observe(float64(n))
	}
	c.commit(gen)
	c.metrics.flushDuration.Observe(time.Since(start).Seconds())
	c.metrics.lastFlush.SetToCurrentTime()
	c.p.reset()
	return nil
}

// finish flushes and commits what is pending at the end of a generation. If
// ctx is cancelled it makes one more bounded attempt on a fresh context. It
// returns cause, joined with the flush error if the batch could not be
// stored.
func (c *Consumer) finish(ctx context.Context, gen committer, cause error) error {
	err := c.flush(ctx, gen)
	if err != nil {
		sctx, cancel := context.WithTimeout(context.Background(), c.opts.ShutdownTimeout)
		err = c.flush(sctx, gen)
		cancel()
	}
	if err != nil {
		err = fmt.Errorf("ingest: flush on shutdown: %d messages and %d records not stored, their messages stay uncommitted: %w",
			c.p.messages, c.p.batch.Len(), err)
		c.p.reset()
	}
	return errors.Join(cause, err)
}

// commit commits the offsets of the flushed batch, with any left over from
// a failed commit earlier in the generation. A failed commit is counted and
// retried with the next one; if the generation ends first, the messages are
// read again.
func (c *Consumer) commit(gen committer) {
	for topic, ps := range c.p.offsets {
		for p, off := range ps {
			c.uncommitted.advance(topic, p, off)
		}
	}
	if len(c.uncommitted) == 0 {
		return
	}
	if err := gen.CommitOffsets(c.uncommitted); err != nil {
		c.metrics.commitErrors.Inc()
		c.logger.Warn("commit offsets", "group", c.opts.GroupID, "err", err)
		return
	}
	clear(c.uncommitted)
}

// retry calls fn until it succeeds or ctx is done, waiting longer after
// each failure.
func (c *Consumer) retry(ctx context.Context, target string, fn func(context.Context) error) error {
	backoff := retryBackoffMin
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.metrics.writeErrors.WithLabelValues(target).Inc()
		c.logger.Warn("write failed, retrying", "target", target, "attempt", attempt, "retry_in", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, retryBackoffMax)
	}
}

// pending is what was read since the last flush.
type pending struct {
	batch    engine.Batch
	dead     []kafka.Message
	offsets  offsets
	messages int
}

func (p *pending) reset() {
	p.batch.Reset()
	clear(p.dead)
	p.dead = p.dead[:0]
	clear(p.offsets)
	p.messages = 0
}

// offsets holds, by topic and partition, the next offset to read: the
// offset committed for a partition.
type offsets map[string]map[int]int64

func (o offsets) advance(topic string, partition int, next int64) {
	ps := o[topic]
	if ps == nil {
		ps = map[int]int64{}
		o[topic] = ps
	}
	if next > ps[partition] {
		ps[partition] = next
	}
}

type topicCounters struct {
	ok, deadLetter, duplicate, ruleError prometheus.Counter
}

// sometimes lets one log line through per interval and counts the others.
type sometimes struct {
	interval   time.Duration
	next       time.Time
	suppressed int
}

func (s *sometimes) allow(now time.Time) (ok bool, suppressed int) {
	if now.Before(s.next) {
		s.suppressed++
		return false, 0
	}
	suppressed, s.suppressed = s.suppressed, 0
	s.next = now.Add(s.interval)
	return true, suppressed
}

// kafkaLogger adapts slog to kafka-go's printf logger at the given level.
// kafka-go reports a read cancelled at the end of a generation as an
// error; such messages go to the debug level. With a throttle, messages
// above debug level that it holds back go to the debug level too.
func kafkaLogger(l *slog.Logger, level slog.Level, th *throttle) kafka.Logger {
	return kafka.LoggerFunc(func(format string, args ...any) {
		ctx := context.Background()
		msg := strings.TrimSpace(fmt.Sprintf(format, args...))
		lv := level
		if lv > slog.LevelDebug && strings.Contains(msg, context.Canceled.Error()) {
			lv = slog.LevelDebug
		}
		attrs := []any{"client", "kafka-go"}
		if lv > slog.LevelDebug && th != nil {
			ok, suppressed := th.allow(time.Now())
			if !ok {
				lv = slog.LevelDebug
			} else if suppressed > 0 {
				attrs = append(attrs, "suppressed", suppressed)
			}
		}
		if l.Enabled(ctx, lv) {
			l.Log(ctx, lv, msg, attrs...)
		}
	})
}

// throttle is a sometimes that is safe for concurrent use.
type throttle struct {
	mu sync.Mutex
	s  sometimes
}

func (t *throttle) allow(now time.Time) (bool, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.s.allow(now)
}
