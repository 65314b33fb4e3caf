-- Cluster variant of engine/store/migrations/0006_hazards.sql: the same columns, partitioning
-- and sorting keys. Each <table>_local holds one shard's rows; <table>, which the
-- engine reads and writes, shards them by school, so one school's rows live on one shard.

CREATE TABLE IF NOT EXISTS sanse.hazards_local ON CLUSTER '{cluster}'
(
    id               String,
    school_id        String,
    version          UInt64,
    title            String,
    category         String,
    level            String,
    responsible      String,
    deadline         DateTime,
    deadline_ms      Int64,
    status           String,
    evidence         String,
    origin_rule      String,
    origin_key       String,
    origin_source    String,
    created_at       DateTime,
    created_at_ms    Int64,
    created_by       String,
    updated_at_ms    Int64,
    supervised_at_ms Int64,
    verified_at_ms   Int64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/hazards', '{replica}', version)
PARTITION BY toYYYYMM(created_at)
ORDER BY (school_id, id);

CREATE TABLE IF NOT EXISTS sanse.hazards ON CLUSTER '{cluster}'
(
    id               String,
    school_id        String,
    version          UInt64,
    title            String,
    category         String,
    level            String,
    responsible      String,
    deadline         DateTime,
    deadline_ms      Int64,
    status           String,
    evidence         String,
    origin_rule      String,
    origin_key       String,
    origin_source    String,
    created_at       DateTime,
    created_at_ms    Int64,
    created_by       String,
    updated_at_ms    Int64,
    supervised_at_ms Int64,
    verified_at_ms   Int64
)
ENGINE = Distributed('{cluster}', 'sanse', 'hazards_local', cityHash64(school_id));

CREATE TABLE IF NOT EXISTS sanse.hazard_transitions_local ON CLUSTER '{cluster}'
(
    id          String,
    hazard_id   String,
    school_id   String,
    version     UInt64,
    at          DateTime,
    at_ms       Int64,
    action      String,
    from_status String,
    to_status   String,
    actor       String,
    comment     String,
    evidence    String
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/hazard_transitions', '{replica}')
PARTITION BY toYYYYMM(at)
ORDER BY (school_id, at, id);

CREATE TABLE IF NOT EXISTS sanse.hazard_transitions ON CLUSTER '{cluster}'
(
    id          String,
    hazard_id   String,
    school_id   String,
    version     UInt64,
    at          DateTime,
    at_ms       Int64,
    action      String,
    from_status String,
    to_status   String,
    actor       String,
    comment     String,
    evidence    String
)
ENGINE = Distributed('{cluster}', 'sanse', 'hazard_transitions_local', cityHash64(school_id));

