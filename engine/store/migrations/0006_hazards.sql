-- Hazards (隐患排查治理): the current state of each hazard, one row per version.
-- ReplacingMergeTree keeps the row of the highest version of an id, so a state
-- written late or twice never replaces a newer one; readers use FINAL. A
-- hazard's school and creation time never change, so all its versions share
-- one partition and one sorting key. Times are DateTime (for partitioning)
-- plus exact unix milliseconds; a _ms column of 0 means "not yet". evidence
-- is a JSON array of {kind, value, by, at}.
CREATE TABLE IF NOT EXISTS hazards
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
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(created_at)
ORDER BY (school_id, id);

-- Every transition of every hazard: who did what, when, why, with which
-- evidence (a JSON array of {kind, value, by, at}). The id is the hazard's id
-- and the version the transition made, so a transition written again
-- replaces its copy.
CREATE TABLE IF NOT EXISTS hazard_transitions
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
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY (school_id, at, id);
