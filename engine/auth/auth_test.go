package auth_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/auth"
)

func TestParseScope(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    auth.Scope
		wantErr string
	}{
		{name: "all", in: "all", want: auth.ScopeAll},
		{name: "district", in: "district:南湖区", want: auth.Scope{Districts: []string{"南湖区"}}},
		{name: "school", in: "school:JX-NH-0001", want: auth.Scope{Schools: []string{"JX-NH-0001"}}},
		{name: "several, spaces, duplicates", in: " district:南湖区 , school:JX-XZ-0001,district:南湖区",
			want: auth.Scope{Districts: []string{"南湖区"}, Schools: []string{"JX-XZ-0001"}}},
		{name: "empty", in: "", wantErr: "scope is empty"},
		{name: "unknown kind", in: "town:新丰镇", wantErr: `scope "town:新丰镇": expected all, district:<name> or school:<id>`},
		{name: "every problem at once", in: "district:,school:", wantErr: "district: needs a district's name"},
		{name: "all with more", in: "all,school:X", wantErr: "give all alone"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := auth.ParseScope(tc.in)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			back, err := auth.ParseScope(got.String())
			require.NoError(t, err)
			require.Equal(t, got, back, "String is read back by ParseScope")
		})
	}
	_, err := auth.ParseScope("district:,school:")
	require.ErrorContains(t, err, "school: needs a school id", "every problem is reported")
}

func TestScopeChecks(t *testing.T) {
	nanhu := &engine.School{ID: "JX-NH-0001", District: "南湖区"}
	xiuzhou := &engine.School{ID: "JX-XZ-0001", District: "秀洲区"}
	tests := []struct {
		name             string
		scope            auth.Scope
		school           *engine.School
		canSee, aboveSch bool
	}{
		{name: "all", scope: auth.ScopeAll, school: xiuzhou, canSee: true, aboveSch: true},
		{name: "zero scope", scope: auth.Scope{}, school: nanhu},
		{name: "own district", scope: auth.Scope{Districts: []string{"南湖区"}}, school: nanhu, canSee: true, aboveSch: true},
		{name: "other district", scope: auth.Scope{Districts: []string{"南湖区"}}, school: xiuzhou},
		{name: "own school", scope: auth.Scope{Schools: []string{"JX-NH-0001"}}, school: nanhu, canSee: true},
		{name: "other school", scope: auth.Scope{Schools: []string{"JX-NH-0001"}}, school: xiuzhou},
		{name: "a district and a school of another", scope: auth.Scope{Districts: []string{"南湖区"}, Schools: []string{"JX-XZ-0001"}},
			school: xiuzhou, canSee: true},
		{name: "no school", scope: auth.ScopeAll},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.canSee, tc.scope.CanSee(tc.school), "CanSee")
			require.Equal(t, tc.aboveSch, tc.scope.AboveSchool(tc.school), "AboveSchool")
		})
	}
}

func TestRoles(t *testing.T) {
	for _, r := range auth.Roles {
		got, err := auth.ParseRole(strings.ToUpper(string(r)))
		require.NoError(t, err)
		require.Equal(t, r, got)
	}
	_, err := auth.ParseRole("root")
	require.EqualError(t, err, `role "root": expected viewer, operator or admin`)
	require.True(t, auth.RoleAdmin.AtLeast(auth.RoleOperator))
	require.True(t, auth.RoleOperator.AtLeast(auth.RoleOperator))
	require.False(t, auth.RoleViewer.AtLeast(auth.RoleOperator))
	require.False(t, auth.Role("root").AtLeast(auth.RoleViewer))
}

func TestSecret(t *testing.T) {
	a, b := auth.NewSecret(), auth.NewSecret()
	require.NotEqual(t, a, b)
	require.True(t, strings.HasPrefix(a, auth.SecretPrefix))
	require.Len(t, a, len(auth.SecretPrefix)+52)
	require.Len(t, auth.HashSecret(a), 64)
	require.NotContains(t, auth.HashSecret(a), a[len(auth.SecretPrefix):])
	require.NoError(t, auth.CheckName("demo-admin"))
	require.NoError(t, auth.CheckName("南湖区.viewer"))
	require.Error(t, auth.CheckName(""))
	require.Error(t, auth.CheckName("-x"))
	require.Error(t, auth.CheckName("a b"))
}

// fakeTokens is a TokenStore over a map that counts its reads.
type fakeTokens struct {
	tokens map[string]auth.Token
	reads  atomic.Int32
}

func (f *fakeTokens) TokenByHash(_ context.Context, hash string) (auth.Token, error) {
	f.reads.Add(1)
	t, ok := f.tokens[hash]
	if !ok {
		return auth.Token{}, auth.ErrNotFound
	}
	return t, nil
}

func TestVerifier(t *testing.T) {
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	good, expired, revoked := auth.NewSecret(), auth.NewSecret(), auth.NewSecret()
	store := &fakeTokens{tokens: map[string]auth.Token{
		auth.HashSecret(good): {Name: "nanhu", Hash: auth.HashSecret(good), Role: auth.RoleViewer,
			Scope: auth.Scope{Districts: []string{"南湖区"}}, ExpiresAt: now.Add(time.Hour)},
		auth.HashSecret(expired): {Name: "old", Hash: auth.HashSecret(expired), Role: auth.RoleAdmin, ExpiresAt: now},
		auth.HashSecret(revoked): {Name: "gone", Hash: auth.HashSecret(revoked), Role: auth.RoleAdmin, RevokedAt: now.Add(-time.Minute)},
	}}
	v := auth.NewVerifier(store, 0)
	clock := now
	auth.SetNow(v, func() time.Time { return clock })

	tests := []struct {
		name    string
		secret  string
		wantErr error
	}{
		{name: "valid", secret: good},
		{name: "none", secret: " ", wantErr: auth.ErrNoToken},
		{name: "unknown", secret: auth.NewSecret(), wantErr: auth.ErrInvalidToken},
		{name: "not a secret", secret: "Basic abc", wantErr: auth.ErrInvalidToken},
		{name: "expired", secret: expired, wantErr: auth.ErrExpiredToken},
		{name: "revoked", secret: revoked, wantErr: auth.ErrRevokedToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := v.Verify(context.Background(), tc.secret)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, auth.Identity{Name: "nanhu", Role: auth.RoleViewer, Scope: auth.Scope{Districts: []string{"南湖区"}}}, id)
		})
	}

	// Revocation takes effect once the cached read is older than the TTL.
	reads := store.reads.Load()
	_, err := v.Verify(context.Background(), good)
	require.NoError(t, err)
	require.Equal(t, reads, store.reads.Load(), "a second use within the TTL is served from the cache")
	tok := store.tokens[auth.HashSecret(good)]
	tok.RevokedAt = now
	store.tokens[auth.HashSecret(good)] = tok
	_, err = v.Verify(context.Background(), good)
	require.NoError(t, err, "within the TTL the revocation is not seen yet")
	clock = now.Add(auth.DefaultCacheTTL)
	_, err = v.Verify(context.Background(), good)
	require.ErrorIs(t, err, auth.ErrRevokedToken, "after the TTL it is")
}
