package ingest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/retry"
)

// maxInFlight is how many batches may be handed to the flusher and not yet
// flushed while the consuming goroutine fills the next one; when this many
// are in flight and the next one is full, reading waits until a flush
// completes. The flusher commits them in order. With a StagedStore, the
// first stage of one batch runs while the second stage of the one before
// runs; with any other Store, batches are written one at a time and the
// second waits its turn.
const maxInFlight = 2

// StagedStore is a Store whose write of a batch comes in two stages, the
// first of which may run while the second stage of the batch before runs:
// Sanse's writer stores a batch's effects (risk transitions, colour
// changes) first, then its events while its subscribers take it; the
// effects of the next batch need not wait for that. Write is Prepare, then
// Finish.
type StagedStore interface {
	Store
	// Prepare stores what b's Finish needs stored first. It may run while
	// Finish of an earlier batch runs.
	Prepare(ctx context.Context, b *engine.Batch) error
	// Finish stores the rest of b, after its Prepare succeeded. Finish
	// calls come one at a time, in the order of the batches.
	Finish(ctx context.Context, b *engine.Batch) error
}

// pending is one batch: the events read, what they caused, the messages
// rejected to the dead-letter topic, and the offsets to commit once all of
// it is durable.
type pending struct {
	batch    engine.Batch
	dead     []kafka.Message
	offsets  offsets
	messages int
	// lost is set by the flusher on a batch it returns without having
	// flushed it.
	lost bool
}

func newPending() *pending { return &pending{offsets: offsets{}} }

// empty reports whether p holds nothing to flush or commit.
func (p *pending) empty() bool { return p.messages == 0 && p.batch.Len() == 0 }

// full reports whether p has reached size messages or records.
func (p *pending) full(size int) bool { return p.messages >= size || p.batch.Len() >= size }

func (p *pending) reset() {
	p.batch.Reset()
	clear(p.dead)
	p.dead = p.dead[:0]
	clear(p.offsets)
	p.messages = 0
}

// flusher makes the batches of one generation durable and commits their
// offsets, one batch at a time, in the order they were handed over, on a
// goroutine of its own, so that the consuming goroutine reads, decodes and
// applies the next batch meanwhile.
//
// A batch's offsets are committed only after its dead letters are
// acknowledged and its records are stored; a failed write is retried until
// it succeeds or ctx is done. After a failure, no later batch is written or
// committed: committing a later offset of a partition would commit the
// failed batch's messages too.
type flusher struct {
	c   *Consumer
	gen committer
	ctx context.Context // of the writes: done ShutdownTimeout after Run's
	// queue carries batches to the flusher; flushed carries them back,
	// flushed or, after a failure, not. Neither send ever blocks: at most
	// maxInFlight+1 batches exist.
	queue   chan *pending
	flushed chan *pending
	done    chan struct{} // closed when run returns

	// Owned by the consuming goroutine.
	inFlight int
	spare    []*pending

	// Owned by run until done is closed.
	uncommitted offsets // stored, not yet committed in this generation
	err         error   // the first failed flush
	lostMsgs    int     // messages of the batches not flushed
	lostRecords int     // records of the batches not flushed
}

// startFlusher starts the flusher of generation gen. Its writes run on a
// context that ends ShutdownTimeout after ctx is cancelled, which bounds the
// flush of what is pending on shutdown; stop waits for run to return.
func (c *Consumer) startFlusher(ctx context.Context, gen committer) (f *flusher, stop func()) {
	wctx, cancel := graceContext(ctx, c.opts.ShutdownTimeout)
	f = &flusher{
		c:           c,
		gen:         gen,
		ctx:         wctx,
		queue:       make(chan *pending, maxInFlight+1),
		flushed:     make(chan *pending, maxInFlight+1),
		done:        make(chan struct{}),
		uncommitted: offsets{},
	}
	go f.run()
	return f, func() {
		close(f.queue)
		<-f.done
		cancel()
	}
}

func (f *flusher) run() {
	defer close(f.done)
	staged, _ := f.c.opts.Store.(StagedStore)
	// finishing is the batch whose second stage runs, its outcome to come
	// on finished; started is when its flush started.
	var (
		finishing *pending
		started   time.Time
		finished  = make(chan error, 1)
	)
	// settle commits the batch whose second stage ended with err, unless
	// the flusher has failed, and hands it back.
	settle := func(err error) {
		if err != nil && f.err == nil {
			f.err = err
		}
		if f.err == nil {
			f.commitFlushed(finishing, started)
		}
		f.release(finishing)
		finishing = nil
	}
	queue := f.queue
	for queue != nil || finishing != nil {
		var fin <-chan error
		if finishing != nil {
			fin = finished
		}
		var p *pending
		select {
		case err := <-fin:
			settle(err)
			continue
		case next, ok := <-queue:
			if !ok {
				queue = nil
				continue
			}
			p = next
		}
		if f.err != nil || p.empty() {
			f.release(p)
			continue
		}
		start := time.Now()
		if staged == nil {
			if f.err = f.flush(p, f.c.opts.Store.Write); f.err == nil {
				f.commitFlushed(p, start)
			}
			f.release(p)
			continue
		}
		// The first stage of p while the second of the batch before runs;
		// then p's commit waits for that batch's.
		err := f.flush(p, staged.Prepare)
		if finishing != nil {
			settle(<-finished)
		}
		if err != nil && f.err == nil {
			f.err = err
		}
		switch {
		case f.err != nil:
			f.release(p)
		case p.batch.Len() == 0:
			// Dead letters or repeats only: nothing to finish.
			f.commitFlushed(p, start)
			f.release(p)
		default:
			finishing, started = p, start
			go func() {
				finished <- f.c.retry(f.ctx, targetStore, func(ctx context.Context) error { return staged.Finish(ctx, &p.batch) })
			}()
		}
	}
}

// release hands p back to the consuming goroutine, flushed unless the
// flusher has failed.
func (f *flusher) release(p *pending) {
	if f.err != nil {
		f.lostMsgs += p.messages
		f.lostRecords += p.batch.Len()
	}
	p.reset()
	p.lost = f.err != nil
	f.flushed <- p
}

// next returns an empty batch, reusing a flushed one.
func (f *flusher) next() *pending {
	if n := len(f.spare); n > 0 {
		p := f.spare[n-1]
		f.spare = f.spare[:n-1]
		return p
	}
	return newPending()
}

// handOff passes p to the flusher, which must have room for it: fewer than
// maxInFlight+1 batches in flight. The caller must not touch p again.
func (f *flusher) handOff(p *pending) {
	f.inFlight++
	f.queue <- p
}

// returned takes back a batch the flusher is done with and reports
// whether it was flushed.
func (f *flusher) returned(p *pending) bool {
	f.inFlight--
	lost := p.lost
	p.lost = false
	f.spare = append(f.spare, p)
	return !lost
}

// flush writes p's dead letters, then has write store p's records,
// retrying each until it succeeds. It returns an error only when the
// flusher's context is done before both succeeded; nothing of p is
// committed then.
func (f *flusher) flush(p *pending, write func(context.Context, *engine.Batch) error) error {
	c := f.c
	if f.ctx.Err() != nil {
		return context.Cause(f.ctx)
	}
	if err := c.writeDeadLetters(f.ctx, p); err != nil {
		return err
	}
	if p.batch.Len() == 0 {
		return nil
	}
	return c.retry(f.ctx, targetStore, func(ctx context.Context) error { return write(ctx, &p.batch) })
}

// commitFlushed commits the offsets of p, whose flush started at start and
// has stored everything of it, and counts the flush.
func (f *flusher) commitFlushed(p *pending, start time.Time) {
	if n := p.batch.Len(); n > 0 {
		f.c.metrics.batchRecords.Observe(float64(n))
	}
	f.commit(p.offsets)
	f.c.metrics.flushDuration.Observe(time.Since(start).Seconds())
	f.c.metrics.lastFlush.SetToCurrentTime()
}

// commit commits the offsets of a flushed batch, with any left over from a
// failed commit earlier in the generation. A failed commit is counted and
// retried with the next one; if the generation ends first, the messages are
// read again.
func (f *flusher) commit(next offsets) {
	for topic, ps := range next {
		for p, off := range ps {
			f.uncommitted.advance(topic, p, off)
		}
	}
	if len(f.uncommitted) == 0 {
		return
	}
	if err := f.gen.CommitOffsets(f.uncommitted); err != nil {
		f.c.metrics.commitErrors.Inc()
		f.c.logger.Warn("commit offsets", "group", f.c.opts.GroupID, "err", err)
		return
	}
	clear(f.uncommitted)
}

// result returns, once stop has returned, the error of the failed flush
// with what it left unstored, or nil.
func (f *flusher) result() error {
	if f.err == nil {
		return nil
	}
	return fmt.Errorf("ingest: flush on shutdown: %d messages and %d records not stored, their messages stay uncommitted: %w",
		f.lostMsgs, f.lostRecords, f.err)
}

// retry calls fn until it succeeds or ctx is done, waiting longer after
// each failure.
func (c *Consumer) retry(ctx context.Context, target string, fn func(context.Context) error) error {
	return retry.Do(ctx, writeBackoff, fn, func(attempt int, wait time.Duration, err error) {
		c.metrics.writeErrors.WithLabelValues(target).Inc()
		if ok, suppressed := c.writeErrors.Allow(time.Now()); ok {
			c.logger.Warn("write failed, retrying", "target", target, "attempt", attempt, "retry_in", wait, "suppressed", suppressed, "err", err)
		}
	})
}

// graceContext returns a context with the values of ctx that is done grace
// after ctx is done, with context.DeadlineExceeded as its cause, or when
// cancel is called.
func graceContext(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	wctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	var (
		mu      sync.Mutex
		expired *time.Timer
	)
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		expired = time.AfterFunc(grace, func() { cancel(context.DeadlineExceeded) })
	})
	return wctx, func() {
		stop()
		mu.Lock()
		if expired != nil {
			expired.Stop()
		}
		mu.Unlock()
		cancel(context.Canceled)
	}
}
