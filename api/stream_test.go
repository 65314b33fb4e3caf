package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

// streamWait bounds every wait for something a stream must do.
const streamWait = 10 * time.Second

// sseBlock is one block of a stream, up to a blank line: an event, or only
// an id, or a comment.
type sseBlock struct {
	event, id, data, retry string
	comments               []string
}

// sseClient reads one stream, a block at a time and only when asked, so
// that a test can stop reading.
type sseClient struct {
	resp   *http.Response
	want   chan struct{}
	blocks chan sseResult
}

type sseResult struct {
	block sseBlock
	err   error
}

// openStream opens GET target on ts with the header lastID as Last-Event-ID
// (none when empty) and district as the test scope header, and checks the
// response is an event stream.
func openStream(t *testing.T, ts *httptest.Server, target, lastID, district string) *sseClient {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.URL+target, nil)
	require.NoError(t, err)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	if district != "" {
		req.Header.Set(testDistrictHeader, district)
	}
	resp, err := ts.Client().Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	require.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
	require.Equal(t, "no", resp.Header.Get("X-Accel-Buffering"))
	return newSSEClient(resp)
}

func newSSEClient(resp *http.Response) *sseClient {
	c := &sseClient{resp: resp, want: make(chan struct{}), blocks: make(chan sseResult)}
	go func() {
		br := bufio.NewReader(resp.Body)
		for range c.want {
			b, err := readBlock(br)
			c.blocks <- sseResult{b, err}
			if err != nil {
				return
			}
		}
	}()
	return c
}

// readBlock reads one block of the text/event-stream format.
func readBlock(br *bufio.Reader) (sseBlock, error) {
	var b sseBlock
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return b, err
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			return b, nil
		}
		if c, ok := strings.CutPrefix(line, ":"); ok {
			b.comments = append(b.comments, strings.TrimSpace(c))
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			b.event = value
		case "id":
			b.id = value
		case "data":
			b.data = value
		case "retry":
			b.retry = value
		}
	}
}

// block returns the next block, failing the test if none comes in time.
func (c *sseClient) block(t *testing.T) sseBlock {
	t.Helper()
	r, err := c.read()
	require.NoError(t, err)
	return r
}

// errNoBlock is returned by read when the stream sent nothing in time.
var errNoBlock = errors.New("no block in time")

// read returns the next block or the error that ended the stream.
func (c *sseClient) read() (sseBlock, error) {
	select {
	case c.want <- struct{}{}:
	case <-time.After(streamWait):
		return sseBlock{}, errNoBlock
	}
	select {
	case r := <-c.blocks:
		return r.block, r.err
	case <-time.After(streamWait):
		return sseBlock{}, errNoBlock
	}
}

// event returns the next block that is an event (a reset or a change),
// skipping comments and blocks that only set the id.
func (c *sseClient) event(t *testing.T) sseBlock {
	t.Helper()
	for {
		if b := c.block(t); b.event != "" {
			return b
		}
	}
}

// testDistrictHeader narrows the test server's scope to a district.
const testDistrictHeader = "X-Test-District"

// newStreamServer returns a test HTTP server of a Server with hub, the
// scope given by testDistrictHeader (all schools without it), and opts for
// the rest.
func newStreamServer(t *testing.T, hub *Hub, opts Options) *httptest.Server {
	t.Helper()
	opts.Stream = hub
	opts.Scope = func(r *http.Request) (Scope, error) {
		d := r.Header.Get(testDistrictHeader)
		if d == "" {
			return ScopeAll, nil
		}
		if d == "refused" {
			return Scope{}, errors.New("token expired")
		}
		return Scope{District: d}, nil
	}
	s := newTestServer(t, opts)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts
}

// change returns a colour change of school, numbered n in its cause.
func change(school string, n int) engine.LevelChange {
	return engine.LevelChange{
		ID: "ev-" + strconv.Itoa(n) + ":visitor.blacklist", SchoolID: school,
		At: at("2025-06-09T07:42:00+08:00").Add(time.Duration(n) * time.Second), From: engine.LevelGreen, To: engine.LevelRed,
		Cause: engine.Cause{Rule: "visitor.blacklist", Text: "新增高风险：禁入名单人员到访 #" + strconv.Itoa(n)}, EventID: "ev-" + strconv.Itoa(n), ActiveRisks: 1,
	}
}

// requireLevel checks that b is the level event of the change with
// sequence number seq of hub.
func requireLevel(t *testing.T, hub *Hub, b sseBlock, seq uint64) {
	t.Helper()
	require.Equal(t, "level", b.event, "block %+v", b)
	require.Equal(t, hub.eventID(seq), b.id)
}

func TestStreamSendsLiveChanges(t *testing.T) {
	reg := prometheus.NewRegistry()
	hub := NewHub(0, reg)
	ts := newStreamServer(t, hub, Options{})
	c := openStream(t, ts, "/api/v1/stream", "", "")

	first := c.block(t)
	require.Equal(t, "3000", first.retry)
	require.Equal(t, hub.run+"-0", first.id, "the client learns where it starts")
	require.Empty(t, first.event)

	hub.Publish(engine.LevelChange{
		ID: "ev-visitor-1:visitor.blacklist", SchoolID: "JX-NH-0001", At: at("2025-06-09T07:42:00+08:00"),
		From: engine.LevelYellow, To: engine.LevelRed, Cause: engine.Cause{How: engine.RiskOpened, Rule: "visitor.blacklist", Title: "禁入名单人员到访", Severity: engine.SeverityHigh}, EventID: "ev-visitor-1",
		ActiveRisks: 2,
	})
	hub.Publish(engine.LevelChange{
		ID: "expired:canteen.no_hat/后厨:1749523200000", SchoolID: "JX-NH-0002", At: at("2025-06-10T10:20:00+08:00"),
		From: engine.LevelYellow, To: engine.LevelGreen,
		Cause: engine.Cause{Rule: "canteen.no_hat", Text: "风险已到期解除：后厨人员未戴帽"}})

	b := c.event(t)
	requireLevel(t, hub, b, 1)
	require.JSONEq(t, `{"school_id":"JX-NH-0001","from":"yellow","to":"red","level_zh":"红色",
		"at":"2025-06-09T07:42:00+08:00","rule":"visitor.blacklist","event_id":"ev-visitor-1",
		"cause":"新增高风险：禁入名单人员到访","cause_en":"New high risk: 禁入名单人员到访","active_risks":2}`, b.data)
	b = c.event(t)
	requireLevel(t, hub, b, 2)
	require.JSONEq(t, `{"school_id":"JX-NH-0002","from":"yellow","to":"green","level_zh":"绿色",
		"at":"2025-06-10T10:20:00+08:00","rule":"canteen.no_hat","event_id":null,
		"cause":"风险已到期解除：后厨人员未戴帽","cause_en":"风险已到期解除：后厨人员未戴帽","active_risks":0}`, b.data)

	require.Equal(t, 1.0, testutil.ToFloat64(hub.metrics.clients))
	require.Eventually(t, func() bool { return testutil.ToFloat64(hub.metrics.events) == 2 },
		streamWait, 5*time.Millisecond)
	require.NoError(t, c.resp.Body.Close())
	require.Eventually(t, func() bool { return testutil.ToFloat64(hub.metrics.clients) == 0 },
		streamWait, 5*time.Millisecond, "the stream ends when the client goes away")
}

func TestStreamResumesAfterLastEventID(t *testing.T) {
	hub := NewHub(0, nil)
	ts := newStreamServer(t, hub, Options{})
	for i := range 5 {
		hub.Publish(change("JX-NH-0001", i+1))
	}
	tests := []struct {
		name   string
		target string
		header string
	}{
		{name: "header", target: "/api/v1/stream", header: hub.eventID(2)},
		{name: "query parameter", target: "/api/v1/stream?last_event_id=" + url.QueryEscape(hub.eventID(2))},
		// EventSource keeps the URL of its first connection and sends the
		// newer id as the header when it reconnects.
		{name: "header wins over the query", target: "/api/v1/stream?last_event_id=" + hub.eventID(0), header: hub.eventID(2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := openStream(t, ts, tt.target, tt.header, "")
			require.Equal(t, hub.eventID(2), c.block(t).id)
			for seq := uint64(3); seq <= 5; seq++ {
				b := c.event(t)
				requireLevel(t, hub, b, seq)
				require.Contains(t, b.data, "#"+strconv.FormatUint(seq, 10)+`"`)
			}
		})
	}

	t.Run("then live", func(t *testing.T) {
		c := openStream(t, ts, "/api/v1/stream", hub.eventID(4), "")
		requireLevel(t, hub, c.event(t), 5)
		hub.Publish(change("JX-NH-0001", 6))
		requireLevel(t, hub, c.event(t), 6)
	})
}

func TestStreamResetsUnknownOrExpiredIDs(t *testing.T) {
	reg := prometheus.NewRegistry()
	hub := NewHub(4, reg)
	ts := newStreamServer(t, hub, Options{})
	for i := range 10 {
		hub.Publish(change("JX-NH-0001", i+1))
	}
	// The ring keeps 7 to 10: a client that saw 6 has missed nothing lost.
	tests := []struct {
		name       string
		lastID     string
		wantReason string // "" when the missed changes are sent
		wantFirst  uint64
	}{
		{name: "another run", lastID: "0123456789ab-5", wantReason: "restarted"},
		{name: "not an id", lastID: "hello", wantReason: "restarted"},
		{name: "seq from the future", lastID: hub.eventID(11), wantReason: "restarted"},
		{name: "older than the ring", lastID: hub.eventID(5), wantReason: "expired"},
		{name: "oldest kept", lastID: hub.eventID(6), wantFirst: 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := openStream(t, ts, "/api/v1/stream", tt.lastID, "")
			b := c.block(t)
			require.Equal(t, "3000", b.retry)
			if tt.wantReason == "" {
				require.Empty(t, b.event)
				requireLevel(t, hub, c.event(t), tt.wantFirst)
				return
			}
			require.Equal(t, "reset", b.event)
			require.Equal(t, hub.eventID(10), b.id, "the client resumes from the newest after reloading")
			require.JSONEq(t, `{"reason":"`+tt.wantReason+`"}`, b.data)
		})
	}
	require.Equal(t, 3.0, testutil.ToFloat64(hub.metrics.resets.WithLabelValues("restarted")))
	require.Equal(t, 1.0, testutil.ToFloat64(hub.metrics.resets.WithLabelValues("expired")))

	// After a reset the stream goes on with the next change.
	c := openStream(t, ts, "/api/v1/stream", "0123456789ab-5", "")
	require.Equal(t, "reset", c.block(t).event)
	hub.Publish(change("JX-NH-0001", 11))
	requireLevel(t, hub, c.event(t), 11)
}

func TestStreamSlowClientIsResetAndPublishNeverBlocks(t *testing.T) {
	reg := prometheus.NewRegistry()
	hub := NewHub(16, reg)
	ts := newStreamServer(t, hub, Options{})
	c := openStream(t, ts, "/api/v1/stream", "", "")
	require.Equal(t, hub.eventID(0), c.block(t).id)

	// The client reads nothing more while far more is published than the
	// connection's buffers hold, so the stream must fall behind the ring.
	const n = 100_000
	long := strings.Repeat("溺", 400)
	published := make(chan struct{})
	go func() {
		defer close(published)
		for i := range n {
			ch := change("JX-NH-0001", i+1)
			ch.Cause = engine.Cause{Text: long}
			hub.Publish(ch)
		}
	}()
	select {
	case <-published:
	case <-time.After(streamWait):
		t.Fatal("Publish blocked on a client that does not read")
	}

	// Every level event follows the one before without a gap, except
	// after a reset, which carries the id of the newest change then.
	var sawReset bool
	var prev uint64
	for prev != n {
		b := c.event(t)
		seq, err := strconv.ParseUint(strings.TrimPrefix(b.id, hub.run+"-"), 10, 64)
		require.NoError(t, err, "id %q", b.id)
		switch b.event {
		case "reset":
			require.JSONEq(t, `{"reason":"behind"}`, b.data)
			require.Greater(t, seq, prev)
			sawReset = true
		case "level":
			require.Equal(t, prev+1, seq, "changes are sent in order without gaps")
		default:
			t.Fatalf("unexpected event %q", b.event)
		}
		prev = seq
	}
	require.True(t, sawReset, "a client that fell behind is told to reload")
	require.Positive(t, testutil.ToFloat64(hub.metrics.resets.WithLabelValues("behind")))

	hub.Publish(change("JX-NH-0001", n+1))
	requireLevel(t, hub, c.event(t), n+1)
}

func TestStreamScope(t *testing.T) {
	schools := testSchools()
	registry := func(id string) *engine.School {
		v, ok := schools.views[id]
		if !ok {
			return nil
		}
		return v.School
	}
	tests := []struct {
		name     string
		lookup   SchoolFunc
		district string // the caller's scope
		query    string
		want     []string // school ids, in order
	}{
		{name: "district scope", district: "南湖区", want: []string{"JX-NH-0001", "JX-NH-0002"}},
		{name: "district scope with the School lookup", lookup: registry, district: "南湖区", want: []string{"JX-NH-0001", "JX-NH-0002"}},
		{name: "other district scope", district: "秀洲区", want: []string{"JX-XZ-0001"}},
		{name: "all, district filter", query: "?district=秀洲区,嘉善县", want: []string{"JX-XZ-0001", "JX-JS-0001"}},
		{name: "district filter outside the scope", district: "南湖区", query: "?district=秀洲区", want: nil},
		{name: "all", want: []string{"JX-NH-0001", "JX-XZ-0001", "JX-NH-0002", "JX-JS-0001"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hub := NewHub(0, nil)
			ts := newStreamServer(t, hub, Options{Schools: schools, School: tt.lookup, StreamHeartbeat: 10 * time.Millisecond})
			c := openStream(t, ts, "/api/v1/stream"+tt.query, "", tt.district)
			c.block(t)
			ids := []string{"JX-NH-0001", "JX-XZ-0001", "JX-NONE", "JX-NH-0002", "JX-JS-0001", "JX-XZ-0001"}
			for i, id := range ids {
				hub.Publish(change(id, i+1))
			}
			// The stream has passed the last change once it sends its id,
			// with that change or, when it skipped it, with a heartbeat.
			last := hub.eventID(uint64(len(ids)))
			var got []string
			for {
				b := c.block(t)
				if b.event != "" {
					require.Equal(t, "level", b.event)
					var data struct {
						SchoolID string `json:"school_id"`
					}
					require.NoError(t, json.Unmarshal([]byte(b.data), &data))
					got = append(got, data.SchoolID)
				}
				if b.id == last {
					break
				}
			}
			want := tt.want
			if slices.Contains(want, "JX-XZ-0001") {
				want = append(slices.Clone(want), "JX-XZ-0001") // changed twice
			}
			require.Equal(t, want, got)
		})
	}
}

func TestStreamRefusedScopeIsJSON(t *testing.T) {
	ts := newStreamServer(t, NewHub(0, nil), Options{})
	req, err := http.NewRequest(http.MethodGet, ts.URL+"/api/v1/stream", nil)
	require.NoError(t, err)
	req.Header.Set(testDistrictHeader, "refused")
	resp, err := ts.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.JSONEq(t, `{"error":"token expired"}`, string(body))
}

func TestStreamNotServedWithoutHub(t *testing.T) {
	s := newTestServer(t, Options{})
	requireJSONError(t, serve(t, s.Handler(), http.MethodGet, "/api/v1/stream"), http.StatusNotFound, "/api/v1/stream")
}

func TestStreamHeartbeat(t *testing.T) {
	hub := NewHub(0, nil)
	ts := newStreamServer(t, hub, Options{StreamHeartbeat: 10 * time.Millisecond})
	c := openStream(t, ts, "/api/v1/stream", "", "南湖区")
	require.Equal(t, hub.eventID(0), c.block(t).id)

	b := c.block(t)
	require.Equal(t, []string{"ping"}, b.comments)
	require.Empty(t, b.id, "nothing was skipped")

	// A change outside the scope is not sent, but the next heartbeat moves
	// the client's last event id past it.
	hub.Publish(change("JX-XZ-0001", 1))
	for {
		b := c.block(t)
		require.Empty(t, b.event)
		require.Equal(t, []string{"ping"}, b.comments)
		if b.id != "" {
			require.Equal(t, hub.eventID(1), b.id)
			break
		}
	}
}

func TestStreamEndsOnShutdown(t *testing.T) {
	hub := NewHub(30_000, nil)
	s := newTestServer(t, Options{Stream: hub, ShutdownTimeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done := startRun(t, ctx, s)

	open := func(client *http.Client, target string) *sseClient {
		resp, err := client.Get(base + target)
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		c := newSSEClient(resp)
		c.block(t)
		return c
	}
	// Two idle streams, which are sent none of the changes below, and one
	// whose client stops reading. Its receive buffer is small, so that what
	// is published, all of which the Hub keeps, cannot fit in the
	// connection's buffers: its stream is blocked in a write.
	idle := []*sseClient{
		open(http.DefaultClient, "/api/v1/stream?district=秀洲区"),
		open(http.DefaultClient, "/api/v1/stream?district=嘉善县"),
	}
	var dialer net.Dialer
	small := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			if err == nil {
				err = conn.(*net.TCPConn).SetReadBuffer(4096)
			}
			return conn, err
		},
	}}
	open(small, "/api/v1/stream")
	long := strings.Repeat("溺", 400)
	for i := range 20_000 {
		ch := change("JX-NH-0001", i+1)
		ch.Cause = engine.Cause{Text: long}
		hub.Publish(ch)
	}
	require.Equal(t, 3.0, testutil.ToFloat64(hub.metrics.clients))
	// The stuck stream has sent some changes and then no more: it waits
	// for its client.
	sent := -1.0
	require.Eventually(t, func() bool {
		n := testutil.ToFloat64(hub.metrics.events)
		blocked := n > 0 && n == sent
		sent = n
		return blocked
	}, streamWait, 100*time.Millisecond)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err, "shutdown is graceful, not cut off by its timeout")
	case <-time.After(streamWait):
		t.Fatal("Run did not return: open streams hold the shutdown")
	}
	for _, c := range idle {
		var err error
		for err == nil {
			_, err = c.read()
		}
		require.ErrorIs(t, err, io.EOF, "an idle stream ends properly")
	}
	require.Equal(t, 0.0, testutil.ToFloat64(hub.metrics.clients))
}
