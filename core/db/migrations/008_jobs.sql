-- Scheduled jobs: the tick a run was for, so that each tick of a job runs once across
-- replicas (and a catch-up after downtime once, whoever starts first); payments that waited
-- too long for their order expire and are no longer matched to one.

ALTER TABLE job_runs ADD COLUMN scheduled_for timestamptz;   -- null: run by hand
-- NULLs are distinct: runs by hand never collide, runs for the same tick do.
CREATE UNIQUE INDEX job_runs_tick_idx ON job_runs (job, scheduled_for);

ALTER TABLE payments ADD COLUMN expired_at timestamptz;
DROP INDEX payments_unmatched_idx;
CREATE INDEX payments_unmatched_idx ON payments (recorded_at) WHERE order_id IS NULL AND expired_at IS NULL;
