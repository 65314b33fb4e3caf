package sim

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// Writer is where Run sends its messages; *kafka.Writer satisfies it.
// WriteMessages is called from one goroutine at a time and should return
// once the messages are written or have failed for good; Run does not
// touch the messages after it returns. Cancelling ctx may abandon a write.
type Writer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Pacing of Run.
const (
	// tick is how often Run writes a batch.
	tick = 100 * time.Millisecond
	// maxBacklog bounds how far Run catches up after a slow write, in
	// seconds of events, so that a stall does not end in a burst.
	maxBacklog = 1.0
	// progressEvery is how often Run logs its progress.
	progressEvery = 10 * time.Second
)

// Run writes events to w at Options.Rate events per second, in a batch
// every 100 ms, until ctx is cancelled (it then returns nil) or a write
// fails (it returns the error). It logs its progress every 10 s.
func (s *Simulator) Run(ctx context.Context, w Writer) error {
	if len(s.schools) == 0 {
		return errors.New("simulate: the school registry is empty")
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	var (
		last       = time.Now()
		lastReport = last
		carry      float64
		sent       int64
		reported   int64
	)
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			carry += s.rate * now.Sub(last).Seconds()
			last = now
			carry = min(carry, s.rate*maxBacklog)
			n := int(carry)
			if n == 0 {
				continue
			}
			carry -= float64(n)
			batch := make([]kafka.Message, n)
			for i := range batch {
				topic, key, value := s.Next()
				batch[i] = kafka.Message{Topic: topic, Key: []byte(key), Value: value}
			}
			if err := w.WriteMessages(ctx, batch...); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("write %d simulated events: %w", n, err)
			}
			sent += int64(n)
			if since := time.Since(lastReport); since >= progressEvery {
				st := s.Stats()
				s.logger.Info("simulated events sent", "events", sent,
					"events_per_second", round(float64(sent-reported)/since.Seconds(), 1),
					"incidents", st.Incidents, "malformed", st.Malformed)
				lastReport, reported = time.Now(), sent
			}
		}
	}
}

// RunKafka writes events to the Kafka brokers with kafka-go until ctx is
// cancelled (it then returns nil) or a write fails. Messages are keyed by
// school id and partitioned as Kafka's default partitioner does (murmur2 of
// the key, as Sanse's instances expect), so each school's events
// stay in order; a write waits for the partition leader's acknowledgement.
// The topics must exist.
func (s *Simulator) RunKafka(ctx context.Context, brokers []string) error {
	if len(brokers) == 0 {
		return errors.New("simulate: no Kafka brokers given")
	}
	w := &kafka.Writer{
		Addr:         kafka.TCP(brokers...),
		Balancer:     &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireOne,
		Async:        false,
		// Run writes a batch every 100 ms and waits for it: flush at once.
		BatchTimeout: 5 * time.Millisecond,
		BatchSize:    1000,
		WriteTimeout: 10 * time.Second,
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			s.logger.Warn("kafka writer: " + fmt.Sprintf(msg, args...))
		}),
	}
	s.logger.Info("simulator started", "brokers", brokers, "schools", len(s.schools), "rate", s.rate, "incident_rate", s.incidents, "bad", s.bad)
	err := s.Run(ctx, w)
	if cerr := w.Close(); cerr != nil && err == nil && ctx.Err() == nil {
		err = fmt.Errorf("close kafka writer: %w", cerr)
	}
	st := s.Stats()
	s.logger.Info("simulator stopped", "events", st.Events, "incidents", st.Incidents, "malformed", st.Malformed)
	return err
}
