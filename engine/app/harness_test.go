package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/app"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/ingest"
	"github.com/sanse-campus/sanse/engine/store/storetest"
	"github.com/sanse-campus/sanse/rules"
)

// These tests run the App in-process against the real ClickHouse server
// (SANSE_CLICKHOUSE_DSN, a database of each test's own) and the embedded
// broker, and produce events as a Kafka client does.

// registryFile is the registry the tests run on: eight schools, four
// districts.
var registryFile = filepath.Join("..", "..", "testdata", "registry", "small.csv")

// Schools of registryFile.
const (
	schoolA = "JX-NH-0002"
	schoolB = "JX-NH-0003"
	schoolC = "JX-NH-0004"
	schoolD = "JX-NH-0001"
)

var topics = map[engine.Source]string{
	engine.SourceVisitor: "campus.visitor", engine.SourceCanteen: "campus.canteen",
	engine.SourceDrowning: "campus.drowning", engine.SourceBullying: "campus.bullying",
}

// published is a colour change as the stream was handed it, with what the
// history held at that moment.
type published struct {
	change engine.LevelChange
	// stored says the change was in the store's timeline of its school.
	stored bool
	// alerts are the school's stored alerts.
	alerts []*alert.Alert
}

// recordingStream is the live stream of the tests: it keeps every change it
// is handed and, when asked to (inspect), looks at the history at that
// moment. A real stream must not block; this one queries ClickHouse while
// the writer waits, which a test can afford.
type recordingStream struct {
	app     atomic.Pointer[app.App] // set once New returned
	inspect atomic.Bool

	mu      sync.Mutex
	changes []published
	alerts  []alert.Alert
}

func (s *recordingStream) Publish(c engine.LevelChange) {
	p := published{change: c}
	if a := s.app.Load(); a != nil && s.inspect.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		tl, err := a.Store().Timeline(ctx, c.SchoolID, c.At.Add(-time.Second), c.At.Add(time.Second))
		if err == nil {
			id := c.RecordID()
			for _, s := range tl {
				p.stored = p.stored || s.ID == id
			}
		}
		p.alerts, _ = a.Alerts().List(ctx, alert.Filter{School: c.SchoolID})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changes = append(s.changes, p)
}

func (s *recordingStream) PublishAlert(a *alert.Alert) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alerts = append(s.alerts, *a)
}

// of returns the changes of the school handed on so far, in order.
func (s *recordingStream) of(school string) []published {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []published
	for _, p := range s.changes {
		if p.change.SchoolID == school {
			out = append(out, p)
		}
	}
	return out
}

// last returns the last change of the school handed on, if any.
func (s *recordingStream) last(school string) (published, bool) {
	ps := s.of(school)
	if len(ps) == 0 {
		return published{}, false
	}
	return ps[len(ps)-1], true
}

// env is what survives a restart: the database and the broker's data.
type env struct {
	dsn     string
	dataDir string
	// rulesDir is the rule directory; "" runs the embedded pack.
	rulesDir string
	// contract is the declared sources; nil: the built-in ones.
	contract *event.Contract
}

func newEnv(t *testing.T) env {
	return env{dsn: storetest.FreshDSN(t), dataDir: t.TempDir()}
}

// running is an App of a test, running or built.
type running struct {
	*app.App
	t      *testing.T
	stream *recordingStream
	cancel context.CancelFunc
	done   chan error
}

// build builds an App on e without running it; it is closed when the test
// ends.
func build(t *testing.T, e env) *running {
	t.Helper()
	stream := &recordingStream{}
	a, err := app.New(t.Context(), app.Options{
		RegistryFile: registryFile, VisitorKeyFile: filepath.Join(e.dataDir, "visitor.key"), Contract: e.contract,
		Rules: rules.ManagerOptions{Dir: e.rulesDir},
		Kafka: ingest.Options{
			GroupID: "sanse", Topics: topics, DeadLetterTopic: "campus.deadletter",
			BatchSize: 1000, BatchInterval: 20 * time.Millisecond,
		},
		EmbeddedKafka:       ingest.BrokerOptions{ListenAddr: "127.0.0.1:0", DataDir: filepath.Join(e.dataDir, "kafka"), Partitions: 2},
		ClickHouseDSN:       e.dsn,
		HazardCheckInterval: 100 * time.Millisecond,
		Stream:              stream,
		Registerer:          prometheus.NewRegistry(),
	})
	require.NoError(t, err)
	stream.app.Store(a)
	r := &running{App: a, t: t, stream: stream}
	t.Cleanup(r.stop)
	return r
}

// run starts r and waits until its state is restored.
func (r *running) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan error, 1)
	go func() { r.done <- r.Run(ctx) }()
	waitFor(t, time.Minute, "the state restored", func() bool {
		select {
		case err := <-r.done:
			t.Fatalf("Run returned during start: %v", err)
		default:
		}
		return check(r.App, "state") == nil
	})
}

// start builds an App on e and runs it.
func start(t *testing.T, e env) *running {
	t.Helper()
	r := build(t, e)
	r.run(t)
	return r
}

// stop ends Run, if it runs, and closes the App.
func (r *running) stop() {
	if r.cancel != nil {
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				r.t.Errorf("App.Run: %v", err)
			}
		case <-time.After(time.Minute):
			r.t.Errorf("App.Run did not return within a minute of its context's end")
		}
		r.cancel = nil
	}
	r.Close()
}

// check runs the readiness check of the name.
func check(a *app.App, name string) error {
	for _, c := range a.Checks() {
		if c.Name == name {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return c.Check(ctx)
		}
	}
	panic("no readiness check " + name)
}

// produce writes the events (JSON per docs/events.md) to their topics,
// keyed by school, and returns once the broker has them.
func produce(t *testing.T, brokers []string, events ...map[string]any) {
	t.Helper()
	cl := producer(t, brokers)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, send(ctx, cl, events...))
}

// producer returns a Kafka client of the brokers, closed when the test ends.
func producer(t *testing.T, brokers []string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

// send writes the events with cl and returns once the broker has them.
func send(ctx context.Context, cl *kgo.Client, events ...map[string]any) error {
	recs := make([]*kgo.Record, 0, len(events))
	for _, ev := range events {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		topic, ok := topics[engine.Source(ev["source"].(string))]
		if !ok {
			topic = "campus." + ev["source"].(string) // a declared source's own topic
		}
		recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(ev["school_id"].(string)), Value: b})
	}
	return cl.ProduceSync(ctx, recs...).FirstErr()
}

// blacklisted returns a visitor entry of a blacklisted visitor.
func blacklisted(id, school string, at time.Time) map[string]any {
	return map[string]any{
		"id": id, "school_id": school, "source": "visitor", "type": "entry", "occurred_at": at.Format(time.RFC3339Nano),
		"visitor_id": "330402198001011234", "name": "张三", "id_verified": true, "watchlist": "blacklist", "gate": "东门",
	}
}

// patrol returns a drowning patrol, which finds a hazard or not.
func patrol(id, school string, found bool, at time.Time) map[string]any {
	return map[string]any{
		"id": id, "school_id": school, "source": "drowning", "type": "patrol", "occurred_at": at.Format(time.RFC3339Nano),
		"water_body": "南湖", "hazard_found": found, "note": "护栏破损",
	}
}

// waterLevel returns a water level reading of the river by the school,
// above its warning level or well below it.
func waterLevel(id, school string, above bool, at time.Time) map[string]any {
	level := 2.0
	if above {
		level = 3.5
	}
	return map[string]any{
		"id": id, "school_id": school, "source": "drowning", "type": "water_level", "occurred_at": at.Format(time.RFC3339Nano),
		"water_body": "南湖", "level_m": level, "warning_level_m": 3.0,
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// within runs fn and fails the test if it fails or does not return in time: a
// deadlock between the components shows as this failure, not as a test
// binary that hangs until its own timeout.
func within(t *testing.T, timeout time.Duration, what string, fn func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		require.NoError(t, err, what)
	case <-time.After(timeout):
		t.Fatalf("%s did not return within %s: a deadlock?", what, timeout)
	}
}

// timeline returns the school's stored colour changes of the last hour.
func timeline(t *testing.T, a *app.App, school string) []engine.LevelChange {
	t.Helper()
	tl, err := a.Store().Timeline(t.Context(), school, time.Now().Add(-time.Hour), time.Now().Add(time.Minute))
	require.NoError(t, err)
	return tl
}

// lastStored returns the school's last stored colour change.
func lastStored(t *testing.T, a *app.App, school string) engine.LevelChange {
	t.Helper()
	tl := timeline(t, a, school)
	require.NotEmpty(t, tl, "no colour change of %s stored", school)
	return tl[len(tl)-1]
}

// storedEvents returns how many events the history holds.
func storedEvents(t *testing.T, a *app.App) int {
	t.Helper()
	n := 0
	require.NoError(t, a.Store().ReplayEvents(t.Context(), time.Now().Add(-24*time.Hour),
		func([]byte, engine.Origin) error { n++; return nil }))
	return n
}

func describe(c engine.LevelChange) string {
	return fmt.Sprintf("%s %s→%s %s %s/%s", c.SchoolID, c.From, c.To, c.Cause.How, c.Cause.Rule, c.Cause.Key)
}
