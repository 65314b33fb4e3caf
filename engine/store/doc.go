// Package store keeps Sanse's history in ClickHouse: the raw events, the risk
// transitions and the school colour changes they caused. It owns the schema
// (versioned migrations embedded from migrations/), the batched writer that
// the ingest path calls before committing Kafka offsets, and the history
// queries behind the map's timeline, the dashboard's colours per day and the
// start-up replay.
//
// Writes are idempotent by id: every table is a ReplacingMergeTree whose
// sorting key ends with the id, and a row written twice has the same school
// and time by construction, so repeats fold into one row at merge time. Every
// query counts each id once even before that merge happens.
//
// The schema runs on the ClickHouse that Debian ships (18.16) and on current
// releases. The package deliberately leaves out what 18.16 lacks: the HTTP
// protocol, LowCardinality, DateTime64, TTL, asynchronous inserts and ADD
// COLUMN IF NOT EXISTS (the migrator checks for the column instead). Times are
// stored as DateTime (seconds, for partitioning and the primary index) plus an
// Int64 column of unix milliseconds that carries the exact value.
package store
