// Package app is Sanse's composition root: it builds every component of the
// engine from Options, owns the one write path (a batch is stored first, then
// handed to the subscribers — hazards, alerts, the live stream — after the
// store returned, outside any component's lock), carries out what alerts and
// hazards ask of the engine (open or resolve a risk: apply to the engine,
// then record), restores the state at start and says when it is ready.
//
// It leaves out flags, environment, YAML, signals and the HTTP server: cmd
// reads the configuration into Options and wires the api package to the
// components App exposes (api is never imported here).
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"golang.org/x/sync/errgroup"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/hazard"
	"github.com/sanse-campus/sanse/engine/ingest"
	"github.com/sanse-campus/sanse/engine/registry"
	"github.com/sanse-campus/sanse/engine/store"
	"github.com/sanse-campus/sanse/rules"
)

// Stream is the live stream of what changed, for the people watching the map.
// Both methods must be safe for concurrent use and must not block.
type Stream interface {
	// Publish hands on a colour change: one an event or the clock made as
	// soon as the engine made it (the map shows it already; it is stored
	// with the next flush), one a person's act made once it is stored.
	Publish(engine.LevelChange)
	// PublishAlert hands on an alert's new state; the callee must not
	// change a.
	PublishAlert(a *alert.Alert)
}

// Options configure an App. RegistryFile, VisitorKeyFile and ClickHouseDSN
// are required.
type Options struct {
	// RegistryFile is the school registry (CSV or YAML).
	RegistryFile string
	// Contract is the declared event sources (event.LoadContract): what
	// the decoder accepts, the topics the consumer reads, the fields rules
	// read, what dead letters mask; event.Builtin() when nil.
	Contract *event.Contract
	// VisitorKeyFile holds the key of visitors' ID-number hashes; it is
	// created with a random key when it does not exist. The key must stay
	// the same for the life of the data.
	VisitorKeyFile string
	// Rules configures the rule manager; its Contract, Logger and
	// Registerer are the App's.
	Rules rules.ManagerOptions
	// Kafka configures the consumer: brokers, group, topics, batching. Its
	// Decoder (with the Contract), Engine, Store, Logger and Registerer are
	// the App's. Empty
	// Brokers start the embedded broker (a test broker: for the demo, tests
	// and trying Sanse on one machine), configured by EmbeddedKafka.
	Kafka         ingest.Options
	EmbeddedKafka ingest.BrokerOptions
	// StateTopic is the compacted topic through which the instances of
	// one consumer group show each other the schools they hold
	// (ingest.DefaultStateTopic when empty).
	StateTopic string
	// EventLimits bound what an event may be (size, string lengths, how
	// far occurred_at lies from now); zero fields take event.DefaultLimits,
	// negative ones set no limit.
	EventLimits   event.Limits
	ClickHouseDSN string
	// ClickHouse adds credentials and TLS to ClickHouseDSN.
	ClickHouse store.ConnectOptions
	Alerting   alert.Config
	// Retention says how long the history keeps its rows.
	Retention Retention
	// HazardCheckInterval is how often overdue hazards are looked for;
	// hazard.DefaultCheckInterval when zero.
	HazardCheckInterval time.Duration
	// Stream, when not nil, is handed every colour change and every alert
	// change.
	Stream     Stream
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// App is the engine with everything around it: registry, rules, broker
// connection, store, alerts and hazards. Build it with New, start it with
// Run, release it with Close.
type App struct {
	logger   *slog.Logger
	opts     Options
	registry atomic.Pointer[engine.Registry]
	// registryReloaded is sanse_registry_last_reload_successful.
	registryReloaded prometheus.Gauge
	// retentionDropped is sanse_retention_dropped_partitions_total.
	retentionDropped *prometheus.CounterVec

	rules    *rules.Manager
	broker   *ingest.Broker // nil with an external cluster
	brokers  []string
	store    *store.Store
	decoder  *event.Decoder
	engine   *engine.Engine
	alerts   *alert.Manager
	hazards  *hazard.Manager
	consumer *ingest.Consumer
	writer   *writer
	restored atomic.Bool
	// ownership is which schools the engine holds among several instances.
	ownership ownership
	// statePub and stateReplica share the schools' state among instances.
	statePub     *ingest.StatePublisher
	stateReplica *ingest.StateReplica
}

// New loads the registry, the identity key and the rules (refused with every
// error before anything starts), starts the embedded broker when no brokers
// are given, connects to ClickHouse and migrates it, and builds the engine,
// the alerts, the hazards and the consumer. Nothing runs until Run; Close
// releases what New opened, also when Run was never called.
func New(ctx context.Context, opts Options) (_ *App, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Contract == nil {
		opts.Contract = event.Builtin()
	}
	a := &App{logger: opts.Logger, opts: opts}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	reg, err := registry.Load(opts.RegistryFile)
	if err != nil {
		return nil, err
	}
	a.registry.Store(reg)
	a.registryReloaded = promauto.With(opts.Registerer).NewGauge(prometheus.GaugeOpts{
		Namespace: "sanse", Subsystem: "registry", Name: "last_reload_successful",
		Help: "Whether the last reload of the school registry succeeded (1) or was refused (0).",
	})
	a.registryReloaded.Set(1)
	a.retentionDropped = promauto.With(opts.Registerer).NewCounterVec(prometheus.CounterOpts{
		Namespace: "sanse", Subsystem: "retention", Name: "dropped_partitions_total",
		Help: "Monthly partitions of the history dropped because they passed their table's retention, by table.",
	}, []string{"table"})
	identity, err := event.LoadIdentityKey(opts.VisitorKeyFile)
	if err != nil {
		return nil, err
	}
	ro := opts.Rules
	ro.Contract, ro.Logger, ro.Registerer = opts.Contract, opts.Logger, opts.Registerer
	if a.rules, err = rules.NewManager(ro); err != nil {
		return nil, rulesRefused(err, opts.Logger)
	}
	opts.Logger.Info("loaded", "schools", reg.Len(), "sources", len(opts.Contract.Sources()), "rules", len(a.rules.Current().Rules()), "registry", opts.RegistryFile)

	a.brokers = opts.Kafka.Brokers
	if len(a.brokers) == 0 {
		bo := opts.EmbeddedKafka
		bo.Topics = a.topicList()
		if a.broker, err = ingest.StartBroker(bo, opts.Logger); err != nil {
			return nil, fmt.Errorf("start embedded broker: %w", err)
		}
		a.brokers = a.broker.Addrs()
	}
	if a.store, err = store.OpenWith(ctx, opts.ClickHouseDSN, opts.ClickHouse, opts.Logger, opts.Registerer); err != nil {
		return nil, fmt.Errorf("clickhouse: %w", err)
	}
	if err := a.store.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("clickhouse: %w", err)
	}
	host, _ := os.Hostname()
	if err := a.store.CheckVisitorKey(ctx, identity.HashText(visitorKeyFingerprintText), host); err != nil {
		return nil, fmt.Errorf("privacy.visitor_key_file %s: %w", opts.VisitorKeyFile, err)
	}

	a.decoder = &event.Decoder{Contract: opts.Contract, Registry: a.registry.Load, Identity: identity,
		Dropped: ingest.NewDroppedFields(opts.Contract, opts.Registerer).Count, Limits: opts.EventLimits.OrDefaults()}
	a.engine = engine.New(func() engine.Evaluator { return a.rules.Current() }, a.registry.Load)
	engine.RegisterMetrics(a.engine, opts.Registerer)
	var onAlert func(*alert.Alert)
	if opts.Stream != nil {
		onAlert = opts.Stream.PublishAlert
	}
	a.alerts, err = alert.New(alert.Options{
		Config: opts.Alerting, Store: a.store, Registry: a.registry.Load, Level: a.engine.Level,
		Risks: personRisks{a}, OnChange: onAlert, Logger: opts.Logger, Registerer: opts.Registerer,
		HashID: identity.HashText, Contract: opts.Contract, Holds: a.engine.Owns,
	})
	if err != nil {
		return nil, fmt.Errorf("alerting: %w", err)
	}
	a.hazards = hazard.New(a.store, a, hazard.Options{
		Logger: opts.Logger, Registerer: opts.Registerer, CheckInterval: opts.HazardCheckInterval,
		School: a.School, Supervisor: supervisor{a.alerts}, Holds: a.engine.Owns,
	})
	a.writer = &writer{store: a.store, subscribers: []subscriber{
		hazardSubscriber{hazards: a.hazards, rules: a.rules},
		a.alerts,
	}}
	var live ingest.Engine = a.engine
	if opts.Stream != nil {
		stream := newStreamSubscriber(opts.Stream)
		a.writer.subscribers = append(a.writer.subscribers, stream)
		live = liveEngine{a.engine, stream}
	}
	a.startState()
	a.writer.subscribers = append(a.writer.subscribers, stateSubscriber{a.statePub})
	co := opts.Kafka
	co.Brokers, co.Decoder, co.Engine, co.Store = a.brokers, a.decoder, live, a.writer
	co.StoredOffsets = a.storedOffsets
	co.Assigned = a.assigned
	co.Logger, co.Registerer = opts.Logger, opts.Registerer
	a.consumer, err = ingest.NewConsumer(co)
	if err != nil {
		return nil, err
	}
	// A reload that removes rules ends their risks; the history records it.
	a.rules.OnSwap(a.rulesSwapped)
	return a, nil
}

// visitorKeyFingerprintText is hashed with the visitor key to tell keys
// apart without revealing them.
const visitorKeyFingerprintText = "sanse: the fingerprint of the visitor key"

// rulesRefused logs each error of a refused rule set and returns one error
// that counts them.
func rulesRefused(err error, logger *slog.Logger) error {
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		return err
	}
	for _, e := range joined.Unwrap() {
		logger.Error("rule error", "err", e)
	}
	return fmt.Errorf("rules refused: %d errors", len(joined.Unwrap()))
}

// topicList returns every topic the App reads or writes: the topic of each
// source of the contract (as configured, else as declared) and the
// dead-letter topic.
func (a *App) topicList() []string {
	var out []string
	for _, src := range a.opts.Contract.Sources() {
		t := a.opts.Kafka.Topics[src.Name]
		if t == "" {
			t = src.Topic
		}
		out = append(out, t)
	}
	dead := a.opts.Kafka.DeadLetterTopic
	if dead == "" {
		dead = ingest.DefaultDeadLetterTopic
	}
	return append(out, dead)
}

// Run restores the state from what is stored, then consumes, evaluates,
// stores and alerts until ctx is done, together with also (e.g. the HTTP
// server and the simulator), which start once the state is restored. It
// returns nil after a shutdown asked for by ctx, or the first error.
func (a *App) Run(ctx context.Context, also ...func(context.Context) error) error {
	if err := a.restore(ctx); err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	// Ingest: consume, evaluate, store, commit. Returns after a final flush.
	g.Go(func() error { return a.consumer.Run(gctx) })
	// Alerts: group, repeat, escalate, deliver.
	g.Go(func() error { return a.alerts.Run(gctx) })
	// Hazards: overdue ones go under supervision (挂牌督办).
	g.Go(func() error { return a.hazards.Run(gctx) })
	// Rules: reload when a rule file changes (every rules.poll_interval).
	g.Go(func() error { return a.rules.Run(gctx) })
	// State: the schools' state shared with the other instances.
	g.Go(func() error { return a.runState(gctx) })
	// Retention: old monthly partitions of the history are dropped.
	g.Go(func() error { return a.runRetention(gctx) })
	for _, fn := range also {
		g.Go(func() error { return fn(gctx) })
	}
	a.logger.Info("running", "brokers", a.brokers)
	err := g.Wait()
	if errors.Is(err, context.Canceled) || ctx.Err() != nil {
		return nil
	}
	return err
}

// Close stops the embedded broker and closes the store connection.
func (a *App) Close() {
	if a.store != nil {
		_ = a.store.Close()
	}
	if a.broker != nil {
		a.broker.Close()
	}
}

// Reload reads the rules and the school registry again; each is refused on
// any error (logged, and their last_reload_successful gauges drop to 0)
// while the current one stays.
func (a *App) Reload() {
	_ = a.rules.Reload()
	a.ReloadRegistry()
}

// ReloadRegistry reads the registry file again and swaps it in; a file with
// any error is refused and the current registry stays.
func (a *App) ReloadRegistry() {
	path := a.opts.RegistryFile
	r, err := registry.Load(path)
	if err != nil {
		a.registryReloaded.Set(0)
		a.logger.Error("school registry reload refused; the current registry stays", "file", path, "err", err)
		return
	}
	old := a.registry.Swap(r)
	a.registryReloaded.Set(1)
	a.logger.Info("school registry reloaded", "file", path, "schools", r.Len(), "before", old.Len())
}

// Brokers returns the addresses of the Kafka brokers in use (the embedded
// broker's when it runs).
func (a *App) Brokers() []string { return a.brokers }

// Contract returns the declared event sources.
func (a *App) Contract() *event.Contract { return a.opts.Contract }

// Registry returns the school registry in force.
func (a *App) Registry() *engine.Registry { return a.registry.Load() }

// School returns the school of the registry in force with the id, or nil.
func (a *App) School(id string) *engine.School { return a.registry.Load().School(id) }

// Engine returns the warning engine (the live state of the map).
func (a *App) Engine() *engine.Engine { return a.engine }

// Store returns the history.
func (a *App) Store() *store.Store { return a.store }

// Rules returns the rule manager.
func (a *App) Rules() *rules.Manager { return a.rules }

// Alerts returns the alert manager.
func (a *App) Alerts() *alert.Manager { return a.alerts }

// Hazards returns the hazard manager.
func (a *App) Hazards() *hazard.Manager { return a.hazards }

// Check is one readiness check: its name and what it calls.
type Check struct {
	Name  string
	Check func(context.Context) error
}

// Checks returns what /readyz asks: the broker, ClickHouse, the migrations
// and the restored state.
func (a *App) Checks() []Check {
	return []Check{
		{Name: "kafka", Check: a.consumer.Ready},
		{Name: "clickhouse", Check: a.store.Ping},
		{Name: "migrations", Check: func(context.Context) error {
			if !a.store.Migrated() {
				return errors.New("migrations not applied")
			}
			return nil
		}},
		{Name: "state", Check: func(context.Context) error {
			if !a.restored.Load() {
				return errors.New("state not restored yet")
			}
			return nil
		}},
	}
}
