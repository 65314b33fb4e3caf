package alert_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/notify"
	"github.com/sanse-campus/sanse/engine/store/storetest"
)

// BenchmarkAlertDelivery opens alerts at a steady rate — 10,000 a minute by
// default (SANSE_BENCH_ALERTS_PER_MIN), for 60 s (SANSE_BENCH_ALERTS_SECONDS)
// — each at its own school, as the engine's flushes hand them over (a batch
// every 200 ms), routes them to one local webhook receiver that checks every
// signature, and reports the delivered rate, the latency from Observe to the
// receiver, and the outbox's backlog sampled every second (its maximum, and
// its level in the first and last tenth of the run: growth shows as a
// higher last tenth). Everything is stored in the real ClickHouse.
func BenchmarkAlertDelivery(b *testing.B) {
	perMin := envInt("SANSE_BENCH_ALERTS_PER_MIN", 10_000)
	seconds := envInt("SANSE_BENCH_ALERTS_SECONDS", 60)
	for b.Loop() {
		benchAlertDelivery(b, perMin, seconds)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func benchAlertDelivery(b *testing.B, perMin, seconds int) {
	st := storetest.Fresh(b, nil)
	total := perMin * seconds / 60
	schools := make([]engine.School, total)
	for i := range schools {
		schools[i] = engine.School{ID: fmt.Sprintf("B-%06d", i), Name: fmt.Sprintf("测试学校%06d", i), District: "南湖区", Town: "新兴街道", Stage: engine.StagePrimary}
	}
	reg, err := engine.NewRegistry(schools)
	if err != nil {
		b.Fatal(err)
	}

	var (
		mu       sync.Mutex
		opened   = make(map[string]time.Time, total)
		latency  []time.Duration
		received int
		badSign  int
	)
	secret := []byte("bench-secret")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if notify.VerifyWebhook(secret, r.Header, body, time.Now(), time.Minute) != nil {
			mu.Lock()
			badSign++
			mu.Unlock()
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p struct {
			School struct {
				ID string `json:"id"`
			} `json:"school"`
		}
		_ = json.Unmarshal(body, &p)
		now := time.Now()
		mu.Lock()
		received++
		if at, ok := opened[p.School.ID]; ok {
			latency = append(latency, now.Sub(at))
		}
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	m, err := alert.New(alert.Options{
		Config: alert.Config{
			Receivers:  []notify.ReceiverConfig{{Name: "hook", Webhook: &notify.WebhookConfig{URL: srv.URL, Secret: notify.Secret(secret)}}},
			Route:      alert.Route{Receivers: []string{"hook"}, RepeatInterval: time.Hour},
			Escalation: alert.Escalation{Red: time.Hour, Yellow: time.Hour},
		},
		Store: st, Registry: func() *engine.Registry { return reg },
		Level: func(string) engine.Level { return engine.LevelYellow },
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	var backlog []int
	stopSample := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stopSample:
				return
			case <-tick.C:
				backlog = append(backlog, m.Backlog()["hook"])
			}
		}
	}()

	const every = 200 * time.Millisecond
	perBatch := max(1, perMin/300) // 300 batches a minute
	start := time.Now()
	next := start
	for i := 0; i < total; {
		var out engine.Output
		now := time.Now()
		mu.Lock()
		for j := 0; j < perBatch && i < total; j, i = j+1, i+1 {
			id := schools[i].ID
			opened[id] = now
			out.Changes = append(out.Changes, engine.LevelChange{
				SchoolID: id, At: now, From: engine.LevelGreen, To: engine.LevelYellow,
				Cause: engine.Cause{How: engine.RiskOpened, Rule: "canteen.hygiene", Text: "新增中风险：卫生违规累计3次"}, EventID: "bench-" + id, ActiveRisks: 1,
			})
		}
		mu.Unlock()
		if err := m.Observe(ctx, &out); err != nil {
			b.Fatal(err)
		}
		next = next.Add(every)
		time.Sleep(time.Until(next))
	}
	feed := time.Since(start)
	for deadline := time.Now().Add(2 * time.Minute); ; {
		mu.Lock()
		n := received
		mu.Unlock()
		if n >= total {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d messages delivered 2 minutes after the last alert", n, total)
		}
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	close(stopSample)
	<-sampled

	mu.Lock()
	defer mu.Unlock()
	if badSign > 0 {
		b.Fatalf("%d requests with a bad signature", badSign)
	}
	slices.Sort(latency)
	pct := func(p float64) time.Duration { return latency[min(len(latency)-1, int(p*float64(len(latency))))] }
	tenth := max(1, len(backlog)/10)
	mean := func(xs []int) float64 {
		s := 0
		for _, x := range xs {
			s += x
		}
		return float64(s) / float64(max(1, len(xs)))
	}
	b.ReportMetric(float64(total)/feed.Minutes(), "alerts/min-offered")
	b.ReportMetric(float64(received)/elapsed.Minutes(), "msgs/min-delivered")
	b.ReportMetric(float64(pct(0.5).Milliseconds()), "p50-ms")
	b.ReportMetric(float64(pct(0.99).Milliseconds()), "p99-ms")
	b.ReportMetric(float64(latency[len(latency)-1].Milliseconds()), "max-ms")
	b.ReportMetric(float64(slices.Max(append(backlog, 0))), "backlog-max")
	b.ReportMetric(mean(backlog[:tenth]), "backlog-first10%")
	b.ReportMetric(mean(backlog[len(backlog)-tenth:]), "backlog-last10%")
	b.ReportMetric((elapsed - feed).Seconds(), "drain-s")
}
