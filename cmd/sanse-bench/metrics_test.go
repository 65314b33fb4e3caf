package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const exposition = `# HELP sanse_ingest_messages_total Messages read.
# TYPE sanse_ingest_messages_total counter
sanse_ingest_messages_total{result="ok",topic="campus.canteen"} 600000
sanse_ingest_messages_total{result="ok",topic="campus.visitor"} 1.5e+06
sanse_ingest_messages_total{result="dead_letter",topic="campus.visitor"} 12
sanse_ingest_messages_total_extra 5
sanse_store_insert_rows_total{table="events"} 2.1e+06
sanse_store_insert_rows_total{table="level_changes"} 400
sanse_ingest_last_flush_timestamp_seconds 1.7649e+09
weird{a="x\"y,z",table="events"} 3
`

func TestMetricSum(t *testing.T) {
	tests := []struct {
		name   string
		metric string
		match  map[string]string
		want   float64
		found  bool
	}{
		{"every series, not a longer name", "sanse_ingest_messages_total", nil, 2100012, true},
		{"one label", "sanse_ingest_messages_total", map[string]string{"result": "ok"}, 2100000, true},
		{"table", "sanse_store_insert_rows_total", map[string]string{"table": "events"}, 2.1e6, true},
		{"no labels", "sanse_ingest_last_flush_timestamp_seconds", nil, 1.7649e9, true},
		{"escaped quote and comma in a value", "weird", map[string]string{"table": "events", "a": `x"y,z`}, 3, true},
		{"missing", "go_memstats_heap_inuse_bytes", nil, 0, false},
		{"no match", "sanse_store_insert_rows_total", map[string]string{"table": "alerts"}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found := metricSum([]byte(exposition), tt.metric, tt.match)
			require.Equal(t, tt.found, found)
			require.InDelta(t, tt.want, got, 1e-6)
		})
	}
}
