package report

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sanse-campus/sanse/engine"
)

// Reader reads the archive for the API. *Storage satisfies it.
type Reader interface {
	// ArchivedReports returns the entries f selects, newest first.
	ArchivedReports(ctx context.Context, f Filter) ([]Entry, error)
	// ArchivedReport returns the entry of the report with the id, or an
	// error wrapping ErrNotFound.
	ArchivedReport(ctx context.Context, id string) (Entry, error)
	// ArchivedContent returns the report's rendering in format f, or an
	// error wrapping ErrNotFound (no such report) or ErrNoContent (no such
	// rendering).
	ArchivedContent(ctx context.Context, id string, f Format) ([]byte, error)
}

// ServiceOptions configure a Service. Archive and Reader are required;
// without a Generator, Generate answers ErrUnavailable.
type ServiceOptions struct {
	Archive Archive
	Reader  Reader
	// Generator makes the reports asked for; nil when none is available.
	Generator Generator
	// Unavailable says why there is no Generator, for ErrUnavailable.
	Unavailable error
	// Registry returns the school registry in force.
	Registry func() *engine.Registry
	// MaxConcurrent bounds the reports made on demand at once (1 when
	// zero): a report reads much of the history.
	MaxConcurrent int
	Logger        *slog.Logger
	// Metrics are shared with the Scheduler and the Delivery; registered
	// with Registerer when nil.
	Metrics    *Metrics
	Registerer prometheus.Registerer
}

// Service is the archive as the API uses it: list, read, and make a report
// on demand (archived like a scheduled one, without a schedule).
type Service struct {
	opts   ServiceOptions
	slots  chan struct{}
	logger *slog.Logger
	m      *Metrics
}

// ErrUnavailable is returned by Generate when reports cannot be made on
// this instance.
var ErrUnavailable = errors.New("reports cannot be made on this server")

// ErrBusy is returned by Generate when as many reports as allowed are
// being made already.
var ErrBusy = errors.New("other reports are being made; try again shortly")

// NewService returns a service.
func NewService(opts ServiceOptions) (*Service, error) {
	if opts.Archive == nil || opts.Reader == nil {
		return nil, errors.New("report: ServiceOptions.Archive and Reader are required")
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = func() *engine.Registry { return nil }
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(opts.Registerer)
	}
	return &Service{opts: opts, slots: make(chan struct{}, opts.MaxConcurrent), logger: opts.Logger.With("component", "report"),
		m: opts.Metrics}, nil
}

// List returns the entries f selects, newest first.
func (s *Service) List(ctx context.Context, f Filter) ([]Entry, error) {
	if f.None {
		return nil, nil
	}
	return s.opts.Reader.ArchivedReports(ctx, f)
}

// Get returns the entry of a report, or an error wrapping ErrNotFound.
func (s *Service) Get(ctx context.Context, id string) (Entry, error) {
	return s.opts.Reader.ArchivedReport(ctx, id)
}

// Content returns a rendering of a report, or an error wrapping ErrNotFound
// or ErrNoContent.
func (s *Service) Content(ctx context.Context, id string, f Format) ([]byte, error) {
	return s.opts.Reader.ArchivedContent(ctx, id, f)
}

// Generate makes the report spec asks for now, archives it and returns its
// entry. An unknown district or school is ErrUnknownScope, a spec that is
// not valid an error from Spec.Validate; ErrBusy and ErrUnavailable say
// that no report can be made now or here.
func (s *Service) Generate(ctx context.Context, spec Spec) (Entry, error) {
	if err := spec.Validate(); err != nil {
		return Entry{}, err
	}
	if s.opts.Generator == nil {
		if s.opts.Unavailable != nil {
			return Entry{}, fmt.Errorf("%w: %w", ErrUnavailable, s.opts.Unavailable)
		}
		return Entry{}, ErrUnavailable
	}
	reg := s.opts.Registry()
	if reg != nil && !KnownScope(reg, spec.Scope) {
		return Entry{}, fmt.Errorf("%s: %w", spec.Scope, ErrUnknownScope)
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		return Entry{}, ErrBusy
	}
	start := time.Now()
	out, err := s.opts.Generator.Generate(ctx, spec)
	if err != nil {
		s.m.runs.WithLabelValues(OnDemand, "failed").Inc()
		reason := failGenerate
		if errors.Is(err, ErrUnknownScope) {
			reason = failUnknownScope
		}
		s.m.failures.WithLabelValues(OnDemand, reason).Inc()
		return Entry{}, err
	}
	s.m.duration.WithLabelValues(OnDemand).Observe(time.Since(start).Seconds())
	district := spec.Scope.District
	if reg != nil && spec.Scope.School != "" {
		if sc := reg.School(spec.Scope.School); sc != nil {
			district = sc.District
		}
	}
	e := NewEntry(NewID(), out, "", "", district)
	if err := s.opts.Archive.ArchiveReport(ctx, e, out); err != nil {
		s.m.runs.WithLabelValues(OnDemand, "failed").Inc()
		s.m.failures.WithLabelValues(OnDemand, failArchive).Inc()
		return Entry{}, fmt.Errorf("archive the report: %w", err)
	}
	s.m.runs.WithLabelValues(OnDemand, "made").Inc()
	s.logger.Info("report made on demand", "report", e.ID, "scope", spec.Scope.String(), "kind", spec.Kind,
		"from", spec.From.Format(time.DateOnly), "last_day", spec.To.Add(-time.Nanosecond).Format(time.DateOnly))
	return e, nil
}
