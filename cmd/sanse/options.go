package main

import (
	"github.com/sanse-campus/sanse/engine/app"
	"github.com/sanse-campus/sanse/engine/ingest"
	"github.com/sanse-campus/sanse/rules"
)

// appOptions returns what the configuration says of the engine's components;
// the caller adds the logger, the metrics registry and the live stream.
func (c *Config) appOptions() app.Options {
	t := &c.Kafka.Topics
	return app.Options{
		RegistryFile:   c.Registry.File,
		VisitorKeyFile: c.Privacy.VisitorKeyFile,
		Rules:          rules.ManagerOptions{Dir: c.Rules.Dir, PollInterval: c.Rules.PollInterval},
		Kafka: app.Kafka{
			Brokers: c.Kafka.Brokers, GroupID: c.Kafka.GroupID,
			Topics: t.bySource(), DeadLetterTopic: t.DeadLetter, BatchSize: c.Kafka.BatchSize, BatchInterval: c.Kafka.BatchInterval,
			Embedded: ingest.BrokerOptions{
				ListenAddr: c.Kafka.Embedded.ListenAddress, DataDir: c.Kafka.Embedded.DataDir,
				Partitions: int32(c.Kafka.Embedded.Partitions),
			},
		},
		ClickHouseDSN:       c.ClickHouse.DSN,
		Alerting:            c.Alerting,
		HazardCheckInterval: c.Hazards.CheckInterval,
	}
}
