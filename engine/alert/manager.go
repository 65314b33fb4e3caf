package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/logthrottle"
	"github.com/sanse-campus/sanse/engine/notify"
)

// Risks ends risks as people's acts. The composition root implements it by
// applying the act to the engine and then recording what it caused through
// the write path, which hands it back to Observe: ResolveRisk is therefore
// never called with the Manager's lock held. It returns an error wrapping
// engine.ErrNoSuchRisk when the risk is not active.
type Risks interface {
	ResolveRisk(ctx context.Context, schoolID, rule, key, by, comment string, at time.Time) error
}

// Options configure a Manager. Config, Store and Registry are required.
type Options struct {
	Config   Config
	Store    Store
	Registry func() *engine.Registry
	// Level returns a school's colour now (the engine's view).
	Level func(schoolID string) engine.Level
	// HashID makes the opaque part of an alert's id from the id of the
	// record that opened it; a keyed hash (the composition root passes the
	// visitor key's), so that it cannot be guessed back. SHA-256 when nil.
	HashID func(record string) string
	// Risks ends the risk behind an alert when a person resolves the alert
	// while the risk is still active; such alerts only end by themselves
	// when nil.
	Risks Risks
	// Contract names the alerts' sources in the messages (Contract.Title);
	// nil is event.Builtin().
	Contract *event.Contract
	// HTTPClient is used by the HTTP channels; nil uses their default.
	HTTPClient *http.Client
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Tick is how often the manager looks at groups, repeats and
	// escalations; 200 ms when zero.
	Tick time.Duration
	// OnChange is called (outside the manager's lock) with a copy of every
	// alert whose state changed, e.g. for the live stream.
	OnChange func(*Alert)
	// Holds says whether this instance holds the school's state: the first
	// messages, repeats and escalations of a school's alerts are sent by the
	// instance that holds it, so that several instances of a group send
	// each message once. Every school when nil.
	Holds func(schoolID string) bool
}

// Manager opens, updates and resolves alerts from what the engine records,
// and turns what is due into messages that it hands to the outbox
// (notify.Outbox). It is the stateful shell around pure pieces: routing
// (route.go), grouping (group.go), quiet hours (quiet.go), inhibition
// (inhibit.go), repeats and escalation (escalate.go) and the messages
// themselves (message.go). It is safe for concurrent use.
type Manager struct {
	cfg     Config
	opts    Options
	store   Store
	logger  *slog.Logger
	metrics *metrics
	now     func() time.Time
	box     *notify.Outbox

	mu       sync.Mutex
	alerts   map[string]*Alert      // active alerts by id
	bySchool map[string][]*Alert    // active alerts by school, oldest first
	dirty    map[string]*Alert      // changed, not yet stored
	groups   map[string]*group      // first messages waiting for their group to fill
	routes   map[string]*routed     // where the active alerts are routed, by id
	pending  []*notify.Notification // created, not yet stored in the outbox
	changed  []*Alert               // for OnChange

	// Owned by Run: the log of failed stores, one line per
	// storeErrorInterval while the store is away, and the failed ticks
	// since the last that stored.
	storeErrors *logthrottle.Limiter
	failedTicks int
}

// storeErrorInterval is how often a store that keeps failing is logged: Run
// tries again every tick (200 ms by default).
const storeErrorInterval = 30 * time.Second

// New validates the configuration and builds the receivers.
func New(opts Options) (*Manager, error) {
	if opts.Store == nil || opts.Registry == nil {
		return nil, errors.New("alert: Options.Store and Options.Registry are required")
	}
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	cfg := opts.Config.withDefaults()
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Tick <= 0 {
		opts.Tick = 200 * time.Millisecond
	}
	if opts.Level == nil {
		opts.Level = func(string) engine.Level { return engine.LevelGreen }
	}
	logger := opts.Logger.With("component", "alert")
	var (
		receivers []*notify.Receiver
		errs      []error
	)
	for _, rc := range cfg.Receivers {
		r, err := notify.NewReceiver(rc, notify.Options{HTTPClient: opts.HTTPClient, Logger: logger})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		receivers = append(receivers, r)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	box, err := notify.NewOutbox(notify.OutboxOptions{
		Store: opts.Store, Receivers: receivers, Retry: cfg.Retry, Now: opts.Now, Logger: logger, Registerer: opts.Registerer,
	})
	if err != nil {
		return nil, err
	}
	return &Manager{
		cfg: cfg, opts: opts, store: opts.Store, logger: logger, metrics: newMetrics(opts.Registerer), now: opts.Now, box: box,
		alerts: map[string]*Alert{}, bySchool: map[string][]*Alert{}, dirty: map[string]*Alert{}, groups: map[string]*group{},
		routes: map[string]*routed{}, storeErrors: logthrottle.New(storeErrorInterval),
	}, nil
}

// Restore loads the open alerts and the undelivered messages. Alerts whose
// first message had not gone out are grouped again.
func (m *Manager) Restore(ctx context.Context) error {
	open, err := m.loadOpen(ctx)
	if err != nil {
		return err
	}
	pending, err := m.box.Restore(ctx)
	if err != nil {
		return err
	}
	if open > 0 || pending > 0 {
		m.logger.Info("alerts restored", "open", open, "undelivered_messages", pending)
	}
	return nil
}

// LoadOpen adds the stored open alerts it does not hold yet — those another
// instance of the group opened for the schools this one takes over — and
// returns how many it added.
func (m *Manager) LoadOpen(ctx context.Context) (int, error) { return m.loadOpen(ctx) }

func (m *Manager) loadOpen(ctx context.Context) (int, error) {
	open, err := m.store.OpenAlerts(ctx)
	if err != nil {
		return 0, fmt.Errorf("load open alerts: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	added := 0
	for _, a := range open {
		if _, ok := m.alerts[a.ID]; ok {
			continue
		}
		m.add(a)
		added++
		if a.NotifiedAt.IsZero() {
			m.group(a, m.now())
		}
	}
	m.gauge()
	return added, nil
}

func (m *Manager) add(a *Alert) {
	m.alerts[a.ID] = a
	m.bySchool[a.SchoolID] = append(m.bySchool[a.SchoolID], a)
}

func (m *Manager) remove(a *Alert) {
	delete(m.alerts, a.ID)
	delete(m.routes, a.ID)
	list := slices.DeleteFunc(m.bySchool[a.SchoolID], func(x *Alert) bool { return x == a })
	if len(list) == 0 {
		delete(m.bySchool, a.SchoolID)
	} else {
		m.bySchool[a.SchoolID] = list
	}
}

func (m *Manager) touch(a *Alert) {
	m.dirty[a.ID] = a
	m.changed = append(m.changed, a)
}

func (m *Manager) school(id string) *engine.School { return m.opts.Registry().School(id) }

// route returns where the routing tree sends a, worked out once per alert
// and level (the tree does not change while the process runs), not on
// every tick.
func (m *Manager) route(a *Alert) *routed {
	if r := m.routes[a.ID]; r != nil && r.level == a.Level {
		return r
	}
	rs, node := m.cfg.Route.routeFor(labels(a, m.school(a.SchoolID)))
	r := &routed{level: a.Level, receivers: rs, node: node}
	if _, active := m.alerts[a.ID]; active {
		m.routes[a.ID] = r
	}
	return r
}

// receivers returns the receiver names of step for a.
func (m *Manager) receivers(a *Alert, step int) []string {
	var rs []string
	if step == notify.StepSchool {
		rs = m.route(a).receivers
	}
	return receiversAt(&m.cfg.Contacts, a, step, rs)
}

// group queues a's first message (or, after a rise, its new first message).
func (m *Manager) group(a *Alert, now time.Time) {
	g := m.groups[a.SchoolID]
	if g == nil {
		g = &group{due: now.Add(m.route(a).node.GroupWait)}
		m.groups[a.SchoolID] = g
	}
	g.add(a.ID)
}

// Run sends what is due — first messages of full groups, repeats,
// escalations — and delivers messages, until ctx is done.
func (m *Manager) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { _ = m.box.Run(ctx) })
	t := time.NewTicker(m.opts.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-t.C:
		}
		m.retryTick(ctx)
	}
}

// retryTick runs one tick of Run. While the store fails, it logs one line
// per storeErrorInterval, with the failures held back since the last; when
// the store takes the alerts again, one line says how many ticks failed.
func (m *Manager) retryTick(ctx context.Context) {
	err := m.tick(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		m.failedTicks++
		if ok, suppressed := m.storeErrors.Allow(m.now()); ok {
			m.logger.Warn("could not store alerts or messages; will retry", "suppressed", suppressed, "err", err)
		}
	case err == nil && m.failedTicks > 0:
		m.logger.Info("alerts and messages stored again", "failed_attempts", m.failedTicks)
		m.failedTicks = 0
		m.storeErrors.Reset()
	}
}

// tick makes the messages due now and stores them with the alerts they
// changed.
func (m *Manager) tick(ctx context.Context) error {
	m.step(m.now())
	m.fire()
	return m.flush(ctx)
}

// step makes the messages due at now: first messages of the groups that
// are due, then repeats and escalations.
func (m *Manager) step(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for schoolID, g := range m.groups {
		if m.opts.Holds != nil && !m.opts.Holds(schoolID) {
			continue
		}
		var alerts []*Alert
		if !now.Before(g.due) {
			for _, id := range g.alerts {
				if a := m.alerts[id]; a != nil {
					alerts = append(alerts, a)
				}
			}
		}
		state, due := checkGroup(g.due, alerts, now, m.cfg.QuietHours)
		switch state {
		case groupWaiting:
			continue
		case groupEmpty:
			delete(m.groups, schoolID)
			continue
		case groupHeld:
			g.due = due
			continue
		}
		delete(m.groups, schoolID)
		send, held := splitInhibited(alerts, m.opts.Level(schoolID), m.bySchool[schoolID])
		for _, a := range held {
			a.NotifiedAt = now
			a.record(now, ActionInhibited, "", inhibitedComment)
			m.metrics.actions.WithLabelValues(ActionInhibited).Inc()
			m.touch(a)
		}
		m.send(notify.KindFiring, notify.StepSchool, send, now, ActionNotified)
	}
	// Repeats and escalations, per school, one message per receiver.
	n := notices{
		escalation:     m.cfg.Escalation,
		repeatInterval: func(a *Alert) time.Duration { return m.route(a).node.RepeatInterval },
		nextStep:       m.nextStep,
		inhibited: func(a *Alert) bool {
			return inhibited(a, m.opts.Level(a.SchoolID), m.bySchool[a.SchoolID])
		},
	}
	for schoolID, list := range m.bySchool {
		if m.opts.Holds != nil && !m.opts.Holds(schoolID) {
			continue
		}
		escalate, repeat := dueNotices(list, now, n)
		for _, e := range escalate {
			e.alert.Step, e.alert.StepAt = e.step, now
			m.send(notify.KindEscalation, e.step, []*Alert{e.alert}, now, ActionEscalated)
		}
		for step, alerts := range byStep(repeat) {
			m.send(notify.KindRepeat, step, alerts, now, ActionRepeated)
		}
	}
}

// nextStep returns the next step above a's with someone to tell, or -1.
func (m *Manager) nextStep(a *Alert) int {
	return nextStep(a, *m.cfg.Escalation.MaxStep, func(step int) []string { return m.receivers(a, step) })
}

// send makes the messages of kind about alerts (of one school) to the
// receivers of step, and records action on each alert.
func (m *Manager) send(kind notify.Kind, step int, alerts []*Alert, now time.Time, action string) {
	if len(alerts) == 0 {
		return
	}
	a0 := alerts[0]
	ns := newMessages(kind, step, alerts, func(a *Alert) []string { return m.receivers(a, step) }, now,
		m.opts.Level(a0.SchoolID), m.cfg.ExternalURL, m.opts.Contract)
	m.pending = append(m.pending, ns...)
	comment := ""
	if len(ns) == 0 {
		comment = "无接收方（未配置）"
	}
	for _, a := range alerts {
		a.NotifiedAt = now
		a.record(now, action, "", comment)
		m.metrics.actions.WithLabelValues(action).Inc()
		m.touch(a)
	}
}

// message makes one notification to one receiver about alerts.
func (m *Manager) message(kind notify.Kind, receiver string, step int, alerts []*Alert, at time.Time) {
	schoolID := alerts[0].SchoolID
	m.pending = append(m.pending, newMessage(kind, receiver, step, alerts, at, m.opts.Level(schoolID),
		m.cfg.ExternalURL, m.opts.Contract))
}

// flush stores the changed alerts and the new messages, then queues the
// messages. What could not be stored stays for the next flush.
func (m *Manager) flush(ctx context.Context) error {
	m.mu.Lock()
	dirty := make([]*Alert, 0, len(m.dirty))
	for _, a := range m.dirty {
		dirty = append(dirty, a.clone())
	}
	pending := m.pending
	m.pending = nil
	m.mu.Unlock()

	var errs []error
	if len(dirty) > 0 {
		if err := m.store.SaveAlerts(ctx, dirty); err != nil {
			errs = append(errs, fmt.Errorf("store alerts: %w", err))
		} else {
			m.mu.Lock()
			for _, a := range dirty {
				if cur := m.dirty[a.ID]; cur != nil && cur.UpdatedAt.Equal(a.UpdatedAt) && len(cur.History) == len(a.History) {
					delete(m.dirty, a.ID)
				}
			}
			m.mu.Unlock()
		}
	}
	if err := m.box.Enqueue(ctx, pending); err != nil {
		m.mu.Lock()
		m.pending = append(pending, m.pending...)
		m.mu.Unlock()
		errs = append(errs, fmt.Errorf("store messages: %w", err))
	}
	return errors.Join(errs...)
}

// fire hands the changed alerts to OnChange.
func (m *Manager) fire() {
	m.mu.Lock()
	changed := m.changed
	m.changed = nil
	var copies []*Alert
	if m.opts.OnChange != nil {
		for _, a := range changed {
			copies = append(copies, a.clone())
		}
	}
	m.mu.Unlock()
	for _, a := range copies {
		m.opts.OnChange(a)
	}
}

func (m *Manager) gauge() {
	var firing, acked float64
	for _, a := range m.alerts {
		if a.Status == StatusAcknowledged {
			acked++
		} else {
			firing++
		}
	}
	m.metrics.active.WithLabelValues(string(StatusFiring)).Set(firing)
	m.metrics.active.WithLabelValues(string(StatusAcknowledged)).Set(acked)
}

// Backlog returns the messages waiting for delivery, per receiver.
func (m *Manager) Backlog() map[string]int { return m.box.Backlog() }
