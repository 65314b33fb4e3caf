package store

import (
	"context"
	"fmt"
	"time"
)

// PersonEvent is one stored event of a visitor, as `sanse privacy export`
// gives it: the payload as stored (the identity number hashed and masked,
// names masked).
type PersonEvent struct {
	ID         string    `json:"id"`
	SchoolID   string    `json:"school_id"`
	Source     string    `json:"source"`
	Type       string    `json:"type"`
	OccurredAt time.Time `json:"occurred_at"`
	Payload    string    `json:"payload"`
}

// PersonEvents returns the stored events of the visitor whose keyed hash
// (event.Identity.Hash) is visitorHash, oldest first.
func (s *Store) PersonEvents(ctx context.Context, visitorHash string) ([]PersonEvent, error) {
	rows, err := s.conn.Query(ctx, `
SELECT id, school_id, source, type, occurred_at_ms, payload
FROM events FINAL
WHERE visitor_hash = ?
ORDER BY occurred_at_ms, id`, visitorHash)
	if err != nil {
		return nil, fmt.Errorf("query a person's events: %w", err)
	}
	defer rows.Close()
	var out []PersonEvent
	for rows.Next() {
		var (
			e  PersonEvent
			ms int64
		)
		if err := rows.Scan(&e.ID, &e.SchoolID, &e.Source, &e.Type, &ms, &e.Payload); err != nil {
			return nil, fmt.Errorf("read a person's events: %w", err)
		}
		e.OccurredAt = fromMillis(ms)
		out = append(out, e)
	}
	return out, rows.Err()
}

// ErasePerson deletes the stored events of the visitor whose keyed hash is
// visitorHash and waits until ClickHouse has carried the deletion out (a
// mutation: ALTER TABLE … DELETE, which every supported ClickHouse has). It
// returns how many events were deleted. The colour history and the risks
// keep only the ids of the events behind them.
func (s *Store) ErasePerson(ctx context.Context, visitorHash string) (int, error) {
	events, err := s.PersonEvents(ctx, visitorHash)
	if err != nil {
		return 0, err
	}
	if len(events) == 0 {
		return 0, nil
	}
	stmt := "ALTER TABLE " + quoteIdent(s.database) + "." + quoteIdent(tableEvents) + " DELETE WHERE visitor_hash = ?"
	if err := s.conn.Exec(ctx, stmt, visitorHash); err != nil {
		return 0, fmt.Errorf("erase a person's events: %w", err)
	}
	for {
		var pending uint64
		if err := s.conn.QueryRow(ctx, `SELECT count() FROM system.mutations WHERE database = ? AND table = ? AND is_done = 0`,
			s.database, tableEvents).Scan(&pending); err != nil {
			return 0, fmt.Errorf("wait for the erasure: %w", err)
		}
		if pending == 0 {
			return len(events), nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("wait for the erasure: %w", context.Cause(ctx))
		case <-time.After(100 * time.Millisecond):
		}
	}
}
