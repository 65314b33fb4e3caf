package report

import (
	"errors"
	"time"
)

// Entry is a report as the archive lists it: what it covers, when it was
// made and by which schedule, its summary and which renderings it has. The
// renderings themselves are read one at a time (Archive.Content).
type Entry struct {
	ID   string
	Spec Spec
	// District is the district of the report's scope: the district of a
	// district report, the school's district (when the report was made)
	// of a school report. A district's token sees both.
	District  string
	Title     string
	Generated time.Time
	Summary   Summary
	// Schedule names the schedule that made the report; "" for one asked
	// for on demand.
	Schedule string
	// Key is the run key of a scheduled report (RunKey); "" otherwise.
	Key     string
	Formats []Format
}

// NewEntry returns the archive entry of out, made with id, by schedule
// (with its run key; both "" on demand), for a scope whose district is
// district.
func NewEntry(id string, out *Output, schedule, key, district string) Entry {
	e := Entry{
		ID: id, Spec: out.Spec, District: district, Title: out.Title, Generated: out.Generated,
		Summary: out.Summary, Schedule: schedule, Key: key,
	}
	if out.Spec.Scope.District != "" {
		e.District = out.Spec.Scope.District
	}
	for _, f := range []Format{FormatHTML, FormatCSV, FormatPDF} {
		if _, ok := out.Content(f); ok {
			e.Formats = append(e.Formats, f)
		}
	}
	return e
}

// FileName returns the file name of the entry's rendering in format f.
func (e *Entry) FileName(f Format) string {
	o := Output{Spec: e.Spec}
	return o.FileName(f)
}

// Filter selects entries of the archive. Zero fields select everything.
type Filter struct {
	// District selects the district's reports and its schools' reports.
	District string
	School   string
	Kind     Kind
	// ScopeKind selects district reports ("district") or school reports
	// ("school").
	ScopeKind string
	// From and To select the reports whose period overlaps [From, To).
	From, To time.Time
	// Grants, when not empty, are the scopes the caller may see: an entry
	// is selected only when one grant allows it. A grant with a district
	// allows that district's reports and its schools'; with a school, that
	// school's reports; with both, that school's reports while it is in
	// that district.
	Grants []Scope
	// None selects nothing: a caller whose scope allows no report.
	None bool
	// Limit and Offset page the list, newest first.
	Limit, Offset int
}

// ErrNotFound is returned for a report the archive does not have.
var ErrNotFound = errors.New("report not found")

// ErrNoContent is returned for a rendering a report does not have: a PDF
// when no PDF renderer was available when it was made.
var ErrNoContent = errors.New("the report has no such rendering")
