package alert_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/notify"
)

// downStore is a fakeStore that refuses every write while down, as
// ClickHouse does while it is away.
type downStore struct {
	*fakeStore
	down atomic.Bool
}

var errDown = errors.New("clickhouse: connection refused")

func (s *downStore) SaveAlerts(ctx context.Context, alerts []*alert.Alert) error {
	if s.down.Load() {
		return errDown
	}
	return s.fakeStore.SaveAlerts(ctx, alerts)
}

func (s *downStore) SaveNotifications(ctx context.Context, ns []*notify.Notification) error {
	if s.down.Load() {
		return errDown
	}
	return s.fakeStore.SaveNotifications(ctx, ns)
}

// records is a slog.Handler that keeps every record.
type records struct {
	mu   sync.Mutex
	list []slog.Record
}

func (h *records) Enabled(context.Context, slog.Level) bool { return true }
func (h *records) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *records) WithGroup(string) slog.Handler            { return h }
func (h *records) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.list = append(h.list, r.Clone())
	return nil
}

// withMessage returns the records of msg, and the value of key in each.
func (h *records) withMessage(msg, key string) (n int, values []int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.list {
		if r.Message != msg {
			continue
		}
		n++
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == key {
				values = append(values, a.Value.Int64())
			}
			return true
		})
	}
	return n, values
}

// While the store is away the manager tries again at every tick (200 ms),
// and logs one line per 30 s, each with the count of failures it held back;
// once the store is back, one line says how many ticks failed.
func TestStoreOutageLogsBoundedLines(t *testing.T) {
	const failed = "could not store alerts or messages; will retry"
	reg, err := engine.NewRegistry([]engine.School{{ID: "S1", Name: "南湖区第一小学", District: "南湖区", Stage: engine.StagePrimary}})
	require.NoError(t, err)
	st := &downStore{fakeStore: newFakeStore()}
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, engine.Shanghai)
	clk := &clock{t: t0}
	logs := &records{}
	m, err := alert.New(alert.Options{
		Config: baseConfig(), Store: st, Registry: func() *engine.Registry { return reg }, Now: clk.now, Logger: slog.New(logs),
	})
	require.NoError(t, err)
	require.NoError(t, m.Restore(t.Context()))

	st.down.Store(true)
	out := change("S1", engine.LevelGreen, engine.LevelRed, "visitor.blacklist", "黑名单人员进校", t0)
	require.ErrorIs(t, m.Observe(t.Context(), &out), errDown, "the alert stays to be stored")
	const retries = 3000 // ten minutes of ticks
	for i := range retries {
		clk.set(t0.Add(time.Duration(i) * 200 * time.Millisecond))
		m.RetryTick(t.Context())
	}
	n, suppressed := logs.withMessage(failed, "suppressed")
	require.Equal(t, 20, n, "one line per 30 s of the outage")
	var sum int64
	for _, s := range suppressed {
		sum += s
	}
	require.Equal(t, int64(retries-20-149), sum, "every failure is logged or counted, but those held back since the last line")

	st.down.Store(false)
	clk.set(t0.Add(retries * 200 * time.Millisecond))
	m.RetryTick(t.Context())
	n, attempts := logs.withMessage("alerts and messages stored again", "failed_attempts")
	require.Equal(t, 1, n)
	require.Equal(t, []int64{retries}, attempts)

	// The next outage is logged at once.
	st.down.Store(true)
	require.ErrorIs(t, m.Observe(t.Context(), new(change("S1", engine.LevelRed, engine.LevelGreen, "visitor.blacklist", "黑名单人员进校", t0.Add(time.Hour)))), errDown)
	clk.set(t0.Add(retries*200*time.Millisecond + time.Second))
	m.RetryTick(t.Context())
	n, _ = logs.withMessage(failed, "suppressed")
	require.Equal(t, 21, n)
}
