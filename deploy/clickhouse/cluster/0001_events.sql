-- Cluster variant of engine/store/migrations/0001_events.sql: the same
-- columns, partitioning and sorting key.
--
-- events_local holds one shard's rows, replicated within the shard. events is
-- the table the engine reads and writes: it sends each row to the shard of
-- its school, so all copies of one event id (same school, same time) land on
-- one shard and ReplacingMergeTree folds them there, and FINAL, which every
-- query of the engine uses, is exact when run shard by shard.
CREATE TABLE IF NOT EXISTS sanse.events_local ON CLUSTER '{cluster}'
(
    id              String,
    school_id       String,
    source          String,
    type            String,
    occurred_at     DateTime,
    occurred_at_ms  Int64,
    reporter        String,
    payload         String,
    visitor_hash    String,
    kafka_topic     String,
    kafka_partition Int32,
    kafka_offset    Int64,
    ingested_at     DateTime
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/events', '{replica}', ingested_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (school_id, occurred_at, id);

CREATE TABLE IF NOT EXISTS sanse.events ON CLUSTER '{cluster}'
(
    id              String,
    school_id       String,
    source          String,
    type            String,
    occurred_at     DateTime,
    occurred_at_ms  Int64,
    reporter        String,
    payload         String,
    visitor_hash    String,
    kafka_topic     String,
    kafka_partition Int32,
    kafka_offset    Int64,
    ingested_at     DateTime
)
ENGINE = Distributed('{cluster}', 'sanse', 'events_local', cityHash64(school_id));
