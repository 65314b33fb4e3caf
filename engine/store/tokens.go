package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/sanse-campus/sanse/engine/auth"
)

// The store keeps API tokens for engine/auth (auth.TokenStore) and for
// `sanse token`: one row per version of a token's name (migration 0008).

const tableTokens = "tokens"

// The store satisfies what the verifier needs.
var _ auth.TokenStore = (*Store)(nil)

// ErrTokenExists is returned by CreateToken when an active token has the
// name already.
var ErrTokenExists = errors.New("an active token has this name")

const tokenColumns = `name, hash, scope, role, created_at_ms, created_by, expires_at_ms, revoked_at_ms`

// CreateToken stores a new token. A name may be used again once its token
// was revoked or has expired; otherwise it is ErrTokenExists. Two instances
// creating one name at the same moment are not told apart: the later write
// wins. Names are chosen by administrators, one at a time.
func (s *Store) CreateToken(ctx context.Context, t auth.Token) error {
	if err := auth.CheckName(t.Name); err != nil {
		return err
	}
	prev, err := s.Token(ctx, t.Name)
	switch {
	case err == nil && prev.Active(time.Now()):
		return fmt.Errorf("token %q: %w (revoke it first, or choose another name)", t.Name, ErrTokenExists)
	case err != nil && !errors.Is(err, auth.ErrNotFound):
		return err
	}
	return s.writeToken(ctx, t)
}

// RevokeToken revokes the token of the name at at, or returns an error
// wrapping auth.ErrNotFound. Revoking a revoked token keeps its first
// revocation time.
func (s *Store) RevokeToken(ctx context.Context, name string, at time.Time) (auth.Token, error) {
	t, err := s.Token(ctx, name)
	if err != nil {
		return auth.Token{}, err
	}
	if !t.RevokedAt.IsZero() {
		return t, nil
	}
	t.RevokedAt = at
	return t, s.writeToken(ctx, t)
}

func (s *Store) writeToken(ctx context.Context, t auth.Token) error {
	return s.exec1(ctx, tableTokens, `INSERT INTO tokens (name, version, hash, scope, role, created_at_ms, created_by, expires_at_ms, revoked_at_ms)`,
		t.Name, nextVersion(), t.Hash, t.Scope.String(), string(t.Role), millis(t.CreatedAt), t.CreatedBy,
		millis(t.ExpiresAt), millis(t.RevokedAt))
}

// exec1 inserts one row into table.
func (s *Store) exec1(ctx context.Context, table, query string, values ...any) error {
	return s.insert(ctx, table, query, 1, func(b driver.Batch) error {
		return b.Append(values...)
	})
}

// Token returns the token of the name, or an error wrapping auth.ErrNotFound.
func (s *Store) Token(ctx context.Context, name string) (auth.Token, error) {
	ts, err := s.queryTokens(ctx, `SELECT `+tokenColumns+` FROM tokens FINAL WHERE name = ?`, name)
	if err != nil {
		return auth.Token{}, err
	}
	if len(ts) == 0 {
		return auth.Token{}, fmt.Errorf("token %q: %w", name, auth.ErrNotFound)
	}
	return ts[0], nil
}

// TokenByHash implements auth.TokenStore.
func (s *Store) TokenByHash(ctx context.Context, hash string) (auth.Token, error) {
	ts, err := s.queryTokens(ctx, `SELECT `+tokenColumns+` FROM tokens FINAL WHERE hash = ?`, hash)
	if err != nil {
		return auth.Token{}, err
	}
	if len(ts) == 0 {
		return auth.Token{}, auth.ErrNotFound
	}
	return ts[0], nil
}

// Tokens returns every token, revoked and expired ones included, by name.
func (s *Store) Tokens(ctx context.Context) ([]auth.Token, error) {
	return s.queryTokens(ctx, `SELECT `+tokenColumns+` FROM tokens FINAL ORDER BY name`)
}

func (s *Store) queryTokens(ctx context.Context, query string, args ...any) ([]auth.Token, error) {
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read tokens: %w", err)
	}
	defer rows.Close()
	var out []auth.Token
	for rows.Next() {
		var (
			t                         auth.Token
			scope, role               string
			created, expires, revoked int64
		)
		if err := rows.Scan(&t.Name, &t.Hash, &scope, &role, &created, &t.CreatedBy, &expires, &revoked); err != nil {
			return nil, fmt.Errorf("read tokens: %w", err)
		}
		// A stored scope or role that no longer parses gives no rights: the
		// zero scope sees nothing, an unknown role may do nothing.
		t.Scope, _ = auth.ParseScope(scope)
		t.Role = auth.Role(role)
		t.CreatedAt, t.ExpiresAt, t.RevokedAt = fromMillis(created), fromMillis(expires), fromMillis(revoked)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read tokens: %w", err)
	}
	return out, nil
}
