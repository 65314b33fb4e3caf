-- School colour changes (红/黄/绿) and their cause: the timeline behind "why is
-- this school red?". The id is derived from the cause, as for risk transitions.
CREATE TABLE IF NOT EXISTS level_changes
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
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY (school_id, at, id);
