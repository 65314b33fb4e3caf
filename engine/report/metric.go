package report

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// OnDemand is the schedule label of reports asked for through the API.
const OnDemand = "on_demand"

// Failure reasons, the fixed classification of sanse_reports_failures_total.
const (
	failUnknownScope = "unknown_scope" // the registry has no such district or school
	failGenerate     = "generate"      // the generator failed
	failArchive      = "archive"       // the report could not be archived
	failDeliver      = "deliver"       // its messages could not be handed to the outbox
	failClaim        = "claim"         // the claims could not be read or written
	failLookup       = "lookup"        // the archive could not be read
)

// Metrics are the reports' own (sanse_reports_*), shared by the
// Scheduler, the Service and the Delivery of one process.
type Metrics struct {
	runs       *prometheus.CounterVec
	failures   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	deliveries *prometheus.CounterVec
	missing    *prometheus.GaugeVec
}

// NewMetrics registers the metrics with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		runs: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "reports", Name: "runs_total",
			Help: "Reports asked for, by schedule (on_demand for the API) and result: made, failed, or skipped (made or being made by another instance).",
		}, []string{"schedule", "result"}),
		failures: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "reports", Name: "failures_total",
			Help: "Report failures by schedule and reason: unknown_scope, generate, archive, deliver, claim, lookup.",
		}, []string{"schedule", "reason"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "sanse", Subsystem: "reports", Name: "generation_duration_seconds",
			Help:    "Time to make one report (query, render), by schedule.",
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 12),
		}, []string{"schedule"}),
		deliveries: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "reports", Name: "deliveries_total",
			Help: "Delivery attempts of report messages, by receiver, channel and result (ok, failed, refused).",
		}, []string{"receiver", "channel", "result"}),
		missing: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "sanse", Subsystem: "reports", Name: "missing_runs",
			Help: "Runs of a schedule due within its catch-up window and not in the archive after the last check.",
		}, []string{"schedule"}),
	}
}
