package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sanse-campus/sanse/engine/registry"
	"github.com/sanse-campus/sanse/engine/sim"
)

func cmdSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("simulate", "simulate [flags]", stderr)
	brokers := fs.String("kafka.brokers", envOr("SANSE_KAFKA_BROKERS", "127.0.0.1:9092"), "comma-separated Kafka brokers to produce to")
	registryFile := fs.String("registry.file", envOr("SANSE_REGISTRY_FILE", "testdata/registry/demo.csv"), "school registry, CSV or YAML")
	rate := fs.Float64("rate", 40, "mean events per second for the whole district")
	incidents := fs.Float64("incidents", 1, "multiplier for the rate of incidents")
	bad := fs.Float64("bad", 0, "share of malformed messages (to exercise the dead-letter topic)")
	seed := fs.Int64("seed", 0, "random seed; 0 picks one from the clock")
	duration := fs.Duration("duration", 0, "stop after this long; 0 runs until interrupted")
	logLevel := fs.String("log.level", "info", "debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	logger := newLogger(*logLevel, "text", stderr)
	registry, err := registry.Load(*registryFile)
	if err != nil {
		return err
	}
	if *seed == 0 {
		*seed = time.Now().UnixNano()
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	fmt.Fprintf(stdout, "simulating %d schools at %.0f events/s to %s (seed %d)\n", registry.Len(), *rate, *brokers, *seed)
	s := sim.New(sim.Options{Registry: registry, Seed: *seed, Rate: *rate, IncidentRate: *incidents, Bad: *bad}, logger)
	err = s.RunKafka(ctx, splitList(*brokers))
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
