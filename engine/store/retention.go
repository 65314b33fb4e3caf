package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Every table of the history is partitioned by month (toYYYYMM of its time
// column), so that retention drops whole partitions: ALTER TABLE … DROP
// PARTITION works on every supported ClickHouse, where TTL does not (18.16
// has no TTL on MergeTree), and costs nothing per row.

// Retained lists the tables retention may drop partitions of, each with
// the default age after which its rows go (a local policy, documented with
// its reasons in docs/security.md and docs/configuration.md):
//   - events: the raw reports carry personal data (masked and hashed, still
//     personal); kept 180 days, long enough for every rule's window, for
//     replays and for the six months that network logs are kept for;
//   - the colour history, risks, alerts and their delivery, hazards and
//     their steps: what inspections and reports look back on; three years;
//   - the audit log: three years, well past the six months network logs
//     must be kept for;
//   - the report archive: three years, like what the reports look back on;
//     the claims of report runs: 90 days, far longer than a claim's lease
//     and the outbox's retries that they serve.
var Retained = map[string]time.Duration{
	"audit":              3 * 365 * 24 * time.Hour,
	"events":             180 * 24 * time.Hour,
	"risk_transitions":   3 * 365 * 24 * time.Hour,
	"level_changes":      3 * 365 * 24 * time.Hour,
	"alerts":             3 * 365 * 24 * time.Hour,
	"alert_actions":      3 * 365 * 24 * time.Hour,
	"notifications":      365 * 24 * time.Hour,
	"deliveries":         365 * 24 * time.Hour,
	"hazards":            3 * 365 * 24 * time.Hour,
	"hazard_transitions": 3 * 365 * 24 * time.Hour,
	"reports":            3 * 365 * 24 * time.Hour,
	"report_claims":      90 * 24 * time.Hour,
}

// RetainedTables returns the names of Retained, sorted.
func RetainedTables() []string {
	out := make([]string, 0, len(Retained))
	for t := range Retained {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// DropPartitionsBefore drops the monthly partitions of table whose whole
// month — with a day's margin for the server's time zone — ended before
// cutoff, and returns their ids (YYYYMM), oldest first. A table that is not
// in Retained is refused. Dropping is idempotent: several instances may run
// it at once.
func (s *Store) DropPartitionsBefore(ctx context.Context, table string, cutoff time.Time) ([]string, error) {
	if _, ok := Retained[table]; !ok {
		return nil, fmt.Errorf("retention: %q is not a table retention may drop from", table)
	}
	rows, err := s.conn.Query(ctx, `
SELECT DISTINCT partition
FROM system.parts
WHERE database = ? AND table = ? AND active
ORDER BY partition`, s.database, table)
	if err != nil {
		return nil, fmt.Errorf("retention: list partitions of %s: %w", table, err)
	}
	var due []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return nil, fmt.Errorf("retention: list partitions of %s: %w", table, err)
		}
		if end, ok := monthEnd(p); ok && end.Add(24*time.Hour).Before(cutoff) {
			due = append(due, p)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("retention: list partitions of %s: %w", table, err)
	}
	var dropped []string
	for _, p := range due {
		stmt := "ALTER TABLE " + quoteIdent(s.database) + "." + quoteIdent(table) + " DROP PARTITION " + p
		if err := s.conn.Exec(ctx, stmt); err != nil {
			return dropped, fmt.Errorf("retention: drop partition %s of %s: %w", p, table, err)
		}
		dropped = append(dropped, p)
	}
	return dropped, nil
}

// monthEnd returns the first instant (UTC) after the month of a partition id
// YYYYMM, or false for an id of another form.
func monthEnd(p string) (time.Time, bool) {
	if len(p) != 6 {
		return time.Time{}, false
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return time.Time{}, false
	}
	y, m := n/100, n%100
	if y < 1970 || m < 1 || m > 12 {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(m)+1, 1, 0, 0, 0, 0, time.UTC), true
}

// OldestOpen returns, for the tables whose rows a running risk, alert or
// hazard still needs, the time before which nothing may be dropped: the
// first event of the oldest risk waiting to be cleared or resolved (for
// events, risk transitions and colour changes), the oldest alert not
// resolved (alerts and their steps, messages and deliveries) and the oldest
// hazard not verified (hazards and their steps). A table without such a
// bound is absent.
func (s *Store) OldestOpen(ctx context.Context) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	if first, ok, err := s.OpenRisksSince(ctx); err != nil {
		return nil, err
	} else if ok {
		for _, t := range []string{"events", "risk_transitions", "level_changes"} {
			out[t] = first
		}
	}
	var alertMS, hazardMS int64
	var alerts, hazards uint64
	if err := s.conn.QueryRow(ctx, `SELECT toInt64(min(toUnixTimestamp(opened_at))), count() FROM alerts FINAL WHERE status != 'resolved'`).
		Scan(&alertMS, &alerts); err != nil {
		return nil, fmt.Errorf("query open alerts: %w", err)
	}
	if alerts > 0 {
		for _, t := range []string{"alerts", "alert_actions", "notifications", "deliveries"} {
			out[t] = time.Unix(alertMS, 0).UTC()
		}
	}
	if err := s.conn.QueryRow(ctx, `SELECT toInt64(min(toUnixTimestamp(created_at))), count() FROM hazards FINAL WHERE status != 'verified'`).
		Scan(&hazardMS, &hazards); err != nil {
		return nil, fmt.Errorf("query open hazards: %w", err)
	}
	if hazards > 0 {
		for _, t := range []string{"hazards", "hazard_transitions"} {
			out[t] = time.Unix(hazardMS, 0).UTC()
		}
	}
	return out, nil
}
