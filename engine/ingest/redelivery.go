package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

// StoredOffset is the last stored event read from a partition: the offset of
// its message and its id.
type StoredOffset struct {
	Offset int64
	ID     string
}

// partitionRef names a partition of a topic.
type partitionRef struct {
	topic     string
	partition int
}

// handledOf returns the highest offset of the partition whose message was
// handled — by this Consumer, or by any before it as the store says
// (Options.StoredOffsets) —, -1 when none, to read and update.
func (c *Consumer) handledOf(topic string, partition int) *int64 {
	ref := partitionRef{topic, partition}
	h := c.handled[ref]
	if h == nil {
		h = new(int64)
		*h = -1
		c.handled[ref] = h
	}
	return h
}

// keepStoredOffsets keeps as handled the stored offset of each partition of
// topic that holds, at that offset, the message of the stored event, and
// returns how many it kept. A partition that ends before that offset, or
// holds another event there, is not the log those events were read from
// (the topic was created again): nothing of it counts as handled. A
// partition that no longer holds that offset (past retention) cannot
// deliver it, nor anything before it, again; its offset is kept, to no
// effect. A message that no longer decodes cannot be compared: its offset
// is kept.
func (c *Consumer) keepStoredOffsets(ctx context.Context, topic string, stored map[int]StoredOffset) (int, error) {
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for p := range stored {
		req.Topics[topic] = append(req.Topics[topic], kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	res, err := c.client.ListOffsets(ctx, req)
	if err != nil {
		return 0, explain(err)
	}
	kept := 0
	for _, po := range res.Topics[topic] {
		so, ok := stored[po.Partition]
		if !ok {
			continue
		}
		if errors.Is(po.Error, kafka.UnknownTopicOrPartition) {
			continue // no such partition any more: nothing to read again
		}
		if po.Error != nil {
			return 0, fmt.Errorf("offsets of partition %d: %w", po.Partition, po.Error)
		}
		same := true
		switch {
		case po.LastOffset <= so.Offset: // LastOffset is the offset of the next message
			same = false
			c.logger.Warn("partition ends before the offset of the last stored event: its topic was created again; its messages are applied as new",
				"topic", topic, "partition", po.Partition, "offset", so.Offset, "end_offset", po.LastOffset)
		case so.Offset >= po.FirstOffset:
			id, err := c.eventAt(ctx, topic, po.Partition, so.Offset)
			if err != nil {
				return 0, err
			}
			if id != "" && id != so.ID {
				same = false
				c.logger.Warn("partition holds another event at the offset of the last stored event: its topic was created again; its messages are applied as new",
					"topic", topic, "partition", po.Partition, "offset", so.Offset)
			}
		}
		if same {
			if h := c.handledOf(topic, po.Partition); so.Offset > *h {
				*h = so.Offset
			}
			kept++
		}
	}
	return kept, nil
}

// eventAt returns the id of the event of the message at offset of a
// partition, or "" when there is no message there (a compacted or
// transactional log) or it does not decode.
func (c *Consumer) eventAt(ctx context.Context, topic string, partition int, offset int64) (string, error) {
	res, err := c.client.Fetch(ctx, &kafka.FetchRequest{
		Topic: topic, Partition: partition, Offset: offset, MinBytes: 1, MaxBytes: 1 << 20, MaxWait: time.Second,
	})
	if err != nil {
		return "", explain(err)
	}
	if res.Error != nil {
		return "", fmt.Errorf("fetch partition %d at offset %d: %w", partition, offset, res.Error)
	}
	for {
		r, err := res.Records.ReadRecord()
		if errors.Is(err, io.EOF) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("fetch partition %d at offset %d: %w", partition, offset, err)
		}
		if r.Offset < offset {
			continue // a batch may start before the offset asked for
		}
		if r.Offset > offset || r.Value == nil {
			return "", nil
		}
		value, err := io.ReadAll(r.Value)
		if err != nil {
			return "", fmt.Errorf("fetch partition %d at offset %d: %w", partition, offset, err)
		}
		// Limits apply when an event arrives; this one arrived long ago.
		dec := *c.opts.Decoder
		dec.Limits = event.Limits{}
		var ev engine.Event
		if err := dec.Decode(c.sources[topic], value, &ev); err != nil {
			return "", nil
		}
		return ev.ID, nil
	}
}
