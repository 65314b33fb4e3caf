package report

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHolder(t *testing.T) {
	t0 := at(2026, 12, 3, 7, 30)
	lease := 10 * time.Minute
	c := func(instance string, after time.Duration) Claim {
		return Claim{Key: "k", Instance: instance, At: t0.Add(after), Step: StepRun}
	}
	for _, tc := range []struct {
		name   string
		claims []Claim
		want   string
	}{
		{"the earliest claim holds", []Claim{c("b", time.Second), c("a", 2*time.Second)}, "b"},
		{"claims of one instant: the first name", []Claim{c("b", 0), c("a", 0)}, "a"},
		{"a claim within the lease does not take over", []Claim{c("a", 0), c("b", lease-time.Millisecond)}, "a"},
		{"the first claim after the lease takes over", []Claim{c("c", lease+time.Second), c("a", 0), c("b", lease)}, "b"},
		{"takeovers chain", []Claim{c("a", 0), c("b", lease), c("c", lease+time.Minute), c("d", 2*lease)}, "d"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, ok := Holder(tc.claims, lease)
			require.True(t, ok)
			require.Equal(t, tc.want, h.Instance)
		})
	}
	_, ok := Holder(nil, lease)
	require.False(t, ok)
}

func newTestClaimer(claims Claims, name string, clk *clock, lease time.Duration) *claimer {
	return &claimer{claims: claims, instance: name, lease: lease, now: clk.Now,
		sleep: func(context.Context, time.Duration) error { return nil }}
}

func TestClaimer(t *testing.T) {
	ctx := context.Background()
	clk := newClock(at(2026, 12, 3, 7, 30))
	lease := 15 * time.Minute
	claims := &memClaims{}
	a := newTestClaimer(claims, "a", clk, lease)
	b := newTestClaimer(claims, "b", clk, lease)

	got, err := a.claim(ctx, "k", StepRun)
	require.NoError(t, err)
	require.False(t, got.IsZero(), "a free key is claimed")
	got, err = b.claim(ctx, "k", StepRun)
	require.NoError(t, err)
	require.True(t, got.IsZero(), "a held key is not")
	require.Len(t, claims.claims, 1, "nor is a claim added for it")

	clk.Add(time.Minute)
	got, err = a.claim(ctx, "k", StepRun)
	require.NoError(t, err)
	require.True(t, got.IsZero(), "the holder does not claim again within its lease (a failed run waits for it)")

	got, err = b.claim(ctx, "k", StepDeliver)
	require.NoError(t, err)
	require.False(t, got.IsZero(), "another step is another claim")

	clk.Add(lease)
	got, err = b.claim(ctx, "k", StepRun)
	require.NoError(t, err)
	require.False(t, got.IsZero(), "once the lease ran out, another instance takes over")
	got, err = a.claim(ctx, "k", StepRun)
	require.NoError(t, err)
	require.True(t, got.IsZero())
}

// TestClaimerRace makes two instances claim one key at the same moment:
// both read the claims before either adds its own (the barrier), and each
// reads the claims back after the other's was added (the settle wait).
// Exactly one holds the key.
func TestClaimerRace(t *testing.T) {
	for range 20 {
		clk := newClock(at(2026, 12, 3, 7, 30))
		added, settled := newBarrier(2), newBarrier(2)
		claims := &memClaims{beforeAdd: added.wait}
		var (
			held [2]time.Time
			errs [2]error
		)
		done := make(chan struct{})
		for i, name := range []string{"b", "a"} {
			c := newTestClaimer(claims, name, clk, time.Minute)
			c.sleep = func(context.Context, time.Duration) error { settled.wait(); return nil }
			go func() {
				defer func() { done <- struct{}{} }()
				held[i], errs[i] = c.claim(context.Background(), "k", StepRun)
			}()
		}
		<-done
		<-done
		require.NoError(t, errs[0])
		require.NoError(t, errs[1])
		require.NotEqual(t, held[0].IsZero(), held[1].IsZero(), "exactly one instance holds the key: %v", held)
		require.False(t, held[1].IsZero(), "the first name, for claims of one instant")
	}
}
