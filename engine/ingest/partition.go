package ingest

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/segmentio/kafka-go"
)

// Several instances of Sanse in one consumer group share a province's
// schools by partition: partition p of every event topic goes to one
// instance, which holds the state of the schools whose events arrive there.
// That needs the event topics co-partitioned — the same number of partitions,
// and a school's messages on the same partition of every topic — which holds
// when every producer keys its messages by school id and uses Kafka's default
// partitioner (murmur2 of the key; PartitionOf).

// PartitionOf returns the partition of n that Kafka's default partitioner
// (the Java client's, kafka-go's Murmur2Balancer, librdkafka's
// murmur2_random) gives a message keyed by the school id: the partition whose
// owner holds the school's state. n must be positive.
func PartitionOf(schoolID string, n int) int {
	if n <= 1 {
		return 0
	}
	return int((murmur2(schoolID) & 0x7fffffff) % uint32(n))
}

// murmur2 is the Java client's murmur2 hash (Utils.murmur2), as kafka-go's
// Murmur2Balancer computes it, of the string's bytes: the consumer finds
// the partition of every event's school, and kafka-go's takes the key as a
// []byte, a copy of the id per event.
func murmur2(data string) uint32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	length := len(data)
	h := seed ^ uint32(length)
	for i := 0; i+4 <= length; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	tail := length &^ 3
	switch length % 4 {
	case 3:
		h ^= uint32(data[tail+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[tail+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[tail])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}

// partitionCounts returns the number of partitions of each of topics, which
// must exist, and an error naming them when they differ: the event topics
// must be co-partitioned.
func (c *Consumer) partitionCounts(ctx context.Context, topics []string) (int, error) {
	md, err := c.client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return 0, explain(err)
	}
	counts := map[int][]string{}
	for _, t := range md.Topics {
		if t.Error != nil {
			continue
		}
		counts[len(t.Partitions)] = append(counts[len(t.Partitions)], t.Name)
	}
	if len(counts) <= 1 {
		for n := range counts {
			return n, nil
		}
		return 0, nil
	}
	var parts []string
	for n, ts := range counts {
		sort.Strings(ts)
		parts = append(parts, fmt.Sprintf("%d partitions: %s", n, strings.Join(ts, ", ")))
	}
	sort.Strings(parts)
	return 0, &NotCoPartitionedError{Detail: strings.Join(parts, "; ")}
}

// NotCoPartitionedError is returned by Consumer.Run when the event topics do
// not all have the same number of partitions: a school's events would then
// reach different instances, which hold different parts of its state.
type NotCoPartitionedError struct {
	Detail string
}

func (e *NotCoPartitionedError) Error() string {
	return "the event topics must all have the same number of partitions (co-partitioned: one school's " +
		"events on the same partition of every topic) — " + e.Detail +
		"; add partitions to the smaller topics (kafka-topics.sh --alter --partitions N) before starting Sanse"
}

// copartitioned is the group balancer of Sanse's consumer group: partition p
// of every topic goes to the same member, so that a school's events of every
// source reach one instance. Members keep the partitions they had (sent in
// their join's user data) up to their fair share, so that an instance joining
// or leaving moves only the partitions that must move: each move costs the
// new owner a rebuild of those schools' state.
type copartitioned struct {
	// owned returns the partitions this member holds now.
	owned func() []int
}

// copartitionedProtocol names the balancer in the group protocol.
const copartitionedProtocol = "sanse-copartitioned"

func (b copartitioned) ProtocolName() string { return copartitionedProtocol }

func (b copartitioned) UserData() ([]byte, error) {
	var owned []int
	if b.owned != nil {
		owned = b.owned()
	}
	buf := make([]byte, 0, 4*len(owned))
	for _, p := range owned {
		buf = binary.BigEndian.AppendUint32(buf, uint32(p))
	}
	return buf, nil
}

func (b copartitioned) AssignGroups(members []kafka.GroupMember, partitions []kafka.Partition) kafka.GroupMemberAssignments {
	out := kafka.GroupMemberAssignments{}
	if len(members) == 0 {
		return out
	}
	members = slices.Clone(members)
	slices.SortFunc(members, func(a, b kafka.GroupMember) int { return strings.Compare(a.ID, b.ID) })
	n := 0
	for _, p := range partitions {
		n = max(n, p.ID+1)
	}
	owner := assignPartitions(members, n)
	for _, p := range partitions {
		m := owner[p.ID]
		if !slices.Contains(members[m].Topics, p.Topic) {
			// A member that does not read the topic (it was missing when
			// the member joined) cannot take it: the first that reads it does.
			m = slices.IndexFunc(members, func(gm kafka.GroupMember) bool { return slices.Contains(gm.Topics, p.Topic) })
			if m < 0 {
				continue
			}
		}
		id := members[m].ID
		if out[id] == nil {
			out[id] = map[string][]int{}
		}
		out[id][p.Topic] = append(out[id][p.Topic], p.ID)
	}
	for _, topics := range out {
		for _, ps := range topics {
			slices.Sort(ps)
		}
	}
	return out
}

// assignPartitions gives each of partitions 0…n-1 to one of members (sorted
// by id) and returns the member of each: every member gets n/len(members)
// or one more, keeping first the partitions it says it holds.
func assignPartitions(members []kafka.GroupMember, n int) []int {
	owner := make([]int, n)
	for i := range owner {
		owner[i] = -1
	}
	quota := make([]int, len(members))
	for i := range members {
		quota[i] = n / len(members)
		if i < n%len(members) {
			quota[i]++
		}
	}
	count := make([]int, len(members))
	for i, m := range members {
		for ud := m.UserData; len(ud) >= 4; ud = ud[4:] {
			p := int(binary.BigEndian.Uint32(ud))
			if p < n && owner[p] < 0 && count[i] < quota[i] {
				owner[p] = i
				count[i]++
			}
		}
	}
	next := 0
	for p := range owner {
		if owner[p] >= 0 {
			continue
		}
		for count[next] >= quota[next] {
			next++
		}
		owner[p] = next
		count[next]++
	}
	return owner
}
