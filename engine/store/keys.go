package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrOtherVisitorKey is returned by CheckVisitorKey when the history's
// visitor hashes were made with another key.
var ErrOtherVisitorKey = errors.New("the history's visitor hashes were made with another visitor key")

// CheckVisitorKey makes sure that every instance of an installation hashes
// visitors' ID numbers with one key: it records the fingerprint of this
// instance's key when the history has none, and refuses (ErrOtherVisitorKey)
// a key whose fingerprint is not the first one recorded. Instances that
// start together on an empty history with different keys all record theirs;
// the earliest holds and the others refuse.
func (s *Store) CheckVisitorKey(ctx context.Context, fingerprint, instance string) error {
	first, err := s.firstVisitorKey(ctx)
	if err != nil {
		return err
	}
	if first == "" {
		now := time.Now()
		if err := s.exec1(ctx, "visitor_keys", `INSERT INTO visitor_keys (fingerprint, instance, seen_at, seen_ms)`,
			fingerprint, instance, dateTime(now), millis(now)); err != nil {
			return fmt.Errorf("record the visitor key's fingerprint: %w", err)
		}
		if first, err = s.firstVisitorKey(ctx); err != nil {
			return err
		}
	}
	if first != fingerprint {
		return fmt.Errorf("%w (fingerprint %s, this instance's %s): every instance must use the same privacy.visitor_key_file — copy the first instance's key file or mount the same secret", ErrOtherVisitorKey, first, fingerprint)
	}
	return nil
}

// firstVisitorKey returns the fingerprint recorded first, "" when none.
func (s *Store) firstVisitorKey(ctx context.Context) (string, error) {
	var fp []string
	rows, err := s.conn.Query(ctx, `SELECT fingerprint FROM visitor_keys ORDER BY seen_ms, fingerprint LIMIT 1`)
	if err != nil {
		return "", fmt.Errorf("query the visitor key's fingerprint: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			return "", fmt.Errorf("read the visitor key's fingerprint: %w", err)
		}
		fp = append(fp, f)
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("read the visitor key's fingerprint: %w", err)
	}
	if len(fp) == 0 {
		return "", nil
	}
	return fp[0], nil
}
