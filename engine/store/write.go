package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"golang.org/x/sync/errgroup"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/words"
)

const (
	insertRiskTransitions = `INSERT INTO risk_transitions (id, school_id, at, at_ms, state, event_id, rule, risk_key,
	source, level, title, description, first_seen_ms, last_seen_ms, until_ms, count, evidence, actor, comment,
	pending, full_level, alarms, device, overdue)`
	insertLevelChanges = `INSERT INTO level_changes (id, school_id, at, at_ms, from_level, to_level, rule, event_id,
	cause, active_risks, how, risk_key, title, severity, policy_rule, policy_reason)`
	insertEvents = `INSERT INTO events (id, school_id, source, type, occurred_at, occurred_at_ms, reporter, payload,
	visitor_hash, kafka_topic, kafka_partition, kafka_offset, ingested_at)`
)

// Write stores b and returns once the server has acknowledged every row:
// WriteEffects, then WriteEvents, so that an event found in storage implies
// that its effects are there too. Empty parts are skipped. Writing the same
// records again is harmless: queries count each id once.
//
// On error part of b may be stored; the caller writes the whole batch again.
// Cancelling ctx aborts the insert in flight and returns the context's error.
func (s *Store) Write(ctx context.Context, b *engine.Batch) error {
	if err := s.WriteEffects(ctx, b); err != nil {
		return err
	}
	return s.WriteEvents(ctx, b)
}

// WriteEffects stores what b's events and the clock caused — the risk
// transitions and the colour changes, one insert each, in parallel: each
// insert costs the server a fixed time whatever its size, and neither
// depends on the other. Errors and repeats are as for Write.
func (s *Store) WriteEffects(ctx context.Context, b *engine.Batch) error {
	var inserts []func(context.Context) error
	if len(b.Transitions) > 0 {
		inserts = append(inserts, func(ctx context.Context) error { return s.writeTransitions(ctx, b) })
	}
	if len(b.Changes) > 0 {
		inserts = append(inserts, func(ctx context.Context) error { return s.writeChanges(ctx, b) })
	}
	return inParallel(ctx, inserts...)
}

// inParallel runs the inserts at once and returns the first error, or
// ctx's when ctx ended: each insert costs the server a fixed time whatever
// its size, so inserts into tables that do not depend on each other go
// together.
func inParallel(ctx context.Context, inserts ...func(context.Context) error) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, insert := range inserts {
		g.Go(func() error { return insert(gctx) })
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	return nil
}

func (s *Store) writeTransitions(ctx context.Context, b *engine.Batch) error {
	return s.insert(ctx, tableRiskTransitions, insertRiskTransitions, len(b.Transitions), func(batch driver.Batch) error {
		var id []byte
		for i := range b.Transitions {
			t := &b.Transitions[i]
			id = t.AppendID(id[:0])
			r := &t.Risk
			evidence, alarms := r.Evidence, r.Alarms
			if evidence == nil {
				evidence = []string{}
			}
			if alarms == nil {
				alarms = []string{}
			}
			if err := batch.Append(string(id), t.SchoolID, dateTime(t.At), millis(t.At), string(t.State), t.EventID,
				r.Rule, r.Key, string(r.Source), string(r.Severity), r.Title, r.Description,
				millis(r.FirstSeen), millis(r.LastSeen), millis(r.Until), uint32(r.Count), evidence,
				t.Actor, t.Comment, boolByte(r.Pending), string(r.Full), alarms, r.Device, boolByte(r.Overdue)); err != nil {
				return fmt.Errorf("risk transition %q: %w", id, err)
			}
		}
		return nil
	})
}

func (s *Store) writeChanges(ctx context.Context, b *engine.Batch) error {
	return s.insert(ctx, tableLevelChanges, insertLevelChanges, len(b.Changes), func(batch driver.Batch) error {
		var id []byte
		for i := range b.Changes {
			c := &b.Changes[i]
			id = c.AppendID(id[:0])
			cause := &c.Cause
			// The sentence is written for the history's readers (and for
			// older readers of the table); the fields for the languages.
			if err := batch.Append(string(id), c.SchoolID, dateTime(c.At), millis(c.At), string(c.From), string(c.To),
				cause.Rule, c.EventID, words.Cause(*cause, words.Chinese), uint32(c.ActiveRisks),
				string(cause.How), cause.Key, cause.Title, string(cause.Severity), cause.PolicyRule, cause.PolicyReason); err != nil {
				return fmt.Errorf("level change %q: %w", id, err)
			}
		}
		return nil
	})
}

// WriteEvents stores b's events, in one insert. Store them after their
// effects (WriteEffects): the offsets of the stored events tell a restart
// what was read already. Errors and repeats are as for Write.
func (s *Store) WriteEvents(ctx context.Context, b *engine.Batch) error {
	if len(b.Events) == 0 {
		return nil
	}
	ingested := time.Now().Unix()
	return s.insert(ctx, tableEvents, insertEvents, len(b.Events), func(batch driver.Batch) error {
		return appendEventBlocks(batch, b.Events, ingested, eventBlockRows)
	})
}

// eventBlockRows is how many events go to the server in one block of the
// events insert. The server squashes the blocks of one insert into one part
// (up to its min_insert_block_size_rows, a million rows by default), so a
// batch is still one part written at once; but the driver holds only one
// block's columns and its encoding at a time, and reuses them for the next
// block, where a whole batch of 50,000 events in one block held about
// 120 MB of column buffers, new for every batch.
const eventBlockRows = 8192

// appendEventBlocks appends events to batch in blocks of at most rows
// events, sending each block but the last (which the caller's Send sends).
func appendEventBlocks(batch driver.Batch, events []engine.Event, ingested int64, rows int) error {
	first := true
	for len(events) > rows {
		if err := appendEvents(batch, events[:rows], ingested, first); err != nil {
			return err
		}
		if err := batch.Flush(); err != nil {
			return fmt.Errorf("send a block of %d events: %w", rows, err)
		}
		events, first = events[rows:], false
	}
	return appendEvents(batch, events, ingested, first)
}

// appendEvents appends the events to batch column by column: one slice per
// column handed to the driver at once, where a row at a time boxed each of
// the thirteen values of every event in an interface (an allocation each
// for the strings and the larger numbers). The columns are those of
// insertEvents, in its order.
//
// When size is set, the string columns are sized before they are filled
// (presize): appended to from empty, a column's buffer grows by copying
// several times over. The driver keeps the buffers' capacity from one block
// of an insert to the next, so only the first block needs it.
func appendEvents(batch driver.Batch, events []engine.Event, ingested int64, size bool) error {
	n := len(events)
	var (
		ids, schools, sources, types, reporters = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		hashes, topics                          = make([]string, n), make([]string, n)
		occurred, occurredMS, offsets, ingest   = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		partitions                              = make([]int32, n)
		payloadBytes                            int
	)
	for i := range events {
		e := &events[i]
		ids[i], schools[i], sources[i], types[i] = e.ID, e.SchoolID, string(e.Source), e.Type
		occurred[i], occurredMS[i] = dateTime(e.OccurredAt), millis(e.OccurredAt)
		reporters[i], hashes[i], topics[i] = e.Reporter, e.PersonHash, e.Origin.Topic
		partitions[i], offsets[i], ingest[i] = int32(e.Origin.Partition), e.Origin.Offset, ingested
		payloadBytes += len(e.Payload)
	}
	const payloadColumn = 7
	cols := batch.Columns()
	for i, col := range []any{ids, schools, sources, types, occurred, occurredMS, reporters, nil, hashes, topics,
		partitions, offsets, ingest} {
		if i == payloadColumn {
			if size {
				presize(cols, i, n, payloadBytes)
			}
			// The payloads row by row: the driver copies a []byte into the
			// column as it is, where a [][]byte would be made strings
			// first. A *[]byte, unlike a []byte, goes into the interface
			// without an allocation.
			c := batch.Column(i)
			for j := range events {
				if err := c.AppendRow(&events[j].Payload); err != nil {
					return fmt.Errorf("event %q: payload: %w", events[j].ID, err)
				}
			}
			continue
		}
		if strs, ok := col.([]string); ok && size {
			size := 0
			for _, s := range strs {
				size += len(s)
			}
			presize(cols, i, n, size)
		}
		if err := batch.Column(i).Append(col); err != nil {
			return fmt.Errorf("events, column %d: %w", i, err)
		}
	}
	return nil
}

// presize readies the empty string column i of cols for rows strings of
// size bytes in all, so that filling it does not grow it: the driver's
// column keeps its buffers' capacity when it is reset, so one row of size
// bytes and rows empty rows, appended and reset, leave both its buffers
// that large. Columns of other types, or not empty, are left alone.
func presize(cols []column.Interface, i, rows, size int) {
	if i >= len(cols) || rows == 0 {
		return
	}
	c, ok := cols[i].(*column.String)
	if !ok || c.Rows() != 0 {
		return
	}
	filler := fillers.bytes(size)
	_ = c.AppendRow(&filler)
	c.Reset()
	_, _ = c.Append(fillers.strings(rows))
	c.Reset()
}

// fillers holds the read-only zero bytes and empty strings that presize
// appends, kept from one batch to the next and grown as batches grow.
var fillers filler

type filler struct {
	mu   sync.Mutex
	zero []byte
	strs []string
}

// bytes returns n zero bytes; the caller must not write them.
func (f *filler) bytes(n int) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.zero) < n {
		f.zero = make([]byte, n)
	}
	return f.zero[:n]
}

// strings returns n empty strings; the caller must not write them.
func (f *filler) strings(n int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.strs) < n {
		f.strs = make([]string, n)
	}
	return f.strs[:n]
}

// insert runs one batch insert into table: query names the columns, fill
// appends the rows.
func (s *Store) insert(ctx context.Context, table, query string, rows int, fill func(driver.Batch) error) (err error) {
	start := time.Now()
	defer func() {
		s.metrics.insertDuration.WithLabelValues(table).Observe(time.Since(start).Seconds())
		if err != nil {
			s.metrics.insertErrors.WithLabelValues(table).Inc()
			return
		}
		s.metrics.insertRows.WithLabelValues(table).Add(float64(rows))
	}()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	// The driver (clickhouse-go v2.50) watches a batch's context in a
	// goroutine that closes the connection when the context ends, and that
	// goroutine may see it end after Send returned, when the connection is
	// back in the pool: the next query that takes it fails. Callers end
	// their contexts right after an insert (a request's, a timeout's, the
	// errgroup's of Write), so the batch gets a context that ctx ends only
	// while the insert is in flight.
	bctx, abort := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, abort)
	defer stop()
	batch, err := s.conn.PrepareBatch(bctx, query)
	if err != nil {
		return fmt.Errorf("prepare insert into %s: %w", table, err)
	}
	if err := fill(batch); err != nil {
		_ = batch.Abort()
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", rows, table, err)
	}
	return nil
}
