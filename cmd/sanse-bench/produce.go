package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/registry"
	"github.com/sanse-campus/sanse/engine/sim"
	"github.com/sanse-campus/sanse/rules"
)

// writeRegistry writes n schools of sim.GenerateRegistry to dir and loads
// them back as Sanse will.
func writeRegistry(dir string, seed int64, n int) (string, *engine.Registry, error) {
	path := filepath.Join(dir, "registry.csv")
	f, err := os.Create(path)
	if err != nil {
		return "", nil, err
	}
	if err := sim.WriteRegistryCSV(f, sim.GenerateRegistry(seed, n)); err != nil {
		f.Close()
		return "", nil, err
	}
	if err := f.Close(); err != nil {
		return "", nil, err
	}
	reg, err := registry.Load(path)
	if err != nil {
		return "", nil, err
	}
	return path, reg, nil
}

// produceChunk is how many messages are generated and written at a time.
const produceChunk = 20000

// produced describes the messages produced so far.
type produced struct {
	// Start and End are the simulated times of the first and last event.
	Start, End time.Time
	// PerTopic counts the messages of each topic.
	PerTopic  map[string]int64
	Incidents int64
	Took      time.Duration
}

func (p produced) String() string {
	var total int64
	topics := make([]string, 0, len(p.PerTopic))
	for t, n := range p.PerTopic {
		topics = append(topics, t)
		total += n
	}
	sort.Slice(topics, func(i, j int) bool { return p.PerTopic[topics[i]] > p.PerTopic[topics[j]] })
	var mix []string
	for _, t := range topics {
		mix = append(mix, fmt.Sprintf("%s %.1f%%", t, 100*float64(p.PerTopic[t])/float64(total)))
	}
	return fmt.Sprintf("events of %s to %s Asia/Shanghai, %d incidents; %s", p.Start.In(engine.Shanghai).Format("2006-01-02 15:04"),
		p.End.In(engine.Shanghai).Format("2006-01-02 15:04"), p.Incidents, strings.Join(mix, ", "))
}

// producer writes the events of the simulator to the broker.
type producer struct {
	sim  *sim.Simulator
	w    *kafka.Writer
	now  *time.Time
	info produced
}

// newProducer returns a producer of n events of the simulator over reg at
// the calibrated rate of real platforms (sim.CalibratedRate per school), on
// a clock that ends at the current second, so that every event is within
// the rules' horizon and Sanse's age limit. It writes them keyed by school,
// as `sanse simulate` does, in batches of up to 1,000 messages per
// partition.
func newProducer(addr string, reg *engine.Registry, seed, n int64) (*producer, error) {
	pack, errs := rules.Default()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	rate := sim.CalibratedRate * float64(reg.Len())
	step := time.Duration(float64(time.Second) / rate)
	start := time.Now().Truncate(time.Second).Add(-time.Duration(n) * step)
	now := start.Add(-step)
	opts := sim.Options{Registry: reg, Seed: seed, Rate: rate, Clock: func() time.Time {
		now = now.Add(step)
		return now
	}}
	// The school days the rules judge by, as `sanse simulate` keeps them.
	if cal := pack.Calendar(); cal != nil {
		opts.SchoolDay = cal.SchoolDay
	}
	return &producer{
		sim: sim.New(opts, nil),
		w: &kafka.Writer{
			Addr:         kafka.TCP(addr),
			Balancer:     &kafka.Murmur2Balancer{},
			RequiredAcks: kafka.RequireOne,
			BatchTimeout: 5 * time.Millisecond,
			BatchSize:    1000,
			BatchBytes:   16 << 20,
			WriteTimeout: time.Minute,
		},
		now:  &now,
		info: produced{Start: start, PerTopic: map[string]int64{}},
	}, nil
}

// produce generates and writes the next n events. Generating the next
// chunk overlaps writing the last.
func (p *producer) produce(ctx context.Context, n int64) error {
	began := time.Now()
	defer func() { p.info.Took += time.Since(began) }()
	chunks := make(chan []kafka.Message, 2)
	written := make(chan error, 1)
	go func() {
		for c := range chunks {
			if err := p.w.WriteMessages(ctx, c...); err != nil {
				written <- fmt.Errorf("produce: %w", err)
				for range chunks {
				}
				return
			}
		}
		written <- nil
	}()
	for left := n; left > 0; {
		c := make([]kafka.Message, min(left, produceChunk))
		for i := range c {
			topic, key, value := p.sim.Next()
			c[i] = kafka.Message{Topic: topic, Key: []byte(key), Value: value}
			p.info.PerTopic[topic]++
		}
		left -= int64(len(c))
		select {
		case chunks <- c:
		case err := <-written:
			close(chunks)
			return err
		}
	}
	close(chunks)
	p.info.End, p.info.Incidents = *p.now, p.sim.Stats().Incidents
	return <-written
}

func (p *producer) close() error { return p.w.Close() }

// newDecoder returns a decoder of the built-in contract over reg, with a
// visitor key of its own: the rows it makes have the size of Sanse's.
func newDecoder(reg *engine.Registry) (*event.Decoder, error) {
	id, err := event.NewIdentity([]byte("sanse-bench-identity-key-0123456"))
	if err != nil {
		return nil, err
	}
	return &event.Decoder{Registry: func() *engine.Registry { return reg }, Identity: id}, nil
}
