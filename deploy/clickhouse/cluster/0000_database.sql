-- The database, on every node of the cluster. Every file of this directory
-- names it: sanse, the database of Sanse's default DSN
-- (clickhouse://host:9000/sanse). See README.md to use another name.
CREATE DATABASE IF NOT EXISTS sanse ON CLUSTER '{cluster}';
