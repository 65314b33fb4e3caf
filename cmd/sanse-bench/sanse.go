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
	"strings"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
)

// sanseRun is what the sanse phase needs to start `sanse serve`.
type sanseRun struct {
	binary, registry, brokers, group, dsn, dataDir, logFile string
	// topics and partitions are what sanse consumes, where its group's
	// committed offsets are read.
	topics     []string
	partitions int
	// events is how many messages sanse must commit; every is how often,
	// in messages consumed, the process is sampled.
	events, every int64
	// perf, when not empty, is the file where `perf record` writes a CPU
	// profile of sanse over the phase.
	perf string
	// feed, when not nil, runs beside sanse from its start: the rest of a
	// run produced in rounds.
	feed    func(context.Context) error
	timeout time.Duration
	// extra are more flags for sanse serve.
	extra []string
}

// How often the sanse phase reads /metrics: often until sanse consumes,
// to see when it started, then seldom, since each read costs sanse CPU (its
// collectors walk the state of every school). The end of the phase is the
// time sanse records for its last flush, whenever it is read.
const (
	pollStart   = 100 * time.Millisecond
	pollRunning = time.Second
)

// stallAfter is how long sanse may consume and store nothing, once it has
// started consuming, before the phase gives up.
const stallAfter = 2 * time.Minute

// sanseInfo are moments of the sanse phase, from the start of the process.
type sanseInfo struct {
	// Listening is when /metrics first answered, FirstConsumed when it
	// first counted a consumed message (each within pollStart).
	Listening, FirstConsumed time.Duration
	// Stored is how many event rows it had inserted at the end,
	// DeadLettered how many messages it sent to the dead-letter topic and
	// Duplicates how many it dropped as already seen.
	Stored, DeadLettered, Duplicates int64
}

// runSanse starts `sanse serve` as its own process with a fresh database
// and consumer group, and times it from the start of the process until
// every event is in ClickHouse: the time of the flush that stored the last
// of them and committed its offsets (sanse_ingest_last_flush_timestamp_seconds
// once the offsets its group committed add up to events; it commits a
// batch's offsets once the batch is stored). It samples the process's
// memory and CPU time each time another `every` messages were consumed,
// and once at the end.
func runSanse(ctx context.Context, r sanseRun) (phase, []sample, sanseInfo, error) {
	var info sanseInfo
	web, err := freeAddr()
	if err != nil {
		return phase{}, nil, info, err
	}
	logf, err := os.Create(r.logFile)
	if err != nil {
		return phase{}, nil, info, err
	}
	defer logf.Close()
	args := append([]string{"serve",
		"--web.listen-address", web, "--web.insecure-no-auth",
		"--kafka.brokers", r.brokers, "--kafka.group-id", r.group,
		"--registry.file", r.registry, "--clickhouse.dsn", r.dsn, "--data.dir", r.dataDir,
	}, r.extra...)
	cmd := exec.Command(r.binary, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return phase{}, nil, info, fmt.Errorf("start sanse: %w", err)
	}
	fmt.Fprintf(os.Stderr, "%s  sanse: process %d, log %s\n", time.Now().UTC().Format("15:04:05"), cmd.Process.Pid, r.logFile)
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

	fed := make(chan error, 1)
	if r.feed != nil {
		fctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() { fed <- r.feed(fctx) }()
	}
	if r.perf != "" {
		stop, err := startPerf(r.perf)
		if err != nil {
			return phase{}, nil, info, err
		}
		defer stop()
	}
	// Uncompressed: gzip would cost sanse more CPU than the bytes it saves here.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	kc := &kafka.Client{Addr: kafka.TCP(r.brokers), Timeout: 10 * time.Second}
	var (
		samples  []sample
		progress float64   // consumed + stored at the last change
		moved    time.Time // when they last changed
	)
	next := r.every
	deadline := time.After(r.timeout)
	poll := time.NewTimer(pollStart)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return phase{}, samples, info, ctx.Err()
		case <-exited:
			return phase{}, samples, info, fmt.Errorf("sanse exited (%s); its log is %s", cmd.ProcessState, r.logFile)
		case <-deadline:
			return phase{}, samples, info, fmt.Errorf("sanse did not store every event within %s; its log is %s", r.timeout, r.logFile)
		case err := <-fed:
			if err != nil {
				return phase{}, samples, info, fmt.Errorf("producing in rounds: %w", err)
			}
		case <-poll.C:
		}
		if info.FirstConsumed == 0 {
			poll.Reset(pollStart)
		} else {
			poll.Reset(pollRunning)
		}
		// The committed offsets first: once they cover every message, the
		// reading of /metrics after them has the time of the flush that
		// committed the last (it records the time after the commit, so the
		// reading waits a moment).
		_, committed, err := committedOffsets(ctx, kc, r.group, r.topics, r.partitions)
		if err != nil {
			return phase{}, samples, info, err
		}
		done := committed >= r.events
		if done {
			time.Sleep(100 * time.Millisecond)
		}
		m, err := scrape(ctx, client, "http://"+web+"/metrics")
		if err != nil {
			if done {
				return phase{}, samples, info, fmt.Errorf("read the metrics of sanse: %w", err)
			}
			continue // not listening yet
		}
		consumed, _ := metricSum(m, "sanse_ingest_messages_total", nil)
		if info.Listening == 0 {
			info.Listening = time.Since(start)
		}
		if info.FirstConsumed == 0 && consumed > 0 {
			info.FirstConsumed = time.Since(start)
		}
		stored, _ := metricSum(m, "sanse_store_insert_rows_total", map[string]string{"table": "events"})
		heap, _ := metricSum(m, "go_memstats_heap_inuse_bytes", nil)
		if consumed+stored != progress {
			progress, moved = consumed+stored, time.Now()
		} else if consumed > 0 && time.Since(moved) > stallAfter {
			return phase{}, samples, info, fmt.Errorf("sanse consumed %.0f of %d messages and stored %.0f events, and nothing more for %s; its log is %s",
				consumed, r.events, stored, stallAfter, r.logFile)
		}
		take := func() error {
			p, err := readProc(cmd.Process.Pid)
			if err != nil {
				return err
			}
			samples = append(samples, sample{Consumed: int64(consumed), Elapsed: time.Since(start), proc: p, HeapInuse: int64(heap)})
			return nil
		}
		for r.every > 0 && int64(consumed) >= next && !done {
			if err := take(); err != nil {
				return phase{}, samples, info, err
			}
			next += r.every
		}
		if !done {
			continue
		}
		end := time.Now()
		if flushed, ok := metricSum(m, "sanse_ingest_last_flush_timestamp_seconds", nil); ok && flushed > 0 {
			end = time.Unix(0, int64(math.Round(flushed*1e9)))
		}
		if err := take(); err != nil {
			return phase{}, samples, info, err
		}
		last := samples[len(samples)-1]
		info.Stored = int64(stored)
		dead, _ := metricSum(m, "sanse_ingest_messages_total", map[string]string{"result": "deadletter"})
		dup, _ := metricSum(m, "sanse_ingest_messages_total", map[string]string{"result": "duplicate"})
		info.DeadLettered, info.Duplicates = int64(dead), int64(dup)
		// The last reading, for a look at what the table does not show.
		_ = os.WriteFile(strings.TrimSuffix(r.logFile, ".log")+"-metrics.txt", m, 0o644)
		return phase{Items: int64(consumed), Wall: end.Sub(start), CPU: last.proc.CPU}, samples, info, nil
	}
}

// startPerf starts `perf record` sampling every CPU at 499 Hz with call
// graphs, writing to path; the function it returns stops it. It samples the
// whole machine, since sanse starts threads after any attach would;
// `perf report --pid` picks sanse out.
func startPerf(path string) (stop func(), err error) {
	cmd := exec.Command("perf", "record", "-a", "-F", "499", "-g", "-o", path)
	log, err := os.Create(path + ".log")
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start perf (apt-get install linux-perf): %w", err)
	}
	return func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		log.Close()
	}, nil
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
