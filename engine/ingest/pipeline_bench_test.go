package ingest_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/benchkit"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/ingest"
	"github.com/sanse-campus/sanse/engine/registry"
	"github.com/sanse-campus/sanse/engine/sim"
	"github.com/sanse-campus/sanse/engine/store"
	"github.com/sanse-campus/sanse/rules"
)

// Scale of BenchmarkPipeline.
const (
	// pipelineEventsEnv overrides how many messages BenchmarkPipeline
	// generates (default defaultPipelineEvents).
	pipelineEventsEnv     = "SANSE_BENCH_PIPELINE_EVENTS"
	defaultPipelineEvents = 100000
	// pipelineBatchEnv sets the Consumer's BatchSize in the e2e phase
	// (default: the Consumer's default).
	pipelineBatchEnv   = "SANSE_BENCH_PIPELINE_BATCH"
	pipelinePartitions = 4
	// pipelineWait bounds each phase of BenchmarkPipeline.
	pipelineWait = 5 * time.Minute
)

// BenchmarkPipeline compares, in one run on the same machine and the same
// messages, Sanse end to end with the two things it is built from:
//
//   - raw: a kafka-go consumer group reading every message from the
//     embedded broker, one reader per partition as the Consumer fetches,
//     committing once at the end;
//   - chclient: clickhouse-client inserting the rows that Sanse writes to
//     the events table, as one TSV file, into a fresh database;
//   - e2e: the Consumer with the default rule pack and the ClickHouse store
//     in a fresh database, from start until the offset of the last message
//     is committed: consume, decode, evaluate, store, commit.
//
// The messages are N (SANSE_BENCH_PIPELINE_EVENTS, default 100000) events of
// the simulator over the demo district, with a fixed seed and a clock that
// ends at the start of the run, so that every event is within the rules'
// horizon. They are produced once, before the clock starts, into an embedded
// broker with four partitions per topic.
//
// SANSE_BENCH_PIPELINE_BATCH sets the Consumer's BatchSize (default: the
// Consumer's default, DefaultBatchSize).
//
// e2e_ratio is e2e_msgs/s over the smaller of raw_msgs/s and
// chclient_rows/s. Run it once per invocation: -benchtime 1x. Each phase
// runs under a pprof label (phase=raw, phase=e2e; the broker under
// component=broker), so that a -cpuprofile can be split with -tagfocus.
func BenchmarkPipeline(b *testing.B) {
	if testing.Short() {
		b.Skip("integration benchmark: needs ClickHouse, clickhouse-client and the embedded broker")
	}
	dsn := os.Getenv("SANSE_CLICKHOUSE_DSN")
	if dsn == "" {
		b.Skip("SANSE_CLICKHOUSE_DSN is not set; `make bench` sets it for the local ClickHouse")
	}
	client := clickhouseClient()
	if client == nil {
		b.Skip("neither clickhouse-client nor clickhouse is on PATH; deploy/clickhouse.sh installs them with the server")
	}
	n := pipelineEvents(b)
	batchSize := pipelineBatch(b)
	ch := newBenchClickHouse(b, dsn, client)
	// On a shared machine the figures compare only within one run; the
	// load says how shared it was.
	if load, err := os.ReadFile("/proc/loadavg"); err == nil && len(strings.Fields(string(load))) >= 3 {
		b.Logf("load average at start: %s", strings.Join(strings.Fields(string(load))[:3], " "))
	}

	reg, err := registry.Load(filepath.Join("..", "..", "testdata", "registry", "demo.csv"))
	require.NoError(b, err)
	dec := newDecoder(b, reg)

	var broker *ingest.Broker
	pprof.Do(context.Background(), pprof.Labels("component", "broker"), func(context.Context) {
		broker = startBroker(b, ingest.BrokerOptions{Partitions: pipelinePartitions, Topics: consumerTopics()})
	})
	addr := broker.Addrs()[0]
	var topics []string
	for _, src := range event.Builtin().Sources() {
		topics = append(topics, src.Topic)
	}

	// The messages: generated, produced, and read back once to learn where
	// the broker put them, which the rows of the events table record.
	msgs, window := simulate(b, reg, n)
	b.Logf("%d messages of the demo district (%d schools), %s", n, reg.Len(), window)
	produceBatched(b, addr, msgs)
	var stored []kafka.Message
	_, err = consumeGroup(addr, "bench-pipeline-collect", topics, int64(n), func(m kafka.Message) error { stored = append(stored, m); return nil })
	require.NoError(b, err)
	tsv, valid := writeEventsTSV(b, dec, reg, stored)
	stored = nil
	b.Logf("%d valid events, %s of TSV for clickhouse-client", valid, byteSize(tsv))
	startup := ch.clientStartup(b)

	var raw, chc, e2e phaseTotal
	for i := 1; b.Loop(); i++ {
		b.StopTimer()
		runtime.GC()
		b.StartTimer()
		var p phase
		pprof.Do(b.Context(), pprof.Labels("phase", "raw"), func(context.Context) {
			p = ch.measure(b, func() time.Duration {
				elapsed, err := consumeGroup(addr, fmt.Sprintf("bench-pipeline-raw-%d", i), topics, int64(n), nil)
				require.NoError(b, err)
				return elapsed
			})
		})
		raw.add(p)
		b.Logf("raw:      %s", p.describe(n, "msgs"))

		b.StopTimer()
		db := ch.freshDatabase(b, nil)
		runtime.GC()
		b.StartTimer()
		p = ch.measure(b, func() time.Duration { return ch.insertTSV(b, db.Database(), tsv) })
		b.StopTimer()
		require.Equal(b, uint64(valid), ch.countEvents(b, db.Database()), "events inserted by clickhouse-client")
		ch.drop(b, db)
		b.StartTimer()
		chc.add(p)
		b.Logf("chclient: %s; %s without process start (SELECT 1 takes %s)", p.describe(valid, "rows"),
			rate(valid, p.wall-startup, "rows"), startup.Round(time.Millisecond))

		pprof.Do(b.Context(), pprof.Labels("phase", "e2e"), func(context.Context) {
			p = runEndToEnd(b, ch, addr, fmt.Sprintf("bench-pipeline-e2e-%d", i), topics, dec, reg, n, valid, batchSize)
		})
		e2e.add(p)
	}

	rawRate := raw.rate(n)
	chRate := chc.rate(valid)
	e2eRate := e2e.rate(n)
	b.ReportMetric(rawRate, "raw_msgs/s")
	b.ReportMetric(chRate, "chclient_rows/s")
	b.ReportMetric(float64(valid*chc.runs)/(chc.wall-time.Duration(chc.runs)*startup).Seconds(), "chclient_nostart_rows/s")
	b.ReportMetric(e2eRate, "e2e_msgs/s")
	b.ReportMetric(e2eRate/min(rawRate, chRate), "e2e_ratio")
}

// clickhouseClient returns the command of the ClickHouse client: the
// program of the Debian package or the single binary of the upstream
// packages; nil if there is neither.
func clickhouseClient() []string {
	if p, err := exec.LookPath("clickhouse-client"); err == nil {
		return []string{p}
	}
	if p, err := exec.LookPath("clickhouse"); err == nil {
		return []string{p, "client"}
	}
	return nil
}

// pipelineEvents returns the number of messages BenchmarkPipeline uses.
func pipelineEvents(b *testing.B) int {
	s := os.Getenv(pipelineEventsEnv)
	if s == "" {
		return defaultPipelineEvents
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive number of messages", pipelineEventsEnv, s)
	}
	return n
}

// pipelineBatch returns the BatchSize of the e2e phase, 0 for the default.
func pipelineBatch(b *testing.B) int {
	s := os.Getenv(pipelineBatchEnv)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive batch size", pipelineBatchEnv, s)
	}
	return n
}

// simulate generates n messages of the demo district at the simulator's
// default rate, on a clock that ends at the current second.
func simulate(b *testing.B, reg *engine.Registry, n int) ([]kafka.Message, string) {
	step := time.Second / sim.DefaultRate
	start := time.Now().Truncate(time.Second).Add(-time.Duration(n) * step)
	now := start.Add(-step)
	s := sim.New(sim.Options{Registry: reg, Seed: 1, Clock: func() time.Time {
		now = now.Add(step)
		return now
	}}, nil)
	msgs := make([]kafka.Message, n)
	perTopic := map[string]int{}
	for i := range msgs {
		topic, key, value := s.Next()
		msgs[i] = kafka.Message{Topic: topic, Key: []byte(key), Value: value}
		perTopic[topic]++
	}
	var mix []string
	for _, src := range event.Builtin().Sources() {
		mix = append(mix, fmt.Sprintf("%s %.1f%%", src.Name, 100*float64(perTopic[src.Topic])/float64(n)))
	}
	st := s.Stats()
	window := fmt.Sprintf("%s to %s Asia/Shanghai, %d incidents, %s", start.In(engine.Shanghai).Format("2006-01-02 15:04"),
		now.In(engine.Shanghai).Format("15:04"), st.Incidents, strings.Join(mix, ", "))
	return msgs, window
}

// produceBatched writes msgs as the simulator's writer does, keyed by
// school, in batches of up to 1000 messages.
func produceBatched(b *testing.B, addr string, msgs []kafka.Message) {
	w := &kafka.Writer{
		Addr:         kafka.TCP(addr),
		Balancer:     &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireOne,
		BatchTimeout: 5 * time.Millisecond,
		BatchSize:    1000,
		BatchBytes:   16 << 20,
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), pipelineWait)
	defer cancel()
	require.NoError(b, w.WriteMessages(ctx, msgs...))
}

// consumeGroup is benchkit.ConsumeGroup within pipelineWait.
func consumeGroup(addr, group string, topics []string, n int64, each func(kafka.Message) error) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), pipelineWait)
	defer cancel()
	return benchkit.ConsumeGroup(ctx, addr, group, topics, n, each)
}

// writeEventsTSV decodes msgs with the decoder of the pipeline into the
// rows Store.Write inserts into the events table and writes them to a TSV
// file. It also logs how fast decoding and evaluating alone are, in this
// goroutine, on the same messages.
func writeEventsTSV(b *testing.B, dec *event.Decoder, reg *engine.Registry, msgs []kafka.Message) (path string, valid int) {
	sources := map[string]engine.Source{}
	for src, t := range ingest.DefaultTopics(nil) {
		sources[t] = src
	}
	events := make([]engine.Event, 0, len(msgs))
	start := time.Now()
	for _, m := range msgs {
		var ev engine.Event
		if err := dec.Decode(sources[m.Topic], m.Value, &ev); err != nil {
			continue
		}
		ev.Origin = engine.Origin{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset}
		events = append(events, ev)
	}
	decoding := time.Since(start)

	set, errs := rules.Default()
	require.Empty(b, errs)
	eng := engine.New(func() engine.Evaluator { return set }, func() *engine.Registry { return reg })
	var out engine.Output
	eng.Tick(time.Now(), &out)
	records := 0
	start = time.Now()
	for i := range events {
		_ = eng.Apply(&events[i], &out)
		records += out.Len()
		out.Reset()
	}
	applying := time.Since(start)
	b.Logf("decode alone: %s; evaluate alone (default rules, engine): %s; %d risk transitions and colour changes",
		rate(len(msgs), decoding, "msgs"), rate(len(events), applying, "events"), records)

	path = filepath.Join(b.TempDir(), "events.tsv")
	f, err := os.Create(path)
	require.NoError(b, err)
	w := bufio.NewWriterSize(f, 1<<20)
	ingested := time.Now().Unix()
	var row []byte
	for i := range events {
		row = benchkit.AppendEventRow(row[:0], &events[i], ingested)
		_, _ = w.Write(row)
	}
	require.NoError(b, w.Flush())
	require.NoError(b, f.Close())
	return path, len(events)
}

// runEndToEnd runs the Consumer with the default rule pack and the store on
// a fresh database until every message is committed, and logs where the
// time went. batchSize is the Consumer's BatchSize, 0 for its default.
func runEndToEnd(b *testing.B, ch *benchClickHouse, addr, group string, topics []string,
	dec *event.Decoder, reg *engine.Registry, n, valid, batchSize int) phase {
	b.StopTimer()
	metrics := prometheus.NewRegistry()
	st := ch.freshDatabase(b, metrics)
	set, errs := rules.Default()
	require.Empty(b, errs)
	eng := engine.New(func() engine.Evaluator { return set }, func() *engine.Registry { return reg })
	counted := &storeCounter{Store: st, want: int64(valid), done: make(chan struct{})}
	applied := &engineClock{Engine: eng, want: int64(valid)}
	c, err := ingest.NewConsumer(ingest.Options{
		Brokers: []string{addr}, GroupID: group, Decoder: dec, Engine: applied, Store: counted,
		BatchSize: batchSize, Logger: testLogger(b), Registerer: metrics,
	})
	require.NoError(b, err)
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	runtime.GC()
	b.StartTimer()

	var (
		stopped chan error
		start   time.Time
	)
	p := ch.measure(b, func() time.Duration {
		start = time.Now()
		stopped = make(chan error, 1)
		go func() { stopped <- c.Run(ctx) }()
		select {
		case <-counted.done:
		case err := <-stopped:
			b.Fatalf("consumer stopped after storing %d of %d events: %v", counted.events.Load(), valid, err)
		case <-time.After(pipelineWait):
			b.Fatalf("consumer stored %d of %d events in %s", counted.events.Load(), valid, pipelineWait)
		}
		// The offsets of the last batch are committed right after it is
		// stored, then the time of the flush is recorded.
		last := counted.lastWrite.Load().(time.Time)
		for {
			flushed := gaugeValue(b, metrics, "sanse_ingest_last_flush_timestamp_seconds")
			if flushed >= float64(last.UnixNano())/1e9 {
				return time.Unix(0, int64(flushed*1e9)).Sub(start)
			}
			time.Sleep(time.Millisecond)
		}
	})

	b.StopTimer()
	defer b.StartTimer()
	require.Equal(b, int64(n), committedSum(b, addr, group, topics), "offsets committed by the consumer")
	cancel()
	require.NoError(b, <-stopped)
	require.Equal(b, uint64(valid), ch.countEvents(b, st.Database()), "events stored by the consumer")

	b.Logf("e2e:      %s", p.describe(n, "msgs"))
	first, last := applied.first.Load().(time.Time).Sub(start), applied.last.Load().(time.Time).Sub(start)
	b.Logf("e2e timeline: first event applied after %s (joining the group, first fetch), last after %s "+
		"(%s between them), last offsets committed %s later (the last batch's wait and flush)",
		first.Round(time.Millisecond), last.Round(time.Millisecond), rate(valid-1, last-first, "events"),
		(p.wall - last).Round(time.Millisecond))
	flush := histogram(b, metrics, "sanse_ingest_flush_duration_seconds", nil)
	records := histogram(b, metrics, "sanse_ingest_batch_records", nil)
	var inserts time.Duration
	var parts []string
	for _, table := range []string{"risk_transitions", "level_changes", "events"} {
		h := histogram(b, metrics, "sanse_store_insert_duration_seconds", map[string]string{"table": table})
		rows := counterValue(b, metrics, "sanse_store_insert_rows_total", map[string]string{"table": table})
		inserts += h.seconds()
		parts = append(parts, fmt.Sprintf("%s %.0f rows in %d inserts, %s", table, rows, h.count, h.seconds().Round(time.Millisecond)))
	}
	flushing := flush.seconds()
	// Flushes run one at a time; with the next batch filling meanwhile,
	// the rest of the work overlaps them and only the time without a flush
	// running adds to theirs.
	b.Logf("e2e breakdown: %d flushes of %.0f records on average; flushing %s (%.0f%% of e2e): store inserts %s [%s], "+
		"dead letters and offset commits %s; no flush running %s (joining, the first batch, batches not yet due, "+
		"the last batch's wait, and whatever of fetch, decode, evaluate does not overlap a flush)",
		flush.count, records.sum/float64(max(records.count, 1)), flushing.Round(time.Millisecond),
		100*flushing.Seconds()/p.wall.Seconds(), inserts.Round(time.Millisecond), strings.Join(parts, "; "),
		(flushing - inserts).Round(time.Millisecond), (p.wall - flushing).Round(time.Millisecond))
	ch.drop(b, st)
	return p
}

// storeCounter counts the events of successful writes and closes done once
// it has seen want of them.
type storeCounter struct {
	*store.Store
	want      int64
	events    atomic.Int64
	lastWrite atomic.Value // time.Time
	once      sync.Once
	done      chan struct{}
}

func (s *storeCounter) Write(ctx context.Context, b *engine.Batch) error {
	if err := s.Store.Write(ctx, b); err != nil {
		return err
	}
	s.lastWrite.Store(time.Now())
	if s.events.Add(int64(len(b.Events))) >= s.want {
		s.once.Do(func() { close(s.done) })
	}
	return nil
}

// engineClock records when the first and the want-th event were applied.
type engineClock struct {
	*engine.Engine
	want        int64
	applied     atomic.Int64
	first, last atomic.Value // time.Time
}

func (e *engineClock) Apply(ev *engine.Event, out *engine.Output) error {
	n := e.applied.Add(1)
	if n == 1 {
		e.first.Store(time.Now())
	}
	if n == e.want {
		e.last.Store(time.Now())
	}
	return e.Engine.Apply(ev, out)
}

// committedSum returns the sum of the offsets group committed on topics:
// with nothing deleted, the number of messages it committed.
func committedSum(b *testing.B, addr, group string, topics []string) int64 {
	var sum int64
	for _, t := range topics {
		for _, off := range committed(b, addr, group, t) {
			sum += off
		}
	}
	return sum
}

// phase is one timed run of one way of moving the messages, with the CPU
// time that this process, the ClickHouse server and any child process
// spent in it.
type phase struct {
	wall      time.Duration
	cpu       time.Duration // this process: clients, consumer and embedded broker
	serverCPU time.Duration // the whole ClickHouse server, as it counts itself
	childCPU  time.Duration // clickhouse-client
}

func (p phase) describe(n int, unit string) string {
	s := fmt.Sprintf("%d %s in %s = %s; CPU: this process %s, ClickHouse server %s",
		n, unit, p.wall.Round(time.Millisecond), rate(n, p.wall, unit), p.cpu.Round(time.Millisecond), p.serverCPU.Round(time.Millisecond))
	if p.childCPU > 0 {
		s += fmt.Sprintf(", clickhouse-client %s", p.childCPU.Round(time.Millisecond))
	}
	return s + fmt.Sprintf(" (%.2f of %d cores busy)", (p.cpu+p.serverCPU+p.childCPU).Seconds()/p.wall.Seconds(), runtime.NumCPU())
}

type phaseTotal struct {
	wall time.Duration
	runs int
}

func (t *phaseTotal) add(p phase) {
	t.wall += p.wall
	t.runs++
}

func (t *phaseTotal) rate(n int) float64 { return float64(n*t.runs) / t.wall.Seconds() }

func rate(n int, d time.Duration, unit string) string {
	return fmt.Sprintf("%.0f %s/s", float64(n)/d.Seconds(), unit)
}

func byteSize(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.1f MiB", float64(fi.Size())/(1<<20))
}

// processCPU returns the user and system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchClickHouse reaches the ClickHouse server of the DSN with the Go
// driver, for setting up and checking, and with clickhouse-client.
type benchClickHouse struct {
	dsn    *url.URL
	conn   driver.Conn
	client []string // the client command with its connection flags
	// childCPU is the CPU time of the last clickhouse-client run.
	childCPU time.Duration
}

func newBenchClickHouse(b *testing.B, dsn string, client []string) *benchClickHouse {
	u, err := url.Parse(dsn)
	require.NoError(b, err)
	opts, err := clickhouse.ParseDSN(dsn)
	require.NoError(b, err)
	conn, err := clickhouse.Open(opts)
	require.NoError(b, err)
	b.Cleanup(func() { conn.Close() })
	require.NoError(b, conn.Ping(b.Context()))
	return &benchClickHouse{dsn: u, conn: conn, client: benchkit.ClientArgs(client, u)}
}

// freshDatabase opens a store on a new database, migrated, dropped at the
// end of the benchmark if drop was not called before.
func (ch *benchClickHouse) freshDatabase(b *testing.B, reg prometheus.Registerer) *store.Store {
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	u := *ch.dsn
	u.Path = "/sanse_bench_" + hex.EncodeToString(suffix)
	st, err := store.Open(b.Context(), u.String(), testLogger(b), reg)
	require.NoError(b, err)
	require.NoError(b, st.Migrate(b.Context()))
	b.Cleanup(func() { ch.drop(b, st) })
	return st
}

// drop drops the store's database and closes the store; it may be called
// again.
func (ch *benchClickHouse) drop(b *testing.B, st *store.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(b, ch.conn.Exec(ctx, "DROP DATABASE IF EXISTS `"+st.Database()+"`"))
	_ = st.Close()
}

func (ch *benchClickHouse) countEvents(b *testing.B, database string) uint64 {
	var n uint64
	require.NoError(b, ch.conn.QueryRow(b.Context(), "SELECT count() FROM `"+database+"`.events").Scan(&n))
	return n
}

// serverCPU returns the user and system CPU time the server has counted
// for its query and background threads since it started.
func (ch *benchClickHouse) serverCPU(b *testing.B) time.Duration {
	var us uint64
	require.NoError(b, ch.conn.QueryRow(b.Context(), "SELECT sum(value) FROM system.events "+
		"WHERE event IN ('UserTimeMicroseconds', 'SystemTimeMicroseconds')").Scan(&us))
	return time.Duration(us) * time.Microsecond
}

// measure runs fn, which returns the time it measured itself, and adds the
// CPU time spent meanwhile.
func (ch *benchClickHouse) measure(b *testing.B, fn func() time.Duration) phase {
	b.StopTimer()
	server, self := ch.serverCPU(b), processCPU(b)
	ch.childCPU = 0
	b.StartTimer()
	wall := fn()
	b.StopTimer()
	defer b.StartTimer()
	return phase{wall: wall, cpu: processCPU(b) - self, serverCPU: ch.serverCPU(b) - server, childCPU: ch.childCPU}
}

// insertTSV runs clickhouse-client inserting the TSV file into the events
// table of database and returns how long the process took, start to exit.
func (ch *benchClickHouse) insertTSV(b *testing.B, database, path string) time.Duration {
	f, err := os.Open(path)
	require.NoError(b, err)
	defer f.Close()
	query := fmt.Sprintf("INSERT INTO `%s`.events (%s) FORMAT TSV", database, benchkit.EventColumns)
	cmd := ch.command("--query", query)
	cmd.Stdin = f
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err = cmd.Run()
	elapsed := time.Since(start)
	require.NoError(b, err, "clickhouse-client: %s", stderr.String())
	ch.childCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return elapsed
}

// command returns the client command with args after the connection flags.
func (ch *benchClickHouse) command(args ...string) *exec.Cmd {
	full := append(slices.Clone(ch.client), args...)
	return exec.Command(full[0], full[1:]...)
}

// clientStartup returns the shortest of three clickhouse-client runs of
// SELECT 1: the cost of starting the process and connecting.
func (ch *benchClickHouse) clientStartup(b *testing.B) time.Duration {
	best := time.Duration(1<<63 - 1)
	for range 3 {
		cmd := ch.command("--query", "SELECT 1")
		start := time.Now()
		out, err := cmd.CombinedOutput()
		require.NoError(b, err, "clickhouse-client: %s", out)
		best = min(best, time.Since(start))
	}
	return best
}

// histogramTotal is the sum and count of a histogram series.
type histogramTotal struct {
	sum   float64
	count uint64
}

// seconds returns the sum of a histogram of seconds as a duration.
func (h histogramTotal) seconds() time.Duration { return time.Duration(h.sum * float64(time.Second)) }

func histogram(b *testing.B, reg *prometheus.Registry, name string, labels map[string]string) histogramTotal {
	mfs, err := reg.Gather()
	require.NoError(b, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); h != nil && labelsMatch(m.GetLabel(), labels) {
				return histogramTotal{sum: h.GetSampleSum(), count: h.GetSampleCount()}
			}
		}
	}
	return histogramTotal{}
}

func gaugeValue(b *testing.B, reg *prometheus.Registry, name string) float64 {
	mfs, err := reg.Gather()
	require.NoError(b, err)
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return 0
}

func counterValue(b *testing.B, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	mfs, err := reg.Gather()
	require.NoError(b, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if c := m.GetCounter(); c != nil && labelsMatch(m.GetLabel(), labels) {
				return c.GetValue()
			}
		}
	}
	return 0
}

// labelPair is a metric's label as the client model returns it.
type labelPair interface {
	GetName() string
	GetValue() string
}

// labelsMatch reports whether got has the values of want for the labels
// want names.
func labelsMatch[L labelPair](got []L, want map[string]string) bool {
	for _, lp := range got {
		if v, ok := want[lp.GetName()]; ok && v != lp.GetValue() {
			return false
		}
	}
	return true
}
