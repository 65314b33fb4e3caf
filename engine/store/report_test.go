package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

// TestReportQueriesOfManySchools: the report's queries answer for the
// schools of a province (30,000 ids, some 600 KB, more than one query's
// text holds) what they answer for the few of them with a history: in
// several queries, put together as one.
func TestReportQueriesOfManySchools(t *testing.T) {
	s := openTest(t, nil)
	ctx := t.Context()
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, engine.Shanghai)
	at := func(hour int) time.Time { return day.Add(time.Duration(hour) * time.Hour) }
	// The schools with a history are far apart in the sorted ids, so that
	// they fall in different queries: 000010, 015000 and 029990.
	a, b, c := "ZJ-XX-000010", "ZJ-XX-015000", "ZJ-XX-029990"
	ch := func(id, school string, h int, from, to engine.Level) engine.LevelChange {
		return engine.LevelChange{ID: id, SchoolID: school, At: at(h), From: from, To: to,
			Cause: engine.Cause{How: engine.RiskOpened, Rule: "r-" + id}, EventID: "ev-" + id, ActiveRisks: 1}
	}
	tr := func(id, school string, h int, state engine.RiskState, rule, device string, pending bool) engine.RiskTransition {
		return engine.RiskTransition{ID: id, SchoolID: school, At: at(h), State: state, EventID: "ev-" + id,
			Risk: engine.Risk{Rule: rule, Key: school, Source: engine.SourceVisitor, Severity: engine.SeverityHigh, Title: "t-" + rule,
				FirstSeen: at(h), LastSeen: at(h), Count: 1, Pending: pending, Device: device}}
	}
	ev := func(id, school string, h int) engine.Event {
		return engine.Event{ID: id, SchoolID: school, Source: engine.SourceVisitor, Type: "entry", OccurredAt: at(h),
			Payload: []byte(`{"id":"` + id + `"}`)}
	}
	require.NoError(t, s.Write(ctx, &engine.Batch{
		Events: []engine.Event{ev("e1", a, 9), ev("e2", b, 5), ev("e3", c, 7)},
		Output: engine.Output{
			Changes: []engine.LevelChange{
				ch("c1", a, 9, engine.LevelGreen, engine.LevelRed),
				ch("c2", b, 5, engine.LevelGreen, engine.LevelYellow),
				ch("c3", c, 9, engine.LevelGreen, engine.LevelRed), // the same moment as c1
				ch("c4", a, 11, engine.LevelRed, engine.LevelGreen),
			},
			Transitions: []engine.RiskTransition{
				tr("t1", a, 9, engine.RiskOpened, "visitor.blacklist", "gate-1", false),
				tr("t2", b, 5, engine.RiskOpened, "visitor.blacklist", "gate-2", true),
				tr("t3", c, 9, engine.RiskOpened, "visitor.blacklist", "gate-3", false),
				tr("t4", c, 10, engine.RiskConfirmed, "visitor.blacklist", "gate-3", false),
				tr("t5", a, 11, engine.RiskCleared, "visitor.blacklist", "gate-1", false),
			},
		},
	}))
	few := []string{c, a, b}
	many := make([]string, 0, 30_000)
	for i := range 30_000 {
		many = append(many, fmt.Sprintf("ZJ-XX-%06d", i))
	}
	require.Greater(t, len(schoolChunks(many)), 2, "the ids need several queries")
	from, to := day, day.AddDate(0, 0, 1)

	for _, tc := range []struct {
		name string
		read func(schools []string) (any, error)
	}{
		{"LevelChangesOf", func(ids []string) (any, error) { return s.LevelChangesOf(ctx, ids, from, to) }},
		{"LevelsAtOf", func(ids []string) (any, error) {
			got, err := s.LevelsAtOf(ctx, ids, to)
			byID := map[string]engine.LevelChange{} // one per school, in no order
			for _, c := range got {
				byID[c.SchoolID] = c
			}
			return byID, err
		}},
		{"RiskCounts", func(ids []string) (any, error) { return s.RiskCounts(ctx, ids, from, to) }},
		{"RiskSteps", func(ids []string) (any, error) {
			return s.RiskSteps(ctx, ids, []string{"visitor.blacklist"}, from, to)
		}},
		{"CheckCountsOf", func(ids []string) (any, error) { return s.CheckCountsOf(ctx, ids, from, to) }},
		{"WatchedFrom", func(ids []string) (any, error) { return s.WatchedFrom(ctx, ids, from, to) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := tc.read(few)
			require.NoError(t, err)
			require.NotEmpty(t, want)
			got, err := tc.read(many)
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}

	// What the queries put together, checked by hand.
	changes, err := s.LevelChangesOf(ctx, many, from, to)
	require.NoError(t, err)
	var ids []string
	for _, c := range changes {
		ids = append(ids, c.ID)
	}
	require.Equal(t, []string{"c2", "c1", "c3", "c4"}, ids, "in time order, ties by id")
	counts, err := s.RiskCounts(ctx, many, from, to)
	require.NoError(t, err)
	require.Equal(t, []RiskCount{
		{Source: engine.SourceVisitor, Rule: "visitor.blacklist", Level: engine.SeverityHigh, Opened: 2, Schools: 2, Title: "t-visitor.blacklist"},
		{Source: engine.SourceVisitor, Rule: "visitor.blacklist", Level: engine.SeverityHigh, Pending: true, Opened: 1, Schools: 1, Title: "t-visitor.blacklist"},
	}, counts, "the counts of the queries added up")
	first, err := s.WatchedFrom(ctx, many, from, to)
	require.NoError(t, err)
	require.True(t, at(5).Equal(first), "the earliest of the queries: %s", first)
}

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
