package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sanse-campus/sanse/api"
	"github.com/sanse-campus/sanse/api/web"
	"github.com/sanse-campus/sanse/engine/app"
	"github.com/sanse-campus/sanse/engine/sim"
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
	if demo && *cf.file == "" && fs.Lookup("registry.file").Value.String() == "" {
		// The demo runs from a checkout with the demo district's registry.
		_ = fs.Set("registry.file", "testdata/registry/demo.csv")
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	logger := newLogger(cfg.Log.Level, cfg.Log.Format, stderr)
	if cfg.Map.BoundariesFile == "" {
		// The embedded outlines the map chooses from, parsed meanwhile:
		// loading the registry and ClickHouse's migrations come first.
		go web.Cities()
	}
	reg := newRegistry()
	// Registered at once: an unhandled SIGHUP would end the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	opts := cfg.appOptions()
	opts.Logger, opts.Registerer = logger, reg
	if demo && *forScale > 0 && *forScale < 1 {
		opts.Rules.Transform = func(s *rules.Set) *rules.Set { return s.Scaled(*forScale) }
		logger.Info("demo: rule durations scaled", "factor", *forScale)
	}
	hub := api.NewHub(api.DefaultStreamBuffer, reg)
	opts.Stream = hub
	a, err := app.New(ctx, opts)
	if err != nil {
		return err
	}
	defer a.Close()
	boundaries, checkPlaces, err := loadBoundaries(cfg.Map.BoundariesFile, a.Registry(), logger)
	if err != nil {
		return err
	}
	// A warning only: it does not hold up consuming.
	go checkPlaces()
	var signIn string
	if demo && !cfg.Web.InsecureNoAuth {
		secret, revoke, err := demoToken(ctx, a.Store(), logger)
		if err != nil {
			return err
		}
		defer revoke()
		signIn = secret
	}
	reports, reportRuns, err := newReports(ctx, &cfg, a, logger, reg)
	if err != nil {
		return err
	}
	apiOpts := cfg.apiOptions(a, hub, boundaries, logger, reg)
	apiOpts.Reports = reports
	if apiOpts.ReportZone, err = cfg.Reports.Location(); err != nil {
		return err
	}
	if apiOpts.Auth, err = cfg.authOptions(ctx, a, logger); err != nil {
		return err
	}
	server, err := api.New(apiOpts)
	if err != nil {
		return err
	}

	// Started once the state is restored, beside the engine's own parts.
	also := []func(context.Context) error{
		// The map and the API.
		server.Run,
		// SIGHUP reloads the rules, the school registry, the map's outlines
		// (chosen again for the registry's districts, or map.boundaries_file
		// read again) and the HTTPS certificate; a refused reload is logged
		// and the current ones stay.
		func(ctx context.Context) error {
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-hup:
					logger.Info("SIGHUP received, reloading rules, the school registry, the map outlines and the TLS certificate")
					a.Reload()
					if data, checkPlaces, err := loadBoundaries(cfg.Map.BoundariesFile, a.Registry(), logger); err != nil {
						logger.Error("map outlines reload refused; the current ones stay", "err", err)
					} else if err := server.ReloadBoundaries(data); err != nil {
						logger.Error("map outlines reload refused; the current ones stay", "err", err)
					} else {
						checkPlaces()
					}
					_ = server.ReloadCertificate() // logged by the server
				}
			}
		},
	}
	// The scheduled reports and their delivery (none without schedules).
	also = append(also, reportRuns...)
	if demo {
		// The simulator: a realistic district's stream into the same broker.
		also = append(also, func(ctx context.Context) error {
			s := sim.New(sim.Options{Registry: a.Registry(), Seed: time.Now().UnixNano(), Rate: *simRate, Bad: *simBad,
				Topics: opts.Kafka.Topics, SchoolDay: calendarSchoolDay(a.Rules().Current)}, logger)
			if err := s.RunKafka(ctx, a.Brokers()); !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		})
		fmt.Fprintf(stdout, "Sanse demo: the warning map is at %s  (Ctrl-C stops)\n", cfg.Web.localURL())
		if signIn != "" {
			fmt.Fprintf(stdout, "Sign in with the admin token %s  (valid until the demo stops)\n", signIn)
		}
	}
	logger.Info("serving", "web", cfg.Web.ListenAddress)
	if err := a.Run(ctx, also...); err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}
