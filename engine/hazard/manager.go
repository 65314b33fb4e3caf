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
	"github.com/sanse-campus/sanse/engine/logthrottle"
	"github.com/sanse-campus/sanse/engine/words"
)

// Risks opens and ends the engine risks that hold a school's colour while a
// hazard is not verified. The composition root implements it by applying the
// act to the engine and then recording what it caused through the one write
// path, whose subscribers include ObserveTransition: the Manager therefore
// calls it only with its lock released. Both methods must be safe for
// concurrent use.
type Risks interface {
	// OpenRisk applies one match made outside the rules (a manual risk) to
	// the school at time at and records what it caused.
	OpenRisk(ctx context.Context, schoolID string, m engine.Match, at time.Time) error
	// ResolveRisk ends a school's active risk as a person's act at time at
	// and records what it caused; it returns an error wrapping
	// engine.ErrNoSuchRisk when there is no such risk.
	ResolveRisk(ctx context.Context, schoolID, rule, key, by, comment string, at time.Time) error
}

// Supervisor is told of each hazard that has just gone under supervision
// (挂牌督办), e.g. to notify the district. It is called without the
// Manager's lock held.
type Supervisor interface {
	SuperviseHazard(ctx context.Context, h *Hazard) error
}

// Store keeps hazards and their history. engine/store's *Store satisfies it.
// Its methods must be safe for concurrent use and return once ctx is done.
type Store interface {
	// WriteHazards stores each write's transition and its hazard as it is
	// after the transition; a hazard stored implies its transition is.
	// Writing the same hazard version and transition again is harmless,
	// and a version lower than the stored one does not replace it. On
	// error any of them may be stored; the caller writes them all again.
	WriteHazards(ctx context.Context, ws []Write) error
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

// ErrNotFound is returned for a hazard id that names no hazard.
var ErrNotFound = errors.New("hazard not found")

// ErrHeldByHazard is returned for a person's attempt to end a risk that a
// hazard holds open: such a risk ends only when its hazard is verified
// (验收销号), not by resolving the risk or its alert.
var ErrHeldByHazard = errors.New("the risk belongs to a hazard and ends only when the hazard is verified (验收销号); use the hazard's workflow")

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
	// Supervisor is told by Run of each hazard that has just gone under
	// supervision; nobody is told when nil.
	Supervisor Supervisor
	// Holds says whether this instance holds the school's state; Overdue
	// puts under supervision only the hazards of schools it holds (another
	// instance of the group does the others), and Create and Transition
	// refuse the others with an error wrapping engine.ErrHeldElsewhere.
	// Every school when nil.
	Holds func(schoolID string) bool
}

// Manager keeps the hazards not yet verified (and those verified within
// Options.KeepClosed) in memory, records every transition in the Store, and
// keeps the engine's risks in step with them through Risks. It is safe for
// concurrent use. One lock guards its state; changes to hazards, including
// their writes to the Store, run under it one at a time, so that versions go
// up one at a time. Risks and the Supervisor are called after it is
// released.
//
// A person's change (Create, Transition) is stored before it takes effect,
// and fails if the store fails. What the Manager does by itself (opening a
// rule's hazard, supervision) takes effect at once; a write the store
// refused is kept and retried by Flush and Run.
type Manager struct {
	store      Store
	risks      Risks
	supervisor Supervisor
	holds      func(schoolID string) bool
	logger     *slog.Logger
	metrics    *metrics
	school     func(id string) *engine.School
	now        func() time.Time

	keepClosed, interval, writeTimeout time.Duration

	// mu guards hazards and pending. A *Hazard in the map is never
	// changed: a change puts a new one in its place.
	mu      sync.Mutex
	hazards map[string]*Hazard
	pending []Write

	// flushErrors logs a store that keeps refusing the pending transitions
	// at most once per storeErrorInterval. Owned by Run.
	flushErrors *logthrottle.Limiter
}

// storeErrorInterval is the least time between two log lines of a store
// that keeps refusing the hazards' transitions.
const storeErrorInterval = 30 * time.Second

// Write is a transition of a hazard and the hazard as it is after it, as
// the Store keeps them.
type Write struct {
	Hazard     *Hazard
	Transition Transition
}

// Opening is a risk to open again in the engine at restore, without
// recording it: the history has it already.
type Opening struct {
	SchoolID string
	Match    engine.Match
	At       time.Time
}

// New returns a Manager that stores hazards in st and keeps the engine's
// risks in step with them through risks. Call Restore before anything else.
func New(st Store, risks Risks, opts Options) *Manager {
	m := &Manager{
		store: st, risks: risks, supervisor: opts.Supervisor, holds: opts.Holds,
		logger: opts.Logger, metrics: newMetrics(opts.Registerer), school: opts.School, now: opts.Now,
		keepClosed: opts.KeepClosed, interval: opts.CheckInterval, writeTimeout: opts.WriteTimeout,
		hazards: map[string]*Hazard{}, flushErrors: logthrottle.New(storeErrorInterval),
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
// verified within KeepClosed — and returns the risks that hold their
// schools' colours, oldest first: a registered hazard's risk, and a
// supervised hazard's raised level, each at the time it first happened. The
// caller opens them in the engine without recording them (they are in the
// history already). A rule's risk is rebuilt by the engine's own replay and
// is not among them.
//
// Call it once, before events are consumed, requests served or
// ObserveTransition called.
func (m *Manager) Restore(ctx context.Context) ([]Opening, error) {
	return m.load(ctx, nil, true)
}

// Openings is Restore for the schools an instance takes over from another
// (keep accepts them) while it runs: it loads the stored hazards again,
// keeps those it did not know yet (another instance registered them), and
// returns the risks that hold the colours of keep's schools, oldest first.
// A hazard it knew already stays as it is in memory.
func (m *Manager) Openings(ctx context.Context, keep func(schoolID string) bool) ([]Opening, error) {
	return m.load(ctx, keep, false)
}

func (m *Manager) load(ctx context.Context, keep func(schoolID string) bool, replace bool) ([]Opening, error) {
	now := m.now()
	hs, err := m.store.LoadHazards(ctx, now.Add(-m.keepClosed))
	if err != nil {
		return nil, fmt.Errorf("restore hazards: %w", err)
	}
	var opens []Opening
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, h := range hs {
		if known, ok := m.hazards[h.ID]; ok && !replace {
			h = known
		} else {
			m.hazards[h.ID] = h
		}
		if h.Status == StatusVerified || keep != nil && !keep(h.SchoolID) {
			continue
		}
		if h.Origin.Rule == "" {
			opens = append(opens, Opening{h.SchoolID, riskMatch(h, false), h.CreatedAt})
		}
		if h.Supervised() {
			opens = append(opens, Opening{h.SchoolID, riskMatch(h, true), h.SupervisedAt})
		}
	}
	slices.SortFunc(opens, func(a, b Opening) int {
		return cmp.Or(a.At.Compare(b.At), strings.Compare(a.Match.Key, b.Match.Key))
	})
	m.logger.Info("hazards restored", "hazards", len(hs), "risks_to_open", len(opens))
	m.updateGaugesLocked()
	return opens, nil
}

// riskMatch returns the match that opens the engine risk holding the school's
// colour for h, at its level, or one level up with the supervision title
// when raised.
func riskMatch(h *Hazard, raised bool) engine.Match {
	rule, key := h.RiskRef()
	m := engine.Match{
		Rule: rule, Key: key, Severity: h.Level, Title: titlePrefix + h.Title, Manual: true,
		Source: h.Source(),
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

	if m.holds != nil && !m.holds(req.SchoolID) {
		return nil, fmt.Errorf("hazard of school %s: %w: register it through that instance", req.SchoolID, engine.ErrHeldElsewhere)
	}
	h := &Hazard{
		ID: NewID(now), SchoolID: req.SchoolID, Title: req.Title, Category: req.Category, Level: req.Level,
		Responsible: req.Responsible, Deadline: req.Deadline, Status: StatusOpen,
		Evidence:  stamp(req.Evidence, req.By, now),
		CreatedAt: now, CreatedBy: req.By, UpdatedAt: now, Version: 1,
	}
	t := transitionOf(h, ActionCreate, "", req.By, req.Comment, h.Evidence)

	m.mu.Lock()
	if err := m.store.WriteHazards(ctx, []Write{{h, t}}); err != nil {
		m.mu.Unlock()
		m.metrics.storeErrors.Inc()
		return nil, fmt.Errorf("store hazard %s: %w", h.ID, err)
	}
	m.hazards[h.ID] = h
	m.metrics.transitions.WithLabelValues(string(ActionCreate)).Inc()
	m.updateGaugesLocked()
	m.mu.Unlock()
	if err := m.risks.OpenRisk(ctx, h.SchoolID, riskMatch(h, false), now); err != nil {
		m.logger.Error("hazard registered but its risk not opened", "hazard", h.ID, "school", h.SchoolID, "err", err)
	}
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

	next, err := m.transition(ctx, id, action, by, comment, evidence)
	if err != nil {
		return nil, err
	}
	if next.Status == StatusVerified {
		rule, key := next.RiskRef()
		err := m.risks.ResolveRisk(ctx, next.SchoolID, rule, key, by, comment, next.UpdatedAt)
		if err != nil && !errors.Is(err, engine.ErrNoSuchRisk) {
			m.logger.Error("hazard verified but its risk not resolved", "hazard", id, "school", next.SchoolID, "rule", rule, "err", err)
		}
	}
	return next.Clone(), nil
}

// transition stores and applies a person's action, under the lock; it
// returns the hazard as it is afterwards.
func (m *Manager) transition(ctx context.Context, id string, action Action, by, comment string, evidence []Evidence) (*Hazard, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.hazards[id]
	if h == nil {
		// An old closed hazard is only in the store; the workflow refuses
		// any action on it, but with the right error.
		stored, err := m.store.LoadHazard(ctx, id)
		if err != nil {
			return nil, err
		}
		h = stored
	}
	if m.holds != nil && !m.holds(h.SchoolID) {
		return nil, fmt.Errorf("hazard %s of school %s: %w: act through that instance", h.ID, h.SchoolID, engine.ErrHeldElsewhere)
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
	if err := m.store.WriteHazards(ctx, []Write{{next, t}}); err != nil {
		m.metrics.storeErrors.Inc()
		return nil, fmt.Errorf("store %s of hazard %s: %w", action, id, err)
	}
	m.hazards[next.ID] = next
	m.metrics.transitions.WithLabelValues(string(action)).Inc()
	m.updateGaugesLocked()
	return next, nil
}

// ObserveTransition opens the hazard that spec asks for when t opened a risk
// of a rule with a hazard spec; any other transition, or a zero spec, is
// ignored. The hazard's id comes from the school, rule, key and first-seen
// time of the risk, so a transition seen again opens nothing new. The
// hazard opens no risk of its own: verifying it resolves the rule's risk,
// which should therefore be manual. While a hazard of the same rule and key
// at the school is not verified, no second one opens: a risk that ends and
// opens again before then is the same hazard. Call it for each transition
// once it is stored, after Restore.
func (m *Manager) ObserveTransition(t engine.RiskTransition, spec Spec) {
	m.ObserveTransitions([]Observed{{t, spec}})
}

// Observed is a stored transition and the hazard spec of its rule.
type Observed struct {
	Transition engine.RiskTransition
	Spec       Spec
}

// ObserveTransitions is ObserveTransition for each of ts in turn; the
// hazards they open are stored together, in one write, where one write
// each made a batch of events that opened forty hazards wait for eighty
// inserts.
func (m *Manager) ObserveTransitions(ts []Observed) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ws []Write
	for i := range ts {
		if w, ok := m.openingLocked(&ts[i].Transition, ts[i].Spec); ok {
			ws = append(ws, w)
			m.hazards[w.Hazard.ID] = w.Hazard
		}
	}
	if len(ws) == 0 {
		return
	}
	m.saveSystemLocked(ws)
	m.metrics.transitions.WithLabelValues(string(ActionCreate)).Add(float64(len(ws)))
	m.updateGaugesLocked()
}

// openingLocked returns the hazard t opens, created, if it opens one.
func (m *Manager) openingLocked(t *engine.RiskTransition, spec Spec) (Write, bool) {
	if spec.IsZero() || t.State != engine.RiskOpened {
		return Write{}, false
	}
	r := &t.Risk
	id := RuleID(t.SchoolID, r.Rule, r.Key, r.FirstSeen)
	if m.hazards[id] != nil || m.openForLocked(t.SchoolID, r.Rule, r.Key) {
		return Write{}, false
	}
	if t.At.Before(m.now().Add(-m.keepClosed)) {
		// Older than what memory holds of closed hazards: only the store
		// knows whether it was opened (and closed) before.
		ctx, cancel := context.WithTimeout(context.Background(), m.writeTimeout)
		_, err := m.store.LoadHazard(ctx, id)
		cancel()
		switch {
		case err == nil:
			return Write{}, false
		case !errors.Is(err, ErrNotFound):
			m.logger.Error("could not tell whether a rule's hazard exists; not opened", "hazard", id, "school", t.SchoolID, "rule", r.Rule, "err", err)
			return Write{}, false
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
	comment := fmt.Sprintf("规则 %s 发现%s，自动登记隐患", r.Rule, words.Severity(r.Severity, words.Chinese))
	return Write{h, transitionOf(h, ActionCreate, "", System, comment, nil)}, true
}

// Overdue puts every hazard that is past its deadline at now, not verified
// and not yet supervised under supervision (挂牌督办): it records a
// transition "supervise" by "system" and raises the hazard's risk in the
// engine one level (low to medium, medium to high), which raises the
// school's colour. Each hazard is supervised once. It returns those hazards,
// earliest deadline first, and forgets the hazards verified before the
// KeepClosed window.
func (m *Manager) Overdue(ctx context.Context, now time.Time) []*Hazard {
	now = ms(now)
	done := m.supervise(now)
	for _, h := range done {
		if err := m.risks.OpenRisk(ctx, h.SchoolID, riskMatch(h, true), h.SupervisedAt); err != nil {
			m.logger.Error("hazard supervised but its risk not raised", "hazard", h.ID, "school", h.SchoolID, "err", err)
		}
	}
	return done
}

// supervise records the supervision of the hazards due at now, under the
// lock, and returns copies of them as they are afterwards.
func (m *Manager) supervise(now time.Time) []*Hazard {
	m.mu.Lock()
	defer m.mu.Unlock()
	var due []*Hazard
	for _, h := range m.hazards {
		if h.Overdue(now) && !h.Supervised() && (m.holds == nil || m.holds(h.SchoolID)) {
			due = append(due, h)
		}
	}
	m.forgetClosedLocked(now.Add(-m.keepClosed))
	if len(due) == 0 {
		return nil
	}
	slices.SortFunc(due, func(a, b *Hazard) int {
		return cmp.Or(a.Deadline.Compare(b.Deadline), strings.Compare(a.ID, b.ID))
	})
	done := make([]*Hazard, 0, len(due))
	ws := make([]Write, 0, len(due))
	for _, h := range due {
		at := now
		if at.Before(h.UpdatedAt) {
			at = h.UpdatedAt
		}
		next := h.Clone()
		next.SupervisedAt, next.UpdatedAt, next.Version = at, at, h.Version+1
		comment := fmt.Sprintf("超过整改期限（%s）未销号，挂牌督办", h.Deadline.In(engine.Shanghai).Format("2006-01-02 15:04"))
		ws = append(ws, Write{next, transitionOf(next, ActionSupervise, h.Status, System, comment, nil)})
		m.hazards[next.ID] = next
		m.metrics.transitions.WithLabelValues(string(ActionSupervise)).Inc()
		m.logger.Info("hazard overdue, under supervision", "hazard", next.ID, "school", next.SchoolID, "deadline", next.Deadline)
		done = append(done, next.Clone())
	}
	m.saveSystemLocked(ws)
	m.updateGaugesLocked()
	return done
}

// Holds reports whether a hazard holds the school's risk of rule and key
// open: a hazard's own risk (rule RiskRule), or the risk of a rule whose
// hazard is not yet verified. Such a risk ends only through the hazard's
// verification.
func (m *Manager) Holds(schoolID, rule, key string) bool {
	if rule == RiskRule {
		return true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.openForLocked(schoolID, rule, key)
}

// openForLocked reports whether a hazard of the rule and key at the school
// is in memory and not yet verified.
func (m *Manager) openForLocked(schoolID, rule, key string) bool {
	for _, h := range m.hazards {
		if h.Status != StatusVerified && h.SchoolID == schoolID && h.Origin.Rule == rule && h.Origin.Key == key {
			return true
		}
	}
	return false
}

// forgetClosedLocked drops the hazards verified before cutoff from memory.
func (m *Manager) forgetClosedLocked(cutoff time.Time) {
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
	m.mu.Lock()
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
	m.mu.Unlock()
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
	m.mu.Lock()
	for _, w := range m.pending {
		if t := w.Transition; t.HazardID == id && !slices.ContainsFunc(history, func(h Transition) bool { return h.ID == t.ID }) {
			history = append(history, t)
		}
	}
	m.mu.Unlock()
	slices.SortStableFunc(history, func(a, b Transition) int { return cmp.Compare(a.Version, b.Version) })
	return h, history, nil
}

// Flush stores again the system's transitions that the store refused, all
// in one write. It returns the error of the write; what failed stays for
// the next Flush.
func (m *Manager) Flush(ctx context.Context) error {
	m.mu.Lock()
	pending := m.pending
	m.pending = nil
	m.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	err := m.store.WriteHazards(ctx, pending)
	if err != nil {
		m.metrics.storeErrors.Inc()
		err = fmt.Errorf("store %d hazard transitions, the first %s: %w", len(pending), pending[0].Transition.ID, err)
	}
	m.mu.Lock()
	if err != nil {
		m.pending = append(pending, m.pending...)
	}
	m.metrics.pendingWrites.Set(float64(len(m.pending)))
	m.mu.Unlock()
	return err
}

// Run puts overdue hazards under supervision every CheckInterval and stores
// again what the store refused, until ctx is done; then it tries a last
// Flush, bounded by WriteTimeout, and returns nil.
func (m *Manager) Run(ctx context.Context) error {
	tick := time.NewTicker(m.interval)
	defer tick.Stop()
	for {
		for _, h := range m.Overdue(ctx, m.now()) {
			if m.supervisor == nil {
				continue
			}
			if err := m.supervisor.SuperviseHazard(ctx, h); err != nil && ctx.Err() == nil {
				m.logger.Error("could not tell of an overdue hazard", "hazard", h.ID, "school", h.SchoolID, "err", err)
			}
		}
		fctx, cancel := context.WithTimeout(ctx, m.writeTimeout)
		if err := m.Flush(fctx); err != nil && ctx.Err() == nil {
			if ok, suppressed := m.flushErrors.Allow(m.now()); ok {
				m.logger.Warn("hazard transitions not stored yet; retrying", "suppressed", suppressed, "err", err)
			}
		} else if err == nil {
			m.flushErrors.Reset()
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
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hazards[id]
}

// saveSystemLocked stores the transitions the Manager made by itself; when
// the store refuses them, they are kept for Flush.
func (m *Manager) saveSystemLocked(ws []Write) {
	if len(ws) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.writeTimeout)
	defer cancel()
	if err := m.store.WriteHazards(ctx, ws); err != nil {
		m.metrics.storeErrors.Inc()
		first := ws[0]
		m.logger.Warn("hazard transitions not stored; will retry", "transitions", len(ws), "hazard", first.Hazard.ID,
			"action", string(first.Transition.Action), "err", err)
		m.pending = append(m.pending, ws...)
		m.metrics.pendingWrites.Set(float64(len(m.pending)))
	}
}

// updateGaugesLocked counts the hazards in memory by status.
func (m *Manager) updateGaugesLocked() {
	counts := map[Status]int{}
	overdue := 0
	for _, h := range m.hazards {
		if h.Status == StatusVerified {
			continue
		}
		counts[h.Status]++
		if h.Supervised() {
			overdue++
		}
	}
	for _, s := range []Status{StatusOpen, StatusRectifying, StatusSubmitted} {
		m.metrics.active.WithLabelValues(string(s)).Set(float64(counts[s]))
	}
	m.metrics.overdue.Set(float64(overdue))
}
