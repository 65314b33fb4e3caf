package store

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	insertRows     *prometheus.CounterVec
	insertDuration *prometheus.HistogramVec
	insertErrors   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		insertRows: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse",
			Subsystem: "store",
			Name:      "insert_rows_total",
			Help:      "Rows inserted into ClickHouse and acknowledged by the server, by table.",
		}, []string{"table"}),
		insertDuration: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "sanse",
			Subsystem: "store",
			Name:      "insert_duration_seconds",
			Help:      "Time to insert one batch into one ClickHouse table, failed inserts included.",
			Buckets:   prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"table"}),
		insertErrors: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse",
			Subsystem: "store",
			Name:      "insert_errors_total",
			Help:      "Batch inserts into ClickHouse that failed, by table.",
		}, []string{"table"}),
	}
	for _, t := range []string{tableEvents, tableRiskTransitions, tableLevelChanges} {
		m.insertRows.WithLabelValues(t)
		m.insertDuration.WithLabelValues(t)
		m.insertErrors.WithLabelValues(t)
	}
	return m
}
