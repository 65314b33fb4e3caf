package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/notify"
)

// The store keeps alerts for engine/alert (alert.Store): their state (a JSON
// document per version) and the audit trail of their actions; and for
// engine/notify (notify.OutboxStore) the outbox of messages and every
// delivery attempt.

const (
	tableAlerts        = "alerts"
	tableAlertActions  = "alert_actions"
	tableNotifications = "notifications"
	tableDeliveries    = "deliveries"
)

var alertVersion atomic.Uint64

// nextVersion returns a version above every one given before: the wall
// clock in nanoseconds, or one more than the last.
func nextVersion() uint64 {
	for {
		last := alertVersion.Load()
		v := max(uint64(time.Now().UnixNano()), last+1)
		if alertVersion.CompareAndSwap(last, v) {
			return v
		}
	}
}

// SaveAlerts implements alert.Store. The alerts and their actions go in
// two inserts in parallel: neither is read to find the other (an alert's
// document holds its history), and each insert costs the server a fixed
// time whatever its size.
func (s *Store) SaveAlerts(ctx context.Context, alerts []*alert.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	inserts := []func(context.Context) error{func(ctx context.Context) error {
		return s.insert(ctx, tableAlerts, `INSERT INTO alerts (id, school_id, district, level, status, source, opened_at, opened_ms, version, doc)`,
			len(alerts), func(b driver.Batch) error {
				for _, a := range alerts {
					doc, err := json.Marshal(a)
					if err != nil {
						return err
					}
					if err := b.Append(a.ID, a.SchoolID, a.District, string(a.Level), string(a.Status), string(a.Source),
						dateTime(a.OpenedAt), millis(a.OpenedAt), nextVersion(), string(doc)); err != nil {
						return fmt.Errorf("alert %q: %w", a.ID, err)
					}
				}
				return nil
			})
	}}
	rows := 0
	for _, a := range alerts {
		rows += len(a.History)
	}
	if rows > 0 {
		inserts = append(inserts, func(ctx context.Context) error {
			return s.insert(ctx, tableAlertActions, `INSERT INTO alert_actions (alert_id, school_id, seq, at, at_ms, action, actor, comment, step)`,
				rows, func(b driver.Batch) error {
					for _, a := range alerts {
						for i, h := range a.History {
							if err := b.Append(a.ID, a.SchoolID, uint32(i), dateTime(h.At), millis(h.At), h.Action, h.By, h.Comment,
								uint8(h.Step)); err != nil {
								return fmt.Errorf("alert %q action %d: %w", a.ID, i, err)
							}
						}
					}
					return nil
				})
		})
	}
	return inParallel(ctx, inserts...)
}

// SaveNotifications implements notify.OutboxStore.
func (s *Store) SaveNotifications(ctx context.Context, ns []*notify.Notification) error {
	return s.insert(ctx, tableNotifications, `INSERT INTO notifications (id, receiver, school_id, kind, created, created_ms, doc)`, len(ns),
		func(b driver.Batch) error {
			for _, n := range ns {
				doc, err := json.Marshal(n)
				if err != nil {
					return err
				}
				if err := b.Append(n.ID, n.Receiver, n.Message.SchoolID, string(n.Message.Kind), dateTime(n.Created),
					millis(n.Created), string(doc)); err != nil {
					return fmt.Errorf("message %q: %w", n.ID, err)
				}
			}
			return nil
		})
}

// SaveDeliveries implements notify.OutboxStore.
func (s *Store) SaveDeliveries(ctx context.Context, ds []notify.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	return s.insert(ctx, tableDeliveries, `INSERT INTO deliveries (notification_id, school_id, receiver, channel, attempt, at, at_ms, ok, permanent, error)`,
		len(ds), func(b driver.Batch) error {
			for _, d := range ds {
				if err := b.Append(d.NotificationID, d.SchoolID, d.Receiver, d.Channel, uint32(d.Attempt), dateTime(d.At), millis(d.At),
					boolByte(d.OK), boolByte(d.Permanent), d.Error); err != nil {
					return err
				}
			}
			return nil
		})
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// OpenAlerts implements alert.Store.
func (s *Store) OpenAlerts(ctx context.Context) ([]*alert.Alert, error) {
	return s.Alerts(ctx, alert.Filter{Status: []alert.Status{alert.StatusFiring, alert.StatusAcknowledged}})
}

// Alerts implements alert.Store: the alerts f selects, newest first.
func (s *Store) Alerts(ctx context.Context, f alert.Filter) ([]*alert.Alert, error) {
	var (
		where []string
		args  []any
	)
	if len(f.Status) > 0 {
		var st []string
		for _, x := range f.Status {
			st = append(st, string(x))
		}
		where, args = append(where, "has(?, status)"), append(args, st)
	}
	add := func(cond string, v any) {
		where, args = append(where, cond), append(args, v)
	}
	if f.Level != "" {
		add("level = ?", string(f.Level))
	}
	if f.District != "" {
		add("district = ?", f.District)
	}
	if f.School != "" {
		add("school_id = ?", f.School)
	}
	if f.Source != "" {
		add("source = ?", string(f.Source))
	}
	if !f.From.IsZero() {
		add("opened_ms >= ?", f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		add("opened_ms < ?", f.To.UnixMilli())
	}
	q := "SELECT doc FROM alerts FINAL"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY opened_ms DESC, id"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("query alerts: %w", err)
	}
	defer rows.Close()
	var out []*alert.Alert
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, fmt.Errorf("read alerts: %w", err)
		}
		a := new(alert.Alert)
		if err := json.Unmarshal([]byte(doc), a); err != nil {
			return nil, fmt.Errorf("read alerts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read alerts: %w", err)
	}
	return out, nil
}

// Alert implements alert.Store.
func (s *Store) Alert(ctx context.Context, id string) (*alert.Alert, error) {
	rows, err := s.conn.Query(ctx, "SELECT doc FROM alerts FINAL WHERE id = ? LIMIT 1", id)
	if err != nil {
		return nil, fmt.Errorf("query alert %q: %w", id, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read alert %q: %w", id, err)
		}
		return nil, alert.ErrNotFound
	}
	var doc string
	if err := rows.Scan(&doc); err != nil {
		return nil, fmt.Errorf("read alert %q: %w", id, err)
	}
	a := new(alert.Alert)
	if err := json.Unmarshal([]byte(doc), a); err != nil {
		return nil, fmt.Errorf("read alert %q: %w", id, err)
	}
	return a, nil
}

// PendingNotifications implements notify.OutboxStore: the alert messages
// created since since that are not marked finished (notify.Finished), with
// the channels that already took them (or refused them for good). Report
// messages have an outbox of their own (ReportOutbox).
func (s *Store) PendingNotifications(ctx context.Context, since time.Time) ([]*notify.Notification, error) {
	return s.pendingNotifications(ctx, since, false)
}

// pendingNotifications returns the pending report messages (reports) or
// the others.
func (s *Store) pendingNotifications(ctx context.Context, since time.Time, reports bool) ([]*notify.Notification, error) {
	kind := "kind != ?"
	if reports {
		kind = "kind = ?"
	}
	rows, err := s.conn.Query(ctx, `
SELECT doc FROM notifications FINAL
WHERE created >= toDateTime(?) AND created_ms >= ? AND `+kind+`
  AND id NOT IN (SELECT notification_id FROM deliveries WHERE channel = ? AND at >= toDateTime(?))
ORDER BY created_ms, id`, dateTime(since), since.UnixMilli(), string(notify.KindReport), notify.Finished, dateTime(since))
	if err != nil {
		return nil, fmt.Errorf("query messages: %w", err)
	}
	var list []*notify.Notification
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read messages: %w", err)
		}
		n := new(notify.Notification)
		if err := json.Unmarshal([]byte(doc), n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read messages: %w", err)
		}
		n.Done = nil
		list = append(list, n)
	}
	err = errors.Join(rows.Err(), rows.Close())
	if err != nil || len(list) == 0 {
		return nil, err
	}
	done := map[string][]string{}
	ids := make([]string, len(list))
	for i, n := range list {
		ids[i] = n.ID
	}
	drows, err := s.conn.Query(ctx, `
SELECT DISTINCT notification_id, channel FROM deliveries
WHERE at >= toDateTime(?) AND has(?, notification_id) AND channel != ? AND (ok = 1 OR permanent = 1)`,
		dateTime(since), ids, notify.Finished)
	if err != nil {
		return nil, fmt.Errorf("query deliveries: %w", err)
	}
	defer drows.Close()
	for drows.Next() {
		var id, ch string
		if err := drows.Scan(&id, &ch); err != nil {
			return nil, fmt.Errorf("read deliveries: %w", err)
		}
		done[id] = append(done[id], ch)
	}
	if err := drows.Err(); err != nil {
		return nil, fmt.Errorf("read deliveries: %w", err)
	}
	for _, n := range list {
		n.Done = done[n.ID]
	}
	return list, nil
}
