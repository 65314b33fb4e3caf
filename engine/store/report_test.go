package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

func TestWatchedFrom(t *testing.T) {
	s := openTest(t, nil)
	const day = 24 * 3600 * 1000
	event := func(id, school string, ms int) engine.Event {
		return engine.Event{
			ID: id, SchoolID: school, Source: engine.SourceDrowning, Type: "patrol", OccurredAt: at(ms),
			Payload: []byte(id), Origin: engine.Origin{Topic: "campus.drowning"},
		}
	}
	// s1's only event is a month and more later, in another partition.
	require.NoError(t, s.Write(t.Context(), &engine.Batch{Events: []engine.Event{
		event("e1", "s1", 40*day), event("e2", "s2", -2000), event("e3", "s2", 1000),
	}}))

	tests := []struct {
		name     string
		schools  []string
		from, to time.Time
		want     time.Time
	}{
		{name: "an event before the period", schools: []string{"s1", "s2"}, from: at(0), to: at(50 * day), want: at(0)},
		{name: "another school's earlier event does not count", schools: []string{"s1"}, from: at(0), to: at(50 * day), want: at(40 * day)},
		{name: "the first event in the period", schools: []string{"s2"}, from: at(-10_000), to: at(0), want: at(-2000)},
		{name: "an event at from is in the period", schools: []string{"s2"}, from: at(-2000), to: at(0), want: at(-2000)},
		{name: "a millisecond before from, within its second", schools: []string{"s2"}, from: at(-1999), to: at(0), want: at(-1999)},
		{name: "to is exclusive", schools: []string{"s1"}, from: at(0), to: at(40 * day), want: time.Time{}},
		{name: "a school without events", schools: []string{"s3"}, from: at(-10_000), to: at(50 * day), want: time.Time{}},
		{name: "no schools", schools: nil, from: at(-10_000), to: at(50 * day), want: time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.WatchedFrom(t.Context(), tt.schools, tt.from, tt.to)
			require.NoError(t, err)
			require.True(t, tt.want.Equal(got), "got %s, want %s", got, tt.want)
		})
	}
}
