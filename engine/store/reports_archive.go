package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/sanse-campus/sanse/engine/notify"
)

// The store keeps the report archive, the claims of scheduled report runs
// and the outbox of report messages (migration 0010). engine/report reads
// them through its own types (report.Storage); the rows here are what the
// tables hold, so that the store does not import the reports built on it.

const (
	tableReports      = "reports"
	tableReportClaims = "report_claims"
)

// ReportRow is one report of the archive.
type ReportRow struct {
	ID string
	// Key is the run key of a scheduled report, Schedule its schedule;
	// both empty for a report made on demand.
	Key, Schedule string
	Kind          string
	// District is the district of the scope: the district's, or the
	// school's (when the report was made). SchoolID is empty for a
	// district's report.
	District, SchoolID string
	// From and To are the period, [From, To).
	From, To  time.Time
	Title     string
	Generated time.Time
	// Summary is the report's summary as JSON.
	Summary string
	// Formats lists the renderings the report has (html, csv, pdf).
	Formats []string
	// HTML, CSV and PDF are the renderings; only ArchiveReport and
	// ArchivedReportContents carry them.
	HTML, CSV, PDF []byte
}

// ReportFilter selects reports of the archive; zero fields select all.
type ReportFilter struct {
	// District selects the district's reports and its schools'.
	District, SchoolID, Kind string
	// SchoolReports selects school reports (true) or district reports
	// (false) when set.
	SchoolReports *bool
	// From and To select the reports whose period overlaps [From, To).
	From, To time.Time
	// Grants, when not empty, are what the caller may see: a report is
	// selected when one grant's district (when set) and school (when set)
	// are its own.
	Grants []ReportGrant
	// Limit and Offset page the list, newest first (Limit 0: all).
	Limit, Offset int
}

// ReportGrant is one grant of a ReportFilter.
type ReportGrant struct{ District, SchoolID string }

// ReportClaim is one claim (or mark) of a report run.
type ReportClaim struct {
	Key, Step, Instance string
	At                  time.Time
}

// ErrReportNotFound is returned for a report the archive does not have.
var ErrReportNotFound = errors.New("report not found")

// ErrReportNoContent is returned for a rendering a report does not have.
var ErrReportNoContent = errors.New("the report has no such rendering")

// reportIndex are the columns of a report's index, in the order
// scanReportRow reads them.
const reportIndex = `id, run_key, schedule, kind, district, school_id, period_from, period_to, title, generated_ms, summary, formats`

// ArchiveReport stores a report, its index and its renderings, in one row.
// Storing an id again replaces its report once merged (reads use FINAL).
func (s *Store) ArchiveReport(ctx context.Context, r ReportRow) error {
	return s.exec1(ctx, tableReports, `INSERT INTO reports (`+reportIndex+`, generated_at, html, csv, pdf)`,
		r.ID, r.Key, r.Schedule, r.Kind, r.District, r.SchoolID, dateTime(r.From), dateTime(r.To), r.Title,
		millis(r.Generated), r.Summary, r.Formats, dateTime(r.Generated), string(r.HTML), string(r.CSV), string(r.PDF))
}

// ArchivedRuns returns the reports of the schedule whose period begins at
// or after since, without their renderings.
func (s *Store) ArchivedRuns(ctx context.Context, schedule string, since time.Time) ([]ReportRow, error) {
	return s.queryReportRows(ctx, `SELECT `+reportIndex+` FROM reports FINAL WHERE schedule = ? AND period_from >= toDateTime(?)`,
		schedule, dateTime(since))
}

// ArchivedScopes returns the scopes the schedule made a report for: grants
// with the district of a district's report, or the school of a school's.
func (s *Store) ArchivedScopes(ctx context.Context, schedule string) ([]ReportGrant, error) {
	rows, err := s.conn.Query(ctx, `SELECT DISTINCT district, school_id FROM reports WHERE schedule = ?`, schedule)
	if err != nil {
		return nil, fmt.Errorf("query the scopes of schedule %s: %w", schedule, err)
	}
	defer rows.Close()
	var out []ReportGrant
	for rows.Next() {
		var g ReportGrant
		if err := rows.Scan(&g.District, &g.SchoolID); err != nil {
			return nil, fmt.Errorf("read the scopes of schedule %s: %w", schedule, err)
		}
		if g.SchoolID != "" {
			g.District = ""
		}
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the scopes of schedule %s: %w", schedule, err)
	}
	return out, nil
}

// ArchivedReports returns the reports f selects, newest first, without
// their renderings.
func (s *Store) ArchivedReports(ctx context.Context, f ReportFilter) ([]ReportRow, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v ...any) {
		where, args = append(where, cond), append(args, v...)
	}
	if f.District != "" {
		add("district = ?", f.District)
	}
	if f.SchoolID != "" {
		add("school_id = ?", f.SchoolID)
	}
	if f.Kind != "" {
		add("kind = ?", f.Kind)
	}
	if f.SchoolReports != nil {
		if *f.SchoolReports {
			add("school_id != ''")
		} else {
			add("school_id = ''")
		}
	}
	if !f.From.IsZero() {
		add("period_to > toDateTime(?)", dateTime(f.From))
	}
	if !f.To.IsZero() {
		add("period_from < toDateTime(?)", dateTime(f.To))
	}
	if len(f.Grants) > 0 {
		var anyOf []string
		for _, g := range f.Grants {
			var all []string
			if g.District != "" {
				all, args = append(all, "district = ?"), append(args, g.District)
			}
			if g.SchoolID != "" {
				all, args = append(all, "school_id = ?"), append(args, g.SchoolID)
			}
			if len(all) == 0 {
				return nil, errors.New("archived reports: a grant names no district and no school")
			}
			anyOf = append(anyOf, "("+strings.Join(all, " AND ")+")")
		}
		where = append(where, "("+strings.Join(anyOf, " OR ")+")")
	}
	q := `SELECT ` + reportIndex + ` FROM reports FINAL`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY generated_ms DESC, id"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d, %d", max(f.Offset, 0), f.Limit)
	}
	return s.queryReportRows(ctx, q, args...)
}

// ArchivedReport returns the report with the id without its renderings,
// or an error wrapping ErrReportNotFound.
func (s *Store) ArchivedReport(ctx context.Context, id string) (ReportRow, error) {
	list, err := s.queryReportRows(ctx, `SELECT `+reportIndex+` FROM reports FINAL WHERE id = ? LIMIT 1`, id)
	if err != nil {
		return ReportRow{}, err
	}
	if len(list) == 0 {
		return ReportRow{}, fmt.Errorf("report %q: %w", id, ErrReportNotFound)
	}
	return list[0], nil
}

// reportContentColumns are the columns of the renderings.
var reportContentColumns = map[string]string{"html": "html", "csv": "csv", "pdf": "pdf"}

// ArchivedReportContent returns one rendering of the report (html, csv or
// pdf), read alone, or an error wrapping ErrReportNotFound or
// ErrReportNoContent.
func (s *Store) ArchivedReportContent(ctx context.Context, id, format string) ([]byte, error) {
	col, ok := reportContentColumns[format]
	if !ok {
		return nil, fmt.Errorf("report %q: format %q: %w", id, format, ErrReportNoContent)
	}
	rows, err := s.conn.Query(ctx, `SELECT formats, `+col+` FROM reports FINAL WHERE id = ? LIMIT 1`, id)
	if err != nil {
		return nil, fmt.Errorf("query report %q: %w", id, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read report %q: %w", id, err)
		}
		return nil, fmt.Errorf("report %q: %w", id, ErrReportNotFound)
	}
	var (
		formats []string
		content string
	)
	if err := rows.Scan(&formats, &content); err != nil {
		return nil, fmt.Errorf("read report %q: %w", id, err)
	}
	if !slices.Contains(formats, format) {
		return nil, fmt.Errorf("report %q: %s: %w", id, format, ErrReportNoContent)
	}
	return []byte(content), nil
}

// ArchivedReportContents returns the report with every rendering it has,
// or an error wrapping ErrReportNotFound.
func (s *Store) ArchivedReportContents(ctx context.Context, id string) (ReportRow, error) {
	rows, err := s.conn.Query(ctx, `SELECT `+reportIndex+`, html, csv, pdf FROM reports FINAL WHERE id = ? LIMIT 1`, id)
	if err != nil {
		return ReportRow{}, fmt.Errorf("query report %q: %w", id, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return ReportRow{}, fmt.Errorf("read report %q: %w", id, err)
		}
		return ReportRow{}, fmt.Errorf("report %q: %w", id, ErrReportNotFound)
	}
	var html, csv, pdf string
	r, err := scanReportRow(rows, &html, &csv, &pdf)
	if err != nil {
		return ReportRow{}, fmt.Errorf("read report %q: %w", id, err)
	}
	for _, f := range r.Formats {
		switch f {
		case "html":
			r.HTML = []byte(html)
		case "csv":
			r.CSV = []byte(csv)
		case "pdf":
			r.PDF = []byte(pdf)
		}
	}
	return r, nil
}

func (s *Store) queryReportRows(ctx context.Context, q string, args ...any) ([]ReportRow, error) {
	rows, err := s.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("query reports: %w", err)
	}
	defer rows.Close()
	var out []ReportRow
	for rows.Next() {
		r, err := scanReportRow(rows)
		if err != nil {
			return nil, fmt.Errorf("read reports: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read reports: %w", err)
	}
	return out, nil
}

// scanReportRow reads the columns of reportIndex, then into more.
func scanReportRow(rows driver.Rows, more ...any) (ReportRow, error) {
	var (
		r           ReportRow
		generatedMS int64
	)
	dst := append([]any{&r.ID, &r.Key, &r.Schedule, &r.Kind, &r.District, &r.SchoolID, &r.From, &r.To, &r.Title,
		&generatedMS, &r.Summary, &r.Formats}, more...)
	if err := rows.Scan(dst...); err != nil {
		return r, err
	}
	r.Generated = fromMillis(generatedMS)
	r.From, r.To = r.From.UTC(), r.To.UTC()
	return r, nil
}

// AddReportClaim stores a claim (or a mark) of a report run.
func (s *Store) AddReportClaim(ctx context.Context, c ReportClaim) error {
	return s.exec1(ctx, tableReportClaims, `INSERT INTO report_claims (run_key, step, instance, claimed_at, claimed_ms)`,
		c.Key, c.Step, c.Instance, dateTime(c.At), millis(c.At))
}

// ReportClaims returns the claims of the run key for step, oldest first.
func (s *Store) ReportClaims(ctx context.Context, key, step string) ([]ReportClaim, error) {
	rows, err := s.conn.Query(ctx, `SELECT instance, claimed_ms FROM report_claims WHERE run_key = ? AND step = ? ORDER BY claimed_ms, instance`,
		key, step)
	if err != nil {
		return nil, fmt.Errorf("query the claims of %s: %w", key, err)
	}
	defer rows.Close()
	var out []ReportClaim
	for rows.Next() {
		c := ReportClaim{Key: key, Step: step}
		var ms int64
		if err := rows.Scan(&c.Instance, &ms); err != nil {
			return nil, fmt.Errorf("read the claims of %s: %w", key, err)
		}
		c.At = fromMillis(ms)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the claims of %s: %w", key, err)
	}
	return out, nil
}

// ReportMarked returns which of the run keys have a claim (or a mark) of
// step.
func (s *Store) ReportMarked(ctx context.Context, keys []string, step string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := s.conn.Query(ctx, `SELECT DISTINCT run_key FROM report_claims WHERE has(?, run_key) AND step = ?`, keys, step)
	if err != nil {
		return nil, fmt.Errorf("query report marks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("read report marks: %w", err)
		}
		out[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read report marks: %w", err)
	}
	return out, nil
}

// ReportOutbox returns the store of the report messages' outbox: the same
// tables as the alerts' outbox (notifications, deliveries), but restoring
// only report messages, which PendingNotifications leaves out.
func (s *Store) ReportOutbox() notify.OutboxStore { return reportOutbox{s} }

type reportOutbox struct{ s *Store }

func (o reportOutbox) SaveNotifications(ctx context.Context, ns []*notify.Notification) error {
	return o.s.SaveNotifications(ctx, ns)
}

func (o reportOutbox) SaveDeliveries(ctx context.Context, ds []notify.Delivery) error {
	return o.s.SaveDeliveries(ctx, ds)
}

func (o reportOutbox) PendingNotifications(ctx context.Context, since time.Time) ([]*notify.Notification, error) {
	return o.s.pendingNotifications(ctx, since, true)
}
