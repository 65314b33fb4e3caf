package sim

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

// TestRunKafka runs the simulator against an in-process broker for three
// seconds and reads every message back with kafka-go.
func TestRunKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts an in-process Kafka broker")
	}
	const partitions = 3
	var topics []string
	for _, src := range event.Builtin().Names() {
		topics = append(topics, DefaultTopic(src))
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0), kfake.SeedTopics(partitions, topics...))
	require.NoError(t, err)
	defer cluster.Close()
	brokers := cluster.ListenAddrs()

	reg := loadDemo(t)
	s := New(Options{Registry: reg, Seed: 7, Rate: 200}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	require.NoError(t, s.RunKafka(ctx, brokers))
	generated := s.Stats().Events
	require.Greater(t, generated, int64(400))

	dec := newDecoder(t, reg)
	readCtx, cancelRead := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelRead()
	var (
		read      int64
		placement = map[string]string{} // school → topic/partition
		last      = map[string]time.Time{}
		ev        engine.Event
	)
	for _, topic := range topics {
		for p := range partitions {
			conn, err := kafka.DialLeader(readCtx, "tcp", brokers[0], topic, p)
			require.NoError(t, err)
			end, err := conn.ReadLastOffset()
			require.NoError(t, err)
			require.NoError(t, conn.Close())

			r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MaxWait: 100 * time.Millisecond})
			for offset := int64(0); offset < end; offset++ {
				m, err := r.ReadMessage(readCtx)
				require.NoError(t, err)
				require.NoError(t, dec.Decode(sourceOfTopic(t, topic), m.Value, &ev), "%s", m.Value)
				require.Equal(t, ev.SchoolID, string(m.Key))
				where := fmt.Sprintf("%s/%d", topic, p)
				if prev, ok := placement[topic+" "+ev.SchoolID]; ok {
					require.Equal(t, prev, where, "school %s on two partitions", ev.SchoolID)
				}
				placement[topic+" "+ev.SchoolID] = where
				k := topic + " " + ev.SchoolID
				require.False(t, ev.OccurredAt.Before(last[k]), "events of %s out of order", ev.SchoolID)
				last[k] = ev.OccurredAt
				read++
			}
			require.NoError(t, r.Close())
		}
	}
	t.Logf("generated %d events, read back %d", generated, read)
	// A batch cut short by the end of the run may be lost, no more.
	require.LessOrEqual(t, read, generated)
	require.GreaterOrEqual(t, read, generated-200)
}
