-- Alerts and their deliveries (see engine/alert).
--
-- alerts holds the state of every alert, history included, as a JSON
-- document; a change writes a new row with a higher version, and FINAL reads
-- the latest. alert_actions is the audit trail: one row per step of an
-- alert's history (who, when, what, why). notifications is the outbox:
-- a message is stored before it is sent; deliveries holds every attempt.
CREATE TABLE IF NOT EXISTS alerts
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
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(opened_at)
ORDER BY (school_id, opened_ms, id);

CREATE TABLE IF NOT EXISTS alert_actions
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
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY (school_id, alert_id, seq);

CREATE TABLE IF NOT EXISTS notifications
(
    id          String,
    receiver    String,
    school_id   String,
    kind        String,
    created     DateTime,
    created_ms  Int64,
    doc         String
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(created)
ORDER BY (receiver, created_ms, id);

CREATE TABLE IF NOT EXISTS deliveries
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
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY (school_id, notification_id, channel, attempt);
