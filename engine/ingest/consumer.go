package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/logthrottle"
	"github.com/sanse-campus/sanse/engine/retry"
)

// Defaults of Options.
const (
	DefaultGroupID         = "sanse"
	DefaultDeadLetterTopic = "campus.deadletter"
	DefaultBatchSize       = 50000
	DefaultBatchInterval   = 200 * time.Millisecond
	DefaultTickInterval    = time.Second
	DefaultShutdownTimeout = 10 * time.Second
	// A member that stops heartbeating (a killed process) is out of the
	// group after DefaultSessionTimeout, the least a Kafka broker accepts by
	// default (group.min.session.timeout.ms), and its partitions go to the
	// others or to its replacement: kafka-go's default, 30 s, kept the
	// schools of a killed instance still for about 30 s.
	DefaultSessionTimeout    = 6 * time.Second
	DefaultHeartbeatInterval = time.Second
	// DefaultRebalanceTimeout is how long the members have to rejoin when a
	// rebalance begins: a member flushes its batch (bounded by
	// ShutdownTimeout) and commits before it rejoins.
	DefaultRebalanceTimeout = 30 * time.Second
)

// DefaultTopics returns the topic of each source of c (nil:
// event.Builtin()) when none is configured: the topic its declaration
// names, e.g. campus.visitor.
func DefaultTopics(c *event.Contract) map[engine.Source]string {
	if c == nil {
		c = event.Builtin()
	}
	topics := make(map[engine.Source]string, len(c.Sources()))
	for _, s := range c.Sources() {
		topics[s.Name] = s.Topic
	}
	return topics
}

// writeBackoff is the wait between attempts of a failed store or
// dead-letter write: from 100 ms, doubling up to 10 s, until the write
// succeeds or the generation ends.
var writeBackoff = retry.Backoff{Initial: 100 * time.Millisecond, Max: 10 * time.Second}

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
// The consumer calls Apply and Tick from a single goroutine, never for a
// message it recognises as a re-delivery (see Options.StoredOffsets). Apply
// appends what ev caused to out and returns engine.ErrDuplicate, changing
// nothing, for an event it recognises as applied already (a producer's copy);
// any other error reports rules that failed at run time after the event was
// applied. Tick advances the clock to
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
	// Topics maps sources to their topics; sources left out take the
	// topic of their declaration (DefaultTopics). The consumer reads the
	// topic of every source of the decoder's contract, and refuses a
	// source the contract does not declare.
	Topics map[engine.Source]string
	// DeadLetterTopic receives the messages that fail validation
	// (default "campus.deadletter").
	DeadLetterTopic string
	// BatchSize is the number of records (events, risk transitions, colour
	// changes) or messages at which a batch is flushed, and the most a batch
	// holds (default 50000). Batches are written one at a time while the next
	// one fills; when it is full before the store is done, reading waits.
	BatchSize int
	// BatchInterval is the longest a record or message waits in a batch
	// before the batch is flushed (default 200ms). While the store is still
	// writing the previous batch, the batch keeps filling until the store
	// is done, so that a slow store gets fewer, larger inserts.
	BatchInterval time.Duration
	// TickInterval is how often the engine's clock is advanced, expiring
	// risks (default 1s).
	TickInterval time.Duration
	// ShutdownTimeout bounds the last flush when Run's context is cancelled
	// (default 10s).
	ShutdownTimeout time.Duration
	// SessionTimeout is how long the group waits for a member's heartbeat
	// before it gives the member's partitions to others (default 6s); the
	// broker refuses values outside group.min/max.session.timeout.ms.
	SessionTimeout time.Duration
	// HeartbeatInterval is how often the member heartbeats (default 1s;
	// below SessionTimeout, usually a third of it at most). Heartbeats go
	// on while a batch is flushed, in their own goroutine.
	HeartbeatInterval time.Duration
	// RebalanceTimeout is how long the members have to rejoin once a
	// rebalance begins (default 30s).
	RebalanceTimeout time.Duration
	// Security is how the consumer's clients reach the brokers: TLS and
	// SASL; the zero value is plaintext without authentication.
	Security Security
	// TopicCheckInterval is how often an event topic that does not exist
	// is looked for again (default 1m). A source whose topic is missing
	// is not read — the others are — until the topic appears; the
	// consumer then joins the group again with it.
	TopicCheckInterval time.Duration

	// StoredOffsets, when not nil, is called at the start of every group
	// generation that gives this consumer partitions it did not hold in the
	// one before (at first: every partition it is given): it returns,
	// by topic and partition, the last stored event read from the partition
	// (the highest offset, and the event's id), its offset committed or not.
	// Every message at or below that offset was applied to the state Engine
	// holds and stored: read again, it is a re-delivery, counted as a
	// duplicate and skipped — neither applied nor stored nor dead-lettered
	// again. So are the messages this Consumer already handled in a
	// partition it keeps across a rebalance. A stored offset counts only
	// once the partition is seen to hold, at that offset, the message of
	// that event id: after a topic was deleted and created again, its
	// messages are new.
	StoredOffsets func(ctx context.Context) (map[string]map[int]StoredOffset, error)

	// Assigned, when not nil, is called at the start of every group
	// generation, before a message of it is read and before StoredOffsets,
	// with the partition numbers this consumer holds in it (the same of
	// every event topic: partition p of every topic goes to one member) and
	// the topics' number of partitions. It returns once the state of the
	// schools of the partitions it did not hold before is rebuilt from the
	// store, and that of the partitions it lost is dropped (package app). A
	// failure is logged and the call made again, with backoff, until it
	// succeeds or the generation ends; nothing of the generation is read
	// until then.
	Assigned func(ctx context.Context, owned []int, partitions int) error

	// Decoder validates messages; required. Its Contract (nil:
	// event.Builtin()) is the set of sources whose topics are read, and
	// says which keys of a rejected message are personal.
	Decoder *event.Decoder
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
	contract := o.contract()
	topics := DefaultTopics(contract)
	for src, t := range o.Topics {
		if _, ok := topics[src]; !ok {
			errs = append(errs, fmt.Errorf("topic %q configured for unknown source %q (declared: %s)", t, src, joinNames(contract.Names())))
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
	for _, src := range contract.Names() {
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
	if o.TopicCheckInterval <= 0 {
		o.TopicCheckInterval = DefaultTopicCheckInterval
	}
	if o.SessionTimeout <= 0 {
		o.SessionTimeout = DefaultSessionTimeout
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if o.RebalanceTimeout <= 0 {
		o.RebalanceTimeout = DefaultRebalanceTimeout
	}
	if o.HeartbeatInterval >= o.SessionTimeout {
		errs = append(errs, fmt.Errorf("heartbeat interval %s must be shorter than the session timeout %s", o.HeartbeatInterval, o.SessionTimeout))
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return errors.Join(errs...)
}

func joinNames(names []engine.Source) string {
	s := make([]string, len(names))
	for i, n := range names {
		s[i] = string(n)
	}
	return strings.Join(s, ", ")
}

// contract returns the decoder's contract.
func (o *Options) contract() *event.Contract {
	if o.Decoder != nil && o.Decoder.Contract != nil {
		return o.Decoder.Contract
	}
	return event.Builtin()
}

// DefaultTopicCheckInterval is how often a missing event topic is looked
// for again.
const DefaultTopicCheckInterval = time.Minute

// Consumer reads the event topics as one Kafka consumer group, validates
// each message, applies valid events to the engine, rejects invalid ones to
// the dead-letter topic, and writes what the events caused to the store in
// batches. It commits a message's offset only after the batch holding what
// the message caused is durable and its dead letter, if any, is acknowledged
// by the broker: delivery is at least once, and a message read again is made
// harmless by the engine's duplicate check and the store's idempotency.
type Consumer struct {
	opts     Options
	logger   *slog.Logger
	metrics  *metrics
	client   *kafka.Client
	dlq      *kafka.Writer
	contract *event.Contract
	sources  map[string]engine.Source // by topic
	topics   []string                 // the event topics, in the order of the contract's sources
	ran      atomic.Bool
	// readErrors lets through one partition reader error log per interval.
	readErrors *logthrottle.Limiter
	// transport carries the admin client's and the dead-letter writer's
	// requests, dialer the group's and the partition readers'.
	transport *kafka.Transport
	dialer    *kafka.Dialer
	// splitMin is the fewest messages of a batch split off the end of a
	// backlog (see consume).
	splitMin int
	// fetchReadTimeout bounds a fetch's reads after each hand-over
	// (fetchReadTimeout).
	fetchReadTimeout time.Duration

	// The state below is owned by the goroutine running consume (and by
	// runGeneration before and after it).
	counters map[string]*topicCounters
	// handled holds, by partition, the highest offset handled, so that a
	// message read again is recognised as a re-delivery.
	handled map[partitionRef]*int64
	// owned holds the partition numbers held in the last generation whose
	// start completed (read by the balancer when the group is joined), and
	// partitions the number of partitions of the event topics (0 until a
	// generation started).
	owned      atomic.Pointer[[]int]
	partitions int
	// misrouted lets through one log line of messages on the wrong
	// partition per interval.
	misrouted  *logthrottle.Limiter
	ruleErrors *logthrottle.Limiter
	joinErrors *logthrottle.Limiter
	// writeErrors lets through one log line of failed writes per interval.
	writeErrors *logthrottle.Limiter
}

// NewConsumer returns a consumer configured by opts; it does not connect to
// the brokers until Run.
func NewConsumer(opts Options) (*Consumer, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	transport := opts.Security.transport()
	c := &Consumer{
		opts:             opts,
		logger:           opts.Logger.With("component", "ingest"),
		client:           &kafka.Client{Addr: kafka.TCP(opts.Brokers...), Timeout: 10 * time.Second, Transport: transport},
		transport:        transport,
		dialer:           opts.Security.dialer(),
		splitMin:         max(opts.BatchSize/splitDivisor, min(opts.BatchSize, splitFloor)),
		fetchReadTimeout: fetchReadTimeout,
		contract:         opts.contract(),
		sources:          make(map[string]engine.Source, len(opts.Topics)),
		counters:         make(map[string]*topicCounters, len(opts.Topics)),
		handled:          map[partitionRef]*int64{},
		ruleErrors:       logthrottle.New(10 * time.Second),
		joinErrors:       logthrottle.New(30 * time.Second),
		readErrors:       logthrottle.New(10 * time.Second),
		writeErrors:      logthrottle.New(30 * time.Second),
		misrouted:        logthrottle.New(time.Minute),
	}
	for _, src := range c.contract.Names() {
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
	c.dlq.Transport = transport
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
// than by rejecting a message, and an error wrapping ErrAuthentication when
// a broker refused the credentials or its certificate was refused. Run may
// be called once.
func (c *Consumer) Run(ctx context.Context) error {
	if !c.ran.CompareAndSwap(false, true) {
		return errors.New("ingest: Run called more than once")
	}
	defer c.transport.CloseIdleConnections()
	defer c.dlq.Close()
	var reported []string // the missing topics last reported
	for {
		present, missing, err := c.presentTopics(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			// kafka-go's transport reports a refused TLS or SASL handshake
			// as an unreachable broker; a connection of our own says what
			// happened, and trying again would not help.
			if perr := ping(ctx, c.opts.Brokers, c.dialer); errors.Is(perr, ErrAuthentication) {
				return fmt.Errorf("ingest: %w", perr)
			}
			if ok, suppressed := c.joinErrors.Allow(time.Now()); ok {
				c.logger.Warn("read the event topics' metadata", "suppressed", suppressed, "err", err)
			}
			if !sleep(ctx, time.Second) {
				return nil
			}
			continue
		}
		c.metrics.notePresent(c.topics, missing)
		if !slices.Equal(missing, reported) && len(missing) > 0 {
			c.logger.Warn("event topics missing: their sources are not read until the topics exist (checked every "+
				c.opts.TopicCheckInterval.String()+")", "topics", missing)
		}
		reported = missing
		if len(present) == 0 {
			if !sleep(ctx, c.opts.TopicCheckInterval) {
				return nil
			}
			continue
		}
		if err := c.runGroup(ctx, present, missing); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// presentTopics returns the event topics that exist on the brokers and those
// that do not, each in the order of the contract's sources.
func (c *Consumer) presentTopics(ctx context.Context) (present, missing []string, err error) {
	md, err := c.client.Metadata(ctx, &kafka.MetadataRequest{Topics: c.topics})
	if err != nil {
		return nil, nil, explain(err)
	}
	exists := make(map[string]bool, len(md.Topics))
	for _, t := range md.Topics {
		exists[t.Name] = t.Error == nil
	}
	for _, t := range c.topics {
		if !exists[t] {
			missing = append(missing, t)
		} else {
			present = append(present, t)
		}
	}
	return present, missing, nil
}

// sleep waits d or until ctx is done, and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// runGroup consumes topics as the consumer group until ctx is cancelled, a
// topic of missing appears (the group is then left, to be joined again with
// it), or consuming fails.
func (c *Consumer) runGroup(ctx context.Context, topics, missing []string) error {
	var notCo *NotCoPartitionedError
	switch n, err := c.partitionCounts(ctx, topics); {
	case errors.As(err, &notCo):
		return fmt.Errorf("ingest: %w", err)
	case err != nil:
		if ctx.Err() != nil {
			return nil
		}
		if ok, suppressed := c.joinErrors.Allow(time.Now()); ok {
			c.logger.Warn("read the event topics' partitions", "suppressed", suppressed, "err", err)
		}
		sleep(ctx, time.Second)
		return nil
	default:
		c.partitions = n
	}
	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                    c.opts.GroupID,
		Brokers:               c.opts.Brokers,
		Topics:                topics,
		StartOffset:           kafka.FirstOffset,
		WatchPartitionChanges: true,
		JoinGroupBackoff:      time.Second,
		SessionTimeout:        c.opts.SessionTimeout,
		HeartbeatInterval:     c.opts.HeartbeatInterval,
		RebalanceTimeout:      c.opts.RebalanceTimeout,
		// Range, which also keeps partition p of every topic together
		// when the topics are co-partitioned, is what a group of
		// instances of different versions agrees on during an upgrade.
		GroupBalancers: []kafka.GroupBalancer{copartitioned{owned: c.ownedPartitions}, kafka.RangeGroupBalancer{}},
		Dialer:         c.dialer,
		Logger:         kafkaLogger(c.logger, slog.LevelDebug, nil),
		ErrorLogger:    kafkaLogger(c.logger, slog.LevelWarn, nil),
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
	// A missing topic that appears is joined: the group is left and joined
	// again with it.
	var appeared atomic.Bool
	if len(missing) > 0 {
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			for sleep(wctx, c.opts.TopicCheckInterval) {
				_, still, err := c.presentTopics(wctx)
				if err == nil && len(still) < len(missing) {
					c.logger.Info("event topics appeared; rejoining the consumer group with them", "topics", missing, "still_missing", still)
					appeared.Store(true)
					group.Close()
					return
				}
			}
		}()
	}
	c.logger.Info("consumer started", "group", c.opts.GroupID, "topics", topics, "brokers", c.opts.Brokers)
	for {
		gen, err := group.Next(ctx)
		if ctx.Err() != nil || appeared.Load() {
			return nil
		}
		if err := authError(err); err != nil {
			// Trying again would not help: the configuration must change.
			return fmt.Errorf("ingest: join consumer group %s: %w", c.opts.GroupID, err)
		}
		if err != nil {
			// kafka-go waits JoinGroupBackoff before trying again.
			if ok, suppressed := c.joinErrors.Allow(time.Now()); ok {
				c.logger.Warn("join consumer group", "group", c.opts.GroupID, "suppressed", suppressed, "err", err)
			}
			continue
		}
		if err := c.runGeneration(ctx, gen); err != nil {
			return err
		}
		if ctx.Err() != nil || appeared.Load() {
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
// everything read in it is flushed and committed. It first has the state of
// the partitions new to this consumer rebuilt (Options.Assigned) and their
// stored offsets loaded. Then one reader per partition
// reads and decodes the partition's messages in order and feeds a single
// consuming goroutine: partitions are decoded in parallel, and events are
// applied in partition order.
func (c *Consumer) runGeneration(ctx context.Context, gen *kafka.Generation) error {
	// Start does not count functions started after the generation ended,
	// so the fetchers are also counted here.
	var fetchers sync.WaitGroup
	defer fetchers.Wait()
	var owned []int
	n := 0
	for _, assigned := range gen.Assignments {
		for _, a := range assigned {
			if !slices.Contains(owned, a.ID) {
				owned = append(owned, a.ID)
			}
			n++
		}
	}
	slices.Sort(owned)
	q := newQueue(n)
	c.logger.Info("consumer group generation started", "group", c.opts.GroupID, "generation", gen.ID, "partitions", n, "owned", owned)
	c.logger.Debug("partitions assigned", "generation", gen.ID, "assignments", gen.Assignments)
	c.metrics.assigned.Set(float64(n))
	defer c.metrics.assigned.Set(0)
	done := make(chan error, 1)
	// Start runs its function even if the generation already ended, so done
	// is always sent to. The generation ends as soon as one of its functions
	// returns: the fetchers start from the one that consumes, once the
	// partitions' state is ready.
	gen.Start(func(gctx context.Context) {
		if !c.takeOver(ctx, gctx, owned) {
			done <- nil
			return
		}
		fetcher := 0
		for topic, assigned := range gen.Assignments {
			for _, a := range assigned {
				f := fetcher
				fetcher++
				fetchers.Add(1)
				gen.Start(func(gctx context.Context) {
					defer fetchers.Done()
					c.fetch(gctx, topic, a, f, q)
				})
			}
		}
		done <- c.consume(ctx, gctx, gen, n, q)
	})
	return <-done
}

// ownedPartitions returns the partitions held in the last generation.
func (c *Consumer) ownedPartitions() []int {
	if p := c.owned.Load(); p != nil {
		return *p
	}
	return nil
}

// takeOver readies the partitions of a new generation: it forgets what was
// handled of the partitions no longer held, has the state of the held ones
// rebuilt (Options.Assigned) and loads the stored offsets of those new to
// this consumer, trying again until it succeeds or the generation ends. It
// reports whether the generation may be consumed.
func (c *Consumer) takeOver(ctx, gctx context.Context, owned []int) bool {
	prev := c.ownedPartitions()
	for ref := range c.handled {
		if !slices.Contains(owned, ref.partition) {
			delete(c.handled, ref)
		}
	}
	var added []int
	for _, p := range owned {
		if !slices.Contains(prev, p) {
			added = append(added, p)
		}
	}
	for attempt := 1; ; attempt++ {
		err := c.prepare(gctx, owned, added)
		if err == nil {
			break
		}
		if gctx.Err() != nil || ctx.Err() != nil {
			return false
		}
		wait := writeBackoff.Delay(attempt)
		c.logger.Warn("could not take over the assigned partitions; trying again", "owned", owned, "new", added,
			"attempt", attempt, "retry_in", wait, "err", err)
		if !sleep(gctx, wait) {
			return false
		}
	}
	c.owned.Store(&owned)
	return gctx.Err() == nil && ctx.Err() == nil
}

// prepare has the state of owned rebuilt and loads the stored offsets of
// added.
func (c *Consumer) prepare(ctx context.Context, owned, added []int) error {
	if c.opts.Assigned != nil {
		if err := c.opts.Assigned(ctx, owned, c.partitions); err != nil {
			return err
		}
	}
	if len(added) == 0 || c.opts.StoredOffsets == nil {
		return nil
	}
	stored, err := c.opts.StoredOffsets(ctx)
	if err != nil {
		return fmt.Errorf("offsets of the stored events: %w", err)
	}
	kept := 0
	for _, topic := range c.topics {
		ps := map[int]StoredOffset{}
		for p, so := range stored[topic] {
			if slices.Contains(added, p) {
				ps[p] = so
			}
		}
		if len(ps) == 0 {
			continue
		}
		k, err := c.keepStoredOffsets(ctx, topic, ps)
		if err != nil {
			return fmt.Errorf("read the partitions of stored events of %s: %w", topic, err)
		}
		kept += k
	}
	c.logger.Info("offsets of stored events loaded: messages read again up to them are skipped", "partitions", kept)
	return nil
}

// drainMax is how many decoded messages the consuming goroutine handles
// at most before it looks at its other channels (ticks, timers, the
// flusher, cancellation) again.
const drainMax = 256

// The batches split off the end of a backlog (see consume) hold at least
// BatchSize/splitDivisor messages, and at least splitFloor (or BatchSize):
// below that an insert is mostly its own overhead.
const (
	splitDivisor = 16
	splitFloor   = 1024
)

// consume applies the decoded messages, ticks the engine and hands batches
// to the flusher until the generation ends (gctx) or ctx is cancelled, then
// flushes and commits what is pending. fetchers is the number of partition
// fetchers feeding q.
//
// A batch is handed to the flusher when it is full, at BatchSize messages
// or records, and then reading waits only if maxInFlight batches are being
// flushed already. The end of a backlog goes in shrinking batches: a batch
// that holds as many messages as the partitions still hold behind their
// high-water marks is full too, so that each is about half of what is left
// (at least splitMin, and each split at most half of the backlog of the
// split before, so that a backlog that does not shrink is not cut into
// small batches). What the last event read
// waits for is the store of the batches in flight and of its own: with
// full batches, of up to maxInFlight+1 times BatchSize events. Right after
// a full batch, the batch that ends the backlog (every partition read up to
// its high-water mark) goes as a full one does, so that the end of a
// backlog does not wait out the interval. A batch is also handed over when its oldest record has waited
// BatchInterval; then it waits for the flusher to be idle and keeps
// filling meanwhile, so that a slow store gets fewer, larger inserts
// instead of a queue of small ones.
func (c *Consumer) consume(ctx, gctx context.Context, gen committer, fetchers int, q *queue) error {
	f, stopFlusher := c.startFlusher(ctx, gen)
	tick := time.NewTicker(c.opts.TickInterval)
	defer tick.Stop()
	timer := time.NewTimer(c.opts.BatchInterval)
	timer.Stop()
	defer timer.Stop()
	var (
		cur       = f.next()
		armed     bool // timer runs for the oldest record of cur
		due       bool // cur goes to the flusher once it is idle
		tail      bool // cur ends a backlog: it goes as a full one would
		split     bool // cur is about half of what is left of a backlog: it is full
		saturated bool // the last batch handed over was full
		// splitFrom is what was left of the backlog when the last batch
		// was split off it: the next split needs at most half of that
		// left, so that a backlog that does not shrink (a stream about as
		// fast as the consumer) is not cut into small batches.
		splitFrom int64 = math.MaxInt64
		// lags holds, by fetcher, how many messages its partition held
		// after the last one handled, when it was read; lagging counts the
		// fetchers behind (lag above 0), backlog is the sum: what is left
		// to read, as far as the fetches told.
		lags    = make([]int64, fetchers)
		lagging int
		backlog int64
		// refs holds, by fetcher, what handle looks up by the partition.
		refs = make([]partitionRefs, fetchers)
		// held is the chunk being handled, from held.msgs[next]: a chunk
		// is taken whole from q, and what was not handled when the
		// batch filled up or drainMax was reached waits for the next
		// turn, before any later chunk.
		held *chunk
		next int
	)
	finish := func(cause error) error {
		if !cur.empty() {
			f.handOff(cur)
		}
		stopFlusher()
		return errors.Join(cause, f.result())
	}
	// drain handles the messages of held and, while more are waiting,
	// those of the chunks after it, up to drainMax and while cur has room,
	// taking each chunk with a receive that does not block: cheaper than a
	// select over every channel below per message. What the other cases
	// wait for waits that much longer.
	drain := func() error {
		for n := 0; ; n++ {
			d := &held.msgs[next]
			next++
			if err := c.handle(cur, d, &refs[d.fetcher]); err != nil {
				return err
			}
			if was := lags[d.fetcher]; (d.lag > 0) != (was > 0) {
				if d.lag > 0 {
					lagging++
				} else {
					lagging--
				}
			}
			backlog += d.lag - lags[d.fetcher]
			lags[d.fetcher] = d.lag
			if next == len(held.msgs) {
				q.recycle(held)
				held = nil
			}
			if saturated && lagging == 0 && held == nil && len(q.chunks) == 0 {
				due, tail, split = true, true, false
			} else if saturated && !tail && !split && cur.messages >= c.splitMin && int64(cur.messages) >= backlog &&
				backlog >= int64(c.splitMin) && backlog <= splitFrom/2 {
				// Handed over from here, once the flusher has room.
				split, splitFrom = true, backlog
				return nil
			}
			if !armed {
				timer.Reset(c.opts.BatchInterval)
				armed = true
			}
			if n+1 >= drainMax || cur.full(c.opts.BatchSize) {
				return nil
			}
			if held == nil {
				select {
				case held = <-q.chunks:
					next = 0
				default:
					return nil
				}
			}
		}
	}
	for {
		// A batch split off the end of a backlog is full: it stays about
		// half of what is left even while the flusher has no room yet.
		full := cur.full(c.opts.BatchSize) || split
		// A chunk partly handled goes on before anything else is taken
		// from q: ready, a closed channel, is always ready. A batch that
		// ends a backlog, and that the flusher has room for, goes before
		// anything more is read into it.
		var in <-chan *chunk
		var resume <-chan struct{}
		switch {
		case full:
		case tail && f.inFlight < maxInFlight:
		case held != nil:
			resume = ready
		default:
			in = q.chunks
		}
		var out chan<- *pending
		if !cur.empty() && ((full || tail) && f.inFlight < maxInFlight || due && f.inFlight == 0) {
			out = f.queue
		}
		select {
		case <-ctx.Done():
			return finish(nil)
		case <-gctx.Done():
			return finish(nil)
		case out <- cur: // as handOff
			f.inFlight++
			saturated = full
			if !split {
				splitFrom = math.MaxInt64
			}
			cur, due, tail, split, armed = f.next(), false, false, false, false
			timer.Stop()
		case p := <-f.flushed:
			if !f.returned(p) {
				// The flusher gave up: ctx is done and the grace
				// period is over.
				return finish(nil)
			}
		case held = <-in:
			next = 0
			if err := drain(); err != nil {
				return finish(err)
			}
		case <-resume:
			if err := drain(); err != nil {
				return finish(err)
			}
		case <-tick.C:
			c.opts.Engine.Tick(time.Now(), &cur.batch.Output)
			if !armed && cur.batch.Len() > 0 {
				timer.Reset(c.opts.BatchInterval)
				armed = true
			}
		case <-timer.C:
			armed = false
			due = true
		}
	}
}

// ready is a closed channel: receiving from it never blocks.
var ready = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// handle applies one decoded message and adds it to p: the event with what
// it caused, or the dead letter of a rejected message. It fails only if the
// decoder failed other than by rejecting the message; the message is then
// left uncommitted.
//
// refs holds what handle looks up for the partition of d, filled at its
// first message: the same for the whole generation, as what was handled
// of the partitions changes only between generations, apart from handle.
func (c *Consumer) handle(p *pending, d *decoded, refs *partitionRefs) error {
	m := &d.msg
	if refs.handled == nil {
		refs.cnt = c.counters[m.Topic]
		refs.handled = c.handledOf(m.Topic, m.Partition)
	}
	cnt, handled := refs.cnt, refs.handled
	if m.Offset <= *handled {
		// Read again after a restart or a rebalance: what it caused is
		// in the state and stored already.
		cnt.duplicate.Inc()
		p.offsets.advance(m.Topic, m.Partition, m.Offset+1)
		p.messages++
		return nil
	}
	*handled = m.Offset
	if d.err != nil {
		var de *event.DecodeError
		if !errors.As(d.err, &de) {
			return fmt.Errorf("ingest: decode message at %s/%d offset %d: %w", m.Topic, m.Partition, m.Offset, d.err)
		}
		p.dead = append(p.dead, deadLetter(c.contract, c.opts.DeadLetterTopic, m, de))
		cnt.deadLetter.Inc()
		c.metrics.deadLetters.WithLabelValues(string(de.Reason)).Inc()
		c.logger.Debug("message rejected", "topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "err", de)
	} else {
		if c.partitions > 1 && PartitionOf(d.ev.SchoolID, c.partitions) != m.Partition {
			c.noteMisrouted(m, d.ev.SchoolID)
		}
		evs := &p.batch.Events
		i := len(*evs)
		*evs = append(*evs, d.ev)
		ev := &(*evs)[i]
		ev.Origin = engine.Origin{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset}
		switch err := c.opts.Engine.Apply(ev, &p.batch.Output); {
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
			if ok, suppressed := c.ruleErrors.Allow(time.Now()); ok {
				c.logger.Warn("rules failed on an event", "school", ev.SchoolID, "topic", m.Topic,
					"partition", m.Partition, "offset", m.Offset, "suppressed", suppressed, "err", err)
			}
		}
	}
	p.offsets.advance(m.Topic, m.Partition, m.Offset+1)
	p.messages++
	return nil
}

// partitionRefs is what handle looks up for one partition: its topic's
// counters and the offset handled last.
type partitionRefs struct {
	cnt     *topicCounters
	handled *int64
}

// noteMisrouted counts a message of a school on another partition than
// Kafka's default partitioner gives the school id, and says so, throttled,
// when this consumer holds only some of the partitions: the school's state
// is then split between instances.
func (c *Consumer) noteMisrouted(m *kafka.Message, schoolID string) {
	c.metrics.misrouted.WithLabelValues(m.Topic).Inc()
	if len(c.ownedPartitions()) >= c.partitions {
		return // one instance holds every school: nothing is split
	}
	if ok, suppressed := c.misrouted.Allow(time.Now()); ok {
		c.logger.Warn("a school's message arrived on another partition than Kafka's default partitioner (murmur2 of the school id) gives it; "+
			"with several instances its state is split between them: producers must key by school id with the default partitioner",
			"school", schoolID, "topic", m.Topic, "partition", m.Partition, "expected", PartitionOf(schoolID, c.partitions), "suppressed", suppressed)
	}
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

// kafkaLogger adapts slog to kafka-go's printf logger at the given level.
// kafka-go reports a read cancelled at the end of a generation as an
// error; such messages go to the debug level. With a throttle, messages
// above debug level that it holds back go to the debug level too.
func kafkaLogger(l *slog.Logger, level slog.Level, th *logthrottle.Limiter) kafka.Logger {
	return kafka.LoggerFunc(func(format string, args ...any) {
		ctx := context.Background()
		msg := strings.TrimSpace(fmt.Sprintf(format, args...))
		lv := level
		if lv > slog.LevelDebug && (strings.Contains(msg, context.Canceled.Error()) || strings.Contains(msg, "i/o timeout")) {
			// A cancelled read ends a generation; an idle fetch that times
			// out is retried by kafka-go on a new connection. Neither is news.
			lv = slog.LevelDebug
		}
		attrs := []any{"client", "kafka-go"}
		if lv > slog.LevelDebug && th != nil {
			ok, suppressed := th.Allow(time.Now())
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
