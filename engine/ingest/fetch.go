package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/retry"
)

// chunkMax is the most decoded messages a fetcher hands to the consuming
// goroutine at once. A message goes over the channel in a chunk of its
// partition's messages read behind the high-water mark while the consuming
// goroutine is busy, so that a backlog costs a channel operation per
// chunkMax messages instead of one per message.
const chunkMax = 64

// fetchQueue is about how many decoded messages the fetchers of a
// generation may hold ready for the consuming goroutine: the channel holds
// fetchQueue/chunkMax chunks. Each fetcher also fills a chunk of its own.
const fetchQueue = 1024

// A fetcher's fetches: each waits up to fetchMaxWait for a first byte
// and brings up to fetchMaxBytes; reading the messages of one may take up
// to fetchReadTimeout.
const (
	fetchMaxWait     = 500 * time.Millisecond
	fetchMaxBytes    = 16 << 20
	fetchReadTimeout = 10 * time.Second
)

// fetchBackoff is the wait between attempts to reach a partition's leader,
// and between fetches that failed.
var fetchBackoff = retry.Backoff{Initial: 100 * time.Millisecond, Max: time.Second}

// decoded is a message as the fetcher of its partition hands it to the
// consuming goroutine: decoded into ev, or rejected or failed with err.
type decoded struct {
	msg kafka.Message
	ev  engine.Event
	err error
	// fetcher numbers the partition's fetcher within the generation, from 0.
	fetcher int
	// lag is how many later messages the partition held as this one was
	// read: above 0, it was read behind the high-water mark.
	lag int64
}

// chunk is a run of decoded messages of one partition, in the order read.
// Every message but the last was read behind the partition's high-water
// mark: a fetcher hands a chunk over as soon as a message is read at the
// high-water mark, when it holds chunkMax messages, when the consuming
// goroutine has no other chunk waiting (it would idle while the chunk
// fills), and at the end of each fetch.
type chunk struct {
	msgs []decoded
}

// queue carries the chunks of a generation's fetchers to the consuming
// goroutine, and the chunks it handled back to be filled again, so that a
// generation allocates its chunks once rather than one per chunkMax
// messages.
type queue struct {
	// chunks holds the chunks ready to handle; a partition's in the order
	// read.
	chunks chan *chunk
	// free holds handled chunks. It has room for every chunk there can
	// be: one filling per fetcher, those in chunks, one being handled.
	free chan *chunk
}

func newQueue(fetchers int) *queue {
	n := fetchQueue / chunkMax
	return &queue{chunks: make(chan *chunk, n), free: make(chan *chunk, n+fetchers+1)}
}

// get returns an empty chunk.
func (q *queue) get() *chunk {
	select {
	case ch := <-q.free:
		return ch
	default:
		return &chunk{msgs: make([]decoded, 0, chunkMax)}
	}
}

// recycle clears ch and keeps it to be filled again. What handle keeps of
// a message, it copied (the event) or rebuilt (a dead letter), and the
// payloads belong to kafka-go's message, not to ch: cleared, ch holds on to
// none of them, and it is filled again with new messages only.
func (q *queue) recycle(ch *chunk) {
	clear(ch.msgs)
	ch.msgs = ch.msgs[:0]
	select {
	case q.free <- ch:
	default:
	}
}

// fetch reads one partition from the offset of its assignment, decodes each
// message and sends them to q in chunks, until gctx is done or the
// partition's leader answers with an error that is not retried, which ends
// the generation. fetcher numbers the partition within the generation. A
// chunk not sent when the generation ends is dropped: its messages are not
// committed, and are read again.
//
// It fetches from the partition's leader itself, on a kafka-go Conn, as
// kafka-go's Reader does, and retries the same failures the same way (a
// broker away, a leader moved, an offset out of range); but the messages of
// a fetch are decoded and chunked where they are read, without a goroutine
// and a channel operation per message in between.
func (c *Consumer) fetch(gctx context.Context, topic string, a kafka.PartitionAssignment, fetcher int, q *queue) {
	p := &partitionFetch{c: c, topic: topic, partition: a.ID, offset: a.Offset, fetcher: fetcher, src: c.sources[topic], q: q}
	// A fetch waits up to fetchMaxWait for messages: the end of the
	// generation closes its connection rather than wait.
	stop := context.AfterFunc(gctx, p.abort)
	defer stop()
	defer p.setConn(nil)
	for attempt := 0; ; attempt++ {
		if attempt > 0 && !sleep(gctx, fetchBackoff.Delay(attempt)) {
			return
		}
		conn, err := p.dial(gctx)
		if err != nil {
			if gctx.Err() != nil {
				return
			}
			p.warn("reach the partition's leader", err)
			continue
		}
		// Recorded before anything is read from it: the end of the
		// generation closes it from here on.
		if !p.setConn(conn) {
			return // the generation ended meanwhile
		}
		if err := p.seek(conn); err != nil {
			p.setConn(nil)
			if gctx.Err() != nil {
				return
			}
			p.warn("find the offset to read from", err)
			continue
		}
		attempt = 0
		err = p.read(gctx, conn)
		p.setConn(nil)
		switch {
		case gctx.Err() != nil:
			return
		case err == nil:
		case isFatalFetch(err):
			c.logger.Warn("read partition", "topic", topic, "partition", a.ID, "offset", p.offset, "err", err)
			return
		default:
			p.warn("read from the partition's leader", err)
		}
	}
}

// partitionFetch is the state of one fetcher.
type partitionFetch struct {
	c         *Consumer
	topic     string
	partition int
	fetcher   int
	src       engine.Source
	q         *queue
	// offset is the next offset to read: the assignment's (which may be
	// kafka.FirstOffset) until the first connection resolves it.
	offset int64
	// ch is the chunk being filled, nil when none.
	ch *chunk

	mu      sync.Mutex
	conn    *kafka.Conn // being read, or nil
	aborted bool        // the generation ended
}

// setConn records conn as the connection being read, closing the one
// before, and reports whether the generation is still on; when it is not,
// conn is closed too.
func (p *partitionFetch) setConn(conn *kafka.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn != nil {
		p.conn.Close()
	}
	p.conn = conn
	if p.aborted && conn != nil {
		conn.Close()
		p.conn = nil
		return false
	}
	return true
}

// abort ends a fetch in progress: it closes the connection being read.
func (p *partitionFetch) abort() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.aborted = true
	if p.conn != nil {
		p.conn.Close()
		p.conn = nil
	}
}

// dial connects to the partition's leader, trying each broker in turn.
func (p *partitionFetch) dial(ctx context.Context) (*kafka.Conn, error) {
	var errs []error
	for _, broker := range p.c.opts.Brokers {
		conn, err := p.c.dialer.DialLeader(ctx, "tcp", broker, p.topic, p.partition)
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// seek positions conn at p.offset, moved up to the partition's first
// offset when it is kafka.FirstOffset or before it (the messages before
// are gone), to the partition's end when it is kafka.LastOffset. An offset
// past the partition's end (its log cut back, by an unclean leader
// election) fails, and is tried again until the partition reaches it.
//
// The messages found gone are counted once per time they are found: a
// partition whose consumer group commits nothing past them (no message
// after them, or a rebalance first) counts them again.
func (p *partitionFetch) seek(conn *kafka.Conn) error {
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	first, last, err := conn.ReadOffsets()
	if err != nil {
		return fmt.Errorf("read the partition's offsets: %w", err)
	}
	if p.offset == kafka.LastOffset {
		p.offset = last
	}
	if p.offset > last {
		return fmt.Errorf("offset %d is past the partition's end (%d): waiting for the partition to reach it", p.offset, last)
	}
	if p.offset < first {
		if p.offset >= 0 {
			p.c.metrics.expired.WithLabelValues(p.topic).Add(float64(first - p.offset))
			p.c.logger.Warn("messages gone from the partition before they were read (retention): reading on from the first one held",
				"topic", p.topic, "partition", p.partition, "offset", p.offset, "first", first, "skipped", first-p.offset)
		}
		p.offset = first
	}
	if _, err := conn.Seek(p.offset, kafka.SeekAbsolute); err != nil {
		return fmt.Errorf("seek to offset %d: %w", p.offset, err)
	}
	return conn.SetDeadline(time.Time{})
}

// read fetches from conn until a fetch fails: it returns nil when the
// connection should be made again (the leader moved, the connection broke
// or, with the generation's end, was closed), or the error.
func (p *partitionFetch) read(gctx context.Context, conn *kafka.Conn) error {
	failures := 0
	for {
		if failures > 0 && !sleep(gctx, fetchBackoff.Delay(failures)) {
			return nil
		}
		err := p.fetchOnce(gctx, conn)
		switch {
		case err == nil || errors.Is(err, kafka.RequestTimedOut):
			failures = 0
		case errors.Is(err, kafka.OffsetOutOfRange):
			// Gone by retention (read on from the first offset held, at
			// once) or past the end (tried again on a new connection).
			if err := p.seek(conn); err != nil {
				return err
			}
			failures = 0
		case errors.Is(err, kafka.NotLeaderForPartition), errors.Is(err, kafka.UnknownTopicOrPartition),
			errors.Is(err, io.ErrNoProgress), errors.Is(err, context.Canceled):
			return nil
		default:
			return err
		}
	}
}

// fetchOnce makes one fetch and hands its messages over. It returns nil
// when the fetch ended normally, however many messages it brought. The
// read deadline runs from each hand-over, which may wait for a while (a
// full batch waits for the store), so that only a broker that stops
// sending fails a fetch.
func (p *partitionFetch) fetchOnce(gctx context.Context, conn *kafka.Conn) error {
	_ = conn.SetReadDeadline(time.Now().Add(fetchMaxWait + p.c.fetchReadTimeout))
	batch := conn.ReadBatchWith(kafka.ReadBatchConfig{MinBytes: 1, MaxBytes: fetchMaxBytes, MaxWait: fetchMaxWait})
	hwm := batch.HighWaterMark()
	var err error
	for {
		var m kafka.Message
		if m, err = batch.ReadMessage(); err != nil {
			break
		}
		if p.ch == nil {
			p.ch = p.q.get()
		}
		lag := max(hwm-m.Offset-1, 0)
		p.ch.msgs = append(p.ch.msgs, decoded{msg: m, fetcher: p.fetcher, lag: lag})
		d := &p.ch.msgs[len(p.ch.msgs)-1]
		// Each message is decoded in place in the chunk, into a zero
		// event: nothing of an earlier message is left for the decoder.
		// The decoder is safe for concurrent use: messages are decoded
		// here, one goroutine per partition, in parallel.
		d.err = p.c.opts.Decoder.Decode(p.src, m.Value, &d.ev)
		p.offset = m.Offset + 1
		if lag > 0 && len(p.ch.msgs) < chunkMax && len(p.q.chunks) > 0 {
			// More messages are there already, and the consuming
			// goroutine has chunks to handle meanwhile: they join the
			// chunk.
			continue
		}
		// The last message known, a full chunk, or a consuming goroutine
		// with nothing else to handle: no wait.
		if !p.send(gctx) {
			_ = batch.Close()
			return context.Canceled
		}
		_ = conn.SetReadDeadline(time.Now().Add(p.c.fetchReadTimeout))
	}
	closeErr := batch.Close()
	// What the fetch brought goes now; the next fetch may take a while.
	if p.ch != nil && !p.send(gctx) {
		return context.Canceled
	}
	if errors.Is(err, io.EOF) {
		err = closeErr
	}
	return err
}

// send hands the chunk being filled to the consuming goroutine and reports
// whether it went: it does not when the generation ended meanwhile.
func (p *partitionFetch) send(gctx context.Context) bool {
	select {
	case p.q.chunks <- p.ch:
		p.ch = nil
		return true
	case <-gctx.Done():
		return false
	}
}

// warn says, throttled, that reading the partition failed and is tried
// again.
func (p *partitionFetch) warn(what string, err error) {
	if ok, suppressed := p.c.readErrors.Allow(time.Now()); ok {
		p.c.logger.Warn("could not "+what+"; trying again", "topic", p.topic, "partition", p.partition,
			"offset", p.offset, "suppressed", suppressed, "err", err)
	}
}

// isFatalFetch reports whether err, from a fetch, ends the generation
// rather than being tried again: a Kafka error that is not temporary (the
// group is joined again; see runGroup).
func isFatalFetch(err error) bool {
	var ke kafka.Error
	return errors.As(err, &ke) && !ke.Temporary()
}
