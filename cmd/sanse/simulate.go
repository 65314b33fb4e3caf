package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/registry"
	"github.com/sanse-campus/sanse/engine/sim"
	"github.com/sanse-campus/sanse/engine/sim/calibrate"
	"github.com/sanse-campus/sanse/rules"
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
	report := fs.Bool("report", false, "instead of producing to Kafka, run the district through the default rule pack in-process\n"+
		"with a simulated clock and print per day the shares of red, yellow and green schools, per rule how often it fired,\n"+
		"and the rules that never fired (the calibration of engine/sim/calibrate)")
	reportStart := fs.String("report.start", "2026-06-08", "with -report: the first measured day, YYYY-MM-DD (after a two-day warm-up)")
	reportDays := fs.Int("report.days", 7, "with -report: how many days are measured")
	reportRate := fs.Float64("report.rate", 4, "with -report: events per second of simulated time (4 is about what a real\n"+
		"district of 400 schools sends; higher is slower to run)")
	unattended := fs.Bool("report.unattended", false, "with -report: leave out the people who resolve risks, verify hazards and\n"+
		"check pending detections, to see what the rules alone leave on the map")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *report {
		return simulateReport(*registryFile, *reportStart, *reportDays, *reportRate, *incidents, *seed, *unattended, stdout)
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
	pack, errs := rules.Default()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	s := sim.New(sim.Options{Registry: registry, Seed: *seed, Rate: *rate, IncidentRate: *incidents, Bad: *bad,
		SchoolDay: calendarSchoolDay(func() *rules.Set { return pack })}, logger)
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

// calendarSchoolDay returns the school days of the rule set in force, so that
// the simulated schools keep the days the rules judge them by; a set without a
// calendar counts every weekday, as the rules then do.
func calendarSchoolDay(current func() *rules.Set) func(time.Time) bool {
	return func(t time.Time) bool {
		if c := current().Calendar(); c != nil {
			return c.SchoolDay(t)
		}
		wd := t.In(engine.Shanghai).Weekday()
		return wd != time.Saturday && wd != time.Sunday
	}
}

// simulateReport runs the calibration harness and prints its report.
func simulateReport(registryFile, start string, days int, rate, incidents float64, seed int64, unattended bool, stdout io.Writer) error {
	reg, err := registry.Load(registryFile)
	if err != nil {
		return err
	}
	day, err := time.ParseInLocation(time.DateOnly, start, engine.Shanghai)
	if err != nil {
		return fmt.Errorf("-report.start: %w", err)
	}
	if days <= 0 || rate <= 0 {
		return errors.New("-report.days and -report.rate must be positive")
	}
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	pack, errs := rules.Default()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	rep, err := calibrate.Run(calibrate.Options{Registry: reg, Rules: pack, Seed: seed, Rate: rate, IncidentRate: incidents,
		Start: day, Days: days, WarmUp: 48 * time.Hour, Unattended: unattended})
	if err != nil {
		return err
	}
	return rep.Write(stdout)
}
