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

// TestStreamFirstHistoryNext: a blacklisted visitor's entry, produced to the
// broker, turns the school red; the colour change reaches the live stream as
// the engine makes it — before its batch is stored, as the map shows it —,
// then the history holds it and the alert for it, and the write path does
// not hand the change on a second time.
func TestStreamFirstHistoryNext(t *testing.T) {
	a := start(t, newEnv(t))
	a.stream.inspect.Store(true)

	produce(t, a.Brokers(), blacklisted("wp-1", schoolA, time.Now().Add(-time.Minute)))
	waitFor(t, 30*time.Second, "the red change on the stream", func() bool {
		p, ok := a.stream.last(schoolA)
		return ok && p.change.To == engine.LevelRed
	})
	p, _ := a.stream.last(schoolA)
	require.Equal(t, engine.LevelGreen, p.change.From)
	require.Equal(t, engine.RiskOpened, p.change.Cause.How)
	require.Equal(t, "visitor.watchlist_entry", p.change.Cause.Rule)
	require.Equal(t, "wp-1", p.change.EventID)
	require.False(t, p.stored, "the change is handed on as the engine makes it, before its batch is stored")

	waitFor(t, 30*time.Second, "the change stored", func() bool {
		tl := timeline(t, a.App, schoolA)
		return len(tl) > 0 && tl[len(tl)-1].To == engine.LevelRed
	})
	waitFor(t, 30*time.Second, "the alert stored", func() bool {
		list, err := a.Alerts().List(t.Context(), alert.Filter{School: schoolA})
		return err == nil && len(list) == 1
	})
	require.Len(t, a.stream.of(schoolA), 1, "one change for one event: the write path does not hand it on again")
	require.Equal(t, engine.LevelRed, a.Engine().Level(schoolA))
	list, err := a.Alerts().List(t.Context(), alert.Filter{School: schoolA})
	require.NoError(t, err)
	require.Equal(t, "visitor.watchlist_entry", list[0].Rule)
	require.Equal(t, engine.LevelRed, list[0].Level)
	require.Equal(t, alert.StatusFiring, list[0].Status)
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
