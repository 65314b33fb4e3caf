package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sanse-campus/sanse/engine/store/storetest"
)

// The end-to-end tests run `sanse serve` against a real ClickHouse server and
// a Kafka-protocol broker over TCP, the way an operator runs it: as the
// binary where the process itself is under test (a SIGKILL, a SIGHUP, a new
// user's first run), in the test's own process otherwise (serveInProcess).

var topics = []string{"campus.visitor", "campus.canteen", "campus.drowning", "campus.bullying", "campus.deadletter"}

// No school has a canteen of its own here, so that the daily absence check of
// food samples (13:00 on school days) never falls inside a test run and
// makes two runs differ by the time of day.
const e2eRegistry = `id,name,district,town,stage,longitude,latitude,boarding,canteen
E-01,南湖区第一小学,南湖区,建设街道,primary,120.78,30.75,false,false
E-02,南湖区实验初级中学,南湖区,新兴街道,junior,120.79,30.76,true,false
E-03,秀洲区新塍镇中心幼儿园,秀洲区,新塍镇,kindergarten,120.62,30.83,false,false
E-04,秀洲区高级中学,秀洲区,王江泾镇,senior,120.70,30.80,true,false
E-05,嘉善县第二小学,嘉善县,魏塘街道,primary,120.92,30.83,false,false
E-06,嘉善县职业教育中心,嘉善县,罗星街道,vocational,120.93,30.84,true,false
`

// clickhouseDSN returns the DSN of the test server (storetest.DSN: skipped
// with -short or without the server, a failure in CI).
func clickhouseDSN(t *testing.T) string {
	t.Helper()
	return storetest.DSN(t)
}

// testDatabase returns a DSN for a fresh database (storetest.FreshDSN, dropped
// when the test ends), created here so that the binary finds it, and a
// connection to the server for the test's own queries.
func testDatabase(t *testing.T, _ string) (string, clickhouse.Conn) {
	t.Helper()
	dsn := storetest.FreshDSN(t)
	opts, err := clickhouse.ParseDSN(dsn)
	require.NoError(t, err)
	db := opts.Auth.Database
	opts.Auth.Database = "default"
	conn, err := clickhouse.Open(opts)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.Exec(context.Background(), "CREATE DATABASE IF NOT EXISTS "+db))
	return dsn, conn
}

func lastPathElem(dsn string) string {
	s := strings.TrimPrefix(dsn, "clickhouse://")
	if i := strings.Index(s, "?"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndex(s, "/"); i >= 0 {
		return s[i+1:]
	}
	return ""
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func sanseBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sanse-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "sanse")
		out, err := exec.Command("go", "build", "-race", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// instance is one running `sanse serve`: a process of the binary, or the
// same command run in the test's own process (serveInProcess).
type instance struct {
	t    *testing.T
	cmd  *exec.Cmd          // the process; nil in-process
	quit context.CancelFunc // ends an in-process instance; nil for a process
	web  string
	log  *lockedWriter
	done chan struct{}
	// token is an admin token of the instance's database (testToken); ""
	// when it runs with --web.insecure-no-auth.
	token string
	// readyAt is when the instance first answered /readyz.
	readyAt time.Time
}

func startSanse(t *testing.T, args ...string) *instance {
	t.Helper()
	token := testToken(t, args)
	web := freeAddr(t)
	cmd := exec.Command(sanseBinary(t), append([]string{"serve", "--web.listen-address", web}, args...)...)
	var log bytes.Buffer
	lw := &lockedWriter{w: &log}
	cmd.Stdout, cmd.Stderr = lw, lw
	require.NoError(t, cmd.Start())
	in := &instance{t: t, cmd: cmd, web: web, log: lw, done: make(chan struct{}), token: token}
	go func() { _ = cmd.Wait(); close(in.done) }()
	// A failed test shows what the server logged (after it stopped).
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log of sanse serve at %s:\n%s", web, lw.String())
		}
	})
	t.Cleanup(func() { in.kill() })
	in.waitReady()
	return in
}

// waitReady waits until the instance answers /readyz with 200.
func (in *instance) waitReady() {
	in.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-in.done:
			in.t.Fatalf("sanse exited during start:\n%s", in.log.String())
		default:
		}
		resp, err := http.Get("http://" + in.web + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				in.readyAt = time.Now()
				return
			}
		}
		if time.Now().After(deadline) {
			in.t.Fatalf("sanse not ready after 90s:\n%s", in.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

// kill stops the process at once: no signal handler runs, nothing is
// flushed. An in-process instance cannot be killed; it is stopped.
func (in *instance) kill() {
	if in.cmd == nil {
		in.stop()
		return
	}
	if in.cmd.Process != nil {
		_ = in.cmd.Process.Kill()
		<-in.done
	}
}

// stop asks the instance to shut down gracefully.
func (in *instance) stop() {
	if in.cmd == nil {
		in.quit()
		select {
		case <-in.done:
		case <-time.After(30 * time.Second):
			in.t.Errorf("sanse did not stop within 30s:\n%s", in.log.String())
		}
		return
	}
	_ = in.cmd.Process.Signal(os.Interrupt)
	select {
	case <-in.done:
	case <-time.After(30 * time.Second):
		in.kill()
	}
}

func (in *instance) getJSON(path string, v any) int {
	in.t.Helper()
	resp := in.request(http.MethodGet, path, "", nil)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(in.t, err)
	if v != nil {
		require.NoError(in.t, json.Unmarshal(body, v), "body: %s", body)
	}
	return resp.StatusCode
}

// testEvents returns n valid events over the e2e registry, in time order, a
// mix of ordinary reports and incidents of every source.
func testEvents(n int, start time.Time) []kafka.Message {
	return testEventsOf(n, start, []string{"E-01", "E-02", "E-03", "E-04", "E-05", "E-06"})
}

// testEventsOf is testEvents over the given schools.
func testEventsOf(n int, start time.Time, schools []string) []kafka.Message {
	msgs := make([]kafka.Message, 0, n)
	for i := 0; i < n; i++ {
		school := schools[i%len(schools)]
		at := start.Add(time.Duration(i) * 50 * time.Millisecond).Format(time.RFC3339Nano)
		id := fmt.Sprintf("e2e-%05d", i)
		var topic string
		var ev map[string]any
		switch i % 10 {
		case 0, 1, 2, 3:
			watch := "none"
			switch {
			case i%997 == 0:
				watch = "blacklist"
			case i%331 == 0:
				watch = "watch"
			}
			topic, ev = "campus.visitor", map[string]any{"type": "entry", "visitor_id": fmt.Sprintf("3304021980%08d", i),
				"name": "王五", "id_verified": true, "watchlist": watch, "gate": "东门", "during_class": false}
		case 4, 5, 6:
			c := 4.0
			if i%211 == 0 {
				c = 11.5
			}
			topic, ev = "campus.canteen", map[string]any{"type": "storage_temp", "device": fmt.Sprintf("fridge-%d", i%3), "celsius": c, "zone": "fridge"}
		case 7, 8:
			topic, ev = "campus.drowning", map[string]any{"type": "patrol", "water_body": "南湖", "hazard_found": i%401 == 0, "note": "护栏破损"}
		default:
			if i%149 == 0 {
				topic, ev = "campus.bullying", map[string]any{"type": "report", "channel": "teacher", "victim_ref": "S-" + school + "-1", "kind": "verbal", "injury": false}
			} else {
				topic, ev = "campus.bullying", map[string]any{"type": "screening", "student_ref": fmt.Sprintf("S-%s-%d", school, i), "score": 40, "threshold": 60}
			}
		}
		ev["id"], ev["school_id"], ev["source"], ev["occurred_at"] = id, school, strings.TrimPrefix(topic, "campus."), at
		b, _ := json.Marshal(ev)
		msgs = append(msgs, kafka.Message{Topic: topic, Key: []byte(school), Value: b})
	}
	return msgs
}

func produce(ctx context.Context, brokers []string, msgs []kafka.Message, pause time.Duration) error {
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond}
	defer w.Close()
	for i := 0; i < len(msgs); i += 100 {
		end := min(i+100, len(msgs))
		if err := w.WriteMessages(ctx, msgs[i:end]...); err != nil {
			return err
		}
		time.Sleep(pause)
	}
	return nil
}

// countEvents returns the distinct event ids stored, read the way the
// product reads (FINAL), which folds repeated rows of one id.
func countEvents(t *testing.T, conn clickhouse.Conn, db string) (distinct uint64) {
	t.Helper()
	row := conn.QueryRow(context.Background(), fmt.Sprintf("SELECT uniqExact(id) FROM %s.events FINAL", db))
	require.NoError(t, row.Scan(&distinct))
	return distinct
}

// storedRows returns the rows of the events table as inserted, without
// FINAL, and their distinct ids. With the table's merges stopped, rows > ids
// means an event was inserted twice.
func storedRows(t *testing.T, conn clickhouse.Conn, db string) (rows, ids uint64) {
	t.Helper()
	row := conn.QueryRow(context.Background(), fmt.Sprintf("SELECT count(), uniqExact(id) FROM %s.events", db))
	require.NoError(t, row.Scan(&rows, &ids))
	return rows, ids
}

// storedUncommitted returns how many stored events lie at or past the
// consumer group's committed offset of their partition: messages that the
// broker will deliver again, although what they caused is already stored.
func storedUncommitted(t *testing.T, conn clickhouse.Conn, db string, committed map[string]map[int]int64) int {
	t.Helper()
	rows, err := conn.Query(context.Background(), fmt.Sprintf("SELECT kafka_topic, kafka_partition, kafka_offset FROM %s.events FINAL", db))
	require.NoError(t, err)
	defer rows.Close()
	n := 0
	for rows.Next() {
		var (
			topic     string
			partition int32
			offset    int64
		)
		require.NoError(t, rows.Scan(&topic, &partition, &offset))
		if offset >= committed[topic][int(partition)] {
			n++
		}
	}
	require.NoError(t, rows.Err())
	return n
}

// metric returns the sum of the samples of the metric name on /metrics whose
// labels contain label (all of them when label is "").
func (in *instance) metric(name, label string) float64 {
	in.t.Helper()
	resp, err := http.Get("http://" + in.web + "/metrics")
	require.NoError(in.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(in.t, err)
	var n float64
	for _, line := range strings.Split(string(body), "\n") {
		labels, ok := strings.CutPrefix(line, name)
		if !ok || !strings.HasPrefix(labels, "{") && !strings.HasPrefix(labels, " ") || !strings.Contains(labels, label) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		require.NoError(in.t, err, line)
		n += v
	}
	return n
}

// testBroker starts a Kafka-protocol broker for one test: franz-go's kfake,
// as the embedded broker, with topics of 4 partitions. While the returned
// flag is set, it answers the consumers' offset commits with success and
// keeps none of them, as if each commit were lost between the store's
// acknowledgement and the broker.
func testBroker(t *testing.T) (addrs []string, loseCommits *atomic.Bool) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, topics...))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	loseCommits = new(atomic.Bool)
	c.ControlKey(int16(kmsg.OffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !loseCommits.Load() {
			return nil, nil, false
		}
		commit := req.(*kmsg.OffsetCommitRequest)
		resp := commit.ResponseKind().(*kmsg.OffsetCommitResponse)
		for _, rt := range commit.Topics {
			st := kmsg.NewOffsetCommitResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewOffsetCommitResponseTopicPartition()
				sp.Partition = rp.Partition
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	return c.ListenAddrs(), loseCommits
}

// committedOffsets returns what the consumer group has committed on the
// brokers, by topic and partition: the offset it reads next. A partition
// without a commit is missing.
func committedOffsets(t *testing.T, brokers []string, group string) map[string]map[int]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	resp, err := c.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group}) // no topics: all of the group's
	require.NoError(t, err)
	require.NoError(t, resp.Error)
	out := map[string]map[int]int64{}
	for topic, ps := range resp.Topics {
		for _, p := range ps {
			require.NoError(t, p.Error, "%s/%d", topic, p.Partition)
			if p.CommittedOffset < 0 {
				continue
			}
			if out[topic] == nil {
				out[topic] = map[int]int64{}
			}
			out[topic][p.Partition] = p.CommittedOffset
		}
	}
	return out
}

// consumed returns how many messages of topic the consumer group has
// committed: the sum of its committed offsets, since offsets count from 0.
func consumed(t *testing.T, brokers []string, group, topic string) int64 {
	t.Helper()
	var n int64
	for _, off := range committedOffsets(t, brokers, group)[topic] {
		n += off
	}
	return n
}

// committedTotal returns how many messages of every topic the group "sanse"
// has committed.
func committedTotal(t *testing.T, brokers []string) int64 {
	t.Helper()
	var n int64
	for _, ps := range committedOffsets(t, brokers, "sanse") {
		for _, off := range ps {
			n += off
		}
	}
	return n
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// outcome is what the product shows after a run: the map, every school's
// detail and timeline.
type outcome struct {
	Map       map[string]any
	Details   map[string]any
	Timelines map[string]any
}

func readOutcome(t *testing.T, in *instance) outcome {
	t.Helper()
	o := outcome{Map: map[string]any{}, Details: map[string]any{}, Timelines: map[string]any{}}
	var fc struct {
		Features []struct {
			Properties map[string]any `json:"properties"`
		} `json:"features"`
	}
	require.Equal(t, 200, in.getJSON("/api/v1/map", &fc))
	from := queryTime(time.Now().Add(-24 * time.Hour))
	to := queryTime(time.Now().Add(time.Hour))
	for _, f := range fc.Features {
		id := f.Properties["school_id"].(string)
		o.Map[id] = f.Properties
		var d, tl map[string]any
		require.Equal(t, 200, in.getJSON("/api/v1/schools/"+id, &d))
		o.Details[id] = d
		require.Equal(t, 200, in.getJSON("/api/v1/schools/"+id+"/timeline?from="+from+"&to="+to, &tl))
		o.Timelines[id] = tl["changes"]
	}
	return o
}

func queryTime(t time.Time) string {
	return strings.ReplaceAll(t.UTC().Format(time.RFC3339), ":", "%3A")
}

// runScenario starts a broker and an engine, produces msgs, optionally kills
// the engine mid-stream and restarts it, and returns what the product shows.
//
// Delivery is at least once: a message is committed only after what it
// caused is stored, so after a crash the broker delivers again what the
// killed engine stored but had not committed. The crash run makes sure there
// are such messages (once the first offsets are committed, the broker drops
// the commits until the kill, and more events are stored meanwhile) and
// checks that the restarted engine read them again and dropped them as
// duplicates. "Stored once" is checked on the rows as inserted, without
// FINAL, with the table's merges stopped, so that ClickHouse cannot fold a
// second insert of an event out of sight; the product's own reads use FINAL
// and would count such an event once anyway.
func runScenario(t *testing.T, dsn string, msgs []kafka.Message, crash bool) outcome {
	t.Helper()
	dbDSN, conn := testDatabase(t, dsn)
	db := lastPathElem(dbDSN)
	brokers, loseCommits := testBroker(t)
	dir := t.TempDir()
	reg := filepath.Join(dir, "registry.csv")
	require.NoError(t, os.WriteFile(reg, []byte(e2eRegistry), 0o644))
	args := []string{"--kafka.brokers", strings.Join(brokers, ","), "--clickhouse.dsn", dbDSN,
		"--registry.file", reg, "--data.dir", filepath.Join(dir, "data"), "--log.level", "warn"}

	in := startSanse(t, args...)
	// The engine has created the tables.
	require.NoError(t, conn.Exec(context.Background(), "SYSTEM STOP MERGES "+db+".events"))
	// Produced from when the consumer has joined its group, the stream is
	// read as it comes, not all at once when the engine joins.
	waitFor(t, time.Minute, "partitions assigned to the engine", func() bool {
		return in.metric("sanse_ingest_assigned_partitions", "") > 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	produced := make(chan error, 1)
	go func() { produced <- produce(ctx, brokers, msgs, 50*time.Millisecond) }()
	again := 0 // stored events the restarted engine is delivered again
	if crash {
		waitFor(t, time.Minute, "the first offsets committed", func() bool { return committedTotal(t, brokers) > 0 })
		// From here on, every event stored is stored but not committed.
		loseCommits.Store(true)
		before := countEvents(t, conn, db)
		waitFor(t, time.Minute, "more events stored, a third of the stream in all", func() bool {
			n := countEvents(t, conn, db)
			return n > before && n >= uint64(len(msgs)/3)
		})
		in.kill()
		killed := time.Now()
		n := countEvents(t, conn, db)
		t.Logf("killed the engine with %d of %d events stored", n, len(msgs))
		require.Less(t, n, uint64(len(msgs)), "the kill must happen mid-stream")
		loseCommits.Store(false)
		again = storedUncommitted(t, conn, db, committedOffsets(t, brokers, "sanse"))
		t.Logf("%d stored events are past the committed offsets: the broker delivers them again", again)
		require.Positive(t, again, "the crash must leave stored messages uncommitted, or it shows nothing of re-delivery")
		in = startSanse(t, args...)
		// The replacement joins the group while the killed member is still
		// in it: its partitions move once the group's session timeout has
		// passed without a heartbeat.
		waitFor(t, time.Minute, "events stored again after the kill", func() bool { return countEvents(t, conn, db) > n })
		t.Logf("events stored again %s after the kill (the replacement ready %s after it)", time.Since(killed).Round(100*time.Millisecond),
			in.readyAt.Sub(killed).Round(100*time.Millisecond))
	}
	require.NoError(t, <-produced)
	waitFor(t, 2*time.Minute, "every event stored", func() bool {
		return countEvents(t, conn, db) == uint64(len(msgs))
	})
	// Wait for the last flush's offsets to be committed.
	waitFor(t, time.Minute, "every message committed", func() bool { return committedTotal(t, brokers) == int64(len(msgs)) })
	require.Equal(t, uint64(len(msgs)), countEvents(t, conn, db), "every produced event is stored")
	rows, ids := storedRows(t, conn, db)
	require.Equal(t, uint64(len(msgs)), ids)
	require.Equal(t, ids, rows, "no event was inserted twice")
	dups := in.metric("sanse_ingest_messages_total", `result="duplicate"`)
	t.Logf("the engine read %.0f messages again and dropped them as duplicates", dups)
	require.GreaterOrEqual(t, dups, float64(again),
		"the engine read again every stored but uncommitted message and dropped it as a duplicate")
	o := readOutcome(t, in)
	in.stop()
	return o
}

func TestCrashRestartExactlyOnce(t *testing.T) {
	dsn := clickhouseDSN(t)
	msgs := testEvents(3000, time.Now().Add(-10*time.Minute))
	control := runScenario(t, dsn, msgs, false)
	crashed := runScenario(t, dsn, msgs, true)

	// The stream has incidents: some schools are not green.
	colours := map[string]int{}
	for _, p := range control.Map {
		colours[p.(map[string]any)["level"].(string)]++
	}
	require.Greater(t, colours["red"]+colours["yellow"], 0, "the scenario must produce risks: %v", colours)

	for id := range control.Map {
		require.Equal(t, control.Map[id], crashed.Map[id], "map entry of %s", id)
		require.Equal(t, control.Details[id], crashed.Details[id], "detail of %s", id)
		require.Equal(t, control.Timelines[id], crashed.Timelines[id], "timeline of %s", id)
	}
}
