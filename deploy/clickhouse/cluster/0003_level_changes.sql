-- Cluster variant of engine/store/migrations/0003_level_changes.sql: the same
-- columns, partitioning and sorting key. level_changes_local holds one shard's
-- rows; level_changes, which the engine reads and writes, shards them by
-- school, so a school's whole colour timeline lives on one shard.
CREATE TABLE IF NOT EXISTS sanse.level_changes_local ON CLUSTER '{cluster}'
(
    id           String,
    school_id    String,
    at           DateTime,
    at_ms        Int64,
    from_level   String,
    to_level     String,
    rule         String,
    event_id     String,
    cause        String,
    active_risks UInt32
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/level_changes', '{replica}')
PARTITION BY toYYYYMM(at)
ORDER BY (school_id, at, id);

CREATE TABLE IF NOT EXISTS sanse.level_changes ON CLUSTER '{cluster}'
(
    id           String,
    school_id    String,
    at           DateTime,
    at_ms        Int64,
    from_level   String,
    to_level     String,
    rule         String,
    event_id     String,
    cause        String,
    active_risks UInt32
)
ENGINE = Distributed('{cluster}', 'sanse', 'level_changes_local', cityHash64(school_id));
