package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/store/internal/testdb"
	"github.com/sanse-campus/sanse/engine/words"
)

// openTest opens a store on a fresh database of its own, dropped when the
// test ends, and migrates it. (storetest.Fresh is the same for external
// tests; this package cannot import storetest, which imports it.)
func openTest(tb testing.TB, reg prometheus.Registerer) *Store {
	tb.Helper()
	s := openFresh(tb, reg)
	require.NoError(tb, s.Migrate(tb.Context()))
	return s
}

// openFresh opens a store on a fresh database without migrating it.
func openFresh(tb testing.TB, reg prometheus.Registerer) *Store {
	tb.Helper()
	logger := slog.New(slog.DiscardHandler)
	s, err := Open(tb.Context(), testdb.FreshDSN(tb), logger, reg)
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, s.Close()) })
	return s
}

func TestOpenCreatesDatabase(t *testing.T) {
	s := openFresh(t, nil)
	var n uint64
	require.NoError(t, s.conn.QueryRow(t.Context(), "SELECT count() FROM system.databases WHERE name = ?", s.Database()).Scan(&n))
	require.Equal(t, uint64(1), n)
	require.NoError(t, s.Ping(t.Context()))
	require.False(t, s.Migrated())
}

func TestOpenRejectsBadDSN(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		name, dsn, want string
	}{
		{name: "http protocol", dsn: "http://127.0.0.1:8123/default", want: "only the native protocol"},
		{name: "not a URL", dsn: "clickhouse://[::1", want: "parse ClickHouse DSN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(t.Context(), tc.dsn, logger, nil)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	s := openFresh(t, nil)
	require.NoError(t, s.Migrate(t.Context()))
	require.True(t, s.Migrated())
	require.NoError(t, s.Migrate(t.Context()))

	sub, err := migrationFS()
	require.NoError(t, err)
	migrations, err := loadMigrations(sub)
	require.NoError(t, err)

	// Each migration recorded once, not once per Migrate.
	rows, err := s.conn.Query(t.Context(), "SELECT version, name FROM schema_migrations ORDER BY version")
	require.NoError(t, err)
	defer rows.Close()
	var got []string
	for rows.Next() {
		var (
			v    uint32
			name string
		)
		require.NoError(t, rows.Scan(&v, &name))
		got = append(got, fmt.Sprintf("%04d %s", v, name))
	}
	require.NoError(t, rows.Err())
	var want []string
	for _, m := range migrations {
		want = append(want, fmt.Sprintf("%04d %s", m.version, m.file))
	}
	require.Equal(t, want, got)

	for _, table := range []string{tableEvents, tableRiskTransitions, tableLevelChanges} {
		var n uint64
		require.NoError(t, s.conn.QueryRow(t.Context(),
			"SELECT count() FROM system.tables WHERE database = ? AND name = ?", s.Database(), table).Scan(&n))
		require.Equal(t, uint64(1), n, table)
	}
}

func TestMigrateReportsFailingFile(t *testing.T) {
	s := openFresh(t, nil)
	ok := "CREATE TABLE IF NOT EXISTS t1 (a UInt8) ENGINE = MergeTree() ORDER BY a;\n"
	broken := fstest.MapFS{
		"0001_first.sql":  {Data: []byte(ok)},
		"0002_broken.sql": {Data: []byte("CREATE TABLE IF NOT EXISTS t2 (a UInt8) ENGINE = NoSuchEngine;\n")},
	}
	err := s.migrate(t.Context(), broken)
	require.ErrorContains(t, err, "0002_broken.sql")
	require.False(t, s.Migrated())

	// The first migration stays applied; after the fix only the second runs.
	fixed := fstest.MapFS{
		"0001_first.sql":  {Data: []byte(ok)},
		"0002_broken.sql": {Data: []byte("CREATE TABLE IF NOT EXISTS t2 (a UInt8) ENGINE = MergeTree() ORDER BY a;\n")},
	}
	require.NoError(t, s.migrate(t.Context(), fixed))
	require.True(t, s.Migrated())
	var n uint64
	require.NoError(t, s.conn.QueryRow(t.Context(), "SELECT count() FROM schema_migrations").Scan(&n))
	require.Equal(t, uint64(2), n)

	// A version applied under another name is refused.
	renamed := fstest.MapFS{"0001_other.sql": {Data: []byte(ok)}}
	require.ErrorContains(t, s.migrate(t.Context(), renamed), "0001 was applied as 0001_first.sql but is now 0001_other.sql")
}

func TestLoadMigrations(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files fstest.MapFS
		want  []migration // checksums are not compared
		err   string
	}{
		{
			name: "ordered by version, comments and blank pieces dropped",
			files: fstest.MapFS{
				"0002_b.sql": {Data: []byte("-- two statements\nCREATE TABLE a (x UInt8)\nENGINE = Memory;\n\nDROP TABLE a;\n-- trailing comment\n")},
				"0001_a.sql": {Data: []byte("SELECT 1")},
				"README.md":  {Data: []byte("not a migration")},
			},
			want: []migration{
				{version: 1, file: "0001_a.sql", statements: []string{"SELECT 1"}},
				{version: 2, file: "0002_b.sql", statements: []string{
					"-- two statements\nCREATE TABLE a (x UInt8)\nENGINE = Memory",
					"DROP TABLE a",
				}},
			},
		},
		{
			name:  "bad name",
			files: fstest.MapFS{"1_init.sql": {Data: []byte("SELECT 1;")}, "0001_Init.sql": {Data: []byte("SELECT 1;")}},
			err:   "invalid migrations: 0001_Init.sql: name is not NNNN_name.sql (lower case, digits and _); 1_init.sql: name is not",
		},
		{
			name:  "duplicate version",
			files: fstest.MapFS{"0001_a.sql": {Data: []byte("SELECT 1;")}, "0001_b.sql": {Data: []byte("SELECT 2;")}},
			err:   "0001_b.sql: version 0001 is also used by 0001_a.sql",
		},
		{
			name:  "version zero",
			files: fstest.MapFS{"0000_a.sql": {Data: []byte("SELECT 1;")}},
			err:   "0000_a.sql: versions start at 0001",
		},
		{
			name:  "only comments",
			files: fstest.MapFS{"0001_a.sql": {Data: []byte("-- nothing yet\n")}},
			err:   "0001_a.sql: no statement",
		},
		{
			name:  "a column added with a comment before it",
			files: fstest.MapFS{"0001_a.sql": {Data: []byte("-- why\nALTER TABLE t ADD COLUMN c String;\n")}},
			want:  []migration{{version: 1, file: "0001_a.sql", statements: []string{"-- why\nALTER TABLE t ADD COLUMN c String"}}},
		},
		{
			name:  "ADD COLUMN IF NOT EXISTS, which 18.16 refuses",
			files: fstest.MapFS{"0001_a.sql": {Data: []byte("SELECT 1;\nALTER TABLE t ADD COLUMN IF NOT EXISTS c String;\n")}},
			err:   "0001_a.sql: statement 2: ClickHouse 18.16 does not accept ADD COLUMN IF NOT EXISTS",
		},
		{
			name:  "two columns in one statement",
			files: fstest.MapFS{"0001_a.sql": {Data: []byte("ALTER TABLE t ADD COLUMN c String, ADD COLUMN d String;\n")}},
			err:   "0001_a.sql: statement 1: add one column per statement",
		},
		{
			name:  "a column added among other changes",
			files: fstest.MapFS{"0001_a.sql": {Data: []byte("ALTER TABLE t DROP COLUMN b, ADD COLUMN c String;\n")}},
			err:   "0001_a.sql: statement 1: write a column addition as ALTER TABLE table ADD COLUMN name type",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := loadMigrations(tc.files)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			for i := range got {
				require.Len(t, got[i].checksum, 64)
				got[i].checksum = ""
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseAddColumn(t *testing.T) {
	for _, tc := range []struct {
		name string
		stmt string
		want columnAddition
		ok   bool
	}{
		{name: "plain", stmt: "ALTER TABLE risk_transitions ADD COLUMN actor String",
			want: columnAddition{table: "risk_transitions", column: "actor", decl: "String"}, ok: true},
		{name: "qualified, after a column, lower case", stmt: "alter table db.t add column c Array(String) after b",
			want: columnAddition{database: "db", table: "t", column: "c", decl: "Array(String)"}, ok: true},
		{name: "default and comments", stmt: "-- why\nALTER TABLE t\n    ADD COLUMN n  UInt32   DEFAULT 0 -- none yet",
			want: columnAddition{table: "t", column: "n", decl: "UInt32 DEFAULT 0"}, ok: true},
		{name: "another statement", stmt: "CREATE TABLE IF NOT EXISTS t (a UInt8) ENGINE = Memory"},
		{name: "two columns", stmt: "ALTER TABLE t ADD COLUMN c String, ADD COLUMN d String"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseAddColumn(tc.stmt)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, got)
		})
	}
}

// columnsOf returns the columns of a table of the store's database as
// "name type", in order.
func columnsOf(t *testing.T, s *Store, table string) []string {
	t.Helper()
	// DESCRIBE keeps the table's order; system.columns has no position
	// column in 18.16.
	rows, err := s.conn.Query(t.Context(), "DESCRIBE TABLE "+table)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		fields := make([]string, len(rows.Columns()))
		dest := make([]any, len(fields))
		for i := range fields {
			dest[i] = &fields[i]
		}
		require.NoError(t, rows.Scan(dest...))
		out = append(out, fields[0]+" "+fields[1])
	}
	require.NoError(t, rows.Err())
	return out
}

func TestMigrateRepeatsAddColumn(t *testing.T) {
	s := openFresh(t, nil)
	files := fstest.MapFS{
		"0001_table.sql":   {Data: []byte("CREATE TABLE IF NOT EXISTS t (a UInt8) ENGINE = MergeTree() ORDER BY a;\n")},
		"0002_columns.sql": {Data: []byte("ALTER TABLE t ADD COLUMN b String;\nALTER TABLE t ADD COLUMN c Array(String);\n")},
	}
	// A run of 0002 that failed after its first statement: b is there, the
	// migration is not recorded.
	require.NoError(t, s.migrate(t.Context(), fstest.MapFS{"0001_table.sql": files["0001_table.sql"]}))
	require.NoError(t, s.conn.Exec(t.Context(), "ALTER TABLE t ADD COLUMN b String"))

	require.NoError(t, s.migrate(t.Context(), files))
	require.Equal(t, []string{"a UInt8", "b String", "c Array(String)"}, columnsOf(t, s, "t"))

	// A column of another type is not taken for the one the migration adds.
	files["0003_retype.sql"] = &fstest.MapFile{Data: []byte("ALTER TABLE t ADD COLUMN c String;\n")}
	err := s.migrate(t.Context(), files)
	require.ErrorContains(t, err, "0003_retype.sql, statement 1: column t.c exists with type Array(String), the migration adds String")
}

// TestMigrateWithoutRecords runs the embedded migrations on a database that
// has the schema but no record of it: a server whose schema_migrations was
// lost, or a node of a cluster whose schema the operator applied.
func TestMigrateWithoutRecords(t *testing.T) {
	s := openTest(t, nil)
	want := columnsOf(t, s, tableRiskTransitions)
	require.Contains(t, want, "actor String")
	require.Contains(t, want, "comment String")

	require.NoError(t, s.conn.Exec(t.Context(), "DROP TABLE "+tableMigrations))
	require.NoError(t, s.Migrate(t.Context()))
	require.Equal(t, want, columnsOf(t, s, tableRiskTransitions))
}

// TestMigrateConcurrently runs the migrations from several instances at
// once, as replicas starting together do: every one succeeds, including the
// one whose ADD COLUMN lost the race.
func TestMigrateConcurrently(t *testing.T) {
	for round := range 5 {
		s := openFresh(t, nil)
		errs := make([]error, 4)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() { errs[i] = s.Migrate(t.Context()) })
		}
		wg.Wait()
		for i, err := range errs {
			require.NoError(t, err, "round %d, instance %d", round, i)
		}
	}
}

func TestEmbeddedMigrationsLoad(t *testing.T) {
	sub, err := migrationFS()
	require.NoError(t, err)
	migrations, err := loadMigrations(sub)
	require.NoError(t, err)
	require.NotEmpty(t, migrations)
	for i, m := range migrations {
		require.Equal(t, uint32(i+1), m.version, "migration versions have no gaps")
	}
}

var t0 = time.Date(2025, 5, 12, 7, 30, 0, 0, time.UTC)

// at returns t0 plus ms milliseconds.
func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// testBatch returns a batch as the engine would produce it: three events at
// two schools, two risk transitions and two colour changes.
func testBatch() *engine.Batch {
	risk := engine.Risk{
		Rule: "visitor_blacklist", Key: "gate-1", Source: engine.SourceVisitor, Severity: engine.SeverityHigh,
		Title: "禁入名单人员到访", Description: "东门：3304**********123X 到访",
		FirstSeen: at(123), LastSeen: at(123), Until: at(123).Add(24 * time.Hour), Count: 1,
		Evidence: []string{"ev-1"},
	}
	updated := risk
	updated.LastSeen, updated.Until, updated.Count = at(60_456), at(60_456).Add(24*time.Hour), 2
	updated.Evidence = []string{"ev-1", "ev-2"}
	return &engine.Batch{
		Events: []engine.Event{
			{
				ID: "ev-1", SchoolID: "s1", Source: engine.SourceVisitor, Type: "entry", OccurredAt: at(123),
				Reporter: "gate-1", PersonHash: "9f2c0d", Payload: []byte(`{"id":"ev-1","visitor_hash":"9f2c0d"}`),
				Origin: engine.Origin{Topic: "campus.visitor", Partition: 3, Offset: 41},
			},
			{
				ID: "ev-2", SchoolID: "s1", Source: engine.SourceVisitor, Type: "entry", OccurredAt: at(60_456),
				Payload: []byte(`{"id":"ev-2"}`), Origin: engine.Origin{Topic: "campus.visitor", Partition: 3, Offset: 42},
			},
			{
				ID: "ev-3", SchoolID: "s2", Source: engine.SourceCanteen, Type: "ai_violation", OccurredAt: at(999),
				Payload: []byte(`{"id":"ev-3","violation":"no_hat"}`), Origin: engine.Origin{Topic: "campus.canteen", Offset: 7},
			},
		},
		Output: engine.Output{
			Transitions: []engine.RiskTransition{
				{ID: "ev-1:visitor_blacklist/gate-1", SchoolID: "s1", At: at(123), State: engine.RiskOpened, EventID: "ev-1", Risk: risk},
				{ID: "ev-2:visitor_blacklist/gate-1", SchoolID: "s1", At: at(60_456), State: engine.RiskUpdated, EventID: "ev-2", Risk: updated},
			},
			Changes: []engine.LevelChange{
				{
					ID: "ev-1:visitor_blacklist/gate-1", SchoolID: "s1", At: at(123), From: engine.LevelGreen, To: engine.LevelRed,
					Cause: engine.Cause{How: engine.RiskOpened, Rule: "visitor_blacklist", Key: "gate-1",
						Title: "禁入名单人员到访", Severity: engine.SeverityHigh}, EventID: "ev-1", ActiveRisks: 1,
				},
				{
					ID: "expired:visitor_blacklist/gate-1:1747121256456", SchoolID: "s1", At: at(60_456).Add(24 * time.Hour),
					From: engine.LevelRed, To: engine.LevelGreen,
					// As a change stored before causes were kept field by field.
					Cause: engine.Cause{Rule: "visitor_blacklist", Text: "风险已到期解除：禁入名单人员到访"},
				},
			},
		},
	}
}

// readBack returns changes as the store reads them back: with the sentence
// written for the history, rendered from the cause's fields, beside them.
func readBack(changes []engine.LevelChange) []engine.LevelChange {
	out := slices.Clone(changes)
	for i := range out {
		out[i].Cause.Text = words.Cause(out[i].Cause, words.Chinese)
	}
	return out
}

type replayed struct {
	Payload string
	Origin  engine.Origin
}

func replayAll(t *testing.T, s *Store, since time.Time) []replayed {
	t.Helper()
	var out []replayed
	require.NoError(t, s.ReplayEvents(t.Context(), since, func(payload []byte, origin engine.Origin) error {
		out = append(out, replayed{string(payload), origin})
		return nil
	}))
	return out
}

func TestWriteRoundTrip(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := openTest(t, reg)
	b := testBatch()
	require.NoError(t, s.Write(t.Context(), b))
	stored := readBack(b.Changes)
	require.Equal(t, "新增高风险：禁入名单人员到访", stored[0].Cause.Text)

	for _, tc := range []struct {
		name     string
		from, to time.Time
		want     []engine.LevelChange
	}{
		{name: "everything", from: t0, to: t0.Add(48 * time.Hour), want: stored},
		{name: "from is inclusive to the millisecond", from: at(123), to: at(124), want: stored[:1]},
		{name: "to is exclusive to the millisecond", from: t0, to: at(123), want: nil},
		{name: "from after the first change", from: at(124), to: t0.Add(48 * time.Hour), want: stored[1:]},
	} {
		t.Run("timeline "+tc.name, func(t *testing.T) {
			got, err := s.Timeline(t.Context(), "s1", tc.from, tc.to)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	other, err := s.Timeline(t.Context(), "s2", t0, t0.Add(48*time.Hour))
	require.NoError(t, err)
	require.Empty(t, other)

	transitions, err := s.RiskTransitions(t.Context(), "s1", t0, t0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, b.Transitions, transitions)

	require.Equal(t, []replayed{
		{`{"id":"ev-1","visitor_hash":"9f2c0d"}`, engine.Origin{Topic: "campus.visitor", Partition: 3, Offset: 41}},
		{`{"id":"ev-3","violation":"no_hat"}`, engine.Origin{Topic: "campus.canteen", Offset: 7}},
		{`{"id":"ev-2"}`, engine.Origin{Topic: "campus.visitor", Partition: 3, Offset: 42}},
	}, replayAll(t, s, t0))

	for _, tc := range []struct {
		school string
		want   uint64
	}{{"s1", 2}, {"s2", 1}, {"", 3}, {"s9", 0}} {
		n, err := s.CountEvents(t.Context(), tc.school)
		require.NoError(t, err)
		require.Equal(t, tc.want, n, "school %q", tc.school)
	}

	// The other stored columns, as a person querying ClickHouse sees them.
	var (
		source, typ, reporter, visitorHash string
		occurredAt                         time.Time
	)
	require.NoError(t, s.conn.QueryRow(t.Context(),
		"SELECT source, type, reporter, visitor_hash, occurred_at FROM events WHERE id = 'ev-1'").
		Scan(&source, &typ, &reporter, &visitorHash, &occurredAt))
	require.Equal(t, []string{"visitor", "entry", "gate-1", "9f2c0d"}, []string{source, typ, reporter, visitorHash})
	require.True(t, t0.Equal(occurredAt), "occurred_at %s", occurredAt)

	for table, rows := range map[string]int{tableEvents: 3, tableRiskTransitions: 2, tableLevelChanges: 2} {
		require.Equal(t, float64(rows), testutil.ToFloat64(s.metrics.insertRows.WithLabelValues(table)), table)
		require.Zero(t, testutil.ToFloat64(s.metrics.insertErrors.WithLabelValues(table)), table)
	}
}

func TestWriteTwiceCountsOnce(t *testing.T) {
	s := openTest(t, nil)
	tables := []string{tableEvents, tableRiskTransitions, tableLevelChanges}
	// Keep the repeats apart until the test merges them.
	for _, table := range tables {
		require.NoError(t, s.conn.Exec(t.Context(), "SYSTEM STOP MERGES "+quoteIdent(s.Database())+"."+table))
	}
	b := testBatch()
	require.NoError(t, s.Write(t.Context(), b))
	// A redelivery: the same batch, then a batch holding part of it.
	require.NoError(t, s.Write(t.Context(), b))
	part := &engine.Batch{Events: b.Events[1:2], Output: engine.Output{Changes: b.Changes[1:]}}
	require.NoError(t, s.Write(t.Context(), part))

	check := func(t *testing.T) {
		n, err := s.CountEvents(t.Context(), "")
		require.NoError(t, err)
		require.Equal(t, uint64(3), n)
		n, err = s.CountEvents(t.Context(), "s1")
		require.NoError(t, err)
		require.Equal(t, uint64(2), n)
		timeline, err := s.Timeline(t.Context(), "s1", t0, t0.Add(48*time.Hour))
		require.NoError(t, err)
		require.Equal(t, readBack(b.Changes), timeline)
		transitions, err := s.RiskTransitions(t.Context(), "s1", t0, t0.Add(48*time.Hour))
		require.NoError(t, err)
		require.Equal(t, b.Transitions, transitions)
		require.Len(t, replayAll(t, s, t0), 3)
	}
	rawRows := func(table string) uint64 {
		var n uint64
		require.NoError(t, s.conn.QueryRow(t.Context(), "SELECT count() FROM "+table).Scan(&n))
		return n
	}

	t.Run("before merge", func(t *testing.T) {
		require.Equal(t, []uint64{7, 4, 5}, []uint64{rawRows(tableEvents), rawRows(tableRiskTransitions), rawRows(tableLevelChanges)})
		check(t)
	})
	for _, table := range tables {
		require.NoError(t, s.conn.Exec(t.Context(), "SYSTEM START MERGES "+quoteIdent(s.Database())+"."+table))
		require.NoError(t, s.conn.Exec(t.Context(), "OPTIMIZE TABLE "+table+" FINAL"))
	}
	t.Run("after merge", func(t *testing.T) {
		require.Equal(t, []uint64{3, 2, 2}, []uint64{rawRows(tableEvents), rawRows(tableRiskTransitions), rawRows(tableLevelChanges)})
		check(t)
	})
}

func TestReplayEventsOrderAndSince(t *testing.T) {
	s := openTest(t, nil)
	event := func(id, school string, ms int) engine.Event {
		return engine.Event{
			ID: id, SchoolID: school, Source: engine.SourceDrowning, Type: "patrol", OccurredAt: at(ms),
			Payload: []byte(id), Origin: engine.Origin{Topic: "campus.drowning"},
		}
	}
	// Out of order, over two batches and two months (two partitions), with
	// ties on the millisecond broken by id.
	require.NoError(t, s.Write(t.Context(), &engine.Batch{Events: []engine.Event{
		event("e5", "s1", 40*24*3600_000), event("e3", "s2", 1001), event("e1", "s1", -1),
	}}))
	require.NoError(t, s.Write(t.Context(), &engine.Batch{Events: []engine.Event{
		event("e4", "s1", 1001), event("e2", "s2", 1000), event("e0", "s2", -2000),
	}}))

	for _, tc := range []struct {
		name  string
		since time.Time
		want  []string
	}{
		{name: "all", since: at(-10_000), want: []string{"e0", "e1", "e2", "e3", "e4", "e5"}},
		{name: "since is inclusive to the millisecond", since: at(-1), want: []string{"e1", "e2", "e3", "e4", "e5"}},
		{name: "one millisecond later", since: at(0), want: []string{"e2", "e3", "e4", "e5"}},
		{name: "within the same second", since: at(1001), want: []string{"e3", "e4", "e5"}},
		{name: "next month", since: at(1002), want: []string{"e5"}},
		{name: "nothing", since: at(40*24*3600_000 + 1), want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, r := range replayAll(t, s, tc.since) {
				got = append(got, r.Payload)
			}
			require.Equal(t, tc.want, got)
		})
	}

	t.Run("an error from fn stops the replay", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := s.ReplayEvents(t.Context(), t0.Add(-time.Hour), func([]byte, engine.Origin) error {
			calls++
			if calls == 2 {
				return stop
			}
			return nil
		})
		require.ErrorIs(t, err, stop)
		require.Equal(t, 2, calls)
	})
}

func TestStoredOffsets(t *testing.T) {
	s := openTest(t, nil)
	event := func(id string, ms int, topic string, partition int, offset int64) engine.Event {
		return engine.Event{
			ID: id, SchoolID: "s1", Source: engine.SourceDrowning, Type: "patrol", OccurredAt: at(ms),
			Payload: []byte(id), Origin: engine.Origin{Topic: topic, Partition: partition, Offset: offset},
		}
	}
	// The highest offset of a partition need not be its newest event: a
	// late event comes after newer ones.
	require.NoError(t, s.Write(t.Context(), &engine.Batch{Events: []engine.Event{
		event("e1", 10_000, "campus.drowning", 0, 5),
		event("e2", 20_000, "campus.drowning", 0, 6),
		event("e3", 5_000, "campus.drowning", 0, 9),
		event("e4", 20_000, "campus.drowning", 1, 2),
		event("e5", 20_000, "campus.visitor", 0, 70),
		event("e6", -3_600_000, "campus.visitor", 1, 80),
		event("e7", 30_000, "", 0, 0), // not read from Kafka
	}}))
	// Written twice, as after a failed flush: the same offsets.
	require.NoError(t, s.Write(t.Context(), &engine.Batch{Events: []engine.Event{event("e2", 20_000, "campus.drowning", 0, 6)}}))

	got, err := s.StoredOffsets(t.Context(), at(-7_200_000))
	require.NoError(t, err)
	require.Equal(t, []StoredOffset{
		{Topic: "campus.drowning", Partition: 0, Offset: 9, EventID: "e3"},
		{Topic: "campus.drowning", Partition: 1, Offset: 2, EventID: "e4"},
		{Topic: "campus.visitor", Partition: 0, Offset: 70, EventID: "e5"},
		{Topic: "campus.visitor", Partition: 1, Offset: 80, EventID: "e6"},
	}, got)

	got, err = s.StoredOffsets(t.Context(), at(6_000))
	require.NoError(t, err)
	require.Equal(t, []StoredOffset{
		{Topic: "campus.drowning", Partition: 0, Offset: 6, EventID: "e2"},
		{Topic: "campus.drowning", Partition: 1, Offset: 2, EventID: "e4"},
		{Topic: "campus.visitor", Partition: 0, Offset: 70, EventID: "e5"},
	}, got, "events that occurred before since are left out")

	got, err = s.StoredOffsets(t.Context(), at(40_000))
	require.NoError(t, err)
	require.Empty(t, got)
}

func TestWriteCancelled(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := openTest(t, reg)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Write(ctx, testBatch())
	require.ErrorIs(t, err, context.Canceled)
	n, err := s.CountEvents(t.Context(), "")
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, float64(1), testutil.ToFloat64(s.metrics.insertErrors.WithLabelValues(tableRiskTransitions)))
}

func TestWriteEmptyBatch(t *testing.T) {
	s := openTest(t, nil)
	require.NoError(t, s.Write(t.Context(), &engine.Batch{}))
	n, err := s.CountEvents(t.Context(), "")
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestWriteTimesOutsideDateTime(t *testing.T) {
	s := openTest(t, nil)
	far := time.Date(2200, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	old := time.Date(1960, 1, 2, 3, 4, 5, 7_000_000, time.UTC)
	b := &engine.Batch{Events: []engine.Event{
		{ID: "far", SchoolID: "s1", Source: engine.SourceBullying, Type: "report", OccurredAt: far, Payload: []byte("far")},
		{ID: "old", SchoolID: "s1", Source: engine.SourceBullying, Type: "report", OccurredAt: old, Payload: []byte("old")},
	}, Output: engine.Output{Changes: []engine.LevelChange{
		{ID: "c-far", SchoolID: "s1", At: far, From: engine.LevelGreen, To: engine.LevelYellow},
	}}}
	require.NoError(t, s.Write(t.Context(), b))

	var got []string
	for _, r := range replayAll(t, s, old) {
		got = append(got, r.Payload)
	}
	require.Equal(t, []string{"old", "far"}, got)
	got = got[:0]
	for _, r := range replayAll(t, s, far.Add(-time.Millisecond)) {
		got = append(got, r.Payload)
	}
	require.Equal(t, []string{"far"}, got)

	timeline, err := s.Timeline(t.Context(), "s1", far, far.Add(time.Millisecond))
	require.NoError(t, err)
	require.Equal(t, readBack(b.Changes), timeline)
}

// A batch larger than a block goes to the server in several blocks of one
// insert: every event stored once, in order, as one part (the server
// squashes the blocks). An insert cut off after some blocks may leave them
// stored (ClickHouse 18.16 does, at times): the write is retried whole, and
// queries count each id once (TestWriteTwiceCountsOnce).
func TestWriteEventsInBlocks(t *testing.T) {
	s := openTest(t, nil)
	require.NoError(t, s.conn.Exec(t.Context(), "SYSTEM STOP MERGES "+quoteIdent(s.Database())+"."+tableEvents))
	n := 2*eventBlockRows + 3
	events := make([]engine.Event, n)
	for i := range events {
		events[i] = engine.Event{
			ID: fmt.Sprintf("ev-%06d", i), SchoolID: fmt.Sprintf("s%d", i%7), Source: engine.SourceCanteen, Type: "inspection",
			OccurredAt: at(i), Payload: []byte(fmt.Sprintf(`{"id":"ev-%06d"}`, i)),
			Origin: engine.Origin{Topic: "campus.canteen", Partition: i % 3, Offset: int64(i)},
		}
	}
	require.NoError(t, s.Write(t.Context(), &engine.Batch{Events: events}))

	got := replayAll(t, s, t0)
	require.Len(t, got, n)
	for i, r := range got {
		require.Equal(t, string(events[i].Payload), r.Payload)
		require.Equal(t, events[i].Origin, r.Origin)
	}
	var parts uint64
	require.NoError(t, s.conn.QueryRow(t.Context(),
		"SELECT count() FROM system.parts WHERE database = ? AND table = ? AND active", s.Database(), tableEvents).Scan(&parts))
	require.Equal(t, uint64(1), parts, "one insert, one part")
}
