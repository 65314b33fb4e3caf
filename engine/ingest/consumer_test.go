package ingest_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/ingest"
)

func TestConsumerStoresAndCommitsValidEvents(t *testing.T) {
	b := startBroker(t, ingest.BrokerOptions{Partitions: 2})
	addr := b.Addrs()[0]
	reg := testRegistry(t)
	store := &fakeStore{}
	now := time.Now()

	var msgs []kafka.Message
	var want []string
	for i := range 10 {
		school := fmt.Sprintf("s%d", i%3+1)
		id := func(kind string) string { return fmt.Sprintf("%s-%d", kind, i) }
		watchlist := "none"
		if i == 4 {
			watchlist = "blacklist"
		}
		msgs = append(msgs,
			msg(topicVisitor, school, visitorEntry(id("v"), school, watchlist, now)),
			msg(topicCanteen, school, canteenViolation(id("c"), school, now)),
			msg(topicDrowning, school, drowningWeather(id("d"), school, now)),
			msg(topicBullying, school, bullyingReport(id("b"), school, now)),
		)
		want = append(want, id("v"), id("c"), id("d"), id("b"))
	}
	produce(t, addr, msgs...)

	r := startConsumer(t, ingest.Options{
		Brokers: []string{addr}, Decoder: newDecoder(t, reg), Engine: newEngine(reg), Store: store,
	})
	require.Eventually(t, func() bool { return len(store.events()) >= len(want) }, wait, 10*time.Millisecond)
	require.ElementsMatch(t, want, store.events())

	// The blacklisted visitor opened a high risk and turned s2 red, and
	// both were stored.
	tr := store.transitions()
	require.Len(t, tr, 1)
	require.Equal(t, engine.RiskOpened, tr[0].State)
	require.Equal(t, "v-4", tr[0].EventID)
	ch := store.changes()
	require.Len(t, ch, 1)
	require.Equal(t, "s2", ch[0].SchoolID)
	require.Equal(t, engine.LevelRed, ch[0].To)

	for _, topic := range []string{topicVisitor, topicCanteen, topicDrowning, topicBullying} {
		require.Eventually(t, func() bool { return committedTotal(t, addr, ingest.DefaultGroupID, topic) == 10 }, wait, 10*time.Millisecond,
			"every message of %s committed", topic)
	}
	// Weather events hit the failing rule; they are kept and counted.
	require.Equal(t, 10.0, r.metric(t, "sanse_ingest_messages_total", map[string]string{"topic": topicDrowning, "result": "rule_error"}))
	require.Equal(t, 10.0, r.metric(t, "sanse_ingest_messages_total", map[string]string{"topic": topicVisitor, "result": "ok"}))
	require.NoError(t, r.c.Ready(context.Background()))
	require.NoError(t, r.stop(t))
}

func TestConsumerDeadLetters(t *testing.T) {
	b := startBroker(t, ingest.BrokerOptions{})
	addr := b.Addrs()[0]
	reg := testRegistry(t)
	store := &fakeStore{}
	now := time.Now()

	tests := []struct {
		name   string
		topic  string
		value  string
		reason event.Reason
	}{
		{name: "malformed JSON", topic: topicCanteen, value: `{"id":"x1","school_id":`, reason: event.ReasonNotJSON},
		{name: "missing field", topic: topicCanteen,
			value:  fmt.Sprintf(`{"id":"x2","school_id":"s1","source":"canteen","type":"ai_violation","occurred_at":%q}`, ts(now)),
			reason: event.ReasonMissingField},
		{name: "wrong type", topic: topicVisitor,
			value: fmt.Sprintf(`{"id":"x3","school_id":"s1","source":"visitor","type":"entry","occurred_at":%q,`+
				`"visitor_id":"33040219800101123X","id_verified":"yes","watchlist":"none"}`, ts(now)),
			reason: event.ReasonWrongType},
		{name: "unknown type", topic: topicCanteen,
			value:  fmt.Sprintf(`{"id":"x4","school_id":"s1","source":"canteen","type":"fire_drill","occurred_at":%q}`, ts(now)),
			reason: event.ReasonUnknownType},
		{name: "source does not match topic", topic: topicVisitor, value: string(canteenViolation("x5", "s1", now)),
			reason: event.ReasonSourceMismatch},
		{name: "unknown school", topic: topicBullying, value: string(bullyingReport("x6", "s999", now)),
			reason: event.ReasonUnknownSchool},
		{name: "malformed, with personal numbers", topic: topicVisitor,
			value:  `{"id":"x7","visitor_id":"440306199003074513","name":"张三","extra":{"phone":"+86 139 1234 5678","note":"家长13812345678"`,
			reason: event.ReasonNotJSON},
	}
	var msgs []kafka.Message
	for i, tc := range tests {
		m := msg(tc.topic, "key-"+strconv.Itoa(i), []byte(tc.value))
		m.Headers = []kafka.Header{{Key: "producer", Value: []byte("gate-7")}, {Key: "operator", Value: []byte("13712345678")}}
		msgs = append(msgs, m)
	}
	// Valid events after the bad ones: the consumer keeps going.
	msgs = append(msgs,
		msg(topicCanteen, "s1", canteenViolation("ok-1", "s1", now)),
		msg(topicVisitor, "s2", visitorEntry("ok-2", "s2", "none", now)),
	)
	produce(t, addr, msgs...)

	r := startConsumer(t, ingest.Options{
		Brokers: []string{addr}, Decoder: newDecoder(t, reg), Engine: newEngine(reg), Store: store,
	})
	require.Eventually(t, func() bool { return len(store.events()) == 2 }, wait, 10*time.Millisecond)
	require.ElementsMatch(t, []string{"ok-1", "ok-2"}, store.events())

	dead := map[string]kafka.Message{}
	for _, m := range readTopic(t, addr, topicDead, len(tests)) {
		dead[string(m.Key)] = m
	}
	// Where each bad message was produced: one partition per topic, in
	// produce order.
	offsets := map[string]int64{}
	perReason := map[event.Reason]float64{}
	for _, tc := range tests {
		perReason[tc.reason]++
	}
	for i, tc := range tests {
		want := offsets[tc.topic]
		offsets[tc.topic]++
		t.Run(tc.name, func(t *testing.T) {
			m, ok := dead[fmt.Sprintf("key-%d", i)]
			require.True(t, ok, "message not on the dead-letter topic")
			// A redacted copy: the same message when it holds no
			// identity or personal number.
			require.Equal(t, string(event.RedactRaw([]byte(tc.value), 0)), string(m.Value))
			for _, clear := range []string{"440306199003074513", "13912345678", "1234 5678", "13812345678", "33040219800101123X", "张三"} {
				require.NotContains(t, string(m.Value), clear)
			}
			require.Equal(t, "137****5678", header(m, "operator"), "the original headers are redacted")
			require.Equal(t, string(tc.reason), header(m, ingest.HeaderReason))
			require.Contains(t, header(m, ingest.HeaderError), string(tc.reason)+": ")
			require.Equal(t, tc.topic, header(m, ingest.HeaderTopic))
			require.Equal(t, "0", header(m, ingest.HeaderPartition))
			require.Equal(t, strconv.FormatInt(want, 10), header(m, ingest.HeaderOffset))
			require.Equal(t, "gate-7", header(m, "producer"), "the original headers are kept")
			require.Equal(t, perReason[tc.reason], r.metric(t, "sanse_ingest_deadletter_total", map[string]string{"reason": string(tc.reason)}))
		})
	}
	// Dead-lettered messages are committed too.
	require.Eventually(t, func() bool {
		return committedTotal(t, addr, ingest.DefaultGroupID, topicCanteen) == 4 &&
			committedTotal(t, addr, ingest.DefaultGroupID, topicVisitor) == 4 &&
			committedTotal(t, addr, ingest.DefaultGroupID, topicBullying) == 1
	}, wait, 10*time.Millisecond)
	require.Equal(t, 3.0, r.metric(t, "sanse_ingest_messages_total", map[string]string{"topic": topicCanteen, "result": "deadletter"}))
}

func TestConsumerStoreFailuresLoseNothing(t *testing.T) {
	b := startBroker(t, ingest.BrokerOptions{})
	addr := b.Addrs()[0]
	reg := testRegistry(t)
	now := time.Now()

	batch := func(prefix string, n int) ([]kafka.Message, []string) {
		var msgs []kafka.Message
		var ids []string
		for i := range n {
			id := fmt.Sprintf("%s-%d", prefix, i)
			msgs = append(msgs, msg(topicCanteen, "s1", canteenViolation(id, "s1", now)))
			ids = append(ids, id)
		}
		return msgs, ids
	}
	first, firstIDs := batch("first", 50)
	produce(t, addr, first...)

	// The store fails twice, then succeeds. At each attempt, record what
	// the group had committed.
	var mu sync.Mutex
	var committedAt []map[int]int64
	store := &fakeStore{failures: 2}
	store.onWrite = func(int) {
		offs, err := fetchCommitted(addr, ingest.DefaultGroupID, topicCanteen)
		if err != nil {
			offs = map[int]int64{-1: -1} // fails the test below
		}
		mu.Lock()
		committedAt = append(committedAt, offs)
		mu.Unlock()
	}
	r := startConsumer(t, ingest.Options{
		Brokers: []string{addr}, Decoder: newDecoder(t, reg), Engine: newEngine(reg), Store: store,
		BatchSize: 1000, BatchInterval: 300 * time.Millisecond,
	})
	require.Eventually(t, func() bool { return len(store.events()) == len(firstIDs) }, wait, 10*time.Millisecond)
	require.Equal(t, firstIDs, store.events())
	require.Eventually(t, func() bool { return committedTotal(t, addr, ingest.DefaultGroupID, topicCanteen) == 50 }, wait, 10*time.Millisecond)
	mu.Lock()
	require.Equal(t, []map[int]int64{{}, {}, {}}, committedAt, "nothing committed before the store succeeded")
	mu.Unlock()
	require.Equal(t, 3, store.writeAttempts())
	require.Equal(t, 2.0, r.metric(t, "sanse_ingest_write_errors_total", map[string]string{"target": "store"}))
	require.NoError(t, r.stop(t))

	// A new consumer in the same group, as after a restart, reads on from
	// the committed offsets: nothing stored is read again, nothing is lost.
	second, secondIDs := batch("second", 30)
	produce(t, addr, second...)
	store2 := &fakeStore{}
	r2 := startConsumer(t, ingest.Options{
		Brokers: []string{addr}, Decoder: newDecoder(t, reg), Engine: newEngine(reg), Store: store2,
	})
	require.Eventually(t, func() bool { return len(store2.events()) >= len(secondIDs) }, wait, 10*time.Millisecond)
	require.Equal(t, secondIDs, store2.events())
	require.Eventually(t, func() bool { return committedTotal(t, addr, ingest.DefaultGroupID, topicCanteen) == 80 }, wait, 10*time.Millisecond)
	require.NoError(t, r2.stop(t))
}

func TestConsumerAppliesDuplicatesOnce(t *testing.T) {
	b := startBroker(t, ingest.BrokerOptions{})
	addr := b.Addrs()[0]
	reg := testRegistry(t)
	store := &fakeStore{}
	now := time.Now()

	produce(t, addr,
		msg(topicVisitor, "s1", visitorEntry("dup-1", "s1", "blacklist", now)),
		msg(topicVisitor, "s1", visitorEntry("dup-1", "s1", "blacklist", now)),
		msg(topicVisitor, "s1", visitorEntry("other", "s1", "none", now)),
	)
	r := startConsumer(t, ingest.Options{
		Brokers: []string{addr}, Decoder: newDecoder(t, reg), Engine: newEngine(reg), Store: store,
	})
	require.Eventually(t, func() bool { return committedTotal(t, addr, ingest.DefaultGroupID, topicVisitor) == 3 }, wait, 10*time.Millisecond)
	// The same id again in a later batch.
	produce(t, addr, msg(topicVisitor, "s1", visitorEntry("dup-1", "s1", "blacklist", now)))
	require.Eventually(t, func() bool { return committedTotal(t, addr, ingest.DefaultGroupID, topicVisitor) == 4 }, wait, 10*time.Millisecond)

	require.Equal(t, []string{"dup-1", "other"}, store.events())
	require.Len(t, store.transitions(), 1, "the risk was opened once")
	require.Equal(t, 2.0, r.metric(t, "sanse_ingest_messages_total", map[string]string{"topic": topicVisitor, "result": "duplicate"}))
}

func TestConsumerTickExpiresRisks(t *testing.T) {
	b := startBroker(t, ingest.BrokerOptions{})
	addr := b.Addrs()[0]
	reg := testRegistry(t)
	store := &fakeStore{}

	startConsumer(t, ingest.Options{
		Brokers: []string{addr}, Decoder: newDecoder(t, reg), Engine: newEngine(reg), Store: store,
	})
	// Once the consumer is reading, an event whose risk, lasting an hour
	// from the event, ends a moment from now.
	produce(t, addr, msg(topicCanteen, "s3", canteenViolation("warm-up", "s3", time.Now())))
	require.Eventually(t, func() bool { return len(store.events()) == 1 }, wait, 10*time.Millisecond)
	at := time.Now().Add(-time.Hour + time.Second)
	produce(t, addr, msg(topicVisitor, "s3", visitorEntry("late", "s3", "blacklist", at)))
	require.Eventually(t, func() bool { return len(store.transitions()) == 2 }, wait, 10*time.Millisecond)
	tr := store.transitions()
	require.Equal(t, engine.RiskOpened, tr[0].State)
	require.Equal(t, engine.RiskExpired, tr[1].State)
	ch := store.changes()
	require.Len(t, ch, 2)
	require.Equal(t, engine.LevelRed, ch[0].To)
	require.Equal(t, engine.LevelGreen, ch[1].To)
}

func TestConsumerFlushesOnShutdown(t *testing.T) {
	b := startBroker(t, ingest.BrokerOptions{})
	addr := b.Addrs()[0]
	reg := testRegistry(t)
	now := time.Now()

	produce(t, addr,
		msg(topicBullying, "s1", bullyingReport("sd-0", "s1", now)),
		msg(topicBullying, "s1", bullyingReport("sd-1", "s1", now)),
		msg(topicBullying, "s1", bullyingReport("sd-2", "s1", now)),
	)
	// Each case reads the same three messages in a group of its own.
	tests := []struct {
		name          string
		failures      int // -1: the store never succeeds
		wantErr       bool
		wantIDs       []string
		wantCommitted map[int]int64
	}{
		{name: "pending batch is stored and committed", wantIDs: []string{"sd-0", "sd-1", "sd-2"}, wantCommitted: map[int]int64{0: 3}},
		{name: "store down: nothing committed", failures: -1, wantErr: true, wantCommitted: map[int]int64{}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			group := fmt.Sprintf("shutdown-%d", i)
			store := &fakeStore{failures: tc.failures}
			// Batches are flushed only on shutdown.
			r := startConsumer(t, ingest.Options{
				Brokers: []string{addr}, GroupID: group, Decoder: newDecoder(t, reg), Engine: newEngine(reg), Store: store,
				BatchSize: 1000, BatchInterval: time.Hour, ShutdownTimeout: 300 * time.Millisecond,
			})
			require.Eventually(t, func() bool {
				return r.metric(t, "sanse_ingest_messages_total", map[string]string{"topic": topicBullying, "result": "ok"}) == 3
			}, wait, 10*time.Millisecond)
			require.Empty(t, committed(t, addr, group, topicBullying))

			err := r.stop(t)
			if tc.wantErr {
				require.ErrorContains(t, err, "not stored")
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.wantIDs, store.events())
			require.Equal(t, tc.wantCommitted, committed(t, addr, group, topicBullying))
		})
	}
}

func TestConsumerStopsOnDecoderFailure(t *testing.T) {
	b := startBroker(t, ingest.BrokerOptions{})
	addr := b.Addrs()[0]
	reg := testRegistry(t)
	store := &fakeStore{}
	now := time.Now()
	produce(t, addr, msg(topicVisitor, "s1", visitorEntry("no-key", "s1", "none", now)))
	// Without an identity key the decoder cannot hash visitor ids: that is
	// a configuration error, not a bad message.
	dec := &event.Decoder{Registry: func() *engine.Registry { return reg }}
	r := startConsumer(t, ingest.Options{Brokers: []string{addr}, Decoder: dec, Engine: newEngine(reg), Store: store})
	require.ErrorContains(t, r.wait(t), "identity key")
	require.Empty(t, committed(t, addr, ingest.DefaultGroupID, topicVisitor), "the failed message is not committed")
	require.Empty(t, store.events())
}

func TestNewConsumerChecksOptions(t *testing.T) {
	reg := testRegistry(t)
	valid := func() ingest.Options {
		return ingest.Options{Brokers: []string{"127.0.0.1:9092"}, Decoder: newDecoder(t, reg), Engine: newEngine(reg), Store: &fakeStore{}}
	}
	tests := []struct {
		name    string
		change  func(*ingest.Options)
		wantErr string
	}{
		{name: "defaults", change: func(*ingest.Options) {}},
		{name: "no brokers", change: func(o *ingest.Options) { o.Brokers = nil }, wantErr: "no Kafka brokers"},
		{name: "no store", change: func(o *ingest.Options) { o.Store = nil }, wantErr: "no store"},
		{name: "no engine", change: func(o *ingest.Options) { o.Engine = nil }, wantErr: "no engine"},
		{name: "no decoder", change: func(o *ingest.Options) { o.Decoder = nil }, wantErr: "no decoder"},
		{name: "unknown source", change: func(o *ingest.Options) { o.Topics = map[engine.Source]string{"fire": "campus.fire"} }, wantErr: "unknown source"},
		{name: "two sources on one topic", change: func(o *ingest.Options) {
			o.Topics = map[engine.Source]string{engine.SourceCanteen: topicVisitor}
		}, wantErr: "is also"},
		{name: "dead letters on an event topic", change: func(o *ingest.Options) { o.DeadLetterTopic = topicBullying }, wantErr: "dead-letter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := valid()
			tc.change(&o)
			c, err := ingest.NewConsumer(o)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, consumerTopics(), c.Topics())
		})
	}
}

func TestConsumerRetriesDeadLetterWrites(t *testing.T) {
	b := startBroker(t, ingest.BrokerOptions{})
	addr := b.Addrs()[0]
	reg := testRegistry(t)
	store := &fakeStore{}
	now := time.Now()

	// The dead-letter topic refuses writes more often than kafka-go retries
	// within one call, so the consumer must retry. Until the dead letter is
	// acknowledged, the batch is not written and nothing is committed.
	var refused, storedBefore atomic.Int64
	ingest.FailProduce(b, topicDead, 5, func() {
		refused.Add(1)
		storedBefore.Add(int64(store.writeAttempts()))
	})
	produce(t, addr,
		msg(topicCanteen, "s1", []byte(`not json`)),
		msg(topicCanteen, "s1", canteenViolation("after-bad", "s1", now)),
	)
	r := startConsumer(t, ingest.Options{Brokers: []string{addr}, Decoder: newDecoder(t, reg), Engine: newEngine(reg), Store: store})
	require.Eventually(t, func() bool { return committedTotal(t, addr, ingest.DefaultGroupID, topicCanteen) == 2 }, wait, 10*time.Millisecond)
	require.NoError(t, r.stop(t))

	require.Equal(t, int64(5), refused.Load())
	require.Zero(t, storedBefore.Load(), "the store is written only after the dead letter is acknowledged")
	require.Equal(t, []string{"after-bad"}, store.events())
	require.GreaterOrEqual(t, r.metric(t, "sanse_ingest_write_errors_total", map[string]string{"target": "deadletter"}), 1.0)
	dead := readTopic(t, addr, topicDead, 1)
	require.Equal(t, "not json", string(dead[0].Value))
}

func TestConsumersShareTheGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("rebalances wait for heartbeats (seconds); skipped with -short")
	}
	b := startBroker(t, ingest.BrokerOptions{Partitions: 2})
	addr := b.Addrs()[0]
	reg := testRegistry(t)
	now := time.Now()
	var all []string
	round := func(name string) []string {
		var msgs []kafka.Message
		var ids []string
		for i := range 20 {
			id := fmt.Sprintf("%s-%d", name, i)
			school := fmt.Sprintf("s%d", i%3+1)
			// Keyed by event id, so that every round reaches both partitions.
			msgs = append(msgs, kafka.Message{Topic: topicCanteen, Key: []byte(id), Value: canteenViolation(id, school, now)})
			ids = append(ids, id)
		}
		produce(t, addr, msgs...)
		all = append(all, ids...)
		total := int64(len(all))
		require.Eventually(t, func() bool { return committedTotal(t, addr, ingest.DefaultGroupID, topicCanteen) == total }, wait, 10*time.Millisecond)
		return ids
	}
	opts := func(s ingest.Store) ingest.Options {
		return ingest.Options{Brokers: []string{addr}, Decoder: newDecoder(t, reg), Engine: newEngine(reg), Store: s}
	}
	assigned := func(r *running) float64 { return r.metric(t, "sanse_ingest_assigned_partitions", nil) }

	storeA, storeB := &fakeStore{}, &fakeStore{}
	a := startConsumer(t, opts(storeA))
	round("alone")
	require.Equal(t, 8.0, assigned(a))

	// B joins: after a rebalance each instance has half the partitions,
	// one of the two of each topic.
	bb := startConsumer(t, opts(storeB))
	require.Eventually(t, func() bool { return assigned(a) == 4 && assigned(bb) == 4 }, wait, 10*time.Millisecond)
	shared := round("shared")
	require.NotEmpty(t, storeA.events())
	require.Subset(t, shared, storeB.events(), "B stored only events of the shared round")
	require.NotEmpty(t, storeB.events())

	// A leaves: B takes every partition.
	require.NoError(t, a.stop(t))
	require.Eventually(t, func() bool { return assigned(bb) == 8 }, wait, 10*time.Millisecond)
	last := round("handed-over")
	require.Subset(t, storeB.events(), last)

	// Every event stored exactly once across the two instances: each
	// generation flushed and committed before its partitions moved.
	require.ElementsMatch(t, all, append(storeA.events(), storeB.events()...))
}

// originEngine records where each event it applies was read from.
type originEngine struct {
	*engine.Engine
	mu      sync.Mutex
	applied []engine.Origin
}

func (e *originEngine) Apply(ev *engine.Event, out *engine.Output) error {
	e.mu.Lock()
	e.applied = append(e.applied, ev.Origin)
	e.mu.Unlock()
	return e.Engine.Apply(ev, out)
}

func (e *originEngine) origins() []engine.Origin {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.applied)
}

func TestConsumerAppliesInPartitionOrder(t *testing.T) {
	b := startBroker(t, ingest.BrokerOptions{Partitions: 4})
	addr := b.Addrs()[0]
	reg := testRegistry(t)
	store := &fakeStore{}
	now := time.Now()

	// Partitions are decoded in parallel; each must still be applied in
	// its own order, across several batches written while the next fill.
	var msgs []kafka.Message
	for i := range 2000 {
		school := fmt.Sprintf("s%d", i%3+1)
		id := fmt.Sprintf("o-%d", i)
		topic := []string{topicVisitor, topicCanteen, topicBullying}[i%3]
		var value []byte
		switch topic {
		case topicVisitor:
			value = visitorEntry(id, school, "none", now)
		case topicCanteen:
			value = canteenViolation(id, school, now)
		default:
			value = bullyingReport(id, school, now)
		}
		msgs = append(msgs, kafka.Message{Topic: topic, Key: []byte(id), Value: value})
	}
	produce(t, addr, msgs...)

	eng := &originEngine{Engine: newEngine(reg)}
	r := startConsumer(t, ingest.Options{
		Brokers: []string{addr}, Decoder: newDecoder(t, reg), Engine: eng, Store: store, BatchSize: 150,
	})
	require.Eventually(t, func() bool {
		return committedTotal(t, addr, ingest.DefaultGroupID, topicVisitor)+committedTotal(t, addr, ingest.DefaultGroupID, topicCanteen)+
			committedTotal(t, addr, ingest.DefaultGroupID, topicBullying) == int64(len(msgs))
	}, wait, 10*time.Millisecond)
	require.NoError(t, r.stop(t))

	next := map[string]int64{} // by topic/partition: the offset expected next
	for _, o := range eng.origins() {
		key := fmt.Sprintf("%s/%d", o.Topic, o.Partition)
		require.Equal(t, next[key], o.Offset, "applied out of partition order at %s", key)
		next[key] = o.Offset + 1
	}
	require.Len(t, store.events(), len(msgs))
	store.mu.Lock()
	defer store.mu.Unlock()
	require.Greater(t, len(store.batches), len(msgs)/150, "written in batches of at most 150")
}

func TestConsumerFlushesBacklogTailWithoutWaiting(t *testing.T) {
	b := startBroker(t, ingest.BrokerOptions{})
	addr := b.Addrs()[0]
	reg := testRegistry(t)
	store := &fakeStore{}
	now := time.Now()

	// A backlog of 25 messages in batches of 10: the last five are flushed
	// as soon as they are read, not after BatchInterval.
	var msgs []kafka.Message
	var want []string
	for i := range 25 {
		id := fmt.Sprintf("tail-%d", i)
		msgs = append(msgs, msg(topicCanteen, "s1", canteenViolation(id, "s1", now)))
		want = append(want, id)
	}
	produce(t, addr, msgs...)
	startConsumer(t, ingest.Options{
		Brokers: []string{addr}, Decoder: newDecoder(t, reg), Engine: newEngine(reg), Store: store,
		BatchSize: 10, BatchInterval: time.Hour,
	})
	require.Eventually(t, func() bool { return committedTotal(t, addr, ingest.DefaultGroupID, topicCanteen) == 25 }, wait, 10*time.Millisecond)
	require.Equal(t, want, store.events())
}

// A source declared in a YAML file is read from its topic, its events are
// stored and its rejected messages are redacted by its declaration, with no
// Go code for it.
func TestConsumerReadsADeclaredSource(t *testing.T) {
	contract, err := event.LoadContract("../../testdata/sources")
	require.NoError(t, err)
	const topicBus = "campus.ferry"
	b := startBroker(t, ingest.BrokerOptions{Topics: append(slices.Clone(allTopics), topicBus)})
	addr := b.Addrs()[0]
	reg := testRegistry(t)
	store := &fakeStore{}
	now := time.Now()
	produce(t, addr,
		msg(topicBus, "s1", fmt.Appendf(nil, `{"id":"bus-1","school_id":"s1","source":"ferry","type":"boarding","occurred_at":%q,`+
			`"plate":"浙F12345","students":31,"driver_name":"王建国"}`, ts(now))),
		msg(topicBus, "s1", fmt.Appendf(nil, `{"id":"bus-2","school_id":"s1","source":"ferry","type":"boarding","occurred_at":%q,`+
			`"plate":"浙F12345","driver_name":"王建国"}`, ts(now))),
	)
	dec := newDecoder(t, reg)
	dec.Contract = contract
	r := startConsumer(t, ingest.Options{Brokers: []string{addr}, Decoder: dec, Engine: newEngine(reg), Store: store})
	require.Eventually(t, func() bool { return len(store.events()) == 1 }, wait, 10*time.Millisecond)
	require.Equal(t, []string{"bus-1"}, store.events())
	require.Contains(t, r.c.Topics(), topicBus)

	dead := readTopic(t, addr, topicDead, 1)
	require.Equal(t, string(event.ReasonMissingField), header(dead[0], ingest.HeaderReason))
	require.NotContains(t, string(dead[0].Value), "王建国", "driver_name is declared personal")
	require.Contains(t, string(dead[0].Value), `"driver_name":"王**"`)
	require.Eventually(t, func() bool { return committedTotal(t, addr, ingest.DefaultGroupID, topicBus) == 2 }, wait, 10*time.Millisecond)
	require.Equal(t, 1.0, r.metric(t, "sanse_ingest_messages_total", map[string]string{"topic": topicBus, "result": "ok"}))
	require.NoError(t, r.stop(t))
}

// TestConsumerReadsTopicsThatAppear: a source whose topic does not exist
// yet is not read while the others are, and is read once its topic appears;
// the instance is ready meanwhile and the metric says which topic is missing.
func TestConsumerReadsTopicsThatAppear(t *testing.T) {
	b := startBroker(t, ingest.BrokerOptions{Topics: []string{topicVisitor, topicDead}})
	addr := b.Addrs()[0]
	reg := testRegistry(t)
	store := &fakeStore{}
	now := time.Now()
	r := startConsumer(t, ingest.Options{
		Brokers: []string{addr}, Decoder: newDecoder(t, reg), Engine: newEngine(reg), Store: store,
		TopicCheckInterval: 100 * time.Millisecond,
	})
	produce(t, addr, msg(topicVisitor, "s1", visitorEntry("v-1", "s1", "none", now)))
	require.Eventually(t, func() bool { return slices.Contains(store.events(), "v-1") }, wait, 10*time.Millisecond)
	require.NoError(t, r.c.Ready(context.Background()), "ready while some event topics are missing")
	require.Equal(t, 1.0, r.metric(t, "sanse_ingest_topic_missing", map[string]string{"topic": topicCanteen}))
	require.Equal(t, 0.0, r.metric(t, "sanse_ingest_topic_missing", map[string]string{"topic": topicVisitor}))

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	require.NoError(t, ingest.EnsureTopics(ctx, []string{addr}, ingest.Security{}, []string{topicCanteen}, 1))
	w := &kafka.Writer{Addr: kafka.TCP(addr), RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	defer w.Close()
	require.Eventually(t, func() bool { // the writer's metadata may not show the new topic at once
		return w.WriteMessages(ctx, msg(topicCanteen, "s1", canteenViolation("c-1", "s1", now))) == nil
	}, wait, 50*time.Millisecond)
	require.Eventually(t, func() bool { return slices.Contains(store.events(), "c-1") }, wait, 10*time.Millisecond,
		"the canteen topic is read once it exists")
	produce(t, addr, msg(topicVisitor, "s1", visitorEntry("v-2", "s1", "none", now)))
	require.Eventually(t, func() bool { return slices.Contains(store.events(), "v-2") }, wait, 10*time.Millisecond)
	require.Equal(t, 1, countOf(store.events(), "v-1"), "rejoining the group reads nothing twice")
	require.NoError(t, r.stop(t))
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}
