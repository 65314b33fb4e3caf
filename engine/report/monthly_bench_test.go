package report_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/hazard"
	"github.com/sanse-campus/sanse/engine/report"
	"github.com/sanse-campus/sanse/engine/store"
	"github.com/sanse-campus/sanse/engine/store/storetest"
	"github.com/sanse-campus/sanse/rules"
)

// BenchmarkMonthlyReport makes the monthly report of a district of 500
// schools over a month of history at the calibrated simulator's rate
// (about 13 million events; see monthgen_test.go), stored in a ClickHouse
// database of its own: building it from the history, rendering HTML and
// CSV, and the whole Generate without and with PDF. Each sub-benchmark
// reports the minimum, median and maximum of its runs (run several with
// -benchtime Nx).
//
// Generating the month takes minutes, so it runs only with
// SANSE_REPORT_BENCH=1 (and SANSE_CLICKHOUSE_DSN):
//
//	SANSE_REPORT_BENCH=1 SANSE_CLICKHOUSE_DSN=clickhouse://127.0.0.1:19000/default \
//	    go test -run '^$' -bench '^BenchmarkMonthlyReport$' -benchtime 7x -timeout 2h ./engine/report/
//
// SANSE_REPORT_BENCH_DAYS generates fewer days; SANSE_REPORT_BENCH_DB
// names a database to generate into once and keep (it is not dropped), so
// that later runs, e.g. with -cpuprofile, time the report alone.
func BenchmarkMonthlyReport(b *testing.B) {
	h := monthHistory(b)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, engine.Shanghai) // the run of the 1st
	from, to := report.Previous(report.KindMonthly, now, engine.Shanghai)
	spec := report.Spec{Kind: report.KindMonthly, Scope: report.Scope{District: monthDistrict}, From: from, To: to}
	opts := report.Options{
		History:  h.st,
		Registry: func() *engine.Registry { return h.reg },
		Rules:    func() *rules.Set { return h.set },
		BaseURL:  "https://sanse.example.edu.cn",
		Now:      func() time.Time { return now },
	}

	b.Run("build", func(b *testing.B) {
		th := &timedHistory{History: h.st}
		o := opts
		o.History = th
		bld := report.New(o)
		var r *report.Report
		runs := timeRuns(b, func() {
			var err error
			r, err = bld.Build(ctx, spec)
			require.NoError(b, err)
		})
		logReport(b, r)
		th.log(b, len(runs))
	})
	r, err := report.New(opts).Build(ctx, spec)
	require.NoError(b, err)
	b.Run("render", func(b *testing.B) {
		var html, csv []byte
		timeRuns(b, func() {
			var err error
			html, err = report.RenderHTML(r, opts.BaseURL)
			require.NoError(b, err)
			csv, err = report.RenderCSV(r)
			require.NoError(b, err)
		})
		b.ReportMetric(float64(len(html)), "html-bytes")
		b.ReportMetric(float64(len(csv)), "csv-bytes")
	})
	b.Run("generate", func(b *testing.B) {
		bld := report.New(opts)
		timeRuns(b, func() {
			_, err := bld.Generate(ctx, spec)
			require.NoError(b, err)
		})
	})
	b.Run("generate+pdf", func(b *testing.B) {
		pdf, err := report.FindChromium("")
		require.NoError(b, err)
		if pdf == nil {
			b.Skip("no Chromium on PATH for PDF")
		}
		o := opts
		o.PDF, o.Logger = pdf, slog.New(slog.NewTextHandler(os.Stderr, nil))
		bld := report.New(o)
		var out *report.Output
		timeRuns(b, func() {
			var err error
			out, err = bld.Generate(ctx, spec)
			require.NoError(b, err)
			require.NotNil(b, out.PDF, "the PDF renderer failed")
		})
		b.ReportMetric(float64(len(out.PDF)), "pdf-bytes")
		if dir := os.Getenv("SANSE_REPORT_BENCH_OUT"); dir != "" {
			for _, f := range []report.Format{report.FormatHTML, report.FormatCSV, report.FormatPDF} {
				data, _ := out.Content(f)
				require.NoError(b, os.WriteFile(dir+"/"+out.FileName(f), data, 0o644))
			}
		}
	})
}

// timeRuns runs f b.N times and reports the minimum, median and maximum
// of the runs in seconds.
func timeRuns(b *testing.B, f func()) []time.Duration {
	b.ReportAllocs()
	var runs []time.Duration
	for b.Loop() {
		start := time.Now()
		f()
		runs = append(runs, time.Since(start))
	}
	slices.Sort(runs)
	b.ReportMetric(runs[0].Seconds(), "min-s")
	b.ReportMetric(median(runs).Seconds(), "median-s")
	b.ReportMetric(runs[len(runs)-1].Seconds(), "max-s")
	return runs
}

func median(ds []time.Duration) time.Duration {
	n := len(ds)
	if n%2 == 1 {
		return ds[n/2]
	}
	return (ds[n/2-1] + ds[n/2]) / 2
}

// logReport logs how big the report is.
func logReport(b *testing.B, r *report.Report) {
	b.Logf("report %s: %d schools, %d days, %d flagged, %d colour changes, %d risk rows, %d risks, %d alerts, "+
		"%d hazards opened (%d open at the end), %d routines (%d owed), %d check rows",
		r.Title, len(r.Schools), len(r.Days), len(r.Flagged), len(r.Changes), len(r.Risks), r.Totals.Risks,
		r.Alerts.Total.Alerts, r.Hazards.Opened, r.Hazards.OpenAtEnd, len(r.Routines), r.Totals.RoutineDue, len(r.Checks))
}

// timedHistory times each query a report makes.
type timedHistory struct {
	report.History
	mu    sync.Mutex
	calls map[string][]time.Duration
	rows  map[string]int
}

func (t *timedHistory) took(name string, start time.Time, rows int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.calls == nil {
		t.calls, t.rows = map[string][]time.Duration{}, map[string]int{}
	}
	t.calls[name] = append(t.calls[name], time.Since(start))
	t.rows[name] += rows
}

// log logs each query's median time per report (a report runs each query
// twice: for its period and the one before).
func (t *timedHistory) log(b *testing.B, reports int) {
	names := make([]string, 0, len(t.calls))
	for n := range t.calls {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		ds := slices.Clone(t.calls[n])
		var sum time.Duration
		for _, d := range ds {
			sum += d
		}
		slices.Sort(ds)
		b.Logf("%-15s %2d calls per report, per report: %8s; per call median %8s max %8s; %7d rows per report",
			n, len(ds)/reports, (sum / time.Duration(reports)).Round(time.Millisecond), median(ds).Round(time.Millisecond),
			ds[len(ds)-1].Round(time.Millisecond), t.rows[n]/reports)
	}
}

func (t *timedHistory) LevelsAtOf(ctx context.Context, schools []string, at time.Time) ([]engine.LevelChange, error) {
	start := time.Now()
	out, err := t.History.LevelsAtOf(ctx, schools, at)
	t.took("LevelsAtOf", start, len(out))
	return out, err
}

func (t *timedHistory) LevelChangesOf(ctx context.Context, schools []string, from, to time.Time) ([]engine.LevelChange, error) {
	start := time.Now()
	out, err := t.History.LevelChangesOf(ctx, schools, from, to)
	t.took("LevelChangesOf", start, len(out))
	return out, err
}

func (t *timedHistory) RiskCounts(ctx context.Context, schools []string, from, to time.Time) ([]store.RiskCount, error) {
	start := time.Now()
	out, err := t.History.RiskCounts(ctx, schools, from, to)
	t.took("RiskCounts", start, len(out))
	return out, err
}

func (t *timedHistory) RiskSteps(ctx context.Context, schools, rules []string, from, to time.Time) ([]store.RiskStep, error) {
	start := time.Now()
	out, err := t.History.RiskSteps(ctx, schools, rules, from, to)
	t.took("RiskSteps", start, len(out))
	return out, err
}

func (t *timedHistory) CheckCountsOf(ctx context.Context, schools []string, since, until time.Time) ([]store.CheckCount, error) {
	start := time.Now()
	out, err := t.History.CheckCountsOf(ctx, schools, since, until)
	t.took("CheckCountsOf", start, len(out))
	return out, err
}

func (t *timedHistory) Alerts(ctx context.Context, f alert.Filter) ([]*alert.Alert, error) {
	start := time.Now()
	out, err := t.History.Alerts(ctx, f)
	t.took("Alerts", start, len(out))
	return out, err
}

func (t *timedHistory) LoadHazards(ctx context.Context, closedSince time.Time) ([]*hazard.Hazard, error) {
	start := time.Now()
	out, err := t.History.LoadHazards(ctx, closedSince)
	t.took("LoadHazards", start, len(out))
	return out, err
}

func (t *timedHistory) WatchedFrom(ctx context.Context, schools []string, from, to time.Time) (time.Time, error) {
	start := time.Now()
	out, err := t.History.WatchedFrom(ctx, schools, from, to)
	t.took("WatchedFrom", start, 1)
	return out, err
}

// monthHistory returns the benchmark's history, generated into a fresh
// database (or the kept one of SANSE_REPORT_BENCH_DB, once).
func monthHistory(b *testing.B) *history {
	if os.Getenv("SANSE_REPORT_BENCH") == "" {
		b.Skip("generating a month of a district's history takes minutes; set SANSE_REPORT_BENCH=1")
	}
	days := 30
	if v := os.Getenv("SANSE_REPORT_BENCH_DAYS"); v != "" {
		var err error
		days, err = strconv.Atoi(v)
		require.NoError(b, err, "SANSE_REPORT_BENCH_DAYS")
	}
	ctx := context.Background()
	reg := monthRegistry(b)
	set, errs := rules.Default()
	require.Empty(b, errs)

	var (
		st  *store.Store
		dsn string
	)
	if db := os.Getenv("SANSE_REPORT_BENCH_DB"); db != "" {
		u, err := url.Parse(storetest.DSN(b))
		require.NoError(b, err)
		u.Path = "/" + db
		dsn = u.String()
		st, err = store.Open(ctx, dsn, slog.New(slog.DiscardHandler), nil)
		require.NoError(b, err)
		b.Cleanup(func() { _ = st.Close() })
		require.NoError(b, st.Migrate(ctx))
	} else {
		dsn = storetest.FreshDSN(b)
		var err error
		st, err = store.Open(ctx, dsn, slog.New(slog.DiscardHandler), nil)
		require.NoError(b, err)
		b.Cleanup(func() { _ = st.Close() })
		require.NoError(b, st.Migrate(ctx))
		// Dropping a gigabyte of parts can take the loaded server minutes,
		// longer than the test database's own drop waits (which then finds
		// nothing left to drop).
		b.Cleanup(func() { dropDatabase(b, dsn) })
	}
	opts, err := clickhouse.ParseDSN(dsn)
	require.NoError(b, err)
	conn, err := clickhouse.Open(opts)
	require.NoError(b, err)
	defer conn.Close()
	var hazards uint64
	require.NoError(b, conn.QueryRow(ctx, "SELECT count() FROM hazards").Scan(&hazards))
	if hazards == 0 { // the hazards are written last
		fmt.Fprintf(os.Stderr, "generating %d days of %d schools of %s from %s into %s\n", days, reg.Len(), monthDistrict,
			monthStart.Format(time.DateOnly), opts.Auth.Database)
		_, err := generateMonth(ctx, st, reg, set, days, os.Stderr)
		require.NoError(b, err)
	}
	// The server merges the parts of a fresh generation for a while after;
	// the report is timed once it is done.
	start := time.Now()
	for {
		var merges uint64
		require.NoError(b, conn.QueryRow(ctx, "SELECT count() FROM system.merges WHERE database = ?", opts.Auth.Database).Scan(&merges))
		if merges == 0 || time.Since(start) > 10*time.Minute {
			break
		}
		time.Sleep(time.Second)
	}
	if d := time.Since(start); d > time.Second {
		fmt.Fprintf(os.Stderr, "  waited %s for the server's merges\n", d.Round(time.Second))
	}
	rows, err := conn.Query(ctx, `
SELECT table, count(), sum(rows), sum(bytes_on_disk), sum(data_uncompressed_bytes)
FROM system.parts WHERE database = ? AND active GROUP BY table ORDER BY table`, opts.Auth.Database)
	require.NoError(b, err)
	for rows.Next() {
		var (
			table                        string
			parts, n, disk, uncompressed uint64
		)
		require.NoError(b, rows.Scan(&table, &parts, &n, &disk, &uncompressed))
		fmt.Fprintf(os.Stderr, "  %-20s %10d rows  %8.1f MiB on disk  %8.1f MiB uncompressed  %3d parts\n", table, n,
			float64(disk)/(1<<20), float64(uncompressed)/(1<<20), parts)
	}
	require.NoError(b, rows.Err())
	return &history{st: st, reg: reg, set: set}
}

// dropDatabase drops the database of dsn, waiting up to 15 minutes.
func dropDatabase(b *testing.B, dsn string) {
	opts, err := clickhouse.ParseDSN(dsn)
	require.NoError(b, err)
	db := opts.Auth.Database
	opts.Auth.Database = ""
	opts.ReadTimeout = 15 * time.Minute
	conn, err := clickhouse.Open(opts)
	require.NoError(b, err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	start := time.Now()
	require.NoError(b, conn.Exec(ctx, "DROP DATABASE IF EXISTS `"+db+"`"))
	fmt.Fprintf(os.Stderr, "dropped %s in %s\n", db, time.Since(start).Round(time.Second))
}
