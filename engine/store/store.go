package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultDSN is the database Sanse uses unless configured otherwise: sanse
// on the local server that deploy/clickhouse.sh starts (native protocol on
// port 19000).
const DefaultDSN = "clickhouse://127.0.0.1:19000/sanse"

// Table names.
const (
	tableEvents          = "events"
	tableRiskTransitions = "risk_transitions"
	tableLevelChanges    = "level_changes"
	tableMigrations      = "schema_migrations"
)

// codeUnknownDatabase is ClickHouse's UNKNOWN_DATABASE error code.
const codeUnknownDatabase = 81

// Store is Sanse's history in one ClickHouse database. It is safe for
// concurrent use; Write calls may run in parallel and each uses its own
// connection from the pool.
type Store struct {
	conn     driver.Conn
	database string
	logger   *slog.Logger
	metrics  *metrics
	migrated atomic.Bool
}

// Open connects to the ClickHouse server that dsn names
// (clickhouse://user:password@host:9000/database?dial_timeout=5s, the native
// protocol of clickhouse-go) and creates the database if it is missing. It
// does not migrate the schema: call Migrate before writing. A nil logger
// discards the logs; metrics are registered with reg, which may be nil. It
// is OpenWith without ConnectOptions.
func Open(ctx context.Context, dsn string, logger *slog.Logger, reg prometheus.Registerer) (*Store, error) {
	return OpenWith(ctx, dsn, ConnectOptions{}, logger, reg)
}

// ConnectOptions add to the DSN what is better kept out of it: the
// credentials, which can then come from a file, and a TLS configuration
// with a private CA or a client certificate.
type ConnectOptions struct {
	// Username, when not empty, replaces the DSN's user.
	Username string
	// Password, when not empty, replaces the DSN's password. It is never
	// logged nor put in an error.
	Password string
	// TLS, when not nil, makes the connection use TLS with this
	// configuration, in place of the DSN's secure and skip_verify
	// parameters (secure=true alone verifies against the system's roots).
	TLS *tls.Config
}

// OpenWith is Open with the credentials and TLS of co on top of the DSN.
func OpenWith(ctx context.Context, dsn string, co ConnectOptions, logger *slog.Logger, reg prometheus.Registerer) (*Store, error) {
	opts, err := clientOptions(dsn, co)
	if err != nil {
		return nil, err
	}

	conn, err := connect(ctx, opts)
	var exc *clickhouse.Exception
	if errors.As(err, &exc) && exc.Code == codeUnknownDatabase {
		if err := createDatabase(ctx, opts); err != nil {
			return nil, err
		}
		conn, err = connect(ctx, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to ClickHouse at %s: %w", strings.Join(opts.Addr, ","), err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		conn:     conn,
		database: opts.Auth.Database,
		logger:   logger.With("component", "store"),
		metrics:  newMetrics(reg),
	}
	if v, err := conn.ServerVersion(); err == nil {
		s.logger.Info("connected to ClickHouse", "addr", strings.Join(opts.Addr, ","), "database", s.database, "version", v.String())
	}
	return s, nil
}

// clientOptions returns the clickhouse-go options of dsn with co applied.
func clientOptions(dsn string, co ConnectOptions) (*clickhouse.Options, error) {
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		// The DSN may hold a password; the parse error does not repeat it.
		return nil, fmt.Errorf("parse ClickHouse DSN: %w", err)
	}
	if opts.Protocol != clickhouse.Native {
		return nil, fmt.Errorf("ClickHouse DSN: only the native protocol (clickhouse://host:port/database) is supported, not %s", opts.Protocol)
	}
	if opts.Auth.Database == "" {
		opts.Auth.Database = "default"
	}
	if co.Username != "" {
		opts.Auth.Username = co.Username
	}
	if co.Password != "" {
		opts.Auth.Password = co.Password
	}
	if co.TLS != nil {
		opts.TLS = co.TLS.Clone()
	}
	return opts, nil
}

// connect opens a connection pool and checks that the server answers.
func connect(ctx context.Context, opts *clickhouse.Options) (driver.Conn, error) {
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, err
	}
	if err := conn.Ping(ctx); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return conn, nil
}

// createDatabase creates the database of opts through a connection to the
// user's default database, since a connection to a missing one is refused.
func createDatabase(ctx context.Context, opts *clickhouse.Options) error {
	boot := *opts
	boot.Auth.Database = ""
	conn, err := connect(ctx, &boot)
	if err != nil {
		return fmt.Errorf("connect to ClickHouse to create database %q: %w", opts.Auth.Database, err)
	}
	defer conn.Close()
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(opts.Auth.Database)); err != nil {
		return fmt.Errorf("create database %q: %w", opts.Auth.Database, err)
	}
	return nil
}

// quoteIdent quotes a ClickHouse identifier.
func quoteIdent(name string) string {
	return "`" + strings.NewReplacer("\\", "\\\\", "`", "\\`").Replace(name) + "`"
}

// Database returns the name of the database the store uses.
func (s *Store) Database() string { return s.database }

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.conn.Ping(ctx); err != nil {
		return fmt.Errorf("ping ClickHouse: %w", err)
	}
	return nil
}

// Close closes the connections. Calls in flight fail.
func (s *Store) Close() error {
	if err := s.conn.Close(); err != nil {
		return fmt.Errorf("close ClickHouse connection: %w", err)
	}
	return nil
}
