package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// sanseRun is what the sanse phase needs to start `sanse serve`.
type sanseRun struct {
	binary, registry, brokers, dsn, dataDir, logFile string
	// valid is how many events must be stored; every is how often, in
	// messages consumed, the process is sampled.
	valid, every int64
	timeout      time.Duration
	// extra are more flags for sanse serve.
	extra []string
}

// pollInterval is how often the sanse phase reads /metrics.
const pollInterval = 100 * time.Millisecond

// sanseTimes are moments of the sanse phase, from the start of the process.
type sanseTimes struct {
	// Listening is when /metrics first answered, FirstConsumed when it
	// first counted a consumed message (each within pollInterval).
	Listening, FirstConsumed time.Duration
}

// runSanse starts `sanse serve` as its own process with a fresh database
// and consumer group, and times it from the start of the process until
// every valid event is in ClickHouse: the time of the flush that stored the
// last of them and committed its offsets (sanse_ingest_last_flush_timestamp_seconds
// once sanse_store_insert_rows_total{table="events"} reaches valid). It
// samples the process's memory and CPU time each time another `every`
// messages were consumed, and once at the end.
func runSanse(ctx context.Context, r sanseRun) (phase, []sample, sanseTimes, error) {
	var times sanseTimes
	web, err := freeAddr()
	if err != nil {
		return phase{}, nil, times, err
	}
	logf, err := os.Create(r.logFile)
	if err != nil {
		return phase{}, nil, times, err
	}
	defer logf.Close()
	args := append([]string{"serve",
		"--web.listen-address", web, "--web.insecure-no-auth",
		"--kafka.brokers", r.brokers, "--kafka.group-id", filepath.Base(r.dataDir),
		"--registry.file", r.registry, "--clickhouse.dsn", r.dsn, "--data.dir", r.dataDir,
	}, r.extra...)
	cmd := exec.Command(r.binary, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return phase{}, nil, times, fmt.Errorf("start sanse: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	defer func() {
		// Graceful: it flushes and commits what it has, then leaves the group.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()

	client := &http.Client{Timeout: 5 * time.Second}
	var samples []sample
	next := r.every
	deadline := time.After(r.timeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return phase{}, samples, times, ctx.Err()
		case <-exited:
			return phase{}, samples, times, fmt.Errorf("sanse exited (%s); its log is %s", cmd.ProcessState, r.logFile)
		case <-deadline:
			return phase{}, samples, times, fmt.Errorf("sanse did not store %d events within %s; its log is %s", r.valid, r.timeout, r.logFile)
		case <-tick.C:
		}
		m, err := scrape(ctx, client, "http://"+web+"/metrics")
		if err != nil {
			continue // not listening yet
		}
		consumed, _ := metricSum(m, "sanse_ingest_messages_total", nil)
		if times.Listening == 0 {
			times.Listening = time.Since(start)
		}
		if times.FirstConsumed == 0 && consumed > 0 {
			times.FirstConsumed = time.Since(start)
		}
		stored, _ := metricSum(m, "sanse_store_insert_rows_total", map[string]string{"table": "events"})
		heap, _ := metricSum(m, "go_memstats_heap_inuse_bytes", nil)
		take := func() error {
			p, err := readProc(cmd.Process.Pid)
			if err != nil {
				return err
			}
			samples = append(samples, sample{Consumed: int64(consumed), Elapsed: time.Since(start), proc: p, HeapInuse: int64(heap)})
			return nil
		}
		for r.every > 0 && int64(consumed) >= next && int64(stored) < r.valid {
			if err := take(); err != nil {
				return phase{}, samples, times, err
			}
			next += r.every
		}
		if int64(stored) < r.valid {
			continue
		}
		end := time.Now()
		if flushed, ok := metricSum(m, "sanse_ingest_last_flush_timestamp_seconds", nil); ok {
			if t := time.Unix(0, int64(math.Round(flushed*1e9))); t.After(start) && t.Before(end) {
				end = t
			}
		}
		if err := take(); err != nil {
			return phase{}, samples, times, err
		}
		last := samples[len(samples)-1]
		return phase{Items: int64(consumed), Wall: end.Sub(start), CPU: last.proc.CPU}, samples, times, nil
	}
}

// scrape returns the body of a GET of url.
func scrape(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New(resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// freeAddr returns a free TCP address on the loopback interface.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
