package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/words"
)

// Defaults of the live stream.
const (
	// DefaultStreamBuffer is how many colour changes a Hub keeps for
	// clients that reconnect when NewHub is given no size.
	DefaultStreamBuffer = 10_000
	// DefaultStreamHeartbeat is how often an idle stream sends a comment
	// when Options.StreamHeartbeat is zero, so that proxies and the
	// browser keep the connection open.
	DefaultStreamHeartbeat = 15 * time.Second
)

const (
	// streamRetry is the reconnection delay the stream asks EventSource
	// for, in milliseconds.
	streamRetry = 3000
	// streamWriteTimeout bounds one write to a client. A client that
	// accepts nothing for this long is disconnected; it reconnects and
	// resumes (or is told to reload) like after any other drop.
	streamWriteTimeout = 30 * time.Second
	// streamBatch is the most changes one stream takes from the Hub, and
	// writes in one flush, at a time.
	streamBatch = 256
)

// Reasons of a reset event, the values of the reason label of
// sanse_api_stream_resets_total.
const (
	// resetRestarted: the client's last event id is not from this run of
	// the server (it restarted), or is not an id the server sent.
	resetRestarted = "restarted"
	// resetExpired: the changes since the client's last event id are no
	// longer all kept.
	resetExpired = "expired"
	// resetBehind: the client read too slowly and the changes it had not
	// received yet were dropped from the Hub.
	resetBehind = "behind"
)

// SchoolFunc returns the registry entry of the school with the given id, or
// nil when there is none. It must be safe for concurrent use and must not
// block: the School method of the current engine.Registry is meant.
type SchoolFunc func(id string) *engine.School

// Hub keeps the newest colour changes in a ring and hands them to the live
// streams of GET /api/v1/stream. Each change gets a sequence number, 1 for
// the first change after NewHub and one more for every change after it; a
// stream's event ids are "<run>-<seq>", where run is chosen at random by
// NewHub, so that an id from an earlier run of the process is recognised
// as such and the client told to reload instead of being sent the wrong
// changes.
//
// Publish is safe for concurrent use and never waits for a client.
type Hub struct {
	run     string
	metrics *streamMetrics

	mu   sync.Mutex
	ring []*streamEntry // seq s is at ring[(s-1)%len(ring)]
	last uint64         // seq of the newest change; 0 before the first
	// wake is closed by Publish when a stream is waiting for a change,
	// and then replaced.
	wake    chan struct{}
	waiting bool
}

// streamEntry is one published change. Its event data and its school are
// worked out once, by the first stream that sends it, outside the engine's
// lock.
type streamEntry struct {
	seq    uint64
	change engine.LevelChange
	// alert, when set, makes the entry an "alert" event instead of a
	// "level" one.
	alert *alert.Alert

	once   sync.Once
	school *engine.School
	data   []byte // nil if the change could not be encoded
	err    error
}

// NewHub returns a Hub that keeps the newest size changes (DefaultStreamBuffer
// when size <= 0) and registers its metrics with reg (not at all when reg is
// nil). A Hub outlives Server shutdowns: it is made once per process, before
// the engine starts, and given to Options.Stream.
func NewHub(size int, reg prometheus.Registerer) *Hub {
	if size <= 0 {
		size = DefaultStreamBuffer
	}
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails; see crypto/rand.Read
	m := newStreamMetrics(reg)
	return &Hub{
		run:     hex.EncodeToString(b[:]),
		metrics: m,
		ring:    make([]*streamEntry, size),
		wake:    make(chan struct{}),
	}
}

// Publish adds c to the ring, dropping the oldest change when it is full,
// and wakes the streams. It never blocks on a client. The composition root
// calls it with each colour change once it is stored.
func (h *Hub) Publish(c engine.LevelChange) {
	h.mu.Lock()
	h.last++
	h.ring[(h.last-1)%uint64(len(h.ring))] = &streamEntry{seq: h.last, change: c}
	if h.waiting {
		close(h.wake)
		h.wake, h.waiting = make(chan struct{}), false
	}
	h.mu.Unlock()
}

// PublishAlert adds an alert's new state to the ring, as an "alert" event
// with the body of GET /api/v1/alerts/:id. Like Publish it never blocks;
// the caller must not change a afterwards.
func (h *Hub) PublishAlert(a *alert.Alert) {
	h.mu.Lock()
	h.last++
	h.ring[(h.last-1)%uint64(len(h.ring))] = &streamEntry{seq: h.last, alert: a}
	if h.waiting {
		close(h.wake)
		h.wake, h.waiting = make(chan struct{}), false
	}
	h.mu.Unlock()
}

// eventID is the SSE id of the change with sequence number seq.
func (h *Hub) eventID(seq uint64) string {
	return h.run + "-" + strconv.FormatUint(seq, 10)
}

// oldest returns the sequence number of the oldest change kept. h.mu is held.
func (h *Hub) oldest() uint64 {
	if n := uint64(len(h.ring)); h.last > n {
		return h.last - n + 1
	}
	return 1
}

// resume returns the sequence number after which a stream whose client
// last saw the event with id starts: that of id when every change after it
// is still kept, otherwise the newest, with the reason the client must be
// told to reload. An empty id starts at the newest without a reset.
func (h *Hub) resume(id string) (after uint64, reset string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if id == "" {
		return h.last, ""
	}
	run, seqText, ok := strings.Cut(id, "-")
	seq, err := strconv.ParseUint(seqText, 10, 64)
	if !ok || err != nil || run != h.run || seq > h.last {
		return h.last, resetRestarted
	}
	if seq+1 < h.oldest() {
		return h.last, resetExpired
	}
	return seq, ""
}

// next copies into buf the changes after sequence number after, oldest
// first, and returns them. When they reach the newest change it also
// returns a channel that is closed when the next one is published. When
// some of the changes after after are no longer kept it returns behind and
// the newest sequence number, from which the caller continues.
func (h *Hub) next(after uint64, buf []*streamEntry) (changes []*streamEntry, wake <-chan struct{}, behind bool, newest uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if after+1 < h.oldest() {
		return nil, nil, true, h.last
	}
	n := min(h.last-after, uint64(len(buf)))
	size := uint64(len(h.ring))
	for i := range n {
		buf[i] = h.ring[(after+i)%size]
	}
	if after+n == h.last {
		h.waiting = true
		wake = h.wake
	}
	return buf[:n], wake, false, h.last
}

// prepare looks up the entry's school and encodes its event data, once.
func (e *streamEntry) prepare(school SchoolFunc) {
	e.once.Do(func() {
		if a := e.alert; a != nil {
			e.school = school(a.SchoolID)
			e.data, e.err = json.Marshal(newAlertJSON(a))
			return
		}
		c := &e.change
		e.school = school(c.SchoolID)
		var eventID *string
		if c.EventID != "" {
			eventID = &c.EventID
		}
		e.data, e.err = json.Marshal(streamChange{
			SchoolID: c.SchoolID, From: c.From, To: c.To, LevelZh: words.Level(c.To, words.Chinese), At: local(c.At),
			Rule: c.Cause.Rule, EventID: eventID, Cause: words.Cause(c.Cause, words.Chinese),
			CauseEn: words.Cause(c.Cause, words.English), ActiveRisks: c.ActiveRisks,
		})
	})
}

// streamChange is the data of a level event.
type streamChange struct {
	SchoolID string       `json:"school_id"`
	From     engine.Level `json:"from"`
	To       engine.Level `json:"to"`
	// LevelZh names the new colour, To.
	LevelZh string    `json:"level_zh"`
	At      time.Time `json:"at"`
	Rule    string    `json:"rule"`
	// EventID is the event that caused the change; nil when a risk expired.
	EventID *string `json:"event_id"`
	Cause   string  `json:"cause"`
	// CauseEn is the cause in English, for the page's English view.
	CauseEn     string `json:"cause_en"`
	ActiveRisks int    `json:"active_risks"`
}

// streamer serves GET /api/v1/stream from a Hub.
type streamer struct {
	hub       *Hub
	school    SchoolFunc
	heartbeat time.Duration
	logger    *slog.Logger
	// closing is done when the server shuts down; every stream then ends.
	closing context.Context
	close   context.CancelFunc
}

// newStreamer returns the stream handler of hub. Schools are looked up with
// school, or, when it is nil, through schools.View, which costs a copy of
// the school's risks under the engine's read lock; either way once per
// change, not once per client.
func newStreamer(hub *Hub, school SchoolFunc, schools Schools, heartbeat time.Duration, logger *slog.Logger) *streamer {
	if school == nil {
		school = func(id string) *engine.School {
			v, _ := schools.View(id)
			return v.School
		}
	}
	if heartbeat <= 0 {
		heartbeat = DefaultStreamHeartbeat
	}
	closing, cancel := context.WithCancel(context.Background())
	return &streamer{hub: hub, school: school, heartbeat: heartbeat, logger: logger, closing: closing, close: cancel}
}

// handle serves GET /api/v1/stream: the colour changes of the schools of
// the caller's scope (and of the districts of the query parameter district)
// as Server-Sent Events. It first sends what the client missed since the
// event id in the Last-Event-ID header or, when there is none, the query
// parameter last_event_id, then every change as it is published, until the
// client goes away or the server shuts down. When the missed changes cannot
// be sent (the id is from another run or too old) or the client reads too
// slowly to keep up, it sends a reset event instead and continues from the
// newest change; the client then reloads the map.
func (st *streamer) handle(c echo.Context) error {
	r := c.Request()
	scope := ScopeFrom(r.Context())
	districts := listParam(c.QueryParams()["district"])
	lastID := r.Header.Get("Last-Event-ID")
	if lastID == "" {
		lastID = c.QueryParam("last_event_id")
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stopOnClose := context.AfterFunc(st.closing, cancel)
	defer stopOnClose()

	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "text/event-stream")
	res.Header().Set(echo.HeaderCacheControl, "no-cache")
	res.Header().Set("X-Accel-Buffering", "no")
	res.WriteHeader(http.StatusOK)
	w := newSSEWriter(res)
	defer context.AfterFunc(ctx, w.interrupt)()

	m := st.hub.metrics
	m.clients.Inc()
	defer m.clients.Dec()

	after, reset := st.hub.resume(lastID)
	var buf bytes.Buffer
	buf.WriteString("retry: " + strconv.Itoa(streamRetry) + "\n")
	st.writeReset(&buf, reset, after)
	sent := after // the last id the client was given
	if err := w.send(buf.Bytes()); err != nil {
		return st.ended(ctx, err)
	}

	allowed := func(school *engine.School) bool {
		if !scope.Allows(school) {
			return false
		}
		if districts == nil {
			return true
		}
		for _, d := range districts {
			if school.District == d {
				return true
			}
		}
		return false
	}

	heartbeat := time.NewTicker(st.heartbeat)
	defer heartbeat.Stop()
	batch := make([]*streamEntry, streamBatch)
	for {
		changes, wake, behind, newest := st.hub.next(after, batch)
		buf.Reset()
		if behind {
			after = newest
			st.writeReset(&buf, resetBehind, after)
			sent = after
		}
		events := 0
		for _, e := range changes {
			e.prepare(st.school)
			after = e.seq
			if !allowed(e.school) {
				continue
			}
			if e.err != nil {
				st.logger.Error("encode colour change for the stream", "school", e.change.SchoolID, "err", e.err)
				continue
			}
			name := "level"
			if e.alert != nil {
				name = "alert"
			}
			buf.WriteString("event: " + name + "\nid: " + st.hub.eventID(e.seq) + "\ndata: ")
			buf.Write(e.data)
			buf.WriteString("\n\n")
			sent = e.seq
			events++
		}
		clear(changes)
		if buf.Len() > 0 {
			if err := w.send(buf.Bytes()); err != nil {
				return st.ended(ctx, err)
			}
			m.events.Add(float64(events))
		}
		if wake == nil {
			// More changes are waiting; take them unless the stream ends.
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-heartbeat.C:
			buf.Reset()
			buf.WriteString(": ping\n")
			if sent != after {
				// Changes outside the scope were skipped: move the client's
				// last event id past them, without an event, so that a
				// reconnect does not ask for them again.
				buf.WriteString("id: " + st.hub.eventID(after) + "\n")
				sent = after
			}
			buf.WriteString("\n")
			if err := w.send(buf.Bytes()); err != nil {
				return st.ended(ctx, err)
			}
		}
	}
}

// writeReset appends to buf a reset event for reason whose id is that of
// sequence number after, or, when reason is empty, only that id: a block
// without data sets the client's last event id without firing an event.
func (st *streamer) writeReset(buf *bytes.Buffer, reason string, after uint64) {
	if reason != "" {
		buf.WriteString("event: reset\n")
	}
	buf.WriteString("id: " + st.hub.eventID(after) + "\n")
	if reason != "" {
		buf.WriteString(`data: {"reason":"` + reason + `"}` + "\n")
		st.hub.metrics.resets.WithLabelValues(reason).Inc()
	}
	buf.WriteString("\n")
}

// ended returns what the handler returns after a write failed: nil, since
// the response has begun and nothing can be told to the client any more.
func (st *streamer) ended(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		st.logger.Debug("stream write failed", "err", err)
	}
	return nil
}

// errStreamEnded is returned by sseWriter.send after the stream was
// interrupted.
var errStreamEnded = errors.New("stream ended")

// sseWriter writes to one client, each write bounded by streamWriteTimeout,
// and lets another goroutine interrupt a write that the client does not
// accept, so that the stream ends at once when the client goes away or the
// server shuts down.
type sseWriter struct {
	res *echo.Response
	rc  *http.ResponseController

	mu          sync.Mutex
	interrupted bool
	writing     bool
}

func newSSEWriter(res *echo.Response) *sseWriter {
	return &sseWriter{res: res, rc: http.NewResponseController(res.Writer)}
}

// send writes b and flushes it.
func (w *sseWriter) send(b []byte) error {
	w.mu.Lock()
	if w.interrupted {
		w.mu.Unlock()
		return errStreamEnded
	}
	w.writing = true
	// Not supported only by writers that are not connections (tests).
	_ = w.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	w.mu.Unlock()

	_, err := w.res.Write(b)
	if err == nil {
		err = w.rc.Flush()
	}

	w.mu.Lock()
	w.writing = false
	w.mu.Unlock()
	return err
}

// interrupt makes the write in progress, if any, fail at once, and every
// later one fail. A stream that is not writing is left to end by itself, so
// that the server can still end its response properly.
func (w *sseWriter) interrupt() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.interrupted = true
	if w.writing {
		_ = w.rc.SetWriteDeadline(time.Now())
	}
}
