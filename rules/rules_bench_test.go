package rules

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/sim"
)

// The benchmarks replay a district's event stream through the engine and the
// default pack, in steady state: the stream spans more than the pack's
// horizon, so once it has been applied once, every window, seen-set and risk
// map holds what it holds in a long-running process. Each further lap moves
// the events' times on by the stream's span, so ids come back only after the
// engine has forgotten them, as in production.
const (
	benchSchools = 400                // the demo district's size
	benchEvents  = 100_000            // events per lap
	benchSpan    = 9 * 24 * time.Hour // event time one lap covers: more than the horizon (8d, the fire inspection check)
	// benchTick is how often, in event time, the evaluation benchmarks
	// advance the engine's clock (expiries, absence checks, forgetting), so
	// that the state stays at its steady size. BenchmarkTick measures the
	// clock on its own.
	benchTick = time.Hour
)

// benchStart is a Monday in term time and in the drowning season.
var benchStart = time.Date(2026, 6, 1, 0, 0, 0, 0, engine.Shanghai)

// stream is a district's event stream: the raw messages as producers send
// them and the same events decoded once.
type stream struct {
	reg    *engine.Registry
	dec    *event.Decoder
	msgs   [][]byte
	srcs   []engine.Source
	events []engine.Event
}

var (
	streamOnce sync.Once
	benchData  *stream
	streamErr  error
)

// benchStream returns the district stream of the benchmarks, built once per
// process by the simulator (engine/sim): 400 schools of 嘉兴市, every source
// and type with its incidents, 100,000 events over 8 days.
func benchStream(b *testing.B) *stream {
	b.Helper()
	streamOnce.Do(func() { benchData, streamErr = newStream(benchSchools, benchEvents, benchSpan, 1) })
	if streamErr != nil {
		b.Fatal(streamErr)
	}
	return benchData
}

// quietStream is the same district with no incidents: ordinary reports only.
func quietStream(b *testing.B) *stream {
	b.Helper()
	quietOnce.Do(func() { quietData, quietErr = newStream(benchSchools, benchEvents, benchSpan, -1) })
	if quietErr != nil {
		b.Fatal(quietErr)
	}
	return quietData
}

var (
	quietOnce sync.Once
	quietData *stream
	quietErr  error
)

func newStream(schools, n int, span time.Duration, incidents float64) (*stream, error) {
	list := sim.GenerateRegistry(1, schools)
	reg, err := engine.NewRegistry(list)
	if err != nil {
		return nil, err
	}
	step := span / time.Duration(n)
	now := benchStart.Add(-step)
	gen := sim.New(sim.Options{Registry: reg, Seed: 1, IncidentRate: incidents, Clock: func() time.Time { now = now.Add(step); return now }}, nil)
	topics := map[string]engine.Source{}
	for _, src := range event.Builtin().Names() {
		topics[gen.Topic(src)] = src
	}
	s := &stream{msgs: make([][]byte, n), srcs: make([]engine.Source, n)}
	for i := range n {
		topic, _, value := gen.Next()
		s.msgs[i], s.srcs[i] = value, topics[topic]
	}
	id, err := event.NewIdentity([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		return nil, err
	}
	// Register the water bodies the simulator patrols, so that the absence
	// check of patrols has entities to check.
	s.dec = &event.Decoder{Registry: func() *engine.Registry { return reg }, Identity: id}
	waters := map[string][]string{}
	var ev engine.Event
	for i, m := range s.msgs {
		if err := s.dec.Decode(s.srcs[i], m, &ev); err != nil {
			return nil, fmt.Errorf("simulated event %d: %w", i, err)
		}
		if ev.Source != engine.SourceDrowning {
			continue
		}
		if w := slotValue(&ev, waterBodySlot).Str(); w != "" && !slices.Contains(waters[ev.SchoolID], w) {
			waters[ev.SchoolID] = append(waters[ev.SchoolID], w)
		}
	}
	for i := range list {
		list[i].WaterBodies = waters[list[i].ID]
	}
	if s.reg, err = engine.NewRegistry(list); err != nil {
		return nil, err
	}
	s.dec = &event.Decoder{Registry: func() *engine.Registry { return s.reg }, Identity: id}
	s.events = make([]engine.Event, n)
	for i, m := range s.msgs {
		if err := s.dec.Decode(s.srcs[i], m, &s.events[i]); err != nil {
			return nil, fmt.Errorf("simulated event %d: %w", i, err)
		}
	}
	return s, nil
}

// The slots of the fields the benchmarks read or move: the water body of
// drowning events, and the day a canteen supplier's certificate expires.
var (
	waterBodySlot = readableSlot(engine.SourceDrowning, "water_body")
	expiresOnSlot = readableSlot(engine.SourceCanteen, "expires_on")
)

func readableSlot(src engine.Source, name string) int {
	r, ok := event.Builtin().Source(src).Readable(name)
	if !ok {
		panic(fmt.Sprintf("%s has no field %s", src, name))
	}
	return r.Slot
}

// shiftEvent moves ev's times on by d: when it occurred, and the expiry of a
// supplier's certificate, which the rules compare with it.
func shiftEvent(ev *engine.Event, d time.Duration) {
	ev.OccurredAt = ev.OccurredAt.Add(d)
	if ev.Source == engine.SourceCanteen && ev.Has(expiresOnSlot) {
		if t := ev.Value(expiresOnSlot).Time(); !t.IsZero() {
			ev.Set(expiresOnSlot, engine.TimeValue(t.Add(d)))
		}
	}
}

// replay applies a stream lap after lap to one engine.
type replay struct {
	s        *stream
	e        *engine.Engine
	out      engine.Output
	i        int           // next event of the lap
	shift    time.Duration // added to the times of this lap's events
	nextTick time.Time     // zero: the caller ticks
	records  int           // transitions and colour changes produced
}

func newReplay(b *testing.B, s *stream) *replay {
	b.Helper()
	set, errs := Default()
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	reg := s.reg
	e := engine.New(func() engine.Evaluator { return set }, func() *engine.Registry { return reg })
	r := &replay{s: s, e: e, nextTick: s.events[0].OccurredAt}
	return r
}

// advance ticks the engine's clock when the event at t is due for it, and
// empties the output now and then: the records are the product, handed to
// the store in batches.
func (r *replay) advance(t time.Time) {
	if !r.nextTick.IsZero() && !t.Before(r.nextTick) {
		r.e.Tick(t, &r.out)
		r.nextTick = t.Add(benchTick)
	}
	if r.out.Len() >= 4096 {
		r.records += r.out.Len()
		r.out.Reset()
	}
}

// peek returns the time of the next decoded event.
func (r *replay) peek() time.Time {
	if r.i == len(r.s.events) {
		r.lap()
	}
	return r.s.events[r.i].OccurredAt
}

// next applies the next decoded event; an error fails the benchmark, so
// that it measures rules that work.
func (r *replay) next(b *testing.B) {
	r.peek()
	ev := &r.s.events[r.i]
	r.i++
	r.advance(ev.OccurredAt)
	if err := r.e.Apply(ev, &r.out); err != nil {
		b.Fatalf("apply event %s: %v", ev.ID, err)
	}
}

// lap starts the next lap: every event moves on by the stream's span.
func (r *replay) lap() {
	r.i = 0
	r.shift += benchSpan
	for k := range r.s.events {
		ev := &r.s.events[k]
		shiftEvent(ev, benchSpan)
	}
}

// nextRaw decodes and applies the next raw message into ev.
func (r *replay) nextRaw(b *testing.B, ev *engine.Event) {
	if r.i == len(r.s.msgs) {
		r.i = 0
		r.shift += benchSpan
	}
	k := r.i
	r.i++
	if err := r.s.dec.Decode(r.s.srcs[k], r.s.msgs[k], ev); err != nil {
		b.Fatal(err)
	}
	if r.shift != 0 {
		shiftEvent(ev, r.shift)
	}
	r.advance(ev.OccurredAt)
	if err := r.e.Apply(ev, &r.out); err != nil {
		b.Fatalf("apply event %s: %v", ev.ID, err)
	}
}

// usage is where a benchmark started: the heap's statistics and the CPU
// time the process had used.
type usage struct {
	mem runtime.MemStats
	cpu time.Duration
}

func startUsage() *usage {
	runtime.GC()
	u := &usage{cpu: cpuTime()}
	runtime.ReadMemStats(&u.mem)
	return u
}

// cpuTime is the CPU time the process has used, user and system, GC
// workers included.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportPerEvent reports ns/event and events/s (wall clock), cpu-ns/event
// (the process's CPU time, which other load on the machine does not
// inflate), the allocations per event (unrounded, from the heap
// statistics) and the records produced per event.
func reportPerEvent(b *testing.B, before *usage, r *replay) {
	cpu := cpuTime() - before.cpu
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	n := float64(b.N)
	ns := float64(b.Elapsed().Nanoseconds()) / n
	b.ReportMetric(ns, "ns/event")
	b.ReportMetric(1e9/ns, "events/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/event")
	b.ReportMetric(float64(after.Mallocs-before.mem.Mallocs)/n, "allocs/event")
	b.ReportMetric(float64(r.records+r.out.Len())/n, "records/event")
}

// BenchmarkEvaluate measures rules + windows + colour per event, on events
// decoded beforehand, in steady state. Run with -cpu 1 (see BENCHMARKS.md).
func BenchmarkEvaluate(b *testing.B) {
	s := benchStream(b)
	r := newReplay(b, s)
	defer r.restore()
	for range 3 * len(s.events) { // three laps: every window, map, free list and evidence list at its steady size
		r.next(b)
	}
	r.records = 0
	r.out.Reset()
	before := startUsage()
	b.ReportAllocs()
	for b.Loop() {
		r.next(b)
	}
	reportPerEvent(b, before, r)
}

// BenchmarkEvaluateQuiet is BenchmarkEvaluate on the simulator's stream
// without incidents. Risks still change in it — absence checks (a sample
// logged after 13:00, a water body left unpatrolled) and single hygiene
// lapses — so its allocations are again those of the records.
func BenchmarkEvaluateQuiet(b *testing.B) {
	s := quietStream(b)
	r := newReplay(b, s)
	defer r.restore()
	for range len(s.events) {
		r.next(b)
	}
	r.records = 0
	r.out.Reset()
	before := startUsage()
	b.ReportAllocs()
	for b.Loop() {
		r.next(b)
	}
	reportPerEvent(b, before, r)
}

// BenchmarkDecodeEvaluate measures decode + validation + rules + windows +
// colour per event, from the producers' JSON, in steady state.
func BenchmarkDecodeEvaluate(b *testing.B) {
	s := benchStream(b)
	r := newReplay(b, s)
	var ev engine.Event
	for range len(s.msgs) {
		r.nextRaw(b, &ev)
	}
	r.records = 0
	r.out.Reset()
	before := startUsage()
	b.ReportAllocs()
	for b.Loop() {
		r.nextRaw(b, &ev)
	}
	reportPerEvent(b, before, r)
}

// BenchmarkTick measures one advance of the engine's clock by a minute of
// event time over the whole district in steady state: expiries, the absence
// checks of every school and forgetting what is older than the horizon. The
// events of that minute are applied between the ticks; only the ticks are
// timed (ns/tick).
func BenchmarkTick(b *testing.B) {
	s := benchStream(b)
	r := newReplay(b, s)
	defer r.restore()
	for range len(s.events) {
		r.next(b)
	}
	r.nextTick = time.Time{}
	at := r.peek().Truncate(time.Minute)
	r.e.Tick(at, &r.out)
	var ticking time.Duration
	b.ReportAllocs()
	for b.Loop() {
		at = at.Add(time.Minute)
		for r.peek().Before(at) {
			r.next(b)
		}
		start := time.Now()
		r.e.Tick(at, &r.out)
		ticking += time.Since(start)
	}
	b.ReportMetric(float64(ticking.Nanoseconds())/float64(b.N), "ns/tick")
	b.ReportMetric(float64(ticking.Nanoseconds())/float64(b.N)/float64(s.reg.Len()), "ns/school")
}

// restore moves the shared decoded events back to their original times.
func (r *replay) restore() {
	if r.shift == 0 {
		return
	}
	for k := range r.s.events {
		ev := &r.s.events[k]
		shiftEvent(ev, -r.shift)
	}
}

// BenchmarkWindowMemory measures the memory a district's state takes: 20,000
// schools, 30 days of bullying reports (about three a week per school,
// keyed by the victim, some pupils reported again and again) and one day of
// the canteen events that fill windows (hygiene violations and out-of-range
// storage temperatures), applied through the decoder, the engine and the
// default pack with the clock advanced hourly. It reports the heap in use
// after a GC and the process's resident memory, from /proc/self/status.
// Run it alone: go test -run '^$' -bench WindowMemory -benchtime 1x ./rules/
func BenchmarkWindowMemory(b *testing.B) {
	if testing.Short() {
		b.Skip("builds the state of 20,000 schools")
	}
	var (
		e     *engine.Engine
		stats memoryStats
	)
	for b.Loop() {
		e, stats = buildDistrict(b, 20_000, 30)
	}
	runtime.GC()
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, peak := procStatus("VmRSS:"), procStatus("VmHWM:")
	const mb = 1 << 20
	b.ReportMetric(float64(ms.HeapInuse)/mb, "MB-heap-inuse")
	b.ReportMetric(float64(rss)/mb, "MB-rss")
	b.ReportMetric(float64(peak)/mb, "MB-rss-peak")
	b.ReportMetric(float64(stats.bullying), "bullying-events")
	b.ReportMetric(float64(stats.canteen), "canteen-events")
	b.ReportMetric(float64(stats.risks), "active-risks")
	runtime.KeepAlive(e)
}

type memoryStats struct{ bullying, canteen, risks int }

// buildDistrict applies days of bullying reports, and one last day of
// windowed canteen events, for n schools.
func buildDistrict(b *testing.B, n, days int) (*engine.Engine, memoryStats) {
	list := sim.GenerateRegistry(1, n)
	reg, err := engine.NewRegistry(list)
	if err != nil {
		b.Fatal(err)
	}
	set, errs := Default()
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	id, err := event.NewIdentity([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		b.Fatal(err)
	}
	dec := &event.Decoder{Registry: func() *engine.Registry { return reg }, Identity: id}
	e := engine.New(func() engine.Evaluator { return set }, func() *engine.Registry { return reg })
	rng := rand.New(rand.NewPCG(1, 2))
	var (
		out   engine.Output
		stats memoryStats
		msg   []byte
		seq   int
	)
	type item struct {
		at   time.Time
		src  engine.Source
		body string
	}
	channels := []string{"anonymous_app", "teacher", "parent", "hotline"}
	kinds := []string{"verbal", "physical", "exclusion", "cyber", "property"}
	violations := []string{"no_hat", "no_mask", "no_uniform", "smoking", "phone", "bare_hand", "uncovered_bin"}
	start := benchStart
	e.Tick(start, &out)
	for day := range days {
		midnight := start.AddDate(0, 0, day)
		var items []item
		for _, sc := range reg.Schools() {
			// Three reports a week on average, each about one of 25
			// pupils of concern.
			if rng.IntN(7) < 3 {
				at := midnight.Add(time.Duration(8*3600+rng.IntN(10*3600)) * time.Second)
				items = append(items, item{at, engine.SourceBullying, fmt.Sprintf(
					`"school_id":%q,"source":"bullying","type":"report","channel":%q,"victim_ref":"P-%s-%02d","suspect_refs":["P-%s-%02d"],"kind":%q,"injury":%t`,
					sc.ID, channels[rng.IntN(len(channels))], sc.ID, rng.IntN(25), sc.ID, 25+rng.IntN(40), kinds[rng.IntN(len(kinds))], rng.IntN(20) == 0)})
				stats.bullying++
			}
			if day != days-1 || !sc.Canteen {
				continue
			}
			// The last day: a few hygiene violations seen by the kitchen
			// cameras, and one fridge in ten out of range for a while.
			for range 2 + rng.IntN(6) {
				at := midnight.Add(time.Duration(6*3600+rng.IntN(13*3600)) * time.Second)
				items = append(items, item{at, engine.SourceCanteen, fmt.Sprintf(
					`"school_id":%q,"source":"canteen","type":"ai_violation","reporter":"cam-kitchen-1","violation":%q`,
					sc.ID, violations[rng.IntN(len(violations))])})
				stats.canteen++
			}
			if rng.IntN(10) == 0 {
				at := midnight.Add(time.Duration(rng.IntN(20*3600)) * time.Second)
				for k := range 6 {
					items = append(items, item{at.Add(time.Duration(k) * 10 * time.Minute), engine.SourceCanteen, fmt.Sprintf(
						`"school_id":%q,"source":"canteen","type":"storage_temp","reporter":"iot-hub","device":"fridge-%d","celsius":%g,"zone":"fridge"`,
						sc.ID, rng.IntN(3), 8.5+float64(k)/2)})
					stats.canteen++
				}
			}
		}
		slices.SortFunc(items, func(x, y item) int { return x.at.Compare(y.at) })
		next := midnight.Add(time.Hour)
		for _, it := range items {
			for !it.at.Before(next) {
				e.Tick(next, &out)
				out.Reset()
				next = next.Add(time.Hour)
			}
			seq++
			msg = fmt.Appendf(msg[:0], `{"id":"m-%08d","occurred_at":%q,%s}`, seq, it.at.Format(time.RFC3339Nano), it.body)
			var ev engine.Event
			if err := dec.Decode(it.src, msg, &ev); err != nil {
				b.Fatal(err)
			}
			if err := e.Apply(&ev, &out); err != nil {
				b.Fatal(err)
			}
			out.Reset()
		}
		for end := midnight.AddDate(0, 0, 1); !next.After(end); next = next.Add(time.Hour) {
			e.Tick(next, &out)
			out.Reset()
		}
	}
	for _, v := range e.Views(nil) {
		stats.risks += v.ActiveRisks
	}
	return e, stats
}

// procStatus returns a size field of /proc/self/status in bytes, or 0 where
// there is none.
func procStatus(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
