package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// feeder produces a run in rounds while sanse consumes it, for runs larger
// than the in-memory broker can hold: it keeps at most two rounds that
// sanse has not committed in the broker, and deletes what sanse committed
// before producing the next round.
type feeder struct {
	p          *producer
	addr       string
	group      string
	topics     []string // the topics sanse consumes
	partitions int
	round      int64
	events     int64
	// produced counts the messages produced so far.
	produced int64
	// deleted counts the messages deleted so far.
	deleted int64
	logf    func(format string, args ...any)
}

// feedPoll is how often the feeder reads sanse's committed offsets.
const feedPoll = 500 * time.Millisecond

// ahead is how many rounds the feeder keeps produced and not committed.
const ahead = 2

// backlog produces what the broker holds before sanse starts: up to ahead
// rounds.
func (f *feeder) backlog(ctx context.Context) error {
	n := min(ahead*f.round, f.events)
	if err := f.p.produce(ctx, n); err != nil {
		return err
	}
	f.produced = n
	return nil
}

// run produces the rest of the run, a round each time sanse has committed
// all but one round of what was produced, deleting what it committed first.
func (f *feeder) run(ctx context.Context) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(f.addr))
	if err != nil {
		return err
	}
	defer cl.Close()
	kc := &kafka.Client{Addr: kafka.TCP(f.addr), Timeout: 30 * time.Second}
	tick := time.NewTicker(feedPoll)
	defer tick.Stop()
	for f.produced < f.events {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		offsets, total, err := f.committed(ctx, kc)
		if err != nil {
			return err
		}
		if f.produced-total > (ahead-1)*f.round {
			continue
		}
		if err := deleteRecords(ctx, cl, offsets); err != nil {
			return err
		}
		f.deleted = total
		n := min(f.round, f.events-f.produced)
		if err := f.p.produce(ctx, n); err != nil {
			return err
		}
		f.produced += n
		f.logf("rounds: %s produced, %s committed by sanse and deleted", thousands(f.produced), thousands(total))
	}
	return nil
}

// committed returns the offsets sanse's group committed, by topic and
// partition, and their sum.
func (f *feeder) committed(ctx context.Context, kc *kafka.Client) (map[string]map[int]int64, int64, error) {
	return committedOffsets(ctx, kc, f.group, f.topics, f.partitions)
}

// committedOffsets returns the offsets group committed on topics, by topic
// and partition, and their sum: with nothing deleted before them, the
// messages it committed, each once however often it read it.
func committedOffsets(ctx context.Context, kc *kafka.Client, group string, topics []string, partitions int) (map[string]map[int]int64, int64, error) {
	parts := map[string][]int{}
	for _, t := range topics {
		for p := range partitions {
			parts[t] = append(parts[t], p)
		}
	}
	resp, err := kc.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: parts})
	if err != nil {
		return nil, 0, fmt.Errorf("committed offsets of %s: %w", group, err)
	}
	// kfake answers GROUP_ID_NOT_FOUND for a group that has not joined yet.
	if resp.Error != nil && !errors.Is(resp.Error, kafka.GroupIdNotFound) {
		return nil, 0, fmt.Errorf("committed offsets of %s: %w", group, resp.Error)
	}
	out := map[string]map[int]int64{}
	var total int64
	for t, ps := range resp.Topics {
		for _, p := range ps {
			if p.Error != nil || p.CommittedOffset < 0 {
				continue
			}
			if out[t] == nil {
				out[t] = map[int]int64{}
			}
			out[t][p.Partition] = p.CommittedOffset
			total += p.CommittedOffset
		}
	}
	return out, total, nil
}

// deleteRecords deletes the records before offsets.
func deleteRecords(ctx context.Context, cl *kgo.Client, offsets map[string]map[int]int64) error {
	req := kmsg.NewPtrDeleteRecordsRequest()
	req.TimeoutMillis = 30000
	for t, ps := range offsets {
		rt := kmsg.NewDeleteRecordsRequestTopic()
		rt.Topic = t
		for p, off := range ps {
			rp := kmsg.NewDeleteRecordsRequestTopicPartition()
			rp.Partition, rp.Offset = int32(p), off
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	if len(req.Topics) == 0 {
		return nil
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("delete records: %w", err)
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("delete records of %s/%d: %w", t.Topic, p.Partition, err)
			}
		}
	}
	return nil
}
