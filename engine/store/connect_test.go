package store

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine/store/internal/testdb"
)

// TestClientOptions checks that the credentials and TLS of ConnectOptions
// reach clickhouse-go's options on top of the DSN.
func TestClientOptions(t *testing.T) {
	custom := &tls.Config{ServerName: "ch.example.org", MinVersion: tls.VersionTLS12}
	tests := []struct {
		name             string
		dsn              string
		co               ConnectOptions
		wantUser, wantPW string
		wantTLS          bool
		wantServerName   string
	}{
		{name: "DSN alone", dsn: "clickhouse://u:p@h:9000/db", wantUser: "u", wantPW: "p"},
		{name: "password replaces the DSN's", dsn: "clickhouse://u:p@h:9000/db", co: ConnectOptions{Password: "from-file"},
			wantUser: "u", wantPW: "from-file"},
		{name: "user and password", dsn: "clickhouse://h:9000/db", co: ConnectOptions{Username: "sanse", Password: "x"},
			wantUser: "sanse", wantPW: "x"},
		{name: "secure=true in the DSN", dsn: "clickhouse://h:9440/db?secure=true", wantTLS: true},
		{name: "TLS configuration", dsn: "clickhouse://h:9440/db", co: ConnectOptions{TLS: custom},
			wantTLS: true, wantServerName: "ch.example.org"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := clientOptions(tc.dsn, tc.co)
			require.NoError(t, err)
			require.Equal(t, tc.wantUser, opts.Auth.Username)
			require.Equal(t, tc.wantPW, opts.Auth.Password)
			require.Equal(t, "db", opts.Auth.Database)
			require.Equal(t, tc.wantTLS, opts.TLS != nil)
			if tc.wantServerName != "" {
				require.Equal(t, tc.wantServerName, opts.TLS.ServerName)
				require.NotSame(t, custom, opts.TLS, "a copy")
			}
		})
	}
	_, err := clientOptions("clickhouse://u:hunter2@h:notaport/db?x=%zz", ConnectOptions{})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2")
}

// TestOpenWrongPassword connects with a password the server refuses (the
// default user of the test server has none): a clear error that names the
// authentication failure and never the password, neither in the error nor
// in the logs.
func TestOpenWrongPassword(t *testing.T) {
	dsn := testdb.DSN(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const password = "not-the-password-7c1e"
	_, err := OpenWith(ctx, dsn, ConnectOptions{Password: password}, logger, nil)
	require.Error(t, err)
	t.Log(err)
	require.Regexp(t, `(?i)password|authentication`, err.Error())
	require.NotContains(t, err.Error(), password)
	require.NotContains(t, logs.String(), password)
}
