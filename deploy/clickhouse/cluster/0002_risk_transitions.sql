-- Cluster variant of engine/store/migrations/0002_risk_transitions.sql: the
-- same columns, partitioning and sorting key. risk_transitions_local holds one
-- shard's rows; risk_transitions, which the engine reads and writes, shards
-- them by school, so a transition recomputed after a restart replaces the
-- stored one on the same shard.
CREATE TABLE IF NOT EXISTS sanse.risk_transitions_local ON CLUSTER '{cluster}'
(
    id            String,
    school_id     String,
    at            DateTime,
    at_ms         Int64,
    state         String,
    event_id      String,
    rule          String,
    risk_key      String,
    source        String,
    level         String,
    title         String,
    description   String,
    first_seen_ms Int64,
    last_seen_ms  Int64,
    until_ms      Int64,
    count         UInt32,
    evidence      Array(String)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/risk_transitions', '{replica}')
PARTITION BY toYYYYMM(at)
ORDER BY (school_id, at, id);

CREATE TABLE IF NOT EXISTS sanse.risk_transitions ON CLUSTER '{cluster}'
(
    id            String,
    school_id     String,
    at            DateTime,
    at_ms         Int64,
    state         String,
    event_id      String,
    rule          String,
    risk_key      String,
    source        String,
    level         String,
    title         String,
    description   String,
    first_seen_ms Int64,
    last_seen_ms  Int64,
    until_ms      Int64,
    count         UInt32,
    evidence      Array(String)
)
ENGINE = Distributed('{cluster}', 'sanse', 'risk_transitions_local', cityHash64(school_id));
