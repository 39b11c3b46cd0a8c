-- The row of api_get_calls_by_interval's internal read paths (sql/functions/read_api/
-- calls_by_interval_rows, calls_by_quarter_rows, calls_by_quarter_agg_rows, calls_by_hour_rows,
-- calls_by_bucket_rows): each returned the same 14 columns, written out as its own RETURNS TABLE;
-- now they return SETOF this type, so the column list is written once (review, session 7).
-- The SQL functions still inline into their caller: a set-returning SQL function is expanded
-- the same way whether its result is a named composite or an OUT-parameter row.
-- api_get_calls_by_interval keeps its RETURNS TABLE: its OUT columns are the public API.
CREATE TYPE wfm.calls_bucket_row AS (
    service_id               integer,
    interval_start           timestamptz,
    interval_end             timestamptz,
    local_start              timestamp,
    intervals                integer,
    unique_incoming          bigint,
    non_unique_incoming      bigint,
    aht                      numeric,
    avg_talk_time            numeric,
    avg_post_processing_time numeric,
    answered_calls           bigint,
    abandoned_calls          bigint,
    service_level_pct        numeric,
    abandonment_rate_pct     numeric
);
COMMENT ON TYPE wfm.calls_bucket_row IS
    'One bucket of api_get_calls_by_interval (the same columns, in its order): the result row of its internal read paths wfm.calls_by_*_rows.';
COMMENT ON COLUMN wfm.calls_bucket_row.service_id IS 'Service.';
COMMENT ON COLUMN wfm.calls_bucket_row.interval_start IS 'Start of the bucket.';
COMMENT ON COLUMN wfm.calls_bucket_row.interval_end IS 'End of the bucket (exclusive).';
COMMENT ON COLUMN wfm.calls_bucket_row.local_start IS 'Start of the bucket in the service''s time zone.';
COMMENT ON COLUMN wfm.calls_bucket_row.intervals IS '15-minute intervals with data in the bucket.';
COMMENT ON COLUMN wfm.calls_bucket_row.unique_incoming IS 'Unique incoming calls.';
COMMENT ON COLUMN wfm.calls_bucket_row.non_unique_incoming IS 'Non-unique incoming (offered) calls.';
COMMENT ON COLUMN wfm.calls_bucket_row.aht IS 'Average handling time per handled call (talk + post-processing), seconds.';
COMMENT ON COLUMN wfm.calls_bucket_row.avg_talk_time IS 'Average talk time per handled call, seconds.';
COMMENT ON COLUMN wfm.calls_bucket_row.avg_post_processing_time IS 'Average post-processing time per handled call, seconds.';
COMMENT ON COLUMN wfm.calls_bucket_row.answered_calls IS 'Answered calls, where known.';
COMMENT ON COLUMN wfm.calls_bucket_row.abandoned_calls IS 'Abandoned calls, where known.';
COMMENT ON COLUMN wfm.calls_bucket_row.service_level_pct IS 'Answered within the SL threshold, percent of offered calls (where known).';
COMMENT ON COLUMN wfm.calls_bucket_row.abandonment_rate_pct IS 'Abandoned, percent of offered calls (where known).';
