package report_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/report"
	"github.com/sanse-campus/sanse/engine/store/storetest"
)

func localDay(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, engine.Shanghai)
}

// TestStorageRoundTrip archives reports in ClickHouse and reads them back
// as the scheduler, the service and the delivery do.
func TestStorageRoundTrip(t *testing.T) {
	st := report.NewStorage(storetest.Fresh(t, nil))
	ctx := t.Context()
	spec := report.Spec{Kind: report.KindDaily, Scope: report.Scope{District: "南湖区"}, From: localDay(2026, 12, 2), To: localDay(2026, 12, 3)}
	out := &report.Output{Spec: spec, Title: "南湖区校园安全日报（2026年12月2日）", Generated: time.Date(2026, 12, 3, 7, 30, 4, 5e6, engine.Shanghai),
		Summary: report.Summary{Schools: 48, Red: 1, Yellow: 4, Green: 43, HazardsOverdue: 1, Lines: []string{"南湖区实验小学红色持续 6 小时。"}},
		HTML:    []byte("<h1>日报</h1>"), CSV: []byte("\ufeff学校,颜色\n"), PDF: []byte("%PDF-1.7\n\x00\x01")}
	key := report.RunKey("district-daily", spec)
	e := report.NewEntry(report.IDForKey(key), out, "district-daily", key, "")
	require.NoError(t, st.ArchiveReport(ctx, e, out))

	schoolSpec := report.Spec{Kind: report.KindCustom, Scope: report.Scope{School: "JX-NH-0001"}, From: localDay(2026, 11, 1), To: localDay(2026, 12, 1)}
	schoolOut := &report.Output{Spec: schoolSpec, Title: "城南幼儿园", Generated: out.Generated.Add(time.Minute), HTML: []byte("<p>"), CSV: []byte("a\n")}
	onDemand := report.NewEntry(report.NewID(), schoolOut, "", "", "南湖区")
	require.NoError(t, st.ArchiveReport(ctx, onDemand, schoolOut))

	got, err := st.ArchivedReport(ctx, e.ID)
	require.NoError(t, err)
	require.Equal(t, e.Spec.Scope, got.Spec.Scope)
	require.True(t, got.Spec.From.Equal(spec.From) && got.Spec.To.Equal(spec.To))
	require.True(t, got.Generated.Equal(out.Generated))
	require.Equal(t, out.Summary, got.Summary)
	require.Equal(t, key, got.Key)
	require.Equal(t, []report.Format{report.FormatHTML, report.FormatCSV, report.FormatPDF}, got.Formats)
	require.Equal(t, "sanse-report-daily-南湖区-2026-12-02.pdf", got.FileName(report.FormatPDF))

	_, err = st.ArchivedReport(ctx, "nope")
	require.ErrorIs(t, err, report.ErrNotFound)
	pdf, err := st.ArchivedContent(ctx, e.ID, report.FormatPDF)
	require.NoError(t, err)
	require.Equal(t, out.PDF, pdf)
	_, err = st.ArchivedContent(ctx, onDemand.ID, report.FormatPDF)
	require.ErrorIs(t, err, report.ErrNoContent)
	_, err = st.ArchivedContent(ctx, "nope", report.FormatHTML)
	require.ErrorIs(t, err, report.ErrNotFound)
	_, back, err := st.ArchivedOutput(ctx, e.ID)
	require.NoError(t, err)
	require.Equal(t, out.CSV, back.CSV)
	require.Equal(t, out.PDF, back.PDF)

	list, err := st.ArchivedReports(ctx, report.Filter{Grants: []report.Scope{{District: "南湖区"}}})
	require.NoError(t, err)
	require.Len(t, list, 2, "a district sees its schools' reports")
	require.Equal(t, onDemand.ID, list[0].ID, "newest first")
	require.Equal(t, report.Scope{School: "JX-NH-0001"}, list[0].Spec.Scope)
	require.Equal(t, "南湖区", list[0].District)
	list, err = st.ArchivedReports(ctx, report.Filter{ScopeKind: "district"})
	require.NoError(t, err)
	require.Len(t, list, 1)
	list, err = st.ArchivedReports(ctx, report.Filter{Grants: []report.Scope{{School: "JX-NH-0002"}}})
	require.NoError(t, err)
	require.Empty(t, list)
	scopes, err := st.ArchivedScopes(ctx, "district-daily")
	require.NoError(t, err)
	require.Equal(t, []report.Scope{{District: "南湖区"}}, scopes)
}

// countingGenerator makes small reports and counts them.
type countingGenerator struct {
	mu    sync.Mutex
	specs []report.Spec
}

func (g *countingGenerator) Generate(_ context.Context, spec report.Spec) (*report.Output, error) {
	g.mu.Lock()
	g.specs = append(g.specs, spec)
	g.mu.Unlock()
	return &report.Output{Spec: spec, Title: "报告", Generated: time.Now(), HTML: []byte("<p>" + spec.Scope.String() + "</p>"),
		CSV: []byte("a\n")}, nil
}

func (g *countingGenerator) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.specs)
}

// TestSchedulersRaceOnClickHouse runs two schedulers on one database at the
// same moment, as two instances coming back after the service was down:
// every missed run is made once, and the archive holds one report per run.
func TestSchedulersRaceOnClickHouse(t *testing.T) {
	st := report.NewStorage(storetest.Fresh(t, nil))
	reg, err := engine.NewRegistry([]engine.School{
		{ID: "NH-1", Name: "南湖一小", District: "南湖区", Stage: engine.StagePrimary},
		{ID: "XZ-1", Name: "秀洲一小", District: "秀洲区", Stage: engine.StagePrimary},
	})
	require.NoError(t, err)
	cfg := report.Config{Schedules: []report.ScheduleConfig{{Name: "district-daily", Cron: "30 7 * * *", Kind: report.KindDaily, AllDistricts: true}}}
	schedules, err := cfg.Compile(nil)
	require.NoError(t, err)
	// Both districts had their report of 2026-11-29; the service was down
	// until 2026-12-03 09:00, so each owes 11-30, 12-01 and 12-02.
	for _, d := range []string{"南湖区", "秀洲区"} {
		spec := report.Spec{Kind: report.KindDaily, Scope: report.Scope{District: d}, From: localDay(2026, 11, 29), To: localDay(2026, 11, 30)}
		out := &report.Output{Spec: spec, Title: "报告", Generated: time.Date(2026, 11, 30, 7, 30, 0, 0, engine.Shanghai), HTML: []byte("<p>")}
		key := report.RunKey("district-daily", spec)
		require.NoError(t, st.ArchiveReport(t.Context(), report.NewEntry(report.IDForKey(key), out, "district-daily", key, ""), out))
	}
	// The clock: 2026-12-03 09:00 plus the real time elapsed, so that the
	// two instances' claims are stamped as they are made.
	base, start := time.Date(2026, 12, 3, 9, 0, 0, 0, engine.Shanghai), time.Now()
	now := func() time.Time { return base.Add(time.Since(start)) }
	gens := []*countingGenerator{{}, {}}
	var wg sync.WaitGroup
	for i, name := range []string{"instance-a", "instance-b"} {
		sc, err := report.NewScheduler(report.SchedulerOptions{
			Schedules: schedules, CatchUpRuns: 7, Instance: name, Settle: 300 * time.Millisecond,
			Generator: gens[i], Archive: st, Claims: st, Registry: func() *engine.Registry { return reg }, Now: now,
		})
		require.NoError(t, err)
		wg.Go(func() { sc.Check(t.Context()) })
	}
	wg.Wait()

	require.Equal(t, 6, gens[0].count()+gens[1].count(), "six missed runs, each made once (a: %d, b: %d)", gens[0].count(), gens[1].count())
	list, err := st.ArchivedReports(t.Context(), report.Filter{})
	require.NoError(t, err)
	require.Len(t, list, 8)
	seen := map[string]bool{}
	for _, e := range list {
		require.False(t, seen[e.Key], "run %s archived twice", e.Key)
		seen[e.Key] = true
	}
	for _, day := range []string{"2026-11-30", "2026-12-01", "2026-12-02"} {
		for _, d := range []string{"南湖区", "秀洲区"} {
			require.True(t, seen[fmt.Sprintf("district-daily/daily/district:%s/%s", d, day)], "%s %s", d, day)
		}
	}
}
