package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine/notify"
	"github.com/sanse-campus/sanse/engine/store"
	"github.com/sanse-campus/sanse/engine/store/storetest"
)

// reportRow returns a report of the district (or of the school in it) for
// [from, to) made at generated, with a PDF when pdf is set.
func reportRow(id, schedule, kind, district, school string, from, to, generated time.Time, pdf bool) store.ReportRow {
	r := store.ReportRow{
		ID: id, Schedule: schedule, Kind: kind, District: district, SchoolID: school, From: from, To: to,
		Title: district + school + "校园安全报告", Generated: generated, Summary: `{"schools":48,"red":2}`,
		Formats: []string{"html", "csv"}, HTML: []byte("<h1>" + id + "</h1><svg></svg>"), CSV: []byte("学校,颜色\n东栅小学,红色\n"),
	}
	if schedule != "" {
		r.Key = schedule + "/" + kind + "/" + district + school + "/" + from.Format(time.DateOnly)
	}
	if pdf {
		r.Formats = append(r.Formats, "pdf")
		r.PDF = []byte("%PDF-1.7\n\x00\xff binary " + id)
	}
	return r
}

func utcDay(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 16, 0, 0, 0, time.UTC) } // local midnight of the next day

func TestReportArchive(t *testing.T) {
	s := storetest.Fresh(t, nil)
	ctx := t.Context()
	made := time.Date(2026, 12, 2, 23, 30, 1, 234e6, time.UTC)
	daily := reportRow("r-daily", "district-daily", "daily", "南湖区", "", utcDay(2026, 12, 1), utcDay(2026, 12, 2), made, true)
	school := reportRow("r-school", "weekly-schools", "weekly", "南湖区", "JX-NH-0001", utcDay(2026, 11, 22), utcDay(2026, 11, 29), made.Add(time.Minute), false)
	other := reportRow("r-other", "district-daily", "daily", "秀洲区", "", utcDay(2026, 11, 30), utcDay(2026, 12, 1), made.Add(-24*time.Hour), true)
	custom := reportRow("c-custom", "", "custom", "南湖区", "", utcDay(2026, 10, 31), utcDay(2026, 11, 30), made.Add(2*time.Minute), true)
	for _, r := range []store.ReportRow{daily, school, other, custom} {
		require.NoError(t, s.ArchiveReport(ctx, r))
	}

	// One report, as it was archived; its index alone.
	got, err := s.ArchivedReport(ctx, "r-daily")
	require.NoError(t, err)
	want := daily
	want.HTML, want.CSV, want.PDF = nil, nil, nil
	require.Equal(t, want, got)
	_, err = s.ArchivedReport(ctx, "nope")
	require.ErrorIs(t, err, store.ErrReportNotFound)

	// Each rendering byte for byte; a PDF never made is told apart from a
	// report that does not exist.
	for f, b := range map[string][]byte{"html": daily.HTML, "csv": daily.CSV, "pdf": daily.PDF} {
		content, err := s.ArchivedReportContent(ctx, "r-daily", f)
		require.NoError(t, err)
		require.Equal(t, b, content, f)
	}
	_, err = s.ArchivedReportContent(ctx, "r-school", "pdf")
	require.ErrorIs(t, err, store.ErrReportNoContent)
	_, err = s.ArchivedReportContent(ctx, "nope", "html")
	require.ErrorIs(t, err, store.ErrReportNotFound)
	all, err := s.ArchivedReportContents(ctx, "r-daily")
	require.NoError(t, err)
	require.Equal(t, daily, all)

	// Lists: newest first, filtered, granted, paged.
	ids := func(f store.ReportFilter) []string {
		t.Helper()
		list, err := s.ArchivedReports(ctx, f)
		require.NoError(t, err)
		var out []string
		for _, r := range list {
			require.Nil(t, r.PDF, "a list carries no rendering")
			out = append(out, r.ID)
		}
		return out
	}
	yes, no := true, false
	require.Equal(t, []string{"c-custom", "r-school", "r-daily", "r-other"}, ids(store.ReportFilter{}))
	require.Equal(t, []string{"c-custom", "r-school", "r-daily"}, ids(store.ReportFilter{District: "南湖区"}), "a district's reports and its schools'")
	require.Equal(t, []string{"c-custom", "r-daily"}, ids(store.ReportFilter{District: "南湖区", SchoolReports: &no}))
	require.Equal(t, []string{"r-school"}, ids(store.ReportFilter{SchoolReports: &yes}))
	require.Equal(t, []string{"r-school"}, ids(store.ReportFilter{SchoolID: "JX-NH-0001"}))
	require.Equal(t, []string{"r-daily", "r-other"}, ids(store.ReportFilter{Kind: "daily"}))
	require.Equal(t, []string{"c-custom", "r-other"}, ids(store.ReportFilter{From: utcDay(2026, 11, 29), To: utcDay(2026, 12, 1)}), "periods that overlap")
	require.Equal(t, []string{"r-school", "r-daily"}, ids(store.ReportFilter{Limit: 2, Offset: 1}))
	require.Equal(t, []string{"r-other"}, ids(store.ReportFilter{Grants: []store.ReportGrant{{District: "秀洲区"}}}))
	require.Equal(t, []string{"r-school", "r-other"}, ids(store.ReportFilter{Grants: []store.ReportGrant{{District: "秀洲区"}, {SchoolID: "JX-NH-0001"}}}))
	require.Empty(t, ids(store.ReportFilter{Grants: []store.ReportGrant{{SchoolID: "JX-NH-0002"}}}))

	// What the scheduler asks.
	runs, err := s.ArchivedRuns(ctx, "district-daily", utcDay(2026, 12, 1))
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.Equal(t, "r-daily", runs[0].ID)
	scopes, err := s.ArchivedScopes(ctx, "district-daily")
	require.NoError(t, err)
	require.ElementsMatch(t, []store.ReportGrant{{District: "南湖区"}, {District: "秀洲区"}}, scopes)
	scopes, err = s.ArchivedScopes(ctx, "weekly-schools")
	require.NoError(t, err)
	require.Equal(t, []store.ReportGrant{{SchoolID: "JX-NH-0001"}}, scopes)

	// A run made twice (by two instances, same id) is one report.
	again := daily
	again.Generated = made.Add(time.Second)
	require.NoError(t, s.ArchiveReport(ctx, again))
	require.Equal(t, []string{"r-daily", "r-other"}, ids(store.ReportFilter{Kind: "daily"}))
}

func TestReportClaims(t *testing.T) {
	s := storetest.Fresh(t, nil)
	ctx := t.Context()
	t0 := time.Date(2026, 12, 3, 7, 30, 0, 5e6, time.UTC)
	for _, c := range []store.ReportClaim{
		{Key: "k1", Instance: "b", At: t0.Add(2 * time.Millisecond), Step: "run"},
		{Key: "k1", Instance: "a", At: t0.Add(time.Millisecond), Step: "run"},
		{Key: "k1", Instance: "a", At: t0, Step: "queued"},
		{Key: "k2", Instance: "a", At: t0, Step: "run"},
	} {
		require.NoError(t, s.AddReportClaim(ctx, c))
	}
	claims, err := s.ReportClaims(ctx, "k1", "run")
	require.NoError(t, err)
	require.Equal(t, []store.ReportClaim{
		{Key: "k1", Instance: "a", At: t0.Add(time.Millisecond), Step: "run"},
		{Key: "k1", Instance: "b", At: t0.Add(2 * time.Millisecond), Step: "run"},
	}, claims, "oldest first, to the millisecond")
	marked, err := s.ReportMarked(ctx, []string{"k1", "k2", "k3"}, "queued")
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
