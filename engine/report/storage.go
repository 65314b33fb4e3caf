package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/notify"
	"github.com/sanse-campus/sanse/engine/store"
)

// Storage is the report archive and the claims of scheduled runs in
// ClickHouse (engine/store's report tables, migration 0010) seen as this
// package's Archive, Reader, Contents and Claims.
type Storage struct{ st *store.Store }

// The storage is what the scheduler, the service and the delivery use.
var (
	_ Archive  = (*Storage)(nil)
	_ Reader   = (*Storage)(nil)
	_ Contents = (*Storage)(nil)
	_ Claims   = (*Storage)(nil)
)

// NewStorage returns the reports' storage in st.
func NewStorage(st *store.Store) *Storage { return &Storage{st: st} }

// Outbox returns the store of the report messages' outbox.
func (s *Storage) Outbox() notify.OutboxStore { return s.st.ReportOutbox() }

// ArchiveReport implements Archive.
func (s *Storage) ArchiveReport(ctx context.Context, e Entry, out *Output) error {
	summary, err := json.Marshal(e.Summary)
	if err != nil {
		return fmt.Errorf("archive report %s: %w", e.ID, err)
	}
	r := store.ReportRow{
		ID: e.ID, Key: e.Key, Schedule: e.Schedule, Kind: string(e.Spec.Kind), District: e.District, SchoolID: e.Spec.Scope.School,
		From: e.Spec.From, To: e.Spec.To, Title: e.Title, Generated: e.Generated, Summary: string(summary),
		HTML: out.HTML, CSV: out.CSV, PDF: out.PDF,
	}
	for _, f := range e.Formats {
		r.Formats = append(r.Formats, string(f))
	}
	return s.st.ArchiveReport(ctx, r)
}

// ArchivedRuns implements Archive.
func (s *Storage) ArchivedRuns(ctx context.Context, schedule string, since time.Time) ([]Entry, error) {
	rows, err := s.st.ArchivedRuns(ctx, schedule, since)
	if err != nil {
		return nil, err
	}
	return entries(rows)
}

// ArchivedScopes implements Archive.
func (s *Storage) ArchivedScopes(ctx context.Context, schedule string) ([]Scope, error) {
	grants, err := s.st.ArchivedScopes(ctx, schedule)
	if err != nil {
		return nil, err
	}
	out := make([]Scope, len(grants))
	for i, g := range grants {
		out[i] = Scope{District: g.District, School: g.SchoolID}
	}
	return out, nil
}

// ArchivedReports implements Reader.
func (s *Storage) ArchivedReports(ctx context.Context, f Filter) ([]Entry, error) {
	if f.None {
		return nil, nil
	}
	sf := store.ReportFilter{District: f.District, SchoolID: f.School, Kind: string(f.Kind), From: f.From, To: f.To,
		Limit: f.Limit, Offset: f.Offset}
	switch f.ScopeKind {
	case "district", "school":
		school := f.ScopeKind == "school"
		sf.SchoolReports = &school
	}
	for _, g := range f.Grants {
		sf.Grants = append(sf.Grants, store.ReportGrant{District: g.District, SchoolID: g.School})
	}
	rows, err := s.st.ArchivedReports(ctx, sf)
	if err != nil {
		return nil, err
	}
	return entries(rows)
}

// ArchivedReport implements Reader.
func (s *Storage) ArchivedReport(ctx context.Context, id string) (Entry, error) {
	r, err := s.st.ArchivedReport(ctx, id)
	if err != nil {
		return Entry{}, storageError(err)
	}
	return entry(r)
}

// ArchivedContent implements Reader.
func (s *Storage) ArchivedContent(ctx context.Context, id string, f Format) ([]byte, error) {
	b, err := s.st.ArchivedReportContent(ctx, id, string(f))
	return b, storageError(err)
}

// ArchivedOutput implements Contents.
func (s *Storage) ArchivedOutput(ctx context.Context, id string) (Entry, *Output, error) {
	r, err := s.st.ArchivedReportContents(ctx, id)
	if err != nil {
		return Entry{}, nil, storageError(err)
	}
	e, err := entry(r)
	if err != nil {
		return Entry{}, nil, err
	}
	return e, &Output{Spec: e.Spec, Title: e.Title, Generated: e.Generated, Summary: e.Summary, HTML: r.HTML, CSV: r.CSV, PDF: r.PDF}, nil
}

// AddReportClaim implements Claims.
func (s *Storage) AddReportClaim(ctx context.Context, c Claim) error {
	return s.st.AddReportClaim(ctx, store.ReportClaim{Key: c.Key, Step: string(c.Step), Instance: c.Instance, At: c.At})
}

// ReportClaims implements Claims.
func (s *Storage) ReportClaims(ctx context.Context, key string, step Step) ([]Claim, error) {
	list, err := s.st.ReportClaims(ctx, key, string(step))
	if err != nil {
		return nil, err
	}
	out := make([]Claim, len(list))
	for i, c := range list {
		out[i] = Claim{Key: c.Key, Instance: c.Instance, At: c.At, Step: Step(c.Step)}
	}
	return out, nil
}

// ReportMarked implements Claims.
func (s *Storage) ReportMarked(ctx context.Context, keys []string, step Step) (map[string]bool, error) {
	return s.st.ReportMarked(ctx, keys, string(step))
}

// storageError maps the store's sentinels to this package's.
func storageError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrReportNotFound):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, store.ErrReportNoContent):
		return fmt.Errorf("%w: %w", ErrNoContent, err)
	}
	return err
}

func entries(rows []store.ReportRow) ([]Entry, error) {
	out := make([]Entry, 0, len(rows))
	for _, r := range rows {
		e, err := entry(r)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// entry returns the archive entry of a row, its times in Asia/Shanghai.
func entry(r store.ReportRow) (Entry, error) {
	e := Entry{
		ID: r.ID, Key: r.Key, Schedule: r.Schedule, District: r.District, Title: r.Title,
		Generated: r.Generated.In(engine.Shanghai),
		Spec:      Spec{Kind: Kind(r.Kind), From: r.From.In(engine.Shanghai), To: r.To.In(engine.Shanghai)},
	}
	if r.SchoolID != "" {
		e.Spec.Scope.School = r.SchoolID
	} else {
		e.Spec.Scope.District = r.District
	}
	if err := json.Unmarshal([]byte(r.Summary), &e.Summary); err != nil {
		return e, fmt.Errorf("report %s: summary: %w", r.ID, err)
	}
	for _, f := range r.Formats {
		e.Formats = append(e.Formats, Format(f))
	}
	return e, nil
}
