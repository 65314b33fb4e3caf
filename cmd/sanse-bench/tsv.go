package main

import (
	"strconv"

	"github.com/sanse-campus/sanse/engine"
)

// eventColumns are the columns of the events table that the store fills,
// in its order (engine/store/migrations/0001_events.sql), as
// engine/ingest's BenchmarkPipeline gives them to clickhouse-client.
const eventColumns = "id, school_id, source, type, occurred_at, occurred_at_ms, reporter, payload, " +
	"visitor_hash, kafka_topic, kafka_partition, kafka_offset, ingested_at"

// appendEventRow appends the row of e for the columns eventColumns, in
// ClickHouse's TabSeparated format, ending with a newline. ingested is the
// ingested_at column, Unix seconds.
func appendEventRow(buf []byte, e *engine.Event, ingested int64) []byte {
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
