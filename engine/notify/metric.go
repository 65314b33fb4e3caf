package notify

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics are the outbox's: its backlog and every delivery attempt.
type metrics struct {
	queued     *prometheus.GaugeVec
	deliveries *prometheus.CounterVec
	duration   *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		queued: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "sanse", Subsystem: "notify", Name: "queued_messages",
			Help: "Messages stored and waiting for delivery, by receiver.",
		}, []string{"receiver"}),
		deliveries: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "notify", Name: "deliveries_total",
			Help: "Delivery attempts by receiver, channel and result (ok, failed, refused, expired).",
		}, []string{"receiver", "channel", "result"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "sanse", Subsystem: "notify", Name: "delivery_duration_seconds",
			Help:    "Time to deliver a message to all of a receiver's channels.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
		}, []string{"receiver"}),
	}
}
