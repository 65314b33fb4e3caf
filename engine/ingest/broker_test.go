package ingest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine/ingest"
)

func TestBrokerRestartKeepsMessagesAndOffsets(t *testing.T) {
	reg := testRegistry(t)
	now := time.Now()
	opts := ingest.BrokerOptions{DataDir: t.TempDir(), Topics: allTopics, Partitions: 2}
	b, err := ingest.StartBroker(opts, testLogger(t))
	require.NoError(t, err)
	addr := b.Addrs()[0]

	var first []kafka.Message
	var firstIDs []string
	for i := range 20 {
		id := fmt.Sprintf("before-%d", i)
		school := fmt.Sprintf("s%d", i%3+1)
		first = append(first, msg(topicCanteen, school, canteenViolation(id, school, now)))
		firstIDs = append(firstIDs, id)
	}
	produce(t, addr, first...)
	store := &fakeStore{}
	r := startConsumer(t, ingest.Options{Brokers: []string{addr}, Decoder: newDecoder(t, reg), Engine: newEngine(reg), Store: store})
	require.Eventually(t, func() bool { return committedTotal(t, addr, ingest.DefaultGroupID, topicCanteen) == 20 }, wait, 10*time.Millisecond)
	require.ElementsMatch(t, firstIDs, store.events())
	require.NoError(t, r.stop(t))
	offsets := committed(t, addr, ingest.DefaultGroupID, topicCanteen)
	b.Close()

	// Restart on the same address from the same directory, asking for more
	// partitions: the topics exist already and keep theirs.
	opts.ListenAddr = addr
	opts.Partitions = 4
	b, err = ingest.StartBroker(opts, testLogger(t))
	require.NoError(t, err)
	t.Cleanup(b.Close)

	client, done := newClient(addr)
	defer done()
	md, err := client.Metadata(context.Background(), &kafka.MetadataRequest{Topics: allTopics})
	require.NoError(t, err)
	for _, topic := range md.Topics {
		require.NoError(t, topic.Error)
		require.Len(t, topic.Partitions, 2, topic.Name)
	}
	var values []string
	for _, m := range readTopic(t, addr, topicCanteen, 20) {
		values = append(values, string(m.Value))
	}
	var want []string
	for _, m := range first {
		want = append(want, string(m.Value))
	}
	require.ElementsMatch(t, want, values, "messages kept")
	require.Equal(t, offsets, committed(t, addr, ingest.DefaultGroupID, topicCanteen), "committed offsets kept")

	// The group reads on from its committed offsets.
	produce(t, addr,
		msg(topicCanteen, "s1", canteenViolation("after-1", "s1", now)),
		msg(topicCanteen, "s2", canteenViolation("after-2", "s2", now)),
	)
	store2 := &fakeStore{}
	r2 := startConsumer(t, ingest.Options{Brokers: []string{addr}, Decoder: newDecoder(t, reg), Engine: newEngine(reg), Store: store2})
	require.Eventually(t, func() bool { return committedTotal(t, addr, ingest.DefaultGroupID, topicCanteen) == 22 }, wait, 10*time.Millisecond)
	require.ElementsMatch(t, []string{"after-1", "after-2"}, store2.events())
	require.NoError(t, r2.stop(t))
}

func TestEnsureTopicsAndReady(t *testing.T) {
	b := startBroker(t, ingest.BrokerOptions{Topics: []string{}})
	addrs := b.Addrs()
	reg := testRegistry(t)
	c, err := ingest.NewConsumer(ingest.Options{Brokers: addrs, Decoder: newDecoder(t, reg), Engine: newEngine(reg), Store: &fakeStore{}})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()

	require.ErrorContains(t, c.Ready(ctx), "topics missing: "+topicVisitor)
	require.NoError(t, ingest.EnsureTopics(ctx, addrs, ingest.Security{}, c.Topics(), 3))
	require.NoError(t, ingest.EnsureTopics(ctx, addrs, ingest.Security{}, c.Topics(), 1), "existing topics are fine")
	require.Eventually(t, func() bool { return c.Ready(ctx) == nil }, wait, 10*time.Millisecond)
	client, done := newClient(addrs[0])
	defer done()
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: c.Topics()})
	require.NoError(t, err)
	require.Len(t, md.Topics, len(c.Topics()))
	for _, topic := range md.Topics {
		require.Len(t, topic.Partitions, 3, topic.Name)
	}

	b.Close()
	down, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	require.ErrorContains(t, c.Ready(down), "no Kafka broker reachable")
}

func TestConsumerSurvivesBrokerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the consumer group to rejoin (seconds); skipped with -short")
	}
	reg := testRegistry(t)
	now := time.Now()
	opts := ingest.BrokerOptions{DataDir: t.TempDir(), Topics: allTopics}
	b, err := ingest.StartBroker(opts, testLogger(t))
	require.NoError(t, err)
	addr := b.Addrs()[0]
	store := &fakeStore{}
	startConsumer(t, ingest.Options{Brokers: []string{addr}, Decoder: newDecoder(t, reg), Engine: newEngine(reg), Store: store})
	produce(t, addr, msg(topicDrowning, "s1", drowningWeather("before-restart", "s1", now)))
	require.Eventually(t, func() bool { return committedTotal(t, addr, ingest.DefaultGroupID, topicDrowning) == 1 }, wait, 10*time.Millisecond)

	b.Close()
	opts.ListenAddr = addr
	b, err = ingest.StartBroker(opts, testLogger(t))
	require.NoError(t, err)
	t.Cleanup(b.Close)

	// The partition readers reconnect at once, the group only once a
	// heartbeat fails. If the message is read before that, it is stored but
	// its commit fails, and the next generation reads it again, which the
	// engine drops as a duplicate. Either way it is stored once.
	produce(t, addr, msg(topicDrowning, "s1", drowningWeather("after-restart", "s1", now)))
	require.Eventually(t, func() bool { return committedTotal(t, addr, ingest.DefaultGroupID, topicDrowning) == 2 }, wait, 10*time.Millisecond)
	require.Equal(t, []string{"before-restart", "after-restart"}, store.events())
}

// TestBrokerRetention: the embedded broker drops records older than its
// retention, so that a demo left running cannot grow without bound.
func TestBrokerRetention(t *testing.T) {
	b, err := ingest.StartBroker(ingest.BrokerOptions{Topics: []string{topicCanteen}, Retention: time.Hour}, testLogger(t))
	require.NoError(t, err)
	t.Cleanup(b.Close)
	now := time.Now()
	old := msg(topicCanteen, "s1", []byte("old"))
	old.Time = now.Add(-2 * time.Hour)
	produce(t, b.Addrs()[0], old)
	recent := msg(topicCanteen, "s1", []byte("recent"))
	recent.Time = now
	produce(t, b.Addrs()[0], recent)
	require.Equal(t, int64(0), b.LogStart(topicCanteen, 0))

	b.ApplyRetention()
	require.Equal(t, int64(1), b.LogStart(topicCanteen, 0), "the record older than the retention is dropped")
	msgs := readTopic(t, b.Addrs()[0], topicCanteen, 1)
	require.Equal(t, "recent", string(msgs[0].Value), "the recent one is kept")
}

// TestBrokerNoRetention: a negative retention keeps every record, however
// old, whatever its magnitude; -1 (a nanosecond) once became a retention of
// 0 ms and dropped everything at the first check.
func TestBrokerNoRetention(t *testing.T) {
	for _, tt := range []struct {
		name      string
		retention time.Duration
	}{
		{"one nanosecond below zero", -1},
		{"one second below zero", -time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ingest.StartBroker(ingest.BrokerOptions{Topics: []string{topicCanteen}, Retention: tt.retention, RetentionBytes: -1}, testLogger(t))
			require.NoError(t, err)
			t.Cleanup(b.Close)
			old := msg(topicCanteen, "s1", []byte("old"))
			old.Time = time.Now().Add(-30 * 24 * time.Hour)
			produce(t, b.Addrs()[0], old)

			b.ApplyRetention()
			require.Equal(t, int64(0), b.LogStart(topicCanteen, 0), "nothing is dropped")
		})
	}
}

// Messages the topic's retention removed before the group read them are
// counted and said; reading goes on from the first message held, and
// nothing after it is lost.
func TestConsumerCountsMessagesGoneByRetention(t *testing.T) {
	b := startBroker(t, ingest.BrokerOptions{Partitions: 1, Retention: time.Hour})
	addr := b.Addrs()[0]
	reg := testRegistry(t)
	now := time.Now()
	// Events of now in records the broker holds as two hours old.
	old := func(id string) kafka.Message {
		m := msg(topicDrowning, "s1", drowningWeather(id, "s1", now))
		m.Time = now.Add(-2 * time.Hour)
		return m
	}
	store := &fakeStore{}
	opts := ingest.Options{Brokers: []string{addr}, Decoder: newDecoder(t, reg), Engine: newEngine(reg), Store: store}
	first := startConsumer(t, opts)
	produce(t, addr, old("read"))
	require.Eventually(t, func() bool { return committedTotal(t, addr, ingest.DefaultGroupID, topicDrowning) == 1 }, wait, 10*time.Millisecond)
	require.NoError(t, first.stop(t))

	// While no consumer runs, two more arrive, and the retention removes
	// them with the one read.
	produce(t, addr, old("gone-1"), old("gone-2"))
	b.ApplyRetention()
	require.Equal(t, int64(3), b.LogStart(topicDrowning, 0))
	produce(t, addr, msg(topicDrowning, "s1", drowningWeather("after", "s1", now)))

	second := startConsumer(t, opts)
	require.Eventually(t, func() bool { return committedTotal(t, addr, ingest.DefaultGroupID, topicDrowning) == 4 }, wait, 10*time.Millisecond)
	require.Equal(t, []string{"read", "after"}, store.events())
	require.Equal(t, 2.0, second.metric(t, "sanse_ingest_expired_messages_total", map[string]string{"topic": topicDrowning}))
}
