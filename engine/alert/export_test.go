package alert

import "context"

// Tick does what one tick of Run does, at the manager's clock: it makes the
// messages due and stores them with the alerts they changed. Nothing is
// delivered: the outbox runs only in Run.
func (m *Manager) Tick(ctx context.Context) error { return m.tick(ctx) }

// RetryTick does what one tick of Run does, logging a failure to store as
// Run does.
func (m *Manager) RetryTick(ctx context.Context) { m.retryTick(ctx) }
