package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/sanse-campus/sanse/engine"
)

// Every query reads with FINAL, which folds rows of the same sorting key
// (school, time, id) the way a merge would, so that a record written twice is
// read once whether or not the merge has happened. The DateTime bounds let
// the primary index and partition pruning work; the *_ms bounds are exact.

// Timeline returns the colour changes of a school with from <= At < to, in
// time order (ties by id).
func (s *Store) Timeline(ctx context.Context, schoolID string, from, to time.Time) ([]engine.LevelChange, error) {
	rows, err := s.conn.Query(ctx, `
SELECT `+levelChangeColumns+`
FROM level_changes FINAL
WHERE school_id = ? AND at >= toDateTime(?) AND at <= toDateTime(?) AND at_ms >= ? AND at_ms < ?
ORDER BY at_ms, id`,
		schoolID, dateTime(from), dateTime(to), from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("query timeline of school %q: %w", schoolID, err)
	}
	out, err := scanLevelChanges(rows)
	if err != nil {
		return nil, fmt.Errorf("read timeline of school %q: %w", schoolID, err)
	}
	return out, nil
}

// levelChangeColumns are the columns scanLevelChanges reads, in order.
const levelChangeColumns = `id, school_id, at_ms, from_level, to_level, rule, event_id, cause, active_risks,
       how, risk_key, title, severity, policy_rule, policy_reason`

// scanLevelChanges reads rows of levelChangeColumns and closes them.
func scanLevelChanges(rows driver.Rows) ([]engine.LevelChange, error) {
	defer rows.Close()
	var out []engine.LevelChange
	for rows.Next() {
		var (
			c            engine.LevelChange
			atMS         int64
			fromLv, toLv string
			active       uint32
			how, sev     string
			k            = &c.Cause
		)
		if err := rows.Scan(&c.ID, &c.SchoolID, &atMS, &fromLv, &toLv, &k.Rule, &c.EventID, &k.Text, &active,
			&how, &k.Key, &k.Title, &sev, &k.PolicyRule, &k.PolicyReason); err != nil {
			return nil, err
		}
		k.How, k.Severity = engine.RiskState(how), engine.Severity(sev)
		c.At, c.From, c.To, c.ActiveRisks = fromMillis(atMS), engine.Level(fromLv), engine.Level(toLv), int(active)
		out = append(out, c)
	}
	return out, rows.Err()
}

// riskTransitionColumns are the columns scanRiskTransitions reads, in order.
const riskTransitionColumns = `id, school_id, at_ms, state, event_id, rule, risk_key, source, level, title,
       description, first_seen_ms, last_seen_ms, until_ms, count, evidence, actor, comment,
       pending, full_level, alarms, device, overdue`

// RiskTransitions returns the risk transitions of a school with
// from <= At < to, in time order (ties by id).
func (s *Store) RiskTransitions(ctx context.Context, schoolID string, from, to time.Time) ([]engine.RiskTransition, error) {
	rows, err := s.conn.Query(ctx, `
SELECT `+riskTransitionColumns+`
FROM risk_transitions FINAL
WHERE school_id = ? AND at >= toDateTime(?) AND at <= toDateTime(?) AND at_ms >= ? AND at_ms < ?
ORDER BY at_ms, id`,
		schoolID, dateTime(from), dateTime(to), from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("query risk transitions of school %q: %w", schoolID, err)
	}
	out, err := scanRiskTransitions(rows)
	if err != nil {
		return nil, fmt.Errorf("read risk transitions of school %q: %w", schoolID, err)
	}
	return out, nil
}

// Resolutions returns every risk transition of state resolved or
// false_alarm, at every school, with At at or after since, in time order
// (ties by id), each once: the risks people (or a vendor platform's check)
// ended, which a replay of the events may not recompute.
func (s *Store) Resolutions(ctx context.Context, since time.Time) ([]engine.RiskTransition, error) {
	rows, err := s.conn.Query(ctx, `
SELECT `+riskTransitionColumns+`
FROM risk_transitions FINAL
WHERE state IN (?, ?) AND at >= toDateTime(?) AND at_ms >= ?
ORDER BY at_ms, id`,
		string(engine.RiskResolved), string(engine.RiskFalseAlarm), dateTime(since), since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("query resolutions since %s: %w", since.Format(time.RFC3339Nano), err)
	}
	out, err := scanRiskTransitions(rows)
	if err != nil {
		return nil, fmt.Errorf("read resolutions since %s: %w", since.Format(time.RFC3339Nano), err)
	}
	return out, nil
}

// scanRiskTransitions reads rows of riskTransitionColumns and closes them.
func scanRiskTransitions(rows driver.Rows) ([]engine.RiskTransition, error) {
	defer rows.Close()
	var out []engine.RiskTransition
	for rows.Next() {
		var (
			t                            engine.RiskTransition
			atMS, firstMS, lastMS, until int64
			state, source, level, full   string
			count                        uint32
			pending, overdue             uint8
		)
		r := &t.Risk
		if err := rows.Scan(&t.ID, &t.SchoolID, &atMS, &state, &t.EventID, &r.Rule, &r.Key, &source, &level,
			&r.Title, &r.Description, &firstMS, &lastMS, &until, &count, &r.Evidence, &t.Actor, &t.Comment,
			&pending, &full, &r.Alarms, &r.Device, &overdue); err != nil {
			return nil, err
		}
		r.Pending, r.Full, r.Overdue = pending == 1, engine.Severity(full), overdue == 1
		if len(r.Alarms) == 0 {
			r.Alarms = nil
		}
		t.At, t.State = fromMillis(atMS), engine.RiskState(state)
		r.Source, r.Severity, r.Count = engine.Source(source), engine.Severity(level), int(count)
		r.FirstSeen, r.LastSeen, r.Until = fromMillis(firstMS), fromMillis(lastMS), fromMillis(until)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// OpenRisksSince returns the earliest first_seen of the risks that are still
// open and last until an event clears them or a person resolves them (no
// until), and false when there is none. A risk is open when its latest
// transition (by time, ties by id) opened or updated it. Such a risk does not
// run out within the rule set's horizon, so a replay that rebuilds it must
// start from its first event. The risks of registered hazards (rule
// "hazard") are left out: no event makes them, and the hazard manager opens
// them again on start.
func (s *Store) OpenRisksSince(ctx context.Context) (time.Time, bool, error) {
	var (
		firstMS int64
		open    uint64
	)
	err := s.conn.QueryRow(ctx, `
SELECT min(last_first_seen_ms), count()
FROM
(
    SELECT
        argMax(state, (at_ms, id))         AS last_state,
        argMax(until_ms, (at_ms, id))      AS last_until_ms,
        argMax(first_seen_ms, (at_ms, id)) AS last_first_seen_ms
    FROM risk_transitions FINAL
    WHERE rule != 'hazard'
    GROUP BY school_id, rule, risk_key
)
WHERE last_state IN (?, ?) AND last_until_ms = 0`,
		string(engine.RiskOpened), string(engine.RiskUpdated)).Scan(&firstMS, &open)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("query open risks: %w", err)
	}
	if open == 0 {
		return time.Time{}, false, nil
	}
	return fromMillis(firstMS), true, nil
}

// replaySortMemory is the memory that ReplayEvents's sort may use on the
// server before it spills to disk.
const replaySortMemory = 512 << 20

// ReplayEvents calls fn for every stored event that occurred at or after
// since, each id once, in order of occurrence (to the millisecond, ties by
// id), with the event's stored payload (fn may keep it) and Kafka origin.
// Rows are streamed from the server, so the span may be larger than memory.
// An error from fn stops the replay and is returned as is.
func (s *Store) ReplayEvents(ctx context.Context, since time.Time, fn func(payload []byte, origin engine.Origin) error) error {
	return s.replayEvents(ctx, since, nil, fn)
}

// ReplayPartitions is ReplayEvents for the events read from the given
// partitions of their topics, and those not read from Kafka (which the
// caller sorts out by school): the history of the schools an instance
// takes over with those partitions.
func (s *Store) ReplayPartitions(ctx context.Context, since time.Time, partitions []int, fn func(payload []byte, origin engine.Origin) error) error {
	if partitions == nil {
		partitions = []int{}
	}
	return s.replayEvents(ctx, since, partitions, fn)
}

func (s *Store) replayEvents(ctx context.Context, since time.Time, partitions []int, fn func(payload []byte, origin engine.Origin) error) error {
	// The sort spills to disk past replaySortMemory instead of failing on a
	// long horizon.
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
		"max_bytes_before_external_sort": replaySortMemory,
	}))
	where, args := "", []any{dateTime(since), since.UnixMilli()}
	if partitions != nil {
		list := make([]string, len(partitions))
		for i, p := range partitions {
			list[i] = strconv.Itoa(p)
		}
		where = " AND (kafka_topic = '' OR kafka_partition IN (" + strings.Join(append(list, "-1"), ",") + "))"
	}
	rows, err := s.conn.Query(ctx, `
SELECT payload, kafka_topic, kafka_partition, kafka_offset
FROM events FINAL
WHERE occurred_at >= toDateTime(?) AND occurred_at_ms >= ?`+where+`
ORDER BY occurred_at_ms, id`, args...)
	if err != nil {
		return fmt.Errorf("query events since %s: %w", since.Format(time.RFC3339Nano), err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			payload   string
			origin    engine.Origin
			partition int32
		)
		if err := rows.Scan(&payload, &origin.Topic, &partition, &origin.Offset); err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		origin.Partition = int(partition)
		if err := fn([]byte(payload), origin); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read events since %s: %w", since.Format(time.RFC3339Nano), err)
	}
	return nil
}

// StoredOffset is the last stored event read from a Kafka partition: the
// offset of its message and its id.
type StoredOffset struct {
	Topic     string
	Partition int
	Offset    int64
	EventID   string
}

// StoredOffsets returns, for every Kafka topic and partition, the stored
// event with the highest offset among those that occurred at or after since
// (to the second): every message of the partition at or below that offset
// was consumed and what it caused stored, whether or not its offset was
// committed. Events stored without a Kafka origin are left out.
func (s *Store) StoredOffsets(ctx context.Context, since time.Time) ([]StoredOffset, error) {
	rows, err := s.conn.Query(ctx, `
SELECT kafka_topic, kafka_partition, max(kafka_offset), argMax(id, kafka_offset)
FROM events
WHERE occurred_at >= toDateTime(?) AND kafka_topic != ''
GROUP BY kafka_topic, kafka_partition
ORDER BY kafka_topic, kafka_partition`, dateTime(since))
	if err != nil {
		return nil, fmt.Errorf("query stored offsets since %s: %w", since.Format(time.RFC3339), err)
	}
	defer rows.Close()
	var out []StoredOffset
	for rows.Next() {
		var (
			o         StoredOffset
			partition int32
		)
		if err := rows.Scan(&o.Topic, &partition, &o.Offset, &o.EventID); err != nil {
			return nil, fmt.Errorf("read stored offsets: %w", err)
		}
		o.Partition = int(partition)
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read stored offsets: %w", err)
	}
	return out, nil
}

// CountEvents returns the number of distinct stored events of a school, or
// of every school when schoolID is "".
func (s *Store) CountEvents(ctx context.Context, schoolID string) (uint64, error) {
	query, args := `SELECT uniqExact(id) FROM events`, []any(nil)
	if schoolID != "" {
		query, args = query+` WHERE school_id = ?`, []any{schoolID}
	}
	var n uint64
	if err := s.conn.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events of school %q: %w", schoolID, err)
	}
	return n, nil
}

// Confirmations returns every risk transition of state confirmed that a
// person made (it has no event), at every school, with At at or after since,
// in time order (ties by id): a replay of the events opens such a risk
// pending again, and these make it confirmed.
func (s *Store) Confirmations(ctx context.Context, since time.Time) ([]engine.RiskTransition, error) {
	rows, err := s.conn.Query(ctx, `
SELECT `+riskTransitionColumns+`
FROM risk_transitions FINAL
WHERE state = ? AND event_id = '' AND at >= toDateTime(?) AND at_ms >= ?
ORDER BY at_ms, id`,
		string(engine.RiskConfirmed), dateTime(since), since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("query confirmations since %s: %w", since.Format(time.RFC3339Nano), err)
	}
	out, err := scanRiskTransitions(rows)
	if err != nil {
		return nil, fmt.Errorf("read confirmations since %s: %w", since.Format(time.RFC3339Nano), err)
	}
	return out, nil
}

// CheckCount is what human checks found of one rule's detections at one
// school from one device: how many risks opened pending a check, and how
// many were confirmed and how many found false alarms (误报).
type CheckCount struct {
	Rule, SchoolID, Device          string
	Pending, Confirmed, FalseAlarms uint64
}

// FalseAlarmRate returns the share of checked detections found false, or 0
// when none was checked.
func (c CheckCount) FalseAlarmRate() float64 {
	if checked := c.Confirmed + c.FalseAlarms; checked > 0 {
		return float64(c.FalseAlarms) / float64(checked)
	}
	return 0
}

// CheckCounts returns, per rule, school and device, what the human checks
// of machine detections found from since to before until, ordered by rule,
// school and device. Only groups with a detection pending a check or a
// disposition are returned.
func (s *Store) CheckCounts(ctx context.Context, since, until time.Time) ([]CheckCount, error) {
	return s.checkCounts(ctx, nil, since, until)
}

// checkCounts is CheckCounts at the schools only, or at every school when
// schools is nil.
func (s *Store) checkCounts(ctx context.Context, schools []string, since, until time.Time) ([]CheckCount, error) {
	only, args := "", []any{string(engine.RiskOpened), string(engine.RiskConfirmed), string(engine.RiskFalseAlarm)}
	if schools != nil {
		only, args = "school_id IN ? AND ", append(args, inSet(schools))
	}
	args = append(args, dateTime(since), dateTime(until), since.UnixMilli(), until.UnixMilli())
	rows, err := s.conn.Query(ctx, `
SELECT rule, school_id, device,
       countIf(state = ? AND pending = 1) AS pending_opened,
       countIf(state = ?)                AS confirmed,
       countIf(state = ?)                AS false_alarms
FROM risk_transitions FINAL
WHERE `+only+`at >= toDateTime(?) AND at <= toDateTime(?) AND at_ms >= ? AND at_ms < ?
GROUP BY rule, school_id, device
HAVING pending_opened + confirmed + false_alarms > 0
ORDER BY rule, school_id, device`, args...)
	if err != nil {
		return nil, fmt.Errorf("query check counts: %w", err)
	}
	defer rows.Close()
	var out []CheckCount
	for rows.Next() {
		var c CheckCount
		if err := rows.Scan(&c.Rule, &c.SchoolID, &c.Device, &c.Pending, &c.Confirmed, &c.FalseAlarms); err != nil {
			return nil, fmt.Errorf("read check counts: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read check counts: %w", err)
	}
	return out, nil
}
