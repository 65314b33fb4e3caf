package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/registry"
	"github.com/sanse-campus/sanse/engine/report"
	"github.com/sanse-campus/sanse/engine/store"
	"github.com/sanse-campus/sanse/rules"
)

const reportSynopsis = "report --district NAME|--school ID [--kind KIND] [--from DATE --to DATE] [--format html|csv|pdf] [--out FILE|-] [flags]"

// reportRequest is what the flags of `sanse report` ask for, checked.
type reportRequest struct {
	scope    report.Scope
	kind     report.Kind
	format   report.Format
	from, to string // as given
	out      string
}

// cmdReport runs `sanse report`: one report made from the history in
// ClickHouse, with the configuration's registry and rules, without a
// server, written to a file (named as the API names it) or to stdout.
func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", reportSynopsis, stderr)
	cf := newConfigFlags(fs)
	district := fs.String("district", "", "make the report of this district (as the registry names it)")
	school := fs.String("school", "", "make the report of this school (its id)")
	kind := fs.String("kind", string(report.KindCustom), "custom (any --from/--to), daily, weekly (Monday to Sunday) or monthly; a periodic kind without --from is its last whole period")
	from := fs.String("from", "", "the first day of the period, e.g. 2026-11-01 (local date)")
	to := fs.String("to", "", "the last day of the period, inclusive, e.g. 2026-11-30")
	format := fs.String("format", string(report.FormatHTML), "html, csv or pdf (pdf needs a PDF renderer on this machine)")
	out := fs.String("out", "", "the file to write; - writes to stdout (default: the report's file name in the current directory)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: give the period with --from and --to (see sanse report -h)", fs.Arg(0))
	}
	req, err := checkReportFlags(*district, *school, *kind, *format, *from, *to, *out)
	if err != nil {
		return err
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	loc, err := cfg.Reports.Location()
	if err != nil {
		return err
	}
	spec, err := req.spec(time.Now(), loc)
	if err != nil {
		return err
	}
	reg, err := registry.Load(cfg.Registry.File)
	if err != nil {
		return err
	}
	if err := knownScope(reg, cfg.Registry.File, spec.Scope); err != nil {
		return err
	}
	set, rerrs := loadRules(cfg.contract(), cfg.Rules.Dir)
	if len(rerrs) > 0 {
		return fmt.Errorf("rules: %w", errors.Join(rerrs...))
	}
	logger := newLogger(cfg.Log.Level, cfg.Log.Format, stderr)
	st, err := store.OpenWith(ctx, cfg.ClickHouse.DSN, cfg.ClickHouse.conn, logger, nil)
	if err != nil {
		return fmt.Errorf("clickhouse: %w", err)
	}
	defer st.Close()
	// A database no server has used yet gets its tables, so that its
	// report says there is no history instead of naming a missing table.
	if err := st.Migrate(ctx); err != nil {
		return fmt.Errorf("clickhouse: %w", err)
	}
	var pdf report.PDFRenderer
	if req.format == report.FormatPDF {
		if pdf, err = cfg.Reports.PDFRenderer(); err != nil {
			return err
		}
	}
	gen, err := newReportGenerator(st, func() *engine.Registry { return reg }, func() *rules.Set { return set }, loc,
		cfg.reportsURL(), pdf, logger)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "sanse report: making the %s report of %s, %s … (reading the history)\n", spec.Kind, scopeText(reg, spec.Scope),
		periodText(spec, loc))
	start := time.Now()
	o, err := gen.Generate(ctx, spec)
	if err != nil {
		return fmt.Errorf("make the report: %w", err)
	}
	content, ok := o.Content(req.format)
	if !ok {
		return fmt.Errorf("no PDF renderer was available on this machine, so the report has no PDF; --format html or csv writes it (install Chromium for PDF)")
	}
	name := req.out
	if name == "" {
		name = o.FileName(req.format)
	}
	if name == "-" {
		if _, err := stdout.Write(content); err != nil {
			return fmt.Errorf("write the report: %w", err)
		}
		fmt.Fprintf(stderr, "sanse report: %q written to stdout (%d bytes) in %s\n", o.Title, len(content), time.Since(start).Round(time.Millisecond))
		return nil
	}
	if err := writeFileAtomic(name, content); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "sanse report: %q written to %s (%d bytes) in %s\n", o.Title, name, len(content), time.Since(start).Round(time.Millisecond))
	return nil
}

// checkReportFlags checks what the flags say by themselves.
func checkReportFlags(district, school, kind, format, from, to, out string) (reportRequest, error) {
	r := reportRequest{scope: report.Scope{District: strings.TrimSpace(district), School: strings.TrimSpace(school)},
		from: strings.TrimSpace(from), to: strings.TrimSpace(to), out: out}
	switch {
	case r.scope.District == "" && r.scope.School == "":
		return r, errors.New("--district NAME or --school ID is required: a report covers a district or one school")
	case r.scope.District != "" && r.scope.School != "":
		return r, errors.New("give --district or --school, not both: a report covers a district or one school")
	}
	var err error
	if r.kind, err = report.ParseKind(kind); err != nil {
		return r, fmt.Errorf("--kind: %w", err)
	}
	if r.format, err = report.ParseFormat(format); err != nil {
		return r, fmt.Errorf("--format: %w", err)
	}
	switch {
	case r.kind == report.KindCustom && (r.from == "" || r.to == ""):
		return r, errors.New("--from and --to are required for a custom report: the first and the last day, e.g. --from 2026-11-01 --to 2026-11-30")
	case r.from == "" && r.to != "":
		return r, errors.New("--to needs --from")
	}
	if r.out != "" && r.out != "-" {
		if fi, err := os.Stat(r.out); err == nil && fi.IsDir() {
			return r, fmt.Errorf("--out %s is a directory; give a file name", r.out)
		}
	}
	return r, nil
}

// spec returns the report asked for, its dates in loc, at now.
func (r reportRequest) spec(now time.Time, loc *time.Location) (report.Spec, error) {
	spec := report.Spec{Kind: r.kind, Scope: r.scope}
	if r.from == "" {
		// A periodic kind alone: its last whole period, as a schedule makes.
		spec.From, spec.To = report.Previous(r.kind, now, loc)
		return spec, spec.Validate()
	}
	day := func(flag, v string) (time.Time, error) {
		t, err := time.ParseInLocation(time.DateOnly, v, loc)
		if err != nil {
			return t, fmt.Errorf("--%s %q: expected a date such as 2026-11-01", flag, v)
		}
		return t, nil
	}
	first, err := day("from", r.from)
	if err != nil {
		return spec, err
	}
	spec.From = first
	if r.kind != report.KindCustom {
		pf, pt := report.Period(r.kind, first, loc)
		if !pf.Equal(first) {
			return spec, fmt.Errorf("--from %s: a %s report begins on %s; use --kind custom for any other period", r.from, r.kind, pf.Format(time.DateOnly))
		}
		spec.To = pt
	}
	if r.to != "" {
		last, err := day("to", r.to)
		if err != nil {
			return spec, err
		}
		if last.Before(first) {
			return spec, fmt.Errorf("--to %s is before --from %s", r.to, r.from)
		}
		end := last.AddDate(0, 0, 1)
		if r.kind != report.KindCustom && !end.Equal(spec.To) {
			return spec, fmt.Errorf("a %s report from %s ends on %s, not %s; use --kind custom for any other period",
				r.kind, r.from, spec.To.AddDate(0, 0, -1).Format(time.DateOnly), r.to)
		}
		spec.To = end
	}
	today := now.In(loc)
	if tomorrow := time.Date(today.Year(), today.Month(), today.Day()+1, 0, 0, 0, 0, loc); spec.To.After(tomorrow) {
		return spec, fmt.Errorf("the period ends after today (%s): a report covers days that have begun", today.Format(time.DateOnly))
	}
	return spec, spec.Validate()
}

// knownScope says what is wrong with a district or school the registry
// does not have.
func knownScope(reg *engine.Registry, file string, sc report.Scope) error {
	if report.KnownScope(reg, sc) {
		return nil
	}
	if sc.School != "" {
		return fmt.Errorf("school %q is not in the registry %s", sc.School, file)
	}
	return fmt.Errorf("district %q is not in the registry %s, which has %s", sc.District, file, strings.Join(report.Districts(reg), ", "))
}

// scopeText names a scope for the progress line.
func scopeText(reg *engine.Registry, sc report.Scope) string {
	if sc.School == "" {
		return sc.District
	}
	if s := reg.School(sc.School); s != nil {
		return s.Name + " (" + s.ID + ")"
	}
	return sc.School
}

// periodText writes a period as its first and last day.
func periodText(spec report.Spec, loc *time.Location) string {
	first, last := spec.From.In(loc).Format(time.DateOnly), spec.To.Add(-time.Nanosecond).In(loc).Format(time.DateOnly)
	if first == last {
		return first
	}
	return first + " to " + last
}

// writeFileAtomic writes data to name through a temporary file beside it,
// so that a failed write leaves no half report.
func writeFileAtomic(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("write the report to %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write the report to %s: %w", name, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write the report to %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write the report to %s: %w", name, err)
	}
	return nil
}
