package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReadLevelEvents reads a stream as the server writes it: only the
// "level" events to red of the probes count, each with its event id.
func TestReadLevelEvents(t *testing.T) {
	stream := "event: level\nid: 1\ndata: {\"school_id\":\"S1\",\"to\":\"red\",\"event_id\":\"probe-1-0\"}\n\n" +
		"event: alert\nid: 2\ndata: {\"event_id\":\"probe-1-1\",\"to\":\"red\"}\n\n" +
		"event: level\nid: 3\ndata: {\"school_id\":\"S2\",\"to\":\"yellow\",\"event_id\":\"probe-1-2\"}\n\n" +
		"event: level\nid: 4\ndata: {\"school_id\":\"S3\",\"to\":\"red\",\"event_id\":\"sim-7\"}\n\n" +
		"event: level\nid: 5\ndata: {\"school_id\":\"S4\",\"to\":\"red\",\"event_id\":\"probe-1-3\"}\n\n"
	var ids []string
	err := readLevelEvents(strings.NewReader(stream), "probe-1-", func(id string, _ time.Time) { ids = append(ids, id) })
	require.ErrorContains(t, err, "EOF")
	require.Equal(t, []string{"probe-1-0", "probe-1-3"}, ids)
}

func TestLatencySummary(t *testing.T) {
	var lat []time.Duration
	for i := 100; i >= 1; i-- {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	require.Equal(t, "produce → red on the stream: 100 of 102 probes seen; p50 51ms, p90 91ms, p99 100ms, max 100ms",
		latencySummary(lat, 102))
	require.Equal(t, "no change seen for any of 5 probes", latencySummary(nil, 5))
}
