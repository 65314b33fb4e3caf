-- The human check of machine detections (待核实) and overdue risks, on the
-- risk's transitions: whether the risk waits for a check (pending) and the
-- level a confirmation gives it (full_level), the vendor platform's alarm ids
-- that opened it (alarms, which disposition events name), the device that
-- reported it (device: the opening event's reporter, for false-alarm rates per
-- device), and whether it rose for being overdue (overdue).
--
-- ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS: the migrator skips an ADD
-- COLUMN whose column the table already has with the same type (migrate.go).
ALTER TABLE risk_transitions ADD COLUMN pending UInt8;
ALTER TABLE risk_transitions ADD COLUMN full_level String;
ALTER TABLE risk_transitions ADD COLUMN alarms Array(String);
ALTER TABLE risk_transitions ADD COLUMN device String;
ALTER TABLE risk_transitions ADD COLUMN overdue UInt8;
