package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/testlog"
)

// fetchHarness runs fetch on partition 0 of testTopic of an embedded
// broker.
type fetchHarness struct {
	c      *Consumer
	addr   string
	q      *queue
	cancel context.CancelFunc
	done   chan struct{}
}

func startFetch(t *testing.T, out chan *chunk, tweaks ...func(*Consumer)) *fetchHarness {
	t.Helper()
	b, err := StartBroker(BrokerOptions{Topics: []string{testTopic}}, nil)
	require.NoError(t, err)
	t.Cleanup(b.Close)
	addr := b.Addrs()[0]
	c, err := NewConsumer(Options{Brokers: []string{addr}, Decoder: &event.Decoder{}, Engine: &orderEngine{}, Store: &journalStore{j: &journal{}}})
	require.NoError(t, err)
	for _, tweak := range tweaks {
		tweak(c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &fetchHarness{c: c, addr: addr, q: &queue{chunks: out, free: make(chan *chunk, 10)}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		c.fetch(ctx, testTopic, kafka.PartitionAssignment{ID: 0, Offset: kafka.FirstOffset}, 3, h.q)
	}()
	t.Cleanup(func() {
		cancel()
		<-h.done
		c.dlq.Close()
	})
	return h
}

func (h *fetchHarness) produce(t *testing.T, from, to int) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(h.addr), Topic: testTopic, RequiredAcks: kafka.RequireAll, BatchSize: 1000, BatchTimeout: time.Millisecond}
	defer w.Close()
	var msgs []kafka.Message
	for i := from; i < to; i++ {
		msgs = append(msgs, kafka.Message{Value: fmt.Appendf(nil, `{"n":%d}`, i)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, w.WriteMessages(ctx, msgs...))
}

// receive returns the next chunk of h.
func (h *fetchHarness) receive(t *testing.T) *chunk {
	t.Helper()
	select {
	case ch := <-h.q.chunks:
		return ch
	case <-time.After(10 * time.Second):
		t.Fatal("no chunk handed over")
		return nil
	}
}

// While the consuming goroutine has chunks waiting, a backlog goes in full
// chunks and the rest, in the order read; a message that arrives on a
// caught-up partition goes at once, alone.
func TestFetchHandsOverChunks(t *testing.T) {
	h := startFetch(t, make(chan *chunk, 100))
	// A chunk the consuming goroutine has not taken yet.
	h.q.chunks <- h.q.get()
	const backlog = 300
	h.produce(t, 0, backlog)
	want := []int{0, 64, 64, 64, 64, 44}
	require.Eventually(t, func() bool { return len(h.q.chunks) >= len(want) }, 10*time.Second, time.Millisecond)
	var sizes []int
	next := int64(0)
	for range want {
		ch := h.receive(t)
		sizes = append(sizes, len(ch.msgs))
		for i, d := range ch.msgs {
			require.Equal(t, next, d.msg.Offset, "handed over out of order")
			require.Equal(t, fmt.Sprintf(`{"n":%d}`, next), string(d.msg.Value))
			require.Equal(t, 3, d.fetcher)
			require.Equal(t, backlog-1-d.msg.Offset, d.lag)
			if i < len(ch.msgs)-1 {
				require.Positive(t, d.lag, "only the last message of a chunk may be the last known")
			}
			next++
		}
		h.q.recycle(ch)
	}
	require.Equal(t, want, sizes)

	h.q.chunks <- h.q.get()
	h.produce(t, backlog, backlog+1)
	require.Empty(t, h.receive(t).msgs)
	ch := h.receive(t)
	require.Len(t, ch.msgs, 1)
	require.Equal(t, int64(backlog), ch.msgs[0].msg.Offset)
	require.Zero(t, ch.msgs[0].lag)
}

// With nothing else waiting for the consuming goroutine (out is
// unbuffered: it never holds a chunk), each message a fetcher reads goes
// at once, alone, in the order read, even from a backlog.
func TestFetchHandsOverAtOnceToAnIdleConsumer(t *testing.T) {
	h := startFetch(t, make(chan *chunk))
	const backlog = 300
	h.produce(t, 0, backlog)
	next := int64(0)
	for next < backlog {
		ch := h.receive(t)
		require.Len(t, ch.msgs, 1)
		require.Equal(t, next, ch.msgs[0].msg.Offset, "handed over out of order")
		next++
		h.q.recycle(ch)
	}
}

// A fetcher waiting to hand a chunk over stops when the generation ends;
// the chunk is dropped, its messages uncommitted.
func TestFetchStopsWhileHandingOver(t *testing.T) {
	h := startFetch(t, make(chan *chunk))
	h.produce(t, 0, 1)
	// Time for the fetcher to read the message and wait on the
	// unbuffered out; had it not got there, the test would only check
	// that a fetcher stops while reading.
	time.Sleep(200 * time.Millisecond)
	select {
	case <-h.done:
		t.Fatal("fetch stopped before the generation ended")
	default:
	}
	h.cancel()
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
		t.Fatal("fetch did not stop when the generation ended")
	}
}

// A fetcher held up handing a message over (the consuming goroutine busy,
// say with a full batch waiting for the store) reads the rest of its fetch
// afterwards: the read deadline runs from each hand-over, not from the start
// of the fetch. The fetch is larger than the connection's read buffer, so
// that reading on reads from the socket.
func TestFetchReadsOnAfterAWaitLongerThanItsReadTimeout(t *testing.T) {
	var log testlog.Buffer
	h := startFetch(t, make(chan *chunk), func(c *Consumer) {
		c.fetchReadTimeout = 100 * time.Millisecond
		c.logger = slog.New(slog.NewTextHandler(&log, nil))
	})
	const n = 300
	w := &kafka.Writer{Addr: kafka.TCP(h.addr), Topic: testTopic, RequiredAcks: kafka.RequireAll, BatchSize: n, BatchTimeout: time.Millisecond}
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i].Value = fmt.Appendf(nil, `{"n":%d,"pad":%q}`, i, strings.Repeat("x", 2000))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, w.WriteMessages(ctx, msgs...))
	require.NoError(t, w.Close())

	next := int64(0)
	for next < n {
		ch := h.receive(t)
		if next == 0 {
			// Longer than the fetch's wait and read timeout together.
			time.Sleep(time.Second)
		}
		for _, d := range ch.msgs {
			require.Equal(t, next, d.msg.Offset, "handed over out of order")
			next++
		}
		h.q.recycle(ch)
	}
	require.NotContains(t, log.String(), "trying again", "the fetch did not fail")
}
