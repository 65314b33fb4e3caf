package report

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sanse-campus/sanse/engine"
)

// Archive keeps the reports made, and tells the scheduler which runs are
// done. *Storage satisfies it. Its methods must be safe for concurrent
// use.
type Archive interface {
	// ArchiveReport stores the entry e with the renderings of out. Storing
	// an id again replaces its report.
	ArchiveReport(ctx context.Context, e Entry, out *Output) error
	// ArchivedRuns returns the entries made by the schedule whose period
	// begins at or after since.
	ArchivedRuns(ctx context.Context, schedule string, since time.Time) ([]Entry, error)
	// ArchivedScopes returns every scope the schedule ever made a report
	// for (that the archive still holds).
	ArchivedScopes(ctx context.Context, schedule string) ([]Scope, error)
}

// Deliverer hands a report's messages to its receivers. *Delivery
// satisfies it.
type Deliverer interface {
	// Deliver stores the messages of report e (made as out) for receivers
	// in the outbox before it returns; they are sent later. Calling it
	// again for the same report queues each message once.
	Deliver(ctx context.Context, e Entry, out *Output, receivers []string) error
}

// SchedulerOptions configure a Scheduler. Generator, Archive, Claims and
// Registry are required; Deliverer is required when a schedule has
// receivers.
type SchedulerOptions struct {
	Schedules []*Schedule
	// Location is the zone of the schedules and periods; engine.Shanghai
	// when nil.
	Location *time.Location
	// CatchUpRuns, ClaimLease and CheckInterval are Config's; their
	// defaults when zero.
	CatchUpRuns   int
	ClaimLease    time.Duration
	CheckInterval time.Duration
	// Settle is how long a claim waits before it reads the competing ones
	// back; DefaultSettle when zero, none when negative.
	Settle time.Duration
	// RedeliverWithin bounds how old an archived report whose messages
	// were never queued may be to be delivered after all (the outbox's
	// retry limit, notify.DefaultRetryMaxAge when zero).
	RedeliverWithin time.Duration
	// Instance names this instance in its claims; a random name when
	// empty. Two instances must never share one.
	Instance  string
	Generator Generator
	Archive   Archive
	Claims    Claims
	Deliverer Deliverer
	// Registry returns the school registry in force.
	Registry func() *engine.Registry
	Now      func() time.Time
	Logger   *slog.Logger
	// Metrics are shared with the Service and the Delivery; registered
	// with Registerer when nil.
	Metrics    *Metrics
	Registerer prometheus.Registerer

	// sleep replaces sleepCtx in tests.
	sleep func(ctx context.Context, d time.Duration) error
}

// DefaultSettle is how long a claim waits for competing claims by default.
const DefaultSettle = 2 * time.Second

// Scheduler makes the scheduled reports: at every fire of a schedule, and
// every CheckInterval, it works out the runs due within the catch-up window
// that the archive lacks — the one just due, and those missed while no
// instance ran — claims each (so that of several instances one makes it),
// makes, archives and delivers it. Reports are made one at a time.
type Scheduler struct {
	opts      SchedulerOptions
	loc       *time.Location
	claimer   *claimer
	logger    *slog.Logger
	metrics   *Metrics
	now       func() time.Time
	schedules []*Schedule
	// unknown are the runs of scopes the registry lacks that were told of;
	// only Check uses it.
	unknown map[string]bool
}

// NewScheduler checks opts and returns a scheduler; nothing runs before Run.
func NewScheduler(opts SchedulerOptions) (*Scheduler, error) {
	if opts.Generator == nil || opts.Archive == nil || opts.Claims == nil || opts.Registry == nil {
		return nil, errors.New("report: SchedulerOptions.Generator, Archive, Claims and Registry are required")
	}
	for _, s := range opts.Schedules {
		if len(s.Receivers) > 0 && opts.Deliverer == nil {
			return nil, fmt.Errorf("report: schedule %s has receivers and SchedulerOptions.Deliverer is nil", s.Name)
		}
	}
	if opts.Location == nil {
		opts.Location = engine.Shanghai
	}
	if opts.CatchUpRuns <= 0 {
		opts.CatchUpRuns = DefaultCatchUpRuns
	}
	if opts.ClaimLease <= 0 {
		opts.ClaimLease = DefaultClaimLease
	}
	if opts.CheckInterval <= 0 {
		opts.CheckInterval = DefaultCheckInterval
	}
	if opts.Settle == 0 {
		opts.Settle = DefaultSettle
	}
	if opts.RedeliverWithin <= 0 {
		opts.RedeliverWithin = 72 * time.Hour
	}
	if opts.Instance == "" {
		opts.Instance = InstanceName()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.sleep == nil {
		opts.sleep = sleepCtx
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(opts.Registerer)
	}
	s := &Scheduler{
		opts: opts, loc: opts.Location, logger: opts.Logger.With("component", "report"), metrics: opts.Metrics,
		now: opts.Now, schedules: opts.Schedules, unknown: map[string]bool{},
		claimer: &claimer{claims: opts.Claims, instance: opts.Instance, lease: opts.ClaimLease, settle: opts.Settle,
			now: opts.Now, sleep: opts.sleep},
	}
	for _, sc := range opts.Schedules {
		s.metrics.missing.WithLabelValues(sc.Name).Set(0)
	}
	return s, nil
}

// InstanceName returns a name for this process's claims: the host, the
// process id and a random part, so that a restarted process is another
// instance (its predecessor's claims run out with their lease).
func InstanceName() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "sanse"
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Run checks for due runs at once (the runs missed while no instance ran),
// then at each fire of a schedule and every CheckInterval, until ctx is
// done. It returns nil then.
func (s *Scheduler) Run(ctx context.Context) error {
	if len(s.schedules) == 0 {
		<-ctx.Done()
		return nil
	}
	for _, sc := range s.schedules {
		s.logger.Info("report schedule", "schedule", sc.Name, "cron", sc.Cron, "kind", sc.Kind,
			"next", sc.Next(s.now(), s.loc).Format(time.RFC3339))
	}
	for {
		s.Check(ctx)
		wait := s.opts.CheckInterval
		now := s.now()
		for _, sc := range s.schedules {
			if next := sc.Next(now, s.loc); !next.IsZero() && next.Sub(now) < wait {
				wait = next.Sub(now)
			}
		}
		if sleepCtx(ctx, wait) != nil {
			return nil
		}
	}
}

// Check makes every run due within the catch-up window that the archive
// lacks, oldest first, and delivers the archived reports whose messages
// were never queued. Failures are logged and counted; the run is tried
// again at a later check, once its claim's lease has run out.
func (s *Scheduler) Check(ctx context.Context) {
	var runs []Run
	reg := s.opts.Registry()
	for _, sc := range s.schedules {
		due, err := s.dueRuns(ctx, sc, reg)
		if err != nil {
			s.fail(sc.Name, failLookup, "reports: could not read the archive; tried again at the next check", err)
			continue
		}
		runs = append(runs, due...)
	}
	slices.SortStableFunc(runs, func(a, b Run) int { return a.Due.Compare(b.Due) })
	missing := map[string]int{}
	for _, r := range runs {
		if ctx.Err() != nil {
			return
		}
		if !s.make(ctx, r) {
			missing[r.Schedule.Name]++
		}
	}
	for _, sc := range s.schedules {
		s.metrics.missing.WithLabelValues(sc.Name).Set(float64(missing[sc.Name]))
	}
}

// dueRuns returns the schedule's runs due within the catch-up window that
// the archive lacks, per scope: every period after the scope's oldest
// report in the window (the runs missed since, and any that failed); the
// whole window when its reports are all older; only the latest period for a
// scope the schedule never made a report for (a new schedule, a new
// district). It also queues the messages of archived reports that were
// never queued.
func (s *Scheduler) dueRuns(ctx context.Context, sc *Schedule, reg *engine.Registry) ([]Run, error) {
	periods := sc.Due(s.now(), s.opts.CatchUpRuns, s.loc)
	if len(periods) == 0 {
		return nil, nil
	}
	entries, err := s.opts.Archive.ArchivedRuns(ctx, sc.Name, periods[0].From)
	if err != nil {
		return nil, err
	}
	archived := map[string]bool{}
	oldest := map[Scope]time.Time{}
	for _, e := range entries {
		archived[e.Key] = true
		if o, ok := oldest[e.Spec.Scope]; !ok || e.Spec.From.Before(o) {
			oldest[e.Spec.Scope] = e.Spec.From
		}
	}
	var ever map[Scope]bool
	var runs []Run
	for _, scope := range sc.Scopes(reg) {
		if !KnownScope(reg, scope) {
			// Told once per period, not at every check.
			latest := RunKey(sc.Name, Spec{Kind: sc.Kind, Scope: scope, From: periods[len(periods)-1].From})
			if !s.unknown[latest] {
				if len(s.unknown) >= 1000 {
					clear(s.unknown) // a bound: the worst is to be told again
				}
				s.unknown[latest] = true
				s.fail(sc.Name, failUnknownScope, "reports: the registry has no such district or school; no report made", ErrUnknownScope,
					"scope", scope.String())
			}
			continue
		}
		owed := periods
		if o, ok := oldest[scope]; ok {
			owed = slices.DeleteFunc(slices.Clone(periods), func(p DuePeriod) bool { return p.From.Before(o) })
		} else {
			if ever == nil {
				if ever, err = s.archivedScopes(ctx, sc.Name); err != nil {
					return nil, err
				}
			}
			if !ever[scope] {
				owed = periods[len(periods)-1:]
			}
		}
		for _, p := range owed {
			r := Run{Schedule: sc, Spec: Spec{Kind: sc.Kind, Scope: scope, From: p.From, To: p.To}, Due: p.Due}
			if !archived[r.Key()] {
				runs = append(runs, r)
			}
		}
	}
	if len(sc.Receivers) > 0 {
		s.redeliver(ctx, sc, entries)
	}
	return runs, nil
}

// archivedScopes returns the scopes the schedule ever made a report for.
func (s *Scheduler) archivedScopes(ctx context.Context, schedule string) (map[Scope]bool, error) {
	scopes, err := s.opts.Archive.ArchivedScopes(ctx, schedule)
	if err != nil {
		return nil, err
	}
	out := map[Scope]bool{}
	for _, sp := range scopes {
		out[sp] = true
	}
	return out, nil
}

// make claims the run and, when this instance holds it, makes, archives
// and delivers its report. It reports whether the run is in the archive
// afterwards (made here or by another instance).
func (s *Scheduler) make(ctx context.Context, r Run) bool {
	name, key := r.Schedule.Name, r.Key()
	log := s.logger.With("schedule", name, "scope", r.Spec.Scope.String(), "from", r.Spec.From.Format(time.DateOnly), "key", key)
	claimed, err := s.claimer.claim(ctx, key, StepRun)
	switch {
	case err != nil && ctx.Err() != nil:
		return false
	case err != nil:
		s.fail(name, failClaim, "reports: could not claim a run; tried again at the next check", err, "key", key)
		return false
	case claimed.IsZero():
		s.metrics.runs.WithLabelValues(name, "skipped").Inc()
		log.Debug("report run held by another instance (or tried here within its lease)")
		return false
	}
	// The work must end within the lease, after which another instance
	// may take the run over.
	ctx, cancel := context.WithTimeout(ctx, s.opts.ClaimLease*9/10-max(s.opts.Settle, 0))
	defer cancel()
	// Another instance may have finished it between the check and the
	// claim, its lease running out meanwhile.
	if done, err := s.archived(ctx, r); err != nil {
		s.fail(name, failLookup, "reports: could not read the archive", err, "key", key)
		return false
	} else if done {
		s.metrics.runs.WithLabelValues(name, "skipped").Inc()
		return true
	}
	start := time.Now()
	out, err := s.opts.Generator.Generate(ctx, r.Spec)
	if err != nil {
		reason := failGenerate
		if errors.Is(err, ErrUnknownScope) {
			reason = failUnknownScope
		}
		s.metrics.runs.WithLabelValues(name, "failed").Inc()
		s.fail(name, reason, "reports: report not made; tried again once the claim's lease has run out", err, "key", key,
			"lease", s.opts.ClaimLease.String())
		return false
	}
	s.metrics.duration.WithLabelValues(name).Observe(time.Since(start).Seconds())
	district := r.Spec.Scope.District
	if id := r.Spec.Scope.School; id != "" {
		if sc := s.opts.Registry().School(id); sc != nil {
			district = sc.District
		}
	}
	e := NewEntry(IDForKey(key), out, name, key, district)
	if err := s.opts.Archive.ArchiveReport(ctx, e, out); err != nil {
		s.metrics.runs.WithLabelValues(name, "failed").Inc()
		s.fail(name, failArchive, "reports: report made but not archived; made again once the claim's lease has run out", err, "key", key)
		return false
	}
	s.metrics.runs.WithLabelValues(name, "made").Inc()
	log.Info("report made", "report", e.ID, "formats", formatNames(e.Formats), "took", time.Since(start).Round(time.Millisecond).String())
	if len(r.Schedule.Receivers) > 0 {
		s.deliver(ctx, r.Schedule, e, out)
	}
	return true
}

// archived reports whether the archive has the run.
func (s *Scheduler) archived(ctx context.Context, r Run) (bool, error) {
	entries, err := s.opts.Archive.ArchivedRuns(ctx, r.Schedule.Name, r.Spec.From)
	if err != nil {
		return false, err
	}
	key := r.Key()
	return slices.ContainsFunc(entries, func(e Entry) bool { return e.Key == key }), nil
}

// deliver queues the report's messages and marks them queued. A failure is
// made good by redeliver at a later check.
func (s *Scheduler) deliver(ctx context.Context, sc *Schedule, e Entry, out *Output) {
	if err := s.opts.Deliverer.Deliver(ctx, e, out, sc.Receivers); err != nil {
		s.fail(sc.Name, failDeliver, "reports: report archived but its messages not queued; queued at a later check", err, "report", e.ID)
		return
	}
	mark := Claim{Key: e.Key, Instance: s.opts.Instance, At: s.now().Truncate(time.Millisecond), Step: StepQueued}
	if err := s.opts.Claims.AddReportClaim(ctx, mark); err != nil {
		// The messages would be queued again later: the outbox keeps one
		// message per id, but an instance may send it twice.
		s.fail(sc.Name, failClaim, "reports: report messages queued but not marked so", err, "report", e.ID)
	}
}

// redeliver queues the messages of the schedule's archived reports that
// were made but never queued (the instance that made them stopped, or the
// outbox could not be written), once the lease of the run has run out and
// while the outbox would still try them.
func (s *Scheduler) redeliver(ctx context.Context, sc *Schedule, entries []Entry) {
	now := s.now()
	var keys []string
	byKey := map[string]Entry{}
	for _, e := range entries {
		age := now.Sub(e.Generated)
		if e.Key != "" && age >= s.opts.ClaimLease && age < s.opts.RedeliverWithin {
			keys = append(keys, e.Key)
			byKey[e.Key] = e
		}
	}
	if len(keys) == 0 {
		return
	}
	queued, err := s.opts.Claims.ReportMarked(ctx, keys, StepQueued)
	if err != nil {
		s.fail(sc.Name, failClaim, "reports: could not read which reports were delivered", err)
		return
	}
	contents, _ := s.opts.Archive.(Contents)
	for _, key := range keys {
		if queued[key] || ctx.Err() != nil {
			continue
		}
		claimed, err := s.claimer.claim(ctx, key, StepDeliver)
		if err != nil || claimed.IsZero() {
			continue
		}
		e := byKey[key]
		var out *Output
		if contents != nil {
			if _, o, err := contents.ArchivedOutput(ctx, e.ID); err == nil {
				out = o
			}
		}
		s.logger.Info("reports: delivering a report whose messages were never queued", "schedule", sc.Name, "report", e.ID)
		s.deliver(ctx, sc, e, out)
	}
}

// fail logs a failure and counts it.
func (s *Scheduler) fail(schedule, reason, msg string, err error, args ...any) {
	s.metrics.failures.WithLabelValues(schedule, reason).Inc()
	s.logger.Error(msg, append([]any{"schedule", schedule, "reason", reason, "err", err}, args...)...)
}

func formatNames(fs []Format) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = string(f)
	}
	return strings.Join(names, ",")
}
