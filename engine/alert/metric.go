package alert

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics are the alerts' own; the outbox's (sanse_notify_*) are engine/notify's.
type metrics struct {
	opened  *prometheus.CounterVec
	active  *prometheus.GaugeVec
	actions *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		opened: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "alert", Name: "opened_total",
			Help: "Alerts opened, by level.",
		}, []string{"level"}),
		active: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "sanse", Subsystem: "alert", Name: "active_alerts",
			Help: "Alerts not yet resolved, by status.",
		}, []string{"status"}),
		actions: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "alert", Name: "actions_total",
			Help: "Steps of alerts' histories, by action (notified, repeated, escalated, acknowledged, resolved, inhibited…).",
		}, []string{"action"}),
	}
}
