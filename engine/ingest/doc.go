// Package ingest moves events from Kafka into the engine and the store.
//
// Consumer reads the event topics (one per source) as one Kafka consumer
// group, with kafka-go: the group (kafka.ConsumerGroup) assigns the
// partitions, and each assigned partition is fetched from its leader on a
// kafka.Conn of its own and decoded where it is read, its messages handed
// to the one goroutine that applies them in chunks. Each message is validated by
// event.Decoder; a rejected message goes, unchanged and with headers saying
// why, to the dead-letter topic. A valid event is applied to the engine, and
// the event with what it caused (risk transitions, colour changes) is
// collected into a batch that is written to the Store. Offsets are
// committed only after the batch is durable and the dead letters are
// acknowledged: delivery is at least once, and a message read twice is made
// harmless by the engine's duplicate check and the store's idempotency.
//
// The package also runs an embedded Kafka-protocol broker (Broker), so that
// the demo and the tests need no Kafka installation, and offers
// EnsureTopics to create the topics on any cluster.
//
// It deliberately leaves out what events mean (package engine and the
// rules) and how batches are stored (package engine/store, which satisfies
// Store).
package ingest
