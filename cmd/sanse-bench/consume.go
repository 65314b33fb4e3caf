package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/ingest"
)

// consumeGroup reads n messages of topics in a new consumer group with the
// fetch path of Sanse's consumer (a kafka-go ConsumerGroup, one reader per
// assigned partition feeding one channel), commits the last offsets, and
// returns the time from creating the group to the acknowledged commit;
// leaving the group is not counted. each, if not nil, sees every message.
// It is engine/ingest's BenchmarkPipeline's raw phase.
func consumeGroup(ctx context.Context, addr, group string, topics []string, n int64, each func(kafka.Message) error) (time.Duration, error) {
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
	readAssigned(gen, addr, &wg, msgs)
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

// readAssigned starts one reader per partition assigned in gen, each
// sending what it fetches to msgs until the generation ends.
func readAssigned(gen *kafka.Generation, addr string, wg *sync.WaitGroup, msgs chan<- kafka.Message) {
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

// writeEventsTSV reads the n messages back once, in a consumer group of its
// own, decodes them with Sanse's decoder, and writes the rows Sanse stores
// in the events table, where the broker put them, to path as TSV for
// clickhouse-client. It returns how many messages were valid events.
func writeEventsTSV(ctx context.Context, addr string, topics []string, n int64, dec *event.Decoder, path string) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	sources := map[string]engine.Source{}
	for src, t := range ingest.DefaultTopics(nil) {
		sources[t] = src
	}
	ingested := time.Now().Unix()
	var (
		valid int64
		row   []byte
		ev    engine.Event
	)
	_, err = consumeGroup(ctx, addr, "sanse-bench-collect", topics, n, func(m kafka.Message) error {
		ev = engine.Event{}
		if err := dec.Decode(sources[m.Topic], m.Value, &ev); err != nil {
			return nil
		}
		ev.Origin = engine.Origin{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset}
		row = appendEventRow(row[:0], &ev, ingested)
		valid++
		_, err := w.Write(row)
		return err
	})
	if err != nil {
		return 0, err
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	return valid, f.Close()
}
