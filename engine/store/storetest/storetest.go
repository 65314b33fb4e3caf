// Package storetest holds what tests need of the ClickHouse store: a fresh
// database per test (Fresh, FreshDSN) and the behaviour every
// implementation of the stores that engine/alert and engine/notify declare
// must show (TestAlertStore, TestOutboxStore), run against the real store
// by engine/store's tests and against the hand-written fakes by theirs, so
// that a fake cannot drift from the real thing.
//
// It leaves out the history tables (events, risks, colours): their tests
// stay beside the store.
package storetest

import (
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine/store"
	"github.com/sanse-campus/sanse/engine/store/internal/testdb"
)

// DSN returns the DSN of the ClickHouse server for integration tests
// (SANSE_CLICKHOUSE_DSN). It skips the test under -short or when the
// variable is unset, except in CI (CI set), where that is a failure.
func DSN(tb testing.TB) string {
	tb.Helper()
	return testdb.DSN(tb)
}

// FreshDSN returns a DSN naming a database of the test's own on that
// server, not yet created, dropped when the test ends.
func FreshDSN(tb testing.TB) string {
	tb.Helper()
	return testdb.FreshDSN(tb)
}

// Fresh opens a store on a database of the test's own and migrates it;
// the store is closed and the database dropped when the test ends.
// Metrics are registered with reg, which may be nil.
func Fresh(tb testing.TB, reg prometheus.Registerer) *store.Store {
	tb.Helper()
	dsn := testdb.FreshDSN(tb)
	s, err := store.Open(tb.Context(), dsn, slog.New(slog.DiscardHandler), reg)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	require.NoError(tb, s.Migrate(tb.Context()))
	return s
}
