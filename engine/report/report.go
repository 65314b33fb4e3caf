// Package report makes the inspection reports (排查报告) that inspectors and
// education-bureau leadership read: for a scope (a district or one school)
// and a period, everything the history in ClickHouse says about the
// schools' colours, risks, alerts, hazards and inspection routines, as HTML
// with server-side SVG charts, CSV of every table and, where a renderer
// exists on the machine, PDF.
//
// This file holds the types every part of the reporting shares: what a
// report is asked for (Spec), what making one yields (Output), and the
// Generator that turns one into the other. Schedules, the archive, the API
// and the command line code against these.
package report

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Kind is how a report's period was chosen.
type Kind string

// Report kinds.
const (
	KindDaily   Kind = "daily"   // one local day
	KindWeekly  Kind = "weekly"  // Monday to Sunday
	KindMonthly Kind = "monthly" // one calendar month
	KindCustom  Kind = "custom"  // any range asked for
)

// Kinds lists every kind.
var Kinds = []Kind{KindDaily, KindWeekly, KindMonthly, KindCustom}

// ParseKind returns the kind named s.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown report kind %q (expected daily, weekly, monthly or custom)", s)
}

// Format is a rendering of a report.
type Format string

// Formats.
const (
	FormatHTML Format = "html"
	FormatCSV  Format = "csv"
	FormatPDF  Format = "pdf"
)

// ParseFormat returns the format named s.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case FormatHTML, FormatCSV, FormatPDF:
		return Format(s), nil
	}
	return "", fmt.Errorf("unknown report format %q (expected html, csv or pdf)", s)
}

// ContentType returns the MIME type of f.
func (f Format) ContentType() string {
	switch f {
	case FormatHTML:
		return "text/html; charset=utf-8"
	case FormatCSV:
		return "text/csv; charset=utf-8"
	case FormatPDF:
		return "application/pdf"
	}
	return "application/octet-stream"
}

// Scope is what a report covers: one district, or one school. A report
// never shows a school outside its scope.
type Scope struct {
	District string `json:"district,omitempty" yaml:"district,omitempty"`
	School   string `json:"school_id,omitempty" yaml:"school,omitempty"`
}

// Validate reports whether exactly one of District and School is set.
func (s Scope) Validate() error {
	switch {
	case s.District == "" && s.School == "":
		return errors.New("a report needs a district or a school")
	case s.District != "" && s.School != "":
		return errors.New("a report is for a district or for a school, not both")
	}
	return nil
}

// String names the scope for logs and file names.
func (s Scope) String() string {
	if s.School != "" {
		return "school:" + s.School
	}
	return "district:" + s.District
}

// Spec asks for one report: a scope and a period [From, To), both ends at
// local midnight of the report's time zone for the periodic kinds.
type Spec struct {
	Kind  Kind      `json:"kind"`
	Scope Scope     `json:"scope"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
}

// Validate checks a spec before any work is done.
func (s Spec) Validate() error {
	if err := s.Scope.Validate(); err != nil {
		return err
	}
	if _, err := ParseKind(string(s.Kind)); err != nil {
		return err
	}
	if s.From.IsZero() || s.To.IsZero() {
		return errors.New("a report needs a period: from and to")
	}
	if !s.To.After(s.From) {
		return fmt.Errorf("the period ends (%s) before it begins (%s)", s.To.Format(time.DateOnly), s.From.Format(time.DateOnly))
	}
	if s.To.Sub(s.From) > MaxPeriod {
		return fmt.Errorf("a report covers at most %d days", int(MaxPeriod/(24*time.Hour)))
	}
	return nil
}

// MaxPeriod is the longest period one report covers.
const MaxPeriod = 400 * 24 * time.Hour

// Period returns the periodic kind's period that holds t, in loc: the day,
// the week from Monday, or the calendar month.
func Period(k Kind, t time.Time, loc *time.Location) (from, to time.Time) {
	t = t.In(loc)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	switch k {
	case KindWeekly:
		from = day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
		return from, from.AddDate(0, 0, 7)
	case KindMonthly:
		from = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
		return from, from.AddDate(0, 1, 0)
	}
	return day, day.AddDate(0, 0, 1)
}

// Previous returns the periodic kind's last whole period before t: the
// previous day, week or month — what a report run at t covers.
func Previous(k Kind, t time.Time, loc *time.Location) (from, to time.Time) {
	from, _ = Period(k, t, loc)
	switch k {
	case KindWeekly:
		return from.AddDate(0, 0, -7), from
	case KindMonthly:
		return from.AddDate(0, -1, 0), from
	}
	return from.AddDate(0, 0, -1), from
}

// Summary is the few figures of a report that a chat message carries
// (DingTalk, WeCom) with a link to the whole report, and that the archive
// lists.
type Summary struct {
	Schools        int `json:"schools"`
	Red            int `json:"red"`    // schools red at the end of the period
	Yellow         int `json:"yellow"` // schools yellow at the end of the period
	Green          int `json:"green"`
	EverRed        int `json:"ever_red"`    // schools red at some time in the period
	EverYellow     int `json:"ever_yellow"` // schools yellow (and never red) at some time in the period
	Risks          int `json:"risks"`       // risks opened in the period
	Alerts         int `json:"alerts"`      // alerts opened in the period
	HazardsOpened  int `json:"hazards_opened"`
	HazardsOverdue int `json:"hazards_overdue"` // open and past their deadline at the end of the period
	// Lines are a few sentences for people, Chinese, e.g. the schools red
	// longest and the oldest open hazard.
	Lines []string `json:"lines,omitempty"`
}

// Output is one report made: its title, summary and renderings. PDF is nil
// when no PDF renderer is available on the machine.
type Output struct {
	Spec      Spec
	Title     string // Chinese, e.g. 南湖区校园安全日报（2026年12月3日）
	Generated time.Time
	Summary   Summary
	HTML      []byte
	CSV       []byte
	PDF       []byte
}

// Content returns the rendering in format f, and false when the output has
// none (PDF without a renderer).
func (o *Output) Content(f Format) ([]byte, bool) {
	var b []byte
	switch f {
	case FormatHTML:
		b = o.HTML
	case FormatCSV:
		b = o.CSV
	case FormatPDF:
		b = o.PDF
	}
	return b, b != nil
}

// FileName returns a file name for the rendering in format f, e.g.
// sanse-report-daily-南湖区-2026-12-03.html.
func (o *Output) FileName(f Format) string {
	scope := o.Spec.Scope.District
	if o.Spec.Scope.School != "" {
		scope = o.Spec.Scope.School
	}
	last := o.Spec.To.Add(-time.Nanosecond)
	period := o.Spec.From.Format(time.DateOnly)
	if last.Format(time.DateOnly) != period {
		period += "_" + last.Format(time.DateOnly)
	}
	return fmt.Sprintf("sanse-report-%s-%s-%s.%s", o.Spec.Kind, scope, period, f)
}

// Generator makes reports. Generate reads the history and renders every
// format; an error says why nothing was made (an unknown district or
// school is ErrUnknownScope).
type Generator interface {
	Generate(ctx context.Context, spec Spec) (*Output, error)
}

// ErrUnknownScope is returned for a district or school that the registry
// does not have.
var ErrUnknownScope = errors.New("unknown district or school")
