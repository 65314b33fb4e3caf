package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/sanse-campus/sanse/engine/benchkit"
	"github.com/sanse-campus/sanse/engine/store"
)

// benchClickHouse reaches the ClickHouse server of the DSN with the Go
// driver, for setting up and checking, and with clickhouse-client.
type benchClickHouse struct {
	dsn    *url.URL
	conn   driver.Conn
	client []string // the client command with its connection flags
}

// clickhouseClient returns the command of the ClickHouse client: the
// program of the Debian package or the single binary of the upstream
// packages; nil if there is neither.
func clickhouseClient() []string {
	if p, err := exec.LookPath("clickhouse-client"); err == nil {
		return []string{p}
	}
	if p, err := exec.LookPath("clickhouse"); err == nil {
		return []string{p, "client"}
	}
	return nil
}

func newBenchClickHouse(ctx context.Context, dsn string) (*benchClickHouse, error) {
	client := clickhouseClient()
	if client == nil {
		return nil, fmt.Errorf("neither clickhouse-client nor clickhouse is on PATH; deploy/clickhouse.sh installs them with the server")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse the ClickHouse DSN: %w", err)
	}
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse the ClickHouse DSN: %w", err)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, err
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("ClickHouse at %s: %w", u.Host, err)
	}
	return &benchClickHouse{dsn: u, conn: conn, client: benchkit.ClientArgs(client, u)}, nil
}

func (ch *benchClickHouse) close() { ch.conn.Close() }

// freshDSN returns the DSN of a new database name, sanse_bench_<random>.
func (ch *benchClickHouse) freshDSN() (dsn, database string) {
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	u := *ch.dsn
	database = "sanse_bench_" + hex.EncodeToString(suffix)
	u.Path = "/" + database
	return u.String(), database
}

// migrated creates a fresh database migrated by the store, as Sanse's own.
func (ch *benchClickHouse) migrated(ctx context.Context) (string, error) {
	dsn, database := ch.freshDSN()
	st, err := store.Open(ctx, dsn, nil, nil)
	if err != nil {
		return "", err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		ch.drop(database)
		return "", err
	}
	return database, nil
}

// drop drops database; errors are printed, not returned: it runs on the
// way out.
func (ch *benchClickHouse) drop(database string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := ch.conn.Exec(ctx, "DROP DATABASE IF EXISTS `"+database+"`"); err != nil {
		fmt.Fprintf(os.Stderr, "drop database %s: %v\n", database, err)
	}
}

// countEvents returns the rows of the events table of database and the
// distinct event ids among them: Sanse may write an event again (after a
// rebalance, or a retried insert that had succeeded), which its queries
// count once.
func (ch *benchClickHouse) countEvents(ctx context.Context, database string) (rows, ids uint64, err error) {
	err = ch.conn.QueryRow(ctx, "SELECT count(), uniqExact(id) FROM `"+database+"`.events").Scan(&rows, &ids)
	return rows, ids, err
}

// serverCPU returns the user and system CPU time the server has counted
// for its query and background threads since it started.
func (ch *benchClickHouse) serverCPU(ctx context.Context) (time.Duration, error) {
	var us uint64
	err := ch.conn.QueryRow(ctx, "SELECT sum(value) FROM system.events "+
		"WHERE event IN ('UserTimeMicroseconds', 'SystemTimeMicroseconds')").Scan(&us)
	return time.Duration(us) * time.Microsecond, err
}

// insertTSV runs clickhouse-client inserting the TSV file into the events
// table of database and returns how long the process took, start to exit,
// and its CPU time.
func (ch *benchClickHouse) insertTSV(database, path string) (wall, cpu time.Duration, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	query := fmt.Sprintf("INSERT INTO `%s`.events (%s) FORMAT TSV", database, benchkit.EventColumns)
	cmd := ch.command("--query", query)
	cmd.Stdin = f
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err = cmd.Run()
	wall = time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("clickhouse-client: %w: %s", err, stderr.String())
	}
	return wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

// command returns the client command with args after the connection flags.
func (ch *benchClickHouse) command(args ...string) *exec.Cmd {
	full := append(slices.Clone(ch.client), args...)
	return exec.Command(full[0], full[1:]...)
}
