-- Cluster variant of engine/store/migrations/0005_alerts.sql: the same columns, partitioning
-- and sorting keys. Each <table>_local holds one shard's rows; <table>, which the
-- engine reads and writes, shards them by school, so one school's rows live on one shard.

CREATE TABLE IF NOT EXISTS sanse.alerts_local ON CLUSTER '{cluster}'
(
    id          String,
    school_id   String,
    district    String,
    level       String,
    status      String,
    source      String,
    opened_at   DateTime,
    opened_ms   Int64,
    version     UInt64,
    doc         String
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/alerts', '{replica}', version)
PARTITION BY toYYYYMM(opened_at)
ORDER BY (school_id, opened_ms, id);

CREATE TABLE IF NOT EXISTS sanse.alerts ON CLUSTER '{cluster}'
(
    id          String,
    school_id   String,
    district    String,
    level       String,
    status      String,
    source      String,
    opened_at   DateTime,
    opened_ms   Int64,
    version     UInt64,
    doc         String
)
ENGINE = Distributed('{cluster}', 'sanse', 'alerts_local', cityHash64(school_id));

CREATE TABLE IF NOT EXISTS sanse.alert_actions_local ON CLUSTER '{cluster}'
(
    alert_id    String,
    school_id   String,
    seq         UInt32,
    at          DateTime,
    at_ms       Int64,
    action      String,
    actor       String,
    comment     String,
    step        UInt8
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/alert_actions', '{replica}')
PARTITION BY toYYYYMM(at)
ORDER BY (school_id, alert_id, seq);

CREATE TABLE IF NOT EXISTS sanse.alert_actions ON CLUSTER '{cluster}'
(
    alert_id    String,
    school_id   String,
    seq         UInt32,
    at          DateTime,
    at_ms       Int64,
    action      String,
    actor       String,
    comment     String,
    step        UInt8
)
ENGINE = Distributed('{cluster}', 'sanse', 'alert_actions_local', cityHash64(school_id));

CREATE TABLE IF NOT EXISTS sanse.notifications_local ON CLUSTER '{cluster}'
(
    id          String,
    receiver    String,
    school_id   String,
    kind        String,
    created     DateTime,
    created_ms  Int64,
    doc         String
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/notifications', '{replica}')
PARTITION BY toYYYYMM(created)
ORDER BY (receiver, created_ms, id);

CREATE TABLE IF NOT EXISTS sanse.notifications ON CLUSTER '{cluster}'
(
    id          String,
    receiver    String,
    school_id   String,
    kind        String,
    created     DateTime,
    created_ms  Int64,
    doc         String
)
ENGINE = Distributed('{cluster}', 'sanse', 'notifications_local', cityHash64(school_id));

CREATE TABLE IF NOT EXISTS sanse.deliveries_local ON CLUSTER '{cluster}'
(
    notification_id String,
    school_id       String,
    receiver        String,
    channel         String,
    attempt         UInt32,
    at              DateTime,
    at_ms           Int64,
    ok              UInt8,
    permanent       UInt8,
    error           String
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/deliveries', '{replica}')
PARTITION BY toYYYYMM(at)
ORDER BY (school_id, notification_id, channel, attempt);

CREATE TABLE IF NOT EXISTS sanse.deliveries ON CLUSTER '{cluster}'
(
    notification_id String,
    school_id       String,
    receiver        String,
    channel         String,
    attempt         UInt32,
    at              DateTime,
    at_ms           Int64,
    ok              UInt8,
    permanent       UInt8,
    error           String
)
ENGINE = Distributed('{cluster}', 'sanse', 'deliveries_local', cityHash64(school_id));

