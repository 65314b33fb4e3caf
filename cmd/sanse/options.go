package main

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sanse-campus/sanse/api"
	"github.com/sanse-campus/sanse/engine/app"
	"github.com/sanse-campus/sanse/engine/ingest"
	"github.com/sanse-campus/sanse/rules"
)

// appOptions returns what the configuration says of the engine's components;
// the caller adds the logger, the metrics registry and the live stream.
func (c *Config) appOptions() app.Options {
	return app.Options{
		RegistryFile:   c.Registry.File,
		Contract:       c.contract(),
		VisitorKeyFile: c.Privacy.VisitorKeyFile,
		Rules:          rules.ManagerOptions{Dir: c.Rules.Dir, PollInterval: c.Rules.PollInterval},
		Kafka: ingest.Options{
			Brokers: c.Kafka.Brokers, GroupID: c.Kafka.GroupID,
			Topics: c.topics(), DeadLetterTopic: c.Kafka.Topics.DeadLetter, BatchSize: c.Kafka.BatchSize, BatchInterval: c.Kafka.BatchInterval,
			SessionTimeout: c.Kafka.SessionTimeout, HeartbeatInterval: c.Kafka.HeartbeatInterval, RebalanceTimeout: c.Kafka.RebalanceTimeout,
			Security: c.Kafka.sec,
		},
		StateTopic: c.Kafka.StateTopic,
		EmbeddedKafka: ingest.BrokerOptions{
			ListenAddr: c.Kafka.Embedded.ListenAddress, DataDir: c.Kafka.Embedded.DataDir,
			Partitions: int32(c.Kafka.Embedded.Partitions),
			Retention:  c.Kafka.Embedded.Retention, RetentionBytes: c.Kafka.Embedded.RetentionBytes,
		},
		EventLimits:         c.Kafka.Limits,
		ClickHouseDSN:       c.ClickHouse.DSN,
		ClickHouse:          c.ClickHouse.conn,
		Alerting:            c.Alerting,
		HazardCheckInterval: c.Hazards.CheckInterval,
		Retention:           app.Retention{Ages: c.Retention.Tables, Interval: c.Retention.Interval},
	}
}

// apiOptions wires the API to the App's components: the map, the history,
// people's acts on risks (resolve, check), rules, alerts, hazards, the
// dashboard, the live stream and the readiness checks.
func (c *Config) apiOptions(a *app.App, hub *api.Hub, boundaries []byte, logger *slog.Logger, reg *prometheus.Registry) api.Options {
	var ready []api.ReadyCheck
	for _, rc := range a.Checks() {
		ready = append(ready, api.ReadyCheck{Name: rc.Name, Check: rc.Check})
	}
	return api.Options{
		ListenAddress: c.Web.ListenAddress, Logger: logger, Registerer: reg, Gatherer: reg,
		TLSCertFile: c.Web.TLSCertFile, TLSKeyFile: c.Web.TLSKeyFile,
		Schools: a.Schools(), Timeline: a.Store().Timeline, LevelsAt: a.Store().LevelsAt, Boundaries: boundaries,
		ColourCounts: colourCounts(a.Store()), Compliance: compliance(a), RulesStatus: a.Rules().Status, ValidateRules: a.Rules().Validate, Reload: a.Rules().Reload,
		Resolve: a.Resolve, Dispose: a.Dispose, CheckCounts: checkCounts(a), Alerts: a.Alerts(), Hazards: a.Hazards(), Stream: hub, School: a.School, Ready: ready,
		Limits: c.Web.Limits, Contract: a.Contract(), MapRefresh: c.Map.Refresh,
	}
}

// checkCounts serves the API's check counts from the App's history. The
// conversion api.CheckCount(c) compiles only while the two types have the
// same fields, so they cannot drift apart.
func checkCounts(a *app.App) api.CheckCountsFunc {
	return func(ctx context.Context, since, until time.Time) ([]api.CheckCount, error) {
		list, err := a.CheckCounts(ctx, since, until)
		if err != nil {
			return nil, err
		}
		out := make([]api.CheckCount, len(list))
		for i, c := range list {
			out[i] = api.CheckCount(c)
		}
		return out, nil
	}
}

// newRegistry returns the process's metrics registry with the Go runtime's
// and the process's collectors; each component registers its own metrics.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// localURL returns the address of the map on this machine, as
// http://localhost:8080 (https with a certificate).
func (w WebConfig) localURL() string {
	scheme := "http"
	if w.TLSCertFile != "" {
		scheme = "https"
	}
	if _, port, err := net.SplitHostPort(w.ListenAddress); err == nil {
		return scheme + "://localhost:" + port
	}
	return scheme + "://" + w.ListenAddress
}
