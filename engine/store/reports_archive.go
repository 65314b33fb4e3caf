package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/notify"
	"github.com/sanse-campus/sanse/engine/report"
)

// The store keeps the report archive for engine/report (report.Archive,
// report.Reader, report.Contents), the claims of scheduled runs
// (report.Claims), and the outbox of report messages (ReportOutbox):
// migration 0010.

const (
	tableReports      = "reports"
	tableReportClaims = "report_claims"
)

// The store satisfies what engine/report needs of it.
var (
	_ report.Archive  = (*Store)(nil)
	_ report.Reader   = (*Store)(nil)
	_ report.Contents = (*Store)(nil)
	_ report.Claims   = (*Store)(nil)
)

// reportIndex are the columns of a report's index, in the order scanEntry
// reads them.
const reportIndex = `id, run_key, schedule, kind, district, school_id, period_from, period_to, title, generated_ms, summary, formats`

// ArchiveReport implements report.Archive: the entry and the renderings of
// out in one row.
func (s *Store) ArchiveReport(ctx context.Context, e report.Entry, out *report.Output) error {
	summary, err := json.Marshal(e.Summary)
	if err != nil {
		return fmt.Errorf("archive report %s: %w", e.ID, err)
	}
	formats := make([]string, len(e.Formats))
	for i, f := range e.Formats {
		formats[i] = string(f)
	}
	return s.exec1(ctx, tableReports, `INSERT INTO reports (`+reportIndex+`, generated_at, html, csv, pdf)`,
		e.ID, e.Key, e.Schedule, string(e.Spec.Kind), e.District, e.Spec.Scope.School,
		dateTime(e.Spec.From), dateTime(e.Spec.To), e.Title, millis(e.Generated), string(summary), formats,
		dateTime(e.Generated), string(out.HTML), string(out.CSV), string(out.PDF))
}

// ArchivedRuns implements report.Archive.
func (s *Store) ArchivedRuns(ctx context.Context, schedule string, since time.Time) ([]report.Entry, error) {
	return s.queryEntries(ctx, `SELECT `+reportIndex+` FROM reports FINAL WHERE schedule = ? AND period_from >= toDateTime(?)`,
		schedule, dateTime(since))
}

// ArchivedScopes implements report.Archive.
func (s *Store) ArchivedScopes(ctx context.Context, schedule string) ([]report.Scope, error) {
	rows, err := s.conn.Query(ctx, `SELECT DISTINCT district, school_id FROM reports WHERE schedule = ?`, schedule)
	if err != nil {
		return nil, fmt.Errorf("query the scopes of schedule %s: %w", schedule, err)
	}
	defer rows.Close()
	var out []report.Scope
	for rows.Next() {
		var district, school string
		if err := rows.Scan(&district, &school); err != nil {
			return nil, fmt.Errorf("read the scopes of schedule %s: %w", schedule, err)
		}
		sc := report.Scope{District: district}
		if school != "" {
			sc = report.Scope{School: school}
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the scopes of schedule %s: %w", schedule, err)
	}
	return out, nil
}

// ArchivedReports implements report.Reader: the entries f selects, newest
// first.
func (s *Store) ArchivedReports(ctx context.Context, f report.Filter) ([]report.Entry, error) {
	if f.None {
		return nil, nil
	}
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
	if f.School != "" {
		add("school_id = ?", f.School)
	}
	if f.Kind != "" {
		add("kind = ?", string(f.Kind))
	}
	switch f.ScopeKind {
	case "district":
		add("school_id = ''")
	case "school":
		add("school_id != ''")
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
			if g.School != "" {
				all, args = append(all, "school_id = ?"), append(args, g.School)
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
	return s.queryEntries(ctx, q, args...)
}

// ArchivedReport implements report.Reader.
func (s *Store) ArchivedReport(ctx context.Context, id string) (report.Entry, error) {
	list, err := s.queryEntries(ctx, `SELECT `+reportIndex+` FROM reports FINAL WHERE id = ? LIMIT 1`, id)
	if err != nil {
		return report.Entry{}, err
	}
	if len(list) == 0 {
		return report.Entry{}, fmt.Errorf("report %q: %w", id, report.ErrNotFound)
	}
	return list[0], nil
}

// contentColumns are the columns of the renderings.
var contentColumns = map[report.Format]string{report.FormatHTML: "html", report.FormatCSV: "csv", report.FormatPDF: "pdf"}

// ArchivedContent implements report.Reader: one rendering, read alone.
func (s *Store) ArchivedContent(ctx context.Context, id string, f report.Format) ([]byte, error) {
	col, ok := contentColumns[f]
	if !ok {
		return nil, fmt.Errorf("report %q: format %q: %w", id, f, report.ErrNoContent)
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
		return nil, fmt.Errorf("report %q: %w", id, report.ErrNotFound)
	}
	var (
		formats []string
		content string
	)
	if err := rows.Scan(&formats, &content); err != nil {
		return nil, fmt.Errorf("read report %q: %w", id, err)
	}
	if !slices.Contains(formats, string(f)) {
		return nil, fmt.Errorf("report %q: %s: %w", id, f, report.ErrNoContent)
	}
	return []byte(content), nil
}

// ArchivedOutput implements report.Contents: the entry and every rendering.
func (s *Store) ArchivedOutput(ctx context.Context, id string) (report.Entry, *report.Output, error) {
	rows, err := s.conn.Query(ctx, `SELECT `+reportIndex+`, html, csv, pdf FROM reports FINAL WHERE id = ? LIMIT 1`, id)
	if err != nil {
		return report.Entry{}, nil, fmt.Errorf("query report %q: %w", id, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return report.Entry{}, nil, fmt.Errorf("read report %q: %w", id, err)
		}
		return report.Entry{}, nil, fmt.Errorf("report %q: %w", id, report.ErrNotFound)
	}
	var html, csv, pdf string
	e, err := scanEntry(rows, &html, &csv, &pdf)
	if err != nil {
		return report.Entry{}, nil, fmt.Errorf("read report %q: %w", id, err)
	}
	out := &report.Output{Spec: e.Spec, Title: e.Title, Generated: e.Generated, Summary: e.Summary}
	for _, f := range e.Formats {
		switch f {
		case report.FormatHTML:
			out.HTML = []byte(html)
		case report.FormatCSV:
			out.CSV = []byte(csv)
		case report.FormatPDF:
			out.PDF = []byte(pdf)
		}
	}
	return e, out, nil
}

func (s *Store) queryEntries(ctx context.Context, q string, args ...any) ([]report.Entry, error) {
	rows, err := s.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("query reports: %w", err)
	}
	defer rows.Close()
	var out []report.Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("read reports: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read reports: %w", err)
	}
	return out, nil
}

// scanEntry reads the columns of reportIndex, then into more.
func scanEntry(rows driver.Rows, more ...any) (report.Entry, error) {
	var (
		e                                  report.Entry
		kind, school, summary              string
		from, to                           time.Time
		generatedMS                        int64
		formats                            []string
		id, key, schedule, district, title string
	)
	dst := append([]any{&id, &key, &schedule, &kind, &district, &school, &from, &to, &title, &generatedMS, &summary, &formats}, more...)
	if err := rows.Scan(dst...); err != nil {
		return e, err
	}
	e = report.Entry{
		ID: id, Key: key, Schedule: schedule, District: district, Title: title, Generated: fromMillis(generatedMS).In(engine.Shanghai),
		Spec: report.Spec{Kind: report.Kind(kind), From: from.In(engine.Shanghai), To: to.In(engine.Shanghai)},
	}
	if school != "" {
		e.Spec.Scope.School = school
	} else {
		e.Spec.Scope.District = district
	}
	if err := json.Unmarshal([]byte(summary), &e.Summary); err != nil {
		return e, fmt.Errorf("report %s: summary: %w", id, err)
	}
	for _, f := range formats {
		e.Formats = append(e.Formats, report.Format(f))
	}
	return e, nil
}

// AddReportClaim implements report.Claims.
func (s *Store) AddReportClaim(ctx context.Context, c report.Claim) error {
	return s.exec1(ctx, tableReportClaims, `INSERT INTO report_claims (run_key, step, instance, claimed_at, claimed_ms)`,
		c.Key, string(c.Step), c.Instance, dateTime(c.At), millis(c.At))
}

// ReportClaims implements report.Claims.
func (s *Store) ReportClaims(ctx context.Context, key string, step report.Step) ([]report.Claim, error) {
	rows, err := s.conn.Query(ctx, `SELECT instance, claimed_ms FROM report_claims WHERE run_key = ? AND step = ? ORDER BY claimed_ms, instance`,
		key, string(step))
	if err != nil {
		return nil, fmt.Errorf("query the claims of %s: %w", key, err)
	}
	defer rows.Close()
	var out []report.Claim
	for rows.Next() {
		c := report.Claim{Key: key, Step: step}
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

// ReportMarked implements report.Claims.
func (s *Store) ReportMarked(ctx context.Context, keys []string, step report.Step) (map[string]bool, error) {
	out := map[string]bool{}
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := s.conn.Query(ctx, `SELECT DISTINCT run_key FROM report_claims WHERE has(?, run_key) AND step = ?`, keys, string(step))
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
