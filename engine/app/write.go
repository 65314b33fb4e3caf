package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/hazard"
	"github.com/sanse-campus/sanse/engine/ingest"
	"github.com/sanse-campus/sanse/engine/retry"
	"github.com/sanse-campus/sanse/engine/store"
	"github.com/sanse-campus/sanse/rules"
)

// subscriber is handed every batch once it is stored. Observe is called with
// the writer's caller's context, outside any component's lock, in the order
// of the subscribers; it must not keep out. An error fails the write, which
// the caller tries again (the store is idempotent), so Observe must accept
// the same records again.
type subscriber interface {
	Observe(ctx context.Context, out *engine.Output) error
}

// writer is the one write path of the program: the ingest's batches, the
// expiries found at restore, what people's acts and hazards changed in the
// engine, and the risks a rule reload ended all go through Write (the
// ingest's in its two stages, Prepare and Finish).
type writer struct {
	store       *store.Store
	subscribers []subscriber
}

// Write stores b's effects (risk transitions, colour changes), then stores
// its events while it hands it to each subscriber: an alert or a hazard is
// opened only from stored records, and before the events behind them are
// stored and committed. The events' insert, the largest of a batch, and the
// subscribers' own inserts overlap. It is Prepare, then Finish.
func (w *writer) Write(ctx context.Context, b *engine.Batch) error {
	if err := w.Prepare(ctx, b); err != nil {
		return err
	}
	return w.Finish(ctx, b)
}

// Prepare stores b's effects. The consumer runs it while the batch before
// b finishes (ingest.StagedStore).
func (w *writer) Prepare(ctx context.Context, b *engine.Batch) error {
	return w.store.WriteEffects(ctx, b)
}

// Finish stores b's events while it hands b to each subscriber, once its
// effects are stored.
func (w *writer) Finish(ctx context.Context, b *engine.Batch) error {
	if len(b.Events) == 0 {
		return w.observe(ctx, b)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return w.store.WriteEvents(gctx, b) })
	g.Go(func() error { return w.observe(gctx, b) })
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	return nil
}

// observe hands b to each subscriber in turn.
func (w *writer) observe(ctx context.Context, b *engine.Batch) error {
	for _, s := range w.subscribers {
		if err := s.Observe(ctx, &b.Output); err != nil {
			return err
		}
	}
	return nil
}

// recordBackoff bounds how long an act that already changed the engine keeps
// trying to be recorded: six attempts over about three seconds.
var recordBackoff = retry.Backoff{Initial: 100 * time.Millisecond, Max: 10 * time.Second, Attempts: 6}

// record writes what an act already changed in the engine, retrying a failed
// write, so that the history and a restart agree with what people saw.
func (a *App) record(ctx context.Context, b *engine.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	return retry.Do(ctx, recordBackoff, func(ctx context.Context) error { return a.writer.Write(ctx, b) },
		func(attempt int, wait time.Duration, err error) {
			a.logger.Warn("could not record what an act changed; retrying", "attempt", attempt, "retry_in", wait, "err", err)
		})
}

// OpenRisk applies a match made outside the rules (a hazard's manual risk)
// to the school at time at, then records what it caused. It implements
// hazard.Risks.
func (a *App) OpenRisk(ctx context.Context, schoolID string, m engine.Match, at time.Time) error {
	var b engine.Batch
	if err := a.engine.Open(schoolID, m, at, &b.Output); err != nil {
		return err
	}
	return a.record(ctx, &b)
}

// ResolveRisk ends a school's active risk as a person's act, then records
// what it caused. It returns an error wrapping engine.ErrNoSuchRisk when the
// risk is not active. It implements alert.Risks and hazard.Risks.
func (a *App) ResolveRisk(ctx context.Context, schoolID, rule, key, by, comment string, at time.Time) error {
	var b engine.Batch
	if err := a.engine.Resolve(schoolID, rule, key, by, comment, at, &b.Output); err != nil {
		return err
	}
	return a.record(ctx, &b)
}

// Resolve is ResolveRisk now, answered with the school as it is afterwards,
// for the API.
// A risk a hazard holds (hazard.Manager.Holds) is refused with
// hazard.ErrHeldByHazard: it ends through the hazard's verification.
func (a *App) Resolve(ctx context.Context, schoolID, rule, key, by, comment string) (engine.SchoolView, error) {
	if err := a.heldHere(schoolID); err != nil {
		return engine.SchoolView{}, err
	}
	if err := (personRisks{a}).ResolveRisk(ctx, schoolID, rule, key, by, comment, time.Now()); err != nil {
		return engine.SchoolView{}, err
	}
	v, _ := a.engine.View(schoolID)
	return v, nil
}

// personRisks is how a person's act (resolving a risk or its alert) ends a
// risk: as ResolveRisk, except that a risk a hazard holds is refused with
// hazard.ErrHeldByHazard. The hazard manager itself ends such risks through
// App.ResolveRisk when the hazard is verified.
type personRisks struct{ a *App }

func (p personRisks) ResolveRisk(ctx context.Context, schoolID, rule, key, by, comment string, at time.Time) error {
	if p.a.hazards != nil && p.a.hazards.Holds(schoolID, rule, key) {
		if hasRisk(p.a.engine, schoolID, rule, key) {
			return fmt.Errorf("resolve risk %s/%s of school %s: %w", rule, key, schoolID, hazard.ErrHeldByHazard)
		}
	}
	return p.a.ResolveRisk(ctx, schoolID, rule, key, by, comment, at)
}

// hasRisk reports whether the school has an active risk of rule and key.
func hasRisk(e *engine.Engine, schoolID, rule, key string) bool {
	v, ok := e.View(schoolID)
	if !ok {
		return false
	}
	for _, r := range v.Risks {
		if r.Rule == rule && r.Key == key {
			return true
		}
	}
	return false
}

// rulesSwapped ends the risks of the rules that a reload removed and records
// that. Registered hazards are not rules: their risks stay.
func (a *App) rulesSwapped(_, cur *rules.Set) {
	keep := make(map[string]bool, len(cur.Rules())+1)
	for _, r := range cur.Rules() {
		keep[r.ID] = true
	}
	keep[hazard.RiskRule] = true
	var b engine.Batch
	a.engine.DropRisks(func(rule string) bool { return keep[rule] }, time.Now(), &b.Output)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := a.record(ctx, &b); err != nil {
		a.logger.Error("store the risks ended by a rule reload", "err", err)
	}
}

// hazardSubscriber opens the hazard a rule asks for when one of its risks
// opens.
type hazardSubscriber struct {
	hazards *hazard.Manager
	rules   *rules.Manager
}

func (s hazardSubscriber) Observe(_ context.Context, out *engine.Output) error {
	var (
		set    *rules.Set
		opened []hazard.Observed
	)
	for _, t := range out.Transitions {
		if t.State != engine.RiskOpened {
			continue
		}
		if set == nil {
			set = s.rules.Current()
		}
		if r := set.Rule(t.Risk.Rule); r != nil && r.Hazard != nil {
			opened = append(opened, hazard.Observed{Transition: t, Spec: hazard.Spec{
				Category: r.Hazard.Category, Deadline: r.Hazard.Deadline, Responsible: r.Hazard.Responsible}})
		}
	}
	if len(opened) > 0 {
		s.hazards.ObserveTransitions(opened)
	}
	return nil
}

// streamSubscriber hands stored colour changes to the live stream, newest
// per school only: batches are written by several writers at once, so an
// older change of a school can arrive after a newer one, and showing it would
// leave the map wrong.
type streamSubscriber struct {
	stream Stream

	mu   sync.Mutex
	last map[string]uint64 // the Seq last published per school
}

func newStreamSubscriber(s Stream) *streamSubscriber {
	return &streamSubscriber{stream: s, last: map[string]uint64{}}
}

func (s *streamSubscriber) Observe(_ context.Context, out *engine.Output) error {
	s.publish(out.Changes)
	return nil
}

// publish hands on the changes not handed on yet (by Seq, per school).
func (s *streamSubscriber) publish(changes []engine.LevelChange) {
	if len(changes) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range changes {
		if c.Seq != 0 && c.Seq <= s.last[c.SchoolID] {
			continue
		}
		s.last[c.SchoolID] = c.Seq
		s.stream.Publish(c)
	}
}

// liveEngine is the engine as the consumer drives it, handing the colour
// changes that events and the clock make to the live stream at once, before
// the batch holding them is stored: the map already shows them, and the
// people watching it see a school turn red within milliseconds of its
// event, not after the next flush. The stream subscriber of the write path
// then skips them as handed on already.
type liveEngine struct {
	*engine.Engine
	stream *streamSubscriber
}

func (l liveEngine) Apply(ev *engine.Event, out *engine.Output) error {
	before := len(out.Changes)
	err := l.Engine.Apply(ev, out)
	l.stream.publish(out.Changes[before:])
	return err
}

func (l liveEngine) Tick(now time.Time, out *engine.Output) {
	before := len(out.Changes)
	l.Engine.Tick(now, out)
	l.stream.publish(out.Changes[before:])
}

// Dispose records a person's check of a school's active risk — confirmed,
// false_alarm (误报) or handled — and answers with the school afterwards, for
// the API. It returns an error wrapping engine.ErrNoSuchRisk when the risk is
// not active and engine.ErrNotPending when confirming a risk that is not
// pending. Ending a risk a hazard holds is refused with
// hazard.ErrHeldByHazard, as resolving it is.
func (a *App) Dispose(ctx context.Context, schoolID, rule, key string, d engine.Disposition, by, comment string) (engine.SchoolView, error) {
	if err := a.heldHere(schoolID); err != nil {
		return engine.SchoolView{}, err
	}
	if d != engine.DispositionConfirmed && a.hazards != nil && a.hazards.Holds(schoolID, rule, key) && hasRisk(a.engine, schoolID, rule, key) {
		return engine.SchoolView{}, fmt.Errorf("%s risk %s/%s of school %s: %w", d, rule, key, schoolID, hazard.ErrHeldByHazard)
	}
	var b engine.Batch
	if err := a.engine.Dispose(schoolID, rule, key, d, by, comment, time.Now(), &b.Output); err != nil {
		return engine.SchoolView{}, err
	}
	if err := a.record(ctx, &b); err != nil {
		return engine.SchoolView{}, err
	}
	v, _ := a.engine.View(schoolID)
	return v, nil
}

// CheckCounts returns what the human checks of machine detections found
// from since to until, per rule, school and device.
func (a *App) CheckCounts(ctx context.Context, since, until time.Time) ([]store.CheckCount, error) {
	return a.store.CheckCounts(ctx, since, until)
}

// The consumer overlaps the writer's two stages of consecutive batches.
var _ ingest.StagedStore = (*writer)(nil)
