package app

import (
	"context"
	"time"
)

// EnforceRetention runs the retention job once, as of now.
func (a *App) EnforceRetention(ctx context.Context, now time.Time) error {
	return a.enforceRetention(ctx, now)
}
