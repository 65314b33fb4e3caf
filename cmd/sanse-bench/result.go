package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// phase is one timed way of moving the messages.
type phase struct {
	// Items is how many messages (raw, sanse) or rows (chclient) it moved.
	Items int64
	// Wall is its time, measured as the phase says.
	Wall time.Duration
	// CPU is the CPU time of the process that did the work: this one for
	// raw, clickhouse-client for chclient, sanse for sanse.
	CPU time.Duration
	// ServerCPU is the ClickHouse server's CPU time meanwhile, as it counts
	// itself (system.events).
	ServerCPU time.Duration
}

// rate returns items per second; 0 for a phase that did not run.
func (p phase) rate() float64 {
	if p.Wall <= 0 {
		return 0
	}
	return float64(p.Items) / p.Wall.Seconds()
}

// sample is the sanse process at one point of the sanse phase.
type sample struct {
	// Consumed is the messages it had consumed (sanse_ingest_messages_total).
	Consumed int64
	// Elapsed is the time since the process was started.
	Elapsed time.Duration
	proc    procSample
	// HeapInuse is the Go heap in use (go_memstats_heap_inuse_bytes).
	HeapInuse int64
}

// result is one run of the province benchmark.
type result struct {
	Schools, Partitions int
	// Round is the messages of a round when the run was produced in
	// rounds while sanse consumed, 0 when everything was produced first.
	Round int64
	// Events is how many messages were produced, Valid how many of them
	// the decoder accepts (the rows of the events table).
	Events, Valid        int64
	Raw, CHClient, Sanse phase
	// Samples are the sanse process every million messages consumed
	// (SampleEvery) and, last, once every event was stored.
	Samples   []sample
	SanseInfo sanseInfo
	// Broker is the broker process once the messages were produced, and
	// BrokerEnd at the end of the run (its HWM is the peak).
	Broker, BrokerEnd procSample
}

// ratio is the goal's figure: sanse msgs/s over the smaller of raw msgs/s
// and chclient rows/s; NaN when a phase did not run.
func (r *result) ratio() float64 {
	raw, ch, s := r.Raw.rate(), r.CHClient.rate(), r.Sanse.rate()
	if raw == 0 || ch == 0 || s == 0 {
		return math.NaN()
	}
	return s / min(raw, ch)
}

// cpuPerMillion is the sanse process's CPU seconds per million messages,
// from its start to the last sample.
func (r *result) cpuPerMillion() float64 {
	if len(r.Samples) == 0 || r.Events == 0 {
		return math.NaN()
	}
	return r.Samples[len(r.Samples)-1].proc.CPU.Seconds() / (float64(r.Events) / 1e6)
}

// rssWindow returns the smallest and largest resident memory of sanse over
// the samples taken within the last window messages (all of them when the
// run is shorter), and how many samples that was.
func (r *result) rssWindow(window int64) (lo, hi int64, n int) {
	from := r.Events - window
	for _, s := range r.Samples {
		if s.Consumed < from {
			continue
		}
		if n == 0 || s.proc.RSS < lo {
			lo = s.proc.RSS
		}
		hi = max(hi, s.proc.RSS)
		n++
	}
	return lo, hi, n
}

// flatWindow is the span of messages at the end of a run over which the
// goal wants sanse's resident memory flat.
const flatWindow = 5_000_000

// write prints the result as one table, then the samples.
func (r *result) write(w io.Writer) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(&b, "province benchmark: %d schools, %d partitions per topic, %s messages, %s valid events\n",
		r.Schools, r.Partitions, thousands(r.Events), thousands(r.Valid))
	if r.Round > 0 {
		fmt.Fprintf(&b, "produced in rounds of %s while sanse consumed, at most %d rounds not committed in the broker\n", thousands(r.Round), ahead)
	}
	b.WriteByte('\n')
	fmt.Fprintln(tw, "phase\titems\twall\trate\tCPU of its process\tClickHouse server CPU\t")
	for _, p := range []struct {
		name, unit, cpu string
		p               phase
	}{
		{"(a) raw kafka-go consumer group", "msgs", "bench", r.Raw},
		{"(b) clickhouse-client bulk insert", "rows", "client", r.CHClient},
		{"(c) sanse serve end to end", "msgs", "sanse", r.Sanse},
	} {
		if p.p.Wall == 0 {
			fmt.Fprintf(tw, "%s\t\tnot run\t\t\t\t\n", p.name)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s %s/s\t%s %s\t%s\t\n", p.name, thousands(p.p.Items), seconds(p.p.Wall),
			thousands(int64(math.Round(p.p.rate()))), p.unit, seconds(p.p.CPU), p.cpu, seconds(p.p.ServerCPU))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if ratio := r.ratio(); math.IsNaN(ratio) {
		fmt.Fprintf(&b, "\nratio c / min(a, b): not measured, a phase did not run\n")
	} else {
		fmt.Fprintf(&b, "\nratio c / min(a, b): %.3f (goal ≥ 0.6)\n", ratio)
	}
	fmt.Fprintf(&b, "sanse CPU: %.2f s per million messages (start to last sample)\n", r.cpuPerMillion())
	fmt.Fprintf(&b, "sanse start: /metrics first answered after %s, first counted a consumed message after %s (polled every %s)\n",
		seconds(r.SanseInfo.Listening), seconds(r.SanseInfo.FirstConsumed), pollStart)
	if lo, hi, n := r.rssWindow(flatWindow); n > 0 {
		fmt.Fprintf(&b, "sanse RSS over the last %s messages (%d samples): %s to %s, peak (VmHWM) %s\n",
			thousands(min(flatWindow, r.Events)), n, mib(lo), mib(hi), mib(r.peakRSS()))
	}
	fmt.Fprintf(&b, "broker RSS: %s once produced, %s at the end, peak %s\n\n", mib(r.Broker.RSS), mib(r.BrokerEnd.RSS), mib(r.BrokerEnd.HWM))

	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "sanse: consumed\telapsed\tRSS\tGo heap in use\tCPU\t")
	for _, s := range r.Samples {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", thousands(s.Consumed), seconds(s.Elapsed), mib(s.proc.RSS), mib(s.HeapInuse), seconds(s.proc.CPU))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// peakRSS is the largest VmHWM of the samples.
func (r *result) peakRSS() int64 {
	var hwm int64
	for _, s := range r.Samples {
		hwm = max(hwm, s.proc.HWM)
	}
	return hwm
}

// thousands formats n with commas: 1,000,000.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f s", d.Seconds()) }

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }
