-- requires: functions/read_api/rounded_ratio.sql
-- wfm.calls_by_quarter_rows: api_get_calls_by_interval for 15-minute buckets (the point and
-- one-day reads), with exactly the result of the raw query wfm.calls_by_interval_rows.
--
-- Why a second query for the same result (issue 15, day_3_services at 50 clients: the CPU per
-- query had to fall ~2x): the general query aggregates twice (wfm.service_interval_stats per
-- interval, then per bucket, a sort in between) and reads the heap. A 15-minute bucket is its
-- interval, so here one aggregation per interval is all, over an index-only scan of
-- contact_statistics_interval_key (sql/270: unique, covering) in (service_id, interval_start_time)
-- order: no sort, no heap. The per-interval rule is wfm.service_interval_stats' (the
-- service-level row, group_id NULL, when present, else the sum of the groups), written on the
-- base columns that index covers. Measured on the benchmark data (one day, 3 services, backend
-- CPU per call): 3.4 ms before, 1.8 ms with this function and the index.
-- Inlinable SQL (STABLE, no SET, not SECURITY DEFINER): the caller's arguments prune partitions
-- and reach the index. Internal: no grant.
-- Session 7: RETURNS TABLE became SETOF wfm.calls_bucket_row, a new result type: DROP first
-- (nothing depends on it in the catalog: api_get_calls_by_interval, plpgsql, calls it from its body).
DROP FUNCTION IF EXISTS wfm.calls_by_quarter_rows(timestamptz, timestamptz, integer[]);
CREATE OR REPLACE FUNCTION wfm.calls_by_quarter_rows(
    p_start_time timestamptz, p_end_time timestamptz, p_service_ids integer[])
RETURNS SETOF wfm.calls_bucket_row   -- the column list, once (sql/298)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    -- Per service and interval, the rule of wfm.service_interval_stats: the service-level row
    -- (group_id NULL; at most one per interval, the key is NULLS NOT DISTINCT) when the interval
    -- has one, else the sums of its group rows. The service-level row's counters are captured
    -- by one aggregate, SV = min(ARRAY[<the 7 counters>]) FILTER (WHERE group_id IS NULL): its
    -- FILTER is checked per row, the array built only for that one row, and it is NULL when
    -- there is none; the other aggregates sum all rows, which are the groups' sums then. SV is
    -- written out in every CASE below (the same aggregate, computed once: the planner merges
    -- equal aggregates); it stays at this level so the ratios below get plain columns.
    WITH q AS NOT MATERIALIZED (
        SELECT cs.service_id, cs.interval_start_time AS t,
               CASE WHEN (min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL)) IS NULL THEN sum(cs.unique_incoming) ELSE (min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL))[1] END AS unique_incoming,
               CASE WHEN (min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL)) IS NULL THEN sum(cs.non_unique_incoming) ELSE (min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL))[2] END AS non_unique_incoming,
               CASE WHEN (min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL)) IS NULL
                    THEN sum(coalesce(cs.avg_talk_time, 0)::bigint * coalesce(cs.answered_calls, cs.non_unique_incoming))::bigint
                    ELSE coalesce((min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL))[3], 0)::bigint * coalesce((min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL))[5], (min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL))[2]) END AS talk_time_total,
               CASE WHEN (min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL)) IS NULL
                    THEN sum(coalesce(cs.avg_post_processing_time, 0)::bigint * coalesce(cs.answered_calls, cs.non_unique_incoming))::bigint
                    ELSE coalesce((min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL))[4], 0)::bigint * coalesce((min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL))[5], (min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL))[2]) END AS post_processing_time_total,
               CASE WHEN (min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL)) IS NULL THEN sum(coalesce(cs.answered_calls, cs.non_unique_incoming))
                    ELSE coalesce((min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL))[5], (min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL))[2]) END AS handled_calls,
               CASE WHEN (min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL)) IS NULL THEN sum(cs.answered_calls) ELSE (min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL))[5] END AS answered_calls,
               CASE WHEN (min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL)) IS NULL THEN sum(cs.answered_within_sl) ELSE (min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL))[6] END AS answered_within_sl,
               CASE WHEN (min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL)) IS NULL THEN sum(cs.non_unique_incoming) FILTER (WHERE cs.answered_within_sl IS NOT NULL)
                    WHEN (min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL))[6] IS NOT NULL THEN (min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL))[2] END AS sl_offered_calls,
               CASE WHEN (min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL)) IS NULL THEN sum(cs.abandoned_calls) ELSE (min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL))[7] END AS abandoned_calls,
               CASE WHEN (min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL)) IS NULL THEN sum(cs.non_unique_incoming) FILTER (WHERE cs.abandoned_calls IS NOT NULL)
                    WHEN (min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL))[7] IS NOT NULL THEN (min(ARRAY[cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls]) FILTER (WHERE cs.group_id IS NULL))[2] END AS abandon_offered_calls
        FROM wfm.contact_statistics cs
        WHERE cs.service_id = ANY (p_service_ids)
          AND cs.interval_start_time >= p_start_time
          AND cs.interval_start_time < p_end_time
        GROUP BY cs.service_id, cs.interval_start_time
    )
    SELECT v.service_id,
           v.t,
           v.t + interval '15 minutes',
           v.t AT TIME ZONE s.time_zone,
           1,
           v.unique_incoming,
           v.non_unique_incoming,
           -- averages per handled call (answered where known, else offered: issue 13)
           wfm.rounded_ratio(v.talk_time_total + v.post_processing_time_total, v.handled_calls),
           wfm.rounded_ratio(v.talk_time_total, v.handled_calls),
           wfm.rounded_ratio(v.post_processing_time_total, v.handled_calls),
           v.answered_calls,
           v.abandoned_calls,
           wfm.rounded_ratio(v.answered_within_sl, v.sl_offered_calls, 100),
           wfm.rounded_ratio(v.abandoned_calls, v.abandon_offered_calls, 100)
    FROM q v
    JOIN wfm.services s ON s.service_id = v.service_id
    ORDER BY v.service_id, v.t
$$;
COMMENT ON FUNCTION wfm.calls_by_quarter_rows(timestamptz, timestamptz, integer[]) IS
    'Internal (no argument checks): api_get_calls_by_interval for 15-minute buckets, one aggregation per interval over an index-only scan of contact_statistics_interval_key (unique, covering); equal to wfm.calls_by_interval_rows.';
REVOKE ALL ON FUNCTION wfm.calls_by_quarter_rows(timestamptz, timestamptz, integer[]) FROM PUBLIC;
