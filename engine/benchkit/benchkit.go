// Package benchkit holds what Sanse's benchmarks measure it against, shared
// by engine/ingest's BenchmarkPipeline and cmd/sanse-bench: consuming the
// same messages with a bare kafka-go consumer group (the fetch path of
// Sanse's consumer, without decoding, rules or storage), and the rows of the
// events table as clickhouse-client bulk-inserts them (TabSeparated).
package benchkit

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/sanse-campus/sanse/engine"
)

// ConsumeGroup reads n messages of topics in a new consumer group with the
// fetch path of Sanse's consumer (a kafka-go ConsumerGroup, one reader per
// assigned partition feeding one channel), commits the last offsets, and
// returns the time from creating the group to the acknowledged commit;
// leaving the group is not counted. each, if not nil, sees every message
// and may stop the reading with an error.
func ConsumeGroup(ctx context.Context, addr, group string, topics []string, n int64, each func(kafka.Message) error) (time.Duration, error) {
	start := time.Now()
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID: group, Brokers: []string{addr}, Topics: topics, StartOffset: kafka.FirstOffset,
	})
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	defer func() {
		cg.Close()
		wg.Wait()
	}()
	gen, err := cg.Next(ctx)
	if err != nil {
		return 0, fmt.Errorf("join group %s: %w", group, err)
	}
	msgs := make(chan kafka.Message, 1024)
	ReadAssigned(gen, addr, &wg, msgs)
	offsets := map[string]map[int]int64{}
	for range n {
		var m kafka.Message
		select {
		case m = <-msgs:
		case <-ctx.Done():
			return 0, fmt.Errorf("group %s: %w", group, ctx.Err())
		}
		if each != nil {
			if err := each(m); err != nil {
				return 0, err
			}
		}
		if offsets[m.Topic] == nil {
			offsets[m.Topic] = map[int]int64{}
		}
		offsets[m.Topic][m.Partition] = m.Offset + 1
	}
	if err := gen.CommitOffsets(offsets); err != nil {
		return 0, fmt.Errorf("group %s: commit: %w", group, err)
	}
	return time.Since(start), nil
}

// ReadAssigned starts one reader per partition assigned in gen, each
// sending what it fetches, from the committed offset, to msgs until the
// generation ends. wg counts the readers.
func ReadAssigned(gen *kafka.Generation, addr string, wg *sync.WaitGroup, msgs chan<- kafka.Message) {
	for topic, assigned := range gen.Assignments {
		for _, a := range assigned {
			wg.Add(1)
			gen.Start(func(gctx context.Context) {
				defer wg.Done()
				r := kafka.NewReader(kafka.ReaderConfig{
					Brokers: []string{addr}, Topic: topic, Partition: a.ID,
					MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 500 * time.Millisecond, ReadLagInterval: -1,
				})
				defer r.Close()
				if err := r.SetOffset(a.Offset); err != nil {
					return
				}
				for {
					m, err := r.FetchMessage(gctx)
					if err != nil {
						return
					}
					select {
					case msgs <- m:
					case <-gctx.Done():
						return
					}
				}
			})
		}
	}
}

// EventColumns are the columns of the events table that the store fills,
// in its order (engine/store/migrations/0001_events.sql).
const EventColumns = "id, school_id, source, type, occurred_at, occurred_at_ms, reporter, payload, " +
	"visitor_hash, kafka_topic, kafka_partition, kafka_offset, ingested_at"

// AppendEventRow appends the row of e for EventColumns, in ClickHouse's
// TabSeparated format, ending with a newline. ingested is the ingested_at
// column, Unix seconds.
func AppendEventRow(buf []byte, e *engine.Event, ingested int64) []byte {
	fields := [...]string{
		e.ID, e.SchoolID, string(e.Source), e.Type,
		// occurred_at is a DateTime: seconds within UInt32.
		strconv.FormatInt(min(max(e.OccurredAt.Unix(), 0), 1<<32-1), 10),
		strconv.FormatInt(e.OccurredAt.UnixMilli(), 10),
		e.Reporter, string(e.Payload), e.PersonHash, e.Origin.Topic,
		strconv.Itoa(e.Origin.Partition), strconv.FormatInt(e.Origin.Offset, 10),
		strconv.FormatInt(ingested, 10),
	}
	for i, f := range fields {
		if i > 0 {
			buf = append(buf, '\t')
		}
		buf = appendTSVField(buf, f)
	}
	return append(buf, '\n')
}

// appendTSVField appends s escaped as the TabSeparated format wants.
func appendTSVField(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			buf = append(buf, `\\`...)
		case '\t':
			buf = append(buf, `\t`...)
		case '\n':
			buf = append(buf, `\n`...)
		case '\r':
			buf = append(buf, `\r`...)
		case 0:
			buf = append(buf, `\0`...)
		default:
			buf = append(buf, c)
		}
	}
	return buf
}

// ClientArgs returns client, the clickhouse-client command, with the flags
// that connect it to the server of the DSN u: host, port (9000 when the
// DSN names none), user and password.
func ClientArgs(client []string, u *url.URL) []string {
	port := u.Port()
	if port == "" {
		port = "9000"
	}
	args := append(slices.Clone(client), "--host", u.Hostname(), "--port", port)
	if u.User != nil {
		args = append(args, "--user", u.User.Username())
		if pw, ok := u.User.Password(); ok {
			args = append(args, "--password", pw)
		}
	}
	return args
}
