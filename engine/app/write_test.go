package app_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
)

// TestWritePathStoresFirst: a blacklisted visitor's entry, produced to the
// broker, turns the school red; the colour change reaches the live stream
// only once it is in the history and the alert for it is stored — the one
// write path stores a batch first, then hands it to hazards, alerts and the
// stream, in that order.
func TestWritePathStoresFirst(t *testing.T) {
	a := start(t, newEnv(t))
	a.stream.inspect.Store(true)

	produce(t, a.Brokers(), blacklisted("wp-1", schoolA, time.Now().Add(-time.Minute)))
	waitFor(t, 30*time.Second, "the red change on the stream", func() bool {
		p, ok := a.stream.last(schoolA)
		return ok && p.change.To == engine.LevelRed
	})

	ps := a.stream.of(schoolA)
	require.Len(t, ps, 1, "one change for one event")
	p := ps[0]
	require.Equal(t, engine.LevelGreen, p.change.From)
	require.Equal(t, engine.RiskOpened, p.change.Cause.How)
	require.Equal(t, "visitor.watchlist_entry", p.change.Cause.Rule)
	require.Equal(t, "wp-1", p.change.EventID)
	require.True(t, p.stored, "the change reached the stream before it was stored: %s", describe(p.change))
	require.Len(t, p.alerts, 1, "the change reached the stream before its alert was stored")
	require.Equal(t, engine.LevelRed, p.alerts[0].Level)
	require.Equal(t, alert.StatusFiring, p.alerts[0].Status)

	// And afterwards, as people see it.
	require.Equal(t, engine.LevelRed, a.Engine().Level(schoolA))
	require.Equal(t, engine.LevelRed, lastStored(t, a.App, schoolA).To)
	list, err := a.Alerts().List(t.Context(), alert.Filter{School: schoolA})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "visitor.watchlist_entry", list[0].Rule)
}

// TestStreamNeverGoesBack: the ingest and people's acts write at once, and
// both change the colours of the same schools; for every school the stream
// never hands on an older change after a newer one (Seq only goes up), and
// its last change is the colour the engine shows. Writes that return out of
// order are rare here (each waits for ClickHouse); the dropping of a stale
// change is shown deterministically by TestStreamSubscriberDropsStaleChanges.
func TestStreamNeverGoesBack(t *testing.T) {
	a := start(t, newEnv(t))
	schools := []string{schoolA, schoolB}
	const readings = 30

	errs := make(chan error, 3)
	var wg sync.WaitGroup
	// The ingest: the river by each school rises above its warning level
	// and falls again, the last reading above.
	cl := producer(t, a.Brokers())
	last := make(map[string]time.Time)
	var lastMu sync.Mutex
	wg.Go(func() {
		for i := range readings {
			school := schools[i%2]
			at := time.Now()
			if err := send(t.Context(), cl, waterLevel(fmt.Sprintf("race-%d", i), school, i/2%2 == 0 || i >= readings-2, at)); err != nil {
				errs <- err
				return
			}
			lastMu.Lock()
			last[school] = at
			lastMu.Unlock()
		}
	})
	// People: a manual high risk opened and resolved at each school, each
	// from a writer of its own.
	for _, school := range schools {
		wg.Go(func() {
			m := engine.Match{Rule: "test.race", Key: "k", Severity: engine.SeverityHigh, Title: "竞争", Manual: true,
				Source: engine.SourceDrowning}
			for range readings / 2 {
				if err := a.OpenRisk(t.Context(), school, m, time.Now()); err != nil {
					errs <- err
					return
				}
				if _, err := a.Resolve(t.Context(), school, "test.race", "k", "测试", "并发"); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	// The ingest's last batches are written after the broker took them.
	for _, school := range schools {
		waitFor(t, 30*time.Second, "the last reading at "+school+" applied", func() bool {
			v, _ := a.Engine().View(school)
			return len(v.Risks) == 1 && v.Risks[0].LastSeen.Equal(last[school])
		})
	}

	for _, school := range schools {
		waitFor(t, 10*time.Second, "the stream's last change of "+school+" is the engine's colour", func() bool {
			p, _ := a.stream.last(school)
			return p.change.To == a.Engine().Level(school)
		})
		require.NotEqual(t, engine.LevelGreen, a.Engine().Level(school))
		ps := a.stream.of(school)
		t.Logf("%s: %d changes handed on", school, len(ps))
		require.Greater(t, len(ps), readings/2, "both writers changed the colour")
		for i := 1; i < len(ps); i++ {
			require.Greater(t, ps[i].change.Seq, ps[i-1].change.Seq,
				"%s: %s handed on after %s", school, describe(ps[i].change), describe(ps[i-1].change))
		}
	}
}
