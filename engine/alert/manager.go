package alert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/notify"
	"github.com/sanse-campus/sanse/engine/words"
)

// Risks ends risks as people's acts. The composition root implements it by
// applying the act to the engine and then recording what it caused through
// the write path, which hands it back to Observe: ResolveRisk is therefore
// never called with the Manager's lock held. It returns an error wrapping
// engine.ErrNoSuchRisk when the risk is not active.
type Risks interface {
	ResolveRisk(ctx context.Context, schoolID, rule, key, by, comment string, at time.Time) error
}

// Store keeps alerts, their history, the outbox and every delivery attempt.
type Store interface {
	// SaveAlerts stores the current state of the alerts, history included.
	SaveAlerts(ctx context.Context, alerts []*Alert) error
	// SaveNotifications stores messages before they are sent.
	SaveNotifications(ctx context.Context, ns []*Notification) error
	// SaveDeliveries stores delivery attempts.
	SaveDeliveries(ctx context.Context, ds []Delivery) error
	// OpenAlerts returns the alerts not resolved.
	OpenAlerts(ctx context.Context) ([]*Alert, error)
	// PendingNotifications returns the messages created since since that
	// some channel has not accepted yet, oldest first, with Done filled.
	PendingNotifications(ctx context.Context, since time.Time) ([]*Notification, error)
	// Alerts returns the alerts that f selects, newest first.
	Alerts(ctx context.Context, f Filter) ([]*Alert, error)
	// Alert returns one alert, or ErrNotFound.
	Alert(ctx context.Context, id string) (*Alert, error)
}

// Filter selects alerts. Zero fields select everything.
type Filter struct {
	Status   []Status
	Level    engine.Level
	District string
	School   string
	Source   engine.Source
	From, To time.Time // OpenedAt in [From, To)
	Limit    int
}

// Options configure a Manager. Config, Store and Registry are required.
type Options struct {
	Config   Config
	Store    Store
	Registry func() *engine.Registry
	// Level returns a school's colour now (the engine's view).
	Level func(schoolID string) engine.Level
	// Risks ends the risk behind an alert when a person resolves the alert
	// while the risk is still active; such alerts only end by themselves
	// when nil.
	Risks Risks
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
}

// Manager opens, updates and resolves alerts from what the engine records,
// groups their messages, repeats and escalates them, and delivers them
// through the outbox. It is safe for concurrent use.
type Manager struct {
	cfg     Config
	opts    Options
	store   Store
	logger  *slog.Logger
	metrics *metrics
	now     func() time.Time
	box     *outbox

	mu       sync.Mutex
	alerts   map[string]*Alert   // active alerts by id
	bySchool map[string][]*Alert // active alerts by school, oldest first
	dirty    map[string]*Alert   // changed, not yet stored
	groups   map[string]*group   // first messages waiting for their group to fill
	routes   map[string]*routed  // where the active alerts are routed, by id
	pending  []*Notification     // created, not yet stored in the outbox
	changed  []*Alert            // for OnChange
}

// group collects the alerts of one school whose first message is due.
type group struct {
	due    time.Time
	alerts []string
}

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
	receivers := map[string]*notify.Receiver{}
	var errs []error
	for _, rc := range cfg.Receivers {
		r, err := notify.NewReceiver(rc, notify.Options{HTTPClient: opts.HTTPClient, Logger: logger})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		receivers[rc.Name] = r
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m := &Manager{
		cfg: cfg, opts: opts, store: opts.Store, logger: logger, metrics: newMetrics(opts.Registerer), now: opts.Now,
		alerts: map[string]*Alert{}, bySchool: map[string][]*Alert{}, dirty: map[string]*Alert{}, groups: map[string]*group{},
		routes: map[string]*routed{},
	}
	m.box = newOutbox(opts.Store, receivers, cfg.Retry, opts.Now, logger, m.metrics)
	return m, nil
}

// Restore loads the open alerts and the undelivered messages. Alerts whose
// first message had not gone out are grouped again.
func (m *Manager) Restore(ctx context.Context) error {
	open, err := m.store.OpenAlerts(ctx)
	if err != nil {
		return fmt.Errorf("load open alerts: %w", err)
	}
	pending, err := m.store.PendingNotifications(ctx, m.now().Add(-m.cfg.Retry.MaxAge))
	if err != nil {
		return fmt.Errorf("load undelivered messages: %w", err)
	}
	m.mu.Lock()
	for _, a := range open {
		if _, ok := m.alerts[a.ID]; ok {
			continue
		}
		m.add(a)
		if a.NotifiedAt.IsZero() {
			m.group(a, m.now())
		}
	}
	m.gauge()
	m.mu.Unlock()
	m.box.restore(pending)
	if len(open) > 0 || len(pending) > 0 {
		m.logger.Info("alerts restored", "open", len(open), "undelivered_messages", len(pending))
	}
	return nil
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

// Observe opens, raises and resolves alerts for what the engine recorded in
// out, and stores the alerts that changed before it returns: call it after
// out is stored and before the events behind it are committed, so that an
// alert is never lost. Calling it again with the same records changes
// nothing. It does not keep out.
func (m *Manager) Observe(ctx context.Context, out *engine.Output) error {
	if len(out.Changes) == 0 && len(out.Transitions) == 0 && !m.hasDirty() {
		return nil
	}
	reg := m.opts.Registry()
	m.mu.Lock()
	for i := range out.Changes {
		c := &out.Changes[i]
		switch {
		case c.To.Rank() > c.From.Rank():
			m.rise(reg, out, c)
		case c.To.Rank() < c.From.Rank():
			m.fall(c)
		}
	}
	for i := range out.Transitions {
		t := &out.Transitions[i]
		if t.State == engine.RiskOpened && t.Risk.Severity == engine.SeverityHigh && !raisedBy(out, t) {
			m.highRisk(reg, t)
		}
	}
	m.gauge()
	m.mu.Unlock()
	m.fire()
	return m.flush(ctx)
}

func (m *Manager) hasDirty() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.dirty) > 0
}

// episode returns the school's active alert of the highest level.
func (m *Manager) episode(schoolID string) *Alert {
	var best *Alert
	for _, a := range m.bySchool[schoolID] {
		if best == nil || a.Level.Rank() > best.Level.Rank() {
			best = a
		}
	}
	return best
}

// rise handles a school's colour going up.
func (m *Manager) rise(reg *engine.Registry, out *engine.Output, c *engine.LevelChange) {
	id := "alert:" + c.RecordID()
	if _, ok := m.alerts[id]; ok {
		return // seen already
	}
	cause := words.Cause(c.Cause, words.Chinese)
	if cur := m.episode(c.SchoolID); cur != nil {
		if cur.Level.Rank() >= c.To.Rank() {
			return
		}
		cur.Level, cur.Cause, cur.Status, cur.StepAt, cur.NotifiedAt = c.To, cause, StatusFiring, m.now(), time.Time{}
		cur.AcknowledgedAt, cur.AcknowledgedBy = time.Time{}, ""
		cur.record(c.At, ActionRaised, "", cause)
		m.metrics.actions.WithLabelValues(ActionRaised).Inc()
		m.touch(cur)
		m.group(cur, m.now())
		return
	}
	a := m.newAlert(reg, id, c.SchoolID, c.To, c.At, cause)
	a.Rule, a.RiskKey = c.Cause.Rule, c.Cause.Key
	for i := range out.Transitions {
		t := &out.Transitions[i]
		if t.SchoolID == c.SchoolID && t.Risk.Rule == c.Cause.Rule && t.Risk.Key == c.Cause.Key {
			a.Title, a.Source, a.RiskLevel = t.Risk.Title, t.Risk.Source, t.Risk.Severity
		}
	}
	if a.Title == "" {
		a.Title = cause
	}
	m.open(a)
}

// raisedBy reports whether t's risk raised its school's colour in out: the
// rise speaks for it, no alert of its own.
func raisedBy(out *engine.Output, t *engine.RiskTransition) bool {
	for i := range out.Changes {
		c := &out.Changes[i]
		if c.SchoolID == t.SchoolID && c.Cause.Rule == t.Risk.Rule && c.Cause.Key == t.Risk.Key && c.To.Rank() > c.From.Rank() {
			return true
		}
	}
	return false
}

// highRisk opens an alert for a new high risk at a school that was red
// already (a colour rise opens its own).
func (m *Manager) highRisk(reg *engine.Registry, t *engine.RiskTransition) {
	for _, a := range m.bySchool[t.SchoolID] {
		if a.Rule == t.Risk.Rule && a.RiskKey == t.Risk.Key {
			return
		}
	}
	if m.opts.Level(t.SchoolID) != engine.LevelRed {
		return
	}
	id := "alert:" + t.RecordID()
	if _, ok := m.alerts[id]; ok {
		return
	}
	a := m.newAlert(reg, id, t.SchoolID, engine.LevelRed, t.At, words.Cause(engine.Cause{How: engine.RiskOpened, Rule: t.Risk.Rule, Key: t.Risk.Key, Title: t.Risk.Title, Severity: t.Risk.Severity}, words.Chinese))
	a.Rule, a.RiskKey, a.Source, a.RiskLevel, a.Title = t.Risk.Rule, t.Risk.Key, t.Risk.Source, t.Risk.Severity, t.Risk.Title
	m.open(a)
}

func (m *Manager) newAlert(reg *engine.Registry, id, schoolID string, level engine.Level, at time.Time, cause string) *Alert {
	// The escalation delay counts from when people could first know, not
	// from the event's time: a late event does not escalate at once.
	a := &Alert{ID: id, SchoolID: schoolID, Level: level, Status: StatusFiring, Cause: cause, OpenedAt: at, StepAt: m.now()}
	if s := reg.School(schoolID); s != nil {
		a.SchoolName, a.District, a.Town = s.Name, s.District, s.Town
	}
	return a
}

func (m *Manager) open(a *Alert) {
	a.record(a.OpenedAt, ActionOpened, "", a.Cause)
	m.add(a)
	m.touch(a)
	m.metrics.opened.WithLabelValues(string(a.Level)).Inc()
	m.group(a, m.now())
}

// fall handles a school's colour going down: its alerts above the new
// colour are resolved.
func (m *Manager) fall(c *engine.LevelChange) {
	for _, a := range slices.Clone(m.bySchool[c.SchoolID]) {
		if a.Level.Rank() > c.To.Rank() {
			m.resolve(a, c.At, "", words.Cause(c.Cause, words.Chinese))
		}
	}
}

// resolve ends a; a resolved notice goes to those told of it.
func (m *Manager) resolve(a *Alert, at time.Time, by, comment string) {
	notified := !a.NotifiedAt.IsZero()
	a.Status, a.ResolvedAt, a.ResolvedBy = StatusResolved, at, by
	a.record(at, ActionResolved, by, comment)
	m.metrics.actions.WithLabelValues(ActionResolved).Inc()
	m.remove(a)
	m.touch(a)
	if g := m.groups[a.SchoolID]; g != nil {
		g.alerts = slices.DeleteFunc(g.alerts, func(id string) bool { return id == a.ID })
	}
	if !notified || !m.sendResolved(a) {
		return
	}
	for _, name := range m.receiversUpTo(a) {
		m.message(notify.KindResolved, name, a.Step, []*Alert{a}, at)
	}
}

func (m *Manager) sendResolved(a *Alert) bool {
	node := m.route(a).node
	return node.SendResolved != nil && *node.SendResolved
}

func (m *Manager) school(id string) *engine.School { return m.opts.Registry().School(id) }

// routed is where the routing tree sends an alert.
type routed struct {
	level     engine.Level // the alert's level it was worked out for
	receivers []string
	node      Route
}

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

// group queues a's first message (or, after a rise, its new first message).
func (m *Manager) group(a *Alert, now time.Time) {
	g := m.groups[a.SchoolID]
	if g == nil {
		g = &group{due: now.Add(m.route(a).node.GroupWait)}
		m.groups[a.SchoolID] = g
	}
	if !slices.Contains(g.alerts, a.ID) {
		g.alerts = append(g.alerts, a.ID)
	}
}

// receivers returns the receiver names of step for a.
func (m *Manager) receivers(a *Alert, step int) []string {
	var names []string
	add := func(name string) {
		if name != "" && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	switch step {
	case notify.StepSchool:
		for _, name := range m.route(a).receivers {
			if name == SchoolContact {
				name = m.cfg.Contacts.Schools[a.SchoolID]
			}
			add(name)
		}
	case notify.StepTown:
		add(m.cfg.Contacts.Towns[a.District+"/"+a.Town])
	case notify.StepDistrict:
		add(m.cfg.Contacts.Districts[a.District])
	case notify.StepCity:
		add(m.cfg.Contacts.City)
	}
	return names
}

// receiversUpTo returns everyone told of a so far: every step up to its own.
func (m *Manager) receiversUpTo(a *Alert) []string {
	var names []string
	for s := notify.StepSchool; s <= a.Step; s++ {
		for _, n := range m.receivers(a, s) {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	return names
}

// nextStep returns the next step above a's with someone to tell, or -1.
func (m *Manager) nextStep(a *Alert) int {
	for s := a.Step + 1; s <= *m.cfg.Escalation.MaxStep; s++ {
		if len(m.receivers(a, s)) > 0 {
			return s
		}
	}
	return -1
}

func (m *Manager) escalationDelay(l engine.Level) time.Duration {
	if l == engine.LevelRed {
		return m.cfg.Escalation.Red
	}
	return m.cfg.Escalation.Yellow
}

// message makes one notification to one receiver about alerts.
func (m *Manager) message(kind notify.Kind, receiver string, step int, alerts []*Alert, at time.Time) {
	a0 := alerts[0]
	msg := notify.Message{
		Kind: kind, SchoolID: a0.SchoolID, SchoolName: a0.SchoolName, District: a0.District, Town: a0.Town,
		Level: m.opts.Level(a0.SchoolID), Step: step, At: at, URL: m.link(a0.SchoolID),
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d", kind, receiver, step, at.UnixMilli())
	for _, a := range alerts {
		msg.Items = append(msg.Items, a.item())
		fmt.Fprintf(h, "\x00%s", a.ID)
	}
	msg.ID = "n-" + hex.EncodeToString(h.Sum(nil))[:24]
	m.pending = append(m.pending, &Notification{ID: msg.ID, Receiver: receiver, Message: msg, Created: at})
}

func (m *Manager) link(schoolID string) string {
	if m.cfg.ExternalURL == "" {
		return ""
	}
	return m.cfg.ExternalURL + "/?school=" + url.QueryEscape(schoolID)
}

// Run sends what is due — first messages of full groups, repeats,
// escalations — and delivers messages, until ctx is done.
func (m *Manager) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { m.box.run(ctx) })
	t := time.NewTicker(m.opts.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-t.C:
		}
		m.step(m.now())
		m.fire()
		if err := m.flush(ctx); err != nil && ctx.Err() == nil {
			m.logger.Warn("could not store alerts or messages; will retry", "err", err)
		}
	}
}

// step makes the messages due at now.
func (m *Manager) step(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for schoolID, g := range m.groups {
		if now.Before(g.due) {
			continue
		}
		var alerts []*Alert
		for _, id := range g.alerts {
			if a := m.alerts[id]; a != nil {
				alerts = append(alerts, a)
			}
		}
		if len(alerts) == 0 {
			delete(m.groups, schoolID)
			continue
		}
		// Quiet hours hold yellow back, never red.
		red := slices.ContainsFunc(alerts, func(a *Alert) bool { return a.Level == engine.LevelRed })
		if q, until := quiet(m.cfg.QuietHours, now); q && !red {
			g.due = until
			continue
		}
		delete(m.groups, schoolID)
		alerts = m.inhibit(alerts, now)
		m.send(notify.KindFiring, notify.StepSchool, alerts, now, ActionNotified)
	}
	// Repeats and escalations, per school, one message per receiver.
	for _, list := range m.bySchool {
		var repeat, escalate []*Alert
		for _, a := range list {
			// The times first: most alerts, most ticks, have nothing due.
			escalateDue := !now.Before(a.StepAt.Add(m.escalationDelay(a.Level)))
			repeatDue := !now.Before(a.NotifiedAt.Add(m.route(a).node.RepeatInterval))
			if a.Status != StatusFiring || a.NotifiedAt.IsZero() || !escalateDue && !repeatDue || m.inhibited(a) {
				continue
			}
			if escalateDue && m.nextStep(a) >= 0 {
				escalate = append(escalate, a)
			} else if repeatDue {
				repeat = append(repeat, a)
			}
		}
		for _, a := range escalate {
			a.Step, a.StepAt = m.nextStep(a), now
			m.send(notify.KindEscalation, a.Step, []*Alert{a}, now, ActionEscalated)
		}
		if len(repeat) > 0 {
			m.sendByStep(repeat, now)
		}
	}
}

// sendByStep sends repeats, grouped by the alerts' current steps.
func (m *Manager) sendByStep(alerts []*Alert, now time.Time) {
	bystep := map[int][]*Alert{}
	for _, a := range alerts {
		bystep[a.Step] = append(bystep[a.Step], a)
	}
	for step, list := range bystep {
		m.send(notify.KindRepeat, step, list, now, ActionRepeated)
	}
}

// inhibited reports whether a is a yellow alert of a red school.
func (m *Manager) inhibited(a *Alert) bool {
	return a.Level != engine.LevelRed && m.opts.Level(a.SchoolID) == engine.LevelRed &&
		slices.ContainsFunc(m.bySchool[a.SchoolID], func(x *Alert) bool { return x.Level == engine.LevelRed })
}

// inhibit drops the yellow alerts of a red school from alerts, recording it.
func (m *Manager) inhibit(alerts []*Alert, now time.Time) []*Alert {
	return slices.DeleteFunc(alerts, func(a *Alert) bool {
		if !m.inhibited(a) {
			return false
		}
		a.NotifiedAt = now
		a.record(now, ActionInhibited, "", "学校已为红色预警，黄色预警不再单独发送")
		m.metrics.actions.WithLabelValues(ActionInhibited).Inc()
		m.touch(a)
		return true
	})
}

// send makes the messages of kind about alerts (of one school) to the
// receivers of step, and records action on each alert.
func (m *Manager) send(kind notify.Kind, step int, alerts []*Alert, now time.Time, action string) {
	if len(alerts) == 0 {
		return
	}
	byReceiver := map[string][]*Alert{}
	var order []string
	for _, a := range alerts {
		for _, name := range m.receivers(a, step) {
			if _, ok := byReceiver[name]; !ok {
				order = append(order, name)
			}
			byReceiver[name] = append(byReceiver[name], a)
		}
	}
	for _, name := range order {
		m.message(kind, name, step, byReceiver[name], now)
	}
	for _, a := range alerts {
		a.NotifiedAt = now
		comment := ""
		if len(order) == 0 {
			comment = "无接收方（未配置）"
		}
		a.record(now, action, "", comment)
		m.metrics.actions.WithLabelValues(action).Inc()
		m.touch(a)
	}
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
	if err := m.box.enqueue(ctx, pending); err != nil {
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

// Acknowledge records that a person took the alert on: no more repeats, no
// escalation.
func (m *Manager) Acknowledge(ctx context.Context, id, by, comment string) (*Alert, error) {
	if by == "" {
		return nil, ErrNeedsBy
	}
	m.mu.Lock()
	a := m.alerts[id]
	if a == nil {
		m.mu.Unlock()
		return m.missing(ctx, id)
	}
	if a.Status == StatusFiring {
		now := m.now()
		a.Status, a.AcknowledgedAt, a.AcknowledgedBy = StatusAcknowledged, now, by
		a.record(now, ActionAcknowledged, by, comment)
		m.metrics.actions.WithLabelValues(ActionAcknowledged).Inc()
		m.touch(a)
		m.gauge()
	}
	c := a.clone()
	m.mu.Unlock()
	m.fire()
	return c, m.flush(ctx)
}

// Resolve ends the alert as a person's act, with what was done. A risk
// behind it that is still active is resolved too.
func (m *Manager) Resolve(ctx context.Context, id, by, comment string) (*Alert, error) {
	if by == "" {
		return nil, ErrNeedsBy
	}
	if comment == "" {
		return nil, ErrNeedsComment
	}
	m.mu.Lock()
	a := m.alerts[id]
	if a == nil {
		m.mu.Unlock()
		return m.missing(ctx, id)
	}
	school, rule, key := a.SchoolID, a.Rule, a.RiskKey
	m.mu.Unlock()
	if m.opts.Risks != nil && rule != "" {
		if err := m.opts.Risks.ResolveRisk(ctx, school, rule, key, by, comment, m.now()); err != nil && !errors.Is(err, engine.ErrNoSuchRisk) {
			return nil, err
		}
	}
	m.mu.Lock()
	if a.Active() {
		m.resolve(a, m.now(), by, comment)
		m.gauge()
	} else if a.ResolvedBy == "" {
		// The colour fell when the risk was resolved: the person resolved it.
		a.ResolvedBy = by
		a.History[len(a.History)-1].By, a.History[len(a.History)-1].Comment = by, comment
		m.touch(a)
	}
	c := a.clone()
	m.mu.Unlock()
	m.fire()
	return c, m.flush(ctx)
}

// missing answers an action on an alert that is not active.
func (m *Manager) missing(ctx context.Context, id string) (*Alert, error) {
	a, err := m.store.Alert(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Status == StatusResolved {
		return a, ErrResolved
	}
	return nil, ErrNotFound
}

// Get returns an alert, active or from the history.
func (m *Manager) Get(ctx context.Context, id string) (*Alert, error) {
	m.mu.Lock()
	if a := m.alerts[id]; a != nil {
		c := a.clone()
		m.mu.Unlock()
		return c, nil
	}
	m.mu.Unlock()
	return m.store.Alert(ctx, id)
}

// List returns the alerts f selects: firing first, then newest first.
func (m *Manager) List(ctx context.Context, f Filter) ([]*Alert, error) {
	list, err := m.store.Alerts(ctx, f)
	if err != nil {
		return nil, err
	}
	rank := func(s Status) int {
		switch s {
		case StatusFiring:
			return 0
		case StatusAcknowledged:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(list, func(a, b *Alert) int {
		if d := rank(a.Status) - rank(b.Status); d != 0 {
			return d
		}
		if a.Level != b.Level {
			return b.Level.Rank() - a.Level.Rank()
		}
		return b.OpenedAt.Compare(a.OpenedAt)
	})
	return list, nil
}

// Supervision is an overdue hazard put under supervision (挂牌督办).
type Supervision struct {
	HazardID, SchoolID string
	// Title is the hazard's title.
	Title string
	// Deadline is when the hazard should have been rectified; At when it
	// went under supervision.
	Deadline, At time.Time
}

// Supervise reports an overdue hazard to the district (挂牌督办): one
// message of kind supervision to the district's contact, stored and
// delivered like every other. It must not be called under a lock that
// Observe's caller holds.
func (m *Manager) Supervise(ctx context.Context, s Supervision) error {
	reg := m.opts.Registry()
	title, cause := supervisionText(s)
	m.mu.Lock()
	a := m.newAlert(reg, "hazard:"+s.HazardID, s.SchoolID, m.opts.Level(s.SchoolID), s.At, cause)
	a.Title, a.Rule = title, "hazard"
	for _, name := range m.receivers(a, notify.StepDistrict) {
		m.message(notify.KindSupervision, name, notify.StepDistrict, []*Alert{a}, s.At)
	}
	m.mu.Unlock()
	return m.flush(ctx)
}

// Backlog returns the messages waiting for delivery, per receiver.
func (m *Manager) Backlog() map[string]int { return m.box.backlog() }
