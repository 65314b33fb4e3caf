package ingest

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/sanse-campus/sanse/engine/event"
)

// Results of reading one message, the values of the result label of
// sanse_ingest_messages_total.
const (
	resultOK         = "ok"
	resultDeadLetter = "deadletter"
	resultDuplicate  = "duplicate"
	resultRuleError  = "rule_error"
)

// Targets of a write that can fail and be retried, the values of the target
// label of sanse_ingest_write_errors_total.
const (
	targetStore      = "store"
	targetDeadLetter = "deadletter"
)

type metrics struct {
	messages      *prometheus.CounterVec
	deadLetters   *prometheus.CounterVec
	writeErrors   *prometheus.CounterVec
	batchRecords  prometheus.Histogram
	flushDuration prometheus.Histogram
	commitErrors  prometheus.Counter
	lastFlush     prometheus.Gauge
	misrouted     *prometheus.CounterVec
	expired       *prometheus.CounterVec
	assigned      prometheus.Gauge
	topicMissing  *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer, topics []string) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		messages: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "ingest", Name: "messages_total",
			Help: "Messages read from the event topics, by topic and by what became of them (ok, deadletter, duplicate, rule_error).",
		}, []string{"topic", "result"}),
		deadLetters: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "ingest", Name: "deadletter_total",
			Help: "Messages rejected to the dead-letter topic, by rejection reason.",
		}, []string{"reason"}),
		writeErrors: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "ingest", Name: "write_errors_total",
			Help: "Failed attempts to write a batch to the store or rejected messages to the dead-letter topic; each is retried.",
		}, []string{"target"}),
		batchRecords: f.NewHistogram(prometheus.HistogramOpts{
			Namespace: "sanse", Subsystem: "ingest", Name: "batch_records",
			Help:    "Records (events, risk transitions, colour changes) per batch written to the store.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9), // 1 … 65536
		}),
		flushDuration: f.NewHistogram(prometheus.HistogramOpts{
			Namespace: "sanse", Subsystem: "ingest", Name: "flush_duration_seconds",
			Help:    "Time to flush a batch: dead-letter writes, the store write with its retries, and the offset commit.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9), // 1ms … 65s
		}),
		commitErrors: f.NewCounter(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "ingest", Name: "commit_errors_total",
			Help: "Offset commits refused or failed; the offsets are committed with the next batch or the messages are read again.",
		}),
		lastFlush: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "sanse", Subsystem: "ingest", Name: "last_flush_timestamp_seconds",
			Help: "Unix time of the last successful flush.",
		}),
		topicMissing: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "sanse", Subsystem: "ingest", Name: "topic_missing",
			Help: "1 for an event topic that does not exist on the brokers (its source is not read until it does), 0 otherwise.",
		}, []string{"topic"}),
		misrouted: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "ingest", Name: "misrouted_messages_total",
			Help: "Messages read from another partition than Kafka's default partitioner gives their school id; with several instances such a school's state is split between them.",
		}, []string{"topic"}),
		expired: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "ingest", Name: "expired_messages_total",
			Help: "Messages the topic's retention removed before they were read: neither applied nor stored.",
		}, []string{"topic"}),
		assigned: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "sanse", Subsystem: "ingest", Name: "assigned_partitions",
			Help: "Partitions of the event topics assigned to this instance in the current consumer group generation.",
		}),
	}
	for _, t := range topics {
		for _, r := range []string{resultOK, resultDeadLetter, resultDuplicate, resultRuleError} {
			m.messages.WithLabelValues(t, r)
		}
		m.expired.WithLabelValues(t)
	}
	for _, r := range event.Reasons {
		m.deadLetters.WithLabelValues(string(r))
	}
	for _, t := range []string{targetStore, targetDeadLetter} {
		m.writeErrors.WithLabelValues(t)
	}
	return m
}

// notePresent sets the topic_missing gauge of every event topic.
func (m *metrics) notePresent(topics, missing []string) {
	for _, t := range topics {
		v := 0.0
		if slices.Contains(missing, t) {
			v = 1
		}
		m.topicMissing.WithLabelValues(t).Set(v)
	}
}
