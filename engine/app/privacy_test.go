package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/app"
	"github.com/sanse-campus/sanse/engine/ingest"
	"github.com/sanse-campus/sanse/engine/notify"
	"github.com/sanse-campus/sanse/engine/testlog"
	"github.com/sanse-campus/sanse/rules"
)

// Personal numbers of the test, real-looking: the ID numbers' check
// characters are right. Each is written here as the producer sends it; none
// may be found in clear anywhere Sanse writes or sends.
var personalNumbers = []string{
	"440306199003074513", // visitor_id
	"330402201506010022", // a pupil's ID number, nested in an unknown field
	"110101201201150039", // a canteen worker's ID number as staff_id
	"11010519491231002X", // nested in an unknown array
	"13912345678",        // in host (a known field)
	"13812345678",        // an unknown top-level field
	"137 1234 5678",      // +86, with spaces, nested
	"15912345678",        // in symptom
	"18612345678",        // in suspect_refs
	"18712345678",        // as the reporter
	"13512345678",        // in a message of the wrong type
	"13612345678",        // as an unknown school id
	"13312345678",        // in a message that is not JSON
	"330402800101123",    // first-generation ID number in a note
	"13212345678",        // as the id of an event, which is hashed
	"15812345678",        // in an event too old to accept
}

// TestNoClearPersonalNumberLeaves produces visitor, canteen and bullying
// events, valid and not, with ID-card and mobile numbers in known, unknown
// and nested fields, through the whole App, and looks for them in every
// column of every ClickHouse table, on the dead-letter topic, in the logs,
// on the live stream and in what two webhook receivers get (one of which
// reveals pupils and reporters).
func TestNoClearPersonalNumberLeaves(t *testing.T) {
	e := newEnv(t)
	hooks := newHookRecorder(t)
	logs := &testlog.Buffer{}
	stream := &jsonStream{}
	a, err := app.New(t.Context(), app.Options{
		RegistryFile: registryFile, VisitorKeyFile: filepath.Join(e.dataDir, "visitor.key"),
		Rules: rules.ManagerOptions{},
		Kafka: ingest.Options{
			GroupID: "sanse", Topics: topics, DeadLetterTopic: "campus.deadletter",
			BatchSize: 1000, BatchInterval: 20 * time.Millisecond,
		},
		EmbeddedKafka: ingest.BrokerOptions{ListenAddr: "127.0.0.1:0", DataDir: filepath.Join(e.dataDir, "kafka"), Partitions: 2},
		ClickHouseDSN: e.dsn,
		Alerting: alert.Config{
			Receivers: []notify.ReceiverConfig{
				{Name: "office", Webhook: &notify.WebhookConfig{URL: hooks.srv.URL + "/office"}},
				{Name: "committee", Reveal: []notify.Sensitivity{notify.SensitiveStudent, notify.SensitiveReporter},
					Webhook: &notify.WebhookConfig{URL: hooks.srv.URL + "/committee"}},
			},
			Route: alert.Route{Receivers: []string{"office", "committee"}, GroupWait: 10 * time.Millisecond},
		},
		HazardCheckInterval: 100 * time.Millisecond,
		Stream:              stream,
		Logger:              slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registerer:          prometheus.NewRegistry(),
	})
	require.NoError(t, err)
	r := &running{App: a, t: t, stream: &recordingStream{}}
	t.Cleanup(r.stop)
	r.run(t)

	now := time.Now()
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339Nano) }
	valid := []map[string]any{
		{
			"id": "p-visitor", "school_id": schoolA, "source": "visitor", "type": "entry", "occurred_at": at(0),
			"visitor_id": "440306199003074513", "name": "张三", "id_verified": true, "watchlist": "blacklist",
			"gate": "东门", "host": "李老师 13912345678", "phone": "13812345678",
			"guardian": map[string]any{"id": "330402201506010022", "mobile": "+86 137 1234 5678"},
		},
		{
			"id": "p-canteen", "school_id": schoolB, "source": "canteen", "type": "health_check", "occurred_at": at(0),
			"staff_id": "110101201201150039", "passed": false, "symptom": "发热，电话15912345678",
			"extra": []any{map[string]any{"idcard": "11010519491231002X"}},
		},
		{
			"id": "p-bullying", "school_id": schoolC, "source": "bullying", "type": "report", "occurred_at": at(0),
			"channel": "teacher", "victim_ref": "S-2026-0117", "kind": "physical", "injury": true,
			"suspect_refs": []string{"S-2026-0201", "18612345678"}, "reporter": "18712345678",
		},
		{
			"id": "p-patrol", "school_id": schoolA, "source": "drowning", "type": "patrol", "occurred_at": at(0),
			"water_body": "南湖", "hazard_found": true, "note": "家长身份证330402800101123",
		},
		// Stored under the keyed hash of its id.
		{"id": "13212345678", "school_id": schoolA, "source": "drowning", "type": "weather", "occurred_at": at(0), "rain_mm_24h": 1},
	}
	produce(t, a.Brokers(), valid...)
	invalid := []map[string]any{
		{"id": "p-wrong-type", "school_id": schoolB, "source": "canteen", "type": "storage_temp", "occurred_at": at(0),
			"device": "F1", "celsius": "13512345678", "zone": "fridge"},
		{"id": "p-unknown-school", "school_id": "13612345678", "source": "bullying", "type": "screening", "occurred_at": at(0),
			"student_ref": "S-1", "score": 70, "threshold": 60},
		{"id": "p-too-old", "school_id": schoolA, "source": "drowning", "type": "patrol", "occurred_at": at(-60 * 24 * time.Hour),
			"water_body": "南湖", "hazard_found": false, "note": "15812345678"},
	}
	produce(t, a.Brokers(), invalid...)
	cl := producer(t, a.Brokers())
	require.NoError(t, cl.ProduceSync(t.Context(), &kgo.Record{
		Topic: topics[engine.SourceVisitor], Key: []byte(schoolA),
		Value:   []byte(`{"id":"p-cut","school_id":"` + schoolA + `","visitor_id":"440306199003074513","name":"张三","phone":"13312345678"`),
		Headers: []kgo.RecordHeader{{Key: "operator", Value: []byte("13312345678")}},
	}).FirstErr())
	deadLetters := len(invalid) + 1

	waitFor(t, time.Minute, "the valid events stored", func() bool { return storedEvents(t, a) == len(valid) })
	dead := consumeAll(t, a.Brokers(), "campus.deadletter", deadLetters)
	waitFor(t, time.Minute, "notifications to both receivers", func() bool {
		return hooks.count("/office") > 0 && hooks.count("/committee") > 0
	})
	// The bullying report's alert reaches the committee, which reveals
	// pupils and reporters.
	waitFor(t, time.Minute, "the bullying alert delivered", func() bool {
		return strings.Contains(hooks.body("/committee"), "S-2026-0117")
	})

	places := map[string]string{
		"ClickHouse":        dumpDatabase(t, e.dsn),
		"dead-letter topic": dead,
		"logs":              logs.String(),
		"live stream":       stream.String(),
		"notifications":     hooks.body("/office") + hooks.body("/committee"),
	}
	for place, text := range places {
		require.NotEmpty(t, text, place)
		for _, n := range personalNumbers {
			require.NotContains(t, text, n, "%s holds %s in clear", place, n)
			require.NotContains(t, strings.ToLower(text), strings.ToLower(n), "%s holds %s in clear", place, n)
		}
	}
	// And the masked forms are where they belong.
	require.Contains(t, places["ClickHouse"], "4403**********4513")
	require.Contains(t, places["ClickHouse"], "李老师 139****5678")
	require.Contains(t, places["dead-letter topic"], "4403**********4513")
	require.Contains(t, places["dead-letter topic"], "133****5678")
	require.NotContains(t, places["ClickHouse"], "guardian", "unknown fields are not stored")
}

// hookRecorder is a webhook receiver that keeps every body, by path.
type hookRecorder struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies map[string][]string
}

func newHookRecorder(t *testing.T) *hookRecorder {
	h := &hookRecorder{bodies: map[string][]string{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies[r.URL.Path] = append(h.bodies[r.URL.Path], unescapeJSON(b))
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookRecorder) count(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.bodies[path])
}

func (h *hookRecorder) body(path string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.bodies[path], "\n")
}

// unescapeJSON returns b with its JSON strings' escapes read, so that an
// escaped digit cannot hide a number from the search; b as it is when it
// is not JSON.
func unescapeJSON(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	var out strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				out.WriteString(k + "\n")
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		default:
			fmt.Fprintf(&out, "%v\n", v)
		}
	}
	walk(v)
	return string(b) + "\n" + out.String()
}

// jsonStream is a live stream that keeps everything it is handed as JSON.
type jsonStream struct{ buf testlog.Buffer }

func (s *jsonStream) Publish(c engine.LevelChange) { s.write(c) }

func (s *jsonStream) PublishAlert(a *alert.Alert) { s.write(a) }

func (s *jsonStream) write(v any) {
	b, _ := json.Marshal(v)
	_, _ = s.buf.Write(append([]byte(unescapeJSON(b)), '\n'))
}

func (s *jsonStream) String() string { return s.buf.String() }

// consumeAll reads n records of the topic from its start and returns
// their keys, values and headers as text.
func consumeAll(t *testing.T, brokers []string, topic string, n int) string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var out strings.Builder
	got := 0
	for got < n {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "%d of %d dead letters read", got, n)
		fs.EachRecord(func(r *kgo.Record) {
			got++
			out.WriteString(string(r.Key) + "\n" + unescapeJSON(r.Value) + "\n")
			for _, h := range r.Headers {
				out.WriteString(h.Key + ": " + string(h.Value) + "\n")
			}
		})
	}
	return out.String()
}

// dumpDatabase returns every value of every column of every table of the
// DSN's database, as text.
func dumpDatabase(t *testing.T, dsn string) string {
	t.Helper()
	opts, err := clickhouse.ParseDSN(dsn)
	require.NoError(t, err)
	conn, err := clickhouse.Open(opts)
	require.NoError(t, err)
	defer conn.Close()
	ctx := t.Context()
	rows, err := conn.Query(ctx, `SELECT table, name FROM system.columns WHERE database = currentDatabase() `)
	require.NoError(t, err)
	columns := map[string][]string{}
	for rows.Next() {
		var table, name string
		require.NoError(t, rows.Scan(&table, &name))
		columns[table] = append(columns[table], name)
	}
	require.NoError(t, rows.Err())
	require.Contains(t, columns, "events")
	var out strings.Builder
	for table, cols := range columns {
		for _, c := range cols {
			q := fmt.Sprintf("SELECT toString(`%s`) FROM `%s`", c, table)
			rows, err := conn.Query(ctx, q)
			require.NoError(t, err, q)
			for rows.Next() {
				var v string
				require.NoError(t, rows.Scan(&v))
				out.WriteString(table + "." + c + ": " + unescapeJSON([]byte(v)) + "\n")
			}
			require.NoError(t, rows.Err())
		}
	}
	return out.String()
}
