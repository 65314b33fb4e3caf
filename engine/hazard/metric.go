package hazard

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	transitions   *prometheus.CounterVec
	active        *prometheus.GaugeVec
	overdue       prometheus.Gauge
	storeErrors   prometheus.Counter
	pendingWrites prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		transitions: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse",
			Subsystem: "hazard",
			Name:      "transitions_total",
			Help:      "Hazard transitions recorded, by action (create, start, submit, verify, reject, comment, supervise).",
		}, []string{"action"}),
		active: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "sanse",
			Subsystem: "hazard",
			Name:      "active",
			Help:      "Hazards not yet verified, by status.",
		}, []string{"status"}),
		overdue: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "sanse",
			Subsystem: "hazard",
			Name:      "overdue",
			Help:      "Hazards under supervision (挂牌督办) for missing their deadline and not yet verified.",
		}),
		storeErrors: f.NewCounter(prometheus.CounterOpts{
			Namespace: "sanse",
			Subsystem: "hazard",
			Name:      "store_errors_total",
			Help:      "Hazard writes that the store refused; the system's own writes are retried.",
		}),
		pendingWrites: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "sanse",
			Subsystem: "hazard",
			Name:      "pending_writes",
			Help:      "Hazard transitions made by the system that wait to be stored again.",
		}),
	}
	for _, a := range Actions {
		m.transitions.WithLabelValues(string(a))
	}
	for _, s := range Statuses {
		if s != StatusVerified {
			m.active.WithLabelValues(string(s))
		}
	}
	return m
}
