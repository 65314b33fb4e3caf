package notify_test

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/notify"
	"github.com/sanse-campus/sanse/engine/store/storetest"
)

// memOutbox is notify.OutboxStore in memory, held to the real store's
// behaviour by TestMemOutboxConformance.
type memOutbox struct {
	mu            sync.Mutex
	notifications map[string][]byte
	deliveries    map[[3]any]notify.Delivery
}

func newMemOutbox() *memOutbox {
	return &memOutbox{notifications: map[string][]byte{}, deliveries: map[[3]any]notify.Delivery{}}
}

func (s *memOutbox) SaveNotifications(_ context.Context, ns []*notify.Notification) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range ns {
		doc, err := json.Marshal(n)
		if err != nil {
			return err
		}
		s.notifications[n.ID] = doc
	}
	return nil
}

func (s *memOutbox) SaveDeliveries(_ context.Context, ds []notify.Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range ds {
		s.deliveries[[3]any{d.NotificationID, d.Channel, d.Attempt}] = d
	}
	return nil
}

func (s *memOutbox) PendingNotifications(_ context.Context, since time.Time) ([]*notify.Notification, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*notify.Notification
	for id, doc := range s.notifications {
		n := new(notify.Notification)
		if err := json.Unmarshal(doc, n); err != nil {
			return nil, err
		}
		if n.Created.UnixMilli() < since.UnixMilli() {
			continue
		}
		n.Done = nil
		finished := false
		for _, d := range s.deliveries {
			switch {
			case d.NotificationID != id:
			case d.Channel == notify.Finished:
				finished = true
			case (d.OK || d.Permanent) && !slices.Contains(n.Done, d.Channel):
				n.Done = append(n.Done, d.Channel)
			}
		}
		if !finished {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b *notify.Notification) int {
		return cmp.Or(cmp.Compare(a.Created.UnixMilli(), b.Created.UnixMilli()), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

func (s *memOutbox) attempts(id string) (failed, ok int, finished bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.deliveries {
		switch {
		case d.NotificationID != id:
		case d.Channel == notify.Finished:
			finished = true
		case d.OK:
			ok++
		default:
			failed++
		}
	}
	return failed, ok, finished
}

func TestMemOutboxConformance(t *testing.T) {
	storetest.TestOutboxStore(t, func(*testing.T) notify.OutboxStore { return newMemOutbox() })
}

// The outbox retries a message its receiver did not take, records every
// attempt and the finished mark, and after a restart resumes what was not
// finished, in order, without the channels that took it already.
func TestOutboxRetriesAndResumes(t *testing.T) {
	var fails atomic.Int32
	fails.Store(2)
	var (
		mu  sync.Mutex
		got []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fails.Add(-1) >= 0 {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		got = append(got, r.Header.Get("X-Sanse-Notification-Id"))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	r, err := notify.NewReceiver(notify.ReceiverConfig{Name: "hook", Webhook: &notify.WebhookConfig{URL: srv.URL}}, notify.Options{})
	require.NoError(t, err)
	st := newMemOutbox()
	newBox := func() *notify.Outbox {
		box, err := notify.NewOutbox(notify.OutboxOptions{Store: st, Receivers: []*notify.Receiver{r},
			Retry: notify.Retry{Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond}})
		require.NoError(t, err)
		return box
	}
	message := func(id string, created time.Time) *notify.Notification {
		return &notify.Notification{ID: id, Receiver: "hook", Created: created,
			Message: notify.Message{ID: id, Kind: notify.KindFiring, SchoolID: "S1", SchoolName: "一小", Level: engine.LevelRed, At: created}}
	}
	delivered := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
	now := time.Now()

	// A message left by an earlier process: the webhook took it already
	// (Done), so it is finished without another request.
	done := message("n-0", now.Add(-time.Minute))
	require.NoError(t, st.SaveNotifications(t.Context(), []*notify.Notification{done}))
	require.NoError(t, st.SaveDeliveries(t.Context(), []notify.Delivery{{NotificationID: "n-0", Receiver: "hook", Channel: "webhook", Attempt: 1, At: now, OK: true}}))
	// And one nobody took yet.
	left := message("n-1", now.Add(-time.Second))
	require.NoError(t, st.SaveNotifications(t.Context(), []*notify.Notification{left}))

	box := newBox()
	n, err := box.Restore(t.Context())
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, map[string]int{"hook": 2}, box.Backlog())
	require.NoError(t, box.Enqueue(t.Context(), []*notify.Notification{message("n-2", now)}))
	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan struct{})
	go func() { _ = box.Run(ctx); close(ran) }()
	require.Eventually(t, func() bool { return len(delivered()) == 2 }, 5*time.Second, 10*time.Millisecond)
	cancel()
	<-ran // stores the last attempts

	require.Equal(t, []string{"n-1", "n-2"}, delivered(), "in order, each once, n-0 not again")
	failed, ok, finished := st.attempts("n-1")
	require.Equal(t, 2, failed, "two refusals, retried")
	require.Equal(t, 1, ok)
	require.True(t, finished)
	_, _, finished = st.attempts("n-0")
	require.True(t, finished)
	pending, err := st.PendingNotifications(t.Context(), now.Add(-time.Hour))
	require.NoError(t, err)
	require.Empty(t, pending)
	require.Equal(t, map[string]int{"hook": 0}, box.Backlog())
}
