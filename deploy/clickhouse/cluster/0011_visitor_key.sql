-- Cluster variant of engine/store/migrations/0011_visitor_key.sql: the same columns and sorting
-- key. A few rows in all: one shard key for every row, so every instance reads them on one shard.

CREATE TABLE IF NOT EXISTS sanse.visitor_keys_local ON CLUSTER '{cluster}'
(
    fingerprint String,
    instance    String,
    seen_at     DateTime,
    seen_ms     Int64
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/visitor_keys', '{replica}')
ORDER BY (seen_ms, fingerprint);

CREATE TABLE IF NOT EXISTS sanse.visitor_keys ON CLUSTER '{cluster}'
(
    fingerprint String,
    instance    String,
    seen_at     DateTime,
    seen_ms     Int64
)
ENGINE = Distributed('{cluster}', 'sanse', 'visitor_keys_local', 0);
