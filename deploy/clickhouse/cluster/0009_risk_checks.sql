-- Cluster variant of engine/store/migrations/0009_risk_checks.sql: the human
-- check of machine detections and overdue risks on the risk transitions. The
-- local tables first, so that the Distributed table never has a column that
-- the shards lack. Current releases accept IF NOT EXISTS, so the file may be
-- applied again.
ALTER TABLE sanse.risk_transitions_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS pending UInt8;
ALTER TABLE sanse.risk_transitions_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS full_level String;
ALTER TABLE sanse.risk_transitions_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS alarms Array(String);
ALTER TABLE sanse.risk_transitions_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS device String;
ALTER TABLE sanse.risk_transitions_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS overdue UInt8;

ALTER TABLE sanse.risk_transitions ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS pending UInt8;
ALTER TABLE sanse.risk_transitions ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS full_level String;
ALTER TABLE sanse.risk_transitions ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS alarms Array(String);
ALTER TABLE sanse.risk_transitions ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS device String;
ALTER TABLE sanse.risk_transitions ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS overdue UInt8;
