package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/logthrottle"
)

// Every instance serves the whole map, while each holds the state of its own
// schools only: each publishes the current state of the schools it holds to
// the state topic, a compacted topic keyed by school id, and reads the whole
// topic back (StateReplica), so that it can answer for the schools the
// others hold. The topic is a cache of the engines' state, not the record:
// the history in ClickHouse is.

// DefaultStateTopic is the state topic when none is configured.
const DefaultStateTopic = "sanse.state"

// SchoolState is a school as its owner shows it, as the state topic carries
// it (the value of a record keyed by the school id).
type SchoolState struct {
	Level engine.Level  `json:"level"`
	Since time.Time     `json:"since,omitzero"`
	Cause engine.Cause  `json:"cause"`
	Risks []engine.Risk `json:"risks"`
	// At is when the owner published it; Instance names the owner (its
	// host name), for the people who must act through it.
	At       time.Time `json:"at"`
	Instance string    `json:"instance,omitempty"`
}

// View returns the state as the map shows it, for the school of the
// registry.
func (s *SchoolState) View(school *engine.School) engine.SchoolView {
	return engine.SchoolView{School: school, Level: s.Level, Since: s.Since, Cause: s.Cause, Risks: s.Risks}
}

// StateOptions configure a StatePublisher and a StateReplica.
type StateOptions struct {
	Brokers  []string
	Topic    string // DefaultStateTopic when empty
	Security Security
	Logger   *slog.Logger
}

func (o *StateOptions) defaults() {
	if o.Topic == "" {
		o.Topic = DefaultStateTopic
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// EnsureStateTopic creates the state topic, compacted, with one partition,
// when it does not exist; an existing one is left as it is.
func EnsureStateTopic(ctx context.Context, o StateOptions) error {
	o.defaults()
	transport := o.Security.transport()
	defer transport.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(o.Brokers...), Timeout: 10 * time.Second, Transport: transport}
	res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: o.Topic, NumPartitions: 1, ReplicationFactor: -1,
		ConfigEntries: []kafka.ConfigEntry{{ConfigName: "cleanup.policy", ConfigValue: "compact"}},
	}}})
	if err != nil {
		return fmt.Errorf("create the state topic %s: %w", o.Topic, explain(err))
	}
	if err := res.Errors[o.Topic]; err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return fmt.Errorf("create the state topic %s: %w", o.Topic, err)
	}
	return nil
}

// StatePublisher publishes the state of the schools this instance holds.
// Mark notes a school whose state changed; Run publishes the newest state of
// the marked schools, coalesced, every publishInterval at most.
type StatePublisher struct {
	opts     StateOptions
	logger   *slog.Logger
	instance string
	w        *kafka.Writer
	// view returns the school's state now, and whether this instance holds
	// it; a school it no longer holds is not published.
	view   func(id string) (engine.SchoolView, bool)
	errors *logthrottle.Limiter

	mu    sync.Mutex
	dirty map[string]struct{}
	wake  chan struct{}
}

// publishInterval is the shortest time between two publications.
const publishInterval = 20 * time.Millisecond

// NewStatePublisher returns a publisher of the states view gives.
func NewStatePublisher(o StateOptions, view func(id string) (engine.SchoolView, bool)) *StatePublisher {
	o.defaults()
	host, _ := os.Hostname()
	return &StatePublisher{
		opts: o, logger: o.Logger.With("component", "state"), view: view, instance: host,
		w: &kafka.Writer{
			Addr: kafka.TCP(o.Brokers...), Topic: o.Topic, Balancer: &kafka.Murmur2Balancer{},
			RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond, BatchSize: 10000,
			Transport: o.Security.transport(), MaxAttempts: 3,
			Logger: kafkaLogger(o.Logger, slog.LevelDebug, nil), ErrorLogger: kafkaLogger(o.Logger, slog.LevelDebug, nil),
		},
		errors: logthrottle.New(30 * time.Second),
		dirty:  map[string]struct{}{},
		wake:   make(chan struct{}, 1),
	}
}

// Mark notes that the state of the schools changed. It never blocks.
func (p *StatePublisher) Mark(ids ...string) {
	if len(ids) == 0 {
		return
	}
	p.mu.Lock()
	for _, id := range ids {
		p.dirty[id] = struct{}{}
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run publishes the marked schools until ctx is done. A failed publication
// is tried again with the schools marked since.
func (p *StatePublisher) Run(ctx context.Context) error {
	defer p.w.Close()
	var msgs []kafka.Message
	for attempt := 0; ; {
		select {
		case <-ctx.Done():
			return nil
		case <-p.wake:
		}
		p.mu.Lock()
		ids := make([]string, 0, len(p.dirty))
		for id := range p.dirty {
			ids = append(ids, id)
		}
		clear(p.dirty)
		p.mu.Unlock()
		msgs = msgs[:0]
		now := time.Now()
		for _, id := range ids {
			v, ok := p.view(id)
			if !ok {
				continue
			}
			value, err := json.Marshal(SchoolState{Level: v.Level, Since: v.Since, Cause: v.Cause, Risks: v.Risks, At: now, Instance: p.instance})
			if err != nil {
				return fmt.Errorf("state of school %s: %w", id, err)
			}
			msgs = append(msgs, kafka.Message{Key: []byte(id), Value: value})
		}
		if err := p.w.WriteMessages(ctx, msgs...); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			attempt++
			if ok, suppressed := p.errors.Allow(time.Now()); ok {
				p.logger.Warn("publish the schools' state to the state topic; trying again", "topic", p.opts.Topic,
					"schools", len(ids), "suppressed", suppressed, "err", err)
			}
			p.Mark(ids...)
			if !sleep(ctx, writeBackoff.Delay(attempt)) {
				return nil
			}
			continue
		}
		attempt = 0
		if !sleep(ctx, publishInterval) {
			return nil
		}
	}
}

// StateReplica reads the whole state topic and keeps the newest state of
// every school, for the schools this instance does not hold.
type StateReplica struct {
	opts     StateOptions
	logger   *slog.Logger
	onChange func(id string, before, after *SchoolState)
	errors   *logthrottle.Limiter

	mu      sync.RWMutex
	states  map[string]*SchoolState
	version atomic.Uint64
}

// NewStateReplica returns a replica of the state topic; onChange, when not
// nil, is called with each school's state before (nil when unknown) and
// after a record, from the reading goroutine.
func NewStateReplica(o StateOptions, onChange func(id string, before, after *SchoolState)) *StateReplica {
	o.defaults()
	return &StateReplica{opts: o, logger: o.Logger.With("component", "state"), onChange: onChange,
		errors: logthrottle.New(30 * time.Second), states: map[string]*SchoolState{}}
}

// State returns the newest state of the school read from the topic.
func (r *StateReplica) State(id string) (*SchoolState, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.states[id]
	return s, ok
}

// Version changes whenever a state read changes what State answers.
func (r *StateReplica) Version() uint64 { return r.version.Load() }

// Run reads every partition of the topic from its start until ctx is done.
func (r *StateReplica) Run(ctx context.Context) error {
	var partitions []int
	for {
		ps, err := r.partitions(ctx)
		if err == nil {
			partitions = ps
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		if ok, suppressed := r.errors.Allow(time.Now()); ok {
			r.logger.Warn("read the state topic's partitions", "topic", r.opts.Topic, "suppressed", suppressed, "err", err)
		}
		if !sleep(ctx, time.Second) {
			return nil
		}
	}
	var wg sync.WaitGroup
	for _, p := range partitions {
		wg.Go(func() { r.read(ctx, p) })
	}
	wg.Wait()
	return nil
}

func (r *StateReplica) partitions(ctx context.Context) ([]int, error) {
	transport := r.opts.Security.transport()
	defer transport.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(r.opts.Brokers...), Timeout: 10 * time.Second, Transport: transport}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{r.opts.Topic}})
	if err != nil {
		return nil, explain(err)
	}
	if len(md.Topics) == 0 {
		return nil, fmt.Errorf("no topic %s", r.opts.Topic)
	}
	if err := md.Topics[0].Error; err != nil {
		return nil, err
	}
	var out []int
	for _, p := range md.Topics[0].Partitions {
		out = append(out, p.ID)
	}
	return out, nil
}

func (r *StateReplica) read(ctx context.Context, partition int) {
	rd := kafka.NewReader(kafka.ReaderConfig{
		Brokers: r.opts.Brokers, Topic: r.opts.Topic, Partition: partition,
		MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 250 * time.Millisecond, ReadLagInterval: -1,
		Dialer: r.opts.Security.dialer(), Logger: kafkaLogger(r.logger, slog.LevelDebug, nil),
		ErrorLogger: kafkaLogger(r.logger, slog.LevelWarn, r.errors),
	})
	defer rd.Close()
	for {
		m, err := rd.ReadMessage(ctx)
		if err != nil {
			if ctx.Err() == nil {
				r.logger.Warn("read the state topic", "topic", r.opts.Topic, "partition", partition, "err", err)
			}
			return
		}
		id := string(m.Key)
		var after *SchoolState
		if m.Value != nil {
			after = new(SchoolState)
			if err := json.Unmarshal(m.Value, after); err != nil {
				if ok, suppressed := r.errors.Allow(time.Now()); ok {
					r.logger.Warn("state record skipped: it does not decode", "school", id, "offset", m.Offset, "suppressed", suppressed, "err", err)
				}
				continue
			}
		}
		r.mu.Lock()
		before := r.states[id]
		if after == nil {
			delete(r.states, id)
		} else {
			r.states[id] = after
		}
		r.mu.Unlock()
		r.version.Add(1)
		if r.onChange != nil {
			r.onChange(id, before, after)
		}
	}
}
