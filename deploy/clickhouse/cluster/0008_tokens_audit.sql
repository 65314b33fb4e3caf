-- Cluster variant of engine/store/migrations/0008_tokens_audit.sql: the same columns, partitioning
-- and sorting keys. Tokens are sharded by name, so every version of a token lives on one shard and
-- FINAL folds them; the audit log by school, like the rest of the history.

CREATE TABLE IF NOT EXISTS sanse.tokens_local ON CLUSTER '{cluster}'
(
    name          String,
    version       UInt64,
    hash          String,
    scope         String,
    role          String,
    created_at_ms Int64,
    created_by    String,
    expires_at_ms Int64,
    revoked_at_ms Int64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/tokens', '{replica}', version)
ORDER BY name;

CREATE TABLE IF NOT EXISTS sanse.tokens ON CLUSTER '{cluster}'
(
    name          String,
    version       UInt64,
    hash          String,
    scope         String,
    role          String,
    created_at_ms Int64,
    created_by    String,
    expires_at_ms Int64,
    revoked_at_ms Int64
)
ENGINE = Distributed('{cluster}', 'sanse', 'tokens_local', cityHash64(name));

CREATE TABLE IF NOT EXISTS sanse.audit_local ON CLUSTER '{cluster}'
(
    id        String,
    version   UInt64,
    at        DateTime,
    at_ms     Int64,
    actor     String,
    role      String,
    scope     String,
    action    String,
    target    String,
    school_id String,
    detail    String,
    remote    String,
    result    String
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/audit', '{replica}', version)
PARTITION BY toYYYYMM(at)
ORDER BY (at, id);

CREATE TABLE IF NOT EXISTS sanse.audit ON CLUSTER '{cluster}'
(
    id        String,
    version   UInt64,
    at        DateTime,
    at_ms     Int64,
    actor     String,
    role      String,
    scope     String,
    action    String,
    target    String,
    school_id String,
    detail    String,
    remote    String,
    result    String
)
ENGINE = Distributed('{cluster}', 'sanse', 'audit_local', cityHash64(school_id));
