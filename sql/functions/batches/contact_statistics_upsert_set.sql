-- wfm.contact_statistics_upsert_set: the one definition of what an upsert into
-- wfm.contact_statistics overwrites when the interval already exists (ON CONFLICT ... DO UPDATE
-- SET): every value column and the batch from the incoming row, loaded_at one microsecond after
-- the transaction start (so RETURNING loaded_at = now() tells inserted rows from updated ones).
--
-- wfm.apply_import_batch_range (files, JSON functions, the API) builds its upsert with it (that
-- statement is dynamic SQL already: one call per apply, no extra planning).
-- wfm.resolve_contact_statistics (call records, revert, month rebuild) keeps the same list as
-- static SQL, planned once per session; a test (test_api_write.py) holds the two equal.
CREATE OR REPLACE FUNCTION wfm.contact_statistics_upsert_set()
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = wfm, pg_catalog, pg_temp
AS $$
SELECT $set$unique_incoming          = EXCLUDED.unique_incoming,
            non_unique_incoming      = EXCLUDED.non_unique_incoming,
            avg_talk_time            = EXCLUDED.avg_talk_time,
            avg_post_processing_time = EXCLUDED.avg_post_processing_time,
            answered_calls           = EXCLUDED.answered_calls,
            answered_within_sl       = EXCLUDED.answered_within_sl,
            abandoned_calls          = EXCLUDED.abandoned_calls,
            sl_threshold_seconds     = EXCLUDED.sl_threshold_seconds,
            import_batch_id          = EXCLUDED.import_batch_id,
            loaded_at                = pg_catalog.now() + interval '1 microsecond'$set$
$$;
COMMENT ON FUNCTION wfm.contact_statistics_upsert_set() IS
    'Internal: the SET list of every INSERT ... ON CONFLICT DO UPDATE into contact_statistics (value columns and import_batch_id from EXCLUDED, loaded_at = now() + 1 microsecond); used by apply_import_batch_range, mirrored by resolve_contact_statistics.';
REVOKE ALL ON FUNCTION wfm.contact_statistics_upsert_set() FROM PUBLIC;
