package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/sanse-campus/sanse/engine/registry"
)

// cmdLatency runs `sanse-bench latency`: produce → red on the live stream.
// It reads the live stream of a running `sanse serve` (GET /api/v1/stream,
// the server started with web.insecure_no_auth, or -token), then produces,
// one every -interval, an entry of a visitor on the blacklist (禁入名单) at
// a school of the registry not probed before, and times from just before
// the write to the "level" event of the stream that names the probe's event
// id. Whatever else the broker carries meanwhile (e.g. `sanse simulate
// --rate 10000` beside it) is the background.
func cmdLatency(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("latency", flag.ContinueOnError)
	fs.SetOutput(stderr)
	web := fs.String("web", "127.0.0.1:8080", "address of sanse serve's web server")
	token := fs.String("token", "", "an API token (viewer); empty for a server with web.insecure_no_auth")
	brokers := fs.String("brokers", "127.0.0.1:9092", "comma-separated brokers sanse consumes")
	registryFile := fs.String("registry", "", "the registry sanse serves (CSV): the probed schools are taken from it, in order")
	samples := fs.Int("samples", 200, "probes to send")
	first := fs.Int("first", 0, "the registry's school to probe first (0-based); a school probed by an earlier run is still red, so a second run against the same server starts after the first")
	interval := fs.Duration("interval", 100*time.Millisecond, "time between probes")
	wait := fs.Duration("wait", 10*time.Second, "how long the last probe's change is waited for")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *registryFile == "" {
		return errors.New("-registry is required: the CSV registry sanse serves")
	}
	reg, err := registry.Load(*registryFile)
	if err != nil {
		return err
	}
	var schools []string
	for _, sc := range reg.Schools() {
		schools = append(schools, sc.ID)
	}
	if *first < 0 || len(schools)-*first < *samples {
		return fmt.Errorf("the registry has %d schools, fewer than -first %d and -samples %d: each probe needs a school of its own", len(schools), *first, *samples)
	}
	schools = schools[*first:]

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+*web+"/api/v1/stream", nil)
	if err != nil {
		return err
	}
	if *token != "" {
		req.Header.Set("Authorization", "Bearer "+*token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("live stream: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("live stream: %s", resp.Status)
	}

	run := time.Now().UTC().Format("150405")
	var (
		mu   sync.Mutex
		sent = map[string]time.Time{}
		got  = map[string]time.Duration{}
	)
	done := make(chan error, 1)
	go func() {
		done <- readLevelEvents(resp.Body, "probe-"+run+"-", func(eventID string, at time.Time) {
			mu.Lock()
			defer mu.Unlock()
			if start, ok := sent[eventID]; ok {
				if _, seen := got[eventID]; !seen {
					got[eventID] = at.Sub(start)
				}
			}
		})
	}()

	w := &kafka.Writer{Addr: kafka.TCP(strings.Split(*brokers, ",")...), Balancer: &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireOne, BatchTimeout: time.Millisecond}
	defer w.Close()
	fmt.Fprintf(stdout, "latency: %d probes, one every %s, to %s; the stream of %s\n", *samples, *interval, *brokers, *web)
	tick := time.NewTicker(*interval)
	defer tick.Stop()
	for i := range *samples {
		id := fmt.Sprintf("probe-%s-%d", run, i)
		school := schools[i]
		ev := fmt.Sprintf(`{"id":%q,"school_id":%q,"source":"visitor","type":"entry","occurred_at":%q,`+
			`"visitor_id":"probe-%d","id_verified":true,"watchlist":"blacklist","gate":"东门"}`,
			id, school, time.Now().Format(time.RFC3339Nano), i)
		mu.Lock()
		sent[id] = time.Now()
		mu.Unlock()
		if err := w.WriteMessages(ctx, kafka.Message{Topic: "campus.visitor", Key: []byte(school), Value: []byte(ev)}); err != nil {
			return fmt.Errorf("produce probe %d: %w", i, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-done:
			return fmt.Errorf("live stream ended: %w", err)
		case <-tick.C:
		}
	}
	deadline := time.Now().Add(*wait)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == *samples {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	lat := make([]time.Duration, 0, len(got))
	for _, d := range got {
		lat = append(lat, d)
	}
	mu.Unlock()
	fmt.Fprintln(stdout, latencySummary(lat, *samples))
	return nil
}

// readLevelEvents reads a text/event-stream and calls fn with the event id
// of every "level" event whose event_id begins with prefix, and when it was
// read.
func readLevelEvents(r io.Reader, prefix string, fn func(eventID string, at time.Time)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	name := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			name = ""
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && name == "level":
			data := strings.TrimPrefix(line, "data: ")
			if !strings.Contains(data, prefix) {
				continue
			}
			at := time.Now()
			var ch struct {
				EventID string `json:"event_id"`
				To      string `json:"to"`
			}
			if json.Unmarshal([]byte(data), &ch) == nil && ch.To == "red" && strings.HasPrefix(ch.EventID, prefix) {
				fn(ch.EventID, at)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.EOF
}

// latencySummary describes the latencies of the probes that were seen,
// of sent probes.
func latencySummary(lat []time.Duration, sent int) string {
	if len(lat) == 0 {
		return fmt.Sprintf("no change seen for any of %d probes", sent)
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	r := func(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }
	return fmt.Sprintf("produce → red on the stream: %d of %d probes seen; p50 %s, p90 %s, p99 %s, max %s",
		len(lat), sent, r(q(0.50)), r(q(0.90)), r(q(0.99)), r(lat[len(lat)-1]))
}
