package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/ingest"
)

// Test topics: the defaults.
var (
	topicVisitor  = ingest.DefaultTopics(nil)[engine.SourceVisitor]
	topicCanteen  = ingest.DefaultTopics(nil)[engine.SourceCanteen]
	topicDrowning = ingest.DefaultTopics(nil)[engine.SourceDrowning]
	topicBullying = ingest.DefaultTopics(nil)[engine.SourceBullying]
	topicDead     = ingest.DefaultDeadLetterTopic
	// allTopics are the topics the test broker creates: those of the four
	// original sources. The consumer also reads the other built-in
	// sources' topics once they exist (consumerTopics).
	allTopics = []string{topicVisitor, topicCanteen, topicDrowning, topicBullying, topicDead}
)

// consumerTopics are the topics a consumer of the built-in contract uses:
// every source's, then the dead letters'.
func consumerTopics() []string {
	var out []string
	for _, s := range event.Builtin().Sources() {
		out = append(out, s.Topic)
	}
	return append(out, topicDead)
}

// wait bounds every wait for something to happen over the network; tests
// poll for a condition and never assert how long it took.
const wait = 30 * time.Second

func testLogger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("SANSE_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: level}))
}

// startBroker starts an embedded broker with every topic, closed at the
// end of the test.
func startBroker(t testing.TB, opts ingest.BrokerOptions) *ingest.Broker {
	t.Helper()
	if opts.Topics == nil {
		opts.Topics = allTopics
	}
	b, err := ingest.StartBroker(opts, testLogger(t))
	require.NoError(t, err)
	t.Cleanup(b.Close)
	return b
}

// testRegistry holds three schools.
func testRegistry(t testing.TB) *engine.Registry {
	t.Helper()
	reg, err := engine.NewRegistry([]engine.School{
		{ID: "s1", Name: "南湖区第一小学", District: "南湖区", Stage: engine.StagePrimary, Longitude: 120.76, Latitude: 30.75, Canteen: true},
		{ID: "s2", Name: "秀洲区实验中学", District: "秀洲区", Stage: engine.StageJunior, Longitude: 120.70, Latitude: 30.77, Canteen: true},
		{ID: "s3", Name: "嘉善县幼儿园", District: "嘉善县", Stage: engine.StageKindergarten, Longitude: 120.92, Latitude: 30.83},
	})
	require.NoError(t, err)
	return reg
}

// blacklistRules is a one-rule evaluator: a blacklisted visitor's entry is
// a high risk for an hour. Drowning weather events make a rule fail at run
// time.
type blacklistRules struct{}

func (blacklistRules) NewState() engine.RuleState { return nil }

func (blacklistRules) Evaluate(ev *engine.Event, _ *engine.School, _ engine.RuleState, out []engine.Match) ([]engine.Match, error) {
	if watchlist, _ := event.Builtin().Value(ev, "watchlist"); ev.Source == engine.SourceVisitor && ev.Type == "entry" && watchlist.Str() == "blacklist" {
		out = append(out, engine.Match{
			Rule: "visitor_blacklist", Severity: engine.SeverityHigh,
			Title: "禁入名单人员进入校园", For: time.Hour,
		})
	}
	if ev.Source == engine.SourceDrowning && ev.Type == "weather" {
		return out, errors.New("rule drowning_storm: division by zero")
	}
	return out, nil
}

func (blacklistRules) Horizon() time.Duration { return 24 * time.Hour }

func (blacklistRules) Check(_, _ time.Time, _ *engine.School, _ engine.RuleState, out []engine.Match) []engine.Match {
	return out
}

func (blacklistRules) Escalate(*engine.School, []*engine.Risk) (engine.Level, string, string) {
	return engine.LevelGreen, "", ""
}

func newEngine(reg *engine.Registry) *engine.Engine {
	return engine.New(func() engine.Evaluator { return blacklistRules{} }, func() *engine.Registry { return reg })
}

func newDecoder(t testing.TB, reg *engine.Registry) *event.Decoder {
	t.Helper()
	id, err := event.NewIdentity([]byte("sanse-test-identity-key"))
	require.NoError(t, err)
	return &event.Decoder{Registry: func() *engine.Registry { return reg }, Identity: id}
}

// fakeStore records the batches written to it. It fails the first
// failures writes, and calls onWrite, if set, before each write.
type fakeStore struct {
	mu       sync.Mutex
	failures int
	failErr  error
	onWrite  func(attempt int)
	attempts int
	batches  []storedBatch
}

type storedBatch struct {
	events      []string // event ids
	transitions []engine.RiskTransition
	changes     []engine.LevelChange
}

func (s *fakeStore) Write(ctx context.Context, b *engine.Batch) error {
	s.mu.Lock()
	s.attempts++
	attempt, onWrite := s.attempts, s.onWrite
	s.mu.Unlock()
	if onWrite != nil {
		onWrite(attempt)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.failures != 0 {
		if s.failures > 0 {
			s.failures--
		}
		if s.failErr != nil {
			return s.failErr
		}
		return errors.New("clickhouse: connection refused")
	}
	sb := storedBatch{transitions: slices.Clone(b.Transitions), changes: slices.Clone(b.Changes)}
	for _, ev := range b.Events {
		sb.events = append(sb.events, ev.ID)
	}
	s.batches = append(s.batches, sb)
	return nil
}

// events returns the ids of every stored event, in write order.
func (s *fakeStore) events() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, b := range s.batches {
		ids = append(ids, b.events...)
	}
	return ids
}

func (s *fakeStore) transitions() []engine.RiskTransition {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []engine.RiskTransition
	for _, b := range s.batches {
		out = append(out, b.transitions...)
	}
	return out
}

func (s *fakeStore) changes() []engine.LevelChange {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []engine.LevelChange
	for _, b := range s.batches {
		out = append(out, b.changes...)
	}
	return out
}

func (s *fakeStore) writeAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// running is a consumer running in the background.
type running struct {
	c      *ingest.Consumer
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned, after err is set
	err    error
}

// wait waits for Run to return and returns its error.
func (r *running) wait(t testing.TB) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(wait):
		t.Fatal("consumer did not stop")
		return nil
	}
}

// stop cancels the consumer and returns what Run returned.
func (r *running) stop(t testing.TB) error {
	t.Helper()
	r.cancel()
	return r.wait(t)
}

// startConsumer runs a consumer with quick batching until the test ends.
// Zero fields of opts take test defaults.
func startConsumer(t testing.TB, opts ingest.Options) *running {
	t.Helper()
	reg := prometheus.NewRegistry()
	if opts.BatchInterval == 0 {
		opts.BatchInterval = 20 * time.Millisecond
	}
	if opts.TickInterval == 0 {
		opts.TickInterval = 50 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	opts.Registerer = reg
	c, err := ingest.NewConsumer(opts)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{c: c, reg: reg, cancel: cancel, done: make(chan struct{})}
	go func() {
		r.err = c.Run(ctx)
		close(r.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(wait):
			t.Error("consumer did not stop")
		}
	})
	return r
}

// metric returns the value of a counter or gauge series, 0 if absent.
func (r *running) metric(t testing.TB, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := r.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

// produce writes msgs synchronously, each to its own Topic.
func produce(t testing.TB, addr string, msgs ...kafka.Message) {
	t.Helper()
	w := &kafka.Writer{
		Addr:         kafka.TCP(addr),
		Balancer:     &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: time.Millisecond,
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	require.NoError(t, w.WriteMessages(ctx, msgs...))
}

// msg is a message for topic keyed by school.
func msg(topic, school string, value []byte) kafka.Message {
	return kafka.Message{Topic: topic, Key: []byte(school), Value: value}
}

// committed returns the group's committed offsets of topic by partition;
// partitions without a commit are left out.
func committed(t testing.TB, addr, group, topic string) map[int]int64 {
	t.Helper()
	out, err := fetchCommitted(addr, group, topic)
	require.NoError(t, err)
	return out
}

func fetchCommitted(addr, group, topic string) (map[int]int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	client, done := newClient(addr)
	defer done()
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, err
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		return nil, fmt.Errorf("metadata of %s: %+v", topic, md.Topics)
	}
	var parts []int
	for _, p := range md.Topics[0].Partitions {
		parts = append(parts, p.ID)
	}
	resp, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		return nil, err
	}
	out := map[int]int64{}
	// kfake answers GROUP_ID_NOT_FOUND for a group that never joined,
	// where Kafka answers with no offsets.
	if errors.Is(resp.Error, kafka.GroupIdNotFound) {
		return out, nil
	}
	if resp.Error != nil {
		return nil, resp.Error
	}
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return nil, p.Error
		}
		if p.CommittedOffset >= 0 {
			out[p.Partition] = p.CommittedOffset
		}
	}
	return out, nil
}

// newClient returns a client with connections of its own, closed by done.
// kafka-go's default transport keeps connections across a broker restart
// and fails the first request on each with EOF.
func newClient(addr string) (client *kafka.Client, done func()) {
	tr := &kafka.Transport{}
	return &kafka.Client{Addr: kafka.TCP(addr), Transport: tr}, tr.CloseIdleConnections
}

// committedTotal sums the committed offsets of topic: with nothing
// deleted, the number of messages the group has committed.
func committedTotal(t testing.TB, addr, group, topic string) int64 {
	t.Helper()
	var n int64
	for _, off := range committed(t, addr, group, topic) {
		n += off
	}
	return n
}

// readTopic reads n messages from every partition of topic, from the start,
// with a throwaway consumer group.
func readTopic(t testing.TB, addr, topic string, n int) []kafka.Message {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:     []string{addr},
		GroupID:     fmt.Sprintf("reader-%s-%d", t.Name(), time.Now().UnixNano()),
		GroupTopics: []string{topic},
		StartOffset: kafka.FirstOffset,
		MaxWait:     100 * time.Millisecond,
	})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var out []kafka.Message
	for len(out) < n {
		m, err := r.FetchMessage(ctx)
		require.NoError(t, err, "read %s: got %d of %d messages", topic, len(out), n)
		out = append(out, m)
	}
	return out
}

func header(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// Event payloads.

func ts(at time.Time) string { return at.UTC().Format(time.RFC3339Nano) }

func visitorEntry(id, school, watchlist string, at time.Time) []byte {
	return fmt.Appendf(nil, `{"id":%q,"school_id":%q,"source":"visitor","type":"entry","occurred_at":%q,`+
		`"visitor_id":"33040219800101123X","name":"张三","id_verified":true,"watchlist":%q,"gate":"north"}`,
		id, school, ts(at), watchlist)
}

func canteenViolation(id, school string, at time.Time) []byte {
	return fmt.Appendf(nil, `{"id":%q,"school_id":%q,"source":"canteen","type":"ai_violation","occurred_at":%q,"violation":"no_hat"}`,
		id, school, ts(at))
}

func drowningWeather(id, school string, at time.Time) []byte {
	return fmt.Appendf(nil, `{"id":%q,"school_id":%q,"source":"drowning","type":"weather","occurred_at":%q,"rain_mm_24h":80}`,
		id, school, ts(at))
}

func bullyingReport(id, school string, at time.Time) []byte {
	return fmt.Appendf(nil, `{"id":%q,"school_id":%q,"source":"bullying","type":"report","occurred_at":%q,`+
		`"channel":"anonymous_app","victim_ref":"stu-17","kind":"verbal","injury":false}`, id, school, ts(at))
}
