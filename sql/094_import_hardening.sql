-- Import hardening (issue 9): bounded on-demand partition creation, a trace of every import
-- (a committed 'running' batch naming its backend, swept to 'failed' when the session is gone),
-- and the error codes of those outcomes. The functions using these live in
-- sql/functions/partitions/ and sql/functions/imports/.

-- ---------------------------------------------------------------- partition window
-- Premake keeps the whole window ready (retention window back .. premake_months ahead), so
-- paths that never create partitions (the JSON API) find their months; imports create a
-- missing month on demand only inside the on-demand window and only a bounded number per
-- import. A row for a missing month outside the window is a row error (OUTSIDE_PARTITION_WINDOW).
ALTER TABLE wfm.partition_config
    ALTER COLUMN premake_months SET DEFAULT 24,
    ADD COLUMN ondemand_months_ahead integer NOT NULL DEFAULT 24
        CONSTRAINT partition_config_ondemand_ahead_range CHECK (ondemand_months_ahead BETWEEN 0 AND 600),
    ADD COLUMN ondemand_months_back integer NOT NULL DEFAULT 120
        CONSTRAINT partition_config_ondemand_back_range CHECK (ondemand_months_back BETWEEN 0 AND 6000),
    ADD COLUMN ondemand_max_new_months integer NOT NULL DEFAULT 36
        CONSTRAINT partition_config_ondemand_max_range CHECK (ondemand_max_new_months BETWEEN 1 AND 240);
-- The old default (3) becomes the new one: the premade window must cover the on-demand one.
UPDATE wfm.partition_config SET premake_months = 24 WHERE premake_months = 3;

COMMENT ON COLUMN wfm.partition_config.premake_months IS
    'Months ahead of the current UTC month that premake keeps created (default 24); premake also keeps the retention window back (retention_months - 1 months before the current one).';
COMMENT ON COLUMN wfm.partition_config.ondemand_months_ahead IS
    'Imports may create a missing month at most this many months after the current UTC month (default 24); rows for later missing months are OUTSIDE_PARTITION_WINDOW row errors.';
COMMENT ON COLUMN wfm.partition_config.ondemand_months_back IS
    'Imports may create a missing month at most this many months before the current UTC month (default 120); with retention enabled, never before the first month retention keeps (retention_months - 1 back).';
COMMENT ON COLUMN wfm.partition_config.ondemand_max_new_months IS
    'At most this many missing months are created for one import (default 36); an input needing more is rejected as a whole (TOO_MANY_NEW_MONTHS): create them deliberately with wfm.ensure_monthly_partitions.';

-- ---------------------------------------------------------------- the session of a running import
ALTER TABLE wfm.import_batches
    ADD COLUMN backend_pid integer,
    ADD COLUMN backend_start timestamptz;
COMMENT ON COLUMN wfm.import_batches.backend_pid IS
    'Backend pid of the session that committed the batch as running (file imports); with backend_start it lets wfm.sweep_interrupted_imports tell a live import from one whose process was killed.';
COMMENT ON COLUMN wfm.import_batches.backend_start IS
    'pg_stat_activity.backend_start of that session (a pid alone can be reused).';

CREATE INDEX import_batches_running_idx ON wfm.import_batches (created_at) WHERE status = 'running';
COMMENT ON INDEX wfm.import_batches_running_idx IS
    'Serves wfm.sweep_interrupted_imports and the stuck-imports health check (running batches are few).';

-- ---------------------------------------------------------------- error codes
INSERT INTO wfm.error_codes (error_code, scope, description) VALUES
    ('OUTSIDE_PARTITION_WINDOW', 'row',
     'The interval falls in a month without a partition that is outside the on-demand window (wfm.partition_config.ondemand_months_ahead/back); an administrator creates it with wfm.ensure_monthly_partitions.'),
    ('TOO_MANY_NEW_MONTHS', 'file',
     'The input needs more new monthly partitions than one import may create (wfm.partition_config.ondemand_max_new_months).'),
    ('IMPORT_FAILED', 'file',
     'The load failed and was rolled back (lock timeout, deadlock, lost connection, interrupted process, ...): none of the input''s rows was imported; importing the file again is safe.');
