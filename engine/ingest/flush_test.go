package ingest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

// These tests drive consume directly, without a broker: the messages come
// as the fetchers would send them, and a fake generation records commits.

const testTopic = "campus.canteen"

// journal records, in order, what the store and the generation did.
type journal struct {
	mu      sync.Mutex
	entries []string
}

func (j *journal) add(format string, args ...any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = append(j.entries, fmt.Sprintf(format, args...))
}

func (j *journal) list() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.entries)
}

// journalGen is a generation that records commits in the journal as
// "commit [p0=N p1=M]".
type journalGen struct{ j *journal }

func (g journalGen) CommitOffsets(o map[string]map[int]int64) error {
	ps := o[testTopic]
	var parts []string
	for _, p := range slices.Sorted(maps.Keys(ps)) {
		parts = append(parts, fmt.Sprintf("p%d=%d", p, ps[p]))
	}
	g.j.add("commit %v", parts)
	return nil
}

// journalStore records each successful write in the journal as
// "write [ID…]". Each attempt first calls before, if set, whose error fails
// the attempt.
type journalStore struct {
	j      *journal
	before func(ctx context.Context, attempt int) error

	mu       sync.Mutex
	attempts int
}

func (s *journalStore) Write(ctx context.Context, b *engine.Batch) error {
	s.mu.Lock()
	s.attempts++
	attempt := s.attempts
	s.mu.Unlock()
	if s.before != nil {
		if err := s.before(ctx, attempt); err != nil {
			return err
		}
	}
	ids := make([]string, len(b.Events))
	for i := range b.Events {
		ids[i] = b.Events[i].ID
	}
	s.j.add("write %v", ids)
	return nil
}

func (s *journalStore) writeAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// orderEngine records the origin of every applied event and drops ids it
// has seen.
type orderEngine struct {
	mu      sync.Mutex
	applied []engine.Origin
	seen    map[string]bool
}

func (e *orderEngine) Apply(ev *engine.Event, _ *engine.Output) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.seen[ev.ID] {
		return engine.ErrDuplicate
	}
	if e.seen == nil {
		e.seen = map[string]bool{}
	}
	e.seen[ev.ID] = true
	e.applied = append(e.applied, ev.Origin)
	return nil
}

func (e *orderEngine) Tick(time.Time, *engine.Output) {}

func (e *orderEngine) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.applied)
}

// harness runs consume on a channel of chunks of decoded messages.
type harness struct {
	c      *Consumer
	j      *journal
	store  *journalStore
	eng    *orderEngine
	q      *queue
	runCtx context.Context    // Run's context
	cancel context.CancelFunc // cancels runCtx
	endGen context.CancelFunc // ends the generation
	done   chan struct{}      // closed when consume returned, after err is set
	err    error
}

func startHarness(t *testing.T, fetchers int, opts Options, tweaks ...func(*Consumer)) *harness {
	t.Helper()
	j := &journal{}
	h := &harness{j: j, store: &journalStore{j: j}, eng: &orderEngine{}, q: testQueue(), done: make(chan struct{})}
	opts.Brokers = []string{"127.0.0.1:1"} // never dialled: consume does not fetch
	opts.Decoder = &event.Decoder{}
	opts.Engine = h.eng
	if st, ok := opts.Store.(*stagedJournal); ok {
		st.journalStore = h.store
	} else {
		opts.Store = h.store
	}
	if opts.BatchInterval == 0 {
		opts.BatchInterval = time.Hour
	}
	c, err := NewConsumer(opts)
	require.NoError(t, err)
	t.Cleanup(func() { c.dlq.Close() })
	for _, tweak := range tweaks {
		tweak(c)
	}
	h.c = c
	ctx, cancel := context.WithCancel(context.Background())
	gctx, endGen := context.WithCancel(ctx)
	h.runCtx, h.cancel, h.endGen = ctx, cancel, endGen
	go func() {
		h.err = c.consume(ctx, gctx, journalGen{j}, fetchers, h.q)
		close(h.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			t.Error("consume did not return")
		}
	})
	return h
}

// send sends the messages of partition p at offsets [from, to), in chunks
// as its fetcher would, with last the partition's high-water mark minus
// one; a chunk of messages behind it that is not full goes at the end, as
// at the end of a fetch.
func (h *harness) send(p int, from, to, last int64) {
	var ch *chunk
	for off := from; off < to; off++ {
		if ch == nil {
			ch = h.q.get()
		}
		ch.msgs = append(ch.msgs, decoded{
			msg:     kafka.Message{Topic: testTopic, Partition: p, Offset: off, HighWaterMark: last + 1},
			ev:      engine.Event{ID: fmt.Sprintf("p%d-%d", p, off), SchoolID: "s1"},
			fetcher: p,
			lag:     max(last-off, 0),
		})
		if off >= last || len(ch.msgs) == chunkMax {
			h.q.chunks <- ch
			ch = nil
		}
	}
	if ch != nil {
		h.q.chunks <- ch
	}
}

// sendOne sends d alone in a chunk.
func (h *harness) sendOne(d decoded) {
	ch := h.q.get()
	ch.msgs = append(ch.msgs, d)
	h.q.chunks <- ch
}

// testQueue is a queue with room for the chunks of a test's messages.
func testQueue() *queue {
	return &queue{chunks: make(chan *chunk, 1000), free: make(chan *chunk, 1000)}
}

func (h *harness) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-h.done:
		return h.err
	case <-time.After(10 * time.Second):
		t.Fatal("consume did not return")
		return nil
	}
}

func ids(p int, from, to int64) string {
	var out []string
	for off := from; off < to; off++ {
		out = append(out, fmt.Sprintf("p%d-%d", p, off))
	}
	return fmt.Sprint(out)
}

func TestConsumeAppliesWhileStoring(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	h := startHarness(t, 1, Options{BatchSize: 10})
	h.store.before = func(ctx context.Context, attempt int) error {
		started <- struct{}{}
		if attempt == 1 {
			<-release
		}
		return nil
	}

	// The first batch fills and goes to the store, which holds it; the
	// next ones are read and applied meanwhile, up to maxInFlight handed
	// over and one more filled.
	held := (maxInFlight + 1) * 10
	h.send(0, 0, int64(held+1), int64(held))
	<-started
	require.Eventually(t, func() bool { return h.eng.count() == held }, 5*time.Second, time.Millisecond)
	// The last batch is full and the first is not stored yet: reading
	// waits, and nothing is committed.
	require.Never(t, func() bool { return h.eng.count() > held }, 100*time.Millisecond, 5*time.Millisecond)
	require.Empty(t, h.j.list())
	require.Equal(t, 1, h.store.writeAttempts())

	close(release)
	// Then everything is stored and committed in order, each commit after
	// its write; the last message, read at the high-water mark right after
	// a full batch, does not wait out the hour of BatchInterval.
	var want []string
	for off := 0; off < held; off += 10 {
		want = append(want, "write "+ids(0, int64(off), int64(off+10)), fmt.Sprintf("commit [p0=%d]", off+10))
	}
	want = append(want, "write "+ids(0, int64(held), int64(held+1)), fmt.Sprintf("commit [p0=%d]", held+1))
	require.Eventually(t, func() bool { return len(h.j.list()) == len(want) }, 5*time.Second, time.Millisecond)
	require.Equal(t, want, h.j.list())
	h.cancel()
	require.NoError(t, h.wait(t))
	require.Equal(t, want, h.j.list(), "nothing more on shutdown")
}

// stagedJournal is a journalStore in two stages, recording "prepare [ID…]"
// and "finish [ID…]". Each Finish says it started on finishing and waits
// for a release before it records.
type stagedJournal struct {
	*journalStore
	finishing chan string
	release   chan struct{}
}

func newStagedJournal() *stagedJournal {
	return &stagedJournal{finishing: make(chan string, 10), release: make(chan struct{}, 10)}
}

func (s *stagedJournal) Prepare(_ context.Context, b *engine.Batch) error {
	s.j.add("prepare %v", batchIDs(b))
	return nil
}

func (s *stagedJournal) Finish(ctx context.Context, b *engine.Batch) error {
	s.finishing <- fmt.Sprint(batchIDs(b))
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.j.add("finish %v", batchIDs(b))
	return nil
}

func batchIDs(b *engine.Batch) []string {
	ids := make([]string, len(b.Events))
	for i := range b.Events {
		ids[i] = b.Events[i].ID
	}
	return ids
}

// With a StagedStore, the first stage of a batch runs while the second
// stage of the batch before is still running, and the commits keep their
// order, each after its batch's second stage.
func TestConsumeStagedStoreOverlaps(t *testing.T) {
	st := newStagedJournal()
	h := startHarness(t, 1, Options{BatchSize: 10, Store: st})
	h.send(0, 0, 20, 19)
	require.Equal(t, ids(0, 0, 10), <-st.finishing)
	require.Eventually(t, func() bool { return len(h.j.list()) == 2 }, 5*time.Second, time.Millisecond)
	require.Equal(t, []string{"prepare " + ids(0, 0, 10), "prepare " + ids(0, 10, 20)}, h.j.list(),
		"the second batch's first stage while the first batch's second stage runs")
	require.Never(t, func() bool { return len(h.j.list()) > 2 }, 50*time.Millisecond, 5*time.Millisecond, "nothing committed meanwhile")

	st.release <- struct{}{}
	require.Equal(t, ids(0, 10, 20), <-st.finishing)
	st.release <- struct{}{}
	want := []string{
		"prepare " + ids(0, 0, 10), "prepare " + ids(0, 10, 20),
		"finish " + ids(0, 0, 10), "commit [p0=10]",
		"finish " + ids(0, 10, 20), "commit [p0=20]",
	}
	require.Eventually(t, func() bool { return len(h.j.list()) == len(want) }, 5*time.Second, time.Millisecond)
	require.Equal(t, want, h.j.list(), "the last batch committed without waiting for another")
	h.cancel()
	require.NoError(t, h.wait(t))
	require.Equal(t, want, h.j.list())
}

// The batch that ends a backlog, not full, goes to the flusher as a full
// one would: its first stage runs while the batch before it finishes,
// without waiting for the flusher to be idle.
func TestConsumeBacklogTailOverlaps(t *testing.T) {
	st := newStagedJournal()
	h := startHarness(t, 1, Options{BatchSize: 10, Store: st})
	h.send(0, 0, 25, 24)
	require.Equal(t, ids(0, 0, 10), <-st.finishing)
	st.release <- struct{}{}
	require.Equal(t, ids(0, 10, 20), <-st.finishing)
	// The second batch's second stage is held: the tail's first stage runs.
	require.Eventually(t, func() bool { return slices.Contains(h.j.list(), "prepare "+ids(0, 20, 25)) }, 5*time.Second, time.Millisecond)
	require.NotContains(t, h.j.list(), "finish "+ids(0, 10, 20))
	st.release <- struct{}{}
	require.Equal(t, ids(0, 20, 25), <-st.finishing)
	st.release <- struct{}{}
	require.Eventually(t, func() bool { return slices.Contains(h.j.list(), "commit [p0=25]") }, 5*time.Second, time.Millisecond)
	require.Equal(t, []string{
		"prepare " + ids(0, 0, 10), "prepare " + ids(0, 10, 20), "finish " + ids(0, 0, 10), "commit [p0=10]",
		"prepare " + ids(0, 20, 25), "finish " + ids(0, 10, 20), "commit [p0=20]", "finish " + ids(0, 20, 25), "commit [p0=25]",
	}, h.j.list())
}

// The end of a backlog goes in batches of about half of what is left, so
// that the last events read wait for the store of small batches, not of
// full ones. Each batch is sent on its own, once the one before is
// committed, as a fetcher would have read it.
func TestConsumeBacklogEndsInShrinkingBatches(t *testing.T) {
	const batchSize, last = 64, 639 // 640 messages behind
	h := startHarness(t, 1, Options{BatchSize: batchSize}, func(c *Consumer) { c.splitMin = 4 })
	want := []int{64, 64, 64, 64, 64, 64, 64, 64, 64, 32, 16, 8, 4, 4}
	from := int64(0)
	for i, size := range want {
		to := from + int64(size)
		h.send(0, from, to, last)
		commit := fmt.Sprintf("commit [p0=%d]", to)
		require.Eventually(t, func() bool { return slices.Contains(h.j.list(), commit) }, 5*time.Second, time.Millisecond,
			"batch %d: no %q; journal %v", i, commit, h.j.list())
		require.Equal(t, "write "+ids(0, from, to), h.j.list()[2*i], "batch %d", i)
		from = to
	}
	require.Equal(t, int64(last+1), from)
	require.Len(t, h.j.list(), 2*len(want))

	// Caught up, the next messages wait for the interval again, however
	// many were left just before.
	h.send(0, last+1, last+3, last+2)
	require.Never(t, func() bool { return len(h.j.list()) > 2*len(want) }, 50*time.Millisecond, 5*time.Millisecond,
		"a batch of messages read at the high-water mark after a backlog is not due")
	h.endGen()
	require.NoError(t, h.wait(t))
}

// A batch split off the end of a backlog is full: while the flusher has no
// room, reading waits rather than filling it further.
func TestConsumeSplitBatchWaitsForFlusher(t *testing.T) {
	st := newStagedJournal()
	h := startHarness(t, 1, Options{BatchSize: 10, Store: st}, func(c *Consumer) { c.splitMin = 2 })
	// 30 messages behind: two full batches (the second one also half of
	// what is left), then 5 and 3 (half of what is left), and the last 2,
	// which end the backlog. Each step: the batch whose second stage
	// starts, and how many messages are read meanwhile, with two batches
	// in flight and the next one full.
	h.send(0, 0, 30, 29)
	for i, step := range []struct {
		finishing string
		read      int
	}{
		{ids(0, 0, 10), 25}, {ids(0, 10, 20), 28}, {ids(0, 20, 25), 30}, {ids(0, 25, 28), 30}, {ids(0, 28, 30), 30},
	} {
		select {
		case b := <-st.finishing:
			require.Equal(t, step.finishing, b, "step %d", i)
		case <-time.After(5 * time.Second):
			t.Fatalf("step %d: no batch's second stage started; journal %v", i, h.j.list())
		}
		require.Eventually(t, func() bool { return h.eng.count() == step.read }, 5*time.Second, time.Millisecond, "step %d", i)
		require.Never(t, func() bool { return h.eng.count() > step.read }, 50*time.Millisecond, 5*time.Millisecond,
			"step %d: reading waits", i)
		st.release <- struct{}{}
	}
	require.Eventually(t, func() bool { return slices.Contains(h.j.list(), "commit [p0=30]") }, 5*time.Second, time.Millisecond)
}

// A backlog that does not shrink (a stream about as fast as the consumer)
// is split at most once more per halving of what is left, not into a run
// of small batches.
func TestConsumeSplitsOnlyAShrinkingBacklog(t *testing.T) {
	h := startHarness(t, 1, Options{BatchSize: 64}, func(c *Consumer) { c.splitMin = 4 })
	// A full batch of a long backlog.
	h.send(0, 0, 64, 1000)
	require.Eventually(t, func() bool { return slices.Contains(h.j.list(), "commit [p0=64]") }, 5*time.Second, time.Millisecond)
	// Then the stream keeps 10 messages behind: a split at 10, and none
	// after it, as the backlog stays at 10.
	from := int64(64)
	for range 4 {
		h.send(0, from, from+10, from+19)
		from += 10
	}
	require.Eventually(t, func() bool { return h.eng.count() == int(from) }, 5*time.Second, time.Millisecond)
	require.Never(t, func() bool { return len(h.j.list()) > 4 }, 50*time.Millisecond, 5*time.Millisecond,
		"one split, then the batch fills up again")
	require.Equal(t, []string{"write " + ids(0, 0, 64), "commit [p0=64]", "write " + ids(0, 64, 74), "commit [p0=74]"}, h.j.list())
}

func TestConsumeRetriesWithoutReordering(t *testing.T) {
	h := startHarness(t, 2, Options{BatchSize: 6})
	h.store.before = func(_ context.Context, attempt int) error {
		if attempt <= 2 {
			return errors.New("clickhouse: connection refused")
		}
		return nil
	}
	// Two partitions, interleaved: the first batch fails twice while the
	// next ones are read.
	for off := range int64(9) {
		h.send(0, off, off+1, 8)
		h.send(1, off, off+1, 8)
	}
	want := []string{
		"write [p0-0 p1-0 p0-1 p1-1 p0-2 p1-2]", "commit [p0=3 p1=3]",
		"write [p0-3 p1-3 p0-4 p1-4 p0-5 p1-5]", "commit [p0=6 p1=6]",
		"write [p0-6 p1-6 p0-7 p1-7 p0-8 p1-8]", "commit [p0=9 p1=9]",
	}
	require.Eventually(t, func() bool { return len(h.j.list()) == len(want) }, 5*time.Second, time.Millisecond)
	require.Equal(t, want, h.j.list())
	require.Equal(t, 5, h.store.writeAttempts())

	h.cancel()
	require.NoError(t, h.wait(t))
}

func TestConsumeShutdown(t *testing.T) {
	tests := []struct {
		name string
		// inFlightDone makes the write in flight when Run's context is
		// cancelled succeed right then, within the shutdown timeout;
		// otherwise it outlasts the timeout. Later writes succeed.
		inFlightDone bool
		wantErr      string
		want         []string
	}{
		{
			name: "what is in flight and pending is stored and committed", inFlightDone: true,
			want: []string{"write " + ids(0, 0, 4), "commit [p0=4]", "write " + ids(0, 4, 6), "commit [p0=6]"},
		},
		{
			name:    "write outlasts the shutdown timeout: nothing committed, the later batch not even written",
			wantErr: "6 messages and 6 records not stored",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := startHarness(t, 1, Options{BatchSize: 4, ShutdownTimeout: 300 * time.Millisecond})
			writing := make(chan struct{}, 10)
			h.store.before = func(ctx context.Context, attempt int) error {
				if attempt > 1 {
					return nil
				}
				writing <- struct{}{}
				<-h.runCtx.Done()
				if !tc.inFlightDone {
					<-ctx.Done()
					return context.Cause(ctx)
				}
				return nil
			}
			// A full batch goes to the store; two more messages wait in
			// the next, which is not due for an hour.
			h.send(0, 0, 6, 100)
			<-writing
			require.Eventually(t, func() bool { return h.eng.count() == 6 }, 5*time.Second, time.Millisecond)
			h.cancel()
			err := h.wait(t)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.want, h.j.list())
		})
	}
}

func TestConsumeFlushesAtGenerationEnd(t *testing.T) {
	h := startHarness(t, 2, Options{BatchSize: 100})
	h.send(0, 0, 3, 10)
	h.send(1, 0, 2, 10)
	require.Eventually(t, func() bool { return h.eng.count() == 5 }, 5*time.Second, time.Millisecond)
	require.Empty(t, h.j.list(), "the batch is neither full nor due")
	h.endGen()
	require.NoError(t, h.wait(t))
	require.Equal(t, []string{"write [p0-0 p0-1 p0-2 p1-0 p1-1]", "commit [p0=3 p1=2]"}, h.j.list())
}

func TestConsumeStopsOnDecoderFailure(t *testing.T) {
	h := startHarness(t, 1, Options{BatchSize: 100})
	h.send(0, 0, 2, 5)
	h.sendOne(decoded{msg: kafka.Message{Topic: testTopic, Partition: 0, Offset: 2, HighWaterMark: 6},
		err: errors.New("no identity key"), lag: 3})
	h.send(0, 3, 6, 5)
	err := h.wait(t)
	require.ErrorContains(t, err, "decode message at campus.canteen/0 offset 2: no identity key")
	require.Equal(t, []string{"write [p0-0 p0-1]", "commit [p0=2]"}, h.j.list(), "the failed message and those after it stay uncommitted")
}

func TestConsumeWaitsForIntervalWithoutBacklog(t *testing.T) {
	// Messages read at the high-water mark, with no full batch before:
	// the batch waits for BatchInterval, not for each message.
	h := startHarness(t, 1, Options{BatchSize: 100, BatchInterval: 200 * time.Millisecond})
	start := time.Now()
	for off := range int64(3) {
		h.send(0, off, off+1, off)
	}
	require.Eventually(t, func() bool { return len(h.j.list()) == 2 }, 5*time.Second, time.Millisecond)
	require.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
	require.Equal(t, []string{"write " + ids(0, 0, 3), "commit [p0=3]"}, h.j.list())
}

func TestGraceContext(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	ctx, stop := graceContext(parent, 50*time.Millisecond)
	defer stop()
	cancel()
	require.NoError(t, ctx.Err(), "still usable right after the parent is cancelled")
	require.Eventually(t, func() bool { return ctx.Err() != nil }, 5*time.Second, time.Millisecond)
	require.ErrorIs(t, context.Cause(ctx), context.DeadlineExceeded)

	ctx, stop = graceContext(context.Background(), time.Hour)
	stop()
	require.ErrorIs(t, ctx.Err(), context.Canceled)
}

// A rebalance that gives the consumer a partition again from an offset it
// has handled (its commit was lost) delivers those messages again: they are
// skipped as duplicates before the engine, which here, new, would apply them
// again, however many there are.
func TestConsumeSkipsMessagesHandledInAnEarlierGeneration(t *testing.T) {
	h := startHarness(t, 1, Options{BatchSize: 100})
	h.send(0, 0, 4, 3)
	require.Eventually(t, func() bool { return h.eng.count() == 4 }, 5*time.Second, time.Millisecond)
	h.endGen()
	require.NoError(t, h.wait(t))

	eng := &orderEngine{}
	h.c.opts.Engine = eng
	q := testQueue()
	done := make(chan error, 1)
	go func() { done <- h.c.consume(h.runCtx, h.runCtx, journalGen{h.j}, 1, q) }()
	h.q = q
	h.send(0, 1, 6, 5)
	require.Eventually(t, func() bool { return eng.count() == 2 }, 5*time.Second, time.Millisecond)
	h.cancel()
	require.NoError(t, <-done)
	require.Equal(t, []engine.Origin{{Topic: testTopic, Partition: 0, Offset: 4}, {Topic: testTopic, Partition: 0, Offset: 5}}, eng.applied)
	require.Equal(t, []string{"write " + ids(0, 0, 4), "commit [p0=4]", "write " + ids(0, 4, 6), "commit [p0=6]"}, h.j.list())
}

// Chunks are cut where a batch fills up and where drainMax is reached: the
// rest of a chunk is handled first in the next turn, and every partition's
// messages are applied, written and committed in the order read.
func TestConsumeKeepsPartitionOrderAcrossChunks(t *testing.T) {
	tests := []struct {
		name      string
		batchSize int
	}{
		{name: "batches end within chunks", batchSize: 70},
		{name: "turns end within chunks at drainMax", batchSize: 5000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := startHarness(t, 2, Options{BatchSize: tc.batchSize})
			const n = 1000
			// Both partitions behind up to n-1, sent in runs of 100
			// (a full chunk and a partial one), alternately.
			for from := int64(0); from < n; from += 100 {
				h.send(0, from, from+100, n-1)
				h.send(1, from, from+100, n-1)
			}
			require.Eventually(t, func() bool { return h.eng.count() == 2*n }, 5*time.Second, time.Millisecond)
			h.endGen()
			require.NoError(t, h.wait(t))

			next := map[int]int64{}
			h.eng.mu.Lock()
			for _, o := range h.eng.applied {
				require.Equal(t, next[o.Partition], o.Offset, "applied out of order in partition %d", o.Partition)
				next[o.Partition] = o.Offset + 1
			}
			h.eng.mu.Unlock()
			require.Equal(t, map[int]int64{0: n, 1: n}, next)

			var written []string
			commits := 0
			committed := map[string]bool{}
			for _, e := range h.j.list() {
				if ids, ok := strings.CutPrefix(e, "write "); ok {
					written = append(written, strings.Fields(strings.Trim(ids, "[]"))...)
					continue
				}
				commits++
				for _, c := range strings.Fields(strings.Trim(strings.TrimPrefix(e, "commit "), "[]")) {
					committed[c] = true
				}
			}
			require.Len(t, written, 2*n)
			for p := range 2 {
				var got []string
				for _, id := range written {
					if strings.HasPrefix(id, fmt.Sprintf("p%d-", p)) {
						got = append(got, id)
					}
				}
				require.Equal(t, ids(p, 0, n), fmt.Sprint(got), "written in the order read")
			}
			require.True(t, committed[fmt.Sprintf("p0=%d", n)] && committed[fmt.Sprintf("p1=%d", n)], "everything committed: %v", committed)
			if tc.batchSize < 2*n {
				require.Equal(t, (2*n+tc.batchSize-1)/tc.batchSize, commits, "batches of BatchSize")
			}
		})
	}
}
