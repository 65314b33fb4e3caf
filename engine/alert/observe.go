package alert

import (
	"context"
	"crypto/sha256"
	"slices"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/notify"
	"github.com/sanse-campus/sanse/engine/words"
)

// What the engine records opens, raises and resolves alerts: a colour rise
// opens one (or raises the school's current one), a new high risk at a red
// school opens one of its own, a colour fall resolves those above it.

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
	id := m.alertID(c.RecordID())
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
	id := m.alertID(t.RecordID())
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
	for _, name := range receiversUpTo(a, func(step int) []string { return m.receivers(a, step) }) {
		m.message(notify.KindResolved, name, a.Step, []*Alert{a}, at)
	}
}

func (m *Manager) sendResolved(a *Alert) bool {
	node := m.route(a).node
	return node.SendResolved != nil && *node.SendResolved
}

// alertID returns the id of the alert that the record with the id opens. It
// is derived from the record, so that seeing the record again opens nothing
// new, but opaque: a record's id holds its risk's key, which may be a pupil's
// reference, and alert ids reach every receiver of a message.
func (m *Manager) alertID(record string) string { return IDOf(m.opts.HashID, record) }

// IDOf returns the id of the alert that the record with the id opens,
// with hash making its opaque part; when hash is nil, SHA-256 written with
// the letters a to p (no digits, so that no part of it reads as a number
// that notifications would mask).
func IDOf(hash func(string) string, record string) string {
	if hash == nil {
		sum := sha256.Sum256([]byte(record))
		out := make([]byte, 0, 32)
		for _, b := range sum[:16] {
			out = append(out, 'a'+b>>4, 'a'+b&0xf)
		}
		return "alert:" + string(out)
	}
	return "alert:" + hash(record)
}
