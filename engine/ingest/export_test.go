package ingest

import (
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// FailProduce makes b answer the next n produce requests to topic with
// NOT_ENOUGH_REPLICAS, as a cluster missing a replica would, calling seen
// for each. seen runs on the broker's loop and must not call the broker.
func FailProduce(b *Broker, topic string, n int, seen func()) {
	b.cluster.ControlKey(int16(kmsg.Produce), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		b.cluster.KeepControl()
		req := kr.(*kmsg.ProduceRequest)
		if n == 0 || len(req.Topics) != 1 || req.Topics[0].Topic != topic {
			return nil, nil, false
		}
		n--
		seen()
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		for _, t := range req.Topics {
			rt := kmsg.NewProduceResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewProduceResponseTopicPartition()
				rp.Partition = p.Partition
				rp.ErrorCode = kerr.NotEnoughReplicas.Code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
}

// ApplyRetention drops at once what is past b's retention, as its minutely
// check does.
func (b *Broker) ApplyRetention() { b.cluster.ApplyRetention() }

// LogStart returns the first offset partition p of topic still holds.
func (b *Broker) LogStart(topic string, p int32) int64 {
	return b.cluster.PartitionInfo(topic, p).LogStartOffset
}

// AssignPartitions exposes the co-partitioned balancer's assignment.
func AssignPartitions(members []kafka.GroupMember, partitions []kafka.Partition) kafka.GroupMemberAssignments {
	return copartitioned{}.AssignGroups(members, partitions)
}

// OwnedUserData is the user data of a member holding partitions.
func OwnedUserData(partitions ...int) []byte {
	b, _ := copartitioned{owned: func() []int { return partitions }}.UserData()
	return b
}
