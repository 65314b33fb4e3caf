-- visitor_keys records which visitor key (privacy.visitor_key_file) made the
-- history's visitor hashes: a fingerprint of the key (its keyed hash of a
-- fixed text, which does not reveal the key), the instance that first used
-- it and when. Every instance of an installation must use the same key, or
-- one visitor gets several hashes and the rules that count a visitor's
-- entries count them apart; an instance whose key is not the first one
-- recorded refuses to start (engine/store/keys.go). Rows are only added.
CREATE TABLE IF NOT EXISTS visitor_keys
(
    fingerprint String,
    instance    String,
    seen_at     DateTime,
    seen_ms     Int64
)
ENGINE = MergeTree
ORDER BY (seen_ms, fingerprint);
