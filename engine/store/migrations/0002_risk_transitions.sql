-- Risk transitions: every opening, update and expiry of a school's risk, with
-- the risk as it was after the change. The id is derived from the cause, so a
-- transition recomputed after a restart replaces the stored one.
CREATE TABLE IF NOT EXISTS risk_transitions
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
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY (school_id, at, id);
