package alert

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	opened     *prometheus.CounterVec
	active     *prometheus.GaugeVec
	actions    *prometheus.CounterVec
	queued     *prometheus.GaugeVec
	deliveries *prometheus.CounterVec
	duration   *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		opened: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sanse_alert_opened_total", Help: "Alerts opened, by level.",
		}, []string{"level"}),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sanse_alert_active_alerts", Help: "Alerts not yet resolved, by status.",
		}, []string{"status"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sanse_alert_actions_total", Help: "Steps of alerts' histories, by action (notified, repeated, escalated, acknowledged, resolved, inhibited…).",
		}, []string{"action"}),
		queued: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sanse_notify_queued_messages", Help: "Messages stored and waiting for delivery, by receiver.",
		}, []string{"receiver"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sanse_notify_deliveries_total", Help: "Delivery attempts by receiver, channel and result (ok, failed, refused, expired).",
		}, []string{"receiver", "channel", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sanse_notify_delivery_duration_seconds", Help: "Time to deliver a message to all of a receiver's channels.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
		}, []string{"receiver"}),
	}
	if reg != nil {
		reg.MustRegister(m.opened, m.active, m.actions, m.queued, m.deliveries, m.duration)
	}
	return m
}
