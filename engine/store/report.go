package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/sanse-campus/sanse/engine"
)

// The queries of this file read the history of a report's schools: the
// scope's schools are passed as a set (school_id IN ?, see inSet), so a
// report never reads a school outside its scope. The set is sent in the
// query's text, which ClickHouse refuses beyond max_query_size (256 KiB by
// default): a longer list of schools (a city's 20,000) is read in several
// queries (schoolChunks), whose answers are put together as one query's.

// schoolChunks returns the schools, each once, in lists whose ids fit in
// one query (maxIDBytes). A school is in one list only, so what is counted
// per school adds up across them.
func schoolChunks(schools []string) [][]string {
	size := 0
	for _, id := range schools {
		size += len(id) + 4 // the quotes, comma and space around it
	}
	if size <= maxIDBytes {
		return [][]string{schools}
	}
	ids := slices.Compact(slices.Sorted(slices.Values(schools)))
	var out [][]string
	for start := 0; start < len(ids); {
		end, size := start, 0
		for end < len(ids) && (end == start || size+len(ids[end]) <= maxIDBytes) {
			size += len(ids[end]) + 4
			end++
		}
		out = append(out, ids[start:end])
		start = end
	}
	return out
}

// inSet returns ss as the right side of IN: ('a', 'b', …). The server
// looks each row up in a set built once, and the primary key, which begins
// with school_id, can select the granules; has() of an array, the form
// before, scanned the whole array for every row: for a district of 500
// schools that made each query of risk_transitions 3–4 times slower
// (BENCHMARKS.md, "Monthly report of a 500-school district").
func inSet(ss []string) clickhouse.GroupSet {
	v := make([]any, len(ss))
	for i, s := range ss {
		v[i] = s
	}
	return clickhouse.GroupSet{Value: v}
}

// LevelChangesOf returns the colour changes of the schools with
// from <= At < to, in time order (ties by id).
func (s *Store) LevelChangesOf(ctx context.Context, schools []string, from, to time.Time) ([]engine.LevelChange, error) {
	chunks := schoolChunks(schools)
	var out []engine.LevelChange
	for _, ids := range chunks {
		if len(ids) == 0 {
			continue
		}
		rows, err := s.conn.Query(ctx, `
SELECT `+levelChangeColumns+`
FROM level_changes FINAL
WHERE school_id IN ? AND at >= toDateTime(?) AND at <= toDateTime(?) AND at_ms >= ? AND at_ms < ?
ORDER BY at_ms, id`,
			inSet(ids), dateTime(from), dateTime(to), from.UnixMilli(), to.UnixMilli())
		if err != nil {
			return nil, fmt.Errorf("query colour changes: %w", err)
		}
		got, err := scanLevelChanges(rows)
		if err != nil {
			return nil, fmt.Errorf("read colour changes: %w", err)
		}
		out = append(out, got...)
	}
	if len(chunks) > 1 {
		slices.SortStableFunc(out, func(a, b engine.LevelChange) int {
			return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ID, b.ID))
		})
	}
	return out, nil
}

// LevelsAtOf returns, for each of the schools with a colour change stored
// before at, the last such change (what the map showed at that moment, as
// LevelsAt); a school without one was green.
func (s *Store) LevelsAtOf(ctx context.Context, schools []string, at time.Time) ([]engine.LevelChange, error) {
	var out []engine.LevelChange
	for _, ids := range schoolChunks(schools) {
		if len(ids) == 0 {
			continue
		}
		rows, err := s.conn.Query(ctx, `
SELECT
    argMax(id, (at_ms, id)), school_id, max(at_ms),
    argMax(from_level, (at_ms, id)), argMax(to_level, (at_ms, id)), argMax(rule, (at_ms, id)),
    argMax(event_id, (at_ms, id)), argMax(cause, (at_ms, id)), argMax(active_risks, (at_ms, id)),
    argMax(how, (at_ms, id)), argMax(risk_key, (at_ms, id)), argMax(title, (at_ms, id)),
    argMax(severity, (at_ms, id)), argMax(policy_rule, (at_ms, id)), argMax(policy_reason, (at_ms, id))
FROM level_changes FINAL
WHERE school_id IN ? AND at <= toDateTime(?) AND at_ms < ?
GROUP BY school_id`,
			inSet(ids), dateTime(at), at.UnixMilli())
		if err != nil {
			return nil, fmt.Errorf("query colours at %s: %w", at.Format(time.RFC3339), err)
		}
		got, err := scanLevelChanges(rows)
		if err != nil {
			return nil, fmt.Errorf("read colours at %s: %w", at.Format(time.RFC3339), err)
		}
		out = append(out, got...)
	}
	return out, nil
}

// RiskCount is how many risks of one rule and level opened in a period, at
// how many schools, and one of their titles.
type RiskCount struct {
	Source  engine.Source
	Rule    string
	Level   engine.Severity
	Pending bool // opened pending a human check (待核实)
	Opened  uint64
	Schools uint64
	Title   string
}

// RiskCounts returns the risks opened at the schools with from <= At < to,
// by source, rule, level and whether pending a check, most opened first.
func (s *Store) RiskCounts(ctx context.Context, schools []string, from, to time.Time) ([]RiskCount, error) {
	type key struct {
		src     engine.Source
		rule    string
		lvl     engine.Severity
		pending bool
	}
	chunks := schoolChunks(schools)
	var out []RiskCount
	at := map[key]int{} // the place in out of a key, over several chunks
	for _, ids := range chunks {
		if len(ids) == 0 {
			continue
		}
		rows, err := s.conn.Query(ctx, `
SELECT source, rule, level, pending, count() AS opened, uniqExact(school_id), any(title)
FROM risk_transitions FINAL
WHERE school_id IN ? AND state = ? AND at >= toDateTime(?) AND at <= toDateTime(?) AND at_ms >= ? AND at_ms < ?
GROUP BY source, rule, level, pending
ORDER BY opened DESC, source, rule, level, pending`,
			inSet(ids), string(engine.RiskOpened), dateTime(from), dateTime(to), from.UnixMilli(), to.UnixMilli())
		if err != nil {
			return nil, fmt.Errorf("query risk counts: %w", err)
		}
		for rows.Next() {
			var (
				c        RiskCount
				src, lvl string
				pending  uint8
			)
			if err := rows.Scan(&src, &c.Rule, &lvl, &pending, &c.Opened, &c.Schools, &c.Title); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read risk counts: %w", err)
			}
			c.Source, c.Level, c.Pending = engine.Source(src), engine.Severity(lvl), pending == 1
			k := key{c.Source, c.Rule, c.Level, c.Pending}
			if i, ok := at[k]; ok {
				out[i].Opened += c.Opened
				out[i].Schools += c.Schools // no school is in two chunks
				continue
			}
			at[k] = len(out)
			out = append(out, c)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read risk counts: %w", err)
		}
	}
	if len(chunks) > 1 {
		slices.SortFunc(out, func(a, b RiskCount) int {
			return cmp.Or(cmp.Compare(b.Opened, a.Opened), cmp.Compare(a.Source, b.Source), cmp.Compare(a.Rule, b.Rule),
				cmp.Compare(a.Level, b.Level), cmp.Compare(boolInt(a.Pending), boolInt(b.Pending)))
		})
	}
	return out, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// RiskStep is one transition of a risk, without its text: enough to know
// when a risk of a rule and key was active at a school.
type RiskStep struct {
	SchoolID string
	Rule     string
	Key      string
	State    engine.RiskState
	At       time.Time
}

// RiskSteps returns the transitions of the rules' risks at the schools with
// from <= At < to, in time order (ties by id).
func (s *Store) RiskSteps(ctx context.Context, schools, rules []string, from, to time.Time) ([]RiskStep, error) {
	if len(rules) == 0 {
		return nil, nil
	}
	type step struct {
		RiskStep
		atMS int64
		id   string
	}
	chunks := schoolChunks(schools)
	var steps []step
	for _, ids := range chunks {
		if len(ids) == 0 {
			continue
		}
		rows, err := s.conn.Query(ctx, `
SELECT school_id, rule, risk_key, state, at_ms, id
FROM risk_transitions FINAL
WHERE school_id IN ? AND rule IN ? AND at >= toDateTime(?) AND at <= toDateTime(?) AND at_ms >= ? AND at_ms < ?
ORDER BY at_ms, id`,
			inSet(ids), inSet(rules), dateTime(from), dateTime(to), from.UnixMilli(), to.UnixMilli())
		if err != nil {
			return nil, fmt.Errorf("query risk transitions: %w", err)
		}
		for rows.Next() {
			var (
				st    step
				state string
			)
			if err := rows.Scan(&st.SchoolID, &st.Rule, &st.Key, &state, &st.atMS, &st.id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read risk transitions: %w", err)
			}
			st.State, st.At = engine.RiskState(state), fromMillis(st.atMS)
			steps = append(steps, st)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read risk transitions: %w", err)
		}
	}
	if len(chunks) > 1 {
		slices.SortStableFunc(steps, func(a, b step) int { return cmp.Or(cmp.Compare(a.atMS, b.atMS), cmp.Compare(a.id, b.id)) })
	}
	var out []RiskStep
	for _, st := range steps {
		out = append(out, st.RiskStep)
	}
	return out, nil
}

// CheckCountsOf is CheckCounts at the schools only.
func (s *Store) CheckCountsOf(ctx context.Context, schools []string, since, until time.Time) ([]CheckCount, error) {
	chunks := schoolChunks(schools)
	var out []CheckCount
	for _, ids := range chunks {
		if len(ids) == 0 {
			continue
		}
		got, err := s.checkCounts(ctx, ids, since, until)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	if len(chunks) > 1 {
		slices.SortFunc(out, func(a, b CheckCount) int {
			return cmp.Or(cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.SchoolID, b.SchoolID), cmp.Compare(a.Device, b.Device))
		})
	}
	return out, nil
}

// WatchedFrom returns when, within [from, to), the history begins to hold
// events of the schools: from itself when one of their events precedes
// it, otherwise the time of their first event in [from, to), or the zero
// time when they have none before to. Before it, the history knows nothing
// of them.
//
// It asks whether an event precedes from rather than for the earliest
// event of all: that query stops at the first row it finds, and the
// primary key and the monthly partitions leave it only granules before
// from to read, where the earliest of all read every stored month of the
// schools' events (1–2 s for one month of 500 schools; events are kept
// 180 days).
func (s *Store) WatchedFrom(ctx context.Context, schools []string, from, to time.Time) (time.Time, error) {
	if len(schools) == 0 || !to.After(from) {
		return time.Time{}, nil
	}
	chunks := schoolChunks(schools)
	for _, ids := range chunks {
		var before uint64
		if err := s.conn.QueryRow(ctx, `
SELECT count() FROM (
    SELECT 1 FROM events
    WHERE school_id IN ? AND occurred_at <= toDateTime(?) AND occurred_at_ms < ?
    LIMIT 1
)`, inSet(ids), dateTime(from), from.UnixMilli()).Scan(&before); err != nil {
			return time.Time{}, fmt.Errorf("query an event before %s: %w", from.Format(time.RFC3339), err)
		}
		if before > 0 {
			return from, nil
		}
	}
	var first int64 // 0: none
	for _, ids := range chunks {
		var ms int64
		if err := s.conn.QueryRow(ctx, `
SELECT min(occurred_at_ms) FROM events
WHERE school_id IN ? AND occurred_at >= toDateTime(?) AND occurred_at <= toDateTime(?) AND occurred_at_ms >= ? AND occurred_at_ms < ?`,
			inSet(ids), dateTime(from), dateTime(to), from.UnixMilli(), to.UnixMilli()).Scan(&ms); err != nil {
			return time.Time{}, fmt.Errorf("query the first event: %w", err)
		}
		if ms != 0 && (first == 0 || ms < first) {
			first = ms
		}
	}
	return fromMillis(first), nil
}
