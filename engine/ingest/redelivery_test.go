package ingest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine/ingest"
)

// After a restart, the messages read again up to the last stored event of
// their partition are re-deliveries: skipped, neither applied, stored nor
// dead-lettered again, however many they are — the engine, new here,
// remembers none of their ids. Unless the partition does not hold that event
// at that offset: its topic was created again, and its messages are new.
func TestConsumerSkipsStoredMessagesReadAgain(t *testing.T) {
	tests := []struct {
		name     string
		stored   ingest.StoredOffset
		wantIDs  []string
		wantDups float64
	}{
		{name: "the partition holds the stored event", stored: ingest.StoredOffset{Offset: 3, ID: "r3"},
			wantIDs: []string{"r4", "r5"}, wantDups: 4},
		{name: "another event at that offset", stored: ingest.StoredOffset{Offset: 3, ID: "from-an-earlier-topic"},
			wantIDs: []string{"r0", "r2", "r3", "r4", "r5"}},
		{name: "the partition ends before that offset", stored: ingest.StoredOffset{Offset: 40, ID: "r40"},
			wantIDs: []string{"r0", "r2", "r3", "r4", "r5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := startBroker(t, ingest.BrokerOptions{})
			addr := b.Addrs()[0]
			reg := testRegistry(t)
			now := time.Now()
			for i := range 6 {
				value := visitorEntry(fmt.Sprint("r", i), "s1", "none", now)
				if i == 1 {
					value = []byte(`{"id":"r1","school_id":"s1"`) // malformed: dead-lettered when read
				}
				produce(t, addr, msg(topicVisitor, "s1", value))
			}
			calls := 0
			store := &fakeStore{}
			r := startConsumer(t, ingest.Options{
				Brokers: []string{addr}, Decoder: newDecoder(t, reg), Engine: newEngine(reg), Store: store,
				StoredOffsets: func(context.Context) (map[string]map[int]ingest.StoredOffset, error) {
					calls++
					return map[string]map[int]ingest.StoredOffset{topicVisitor: {0: tt.stored}}, nil
				},
			})
			require.Eventually(t, func() bool { return committedTotal(t, addr, ingest.DefaultGroupID, topicVisitor) == 6 }, wait, 10*time.Millisecond)
			require.Equal(t, tt.wantIDs, store.events())
			dups := r.metric(t, "sanse_ingest_messages_total", map[string]string{"topic": topicVisitor, "result": "duplicate"})
			require.Equal(t, tt.wantDups, dups)
			deadLetters := r.metric(t, "sanse_ingest_messages_total", map[string]string{"topic": topicVisitor, "result": "deadletter"})
			require.Equal(t, 1-min(tt.wantDups, 1), deadLetters, "a malformed message is dead-lettered once")
			require.Equal(t, 1, calls)
		})
	}
}
