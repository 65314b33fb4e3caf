package store

import (
	"context"
	"fmt"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

// LevelsAt returns, for every school with a colour change stored before at
// (At < at, to the millisecond), the last such change: what the map showed at
// that moment. A school without one was green. The last change is the latest
// by time, ties by id, as Timeline orders them. The order of the result is
// not specified.
//
// It reads every stored change up to at, so its cost grows with the history,
// not with the number of schools that changed.
func (s *Store) LevelsAt(ctx context.Context, at time.Time) ([]engine.LevelChange, error) {
	rows, err := s.conn.Query(ctx, `
SELECT
    argMax(id, (at_ms, id))           AS last_id,
    school_id,
    max(at_ms)                        AS last_at_ms,
    argMax(from_level, (at_ms, id))   AS last_from,
    argMax(to_level, (at_ms, id))     AS last_to,
    argMax(rule, (at_ms, id))         AS last_rule,
    argMax(event_id, (at_ms, id))     AS last_event_id,
    argMax(cause, (at_ms, id))        AS last_cause,
    argMax(active_risks, (at_ms, id)) AS last_active_risks,
    argMax(how, (at_ms, id))          AS last_how,
    argMax(risk_key, (at_ms, id))     AS last_risk_key,
    argMax(title, (at_ms, id))        AS last_title,
    argMax(severity, (at_ms, id))     AS last_severity,
    argMax(policy_rule, (at_ms, id))  AS last_policy_rule,
    argMax(policy_reason, (at_ms, id)) AS last_policy_reason
FROM level_changes FINAL
WHERE at <= toDateTime(?) AND at_ms < ?
GROUP BY school_id`,
		dateTime(at), at.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("query colours at %s: %w", at.Format(time.RFC3339Nano), err)
	}
	out, err := scanLevelChanges(rows)
	if err != nil {
		return nil, fmt.Errorf("read colours at %s: %w", at.Format(time.RFC3339Nano), err)
	}
	return out, nil
}
