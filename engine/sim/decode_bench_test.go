package sim_test

import (
	"testing"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/sim"
)

// BenchmarkDecoder measures the decoder (event.Decoder.Decode) on one
// event of the stream sanse serve reads from the simulator over 20,000
// schools, with the limits it runs with: ids such as
// JX-NH-0001-visitor-101604-1a21040c744, times with milliseconds, every
// source in the simulator's proportions. engine/event's BenchmarkDecode
// has a hand-made stream over 100 schools.
func BenchmarkDecoder(b *testing.B) {
	reg, err := engine.NewRegistry(sim.GenerateRegistry(1, 20000))
	if err != nil {
		b.Fatal(err)
	}
	id, err := event.NewIdentity([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, engine.Shanghai)
	clock := now
	s := sim.New(sim.Options{Registry: reg, Seed: 1, Clock: func() time.Time {
		clock = clock.Add(37 * time.Millisecond)
		return clock
	}}, nil)
	dec := &event.Decoder{Registry: func() *engine.Registry { return reg }, Identity: id,
		Limits: event.DefaultLimits, Now: func() time.Time { return now }}
	topics := map[string]engine.Source{}
	for _, src := range event.Builtin().Names() {
		topics[sim.DefaultTopic(src)] = src
	}
	const n = 4000
	msgs, srcs := make([][]byte, n), make([]engine.Source, n)
	size := 0
	for i := range msgs {
		topic, _, v := s.Next()
		msgs[i], srcs[i] = v, topics[topic]
		size += len(v)
	}
	var ev engine.Event
	b.SetBytes(int64(size / n))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := i % n
		if err := dec.Decode(srcs[k], msgs[k], &ev); err != nil {
			b.Fatalf("%v\n%s", err, msgs[k])
		}
		i++
	}
}
