-- Cluster variant of engine/store/migrations/0004_risk_resolution.sql: who
-- resolved a risk and why. The local tables first, so that the Distributed
-- table never has a column that the shards lack. Current releases accept
-- IF NOT EXISTS, so the file may be applied again.
ALTER TABLE sanse.risk_transitions_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS actor String;
ALTER TABLE sanse.risk_transitions_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS comment String;

ALTER TABLE sanse.risk_transitions ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS actor String;
ALTER TABLE sanse.risk_transitions ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS comment String;
