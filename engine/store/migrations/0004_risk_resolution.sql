-- Who resolved a risk and why: set on the transitions of state "resolved", a
-- person's act, and empty on every other transition (and on the rows stored
-- before this migration).
--
-- ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS. The migrator makes these
-- statements safe to repeat instead: it skips an ADD COLUMN whose column the
-- table already has with the same type (see migrate.go).
ALTER TABLE risk_transitions ADD COLUMN actor String;
ALTER TABLE risk_transitions ADD COLUMN comment String;
