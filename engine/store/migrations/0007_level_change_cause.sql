-- The cause of a colour change, field by field, so that the history can be
-- read in every language the page offers: what happened to the risk (how),
-- its key, title and severity at the time, and the level policy's rule and
-- reason when the policy raised the colour. `cause` keeps the Chinese
-- sentence, rendered when the row is written; rows stored before this
-- migration have only that sentence.
--
-- ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS: the migrator skips an ADD
-- COLUMN whose column the table already has with the same type (migrate.go).
ALTER TABLE level_changes ADD COLUMN how String;
ALTER TABLE level_changes ADD COLUMN risk_key String;
ALTER TABLE level_changes ADD COLUMN title String;
ALTER TABLE level_changes ADD COLUMN severity String;
ALTER TABLE level_changes ADD COLUMN policy_rule String;
ALTER TABLE level_changes ADD COLUMN policy_reason String;
