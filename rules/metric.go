package rules

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Values of the result label of sanse_rules_reloads_total.
const (
	resultSuccess = "success"
	resultFailure = "failure"
)

// metrics are the Manager's instruments. They describe the rule set that is
// running and the outcome of reloads, so that an alert can fire when a
// reload was refused and the previous set is still in force, and count the
// rules that fail at run time.
type metrics struct {
	lastReloadSuccessful prometheus.Gauge
	lastReloadSuccess    prometheus.Gauge
	reloads              *prometheus.CounterVec
	loaded               prometheus.Gauge
	calendarCoveredDays  prometheus.Gauge
	// evaluationFailures and forgotten are handed to every set the Manager
	// runs.
	evaluationFailures *prometheus.CounterVec
	forgotten          *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		lastReloadSuccessful: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "sanse", Subsystem: "rules", Name: "last_reload_successful",
			Help: "Whether the last load of the rule files succeeded (1) or was refused and the previous rule set kept running (0).",
		}),
		lastReloadSuccess: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "sanse", Subsystem: "rules", Name: "last_reload_success_timestamp_seconds",
			Help: "Time of the last load of the rule files that succeeded, as seconds since the Unix epoch.",
		}),
		reloads: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "rules", Name: "reloads_total",
			Help: "Reloads of the rule files after start-up, by result (success or failure).",
		}, []string{"result"}),
		loaded: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "sanse", Subsystem: "rules", Name: "loaded",
			Help: "Number of rules in the running rule set.",
		}),
		calendarCoveredDays: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "sanse", Subsystem: "rules", Name: "calendar_covered_days",
			Help: "Days after today that the running rule set's school calendar covers (covers_until); negative once it has ended, +Inf when it names no day. Below 30 it needs the next year's holidays and terms; beyond it absence checks are not run.",
		}),
		evaluationFailures: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "rules", Name: "evaluation_failures_total",
			Help: "Evaluations of a rule (or level policy entry) that failed at run time, by rule id; the event is applied with the other rules.",
		}, []string{"rule"}),
		forgotten: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "rules", Name: "memory_forgotten_total",
			Help: "What a rule forgot at a school before the horizon to stay within its bounds, by rule and bound: keys (a key's window or last-seen time, beyond 1000 keys per rule and school) or samples (a window's oldest sample, beyond 1000 per window).",
		}, []string{"rule", "bound"}),
	}
	// Both series exist from the start, so that rate() and alerts see the
	// first failure as an increase from zero.
	m.reloads.WithLabelValues(resultSuccess)
	m.reloads.WithLabelValues(resultFailure)
	return m
}
