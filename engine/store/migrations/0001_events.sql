-- Raw events, one row per event id. The sorting key holds the id, and a
-- redelivered event has the same school and time, so ReplacingMergeTree folds
-- the copies into one row at merge time; readers use FINAL or count distinct
-- ids until then. occurred_at has second precision; occurred_at_ms is exact.
CREATE TABLE IF NOT EXISTS events
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
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (school_id, occurred_at, id);
