-- Cluster variant of engine/store/migrations/0010_reports.sql: the same columns, partitioning
-- and sorting keys. Reports are sharded by id, so both copies of a run made twice (its id derives
-- from the run key) land on one shard, where FINAL folds them. Claims are sharded by run key, so
-- every claim of a run lives on one shard and every instance reads the same claims there; see
-- docs/reports.md for the settings that make a claim visible to the next reader on a replicated
-- shard (insert_quorum, select_sequential_consistency).

CREATE TABLE IF NOT EXISTS sanse.reports_local ON CLUSTER '{cluster}'
(
    id           String,
    run_key      String,
    schedule     String,
    kind         String,
    district     String,
    school_id    String,
    period_from  DateTime,
    period_to    DateTime,
    title        String,
    generated_at DateTime,
    generated_ms Int64,
    summary      String,
    formats      Array(String),
    html         String,
    csv          String,
    pdf          String
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/reports', '{replica}', generated_at)
PARTITION BY toYYYYMM(period_from)
ORDER BY id;

CREATE TABLE IF NOT EXISTS sanse.reports ON CLUSTER '{cluster}'
(
    id           String,
    run_key      String,
    schedule     String,
    kind         String,
    district     String,
    school_id    String,
    period_from  DateTime,
    period_to    DateTime,
    title        String,
    generated_at DateTime,
    generated_ms Int64,
    summary      String,
    formats      Array(String),
    html         String,
    csv          String,
    pdf          String
)
ENGINE = Distributed('{cluster}', 'sanse', 'reports_local', cityHash64(id));

CREATE TABLE IF NOT EXISTS sanse.report_claims_local ON CLUSTER '{cluster}'
(
    run_key    String,
    step       String,
    instance   String,
    claimed_at DateTime,
    claimed_ms Int64
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/report_claims', '{replica}')
PARTITION BY toYYYYMM(claimed_at)
ORDER BY (run_key, step, claimed_ms, instance);

CREATE TABLE IF NOT EXISTS sanse.report_claims ON CLUSTER '{cluster}'
(
    run_key    String,
    step       String,
    instance   String,
    claimed_at DateTime,
    claimed_ms Int64
)
ENGINE = Distributed('{cluster}', 'sanse', 'report_claims_local', cityHash64(run_key));
