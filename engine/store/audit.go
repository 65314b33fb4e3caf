package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sanse-campus/sanse/engine/auth"
)

// The store keeps the audit log (migration 0008): one row per version of an
// act's record; the outcome replaces the pending record of the same id.

const tableAudit = "audit"

// MaxAuditLimit bounds one read of the audit log.
const MaxAuditLimit = 1000

// WriteAudit stores one audit record and returns once the server has it.
// Writing a record again with the same id replaces the earlier one.
func (s *Store) WriteAudit(ctx context.Context, e auth.Entry) error {
	detail := string(e.Detail)
	if detail == "" {
		detail = "{}"
	}
	return s.exec1(ctx, tableAudit, `INSERT INTO audit (id, version, at, at_ms, actor, role, scope, action, target, school_id, detail, remote, result)`,
		e.ID, nextVersion(), dateTime(e.At), millis(e.At), e.Actor, string(e.Role), e.Scope, e.Action, e.Target, e.School,
		detail, e.Remote, e.Result)
}

// Audit returns the audit records f selects, newest first.
func (s *Store) Audit(ctx context.Context, f auth.AuditFilter) ([]auth.Entry, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.Action != "" {
		if strings.HasSuffix(f.Action, ".") {
			add("startsWith(action, ?)", f.Action)
		} else {
			add("action = ?", f.Action)
		}
	}
	if f.School != "" {
		add("school_id = ?", f.School)
	}
	if !f.From.IsZero() {
		add("at >= toDateTime(?)", clampSeconds(f.From.Unix()))
		add("at_ms >= ?", f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		add("at <= toDateTime(?)", clampSeconds(f.To.Unix()))
		add("at_ms < ?", f.To.UnixMilli())
	}
	q := `SELECT id, at_ms, actor, role, scope, action, target, school_id, detail, remote, result FROM audit FINAL`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 || limit > MaxAuditLimit {
		limit = MaxAuditLimit
	}
	q += fmt.Sprintf(" ORDER BY at_ms DESC, id LIMIT %d, %d", max(f.Offset, 0), limit)
	rows, err := s.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read the audit log: %w", err)
	}
	defer rows.Close()
	out := []auth.Entry{}
	for rows.Next() {
		var (
			e      auth.Entry
			at     int64
			role   string
			detail string
		)
		if err := rows.Scan(&e.ID, &at, &e.Actor, &role, &e.Scope, &e.Action, &e.Target, &e.School, &detail, &e.Remote, &e.Result); err != nil {
			return nil, fmt.Errorf("read the audit log: %w", err)
		}
		e.At, e.Role = fromMillis(at), auth.Role(role)
		if detail != "" && detail != "{}" && json.Valid([]byte(detail)) {
			e.Detail = json.RawMessage(detail)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the audit log: %w", err)
	}
	return out, nil
}
