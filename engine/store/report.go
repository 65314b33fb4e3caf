package store

import (
	"context"
	"fmt"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

// The queries of this file read the history of a report's schools: the
// scope's schools are passed as an array (has(?, school_id)), so a report
// never reads a school outside its scope.

// LevelChangesOf returns the colour changes of the schools with
// from <= At < to, in time order (ties by id).
func (s *Store) LevelChangesOf(ctx context.Context, schools []string, from, to time.Time) ([]engine.LevelChange, error) {
	if len(schools) == 0 {
		return nil, nil
	}
	rows, err := s.conn.Query(ctx, `
SELECT `+levelChangeColumns+`
FROM level_changes FINAL
WHERE has(?, school_id) AND at >= toDateTime(?) AND at <= toDateTime(?) AND at_ms >= ? AND at_ms < ?
ORDER BY at_ms, id`,
		schools, dateTime(from), dateTime(to), from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("query colour changes: %w", err)
	}
	out, err := scanLevelChanges(rows)
	if err != nil {
		return nil, fmt.Errorf("read colour changes: %w", err)
	}
	return out, nil
}

// LevelsAtOf returns, for each of the schools with a colour change stored
// before at, the last such change (what the map showed at that moment, as
// LevelsAt); a school without one was green.
func (s *Store) LevelsAtOf(ctx context.Context, schools []string, at time.Time) ([]engine.LevelChange, error) {
	if len(schools) == 0 {
		return nil, nil
	}
	rows, err := s.conn.Query(ctx, `
SELECT
    argMax(id, (at_ms, id)), school_id, max(at_ms),
    argMax(from_level, (at_ms, id)), argMax(to_level, (at_ms, id)), argMax(rule, (at_ms, id)),
    argMax(event_id, (at_ms, id)), argMax(cause, (at_ms, id)), argMax(active_risks, (at_ms, id)),
    argMax(how, (at_ms, id)), argMax(risk_key, (at_ms, id)), argMax(title, (at_ms, id)),
    argMax(severity, (at_ms, id)), argMax(policy_rule, (at_ms, id)), argMax(policy_reason, (at_ms, id))
FROM level_changes FINAL
WHERE has(?, school_id) AND at <= toDateTime(?) AND at_ms < ?
GROUP BY school_id`,
		schools, dateTime(at), at.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("query colours at %s: %w", at.Format(time.RFC3339), err)
	}
	out, err := scanLevelChanges(rows)
	if err != nil {
		return nil, fmt.Errorf("read colours at %s: %w", at.Format(time.RFC3339), err)
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
	if len(schools) == 0 {
		return nil, nil
	}
	rows, err := s.conn.Query(ctx, `
SELECT source, rule, level, pending, count() AS opened, uniqExact(school_id), any(title)
FROM risk_transitions FINAL
WHERE has(?, school_id) AND state = ? AND at >= toDateTime(?) AND at <= toDateTime(?) AND at_ms >= ? AND at_ms < ?
GROUP BY source, rule, level, pending
ORDER BY opened DESC, source, rule, level, pending`,
		schools, string(engine.RiskOpened), dateTime(from), dateTime(to), from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("query risk counts: %w", err)
	}
	defer rows.Close()
	var out []RiskCount
	for rows.Next() {
		var (
			c        RiskCount
			src, lvl string
			pending  uint8
		)
		if err := rows.Scan(&src, &c.Rule, &lvl, &pending, &c.Opened, &c.Schools, &c.Title); err != nil {
			return nil, fmt.Errorf("read risk counts: %w", err)
		}
		c.Source, c.Level, c.Pending = engine.Source(src), engine.Severity(lvl), pending == 1
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read risk counts: %w", err)
	}
	return out, nil
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
	if len(schools) == 0 || len(rules) == 0 {
		return nil, nil
	}
	rows, err := s.conn.Query(ctx, `
SELECT school_id, rule, risk_key, state, at_ms
FROM risk_transitions FINAL
WHERE has(?, school_id) AND has(?, rule) AND at >= toDateTime(?) AND at <= toDateTime(?) AND at_ms >= ? AND at_ms < ?
ORDER BY at_ms, id`,
		schools, rules, dateTime(from), dateTime(to), from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("query risk transitions: %w", err)
	}
	defer rows.Close()
	var out []RiskStep
	for rows.Next() {
		var (
			st    RiskStep
			state string
			atMS  int64
		)
		if err := rows.Scan(&st.SchoolID, &st.Rule, &st.Key, &state, &atMS); err != nil {
			return nil, fmt.Errorf("read risk transitions: %w", err)
		}
		st.State, st.At = engine.RiskState(state), fromMillis(atMS)
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read risk transitions: %w", err)
	}
	return out, nil
}

// CheckCountsOf is CheckCounts at the schools only.
func (s *Store) CheckCountsOf(ctx context.Context, schools []string, since, until time.Time) ([]CheckCount, error) {
	if len(schools) == 0 {
		return nil, nil
	}
	return s.checkCounts(ctx, schools, since, until)
}

// FirstEvent returns the time of the earliest event stored of the schools,
// or the zero time when there is none: before it, the history knows
// nothing of them.
func (s *Store) FirstEvent(ctx context.Context, schools []string) (time.Time, error) {
	if len(schools) == 0 {
		return time.Time{}, nil
	}
	var first int64
	if err := s.conn.QueryRow(ctx, `SELECT min(occurred_at_ms) FROM events WHERE has(?, school_id)`, schools).Scan(&first); err != nil {
		return time.Time{}, fmt.Errorf("query the first event: %w", err)
	}
	return fromMillis(first), nil
}
