package ingest

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/sanse-campus/sanse/engine/event"
)

// Headers added to every message on the dead-letter topic, after the
// original message's own headers. Key, value and the original headers are
// redacted copies (see deadLetter).
const (
	// HeaderReason holds the event.Reason of the rejection.
	HeaderReason = "sanse-reason"
	// HeaderError holds the full rejection message, naming the field.
	HeaderError = "sanse-error"
	// HeaderTopic, HeaderPartition and HeaderOffset hold where the
	// original message was read from; partition and offset in decimal.
	HeaderTopic     = "sanse-topic"
	HeaderPartition = "sanse-partition"
	HeaderOffset    = "sanse-offset"
	// HeaderSize holds the original message's length in bytes, in decimal,
	// when the copy is cut short (reason too_large).
	HeaderSize = "sanse-size"
)

// MaxDeadLetterBody bounds the copy of a message too large to accept
// (reason too_large) on the dead-letter topic.
const MaxDeadLetterBody = 16 << 10

// deadLetter returns the dead-letter message for m, rejected with de. The
// message is not copied verbatim: key, value and the producer's headers go
// through c.RedactRaw, which masks the values of every key any source of c
// declares personal (visitor_id, name, …) and every ID-card and mobile
// number even in a message that is not JSON, and the value of a message too
// large is cut to MaxDeadLetterBody first. The rejection message is masked
// by DecodeError.Error.
func deadLetter(c *event.Contract, topic string, m *kafka.Message, de *event.DecodeError) kafka.Message {
	h := make([]kafka.Header, 0, len(m.Headers)+6)
	for _, oh := range m.Headers {
		h = append(h, kafka.Header{Key: event.MaskText(oh.Key), Value: c.RedactRaw(oh.Value, MaxDeadLetterBody)})
	}
	limit := 0
	if de.Reason == event.ReasonTooLarge {
		limit = MaxDeadLetterBody
		h = append(h, kafka.Header{Key: HeaderSize, Value: strconv.AppendInt(nil, int64(len(m.Value)), 10)})
	}
	h = append(h,
		kafka.Header{Key: HeaderReason, Value: []byte(de.Reason)},
		kafka.Header{Key: HeaderError, Value: []byte(de.Error())},
		kafka.Header{Key: HeaderTopic, Value: []byte(m.Topic)},
		kafka.Header{Key: HeaderPartition, Value: strconv.AppendInt(nil, int64(m.Partition), 10)},
		kafka.Header{Key: HeaderOffset, Value: strconv.AppendInt(nil, m.Offset, 10)},
	)
	return kafka.Message{Topic: topic, Key: c.RedactRaw(m.Key, MaxDeadLetterBody), Value: c.RedactRaw(m.Value, limit), Headers: h}
}

// newDeadLetterWriter returns the synchronous writer of the dead-letter
// topic: WriteMessages returns once every replica has the messages.
func newDeadLetterWriter(brokers []string, logger *slog.Logger) *kafka.Writer {
	return &kafka.Writer{
		Addr: kafka.TCP(brokers...),
		// The same partitioner as Java clients, so that a school's
		// rejected messages stay in order on one partition.
		Balancer:     &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll,
		// kafka-go holds a partial batch for BatchTimeout (default 1s)
		// even in synchronous mode; all messages of a flush are passed
		// in one call, so there is nothing to wait for.
		BatchTimeout: time.Millisecond,
		BatchSize:    1000,
		// Retried by the consumer, with its own backoff, logs and
		// metrics; kafka-go's own attempts are logged at debug level.
		MaxAttempts: 3,
		Logger:      kafkaLogger(logger, slog.LevelDebug, nil),
		ErrorLogger: kafkaLogger(logger, slog.LevelDebug, nil),
	}
}

// writeDeadLetters writes the dead letters of p, retrying until all are
// acknowledged or ctx is done. Acknowledged messages are removed from
// p.dead, so a retry writes only those that failed.
func (c *Consumer) writeDeadLetters(ctx context.Context, p *pending) error {
	if len(p.dead) == 0 {
		return nil
	}
	return c.retry(ctx, targetDeadLetter, func(ctx context.Context) error {
		err := c.dlq.WriteMessages(ctx, p.dead...)
		var werrs kafka.WriteErrors
		switch {
		case err == nil:
			clear(p.dead)
			p.dead = p.dead[:0]
		case errors.As(err, &werrs) && len(werrs) == len(p.dead):
			keep := p.dead[:0]
			for i, e := range werrs {
				if e != nil {
					keep = append(keep, p.dead[i])
				}
			}
			clear(p.dead[len(keep):])
			p.dead = keep
		}
		return err
	})
}
