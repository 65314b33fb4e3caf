// Package testdb gives a test a ClickHouse database of its own: the server
// from SANSE_CLICKHOUSE_DSN, a database name nobody else uses, dropped when
// the test ends. It is the one copy of that logic: engine/store's internal
// tests use it directly (they cannot import storetest, which imports
// store), everything else through engine/store/storetest.
//
// It leaves out opening and migrating a store; storetest.Fresh does that.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// DSN returns the DSN of the ClickHouse server for integration tests
// (SANSE_CLICKHOUSE_DSN). It skips the test under -short or when the
// variable is unset, except in CI (CI set), where that is a failure.
func DSN(tb testing.TB) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("integration test against ClickHouse; skipped with -short")
	}
	dsn := os.Getenv("SANSE_CLICKHOUSE_DSN")
	if dsn == "" {
		if os.Getenv("CI") != "" {
			tb.Fatal("SANSE_CLICKHOUSE_DSN is not set; in CI the ClickHouse tests must run (make test starts the server)")
		}
		tb.Skip("SANSE_CLICKHOUSE_DSN is not set; run deploy/clickhouse.sh start and " +
			"export SANSE_CLICKHOUSE_DSN=$(deploy/clickhouse.sh dsn)")
	}
	return dsn
}

// FreshDSN returns DSN with its database replaced by a new name
// (sanse_test_ and 12 random hex digits), which is not created here
// (store.Open creates it) and is dropped when the test ends, after the
// cleanups registered later (such as closing the store) have run.
func FreshDSN(tb testing.TB) string {
	tb.Helper()
	dsn := DSN(tb)
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("SANSE_CLICKHOUSE_DSN: %v", err)
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	db := "sanse_test_" + hex.EncodeToString(suffix)
	u.Path = "/" + db
	tb.Cleanup(func() { drop(tb, dsn, db) })
	return u.String()
}

// drop drops database db on the server of dsn.
func drop(tb testing.TB, dsn, db string) {
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		tb.Errorf("drop test database %s: %v", db, err)
		return
	}
	opts.Auth.Database = ""
	conn, err := clickhouse.Open(opts)
	if err != nil {
		tb.Errorf("drop test database %s: %v", db, err)
		return
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS `"+strings.ReplaceAll(db, "`", "")+"`"); err != nil {
		tb.Errorf("drop test database %s: %v", db, err)
	}
}
