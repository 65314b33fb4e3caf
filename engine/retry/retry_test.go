package retry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDelay(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
	for _, tc := range []struct {
		name    string
		attempt int
		want    time.Duration
	}{
		{name: "first", attempt: 1, want: 100 * time.Millisecond},
		{name: "zero is the first", attempt: 0, want: 100 * time.Millisecond},
		{name: "doubles", attempt: 3, want: 400 * time.Millisecond},
		{name: "bounded", attempt: 5, want: time.Second},
		{name: "no overflow", attempt: 200, want: time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, b.Delay(tc.attempt))
		})
	}
}

func TestDoUntilSuccess(t *testing.T) {
	calls := 0
	var waits []time.Duration
	err := Do(t.Context(), Backoff{Initial: time.Microsecond, Max: 4 * time.Microsecond}, func(context.Context) error {
		calls++
		if calls < 4 {
			return errors.New("down")
		}
		return nil
	}, func(_ int, wait time.Duration, _ error) { waits = append(waits, wait) })
	require.NoError(t, err)
	require.Equal(t, 4, calls)
	require.Equal(t, []time.Duration{time.Microsecond, 2 * time.Microsecond, 4 * time.Microsecond}, waits)
}

func TestDoGivesUpAfterAttempts(t *testing.T) {
	calls := 0
	last := errors.New("still down")
	err := Do(t.Context(), Backoff{Initial: time.Microsecond, Max: time.Microsecond, Attempts: 3}, func(context.Context) error {
		calls++
		return last
	}, nil)
	require.ErrorIs(t, err, last)
	require.Equal(t, 3, calls)
}

func TestDoStopsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancelCause(t.Context())
	stop := errors.New("shutting down")
	calls := 0
	err := Do(ctx, Backoff{Initial: time.Hour, Max: time.Hour}, func(context.Context) error {
		calls++
		cancel(stop)
		return errors.New("down")
	}, nil)
	require.ErrorIs(t, err, stop)
	require.Equal(t, 1, calls, "not called again once the context is done")
}
