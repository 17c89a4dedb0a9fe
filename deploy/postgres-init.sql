-- Runs once, when the postgres volume is first initialised: a separate database for the
-- Dagster instance (runs, event logs, schedules) next to the warehouse database.
CREATE DATABASE dagster;
