package ingest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sanse-campus/sanse/engine/ingest"
)

func topicPartitions(n int, topics ...string) []kafka.Partition {
	var out []kafka.Partition
	for _, t := range topics {
		for p := range n {
			out = append(out, kafka.Partition{Topic: t, ID: p})
		}
	}
	return out
}

func member(id string, topics []string, owned ...int) kafka.GroupMember {
	return kafka.GroupMember{ID: id, Topics: topics, UserData: ingest.OwnedUserData(owned...)}
}

// owners returns, by partition number, the member given it, and fails when
// one partition number goes to several members across topics.
func owners(t *testing.T, a kafka.GroupMemberAssignments) map[int]string {
	t.Helper()
	out := map[int]string{}
	for m, topics := range a {
		for topic, ps := range topics {
			for _, p := range ps {
				if o, ok := out[p]; ok && o != m {
					t.Fatalf("partition %d of %s went to %s, of another topic to %s", p, topic, m, o)
				}
				out[p] = m
			}
		}
	}
	return out
}

func TestBalancerGivesPartitionPOfEveryTopicToOneMember(t *testing.T) {
	topics := []string{"campus.visitor", "campus.canteen", "campus.drowning"}
	a := ingest.AssignPartitions([]kafka.GroupMember{member("m-c", topics), member("m-a", topics), member("m-b", topics)}, topicPartitions(8, topics...))
	o := owners(t, a)
	require.Len(t, o, 8, "every partition assigned")
	count := map[string]int{}
	for _, m := range o {
		count[m]++
	}
	assert.Equal(t, map[string]int{"m-a": 3, "m-b": 3, "m-c": 2}, count, "fair shares")
	for m, ts := range a {
		require.Len(t, ts, len(topics), "member %s reads every topic", m)
	}
}

func TestBalancerMovesOnlyWhatMust(t *testing.T) {
	topics := []string{"campus.visitor", "campus.canteen"}
	// Three members held two partitions each; m-b is gone.
	a := ingest.AssignPartitions([]kafka.GroupMember{member("m-a", topics, 0, 1), member("m-c", topics, 4, 5)}, topicPartitions(6, topics...))
	o := owners(t, a)
	assert.Equal(t, "m-a", o[0])
	assert.Equal(t, "m-a", o[1])
	assert.Equal(t, "m-c", o[4])
	assert.Equal(t, "m-c", o[5])
	assert.NotEqual(t, o[2], o[3], "the orphans are shared out")

	// A member joins: each keeps what it can within its share.
	a = ingest.AssignPartitions([]kafka.GroupMember{member("m-a", topics, 0, 1, 2), member("m-c", topics, 3, 4, 5), member("m-d", topics)}, topicPartitions(6, topics...))
	o = owners(t, a)
	var moved int
	for p, m := range o {
		if (p <= 2 && m != "m-a") || (p >= 3 && m != "m-c") {
			moved++
			assert.Equal(t, "m-d", m)
		}
	}
	assert.Equal(t, 2, moved, "the newcomer takes its share and nothing else moves")
	// Two members claiming one partition (a member that missed a
	// rebalance): it goes to one.
	a = ingest.AssignPartitions([]kafka.GroupMember{member("m-a", topics, 0, 1), member("m-b", topics, 1, 2)}, topicPartitions(4, topics...))
	o = owners(t, a)
	require.Len(t, o, 4)
}

func TestConsumerRefusesTopicsNotCoPartitioned(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, consumerTopics()...))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	admin, done := newClient(c.ListenAddrs()[0])
	defer done()
	// One source topic with more partitions than the others.
	res, err := admin.CreatePartitions(context.Background(), &kafka.CreatePartitionsRequest{
		Topics: []kafka.TopicPartitionsConfig{{Name: "campus.canteen", Count: 6}},
	})
	require.NoError(t, err)
	require.NoError(t, res.Errors["campus.canteen"])
	reg := testRegistry(t)
	r := startConsumer(t, ingest.Options{Brokers: c.ListenAddrs(), Decoder: newDecoder(t, reg), Engine: newEngine(reg), Store: &fakeStore{}})
	err = r.wait(t)
	var notCo *ingest.NotCoPartitionedError
	require.ErrorAs(t, err, &notCo, "Run refuses")
	assert.Contains(t, err.Error(), "6 partitions: campus.canteen")
	assert.Contains(t, err.Error(), "4 partitions:")
}

// TestPartitionOfSpreadsSchools: every school has one partition, within the
// count, and a province's schools spread over all of them. That it is the
// partition Kafka's default partitioner gives is shown against an
// independent client, librdkafka, in TestKcatMurmur2MatchesPartitionOf.
func TestPartitionOfSpreadsSchools(t *testing.T) {
	const n = 8
	count := make([]int, n)
	for i := range 2000 {
		id := fmt.Sprintf("330402%04d", i)
		p := ingest.PartitionOf(id, n)
		require.GreaterOrEqual(t, p, 0)
		require.Less(t, p, n)
		require.Equal(t, p, ingest.PartitionOf(id, n), "the same school, the same partition")
		require.Equal(t, 0, ingest.PartitionOf(id, 1))
		count[p]++
	}
	for p, c := range count {
		assert.Greater(t, c, 2000/n/2, "partition %d has %d of 2000 schools", p, c)
	}
}

// PartitionOf hashes the id's bytes as kafka-go's murmur2 balancer does,
// for ids of every length remainder, bytes above 0x7f and any count.
func TestPartitionOfAsKafkaGo(t *testing.T) {
	ids := []string{"", "a", "ab", "abc", "abcd", "JX-NH-0001", "浙江省嘉兴市南湖区第一小学", "\xff\xfe\x80", "330402000012345"}
	for i := range 3000 {
		ids = append(ids, fmt.Sprintf("%0*d", 1+i%40, i*7919))
	}
	balancer := kafka.Murmur2Balancer{Consistent: true}
	for _, n := range []int{2, 3, 8, 12, 64, 1000} {
		partitions := make([]int, n)
		for i := range partitions {
			partitions[i] = i
		}
		for _, id := range ids {
			require.Equal(t, balancer.Balance(kafka.Message{Key: []byte(id)}, partitions...), ingest.PartitionOf(id, n), "id %q, %d partitions", id, n)
		}
	}
}
