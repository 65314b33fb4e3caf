-- API tokens (docs/security.md): one row per version of a token; the row of the
-- highest version of a name is the token, so revoking is writing a new version.
-- Only the SHA-256 of the secret is kept. Times are unix milliseconds, 0 for
-- "never" (expires_at_ms) or "not revoked" (revoked_at_ms).
CREATE TABLE IF NOT EXISTS tokens
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
ENGINE = ReplacingMergeTree(version)
ORDER BY name;

-- The audit log: who did what to which target, from where, with which result.
-- An act writes its record before it runs (result "pending") and again with
-- its outcome under the same id and a higher version; readers use FINAL.
CREATE TABLE IF NOT EXISTS audit
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
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(at)
ORDER BY (at, id);
