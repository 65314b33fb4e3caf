package rules_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/sim"
	"github.com/sanse-campus/sanse/rules"
)

// TestMemorySoak pushes a long simulated stream through the engine and the
// default rule pack in-process and prints, every million events, the heap in
// use and the resident memory of the process, so that memory can be seen not
// to grow with the number of events processed (BENCHMARKS.md, "Memory at
// 20,000 schools"). It runs only when SANSE_SOAK_EVENTS is set:
//
//	SANSE_SOAK_EVENTS=10000000 go test ./rules/ -run '^TestMemorySoak$' -v -timeout 3h
//
// SANSE_SOAK_SCHOOLS is the size of the simulated registry (default 20,000),
// SANSE_SOAK_RATE the events per second of event time for the whole registry
// (default: the simulator's calibrated rate, 0.01 events per school per
// second, 200/s for 20,000 schools) and SANSE_SOAK_HEAPPROFILE a file that
// receives a heap profile at the end. The stream is what the simulator sends
// for the registry, incidents included, from a Monday 06:00 in term time;
// the engine's clock is advanced every minute of event time, and what the
// events cause is dropped every 50,000 events, as the store's batches are.
// Kafka, the store, alerts and hazards are left out: only the engine and the
// rules keep state per event.
func TestMemorySoak(t *testing.T) {
	total := envInt(t, "SANSE_SOAK_EVENTS", 0)
	if total <= 0 {
		t.Skip("SANSE_SOAK_EVENTS not set")
	}
	profile := os.Getenv("SANSE_SOAK_HEAPPROFILE")
	if profile != "" {
		runtime.MemProfileRate = 64 << 10
	}
	schools := envInt(t, "SANSE_SOAK_SCHOOLS", 20000)
	rate := float64(schools) * sim.CalibratedRate
	if s := os.Getenv("SANSE_SOAK_RATE"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v <= 0 {
			t.Fatalf("SANSE_SOAK_RATE %q: want a positive number", s)
		}
		rate = v
	}

	list := sim.GenerateRegistry(1, schools)
	reg, err := engine.NewRegistry(list)
	if err != nil {
		t.Fatal(err)
	}
	set, errs := rules.Default()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	now := time.Date(2026, 6, 1, 6, 0, 0, 0, engine.Shanghai) // a Monday in term time
	step := time.Duration(float64(time.Second) / rate)
	clock := func() time.Time { return now }
	gen := sim.New(sim.Options{Registry: reg, Seed: 1, Rate: rate, Clock: clock}, nil)
	identity, err := event.NewIdentity([]byte("soak-visitor-key-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	dec := &event.Decoder{Contract: set.Contract(), Registry: func() *engine.Registry { return reg }, Identity: identity, Now: clock}
	eng := engine.New(func() engine.Evaluator { return set }, func() *engine.Registry { return reg })
	sources := map[string]engine.Source{}
	for _, src := range set.Contract().Names() {
		sources[gen.Topic(src)] = src
	}

	fmt.Printf("soak: %d schools, %d events, %.0f events/s of event time from %s, GOMAXPROCS %d, %s\n",
		schools, total, rate, now.Format(time.RFC3339), runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Printf("%12s %10s %12s %12s %12s %10s %9s\n", "events", "event_time", "heap_inuse", "heap_alloc", "rss", "rejected", "wall")
	var (
		out      engine.Output
		ev       engine.Event
		rejected int
		nextTick = now
		begin    = time.Now()
		first    = now
	)
	for i := 1; i <= total; i++ {
		if !now.Before(nextTick) {
			eng.Tick(now, &out)
			nextTick = now.Add(time.Minute)
		}
		topic, _, value := gen.Next()
		if err := dec.Decode(sources[topic], value, &ev); err != nil {
			rejected++
		} else if err := eng.Apply(&ev, &out); err != nil {
			rejected++
		}
		if i%50000 == 0 {
			out.Reset()
		}
		now = now.Add(step)
		if i%1_000_000 == 0 {
			out.Reset()
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Printf("%12d %10s %10.1fMB %10.1fMB %10.1fMB %10d %9s  %s\n", i, now.Sub(first).Round(time.Minute),
				mb(ms.HeapInuse), mb(ms.HeapAlloc), mb(rss(t)), rejected, time.Since(begin).Round(time.Second), sizes(eng))
		}
	}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		if err := pprof.WriteHeapProfile(f); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	runtime.KeepAlive(eng) // measured above, and in the profile
}

// sizes returns what the engine holds, as Engine.Sizes counts it, or ""
// when the engine has no such method (the harness also measures engines
// from before it existed).
func sizes(e *engine.Engine) string {
	m := reflect.ValueOf(e).MethodByName("Sizes")
	if !m.IsValid() {
		return ""
	}
	return fmt.Sprintf("%+v", m.Call(nil)[0].Interface())
}

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s %q: want an integer", name, s)
	}
	return v
}

func mb(b uint64) float64 { return float64(b) / (1 << 20) }

// rss returns the resident memory of the process (VmRSS).
func rss(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := bytes.Fields(sc.Bytes()); len(f) >= 2 && string(f[0]) == "VmRSS:" {
			kb, err := strconv.ParseUint(string(f[1]), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}
