package app

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sanse-campus/sanse/engine/auth"
	"github.com/sanse-campus/sanse/engine/store"
)

// DefaultRetentionInterval is how often the retention job runs when
// Retention.Interval is zero.
const DefaultRetentionInterval = 6 * time.Hour

// Retention says how long the history keeps its rows.
type Retention struct {
	// Ages maps a table of store.Retained to how long its rows are kept;
	// tables left out keep store.Retained's default, and an age of zero or
	// less keeps a table's rows for ever.
	Ages map[string]time.Duration
	// Interval is how often the job runs; DefaultRetentionInterval when zero.
	Interval time.Duration
}

// age returns how long table keeps its rows; zero for ever.
func (r Retention) age(table string) time.Duration {
	if d, ok := r.Ages[table]; ok {
		return max(d, 0)
	}
	return store.Retained[table]
}

// runRetention enforces the retention at start and every Interval until ctx
// is done. A failure is logged and tried again at the next run.
func (a *App) runRetention(ctx context.Context) error {
	interval := a.opts.Retention.Interval
	if interval <= 0 {
		interval = DefaultRetentionInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := a.enforceRetention(ctx, time.Now()); err != nil && ctx.Err() == nil {
			a.logger.Error("retention not enforced; tried again at the next run", "err", err, "next", interval)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// enforceRetention drops, for each retained table, the monthly partitions
// older than its age at now — but never one that a risk still waiting, an
// alert not resolved or a hazard not verified needs: restore and the
// workflows read those rows.
func (a *App) enforceRetention(ctx context.Context, now time.Time) error {
	floors, err := a.store.OldestOpen(ctx)
	if err != nil {
		return err
	}
	for _, table := range store.RetainedTables() {
		age := a.opts.Retention.age(table)
		if age <= 0 {
			continue
		}
		cutoff := now.Add(-age)
		if f, ok := floors[table]; ok && f.Add(-24*time.Hour).Before(cutoff) {
			cutoff = f.Add(-24 * time.Hour)
		}
		dropped, err := a.store.DropPartitionsBefore(ctx, table, cutoff)
		for _, p := range dropped {
			a.logger.Info("retention: partition dropped", "table", table, "partition", p, "kept_after", cutoff.Format(time.DateOnly))
			a.retentionDropped.WithLabelValues(table).Inc()
			entry := auth.Entry{ID: "retention:" + table + ":" + p, At: now, Actor: "system", Action: auth.ActionRetentionDrop,
				Target: table + "/" + p, Result: auth.ResultOK,
				Detail: json.RawMessage(fmt.Sprintf(`{"age":%q,"kept_after":%q}`, age, cutoff.Format(time.DateOnly)))}
			if aerr := a.store.WriteAudit(ctx, entry); aerr != nil {
				a.logger.Error("retention: a dropped partition not recorded in the audit log", "table", table, "partition", p, "err", aerr)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}
