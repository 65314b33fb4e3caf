package main

import (
	"bufio"
	"context"
	"os"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/benchkit"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/ingest"
)

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
	_, err = benchkit.ConsumeGroup(ctx, addr, "sanse-bench-collect", topics, n, func(m kafka.Message) error {
		ev = engine.Event{}
		if err := dec.Decode(sources[m.Topic], m.Value, &ev); err != nil {
			return nil
		}
		ev.Origin = engine.Origin{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset}
		row = benchkit.AppendEventRow(row[:0], &ev, ingested)
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
