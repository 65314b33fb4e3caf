-- Inspection reports (排查报告, docs/reports.md).
--
-- reports is the archive: one row per report with its index (what it covers,
-- when and by which schedule it was made, the run key of a scheduled report,
-- the summary as JSON, the renderings it has) and the renderings themselves
-- (html, csv, pdf; pdf is empty when no PDF renderer was available). Like
-- every column they are stored compressed (LZ4 by default, or what the
-- server's <compression> settings choose); a list reads only the index
-- columns. A scheduled report's id derives from its run key, so a run made
-- twice (two instances racing past their claims) is one row once merged,
-- and FINAL reads it once; both copies begin the same period, hence share
-- the partition. Partitioned by the month the period begins, so retention
-- drops old reports whole.
CREATE TABLE IF NOT EXISTS reports
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
ENGINE = ReplacingMergeTree(generated_at)
PARTITION BY toYYYYMM(period_from)
ORDER BY id;

-- report_claims holds the instances' claims of scheduled runs (step run: to
-- make the report; deliver: to queue the messages of a report made but never
-- queued) and the marks that a report's messages are queued (step queued).
-- Rows are only ever added; the earliest claim of a key holds it for a lease
-- (engine/report/claim.go).
CREATE TABLE IF NOT EXISTS report_claims
(
    run_key    String,
    step       String,
    instance   String,
    claimed_at DateTime,
    claimed_ms Int64
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(claimed_at)
ORDER BY (run_key, step, claimed_ms, instance);
