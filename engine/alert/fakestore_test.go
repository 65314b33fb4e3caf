package alert_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/notify"
	"github.com/sanse-campus/sanse/engine/store/storetest"
)

// fakeStore is alert.Store in memory. It keeps what it is given as JSON, as
// the real store does, so that nothing saved is shared with the caller, and
// records the notifications in the order they were first saved. The
// conformance tests below hold it to the real store's behaviour.
type fakeStore struct {
	mu            sync.Mutex
	alerts        map[string][]byte // the last version of each alert
	notifications map[string][]byte
	saved         []string // notification ids, in the order first saved
	deliveries    map[deliveryKey]notify.Delivery
}

type deliveryKey struct {
	notification, channel string
	attempt               int
}

func newFakeStore() *fakeStore {
	return &fakeStore{alerts: map[string][]byte{}, notifications: map[string][]byte{}, deliveries: map[deliveryKey]notify.Delivery{}}
}

func (s *fakeStore) SaveAlerts(ctx context.Context, alerts []*alert.Alert) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range alerts {
		doc, err := json.Marshal(a)
		if err != nil {
			return err
		}
		s.alerts[a.ID] = doc
	}
	return nil
}

func (s *fakeStore) SaveNotifications(ctx context.Context, ns []*notify.Notification) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range ns {
		doc, err := json.Marshal(n)
		if err != nil {
			return err
		}
		if _, ok := s.notifications[n.ID]; !ok {
			s.saved = append(s.saved, n.ID)
		}
		s.notifications[n.ID] = doc
	}
	return nil
}

func (s *fakeStore) SaveDeliveries(ctx context.Context, ds []notify.Delivery) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range ds {
		s.deliveries[deliveryKey{d.NotificationID, d.Channel, d.Attempt}] = d
	}
	return nil
}

func (s *fakeStore) notification(id string) *notify.Notification {
	n := new(notify.Notification)
	if err := json.Unmarshal(s.notifications[id], n); err != nil {
		panic(fmt.Sprintf("fake store: %v", err))
	}
	return n
}

func (s *fakeStore) PendingNotifications(ctx context.Context, since time.Time) ([]*notify.Notification, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	finished := map[string]bool{}
	done := map[string][]string{}
	for k, d := range s.deliveries {
		switch {
		case k.channel == notify.Finished:
			finished[k.notification] = true
		case (d.OK || d.Permanent) && !slices.Contains(done[k.notification], k.channel):
			done[k.notification] = append(done[k.notification], k.channel)
		}
	}
	var out []*notify.Notification
	for id := range s.notifications {
		n := s.notification(id)
		if finished[id] || n.Created.UnixMilli() < since.UnixMilli() {
			continue
		}
		n.Done = done[id]
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b *notify.Notification) int {
		return cmp.Or(cmp.Compare(a.Created.UnixMilli(), b.Created.UnixMilli()), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

func (s *fakeStore) alert(id string) *alert.Alert {
	a := new(alert.Alert)
	if err := json.Unmarshal(s.alerts[id], a); err != nil {
		panic(fmt.Sprintf("fake store: %v", err))
	}
	return a
}

func (s *fakeStore) OpenAlerts(ctx context.Context) ([]*alert.Alert, error) {
	return s.Alerts(ctx, alert.Filter{Status: []alert.Status{alert.StatusFiring, alert.StatusAcknowledged}})
}

func (s *fakeStore) Alerts(ctx context.Context, f alert.Filter) ([]*alert.Alert, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*alert.Alert
	for id := range s.alerts {
		a := s.alert(id)
		opened := a.OpenedAt.UnixMilli()
		switch {
		case len(f.Status) > 0 && !slices.Contains(f.Status, a.Status),
			f.Level != "" && a.Level != f.Level,
			f.District != "" && a.District != f.District,
			f.School != "" && a.SchoolID != f.School,
			f.Source != "" && a.Source != f.Source,
			!f.From.IsZero() && opened < f.From.UnixMilli(),
			!f.To.IsZero() && opened >= f.To.UnixMilli():
			continue
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *alert.Alert) int {
		return cmp.Or(cmp.Compare(b.OpenedAt.UnixMilli(), a.OpenedAt.UnixMilli()), cmp.Compare(a.ID, b.ID))
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

func (s *fakeStore) Alert(ctx context.Context, id string) (*alert.Alert, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.alerts[id]; !ok {
		return nil, alert.ErrNotFound
	}
	return s.alert(id), nil
}

// sent returns the notifications saved, in the order first saved.
func (s *fakeStore) sent() []*notify.Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*notify.Notification, len(s.saved))
	for i, id := range s.saved {
		out[i] = s.notification(id)
	}
	return out
}

// The fake behaves as the real store does (engine/store runs the same
// suites against ClickHouse).
func TestFakeStoreConformance(t *testing.T) {
	t.Run("alerts", func(t *testing.T) {
		storetest.TestAlertStore(t, func(*testing.T) alert.Store { return newFakeStore() })
	})
	t.Run("outbox", func(t *testing.T) {
		storetest.TestOutboxStore(t, func(*testing.T) notify.OutboxStore { return newFakeStore() })
	})
}
