package alert_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/notify"
	"github.com/sanse-campus/sanse/engine/store"
	"github.com/sanse-campus/sanse/engine/store/storetest"
	"github.com/sanse-campus/sanse/engine/words"
)

// robot is a DingTalk custom robot: it checks the signature as DingTalk does
// and keeps the messages, or answers 500 while it is down.
type robot struct {
	t      *testing.T
	secret string
	srv    *httptest.Server

	mu       sync.Mutex
	down     bool
	messages []robotMessage
	badSigns int
	refusals int // requests answered 500 while down
}

type robotMessage struct {
	ID    string
	Title string
	Text  string
	At    time.Time
}

func newRobot(t *testing.T, secret string) *robot {
	r := &robot{t: t, secret: secret}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *robot) url() string { return r.srv.URL + "/robot/send?access_token=test" }

func (r *robot) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		r.refusals++
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	ts := req.URL.Query().Get("timestamp")
	mac := hmac.New(sha256.New, []byte(r.secret))
	mac.Write([]byte(ts + "\n" + r.secret))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	ms, _ := strconv.ParseInt(ts, 10, 64)
	if req.URL.Query().Get("sign") != want || time.Since(time.UnixMilli(ms)).Abs() > time.Hour {
		r.badSigns++
		_, _ = io.WriteString(w, `{"errcode":310000,"errmsg":"sign not match"}`)
		return
	}
	var body struct {
		MsgType  string `json:"msgtype"`
		Markdown struct {
			Title string `json:"title"`
			Text  string `json:"text"`
		} `json:"markdown"`
	}
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil || body.MsgType != "markdown" {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	r.messages = append(r.messages, robotMessage{
		ID: req.Header.Get("X-Sanse-Notification-Id"), Title: body.Markdown.Title, Text: body.Markdown.Text, At: time.Now(),
	})
	_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
}

func (r *robot) setDown(down bool) {
	r.mu.Lock()
	r.down = down
	r.mu.Unlock()
}

func (r *robot) refused() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refusals
}

func (r *robot) got() []robotMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	require.Zero(r.t, r.badSigns, "a request with a wrong DingTalk signature")
	return append([]robotMessage(nil), r.messages...)
}

// mailbox is an SMTP server that keeps what it receives.
type mailbox struct {
	mu    sync.Mutex
	mails []string
}

func (m *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{box: m}, nil }

type mailSession struct{ box *mailbox }

func (s *mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.box.mu.Lock()
	s.box.mails = append(s.box.mails, string(b))
	s.box.mu.Unlock()
	return nil
}
func (s *mailSession) Reset()        {}
func (s *mailSession) Logout() error { return nil }

func (m *mailbox) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.mails)
}

func startMailbox(t *testing.T) (*mailbox, string) {
	box := &mailbox{}
	srv := smtp.NewServer(box)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return box, ln.Addr().String()
}

type fixture struct {
	store    *store.Store
	cfg      alert.Config
	registry *engine.Registry
	levels   sync.Map // school id → engine.Level
}

func (f *fixture) manager(t *testing.T) *alert.Manager { return f.managerOn(t, f.store) }

// managerOn is a manager of the fixture over st.
func (f *fixture) managerOn(t *testing.T, st alert.Store) *alert.Manager {
	m, err := alert.New(alert.Options{
		Config: f.cfg, Store: st, Registry: func() *engine.Registry { return f.registry },
		Level: func(id string) engine.Level {
			if l, ok := f.levels.Load(id); ok {
				return l.(engine.Level)
			}
			return engine.LevelGreen
		},
		Tick: 50 * time.Millisecond,
	})
	require.NoError(t, err)
	require.NoError(t, m.Restore(t.Context()))
	return m
}

func run(t *testing.T, m *alert.Manager) (stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { _ = m.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

// change is what the engine records when a school's colour changes, with the
// risk transition behind it.
func change(school string, from, to engine.Level, rule, title string, at time.Time) engine.Output {
	var out engine.Output
	sev := engine.SeverityHigh
	if to == engine.LevelYellow {
		sev = engine.SeverityMedium
	}
	state := engine.RiskOpened
	how := engine.RiskOpened
	cause := "新增" + words.Severity(sev, words.Chinese) + "：" + title
	if to.Rank() < from.Rank() {
		state, how, cause = engine.RiskCleared, engine.RiskCleared, "风险已解除："+title
	}
	out.Transitions = append(out.Transitions, engine.RiskTransition{
		SchoolID: school, At: at, State: state, EventID: "ev-" + rule + school + strconv.FormatInt(at.UnixNano(), 10),
		Risk: engine.Risk{Rule: rule, Source: engine.SourceVisitor, Severity: sev, Title: title, FirstSeen: at, LastSeen: at},
	})
	out.Changes = append(out.Changes, engine.LevelChange{
		SchoolID: school, At: at, From: from, To: to,
		Cause: engine.Cause{How: how, Rule: rule, Text: cause}, EventID: out.Transitions[0].EventID, ActiveRisks: 1,
	})
	return out
}

func newFixture(t *testing.T) (*fixture, *robot, *robot, *mailbox) {
	st := storetest.Fresh(t, nil)
	school := newRobot(t, "SECschool")
	district := newRobot(t, "SECdistrict")
	box, addr := startMailbox(t)
	no := false
	reg, err := engine.NewRegistry([]engine.School{
		{ID: "S1", Name: "南湖区第一小学", District: "南湖区", Town: "新兴街道", Stage: engine.StagePrimary},
		{ID: "S2", Name: "南湖区第二小学", District: "南湖区", Town: "新兴街道", Stage: engine.StagePrimary},
		{ID: "S3", Name: "南湖区第三小学", District: "南湖区", Town: "新兴街道", Stage: engine.StagePrimary},
	})
	require.NoError(t, err)
	f := &fixture{store: st, registry: reg, cfg: alert.Config{
		ExternalURL: "http://sanse.test",
		Receivers: []notify.ReceiverConfig{
			{Name: "school-robot", DingTalk: &notify.DingTalkConfig{URL: notify.Secret(school.url()), Secret: "SECschool"}},
			{Name: "district-office", DingTalk: &notify.DingTalkConfig{URL: notify.Secret(district.url()), Secret: "SECdistrict"},
				Email: &notify.EmailConfig{Smarthost: addr, From: "sanse@test", To: []string{"anquanke@test"}, StartTLS: &no}},
		},
		Contacts: alert.Contacts{
			Schools:   map[string]string{"S1": "school-robot", "S2": "school-robot", "S3": "school-robot"},
			Districts: map[string]string{"南湖区": "district-office"},
		},
		Route:      alert.Route{GroupWait: 400 * time.Millisecond, RepeatInterval: 2 * time.Second},
		Escalation: alert.Escalation{Red: 3 * time.Second, Yellow: time.Hour},
		Retry:      notify.Retry{Initial: 100 * time.Millisecond, Max: 300 * time.Millisecond},
	}}
	return f, school, district, box
}

// waitFor polls cond until it holds or d has passed.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAlertLifecycleWithRealReceivers(t *testing.T) {
	f, school, district, box := newFixture(t)
	m := f.manager(t)
	stop := run(t, m)
	defer stop()
	ctx := t.Context()
	now := time.Now()

	// A burst at S1: a red change and, 100 ms later, another high risk.
	f.levels.Store("S1", engine.LevelRed)
	out := change("S1", engine.LevelGreen, engine.LevelRed, "visitor.blacklist", "黑名单人员进校：张**", now)
	require.NoError(t, m.Observe(ctx, &out))
	time.Sleep(100 * time.Millisecond)
	out2 := change("S1", engine.LevelRed, engine.LevelRed, "visitor.prohibited_items", "携带违禁物品：李**", now.Add(100*time.Millisecond))
	out2.Changes = nil // the school was red already: a new high risk, no colour change
	require.NoError(t, m.Observe(ctx, &out2))
	// S2 turns yellow at the same time; its alert will be acknowledged.
	f.levels.Store("S2", engine.LevelYellow)
	out3 := change("S2", engine.LevelGreen, engine.LevelYellow, "canteen.hygiene", "卫生违规累计3次", now)
	require.NoError(t, m.Observe(ctx, &out3))

	// Grouping: one message to the school robot for S1's burst, naming both.
	waitFor(t, 3*time.Second, "the school robot got the first messages", func() bool { return len(school.got()) >= 2 })
	var s1 []robotMessage
	for _, msg := range school.got() {
		if strings.Contains(msg.Text, "南湖区第一小学") {
			s1 = append(s1, msg)
		}
	}
	require.Len(t, s1, 1, "a burst at one school is one message")
	require.Contains(t, s1[0].Text, "黑名单人员进校")
	require.Contains(t, s1[0].Text, "携带违禁物品")
	require.Contains(t, s1[0].Text, "红")
	require.Contains(t, s1[0].Text, "http://sanse.test/?school=S1")

	// S2 is acknowledged: no repeat, no escalation for it.
	list, err := m.List(ctx, alert.Filter{School: "S2"})
	require.NoError(t, err)
	require.Len(t, list, 1)
	acked, err := m.Acknowledge(ctx, list[0].ID, "王老师", "已安排食堂整改")
	require.NoError(t, err)
	require.Equal(t, alert.StatusAcknowledged, acked.Status)

	// Repeat while unacknowledged: S1 again at the school step after 2 s.
	waitFor(t, 4*time.Second, "a repeat of S1's alerts", func() bool {
		for _, msg := range school.got() {
			if strings.Contains(msg.Text, "南湖区第一小学") && strings.Contains(msg.Title+msg.Text, "再次提醒") {
				return true
			}
		}
		return false
	})

	// Escalation: S1 unacknowledged after 3 s goes to the district office
	// (no town contact configured), by DingTalk and by mail.
	waitFor(t, 5*time.Second, "S1 escalated to the district office", func() bool {
		for _, msg := range district.got() {
			if strings.Contains(msg.Text, "南湖区第一小学") {
				return true
			}
		}
		return false
	})
	waitFor(t, 3*time.Second, "the district office's mail", func() bool { return box.count() > 0 })
	for _, msg := range district.got() {
		require.NotContains(t, msg.Text, "南湖区第二小学", "an acknowledged alert is not escalated")
	}
	a, err := m.Get(ctx, s1ID(t, m))
	require.NoError(t, err)
	require.Equal(t, notify.StepDistrict, a.Step)
	require.True(t, hasAction(a, alert.ActionEscalated))

	// The colour falls back: S1's alerts resolve, and a resolved notice goes out.
	f.levels.Store("S1", engine.LevelGreen)
	down := change("S1", engine.LevelRed, engine.LevelGreen, "visitor.blacklist", "黑名单人员进校：张**", time.Now())
	require.NoError(t, m.Observe(ctx, &down))
	waitFor(t, 3*time.Second, "a resolved notice", func() bool {
		for _, msg := range school.got() {
			if strings.Contains(msg.Title+msg.Text, "已解除") {
				return true
			}
		}
		return false
	})
	resolved, err := m.List(ctx, alert.Filter{School: "S1", Status: []alert.Status{alert.StatusResolved}})
	require.NoError(t, err)
	require.Len(t, resolved, 2)
	stop()
	t.Logf("school robot %d messages, district robot %d, mails %d", len(school.got()), len(district.got()), box.count())
}

func s1ID(t *testing.T, m *alert.Manager) string {
	list, err := m.List(t.Context(), alert.Filter{School: "S1", Status: []alert.Status{alert.StatusFiring}})
	require.NoError(t, err)
	for _, a := range list {
		if a.Rule == "visitor.blacklist" {
			return a.ID
		}
	}
	t.Fatal("no firing blacklist alert at S1")
	return ""
}

func hasAction(a *alert.Alert, action string) bool {
	for _, h := range a.History {
		if h.Action == action {
			return true
		}
	}
	return false
}

// crashable is the store as one process sees it: once crashed, every write
// fails, as if the process had died at that instant. What the process does
// after (Run's last store of delivery attempts, a flush) never reaches the
// store, as it would not after a kill.
type crashable struct {
	alert.Store
	crashed atomic.Bool
}

var errCrashed = errors.New("the process is gone")

func (c *crashable) SaveAlerts(ctx context.Context, as []*alert.Alert) error {
	if c.crashed.Load() {
		return errCrashed
	}
	return c.Store.SaveAlerts(ctx, as)
}

func (c *crashable) SaveNotifications(ctx context.Context, ns []*notify.Notification) error {
	if c.crashed.Load() {
		return errCrashed
	}
	return c.Store.SaveNotifications(ctx, ns)
}

func (c *crashable) SaveDeliveries(ctx context.Context, ds []notify.Delivery) error {
	if c.crashed.Load() {
		return errCrashed
	}
	return c.Store.SaveDeliveries(ctx, ds)
}

// A receiver that is down gets, once it is back, exactly the messages left
// undelivered when the engine crashed: each once, as they were made, and
// not the one delivered before the crash. The outbox is in ClickHouse.
func TestReceiverDownAcrossRestart(t *testing.T) {
	f, school, _, _ := newFixture(t)
	f.cfg.Escalation.Red = time.Hour
	f.cfg.Route.RepeatInterval = time.Hour
	ctx := t.Context()
	since := time.Now().Add(-time.Hour)
	pendingNow := func() []*notify.Notification {
		ns, err := f.store.PendingNotifications(ctx, since)
		require.NoError(t, err)
		return ns
	}
	open := func(m *alert.Manager, schoolID string) string {
		f.levels.Store(schoolID, engine.LevelRed)
		out := change(schoolID, engine.LevelGreen, engine.LevelRed, "visitor.blacklist", "黑名单人员进校", time.Now())
		require.NoError(t, m.Observe(ctx, &out))
		return alert.IDOf(nil, out.Changes[0].RecordID())
	}

	// The first process: S1's message is delivered and marked finished;
	// then the robot goes down and S2's and S3's are left undelivered.
	first := &crashable{Store: f.store}
	m := f.managerOn(t, first)
	runCtx, crash := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { _ = m.Run(runCtx); close(ran) }()
	open(m, "S1")
	waitFor(t, 5*time.Second, "S1's message delivered and marked finished", func() bool {
		return len(school.got()) == 1 && len(pendingNow()) == 0
	})
	delivered := school.got()
	school.setDown(true)
	ids := []string{open(m, "S2"), open(m, "S3")}
	waitFor(t, 5*time.Second, "S2's and S3's messages stored, their alerts stored as notified, an attempt failed", func() bool {
		for _, id := range ids {
			if a, err := f.store.Alert(ctx, id); err != nil || a.NotifiedAt.IsZero() {
				return false
			}
		}
		return len(pendingNow()) == 2 && school.refused() > 0
	})

	// The crash: from now on nothing of the first process reaches the
	// store; its goroutines are stopped so that it cannot send either.
	first.crashed.Store(true)
	crash()
	<-ran
	left := pendingNow()
	require.Len(t, left, 2, "S2's and S3's messages left undelivered")
	for _, n := range left {
		require.Empty(t, n.Done)
		require.NotEqual(t, delivered[0].ID, n.ID)
	}

	// The second process, on the same database, with the robot back.
	school.setDown(false)
	m2 := f.manager(t)
	stop2 := run(t, m2)
	waitFor(t, 5*time.Second, "the messages left delivered after the restart", func() bool {
		return len(school.got()) >= len(delivered)+len(left)
	})
	time.Sleep(time.Second) // a message sent twice, or one more, would come now
	stop2()

	got := school.got()[len(delivered):]
	require.Len(t, got, len(left), "exactly the messages left: none lost, none twice, nothing else")
	byID := map[string]robotMessage{}
	for _, msg := range got {
		_, twice := byID[msg.ID]
		require.False(t, twice, "message %s delivered twice", msg.ID)
		byID[msg.ID] = msg
	}
	for _, n := range left {
		msg, ok := byID[n.ID]
		require.True(t, ok, "message %s (to %s about %s) was left undelivered and is lost", n.ID, n.Receiver, n.Message.SchoolID)
		require.Contains(t, msg.Title, n.Message.SchoolName)
		require.Contains(t, msg.Text, n.Message.SchoolName)
		require.Len(t, n.Message.Items, 1)
		require.Contains(t, msg.Text, n.Message.Items[0].Title)
		require.Contains(t, msg.Text, n.Message.URL)
	}
	require.Empty(t, pendingNow(), "nothing left for the next start")
}

// A bullying alert names the pupil only by reference, and only to a
// receiver that reveals student details; the others see it hidden.
func TestBullyingAlertRedactedPerReceiver(t *testing.T) {
	f, school, district, _ := newFixture(t)
	f.cfg.Receivers[1].Email = nil
	f.cfg.Receivers[1].Reveal = []notify.Sensitivity{notify.SensitiveStudent}
	f.cfg.Route.Receivers = []string{alert.SchoolContact, "district-office"}
	m := f.manager(t)
	stop := run(t, m)
	defer stop()
	f.levels.Store("S1", engine.LevelRed)
	now := time.Now()
	var out engine.Output
	out.Transitions = append(out.Transitions, engine.RiskTransition{SchoolID: "S1", At: now, State: engine.RiskOpened, EventID: "b-1",
		Risk: engine.Risk{Rule: "bullying.repeated", Key: "STU-7781", Source: engine.SourceBullying, Severity: engine.SeverityHigh,
			Title: "同一学生7天内被举报3次", FirstSeen: now, LastSeen: now}})
	out.Changes = append(out.Changes, engine.LevelChange{SchoolID: "S1", At: now, From: engine.LevelGreen, To: engine.LevelRed,
		Cause: engine.Cause{How: engine.RiskOpened, Rule: "bullying.repeated", Key: "STU-7781", Text: "新增高风险：同一学生7天内被举报3次"}, EventID: "b-1"})
	require.NoError(t, m.Observe(t.Context(), &out))
	waitFor(t, 3*time.Second, "both receivers told", func() bool { return len(school.got()) > 0 && len(district.got()) > 0 })
	require.NotContains(t, school.got()[0].Text, "STU-7781", "the school robot does not reveal student details")
	require.Contains(t, school.got()[0].Text, notify.Redacted)
	require.Contains(t, district.got()[0].Text, "STU-7781", "the district office reveals them")
	// Alert ids reach every receiver: they are opaque, though derived from a
	// record whose id holds the pupil's reference.
	list, err := m.List(t.Context(), alert.Filter{})
	require.NoError(t, err)
	require.NotEmpty(t, list)
	for _, a := range list {
		require.NotContains(t, a.ID, "STU-7781")
	}
}

// A red school's yellow alerts are not sent separately.
func TestInhibition(t *testing.T) {
	f, school, _, _ := newFixture(t)
	m := f.manager(t)
	stop := run(t, m)
	defer stop()
	now := time.Now()
	f.levels.Store("S1", engine.LevelYellow)
	y := change("S1", engine.LevelGreen, engine.LevelYellow, "canteen.hygiene", "卫生违规累计3次", now)
	require.NoError(t, m.Observe(t.Context(), &y))
	// Within the group wait, the school turns red by another risk.
	f.levels.Store("S1", engine.LevelRed)
	r := change("S1", engine.LevelYellow, engine.LevelRed, "visitor.blacklist", "黑名单人员进校", now.Add(time.Millisecond))
	require.NoError(t, m.Observe(t.Context(), &r))
	waitFor(t, 3*time.Second, "a message", func() bool { return len(school.got()) > 0 })
	time.Sleep(300 * time.Millisecond)
	got := school.got()
	require.Len(t, got, 1)
	require.Contains(t, got[0].Text, "黑名单人员进校")
	list, err := m.List(t.Context(), alert.Filter{School: "S1"})
	require.NoError(t, err)
	require.Len(t, list, 1, "the rise to red raised the yellow alert rather than opening a second")
	require.Equal(t, engine.LevelRed, list[0].Level)
}
