-- Cluster variant of engine/store/migrations/0007_level_change_cause.sql: the
-- cause of a colour change field by field. The local tables first, so that the
-- Distributed table never has a column that the shards lack. Current releases
-- accept IF NOT EXISTS, so the file may be applied again.
ALTER TABLE sanse.level_changes_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS how String;
ALTER TABLE sanse.level_changes_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS risk_key String;
ALTER TABLE sanse.level_changes_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS title String;
ALTER TABLE sanse.level_changes_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS severity String;
ALTER TABLE sanse.level_changes_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS policy_rule String;
ALTER TABLE sanse.level_changes_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS policy_reason String;

ALTER TABLE sanse.level_changes ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS how String;
ALTER TABLE sanse.level_changes ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS risk_key String;
ALTER TABLE sanse.level_changes ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS title String;
ALTER TABLE sanse.level_changes ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS severity String;
ALTER TABLE sanse.level_changes ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS policy_rule String;
ALTER TABLE sanse.level_changes ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS policy_reason String;
