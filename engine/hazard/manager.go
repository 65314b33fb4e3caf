package hazard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sanse-campus/sanse/engine"
)

// Engine is the warning engine as the Manager uses it. *engine.Engine
// satisfies it. Both methods append what they caused to out and must be safe
// for concurrent use.
type Engine interface {
	// Open applies one match made outside the rules to a school at time at.
	Open(schoolID string, m engine.Match, at time.Time, out *engine.Output) error
	// Resolve ends a school's active risk as a person's act; it returns an
	// error wrapping engine.ErrNoSuchRisk when there is no such risk.
	Resolve(schoolID, rule, key, actor, comment string, at time.Time, out *engine.Output) error
}

// Store keeps hazards and their history. engine/store's *Store satisfies it.
// Its methods must be safe for concurrent use and return once ctx is done.
type Store interface {
	// WriteHazard stores t and h as it is after t. Writing the same hazard
	// version and transition again is harmless, and a version lower than
	// the stored one does not replace it.
	WriteHazard(ctx context.Context, h *Hazard, t Transition) error
	// LoadHazards returns every hazard not yet verified, and those verified
	// at or after closedSince (none when it is zero).
	LoadHazards(ctx context.Context, closedSince time.Time) ([]*Hazard, error)
	// LoadHazard returns the hazard with the id, or an error wrapping
	// ErrNotFound.
	LoadHazard(ctx context.Context, id string) (*Hazard, error)
	// HazardHistory returns the transitions of the hazard with the id,
	// oldest first; none for an unknown id.
	HazardHistory(ctx context.Context, id string) ([]Transition, error)
}

// Emit hands what the engine recorded for a hazard (risk transitions, colour
// changes) to be stored. It is called while the Manager's changes are
// serialised, in the order they happened, so it may call ObserveTransition
// (e.g. through the same writer as the ingest path) but no other method of
// the Manager. It should retry a failing write itself: the engine has
// already changed. Its error is logged.
type Emit func(ctx context.Context, out *engine.Output) error

// ErrNotFound is returned for a hazard id that names no hazard.
var ErrNotFound = errors.New("hazard not found")

// Defaults of Options.
const (
	// DefaultKeepClosed is how long a verified hazard stays listed when
	// Options.KeepClosed is zero.
	DefaultKeepClosed = 30 * 24 * time.Hour
	// DefaultCheckInterval is how often Run looks for overdue hazards when
	// Options.CheckInterval is zero.
	DefaultCheckInterval = time.Minute
	// DefaultWriteTimeout bounds one write of the system's own transitions
	// when Options.WriteTimeout is zero.
	DefaultWriteTimeout = 30 * time.Second
)

// Options configures a Manager; every field is optional.
type Options struct {
	// Logger receives the errors the Manager cannot return; nothing is
	// logged when nil.
	Logger *slog.Logger
	// Registerer registers the Manager's metrics; they are not registered
	// when nil.
	Registerer prometheus.Registerer
	// School looks up a school of the registry; Create refuses a school it
	// does not know. Nothing is checked when nil.
	School func(id string) *engine.School
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// KeepClosed is how long a verified hazard stays in memory, and so in
	// List; DefaultKeepClosed when zero.
	KeepClosed time.Duration
	// CheckInterval is how often Run calls Overdue; DefaultCheckInterval
	// when zero.
	CheckInterval time.Duration
	// WriteTimeout bounds each write the Manager makes on its own;
	// DefaultWriteTimeout when zero.
	WriteTimeout time.Duration
	// OnSupervise is called by Run with each hazard that has just gone
	// under supervision (挂牌督办), e.g. to notify the district.
	OnSupervise func(*Hazard)
}

// Manager keeps the hazards not yet verified (and those verified within
// Options.KeepClosed) in memory, records every transition in the Store, and
// keeps the engine's risks in step with them. It is safe for concurrent use:
// Create, Transition, Overdue and Restore are serialised, ObserveTransition
// is serialised apart (it only adds hazards), and reads run alongside them.
//
// A person's change (Create, Transition) is stored before it takes effect,
// and fails if the store fails. What the Manager does by itself (opening a
// rule's hazard, supervision) takes effect at once; a write the store
// refused is kept and retried by Flush and Run.
type Manager struct {
	eng     Engine
	store   Store
	emit    Emit
	logger  *slog.Logger
	metrics *metrics
	school  func(id string) *engine.School
	now     func() time.Time

	keepClosed, interval, writeTimeout time.Duration
	onSupervise                        func(*Hazard)

	// op serialises changes, including their I/O, so that versions go up
	// one at a time and the engine sees them in order.
	op sync.Mutex
	// observe serialises ObserveTransition, which creates hazards that no
	// one else can be changing yet; it does not take op, so that Emit may
	// call it. It guards restored and early.
	observe sync.Mutex
	// restored is set by Restore; until then ObserveTransition keeps what
	// it is given in early, to be judged against the restored hazards.
	restored bool
	early    []observation
	// mu guards hazards. A *Hazard in the map is never changed: a change
	// puts a new one in its place.
	mu      sync.RWMutex
	hazards map[string]*Hazard

	pendMu  sync.Mutex
	pending []write
}

// observation is one call of ObserveTransition before Restore.
type observation struct {
	t    engine.RiskTransition
	spec Spec
}

// write is one transition the store has not acknowledged yet.
type write struct {
	h *Hazard
	t Transition
}

// New returns a Manager that keeps eng's risks in step with the hazards,
// stores them in st, and hands what the engine recorded to emit (which may be
// nil to drop it). Call Restore before anything else: until then,
// ObserveTransition only queues what it is given.
func New(eng Engine, st Store, emit Emit, opts Options) *Manager {
	m := &Manager{
		eng: eng, store: st, emit: emit,
		logger: opts.Logger, metrics: newMetrics(opts.Registerer), school: opts.School, now: opts.Now,
		keepClosed: opts.KeepClosed, interval: opts.CheckInterval, writeTimeout: opts.WriteTimeout, onSupervise: opts.OnSupervise,
		hazards: map[string]*Hazard{},
	}
	if m.logger == nil {
		m.logger = slog.New(slog.DiscardHandler)
	}
	m.logger = m.logger.With("component", "hazard")
	if m.now == nil {
		m.now = time.Now
	}
	if m.keepClosed <= 0 {
		m.keepClosed = DefaultKeepClosed
	}
	if m.interval <= 0 {
		m.interval = DefaultCheckInterval
	}
	if m.writeTimeout <= 0 {
		m.writeTimeout = DefaultWriteTimeout
	}
	return m
}

// Restore loads the stored hazards — every one not yet verified and those
// verified within KeepClosed — and opens again in the engine the risks that
// hold their schools' colours: a registered hazard's risk, and a supervised
// hazard's raised level, each at the time it first happened. A rule's risk
// is rebuilt by the engine's own replay and is not opened here.
//
// Call it once after the engine has restored its state and before events
// are consumed or requests served. Nothing is recorded: it is all in the
// history already. Transitions handed to ObserveTransition before Restore
// (e.g. what the engine's own restore found) are taken now, against the
// restored hazards.
func (m *Manager) Restore(ctx context.Context) error {
	now := m.now()
	hs, err := m.store.LoadHazards(ctx, now.Add(-m.keepClosed))
	if err != nil {
		return fmt.Errorf("restore hazards: %w", err)
	}
	type opening struct {
		h  *Hazard
		at time.Time
		m  engine.Match
	}
	var opens []opening
	m.op.Lock()
	defer m.op.Unlock()
	m.mu.Lock()
	for _, h := range hs {
		m.hazards[h.ID] = h
		if h.Status == StatusVerified {
			continue
		}
		if h.Origin.Rule == "" {
			opens = append(opens, opening{h, h.CreatedAt, riskMatch(h, false)})
		}
		if h.Supervised() {
			opens = append(opens, opening{h, h.SupervisedAt, riskMatch(h, true)})
		}
	}
	m.mu.Unlock()
	slices.SortFunc(opens, func(a, b opening) int {
		return cmp.Or(a.at.Compare(b.at), strings.Compare(a.h.ID, b.h.ID))
	})
	var discard engine.Output
	for _, o := range opens {
		if err := m.eng.Open(o.h.SchoolID, o.m, o.at, &discard); err != nil {
			m.logger.Warn("hazard not restored in the engine", "hazard", o.h.ID, "school", o.h.SchoolID, "err", err)
		}
		discard.Reset()
	}
	m.logger.Info("hazards restored", "hazards", len(hs), "risks_opened", len(opens))

	m.observe.Lock()
	defer m.observe.Unlock()
	m.restored = true
	for _, o := range m.early {
		m.observeLocked(o.t, o.spec)
	}
	m.early = nil
	m.updateGauges()
	return nil
}

// riskMatch returns the match that opens the engine risk holding the school's
// colour for h, at its level, or one level up with the supervision title
// when raised.
func riskMatch(h *Hazard, raised bool) engine.Match {
	rule, key := h.RiskRef()
	m := engine.Match{
		Rule: rule, Key: key, Severity: h.Level, Title: titlePrefix + h.Title, Manual: true,
		Source: SourceFor(h.Category),
	}
	if h.Origin.Rule != "" {
		m.Source = h.Origin.Source
	}
	if raised {
		m.Severity, m.Title = raise(h.Level), overdueTitlePrefix+h.Title
	}
	m.Description = fmt.Sprintf("隐患 %s（%s），整改责任人：%s，整改期限：%s", h.ID, h.Category,
		orDash(h.Responsible), h.Deadline.In(engine.Shanghai).Format("2006-01-02 15:04"))
	return m
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// NewHazard is what a person registers (登记) a hazard with.
type NewHazard struct {
	SchoolID string
	Title    string
	Category string // one of Categories
	Level    engine.Severity
	// Responsible is who must rectify it.
	Responsible string
	Deadline    time.Time
	// By is who registers it; Comment and Evidence go with the first
	// transition.
	By       string
	Comment  string
	Evidence []Evidence
}

// Create registers a hazard an inspector found: it stores it as open, then
// opens its manual risk in the engine (rule RiskRule, key its id, the level
// of req.Level, medium when empty), so that the school keeps the colour
// until the hazard is verified. A request that is wrong in itself returns an
// error wrapping ErrInvalid; nothing is changed when the store fails.
func (m *Manager) Create(ctx context.Context, req NewHazard) (*Hazard, error) {
	req.SchoolID, req.Title, req.Category = strings.TrimSpace(req.SchoolID), strings.TrimSpace(req.Title), strings.TrimSpace(req.Category)
	req.Responsible, req.By, req.Comment = strings.TrimSpace(req.Responsible), strings.TrimSpace(req.By), strings.TrimSpace(req.Comment)
	if req.Level == "" {
		req.Level = engine.SeverityMedium
	}
	now := ms(m.now())
	req.Deadline = ms(req.Deadline)
	var problems []string
	for _, f := range []struct{ name, value string }{
		{"school_id", req.SchoolID}, {"title", req.Title}, {"category", req.Category},
		{"responsible", req.Responsible}, {"by", req.By},
	} {
		if f.value == "" {
			problems = append(problems, f.name+" is required")
		}
	}
	if req.Category != "" && !slices.Contains(Categories, req.Category) {
		problems = append(problems, fmt.Sprintf("unknown category %q, expected one of %s", req.Category, strings.Join(Categories, ", ")))
	}
	if _, err := engine.ParseSeverity(string(req.Level)); err != nil {
		problems = append(problems, err.Error())
	}
	switch {
	case req.Deadline.IsZero():
		problems = append(problems, "deadline is required")
	case !req.Deadline.After(now):
		problems = append(problems, fmt.Sprintf("deadline %s is not in the future", req.Deadline.In(engine.Shanghai).Format(time.RFC3339)))
	}
	if req.SchoolID != "" && m.school != nil && m.school(req.SchoolID) == nil {
		problems = append(problems, fmt.Sprintf("school %q is not in the registry", req.SchoolID))
	}
	problems = checkText(problems, "title", req.Title, maxTitle)
	problems = checkText(problems, "responsible", req.Responsible, maxName)
	problems = checkText(problems, "by", req.By, maxName)
	problems = checkText(problems, "comment", req.Comment, maxText)
	problems = checkEvidence(problems, req.Evidence)
	if len(problems) > 0 {
		return nil, invalid(problems)
	}

	h := &Hazard{
		ID: NewID(now), SchoolID: req.SchoolID, Title: req.Title, Category: req.Category, Level: req.Level,
		Responsible: req.Responsible, Deadline: req.Deadline, Status: StatusOpen,
		Evidence:  stamp(req.Evidence, req.By, now),
		CreatedAt: now, CreatedBy: req.By, UpdatedAt: now, Version: 1,
	}
	t := transitionOf(h, ActionCreate, "", req.By, req.Comment, h.Evidence)

	m.op.Lock()
	defer m.op.Unlock()
	if err := m.store.WriteHazard(ctx, h, t); err != nil {
		m.metrics.storeErrors.Inc()
		return nil, fmt.Errorf("store hazard %s: %w", h.ID, err)
	}
	m.put(h)
	m.metrics.transitions.WithLabelValues(string(ActionCreate)).Inc()
	var out engine.Output
	if err := m.eng.Open(h.SchoolID, riskMatch(h, false), now, &out); err != nil {
		m.logger.Error("hazard registered but its risk not opened", "hazard", h.ID, "school", h.SchoolID, "err", err)
	}
	m.emitOutput(&out)
	m.updateGauges()
	return h.Clone(), nil
}

// transitionOf returns the transition that made h (already changed) by
// action from status from.
func transitionOf(h *Hazard, action Action, from Status, by, comment string, evidence []Evidence) Transition {
	return Transition{
		ID: fmt.Sprintf("%s:%d", h.ID, h.Version), HazardID: h.ID, SchoolID: h.SchoolID, Version: h.Version,
		At: h.UpdatedAt, Action: action, From: from, To: h.Status, By: by, Comment: comment,
		Evidence: slices.Clone(evidence),
	}
}

// Transition takes a person's action on the hazard with the id: start,
// submit, verify, reject or comment, by who, with a comment (required to
// verify or reject) and evidence. It returns the hazard as it is afterwards,
// or an error wrapping ErrNotFound, ErrInvalidTransition (a *TransitionError)
// or ErrInvalid. The transition is stored before it takes effect; verifying
// then resolves the risk that held the school's colour.
func (m *Manager) Transition(ctx context.Context, id string, action Action, by, comment string, evidence []Evidence) (*Hazard, error) {
	by, comment = strings.TrimSpace(by), strings.TrimSpace(comment)
	var problems []string
	if !slices.Contains(PersonActions, action) {
		problems = append(problems, fmt.Sprintf("unknown action %q, expected start, submit, verify, reject or comment", action))
	}
	if by == "" {
		problems = append(problems, "by is required: who takes the action")
	}
	if comment == "" {
		switch action {
		case ActionVerify:
			problems = append(problems, "comment is required to verify: what was checked (验收意见)")
		case ActionReject:
			problems = append(problems, "comment is required to reject: what is still wrong (驳回理由)")
		case ActionComment:
			if len(evidence) == 0 {
				problems = append(problems, "a comment or evidence is required")
			}
		}
	}
	problems = checkText(problems, "by", by, maxName)
	problems = checkText(problems, "comment", comment, maxText)
	problems = checkEvidence(problems, evidence)
	if len(problems) > 0 {
		return nil, invalid(problems)
	}

	m.op.Lock()
	defer m.op.Unlock()
	h := m.lookup(id)
	if h == nil {
		// An old closed hazard is only in the store; the workflow refuses
		// any action on it, but with the right error.
		stored, err := m.store.LoadHazard(ctx, id)
		if err != nil {
			return nil, err
		}
		h = stored
	}
	to, err := Next(h.Status, action)
	if err != nil {
		return nil, &TransitionError{ID: h.ID, From: h.Status, Action: action}
	}
	if n := len(h.Evidence) + len(evidence); n > maxEvidenceTotal {
		return nil, invalid([]string{fmt.Sprintf("the hazard would have %d pieces of evidence, at most %d", n, maxEvidenceTotal)})
	}
	at := ms(m.now())
	if at.Before(h.UpdatedAt) {
		at = h.UpdatedAt // keep the history in order if the clock stepped back
	}
	next := h.Clone()
	next.Status, next.UpdatedAt, next.Version = to, at, h.Version+1
	added := stamp(evidence, by, at)
	next.Evidence = append(next.Evidence, added...)
	if to == StatusVerified {
		next.VerifiedAt = at
	}
	t := transitionOf(next, action, h.Status, by, comment, added)
	if err := m.store.WriteHazard(ctx, next, t); err != nil {
		m.metrics.storeErrors.Inc()
		return nil, fmt.Errorf("store %s of hazard %s: %w", action, id, err)
	}
	m.put(next)
	m.metrics.transitions.WithLabelValues(string(action)).Inc()
	if to == StatusVerified {
		rule, key := next.RiskRef()
		var out engine.Output
		err := m.eng.Resolve(next.SchoolID, rule, key, by, comment, at, &out)
		if err != nil && !errors.Is(err, engine.ErrNoSuchRisk) {
			m.logger.Error("hazard verified but its risk not resolved", "hazard", id, "school", next.SchoolID, "rule", rule, "err", err)
		}
		m.emitOutput(&out)
	}
	m.updateGauges()
	return next.Clone(), nil
}

// ObserveTransition opens the hazard that spec asks for when t opened a risk
// of a rule with a hazard spec; any other transition, or a zero spec, is
// ignored. The hazard's id comes from the school, rule, key and first-seen
// time of the risk, so a transition seen again opens nothing new. The
// hazard opens no risk of its own: verifying it resolves the rule's risk,
// which should therefore be manual. While a hazard of the same rule and key
// at the school is not verified, no second one opens: a risk that ends and
// opens again before then is the same hazard. Call it for each transition
// once it is stored, never under the engine's lock; it may be called from
// Emit.
func (m *Manager) ObserveTransition(t engine.RiskTransition, spec Spec) {
	if spec.IsZero() || t.State != engine.RiskOpened {
		return
	}
	m.observe.Lock()
	defer m.observe.Unlock()
	if !m.restored {
		// t's evidence may share the caller's memory, reused after the call.
		t.Risk.Evidence = slices.Clone(t.Risk.Evidence)
		m.early = append(m.early, observation{t, spec})
		return
	}
	m.observeLocked(t, spec)
}

// observeLocked is ObserveTransition once restored, under m.observe.
func (m *Manager) observeLocked(t engine.RiskTransition, spec Spec) {
	r := &t.Risk
	id := RuleID(t.SchoolID, r.Rule, r.Key, r.FirstSeen)
	if m.lookup(id) != nil || m.openFor(t.SchoolID, r.Rule, r.Key) {
		return
	}
	if t.At.Before(m.now().Add(-m.keepClosed)) {
		// Older than what memory holds of closed hazards: only the store
		// knows whether it was opened (and closed) before.
		ctx, cancel := context.WithTimeout(context.Background(), m.writeTimeout)
		_, err := m.store.LoadHazard(ctx, id)
		cancel()
		switch {
		case err == nil:
			return
		case !errors.Is(err, ErrNotFound):
			m.logger.Error("could not tell whether a rule's hazard exists; not opened", "hazard", id, "school", t.SchoolID, "rule", r.Rule, "err", err)
			return
		}
	}
	category := spec.Category
	if category == "" {
		category = CategoryOther
	}
	deadline := spec.Deadline
	if deadline <= 0 {
		deadline = DefaultDeadline
	}
	level := r.Severity
	if _, err := engine.ParseSeverity(string(level)); err != nil {
		level = engine.SeverityMedium
	}
	h := &Hazard{
		ID: id, SchoolID: t.SchoolID, Title: r.Title, Category: category, Level: level,
		Responsible: spec.Responsible, Deadline: ms(r.FirstSeen.Add(deadline)), Status: StatusOpen,
		Origin:    Origin{Rule: r.Rule, Key: r.Key, Source: r.Source},
		CreatedAt: ms(t.At), CreatedBy: System, UpdatedAt: ms(t.At), Version: 1,
	}
	comment := fmt.Sprintf("规则 %s 发现%s，自动登记隐患", r.Rule, r.Severity.Chinese())
	m.saveSystem(h, transitionOf(h, ActionCreate, "", System, comment, nil))
	m.put(h)
	m.metrics.transitions.WithLabelValues(string(ActionCreate)).Inc()
	m.updateGauges()
}

// Overdue puts every hazard that is past its deadline at now, not verified
// and not yet supervised under supervision (挂牌督办): it records a
// transition "supervise" by "system" and raises the hazard's risk in the
// engine one level (low to medium, medium to high), which raises the
// school's colour. Each hazard is supervised once. It returns those hazards,
// earliest deadline first, and forgets the hazards verified before the
// KeepClosed window.
func (m *Manager) Overdue(now time.Time) []*Hazard {
	now = ms(now)
	m.op.Lock()
	defer m.op.Unlock()
	var due []*Hazard
	m.mu.RLock()
	for _, h := range m.hazards {
		if h.Overdue(now) && !h.Supervised() {
			due = append(due, h)
		}
	}
	m.mu.RUnlock()
	m.forgetClosed(now.Add(-m.keepClosed))
	if len(due) == 0 {
		return nil
	}
	slices.SortFunc(due, func(a, b *Hazard) int {
		return cmp.Or(a.Deadline.Compare(b.Deadline), strings.Compare(a.ID, b.ID))
	})
	var (
		out  engine.Output
		done = make([]*Hazard, 0, len(due))
	)
	for _, h := range due {
		at := now
		if at.Before(h.UpdatedAt) {
			at = h.UpdatedAt
		}
		next := h.Clone()
		next.SupervisedAt, next.UpdatedAt, next.Version = at, at, h.Version+1
		comment := fmt.Sprintf("超过整改期限（%s）未销号，挂牌督办", h.Deadline.In(engine.Shanghai).Format("2006-01-02 15:04"))
		m.saveSystem(next, transitionOf(next, ActionSupervise, h.Status, System, comment, nil))
		m.put(next)
		m.metrics.transitions.WithLabelValues(string(ActionSupervise)).Inc()
		if err := m.eng.Open(next.SchoolID, riskMatch(next, true), at, &out); err != nil {
			m.logger.Error("hazard supervised but its risk not raised", "hazard", next.ID, "school", next.SchoolID, "err", err)
		}
		m.logger.Info("hazard overdue, under supervision", "hazard", next.ID, "school", next.SchoolID, "deadline", next.Deadline)
		done = append(done, next.Clone())
	}
	m.emitOutput(&out)
	m.updateGauges()
	return done
}

// openFor reports whether a hazard of the rule and key at the school is in
// memory and not yet verified.
func (m *Manager) openFor(schoolID, rule, key string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, h := range m.hazards {
		if h.Status != StatusVerified && h.SchoolID == schoolID && h.Origin.Rule == rule && h.Origin.Key == key {
			return true
		}
	}
	return false
}

// forgetClosed drops the hazards verified before cutoff from memory.
func (m *Manager) forgetClosed(cutoff time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, h := range m.hazards {
		if h.Status == StatusVerified && h.VerifiedAt.Before(cutoff) {
			delete(m.hazards, id)
		}
	}
}

// Filter selects hazards for List. The zero Filter selects every hazard in
// memory.
type Filter struct {
	// Statuses keeps the hazards in any of these statuses; all when empty.
	Statuses []Status
	// Categories keeps the hazards of any of these categories; all when empty.
	Categories []string
	// School keeps the hazards whose school it accepts (scope, district,
	// school); all when nil.
	School func(schoolID string) bool
	// Overdue keeps only the hazards past their deadline and not verified.
	Overdue bool
	// Now is the time overdue is judged at; the Manager's clock when zero.
	Now time.Time
}

// List returns the hazards in memory — every one not yet verified and those
// verified within KeepClosed — that f selects: overdue ones first, then by
// deadline, then by id.
func (m *Manager) List(f Filter) []*Hazard {
	now := f.Now
	if now.IsZero() {
		now = m.now()
	}
	var out []*Hazard
	m.mu.RLock()
	for _, h := range m.hazards {
		switch {
		case len(f.Statuses) > 0 && !slices.Contains(f.Statuses, h.Status),
			len(f.Categories) > 0 && !slices.Contains(f.Categories, h.Category),
			f.Overdue && !h.Overdue(now),
			f.School != nil && !f.School(h.SchoolID):
			continue
		}
		out = append(out, h.Clone())
	}
	m.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Hazard) int {
		ao, bo := a.Overdue(now), b.Overdue(now)
		if ao != bo {
			if ao {
				return -1
			}
			return 1
		}
		return cmp.Or(a.Deadline.Compare(b.Deadline), strings.Compare(a.ID, b.ID))
	})
	return out
}

// Get returns the hazard with the id and its history, oldest first, or an
// error wrapping ErrNotFound. A hazard no longer in memory is read from the
// store.
func (m *Manager) Get(ctx context.Context, id string) (*Hazard, []Transition, error) {
	h := m.lookup(id)
	if h == nil {
		stored, err := m.store.LoadHazard(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		h = stored
	} else {
		h = h.Clone()
	}
	history, err := m.store.HazardHistory(ctx, id)
	if err != nil {
		return nil, nil, fmt.Errorf("history of hazard %s: %w", id, err)
	}
	// What the store has not acknowledged yet is history too.
	m.pendMu.Lock()
	for _, w := range m.pending {
		if w.t.HazardID == id && !slices.ContainsFunc(history, func(t Transition) bool { return t.ID == w.t.ID }) {
			history = append(history, w.t)
		}
	}
	m.pendMu.Unlock()
	slices.SortStableFunc(history, func(a, b Transition) int { return cmp.Compare(a.Version, b.Version) })
	return h, history, nil
}

// Flush stores again the system's transitions that the store refused. It
// returns the first error; what failed stays for the next Flush.
func (m *Manager) Flush(ctx context.Context) error {
	m.pendMu.Lock()
	pending := m.pending
	m.pending = nil
	m.pendMu.Unlock()
	var (
		failed   []write
		firstErr error
	)
	for _, w := range pending {
		if firstErr != nil {
			failed = append(failed, w)
			continue
		}
		if err := m.store.WriteHazard(ctx, w.h, w.t); err != nil {
			m.metrics.storeErrors.Inc()
			firstErr = fmt.Errorf("store transition %s: %w", w.t.ID, err)
			failed = append(failed, w)
		}
	}
	m.pendMu.Lock()
	m.pending = append(failed, m.pending...)
	m.metrics.pendingWrites.Set(float64(len(m.pending)))
	m.pendMu.Unlock()
	return firstErr
}

// Run puts overdue hazards under supervision every CheckInterval and stores
// again what the store refused, until ctx is done; then it tries a last
// Flush, bounded by WriteTimeout, and returns nil.
func (m *Manager) Run(ctx context.Context) error {
	tick := time.NewTicker(m.interval)
	defer tick.Stop()
	for {
		for _, h := range m.Overdue(m.now()) {
			if m.onSupervise != nil {
				m.onSupervise(h)
			}
		}
		fctx, cancel := context.WithTimeout(ctx, m.writeTimeout)
		if err := m.Flush(fctx); err != nil && ctx.Err() == nil {
			m.logger.Warn("hazard transitions not stored yet; retrying", "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.writeTimeout)
			if err := m.Flush(fctx); err != nil {
				m.logger.Error("hazard transitions not stored at shutdown", "err", err)
			}
			cancel()
			return nil
		case <-tick.C:
		}
	}
}

// ms returns t in UTC to the millisecond, as the store keeps times, so that
// a hazard in memory equals the one read back.
func ms(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Millisecond)
}

// lookup returns the hazard in memory with the id, or nil. The caller must
// not change it.
func (m *Manager) lookup(id string) *Hazard {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.hazards[id]
}

// put makes h the current state of its hazard.
func (m *Manager) put(h *Hazard) {
	m.mu.Lock()
	m.hazards[h.ID] = h
	m.mu.Unlock()
}

// saveSystem stores a transition the Manager made by itself; when the store
// refuses it, it is kept for Flush.
func (m *Manager) saveSystem(h *Hazard, t Transition) {
	ctx, cancel := context.WithTimeout(context.Background(), m.writeTimeout)
	defer cancel()
	if err := m.store.WriteHazard(ctx, h, t); err != nil {
		m.metrics.storeErrors.Inc()
		m.logger.Warn("hazard transition not stored; will retry", "hazard", h.ID, "action", string(t.Action), "err", err)
		m.pendMu.Lock()
		m.pending = append(m.pending, write{h, t})
		m.metrics.pendingWrites.Set(float64(len(m.pending)))
		m.pendMu.Unlock()
	}
}

// emitOutput hands out to emit, if it holds anything.
func (m *Manager) emitOutput(out *engine.Output) {
	if m.emit == nil || out.Len() == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.writeTimeout)
	defer cancel()
	if err := m.emit(ctx, out); err != nil {
		m.logger.Error("store what a hazard changed in the engine", "transitions", len(out.Transitions), "changes", len(out.Changes), "err", err)
	}
}

// updateGauges counts the hazards in memory by status.
func (m *Manager) updateGauges() {
	counts := map[Status]int{}
	overdue := 0
	m.mu.RLock()
	for _, h := range m.hazards {
		if h.Status == StatusVerified {
			continue
		}
		counts[h.Status]++
		if h.Supervised() {
			overdue++
		}
	}
	m.mu.RUnlock()
	for _, s := range []Status{StatusOpen, StatusRectifying, StatusSubmitted} {
		m.metrics.active.WithLabelValues(string(s)).Set(float64(counts[s]))
	}
	m.metrics.overdue.Set(float64(overdue))
}
