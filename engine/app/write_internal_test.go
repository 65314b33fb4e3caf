package app

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
)

// fakeStream keeps what it is handed.
type fakeStream struct {
	mu      sync.Mutex
	changes []engine.LevelChange
}

func (s *fakeStream) Publish(c engine.LevelChange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changes = append(s.changes, c)
}

func (s *fakeStream) PublishAlert(*alert.Alert) {}

func change(school string, seq uint64, to engine.Level) engine.LevelChange {
	return engine.LevelChange{SchoolID: school, Seq: seq, To: to}
}

// TestStreamSubscriberDropsStaleChanges: batches reach the stream in the
// order their writes returned, not the order the engine made them; a
// school's change older than one already handed on is dropped, so that the
// map never goes back to a colour the school no longer has.
func TestStreamSubscriberDropsStaleChanges(t *testing.T) {
	for _, tc := range []struct {
		name    string
		batches [][]engine.LevelChange
		want    []engine.LevelChange
	}{
		{
			name:    "in order",
			batches: [][]engine.LevelChange{{change("A", 1, engine.LevelRed)}, {change("A", 2, engine.LevelGreen)}},
			want:    []engine.LevelChange{change("A", 1, engine.LevelRed), change("A", 2, engine.LevelGreen)},
		},
		{
			name:    "an older change after a newer one",
			batches: [][]engine.LevelChange{{change("A", 2, engine.LevelGreen)}, {change("A", 1, engine.LevelRed)}},
			want:    []engine.LevelChange{change("A", 2, engine.LevelGreen)},
		},
		{
			name:    "the same change twice (a retried write)",
			batches: [][]engine.LevelChange{{change("A", 3, engine.LevelRed)}, {change("A", 3, engine.LevelRed)}},
			want:    []engine.LevelChange{change("A", 3, engine.LevelRed)},
		},
		{
			name: "schools are ordered each on its own",
			batches: [][]engine.LevelChange{
				{change("A", 5, engine.LevelRed)},
				{change("B", 4, engine.LevelYellow), change("A", 3, engine.LevelGreen)},
				{change("B", 6, engine.LevelGreen)},
			},
			want: []engine.LevelChange{change("A", 5, engine.LevelRed), change("B", 4, engine.LevelYellow), change("B", 6, engine.LevelGreen)},
		},
		{
			name: "within one batch",
			batches: [][]engine.LevelChange{
				{change("A", 2, engine.LevelRed), change("A", 1, engine.LevelYellow), change("A", 3, engine.LevelGreen)},
			},
			want: []engine.LevelChange{change("A", 2, engine.LevelRed), change("A", 3, engine.LevelGreen)},
		},
		{
			name:    "a change without Seq is always handed on",
			batches: [][]engine.LevelChange{{change("A", 2, engine.LevelRed)}, {change("A", 0, engine.LevelGreen)}},
			want:    []engine.LevelChange{change("A", 2, engine.LevelRed), change("A", 0, engine.LevelGreen)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := &fakeStream{}
			s := newStreamSubscriber(stream)
			for _, b := range tc.batches {
				require.NoError(t, s.Observe(t.Context(), &engine.Output{Changes: b}))
			}
			require.Equal(t, tc.want, stream.changes)
		})
	}
}

// TestStreamSubscriberConcurrentWriters: writers hand their batches to the
// stream at once, each school's changes in any order; what the stream gets
// of each school has Seq going up and ends with the newest change.
func TestStreamSubscriberConcurrentWriters(t *testing.T) {
	stream := &fakeStream{}
	s := newStreamSubscriber(stream)
	const writers, per = 8, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range per {
				// Writer w holds the changes with Seq ≡ w (mod writers), so
				// the writers' batches interleave in Seq order only by luck.
				seq := uint64(i*writers + w + 1)
				_ = s.Observe(t.Context(), &engine.Output{Changes: []engine.LevelChange{change("A", seq, engine.LevelRed)}})
			}
		})
	}
	wg.Wait()
	require.NotEmpty(t, stream.changes)
	for i := 1; i < len(stream.changes); i++ {
		require.Greater(t, stream.changes[i].Seq, stream.changes[i-1].Seq)
	}
	require.Equal(t, uint64(writers*per), stream.changes[len(stream.changes)-1].Seq)
}
