package ingest

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/sanse-campus/sanse/engine"
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

// defaultChunkWait bounds how long a chunk waits for its partition's next
// message. A message read behind the high-water mark is normally followed
// at once, from the same fetch or the next; the bound is for a next fetch
// that is slow or fails (a broker going away, a high-water mark that went
// back), so that what was read is applied meanwhile.
const defaultChunkWait = 5 * time.Millisecond

// decoded is a message as the fetcher of its partition hands it to the
// consuming goroutine: decoded into ev, or rejected or failed with err.
type decoded struct {
	msg kafka.Message
	ev  engine.Event
	err error
	// fetcher numbers the partition's fetcher within the generation, from 0.
	fetcher int
	// behind is set when the partition held later messages as this one was
	// read; lag is how many.
	behind bool
	lag    int64
}

// chunk is a run of decoded messages of one partition, in the order read.
// Every message but the last was read behind the partition's high-water
// mark: a fetcher hands a chunk over as soon as a message is read at the
// high-water mark, when it holds chunkMax messages, when the consuming
// goroutine has no other chunk waiting (it would idle while the chunk
// fills), or when the next message is not there within the consumer's
// chunkWait.
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
// message and sends it to q in chunks until gctx is done or reading
// fails, which ends the generation. fetcher numbers the partition within
// the generation. A chunk not sent when the generation ends is dropped: its
// messages are not committed, and are read again.
func (c *Consumer) fetch(gctx context.Context, topic string, a kafka.PartitionAssignment, fetcher int, q *queue) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:         c.opts.Brokers,
		Topic:           topic,
		Partition:       a.ID,
		MinBytes:        1,
		MaxBytes:        16 << 20,
		MaxWait:         500 * time.Millisecond,
		ReadLagInterval: -1,
		Dialer:          c.dialer,
		Logger:          kafkaLogger(c.logger, slog.LevelDebug, nil),
		// While a broker is away every reader reports every retry.
		ErrorLogger: kafkaLogger(c.logger, slog.LevelWarn, c.readErrors),
	})
	// Closing a reader waits for its fetch in flight, up to MaxWait; the
	// generation, and with it a rebalance, does not wait for that.
	defer c.closing.Go(func() { r.Close() })
	if err := r.SetOffset(a.Offset); err != nil {
		c.logger.Warn("set read offset", "topic", topic, "partition", a.ID, "offset", a.Offset, "err", err)
		return
	}
	src := c.sources[topic]
	// The generation's context is kafka-go's own type: a context derived
	// from it directly costs a goroutine each. Derived from fctx, the
	// waits of the chunks cost none.
	fctx, stop := context.WithCancel(gctx)
	defer stop()
	var (
		ch *chunk
		// wctx ends chunkWait after the first message of ch was read;
		// nil while ch is empty.
		wctx       context.Context
		cancelWait context.CancelFunc = func() {}
	)
	defer func() { cancelWait() }()
	send := func() bool {
		cancelWait()
		wctx = nil
		select {
		case q.chunks <- ch:
			ch = nil
			return true
		case <-gctx.Done():
			return false
		}
	}
	for {
		rctx := fctx
		if wctx != nil {
			rctx = wctx
		}
		m, err := r.FetchMessage(rctx)
		if err != nil {
			if wctx != nil && wctx.Err() != nil && gctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				// The next message is not there yet: what is read goes
				// now, and reading goes on.
				if !send() {
					return
				}
				continue
			}
			if gctx.Err() == nil {
				c.logger.Warn("read partition", "topic", topic, "partition", a.ID, "err", err)
			}
			return
		}
		if ch == nil {
			ch = q.get()
		}
		// Each message is decoded in place in the chunk, into a zero
		// event: nothing of an earlier message is left for the decoder.
		lag := max(m.HighWaterMark-m.Offset-1, 0)
		ch.msgs = append(ch.msgs, decoded{msg: m, fetcher: fetcher, behind: lag > 0, lag: lag})
		d := &ch.msgs[len(ch.msgs)-1]
		// The decoder is safe for concurrent use: messages are decoded
		// here, one goroutine per partition, in parallel.
		d.err = c.opts.Decoder.Decode(src, m.Value, &d.ev)
		if d.behind && len(ch.msgs) < chunkMax && len(q.chunks) > 0 {
			// More messages are there already, and the consuming
			// goroutine has chunks to handle meanwhile: they join the
			// chunk.
			if wctx == nil {
				var cancel context.CancelFunc
				wctx, cancel = context.WithTimeout(fctx, c.chunkWait)
				cancelWait = cancel // by send, or on return
			}
			continue
		}
		// The last message known, a full chunk, or a consuming goroutine
		// with nothing else to handle: no wait.
		if !send() {
			return
		}
	}
}
