package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/hazard"
)

// Hazard tables (migration 0006).
const (
	tableHazards           = "hazards"
	tableHazardTransitions = "hazard_transitions"
)

const (
	insertHazards = `INSERT INTO hazards (id, school_id, version, title, category, level, responsible, deadline,
	deadline_ms, status, evidence, origin_rule, origin_key, origin_source, created_at, created_at_ms, created_by,
	updated_at_ms, supervised_at_ms, verified_at_ms)`
	insertHazardTransitions = `INSERT INTO hazard_transitions (id, hazard_id, school_id, version, at, at_ms, action,
	from_status, to_status, actor, comment, evidence)`

	// hazardColumns are the columns scanHazards reads, in order.
	hazardColumns = `id, school_id, version, title, category, level, responsible, deadline_ms, status, evidence,
       origin_rule, origin_key, origin_source, created_at_ms, created_by, updated_at_ms, supervised_at_ms,
       verified_at_ms`
)

// The store satisfies what the hazard manager needs.
var _ hazard.Store = (*Store)(nil)

// evidenceJSON is one piece of evidence as the evidence columns hold it.
type evidenceJSON struct {
	Kind  string    `json:"kind"`
	Value string    `json:"value"`
	By    string    `json:"by"`
	At    time.Time `json:"at"`
}

func encodeEvidence(evidence []hazard.Evidence) (string, error) {
	rows := make([]evidenceJSON, len(evidence))
	for i, e := range evidence {
		rows[i] = evidenceJSON{Kind: string(e.Kind), Value: e.Value, By: e.By, At: e.At.UTC()}
	}
	b, err := json.Marshal(rows)
	if err != nil {
		return "", fmt.Errorf("encode evidence: %w", err)
	}
	return string(b), nil
}

func decodeEvidence(s string) ([]hazard.Evidence, error) {
	if s == "" {
		return nil, nil
	}
	var rows []evidenceJSON
	if err := json.Unmarshal([]byte(s), &rows); err != nil {
		return nil, fmt.Errorf("decode evidence: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	out := make([]hazard.Evidence, len(rows))
	for i, r := range rows {
		out[i] = hazard.Evidence{Kind: hazard.EvidenceKind(r.Kind), Value: r.Value, By: r.By, At: r.At.UTC()}
	}
	return out, nil
}

// WriteHazard stores transition t, then hazard h as it is after t: a
// WriteHazards of one.
func (s *Store) WriteHazard(ctx context.Context, h *hazard.Hazard, t hazard.Transition) error {
	return s.WriteHazards(ctx, []hazard.Write{{Hazard: h, Transition: t}})
}

// WriteHazards stores the transitions, then the hazards as they are after
// them, one insert each, and returns once the server has acknowledged both,
// so that a stored state implies its transition is stored. Writing them
// again is harmless: a transition's id and time are the same, and the
// hazards table keeps the row of the highest version. On error the caller
// writes them all again. It implements hazard.Store.
func (s *Store) WriteHazards(ctx context.Context, ws []hazard.Write) error {
	if len(ws) == 0 {
		return nil
	}
	trEvidence, evidence := make([]string, len(ws)), make([]string, len(ws))
	for i, w := range ws {
		var err error
		if trEvidence[i], err = encodeEvidence(w.Transition.Evidence); err != nil {
			return fmt.Errorf("hazard transition %q: %w", w.Transition.ID, err)
		}
		if evidence[i], err = encodeEvidence(w.Hazard.Evidence); err != nil {
			return fmt.Errorf("hazard %q: %w", w.Hazard.ID, err)
		}
	}
	err := s.insert(ctx, tableHazardTransitions, insertHazardTransitions, len(ws), func(b driver.Batch) error {
		for i, w := range ws {
			t := &w.Transition
			if err := b.Append(t.ID, t.HazardID, t.SchoolID, t.Version, dateTime(t.At), millis(t.At), string(t.Action),
				string(t.From), string(t.To), t.By, t.Comment, trEvidence[i]); err != nil {
				return fmt.Errorf("hazard transition %q: %w", t.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.insert(ctx, tableHazards, insertHazards, len(ws), func(b driver.Batch) error {
		for i, w := range ws {
			h := w.Hazard
			if err := b.Append(h.ID, h.SchoolID, h.Version, h.Title, h.Category, string(h.Level), h.Responsible,
				dateTime(h.Deadline), millis(h.Deadline), string(h.Status), evidence[i],
				h.Origin.Rule, h.Origin.Key, string(h.Origin.Source),
				dateTime(h.CreatedAt), millis(h.CreatedAt), h.CreatedBy,
				millis(h.UpdatedAt), millis(h.SupervisedAt), millis(h.VerifiedAt)); err != nil {
				return fmt.Errorf("hazard %q: %w", h.ID, err)
			}
		}
		return nil
	})
}

// LoadHazards returns every hazard not yet verified and, unless closedSince
// is zero, those verified at or after it, each in its latest version, oldest
// first (ties by id): what the hazard manager keeps in memory after a
// restart.
func (s *Store) LoadHazards(ctx context.Context, closedSince time.Time) ([]*hazard.Hazard, error) {
	query, args := `
SELECT `+hazardColumns+`
FROM hazards FINAL
WHERE status != ?`, []any{string(hazard.StatusVerified)}
	if !closedSince.IsZero() {
		query += ` OR verified_at_ms >= ?`
		args = append(args, closedSince.UnixMilli())
	}
	query += `
ORDER BY created_at_ms, id`
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query hazards: %w", err)
	}
	out, err := scanHazards(rows)
	if err != nil {
		return nil, fmt.Errorf("read hazards: %w", err)
	}
	return out, nil
}

// LoadOpenHazards returns every hazard not yet verified, oldest first.
func (s *Store) LoadOpenHazards(ctx context.Context) ([]*hazard.Hazard, error) {
	return s.LoadHazards(ctx, time.Time{})
}

// LoadHazard returns the latest version of the hazard with the id, or an
// error wrapping hazard.ErrNotFound.
func (s *Store) LoadHazard(ctx context.Context, id string) (*hazard.Hazard, error) {
	rows, err := s.conn.Query(ctx, `
SELECT `+hazardColumns+`
FROM hazards FINAL
WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("query hazard %q: %w", id, err)
	}
	out, err := scanHazards(rows)
	if err != nil {
		return nil, fmt.Errorf("read hazard %q: %w", id, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("hazard %q: %w", id, hazard.ErrNotFound)
	}
	return out[0], nil
}

// scanHazards reads rows of hazardColumns and closes them.
func scanHazards(rows driver.Rows) ([]*hazard.Hazard, error) {
	defer rows.Close()
	var out []*hazard.Hazard
	for rows.Next() {
		var (
			h                                                  hazard.Hazard
			level, status, evidence, source                    string
			deadline, created, updated, supervised, verifiedMS int64
		)
		if err := rows.Scan(&h.ID, &h.SchoolID, &h.Version, &h.Title, &h.Category, &level, &h.Responsible,
			&deadline, &status, &evidence, &h.Origin.Rule, &h.Origin.Key, &source, &created, &h.CreatedBy,
			&updated, &supervised, &verifiedMS); err != nil {
			return nil, err
		}
		ev, err := decodeEvidence(evidence)
		if err != nil {
			return nil, fmt.Errorf("hazard %q: %w", h.ID, err)
		}
		h.Level, h.Status, h.Origin.Source, h.Evidence = engine.Severity(level), hazard.Status(status), engine.Source(source), ev
		h.Deadline, h.CreatedAt, h.UpdatedAt = fromMillis(deadline), fromMillis(created), fromMillis(updated)
		h.SupervisedAt, h.VerifiedAt = fromMillis(supervised), fromMillis(verifiedMS)
		out = append(out, &h)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// HazardHistory returns every transition of the hazard with the id, each
// once, in the order they were made (by version); none for an unknown id.
func (s *Store) HazardHistory(ctx context.Context, id string) ([]hazard.Transition, error) {
	rows, err := s.conn.Query(ctx, `
SELECT id, hazard_id, school_id, version, at_ms, action, from_status, to_status, actor, comment, evidence
FROM hazard_transitions FINAL
WHERE hazard_id = ?
ORDER BY version, at_ms, id`, id)
	if err != nil {
		return nil, fmt.Errorf("query history of hazard %q: %w", id, err)
	}
	defer rows.Close()
	var out []hazard.Transition
	for rows.Next() {
		var (
			t                        hazard.Transition
			atMS                     int64
			action, from, to, evJSON string
		)
		if err := rows.Scan(&t.ID, &t.HazardID, &t.SchoolID, &t.Version, &atMS, &action, &from, &to, &t.By,
			&t.Comment, &evJSON); err != nil {
			return nil, fmt.Errorf("read history of hazard %q: %w", id, err)
		}
		ev, err := decodeEvidence(evJSON)
		if err != nil {
			return nil, fmt.Errorf("read history of hazard %q, transition %q: %w", id, t.ID, err)
		}
		t.At, t.Action, t.From, t.To, t.Evidence = fromMillis(atMS), hazard.Action(action), hazard.Status(from), hazard.Status(to), ev
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read history of hazard %q: %w", id, err)
	}
	return out, nil
}
