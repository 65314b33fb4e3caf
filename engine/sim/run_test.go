package sim

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
)

// recordingWriter records what Run writes, and fails once told to.
type recordingWriter struct {
	mu      sync.Mutex
	batches [][]kafka.Message
	fail    error
}

func (w *recordingWriter) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail != nil {
		return w.fail
	}
	w.batches = append(w.batches, msgs)
	return nil
}

func (w *recordingWriter) count() (batches, msgs int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range w.batches {
		msgs += len(b)
	}
	return len(w.batches), msgs
}

func TestRun(t *testing.T) {
	reg := loadDemo(t)
	tests := []struct {
		name string
		rate float64
		run  time.Duration
	}{
		{name: "slow", rate: 20, run: time.Second},
		{name: "fast", rate: 500, run: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{Registry: reg, Seed: 1, Rate: tt.rate}, nil)
			w := &recordingWriter{}
			ctx, cancel := context.WithTimeout(context.Background(), tt.run)
			defer cancel()
			require.NoError(t, s.Run(ctx, w))
			batches, msgs := w.count()
			want := tt.rate * tt.run.Seconds()
			require.InDelta(t, want, msgs, want*0.25+3, "messages written")
			require.InDelta(t, tt.run/tick, batches, 3, "one batch per tick")
			require.EqualValues(t, msgs, s.Stats().Events)
			for _, b := range w.batches {
				for _, m := range b {
					require.NotEmpty(t, m.Topic)
					require.NotEmpty(t, m.Key)
				}
			}
		})
	}
}

func TestRunWriteError(t *testing.T) {
	boom := errors.New("broker gone")
	s := New(Options{Registry: loadDemo(t), Seed: 1, Rate: 100}, nil)
	err := s.Run(context.Background(), &recordingWriter{fail: boom})
	require.ErrorIs(t, err, boom)
}

func TestRunEmptyRegistry(t *testing.T) {
	s := New(Options{}, nil)
	require.Error(t, s.Run(context.Background(), &recordingWriter{}))
}
