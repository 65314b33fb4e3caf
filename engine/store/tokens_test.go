package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine/auth"
	"github.com/sanse-campus/sanse/engine/store"
	"github.com/sanse-campus/sanse/engine/store/storetest"
)

func TestTokens(t *testing.T) {
	s := storetest.Fresh(t, nil)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	secret := auth.NewSecret()
	tok := auth.Token{Name: "nanhu-viewer", Hash: auth.HashSecret(secret), Role: auth.RoleViewer,
		Scope:     auth.Scope{Districts: []string{"南湖区"}, Schools: []string{"JX-XZ-0001"}},
		CreatedAt: now, CreatedBy: "admin", ExpiresAt: now.Add(24 * time.Hour)}
	require.NoError(t, s.CreateToken(ctx, tok))
	require.ErrorIs(t, s.CreateToken(ctx, tok), store.ErrTokenExists, "an active name is not taken twice")
	require.Error(t, s.CreateToken(ctx, auth.Token{Name: "bad name"}))

	got, err := s.TokenByHash(ctx, auth.HashSecret(secret))
	require.NoError(t, err)
	require.Equal(t, tok, got)
	_, err = s.TokenByHash(ctx, auth.HashSecret(auth.NewSecret()))
	require.ErrorIs(t, err, auth.ErrNotFound)

	// The verifier over the store: valid, then revoked once the cache
	// (disabled here) reads again.
	v := auth.NewVerifier(s, -1)
	id, err := v.Verify(ctx, secret)
	require.NoError(t, err)
	require.Equal(t, "nanhu-viewer", id.Name)

	revoked, err := s.RevokeToken(ctx, "nanhu-viewer", now.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, now.Add(time.Minute), revoked.RevokedAt)
	again, err := s.RevokeToken(ctx, "nanhu-viewer", now.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, now.Add(time.Minute), again.RevokedAt, "the first revocation stands")
	_, err = v.Verify(ctx, secret)
	require.ErrorIs(t, err, auth.ErrRevokedToken)
	_, err = s.RevokeToken(ctx, "nobody", now)
	require.ErrorIs(t, err, auth.ErrNotFound)

	// A revoked name may be given to a new token.
	tok2 := tok
	tok2.Hash, tok2.Role = auth.HashSecret(auth.NewSecret()), auth.RoleOperator
	require.NoError(t, s.CreateToken(ctx, tok2))
	list, err := s.Tokens(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, auth.RoleOperator, list[0].Role)
	require.True(t, list[0].RevokedAt.IsZero())
}

func TestAudit(t *testing.T) {
	s := storetest.Fresh(t, nil)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	entries := []auth.Entry{
		{ID: "a1", At: t0, Actor: "nanhu-op", Role: auth.RoleOperator, Scope: "district:南湖区", Action: auth.ActionAlertAck,
			Target: "alert-1", School: "JX-NH-0001", Detail: json.RawMessage(`{"comment":"on it"}`), Remote: "10.0.0.1", Result: auth.ResultPending},
		{ID: "a2", At: t0.Add(time.Minute), Actor: "admin", Role: auth.RoleAdmin, Scope: "all", Action: auth.ActionRulesReload, Result: auth.ResultOK},
		{ID: "a3", At: t0.Add(2 * time.Minute), Action: auth.ActionSignIn, Remote: "10.0.0.9", Result: auth.ResultDenied,
			Detail: json.RawMessage(`{"reason":"invalid token"}`)},
		{ID: "a4", At: t0.Add(3 * time.Minute), Actor: "nanhu-op", Role: auth.RoleOperator, Action: "hazard.verify",
			Target: "HZ-1", School: "JX-NH-0002", Result: auth.ResultDenied},
	}
	for _, e := range entries {
		require.NoError(t, s.WriteAudit(ctx, e))
	}
	// The outcome replaces the pending record.
	done := entries[0]
	done.Result = auth.ResultOK
	require.NoError(t, s.WriteAudit(ctx, done))

	ids := func(es []auth.Entry) []string {
		out := make([]string, len(es))
		for i, e := range es {
			out[i] = e.ID
		}
		return out
	}
	tests := []struct {
		name string
		f    auth.AuditFilter
		want []string
	}{
		{name: "all, newest first", want: []string{"a4", "a3", "a2", "a1"}},
		{name: "by actor", f: auth.AuditFilter{Actor: "nanhu-op"}, want: []string{"a4", "a1"}},
		{name: "by action", f: auth.AuditFilter{Action: auth.ActionSignIn}, want: []string{"a3"}},
		{name: "by action prefix", f: auth.AuditFilter{Action: "hazard."}, want: []string{"a4"}},
		{name: "by school", f: auth.AuditFilter{School: "JX-NH-0001"}, want: []string{"a1"}},
		{name: "from, to", f: auth.AuditFilter{From: t0.Add(time.Minute), To: t0.Add(3 * time.Minute)}, want: []string{"a3", "a2"}},
		{name: "limit and offset", f: auth.AuditFilter{Limit: 2, Offset: 1}, want: []string{"a3", "a2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Audit(ctx, tc.f)
			require.NoError(t, err)
			require.Equal(t, tc.want, ids(got))
		})
	}
	got, err := s.Audit(ctx, auth.AuditFilter{School: "JX-NH-0001"})
	require.NoError(t, err)
	require.Equal(t, done, got[0], "the record reads back whole, with its outcome")
}
