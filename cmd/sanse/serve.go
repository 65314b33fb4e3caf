package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"golang.org/x/sync/errgroup"

	"github.com/sanse-campus/sanse/api"
	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/hazard"
	"github.com/sanse-campus/sanse/engine/ingest"
	"github.com/sanse-campus/sanse/engine/sim"
	"github.com/sanse-campus/sanse/engine/store"
	"github.com/sanse-campus/sanse/rules"
)

// cmdServe runs `sanse serve`, and `sanse demo` when demo is set: the same
// engine plus the simulator, with demo-friendly defaults.
func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer, demo bool) error {
	name, synopsis := "serve", "serve [flags]"
	if demo {
		name, synopsis = "demo", "demo [flags]"
	}
	fs := newFlagSet(name, synopsis, stderr)
	cf := newConfigFlags(fs)
	simRate, simBad, forScale := new(float64), new(float64), new(float64)
	if demo {
		fs.Float64Var(simRate, "simulate.rate", 40, "mean events per second the simulator produces")
		fs.Float64Var(simBad, "simulate.bad", 0.002, "share of malformed messages, to show the dead-letter topic")
		fs.Float64Var(forScale, "demo.for-scale", 1.0/60, "factor applied to how long every rule keeps a risk, so that risks run out within minutes (1 = as written)")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if demo && *cf.file == "" {
		// The demo runs from a checkout with the demo district's registry.
		if fs.Lookup("registry.file").Value.String() == "" {
			_ = fs.Set("registry.file", "testdata/registry/demo.csv")
		}
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	logger := newLogger(cfg.Log.Level, cfg.Log.Format, stderr)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// Registry, identity key and rules: refused with every error before anything starts.
	registry, err := engine.LoadRegistry(cfg.Registry.File)
	if err != nil {
		return err
	}
	boundaries, err := loadBoundaries(cfg.Map.BoundariesFile, registry, logger)
	if err != nil {
		return err
	}
	var registryPtr atomic.Pointer[engine.Registry]
	registryPtr.Store(registry)
	registryReloaded := promauto.With(reg).NewGauge(prometheus.GaugeOpts{
		Name: "sanse_registry_last_reload_successful",
		Help: "Whether the last reload of the school registry succeeded (1) or was refused (0).",
	})
	registryReloaded.Set(1)
	identity, err := engine.LoadIdentityKey(cfg.Privacy.VisitorKeyFile)
	if err != nil {
		return err
	}
	var transform func(*rules.Set) *rules.Set
	if demo && *forScale > 0 && *forScale < 1 {
		transform = func(s *rules.Set) *rules.Set { return s.Scaled(*forScale) }
		logger.Info("demo: rule durations scaled", "factor", *forScale)
	}
	ruleMgr, err := rules.NewManager(rules.ManagerOptions{
		Dir: cfg.Rules.Dir, Logger: logger, Registerer: reg,
		PollInterval: cfg.Rules.PollInterval, Transform: transform,
	})
	if err != nil {
		var joined interface{ Unwrap() []error }
		if !errors.As(err, &joined) {
			return err
		}
		for _, e := range joined.Unwrap() {
			logger.Error("rule error", "err", e)
		}
		return fmt.Errorf("rules refused: %d errors", len(joined.Unwrap()))
	}
	// Registered at once: an unhandled SIGHUP would end the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	logger.Info("loaded", "schools", registry.Len(), "rules", len(ruleMgr.Current().Rules()), "registry", cfg.Registry.File)

	// Kafka: an external cluster, or the embedded broker.
	topics := map[engine.Source]string{
		engine.SourceVisitor: cfg.Kafka.Topics.Visitor, engine.SourceCanteen: cfg.Kafka.Topics.Canteen,
		engine.SourceDrowning: cfg.Kafka.Topics.Drowning, engine.SourceBullying: cfg.Kafka.Topics.Bullying,
	}
	allTopics := []string{cfg.Kafka.Topics.Visitor, cfg.Kafka.Topics.Canteen, cfg.Kafka.Topics.Drowning,
		cfg.Kafka.Topics.Bullying, cfg.Kafka.Topics.DeadLetter}
	brokers := cfg.Kafka.Brokers
	if len(brokers) == 0 {
		b, err := ingest.StartBroker(ingest.BrokerOptions{
			ListenAddr: cfg.Kafka.Embedded.ListenAddress, DataDir: cfg.Kafka.Embedded.DataDir,
			Topics: allTopics, Partitions: int32(cfg.Kafka.Embedded.Partitions),
		}, logger)
		if err != nil {
			return fmt.Errorf("start embedded broker: %w", err)
		}
		defer b.Close()
		brokers = b.Addrs()
	}

	// ClickHouse: connect and migrate before consuming anything.
	st, err := store.Open(ctx, cfg.ClickHouse.DSN, logger, reg)
	if err != nil {
		return fmt.Errorf("clickhouse: %w", err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return fmt.Errorf("clickhouse: %w", err)
	}

	dec := &engine.Decoder{Registry: registryPtr.Load, Identity: identity}
	eng := engine.New(func() engine.Evaluator { return ruleMgr.Current() }, registryPtr.Load)

	// The live stream of colour changes and alerts.
	hub := api.NewHub(api.DefaultStreamBuffer, reg)
	// Alerts: opened from what the engine records, once it is stored; the
	// records reach the store and the alerts through rec.
	alerts, err := alert.New(alert.Options{
		Config: cfg.Alerting, Store: st, Registry: registryPtr.Load, Logger: logger, Registerer: reg,
		OnChange: hub.PublishAlert,
		Level:    eng.Level,
	})
	if err != nil {
		return fmt.Errorf("alerting: %w", err)
	}
	if err := alerts.Restore(ctx); err != nil {
		return err
	}
	rec := &recorder{store: st, alerts: alerts, hazardSpec: func(rule string) (hazard.Spec, bool) {
		return hazardSpec(ruleMgr.Current(), rule)
	}}
	// Hazards (隐患): opened by rules and inspectors, held until verified.
	// What they change in the engine is stored like any other record; while
	// they are being restored, not handed to the alerts again.
	var hazardsRestored atomic.Bool
	hazards := hazard.New(eng, st, func(ctx context.Context, out *engine.Output) error {
		b := engine.Batch{Output: *out}
		if !hazardsRestored.Load() {
			return st.Write(ctx, &b)
		}
		return rec.Write(ctx, &b)
	}, hazard.Options{
		Logger: logger, Registerer: reg, CheckInterval: cfg.Hazards.CheckInterval,
		School: func(id string) *engine.School { return registryPtr.Load().School(id) },
		OnSupervise: func(h *hazard.Hazard) {
			err := alerts.Supervise(ctx, h.ID, h.SchoolID, "隐患逾期未整改（挂牌督办）："+h.Title,
				fmt.Sprintf("隐患“%s”已超过整改期限（%s），挂牌督办", h.Title, h.Deadline.In(engine.Shanghai).Format("2006-01-02 15:04")),
				h.SupervisedAt)
			if err != nil {
				logger.Error("could not notify the district of an overdue hazard", "hazard", h.ID, "err", err)
			}
		},
	})
	rec.hazards = hazards
	alerts.SetResolveRisk(func(ctx context.Context, schoolID, rule, key, by, comment string) error {
		_, err := resolveFunc(eng, rec)(ctx, schoolID, rule, key, by, comment)
		return err
	})
	// A reload that removes rules ends their risks; the history records it.
	ruleMgr.OnSwap(func(_, cur *rules.Set) {
		keep := make(map[string]bool, len(cur.Rules())+1)
		for _, r := range cur.Rules() {
			keep[r.ID] = true
		}
		keep[hazard.RiskRule] = true // registered hazards are not rules
		var out engine.Batch
		eng.DropRisks(func(rule string) bool { return keep[rule] }, time.Now(), &out.Output)
		if out.Len() == 0 {
			return
		}
		if err := rec.Write(ctx, &out); err != nil {
			logger.Error("store the risks ended by a rule reload", "err", err)
		}
	})

	// State comes from what is stored: replay the horizon's events, then
	// advance the clock to now and store what ran out meanwhile.
	var restored atomic.Bool
	if err := restoreState(ctx, st, rec, dec, eng, logger); err != nil {
		return err
	}
	if err := hazards.Restore(ctx); err != nil {
		return fmt.Errorf("restore hazards: %w", err)
	}
	hazardsRestored.Store(true)
	restored.Store(true)
	// Live updates: every colour change goes to the stream's ring; Publish
	// never blocks, so it may run under the engine's lock.
	eng.OnChange(hub.Publish)

	consumer, err := ingest.NewConsumer(ingest.Options{
		Brokers: brokers, GroupID: cfg.Kafka.GroupID, Topics: topics, DeadLetterTopic: cfg.Kafka.Topics.DeadLetter,
		BatchSize: cfg.Kafka.BatchSize, BatchInterval: cfg.Kafka.BatchInterval,
		Decoder: dec, Engine: eng, Store: rec, Logger: logger, Registerer: reg,
	})
	if err != nil {
		return err
	}
	server, err := api.New(api.Options{
		ListenAddress: cfg.Web.ListenAddress, Logger: logger, Registerer: reg, Gatherer: reg,
		Schools: eng, Timeline: st.Timeline, LevelsAt: st.LevelsAt, Boundaries: boundaries,
		RulesStatus: ruleMgr.Status, ValidateRules: ruleMgr.Validate, Reload: ruleMgr.Reload,
		Resolve: resolveFunc(eng, rec),
		Alerts:  alerts,
		Hazards: hazards,
		Stream:  hub,
		School:  func(id string) *engine.School { return registryPtr.Load().School(id) },
		Ready: []api.ReadyCheck{
			{Name: "kafka", Check: consumer.Ready},
			{Name: "clickhouse", Check: st.Ping},
			{Name: "migrations", Check: func(context.Context) error {
				if !st.Migrated() {
					return errors.New("migrations not applied")
				}
				return nil
			}},
			{Name: "state", Check: func(context.Context) error {
				if !restored.Load() {
					return errors.New("state not restored yet")
				}
				return nil
			}},
		},
	})
	if err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	// Ingest: consume, evaluate, store, commit. Returns after a final flush.
	g.Go(func() error { return consumer.Run(gctx) })
	// The map and the API.
	g.Go(func() error { return server.Run(gctx) })
	// Alerts: group, repeat, escalate, deliver.
	g.Go(func() error { return alerts.Run(gctx) })
	// Hazards: overdue ones go under supervision (挂牌督办).
	g.Go(func() error { return hazards.Run(gctx) })
	// Rules: reload when a rule file changes (every rules.poll_interval).
	g.Go(func() error { return ruleMgr.Run(gctx) })
	// Rules: SIGHUP reloads them; a refused reload is logged by the manager.
	g.Go(func() error {
		for {
			select {
			case <-gctx.Done():
				return nil
			case <-hup:
				logger.Info("SIGHUP received, reloading rules and the school registry")
				_ = ruleMgr.Reload()
				reloadRegistry(cfg.Registry.File, &registryPtr, registryReloaded, logger)
			}
		}
	})
	if demo {
		// The simulator: a realistic district's stream into the same broker.
		g.Go(func() error {
			s := sim.New(sim.Options{Registry: registry, Seed: time.Now().UnixNano(), Rate: *simRate, Bad: *simBad, Topics: topics}, logger)
			err := s.RunKafka(gctx, brokers)
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		})
		fmt.Fprintf(stdout, "Sanse demo: the warning map is at http://localhost%s  (Ctrl-C stops)\n", displayAddr(cfg.Web.ListenAddress))
	}
	logger.Info("serving", "web", cfg.Web.ListenAddress, "brokers", brokers)
	err = g.Wait()
	if errors.Is(err, context.Canceled) || ctx.Err() != nil {
		logger.Info("stopped")
		return nil
	}
	return err
}

// reloadRegistry reads the registry file again and swaps it in; a file with
// any error is refused and the current registry stays.
func reloadRegistry(path string, ptr *atomic.Pointer[engine.Registry], ok prometheus.Gauge, logger *slog.Logger) {
	r, err := engine.LoadRegistry(path)
	if err != nil {
		ok.Set(0)
		logger.Error("school registry reload refused; the current registry stays", "file", path, "err", err)
		return
	}
	old := ptr.Swap(r)
	ok.Set(1)
	logger.Info("school registry reloaded", "file", path, "schools", r.Len(), "before", old.Len())
}

func loadRules(dir string) (*rules.Set, []error) {
	if dir == "" {
		return rules.Default()
	}
	return rules.LoadDir(dir)
}

// restoreState rebuilds the engine from what is stored (Engine.Restore):
// every event since the start of the rule set's horizon — or since the first
// event of the oldest risk still waiting to be cleared or resolved, when that
// is earlier — with the resolutions people made, then stores what expired
// while the engine was down.
func restoreState(ctx context.Context, st *store.Store, rec *recorder, dec *engine.Decoder, eng *engine.Engine, logger *slog.Logger) error {
	start := time.Now()
	horizon := eng.Horizon()
	since := start.Add(-horizon)
	if open, ok, err := st.OpenRisksSince(ctx); err != nil {
		return fmt.Errorf("restore state from ClickHouse: %w", err)
	} else if ok && open.Add(-24*time.Hour).Before(since) {
		// A day's margin: a late event can move a risk's first event
		// earlier than the stored first_seen without a new transition.
		since = open.Add(-24 * time.Hour)
	}
	resolutions, err := st.Resolutions(ctx, since)
	if err != nil {
		return fmt.Errorf("restore state from ClickHouse: %w", err)
	}
	var (
		ev      engine.Event
		skipped int
	)
	replay := func(apply func(*engine.Event) error) error {
		return st.ReplayEvents(ctx, since, func(payload []byte, _ engine.Origin) error {
			if err := dec.DecodeStored(payload, &ev); err != nil {
				skipped++ // e.g. a school the current registry no longer has
				return nil
			}
			return apply(&ev)
		})
	}
	var out engine.Batch
	n, err := eng.Restore(replay, resolutions, time.Now(), &out.Output)
	if err != nil {
		return fmt.Errorf("restore state from ClickHouse: %w", err)
	}
	if out.Len() > 0 {
		if err := rec.Write(ctx, &out); err != nil {
			return fmt.Errorf("store expiries found on restore: %w", err)
		}
	}
	if skipped > 0 {
		logger.Warn("stored events not replayed: they no longer decode against the registry", "events", skipped)
	}
	logger.Info("state restored", "events", n, "resolutions", len(resolutions), "since", since, "horizon", horizon, "expired_meanwhile", len(out.Transitions), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// resolveFunc lets a person resolve a risk: the engine ends it, and the
// transition and colour change are stored before the answer.
func resolveFunc(eng *engine.Engine, st *recorder) api.ResolveFunc {
	return func(ctx context.Context, schoolID, rule, key, by, comment string) (engine.SchoolView, error) {
		var b engine.Batch
		if err := eng.Resolve(schoolID, rule, key, by, comment, time.Now(), &b.Output); err != nil {
			return engine.SchoolView{}, err
		}
		// The engine has already ended the risk: keep trying to store that,
		// so that the history and a restart agree with what people saw.
		var err error
		for attempt, wait := 0, 100*time.Millisecond; attempt < 6; attempt, wait = attempt+1, wait*2 {
			if err = st.Write(ctx, &b); err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return engine.SchoolView{}, fmt.Errorf("store the resolution: %w", err)
			case <-time.After(wait):
			}
		}
		if err != nil {
			return engine.SchoolView{}, fmt.Errorf("store the resolution: %w", err)
		}
		v, _ := eng.View(schoolID)
		return v, nil
	}
}

// recorder stores what the engine recorded, then hands it to the alerts:
// an alert is opened only from stored records, and before the events behind
// them are committed.
type recorder struct {
	store   *store.Store
	alerts  *alert.Manager
	hazards *hazard.Manager
	// hazardSpec says whether a rule opens hazards, and what they are.
	hazardSpec func(rule string) (hazard.Spec, bool)
}

// Write implements ingest.Store.
func (r *recorder) Write(ctx context.Context, b *engine.Batch) error {
	if err := r.store.Write(ctx, b); err != nil {
		return err
	}
	if r.hazards != nil {
		for _, t := range b.Transitions {
			if t.State == engine.RiskOpened {
				if spec, ok := r.hazardSpec(t.Risk.Rule); ok {
					r.hazards.ObserveTransition(t, spec)
				}
			}
		}
	}
	return r.alerts.Observe(ctx, &b.Output)
}

// hazardSpec returns the hazard a rule of set opens, if it opens one.
func hazardSpec(set *rules.Set, rule string) (hazard.Spec, bool) {
	for _, r := range set.Rules() {
		if r.ID == rule && r.Hazard != nil {
			return hazard.Spec{Category: r.Hazard.Category, Deadline: r.Hazard.Deadline, Responsible: r.Hazard.Responsible}, true
		}
	}
	return hazard.Spec{}, false
}

// displayAddr returns the port part of a listen address, as ":8080".
func displayAddr(addr string) string {
	if _, port, err := net.SplitHostPort(addr); err == nil {
		return ":" + port
	}
	return addr
}
