package main

import (
	"context"
	"log/slog"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sanse-campus/sanse/engine/app"
	"github.com/sanse-campus/sanse/engine/notify"
	"github.com/sanse-campus/sanse/engine/report"
)

// reportsURL returns the address the links in report messages point to:
// alerting.external_url, as for alert messages, else web.external_url.
func (c *Config) reportsURL() string {
	if c.Alerting.ExternalURL != "" {
		return c.Alerting.ExternalURL
	}
	return c.Web.ExternalURL
}

// reportReceivers returns the receivers that some schedule names.
func (c *Config) reportReceivers() []notify.ReceiverConfig {
	var out []notify.ReceiverConfig
	for _, rc := range c.Alerting.Receivers {
		if slices.ContainsFunc(c.Reports.Schedules, func(s report.ScheduleConfig) bool { return slices.Contains(s.Receivers, rc.Name) }) {
			out = append(out, rc)
		}
	}
	return out
}

// newReports wires the reports of `sanse serve`: the service behind
// /api/v1/reports, and the parts to run beside the engine — the scheduler
// and the delivery of its reports. Without a report generator the archive
// is still listed and served, and the schedules are not run (logged).
func newReports(ctx context.Context, cfg *Config, a *app.App, logger *slog.Logger, reg prometheus.Registerer) (*report.Service, []func(context.Context) error, error) {
	loc, err := cfg.Reports.Location()
	if err != nil {
		return nil, nil, err
	}
	schedules, err := cfg.Reports.Compile(cfg.Alerting.Receivers)
	if err != nil {
		return nil, nil, err
	}
	rlog := logger.With("component", "report")
	storage := report.NewStorage(a.Store())
	metrics := report.NewMetrics(reg)
	ext := cfg.reportsURL()
	pdf, err := cfg.Reports.PDFRenderer()
	if err != nil {
		return nil, nil, err
	}
	if pdf == nil {
		rlog.Info("reports are made without PDF: no PDF renderer (reports.pdf; install chromium for PDF)")
	}
	var gen report.Generator
	builder, genErr := newReportGenerator(a.Store(), a.Registry, a.Rules().Current, loc, ext, pdf, logger)
	if genErr == nil {
		gen = builder
	}
	svc, err := report.NewService(report.ServiceOptions{
		Archive: storage, Reader: storage, Generator: gen, Unavailable: genErr, Registry: a.Registry,
		Logger: logger, Metrics: metrics,
	})
	if err != nil {
		return nil, nil, err
	}
	switch {
	case genErr != nil && len(schedules) > 0:
		rlog.Error("reports cannot be made: the scheduled reports are not made; the archive is served", "err", genErr,
			"schedules", len(schedules))
		return svc, nil, nil
	case genErr != nil:
		rlog.Warn("reports cannot be made here; the archive is served", "err", genErr)
		return svc, nil, nil
	case len(schedules) == 0:
		return svc, nil, nil
	}
	retry := cfg.Alerting.Retry.WithDefaults()
	delivery, err := report.NewDelivery(report.DeliveryOptions{
		Receivers: cfg.reportReceivers(), Store: storage.Outbox(), Contents: storage, Retry: retry,
		ExternalURL: ext, Registry: a.Registry, Logger: logger, Metrics: metrics,
	})
	if err != nil {
		return nil, nil, err
	}
	scheduler, err := report.NewScheduler(report.SchedulerOptions{
		Schedules: schedules, Location: loc, CatchUpRuns: cfg.Reports.CatchUpRuns, ClaimLease: cfg.Reports.ClaimLease,
		CheckInterval: cfg.Reports.CheckInterval, RedeliverWithin: retry.MaxAge,
		Generator: gen, Archive: storage, Claims: storage, Deliverer: delivery, Registry: a.Registry,
		Logger: logger, Metrics: metrics,
	})
	if err != nil {
		return nil, nil, err
	}
	return svc, []func(context.Context) error{
		// Report messages: resumed after a restart, retried until taken.
		delivery.Run,
		// The schedules: the runs due and those missed while no instance ran.
		scheduler.Run,
	}, nil
}
