package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/notify"
	"github.com/sanse-campus/sanse/engine/report"
	"github.com/sanse-campus/sanse/engine/store"
	"github.com/sanse-campus/sanse/engine/store/storetest"
)

func shanghaiDay(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, engine.Shanghai)
}

// archiveOne archives a report of scope for [from, to) made at generated.
func archiveOne(t *testing.T, s *store.Store, id, schedule string, kind report.Kind, scope report.Scope, district string,
	from, to, generated time.Time, pdf bool) (report.Entry, *report.Output) {
	t.Helper()
	out := &report.Output{
		Spec:      report.Spec{Kind: kind, Scope: scope, From: from, To: to},
		Title:     scope.District + scope.School + "校园安全报告",
		Generated: generated,
		Summary:   report.Summary{Schools: 48, Red: 2, Yellow: 5, Green: 41, HazardsOverdue: 1, Lines: []string{"东栅小学红色持续 6 小时。"}},
		HTML:      []byte("<h1>" + id + "</h1><svg></svg>"),
		CSV:       []byte("学校,颜色\n东栅小学,红色\n"),
	}
	if pdf {
		out.PDF = []byte("%PDF-1.7\n\x00\xff binary " + id)
	}
	key := ""
	if schedule != "" {
		key = report.RunKey(schedule, out.Spec)
	}
	e := report.NewEntry(id, out, schedule, key, district)
	require.NoError(t, s.ArchiveReport(t.Context(), e, out))
	return e, out
}

func TestReportArchiveRoundTrip(t *testing.T) {
	s := storetest.Fresh(t, nil)
	ctx := t.Context()
	d1, d2, d3 := shanghaiDay(2026, 12, 1), shanghaiDay(2026, 12, 2), shanghaiDay(2026, 12, 3)
	made := time.Date(2026, 12, 3, 7, 30, 1, 234e6, engine.Shanghai)

	daily, dailyOut := archiveOne(t, s, "r-daily", "district-daily", report.KindDaily, report.Scope{District: "南湖区"}, "",
		d2, d3, made, true)
	school, _ := archiveOne(t, s, "r-school", "weekly-schools", report.KindWeekly, report.Scope{School: "JX-NH-0001"}, "南湖区",
		shanghaiDay(2026, 11, 23), shanghaiDay(2026, 11, 30), made.Add(time.Minute), false)
	other, _ := archiveOne(t, s, "r-other", "district-daily", report.KindDaily, report.Scope{District: "秀洲区"}, "",
		d1, d2, made.Add(-24*time.Hour), true)
	custom, _ := archiveOne(t, s, "c-custom", "", report.KindCustom, report.Scope{District: "南湖区"}, "",
		shanghaiDay(2026, 11, 1), shanghaiDay(2026, 12, 1), made.Add(2*time.Minute), true)

	// One entry, as it was archived.
	got, err := s.ArchivedReport(ctx, "r-daily")
	require.NoError(t, err)
	require.Equal(t, daily.Spec.Scope, got.Spec.Scope)
	require.True(t, got.Spec.From.Equal(d2) && got.Spec.To.Equal(d3), "%s %s", got.Spec.From, got.Spec.To)
	require.True(t, got.Generated.Equal(made), "to the millisecond: %s", got.Generated)
	require.Equal(t, daily.Summary, got.Summary)
	require.Equal(t, "district-daily/daily/district:南湖区/2026-12-02", got.Key)
	require.Equal(t, []report.Format{report.FormatHTML, report.FormatCSV, report.FormatPDF}, got.Formats)
	gotSchool, err := s.ArchivedReport(ctx, "r-school")
	require.NoError(t, err)
	require.Equal(t, report.Scope{School: "JX-NH-0001"}, gotSchool.Spec.Scope)
	require.Equal(t, "南湖区", gotSchool.District)
	require.Equal(t, []report.Format{report.FormatHTML, report.FormatCSV}, gotSchool.Formats)
	_, err = s.ArchivedReport(ctx, "nope")
	require.ErrorIs(t, err, report.ErrNotFound)

	// Each rendering, byte for byte; a PDF that was never made is told apart
	// from a report that does not exist.
	for f, want := range map[report.Format][]byte{report.FormatHTML: dailyOut.HTML, report.FormatCSV: dailyOut.CSV, report.FormatPDF: dailyOut.PDF} {
		b, err := s.ArchivedContent(ctx, "r-daily", f)
		require.NoError(t, err)
		require.Equal(t, want, b, f)
	}
	_, err = s.ArchivedContent(ctx, "r-school", report.FormatPDF)
	require.ErrorIs(t, err, report.ErrNoContent)
	_, err = s.ArchivedContent(ctx, "nope", report.FormatHTML)
	require.ErrorIs(t, err, report.ErrNotFound)
	e, out, err := s.ArchivedOutput(ctx, "r-daily")
	require.NoError(t, err)
	require.Equal(t, "r-daily", e.ID)
	require.Equal(t, dailyOut.PDF, out.PDF)
	require.Equal(t, dailyOut.CSV, out.CSV)

	// Lists: newest first, filtered, scoped, paged.
	ids := func(f report.Filter) []string {
		t.Helper()
		list, err := s.ArchivedReports(ctx, f)
		require.NoError(t, err)
		var out []string
		for _, e := range list {
			out = append(out, e.ID)
		}
		return out
	}
	require.Equal(t, []string{custom.ID, school.ID, daily.ID, other.ID}, ids(report.Filter{}))
	require.Equal(t, []string{custom.ID, school.ID, daily.ID}, ids(report.Filter{District: "南湖区"}), "a district's reports and its schools'")
	require.Equal(t, []string{custom.ID, daily.ID}, ids(report.Filter{District: "南湖区", ScopeKind: "district"}))
	require.Equal(t, []string{school.ID}, ids(report.Filter{School: "JX-NH-0001"}))
	require.Equal(t, []string{daily.ID, other.ID}, ids(report.Filter{Kind: report.KindDaily}))
	require.Equal(t, []string{custom.ID, other.ID}, ids(report.Filter{From: shanghaiDay(2026, 11, 30), To: d2}), "periods that overlap")
	require.Equal(t, []string{school.ID, daily.ID}, ids(report.Filter{Limit: 2, Offset: 1}))
	require.Equal(t, []string{other.ID}, ids(report.Filter{Grants: []report.Scope{{District: "秀洲区"}}}))
	require.Equal(t, []string{school.ID, other.ID}, ids(report.Filter{Grants: []report.Scope{{District: "秀洲区"}, {School: "JX-NH-0001"}}}))
	require.Empty(t, ids(report.Filter{Grants: []report.Scope{{School: "JX-NH-0002"}}}))
	require.Empty(t, ids(report.Filter{None: true}))

	// What the scheduler asks.
	runs, err := s.ArchivedRuns(ctx, "district-daily", d2)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.Equal(t, "r-daily", runs[0].ID)
	scopes, err := s.ArchivedScopes(ctx, "district-daily")
	require.NoError(t, err)
	require.ElementsMatch(t, []report.Scope{{District: "南湖区"}, {District: "秀洲区"}}, scopes)
	scopes, err = s.ArchivedScopes(ctx, "weekly-schools")
	require.NoError(t, err)
	require.Equal(t, []report.Scope{{School: "JX-NH-0001"}}, scopes)

	// A run made twice (by two instances) is one report.
	archiveOne(t, s, "r-daily", "district-daily", report.KindDaily, report.Scope{District: "南湖区"}, "", d2, d3, made.Add(time.Second), true)
	require.Equal(t, []string{daily.ID, other.ID}, ids(report.Filter{Kind: report.KindDaily}))
}

func TestReportClaims(t *testing.T) {
	s := storetest.Fresh(t, nil)
	ctx := t.Context()
	t0 := time.Date(2026, 12, 3, 7, 30, 0, 5e6, time.UTC)
	for _, c := range []report.Claim{
		{Key: "k1", Instance: "b", At: t0.Add(time.Millisecond), Step: report.StepRun},
		{Key: "k1", Instance: "a", At: t0.Add(2 * time.Millisecond), Step: report.StepRun},
		{Key: "k1", Instance: "a", At: t0, Step: report.StepQueued},
		{Key: "k2", Instance: "a", At: t0, Step: report.StepRun},
	} {
		require.NoError(t, s.AddReportClaim(ctx, c))
	}
	claims, err := s.ReportClaims(ctx, "k1", report.StepRun)
	require.NoError(t, err)
	require.Len(t, claims, 2)
	h, ok := report.Holder(claims, time.Minute)
	require.True(t, ok)
	require.Equal(t, "b", h.Instance)
	require.True(t, h.At.Equal(t0.Add(time.Millisecond)))
	marked, err := s.ReportMarked(ctx, []string{"k1", "k2", "k3"}, report.StepQueued)
	require.NoError(t, err)
	require.Equal(t, map[string]bool{"k1": true}, marked)
}

// TestReportOutboxIsApart checks that the alerts' outbox and the reports'
// restore each their own messages from the one notifications table.
func TestReportOutboxIsApart(t *testing.T) {
	s := storetest.Fresh(t, nil)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	alertMsg := &notify.Notification{ID: "n-alert", Receiver: "r", Created: now,
		Message: notify.Message{ID: "n-alert", Kind: notify.KindFiring, SchoolID: "S1"}}
	reportMsg := &notify.Notification{ID: "report-r1-00", Receiver: "r", Created: now,
		Message: notify.Message{ID: "report-r1-00", Kind: notify.KindReport, Report: &notify.Report{ID: "r1", Title: "日报",
			Attachments: []notify.Attachment{{Name: "a.pdf", Data: []byte("%PDF")}}}}}
	require.NoError(t, s.SaveNotifications(ctx, []*notify.Notification{alertMsg, reportMsg}))

	alerts, err := s.PendingNotifications(ctx, now.Add(-time.Hour))
	require.NoError(t, err)
	require.Len(t, alerts, 1)
	require.Equal(t, "n-alert", alerts[0].ID)
	reports, err := s.ReportOutbox().PendingNotifications(ctx, now.Add(-time.Hour))
	require.NoError(t, err)
	require.Len(t, reports, 1)
	require.Equal(t, "r1", reports[0].Message.Report.ID)
	require.Empty(t, reports[0].Message.Report.Attachments, "files are not kept with the message")

	require.NoError(t, s.ReportOutbox().SaveDeliveries(ctx, []notify.Delivery{{NotificationID: "report-r1-00", Receiver: "r",
		Channel: notify.Finished, At: now, OK: true}}))
	reports, err = s.ReportOutbox().PendingNotifications(ctx, now.Add(-time.Hour))
	require.NoError(t, err)
	require.Empty(t, reports)
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
	s := storetest.Fresh(t, nil)
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
		spec := report.Spec{Kind: report.KindDaily, Scope: report.Scope{District: d}, From: shanghaiDay(2026, 11, 29), To: shanghaiDay(2026, 11, 30)}
		key := report.RunKey("district-daily", spec)
		archiveOne(t, s, report.IDForKey(key), "district-daily", report.KindDaily, spec.Scope, "", spec.From, spec.To,
			time.Date(2026, 11, 30, 7, 30, 0, 0, engine.Shanghai), false)
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
			Generator: gens[i], Archive: s, Claims: s, Registry: func() *engine.Registry { return reg }, Now: now,
		})
		require.NoError(t, err)
		wg.Go(func() { sc.Check(t.Context()) })
	}
	wg.Wait()

	require.Equal(t, 6, gens[0].count()+gens[1].count(), "six missed runs, each made once (a: %d, b: %d)", gens[0].count(), gens[1].count())
	list, err := s.ArchivedReports(t.Context(), report.Filter{})
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
