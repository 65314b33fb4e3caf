package alert

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/sanse-campus/sanse/engine"
)

// People's acts on alerts, and the reads behind the API.

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
	if err := m.heldElsewhere(a); err != nil {
		m.mu.Unlock()
		return nil, err
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
	if err := m.heldElsewhere(a); err != nil {
		m.mu.Unlock()
		return nil, err
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

// heldElsewhere returns an error wrapping engine.ErrHeldElsewhere when
// another instance of the group holds the alert's school: it repeats and
// escalates the alert, so a person's act on it is made there.
func (m *Manager) heldElsewhere(a *Alert) error {
	if m.opts.Holds == nil || m.opts.Holds(a.SchoolID) {
		return nil
	}
	return fmt.Errorf("alert %s of school %s: %w: act through that instance", a.ID, a.SchoolID, engine.ErrHeldElsewhere)
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
