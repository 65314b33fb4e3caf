package alert

import (
	"context"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/notify"
)

// Store keeps alerts, their history, the outbox and every delivery attempt.
// Its methods must be safe for concurrent use. Saving an alert again
// replaces the stored one (the last saved wins); saving a notification or
// a delivery twice keeps it once. Cancelling ctx makes a call return an
// error. engine/store implements it; engine/store/storetest holds the
// behaviour every implementation must show.
type Store interface {
	notify.OutboxStore
	// SaveAlerts stores the current state of the alerts, history included.
	SaveAlerts(ctx context.Context, alerts []*Alert) error
	// OpenAlerts returns the alerts not resolved.
	OpenAlerts(ctx context.Context) ([]*Alert, error)
	// Alerts returns the alerts that f selects, newest first (by OpenedAt,
	// then id).
	Alerts(ctx context.Context, f Filter) ([]*Alert, error)
	// Alert returns one alert, or an error wrapping ErrNotFound.
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
