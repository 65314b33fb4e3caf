package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine/auth"
)

// TestTokenCommands runs sanse token create, list and revoke against a fresh
// database: create prints the secret and nothing else on stdout, list never
// shows it, revoke makes it fail, and every act is audited.
func TestTokenCommands(t *testing.T) {
	dsn := clickhouseDSN(t)
	dbDSN, _ := testDatabase(t, dsn)
	sanse := func(args ...string) (int, string, string) {
		var out, errw bytes.Buffer
		code := run(append([]string{"token"}, append(args, "--clickhouse.dsn", dbDSN)...), &out, &errw)
		return code, out.String(), errw.String()
	}

	code, out, errOut := sanse("create", "--name", "nanhu-viewer", "--scope", "district:南湖区", "--role", "viewer", "--expires", "30d")
	require.Equal(t, 0, code, errOut)
	secret := strings.TrimSpace(out)
	require.Equal(t, out, secret+"\n", "stdout is the secret and nothing else")
	require.True(t, strings.HasPrefix(secret, auth.SecretPrefix))
	require.Contains(t, errOut, "token nanhu-viewer created: role viewer, scope district:南湖区")

	code, _, errOut = sanse("create", "--name", "nanhu-viewer", "--scope", "all", "--role", "admin")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "an active token has this name")

	code, _, errOut = sanse("create", "--name", "x", "--scope", "town:a", "--role", "root", "--expires", "soon")
	require.Equal(t, 1, code)
	for _, want := range []string{"--scope:", "--role:", "--expires:"} {
		require.Contains(t, errOut, want, "every problem at once")
	}

	code, out, errOut = sanse("list")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "nanhu-viewer")
	require.Contains(t, out, "active")
	require.NotContains(t, out, secret)
	require.NotContains(t, out, auth.HashSecret(secret))

	st, err := openTokenStore(context.Background(), dbDSN, newLogger("error", "text", &bytes.Buffer{}))
	require.NoError(t, err)
	defer st.Close()
	v := auth.NewVerifier(st, -1)
	id, err := v.Verify(context.Background(), secret)
	require.NoError(t, err)
	require.Equal(t, auth.Scope{Districts: []string{"南湖区"}}, id.Scope)

	code, out, errOut = sanse("revoke", "nanhu-viewer")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "revoked")
	_, err = v.Verify(context.Background(), secret)
	require.ErrorIs(t, err, auth.ErrRevokedToken)
	code, _, _ = sanse("revoke", "nobody")
	require.Equal(t, 1, code)

	entries, err := st.Audit(context.Background(), auth.AuditFilter{Action: "token."})
	require.NoError(t, err)
	require.Len(t, entries, 2)
	require.Equal(t, auth.ActionTokenRevoke, entries[0].Action)
	require.Equal(t, auth.ActionTokenCreate, entries[1].Action)
}

// TestServeRefusesWithoutToken: with authentication on (the default) and no
// active token, serve does not start and says how to create one; with
// --web.insecure-no-auth it starts, warning that anyone may act.
func TestServeRefusesWithoutToken(t *testing.T) {
	dsn := clickhouseDSN(t)
	dbDSN, _ := testDatabase(t, dsn)
	dir := t.TempDir()
	reg := filepath.Join(dir, "registry.csv")
	require.NoError(t, os.WriteFile(reg, []byte(e2eRegistry), 0o644))
	var out bytes.Buffer
	err := cmdServe(context.Background(), []string{"--web.listen-address", freeAddr(t), "--kafka.embedded-listen-address", freeAddr(t),
		"--clickhouse.dsn", dbDSN, "--registry.file", reg, "--data.dir", filepath.Join(dir, "data")}, &out, &out, false)
	require.ErrorIs(t, err, errNoToken)
	require.Contains(t, err.Error(), "sanse token create --name admin --scope all --role admin")
	require.Contains(t, err.Error(), "--web.insecure-no-auth")

	in := serveInProcess(t, "--kafka.embedded-listen-address", freeAddr(t), "--clickhouse.dsn", dbDSN, "--registry.file", reg,
		"--data.dir", filepath.Join(dir, "data"), "--web.insecure-no-auth")
	require.Contains(t, in.log.String(), "authentication is OFF")
	require.Equal(t, 200, in.getJSON("/api/v1/map", nil), "no token needed")
}

// TestDemoPrintsToken: sanse demo creates an admin token, prints it with the
// map's address, and the token opens the API; it is revoked when the demo
// stops.
func TestDemoPrintsToken(t *testing.T) {
	dsn := clickhouseDSN(t)
	dbDSN, _ := testDatabase(t, dsn)
	dir := t.TempDir()
	reg := filepath.Join(dir, "registry.csv")
	require.NoError(t, os.WriteFile(reg, []byte(e2eRegistry), 0o644))
	web, broker := freeAddr(t), freeAddr(t)
	lw := &lockedWriter{w: &bytes.Buffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- cmdServe(ctx, []string{"--web.listen-address", web, "--kafka.embedded-listen-address", broker,
			"--clickhouse.dsn", dbDSN, "--registry.file", reg, "--data.dir", filepath.Join(dir, "data"), "--simulate.rate", "1"}, lw, lw, true)
	}()
	in := &instance{t: t, web: web, log: lw, done: make(chan struct{}), quit: cancel}
	in.waitReady()
	var secret string
	waitFor(t, 10*time.Second, "the token printed", func() bool {
		for _, line := range strings.Split(lw.String(), "\n") {
			if rest, ok := strings.CutPrefix(line, "Sign in with the admin token "); ok {
				secret = strings.Fields(rest)[0]
				return true
			}
		}
		return false
	})
	in.token = secret
	require.Equal(t, 200, in.getJSON("/api/v1/audit", nil), "an admin token")
	cancel()
	require.NoError(t, <-done)

	st, err := openTokenStore(context.Background(), dbDSN, newLogger("error", "text", &bytes.Buffer{}))
	require.NoError(t, err)
	defer st.Close()
	_, err = auth.NewVerifier(st, -1).Verify(context.Background(), secret)
	require.ErrorIs(t, err, auth.ErrRevokedToken, "revoked when the demo stops")
}
