// Command sanse-bench runs the province benchmark: Sanse at the scale of a
// province, against a broker in a process of its own, compared in one run
// with the two things it is built from (BENCHMARKS.md, "The province
// benchmark").
//
//	make bench-province                                # 1,000,000 events
//	SANSE_BENCH_EVENTS=10000000 make bench-province    # the memory run
//
// One run:
//
//  1. writes a registry of 20,000 schools (sim.GenerateRegistry) to a
//     temporary directory;
//  2. starts a broker as a process of its own: this binary's broker
//     subcommand, franz-go's kfake (the broker engine/ingest embeds) with
//     8 partitions per topic, nothing dropped, everything in memory;
//  3. produces N events of the simulator over those schools with a
//     kafka-go writer, keyed by school, to the topics of docs/events.md,
//     and reads them back once to write the rows Sanse stores as TSV;
//  4. times, on the same messages:
//     (a) raw: a kafka-go consumer group reading all N and committing;
//     (b) chclient: clickhouse-client inserting the TSV into the events
//     table of a fresh migrated database;
//     (c) sanse: `sanse serve` as its own process, with its own fresh
//     database and consumer group, from the start of the process until
//     its group has committed every message, sampling its resident memory
//     and CPU time every million messages consumed and at the end;
//  5. prints one table: the three rates, c / min(a, b), the samples, the
//     CPU seconds of sanse per million messages and the broker's memory.
//
// Above 2,000,000 events (or with -round) the messages are produced in
// rounds while sanse consumes, what it committed deleted before each
// round, so that the in-memory broker stays bounded; only the sanse phase
// runs then.
//
// `sanse-bench latency` times produce → red on the live stream of a
// running `sanse serve` (latency.go).
//
// Each flag can be set in the environment too: -events is
// SANSE_BENCH_EVENTS, -clickhouse.dsn SANSE_CLICKHOUSE_DSN.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/benchkit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sanse-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "broker" {
		return cmdBroker(ctx, args[1:], stdin, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "latency" {
		return cmdLatency(ctx, args[1:], stdout, stderr)
	}
	return cmdRun(ctx, args, stdout, stderr)
}

// Above autoRoundsAbove events a run is produced in rounds of autoRound
// unless -round says otherwise: the in-memory broker holds about 0.5 GiB
// per million messages.
const (
	autoRoundsAbove = 2_000_000
	autoRound       = 1_000_000
)

// options are the flags of a run.
type options struct {
	events, every, round    int64
	schools, partitions     int
	seed                    int64
	sanse, dsn, phases, dir string
	perf                    string
	timeout                 time.Duration
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("sanse-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.Int64Var(&o.events, "events", envInt("SANSE_BENCH_EVENTS", 1_000_000), "messages to produce and move (SANSE_BENCH_EVENTS)")
	fs.IntVar(&o.schools, "schools", int(envInt("SANSE_BENCH_SCHOOLS", 20_000)), "schools of the registry (SANSE_BENCH_SCHOOLS)")
	fs.IntVar(&o.partitions, "partitions", int(envInt("SANSE_BENCH_PARTITIONS", 8)), "partitions of each topic (SANSE_BENCH_PARTITIONS)")
	fs.Int64Var(&o.every, "sample-every", envInt("SANSE_BENCH_SAMPLE_EVERY", 1_000_000), "sample sanse's memory and CPU each time this many more messages were consumed (SANSE_BENCH_SAMPLE_EVERY)")
	fs.Int64Var(&o.seed, "seed", 1, "seed of the registry and the simulator")
	fs.StringVar(&o.sanse, "sanse", envStr("SANSE_BENCH_SANSE", "bin/sanse"), "the sanse binary to run (SANSE_BENCH_SANSE)")
	fs.StringVar(&o.dsn, "clickhouse.dsn", envStr("SANSE_CLICKHOUSE_DSN", "clickhouse://127.0.0.1:19000/default"),
		"ClickHouse server; each phase uses a fresh database on it, dropped afterwards (SANSE_CLICKHOUSE_DSN)")
	fs.Int64Var(&o.round, "round", envInt("SANSE_BENCH_ROUND", -1), "produce in rounds of this many messages while sanse consumes, keeping at most two\n"+
		"rounds it has not committed in the broker, and run the sanse phase only: for runs larger than the in-memory\n"+
		"broker can hold; 0: produce everything first and run every phase; -1: 0 up to 2,000,000 events, else 1,000,000 (SANSE_BENCH_ROUND)")
	fs.StringVar(&o.phases, "phases", envStr("SANSE_BENCH_PHASES", ""), "the phases to run, of raw, chclient and sanse; empty: all three, or sanse alone in rounds (SANSE_BENCH_PHASES)")
	fs.StringVar(&o.dir, "dir", "", "directory for the registry, the TSV and the logs; empty: a new temporary one, removed at the end")
	fs.DurationVar(&o.timeout, "timeout", time.Hour, "bound of each phase")
	fs.StringVar(&o.perf, "perf", envStr("SANSE_BENCH_PERF", ""), "write a CPU profile of sanse over its phase to this file with perf record (perf report -i FILE) (SANSE_BENCH_PERF)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.events < 1 || o.schools < 1 || o.partitions < 1 {
		return o, errors.New("-events, -schools and -partitions must be positive")
	}
	if o.round < 0 {
		o.round = 0
		if o.events > autoRoundsAbove {
			o.round = autoRound
		}
	}
	if o.phases == "" {
		o.phases = "raw,chclient,sanse"
		if o.round > 0 {
			o.phases = "sanse"
		}
	}
	for p := range strings.SplitSeq(o.phases, ",") {
		switch p {
		case "raw", "chclient":
			if o.round > 0 {
				return o, fmt.Errorf("-phases %s: in rounds (-round %d) only the sanse phase runs; -round 0 produces everything first", p, o.round)
			}
		case "sanse":
		default:
			return o, fmt.Errorf("-phases: unknown phase %q (raw, chclient, sanse)", p)
		}
	}
	return o, nil
}

func (o options) has(phase string) bool {
	for p := range strings.SplitSeq(o.phases, ",") {
		if p == phase {
			return true
		}
	}
	return false
}

func envInt(name string, def int64) int64 {
	if v := os.Getenv(name); v != "" {
		if n, err := strconv.ParseInt(strings.ReplaceAll(v, "_", ""), 10, 64); err == nil {
			return n
		}
	}
	return def
}

func envStr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(stderr, "%s  %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	if o.has("sanse") {
		if _, err := os.Stat(o.sanse); err != nil {
			return fmt.Errorf("the sanse binary: %w (make build, or -sanse)", err)
		}
		if o.sanse, err = filepath.Abs(o.sanse); err != nil {
			return err
		}
	}
	dir := o.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "sanse-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ch, err := newBenchClickHouse(ctx, o.dsn)
	if err != nil {
		return err
	}
	defer ch.close()
	logf("machine: %d CPUs, load average %s", runtime.NumCPU(), loadAverage())

	regPath, reg, err := writeRegistry(dir, o.seed, o.schools)
	if err != nil {
		return err
	}
	logf("registry of %d schools: %s", reg.Len(), regPath)

	brokerLog, err := os.Create(filepath.Join(dir, "broker.log"))
	if err != nil {
		return err
	}
	defer brokerLog.Close()
	broker, err := startBrokerProcess(o.partitions, brokerLog)
	if err != nil {
		return err
	}
	defer broker.stop()
	topics := brokerTopics()
	logf("broker: process %d at %s, %d topics of %d partitions", broker.pid(), broker.addr, len(topics), o.partitions)

	res := &result{Schools: reg.Len(), Partitions: o.partitions, Events: o.events, Round: o.round, Valid: -1}
	prod, err := newProducer(broker.addr, reg, o.seed, o.events)
	if err != nil {
		return err
	}
	defer prod.close()
	var feed *feeder
	if o.round == 0 {
		if err := allFirst(ctx, o, res, reg, prod, broker, ch, dir, logf); err != nil {
			return err
		}
	} else {
		feed = &feeder{p: prod, addr: broker.addr, topics: topics[:len(topics)-1], partitions: o.partitions,
			round: o.round, events: o.events, logf: logf}
		pctx, cancel := context.WithTimeout(ctx, o.timeout)
		err := feed.backlog(pctx)
		cancel()
		if err != nil {
			return err
		}
		if res.Broker, err = readProc(broker.pid()); err != nil {
			return err
		}
		logf("rounds of %s: produced the first %s messages in %s; broker RSS %s", thousands(o.round), thousands(feed.produced),
			prod.info.Took.Round(time.Millisecond), mib(res.Broker.RSS))
	}
	if !o.has("sanse") {
		if res.BrokerEnd, err = readProc(broker.pid()); err != nil {
			return err
		}
		return res.write(stdout)
	}

	dsn, database := ch.freshDSN()
	defer ch.drop(database)
	group := "sanse-bench-" + database
	data := filepath.Join(dir, group)
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	run := sanseRun{
		binary: o.sanse, registry: regPath, brokers: broker.addr, group: group, dsn: dsn, dataDir: data,
		topics: topics[:len(topics)-1], partitions: o.partitions,
		logFile: filepath.Join(dir, "sanse.log"), events: o.events, every: o.every, timeout: o.timeout,
		perf: o.perf,
	}
	if feed != nil {
		feed.group = group
		run.feed = feed.run
	}
	logf("load average before (c): %s", loadAverage())
	before, err := ch.serverCPU(ctx)
	if err != nil {
		return err
	}
	p, samples, info, err := runSanse(ctx, run)
	res.Samples, res.SanseInfo = samples, info
	if err != nil {
		if o.dir == "" {
			// The log would go with the temporary directory.
			printTail(stderr, filepath.Join(dir, "sanse.log"), 40)
		}
		return err
	}
	after, err := ch.serverCPU(ctx)
	if err != nil {
		return err
	}
	p.Items, p.ServerCPU = o.events, after-before
	res.Sanse = p
	if feed != nil {
		res.Valid = o.events - info.DeadLettered
		logf("produced %s messages in rounds, %s in all; %s", thousands(feed.produced), prod.info.Took.Round(time.Millisecond), prod.info)
	}
	rows, ids, err := ch.countEvents(ctx, database)
	if err != nil {
		return err
	}
	if int64(ids) != res.Valid {
		return fmt.Errorf("sanse stored %d distinct events, want %d", ids, res.Valid)
	}
	if rows != ids || info.Stored != res.Valid {
		logf("sanse inserted %s event rows for %s events (%s written again; %s rows in the table, %s messages it found duplicate)",
			thousands(info.Stored), thousands(res.Valid), thousands(info.Stored-res.Valid), thousands(int64(rows)), thousands(info.Duplicates))
	}
	logf("(c) sanse: %s msgs in %s; load average %s", thousands(p.Items), seconds(p.Wall), loadAverage())
	if res.BrokerEnd, err = readProc(broker.pid()); err != nil {
		return err
	}
	return res.write(stdout)
}

// allFirst produces every message before the clock starts, reads them
// back once to write the TSV, and runs the raw and chclient phases.
func allFirst(ctx context.Context, o options, res *result, reg *engine.Registry, prod *producer, broker *brokerProcess, ch *benchClickHouse, dir string,
	logf func(string, ...any)) error {
	topics := brokerTopics()
	pctx, cancel := context.WithTimeout(ctx, o.timeout)
	err := prod.produce(pctx, o.events)
	cancel()
	if err != nil {
		return err
	}
	if res.Broker, err = readProc(broker.pid()); err != nil {
		return err
	}
	logf("produced %d messages in %s (%.0f msgs/s); %s", o.events, prod.info.Took.Round(time.Millisecond),
		float64(o.events)/prod.info.Took.Seconds(), prod.info)
	logf("broker RSS once produced: %s", mib(res.Broker.RSS))

	dec, err := newDecoder(reg)
	if err != nil {
		return err
	}
	tsv := filepath.Join(dir, "events.tsv")
	began := time.Now()
	pctx, cancel = context.WithTimeout(ctx, o.timeout)
	res.Valid, err = writeEventsTSV(pctx, broker.addr, topics, o.events, dec, tsv)
	cancel()
	if err != nil {
		return err
	}
	logf("read back and decoded in %s: %d valid events, %s of TSV", time.Since(began).Round(time.Millisecond), res.Valid, fileSize(tsv))

	if o.has("raw") {
		if res.Raw, err = rawPhase(ctx, ch, broker.addr, topics, o); err != nil {
			return err
		}
		logf("(a) raw: %s msgs in %s", thousands(res.Raw.Items), seconds(res.Raw.Wall))
	}
	if o.has("chclient") {
		if res.CHClient, err = chclientPhase(ctx, ch, tsv, res.Valid); err != nil {
			return err
		}
		logf("(b) chclient: %s rows in %s", thousands(res.CHClient.Items), seconds(res.CHClient.Wall))
	}
	return nil
}

// rawPhase times a kafka-go consumer group reading every message.
func rawPhase(ctx context.Context, ch *benchClickHouse, addr string, topics []string, o options) (phase, error) {
	runtime.GC()
	before, err := ch.serverCPU(ctx)
	if err != nil {
		return phase{}, err
	}
	self := selfCPU()
	pctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	wall, err := benchkit.ConsumeGroup(pctx, addr, fmt.Sprintf("sanse-bench-raw-%d", time.Now().UnixNano()), topics, o.events, nil)
	if err != nil {
		return phase{}, err
	}
	after, err := ch.serverCPU(ctx)
	if err != nil {
		return phase{}, err
	}
	return phase{Items: o.events, Wall: wall, CPU: selfCPU() - self, ServerCPU: after - before}, nil
}

// chclientPhase times clickhouse-client inserting the TSV into a fresh
// database, checks the count and drops the database.
func chclientPhase(ctx context.Context, ch *benchClickHouse, tsv string, valid int64) (phase, error) {
	database, err := ch.migrated(ctx)
	if err != nil {
		return phase{}, err
	}
	defer ch.drop(database)
	before, err := ch.serverCPU(ctx)
	if err != nil {
		return phase{}, err
	}
	wall, cpu, err := ch.insertTSV(database, tsv)
	if err != nil {
		return phase{}, err
	}
	after, err := ch.serverCPU(ctx)
	if err != nil {
		return phase{}, err
	}
	n, _, err := ch.countEvents(ctx, database)
	if err != nil {
		return phase{}, err
	}
	if int64(n) != valid {
		return phase{}, fmt.Errorf("clickhouse-client inserted %d rows, want %d", n, valid)
	}
	return phase{Items: valid, Wall: wall, CPU: cpu, ServerCPU: after - before}, nil
}

// selfCPU returns the user and system CPU time of this process.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAverage returns the 1, 5 and 15 minute load averages.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func fileSize(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "?"
	}
	return mib(fi.Size())
}

// printTail prints the last n lines of the file at path.
func printTail(w io.Writer, path string, n int) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	fmt.Fprintf(w, "last lines of %s:\n%s\n", path, strings.Join(lines[max(0, len(lines)-n):], "\n"))
}
