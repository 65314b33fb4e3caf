package ingest_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/benchkit"
	"github.com/sanse-campus/sanse/engine/ingest"
)

// benchMessages is how many messages each benchmark iteration consumes.
const benchMessages = 20000

// BenchmarkConsume reads the same messages from the embedded broker three
// ways, each iteration in a new consumer group from the first offset, so
// that the msgs/s of the sub-benchmarks compare directly:
//
//   - reader: kafka-go's kafka.Reader in a consumer group, committing at the end;
//   - generation: kafka-go's ConsumerGroup with one reader per partition, the
//     fetch path of the pipeline, committing at the end;
//   - pipeline: the Consumer with a store that discards batches: decoding,
//     applying to the engine, batching, and committing after each batch.
//
// The clock stops once the messages are read and committed: closing the
// group and the readers, which waits for fetches in flight, is not counted.
func BenchmarkConsume(b *testing.B) {
	broker := startBroker(b, ingest.BrokerOptions{Partitions: 2})
	addr := broker.Addrs()[0]
	reg := testRegistry(b)
	produceBenchMessages(b, addr)
	topics := []string{topicVisitor, topicCanteen, topicDrowning, topicBullying}
	var group atomic.Int64
	nextGroup := func() string { return fmt.Sprintf("bench-%d", group.Add(1)) }

	b.Run("reader", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			readWithReader(b, addr, nextGroup(), topics)
			n++
		}
		b.ReportMetric(float64(n*benchMessages)/b.Elapsed().Seconds(), "msgs/s")
	})
	b.Run("generation", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			readWithGeneration(b, addr, nextGroup(), topics)
			n++
		}
		b.ReportMetric(float64(n*benchMessages)/b.Elapsed().Seconds(), "msgs/s")
	})
	b.Run("pipeline", func(b *testing.B) {
		b.ReportAllocs()
		dec := newDecoder(b, reg)
		n := 0
		for b.Loop() {
			store := &countingStore{want: benchMessages, done: make(chan struct{})}
			c, err := ingest.NewConsumer(ingest.Options{
				Brokers: []string{addr}, GroupID: nextGroup(), Decoder: dec, Engine: newEngine(reg), Store: store,
				// The last, partial batch waits BatchInterval: keep it
				// short, so that the run measures throughput, not that wait.
				BatchInterval: 5 * time.Millisecond,
				Logger:        slog.New(slog.DiscardHandler),
			})
			require.NoError(b, err)
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- c.Run(ctx) }()
			select {
			case <-store.done:
			case <-time.After(wait):
				b.Fatalf("pipeline stored %d of %d events", store.events.Load(), benchMessages)
			}
			b.StopTimer()
			cancel()
			require.NoError(b, <-errc)
			b.StartTimer()
			n++
		}
		b.ReportMetric(float64(n*benchMessages)/b.Elapsed().Seconds(), "msgs/s")
	})
}

// produceBenchMessages writes benchMessages valid events, spread over the
// four topics and three schools, one in a hundred visitors blacklisted.
func produceBenchMessages(b *testing.B, addr string) {
	b.Helper()
	now := time.Now()
	msgs := make([]kafka.Message, 0, benchMessages)
	for i := range benchMessages {
		school := fmt.Sprintf("s%d", i%3+1)
		id := fmt.Sprintf("bench-%d", i)
		switch i % 4 {
		case 0:
			watchlist := "none"
			if i%100 == 0 {
				watchlist = "blacklist"
			}
			msgs = append(msgs, msg(topicVisitor, school, visitorEntry(id, school, watchlist, now)))
		case 1:
			msgs = append(msgs, msg(topicCanteen, school, canteenViolation(id, school, now)))
		case 2:
			msgs = append(msgs, msg(topicDrowning, school, []byte(fmt.Sprintf(
				`{"id":%q,"school_id":%q,"source":"drowning","type":"patrol","occurred_at":%q,"water_body":"南湖","hazard_found":false}`,
				id, school, ts(now)))))
		default:
			msgs = append(msgs, msg(topicBullying, school, bullyingReport(id, school, now)))
		}
	}
	produce(b, addr, msgs...)
}

func readWithReader(b *testing.B, addr, group string, topics []string) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: []string{addr}, GroupID: group, GroupTopics: topics, StartOffset: kafka.FirstOffset,
		MaxBytes: 16 << 20, MaxWait: 500 * time.Millisecond,
	})
	defer func() {
		b.StopTimer()
		r.Close()
		b.StartTimer()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	last := map[string]kafka.Message{}
	for range benchMessages {
		m, err := r.FetchMessage(ctx)
		require.NoError(b, err)
		last[fmt.Sprint(m.Topic, m.Partition)] = m
	}
	var commit []kafka.Message
	for _, m := range last {
		commit = append(commit, m)
	}
	require.NoError(b, r.CommitMessages(ctx, commit...))
}

func readWithGeneration(b *testing.B, addr, group string, topics []string) {
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{ID: group, Brokers: []string{addr}, Topics: topics})
	require.NoError(b, err)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	gen, err := cg.Next(ctx)
	require.NoError(b, err)
	msgs := make(chan kafka.Message, 1024)
	var wg sync.WaitGroup
	benchkit.ReadAssigned(gen, addr, &wg, msgs)
	offsets := map[string]map[int]int64{}
	for range benchMessages {
		var m kafka.Message
		select {
		case m = <-msgs:
		case <-ctx.Done():
			b.Fatal("generation: timed out")
		}
		if offsets[m.Topic] == nil {
			offsets[m.Topic] = map[int]int64{}
		}
		offsets[m.Topic][m.Partition] = m.Offset + 1
	}
	require.NoError(b, gen.CommitOffsets(offsets))
	b.StopTimer()
	cg.Close()
	wg.Wait()
	b.StartTimer()
}

// countingStore discards batches, counting their events, and closes done
// once it has seen want of them.
type countingStore struct {
	want   int64
	events atomic.Int64
	once   sync.Once
	done   chan struct{}
}

func (s *countingStore) Write(_ context.Context, b *engine.Batch) error {
	if s.events.Add(int64(len(b.Events))) >= s.want {
		s.once.Do(func() { close(s.done) })
	}
	return nil
}
