package notify_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine/notify"
)

// downOutbox is a memOutbox that refuses delivery attempts while down.
type downOutbox struct {
	*memOutbox
	down atomic.Bool
}

func (s *downOutbox) SaveDeliveries(ctx context.Context, ds []notify.Delivery) error {
	if s.down.Load() {
		return errors.New("clickhouse: connection refused")
	}
	return s.memOutbox.SaveDeliveries(ctx, ds)
}

// countingHandler counts the records of each message.
type countingHandler struct {
	mu sync.Mutex
	n  map[string]int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *countingHandler) WithGroup(string) slog.Handler            { return h }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n[r.Message]++
	return nil
}

func (h *countingHandler) count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[msg]
}

// While the store refuses the delivery attempts, the outbox keeps them and
// tries every 500 ms, logging one line per 30 s; once they are stored, one
// line says so.
func TestDeliveryStoreOutageLogsBoundedLines(t *testing.T) {
	st := &downOutbox{memOutbox: newMemOutbox()}
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	now := t0
	logs := &countingHandler{n: map[string]int{}}
	box, err := notify.NewOutbox(notify.OutboxOptions{Store: st, Now: func() time.Time { return now }, Logger: slog.New(logs)})
	require.NoError(t, err)

	st.down.Store(true)
	box.Record([]notify.Delivery{{NotificationID: "n-1", Receiver: "hook", Channel: "webhook", Attempt: 1, At: t0}})
	for i := range 1200 { // ten minutes of tries
		now = t0.Add(time.Duration(i) * 500 * time.Millisecond)
		box.StoreDeliveries(t.Context())
	}
	require.Equal(t, 20, logs.count("could not store delivery attempts; will retry"), "one line per 30 s")

	st.down.Store(false)
	box.StoreDeliveries(t.Context())
	require.Equal(t, 1, logs.count("delivery attempts stored again"))
	require.Len(t, st.deliveries, 1, "the attempt kept through the outage is stored")
}
