"""The read API (sql/050-052): bucketing, call-weighted averages, errors, privileges, pruning."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import psycopg
import pytest

from wfm_pipeline_tests.stats_rows import ensure_stat_months, insert_row, new_batch

UTC = timezone.utc


@pytest.fixture
def two_services(conn: psycopg.Connection, service: dict) -> dict:
    """S1 (Europe/Berlin, groups G1, G2) and S2 (Asia/Kolkata, +05:30, group K1), no data."""
    s1 = service["service_id"]
    g2 = conn.execute("INSERT INTO groups (service_id, code, name) VALUES (%s, 'G2', 'Group two') RETURNING group_id",
                      (s1,)).fetchone()[0]
    s2 = conn.execute("INSERT INTO services (code, name, time_zone) VALUES ('S2', 'Two', 'Asia/Kolkata') "
                      "RETURNING service_id").fetchone()[0]
    k1 = conn.execute("INSERT INTO groups (service_id, code, name) VALUES (%s, 'K1', 'K one') RETURNING group_id",
                      (s2,)).fetchone()[0]
    conn.commit()
    return {"s1": s1, "g1": service["group_id"], "g2": g2, "s2": s2, "k1": k1}


def calls_by_interval(conn, start, end, minutes=15, ids=None) -> list[dict]:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute("SELECT * FROM api_get_calls_by_interval(%s, %s, %s, %s)", (start, end, minutes, ids)).fetchall()


JAN = datetime(2024, 1, 15, 10, 0, tzinfo=UTC)


def test_groups_are_summed_and_averages_are_call_weighted(conn, two_services) -> None:
    ids = two_services
    ensure_stat_months(conn, JAN, JAN)
    b = new_batch(conn)
    insert_row(conn, b, JAN, ids["s1"], ids["g1"], 8, 10, 100, 10, within_sl=8, answered=9, abandoned=1)
    insert_row(conn, b, JAN, ids["s1"], ids["g2"], 2, 30, 200, 30)   # SL/abandonment unknown here
    conn.commit()
    rows = calls_by_interval(conn, JAN, JAN + timedelta(minutes=15), 15, [ids["s1"]])
    assert len(rows) == 1
    r = rows[0]
    assert (r["service_id"], r["interval_start"], r["interval_end"]) == (ids["s1"], JAN, JAN + timedelta(minutes=15))
    assert (r["unique_incoming"], r["non_unique_incoming"], r["intervals"]) == (10, 40, 1)
    # Averages are per handled call (issue 13): G1 knows its answered calls (9), G2 does not (its
    # 30 offered calls count as handled). talk: (100*9 + 200*30) / 39 = 176.92 (an average of
    # averages would say 150; per offered call, (100*10 + 200*30) / 40 = 175)
    assert r["avg_talk_time"] == Decimal("176.92")
    assert r["avg_post_processing_time"] == Decimal("25.38")          # (10*9 + 30*30) / 39
    assert r["aht"] == Decimal("202.31")                              # (6900 + 990) / 39
    # SL only over the rows that know it: 8 of 10 offered; abandonment 1 of 10.
    assert r["service_level_pct"] == Decimal("80.00")
    assert r["abandonment_rate_pct"] == Decimal("10.00")
    assert r["answered_calls"] == 9 and r["abandoned_calls"] == 1


def test_service_level_row_is_preferred_over_its_groups(conn, two_services) -> None:
    ids = two_services
    ensure_stat_months(conn, JAN, JAN)
    b = new_batch(conn)
    insert_row(conn, b, JAN, ids["s1"], None, 5, 12, 60, 6)          # Argus' own service total
    insert_row(conn, b, JAN, ids["s1"], ids["g1"], 4, 7, 50, 5)
    insert_row(conn, b, JAN, ids["s1"], ids["g2"], 1, 5, 70, 7)
    insert_row(conn, b, JAN + timedelta(minutes=15), ids["s1"], ids["g1"], 3, 3, 40, 4)   # groups only
    conn.commit()
    rows = calls_by_interval(conn, JAN, JAN + timedelta(hours=1), 15, [ids["s1"]])
    assert [(r["non_unique_incoming"], r["aht"]) for r in rows] == [(12, Decimal("66.00")), (3, Decimal("44.00"))]
    hourly = calls_by_interval(conn, JAN, JAN + timedelta(hours=1), 60, [ids["s1"]])
    assert [(r["non_unique_incoming"], r["intervals"]) for r in hourly] == [(15, 2)]


def test_unknown_ratios_are_null_and_zero_calls_give_null_averages(conn, two_services) -> None:
    ids = two_services
    ensure_stat_months(conn, JAN, JAN)
    b = new_batch(conn)
    insert_row(conn, b, JAN, ids["s2"], ids["k1"], 0, 0, None, None)
    conn.commit()
    (r,) = calls_by_interval(conn, JAN, JAN + timedelta(minutes=15), 15, [ids["s2"]])
    assert r["non_unique_incoming"] == 0
    assert r["aht"] is None and r["service_level_pct"] is None and r["abandonment_rate_pct"] is None


def test_sub_day_buckets_are_utc_aligned_and_day_buckets_follow_the_local_day(conn, two_services) -> None:
    ids = two_services
    ensure_stat_months(conn, JAN, JAN)
    b = new_batch(conn)
    # Kolkata is UTC+05:30: 18:15 UTC is 23:45 local (15 Jan), 18:30 UTC is 00:00 local (16 Jan).
    for minute, calls in ((18 * 60 + 15, 4), (18 * 60 + 30, 6), (19 * 60, 1)):
        ts = datetime(2024, 1, 15, tzinfo=UTC) + timedelta(minutes=minute)
        insert_row(conn, b, ts, ids["s2"], ids["k1"], 1, calls, 60, 6)
    conn.commit()
    start, end = datetime(2024, 1, 15, tzinfo=UTC), datetime(2024, 1, 17, tzinfo=UTC)
    days = calls_by_interval(conn, start, end, 1440, [ids["s2"]])
    assert [(r["local_start"], r["non_unique_incoming"]) for r in days] == [
        (datetime(2024, 1, 15), 4), (datetime(2024, 1, 16), 7)]
    assert days[1]["interval_start"] == datetime(2024, 1, 15, 18, 30, tzinfo=UTC)
    assert days[1]["interval_end"] - days[1]["interval_start"] == timedelta(hours=24)
    # 60-minute buckets are absolute UTC hours: 18:15 and 18:30 share the 18:00 bucket.
    hours = calls_by_interval(conn, start, end, 60, [ids["s2"]])
    assert [(r["interval_start"].hour, r["non_unique_incoming"]) for r in hours] == [(18, 10), (19, 1)]
    # 720-minute buckets split the local day at noon.
    halves = calls_by_interval(conn, start, end, 720, [ids["s2"]])
    assert [r["local_start"] for r in halves] == [datetime(2024, 1, 15, 12), datetime(2024, 1, 16)]


def test_local_day_on_a_daylight_saving_change_has_25_hours(conn, two_services) -> None:
    ids = two_services
    day = datetime(2024, 10, 27, 12, tzinfo=UTC)     # Berlin falls back at 03:00 local
    ensure_stat_months(conn, day, day)
    insert_row(conn, new_batch(conn), day, ids["s1"], ids["g1"], 1, 1, 10, 1)
    conn.commit()
    (r,) = calls_by_interval(conn, day - timedelta(days=1), day + timedelta(days=1), 1440, [ids["s1"]])
    assert r["local_start"] == datetime(2024, 10, 27)
    assert r["interval_start"] == datetime(2024, 10, 26, 22, tzinfo=UTC)
    assert r["interval_end"] - r["interval_start"] == timedelta(hours=25)


def test_null_service_ids_mean_all_services_and_result_is_ordered(conn, two_services) -> None:
    ids = two_services
    ensure_stat_months(conn, JAN, JAN)
    b = new_batch(conn)
    insert_row(conn, b, JAN, ids["s2"], ids["k1"], 1, 2, 10, 1)
    insert_row(conn, b, JAN, ids["s1"], ids["g1"], 1, 3, 10, 1)
    conn.commit()
    rows = calls_by_interval(conn, JAN, JAN + timedelta(hours=1))
    assert [(r["service_id"], r["non_unique_incoming"]) for r in rows] == sorted([(ids["s1"], 3), (ids["s2"], 2)])


@pytest.mark.parametrize("args, sqlstate, fragment", [
    (("2024-01-02", "2024-01-01", 15, None), "22023", "must be after"),
    (("2024-01-01", "2024-01-01", 15, None), "22023", "must be after"),
    (("2024-01-01", "2025-02-05", 15, None), "22023", "longer than 400 days"),
    (("2024-01-01", "2024-01-02", 45, None), "22023", "not a supported bucket"),
    (("2024-01-01", "2024-01-02", 0, None), "22023", "not a supported bucket"),
    ((None, "2024-01-02", 15, None), "22004", "must not be NULL"),
    (("2024-01-01", "2024-01-02", 15, []), "22023", "must not be empty"),
    (("2024-01-01", "2024-01-02", 15, [None]), "22004", "must not contain NULL"),
    (("2024-01-01", "2024-01-02", 15, [987654]), "P0002", "unknown service id(s) {987654}"),
])
def test_bad_arguments_raise_clear_errors(conn, service, args, sqlstate, fragment) -> None:
    with pytest.raises(psycopg.Error) as info:
        conn.execute("SELECT * FROM api_get_calls_by_interval(%s::timestamptz, %s::timestamptz, %s, %s::int[])", args)
    assert info.value.sqlstate == sqlstate
    assert fragment in info.value.diag.message_primary


def test_a_400_day_range_is_accepted(conn, service) -> None:
    rows = conn.execute("SELECT * FROM api_get_calls_by_interval('2024-01-01', '2025-02-04', 1440, NULL)").fetchall()
    assert rows == []


def test_realtime_stats_cover_the_lookback_and_list_every_requested_service(conn, two_services) -> None:
    ids = two_services
    now = conn.execute("SELECT now()").fetchone()[0]
    current = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    ensure_stat_months(conn, current - timedelta(hours=3), current)
    b = new_batch(conn)
    insert_row(conn, b, current, ids["s1"], ids["g1"], 2, 4, 100, 20, within_sl=3, answered=4, abandoned=0)
    insert_row(conn, b, current - timedelta(minutes=30), ids["s1"], ids["g1"], 1, 6, 50, 10, within_sl=6,
               answered=6, abandoned=0)
    insert_row(conn, b, current - timedelta(hours=2), ids["s1"], ids["g1"], 9, 9, 10, 1)   # outside 60 minutes
    conn.commit()
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        rows = cur.execute("SELECT * FROM api_get_realtime_stats(%s, 60)", ([ids["s2"], ids["s1"]],)).fetchall()
    assert [r["service_id"] for r in rows] == sorted([ids["s1"], ids["s2"]])
    by_id = {r["service_id"]: r for r in rows}
    s1 = by_id[ids["s1"]]
    assert (s1["non_unique_incoming"], s1["intervals"], s1["last_interval_start"]) == (10, 2, current)
    assert s1["avg_talk_time"] == Decimal("70.00")          # (400 + 300) / 10
    assert s1["service_level_pct"] == Decimal("90.00")
    s2 = by_id[ids["s2"]]
    assert (s2["non_unique_incoming"], s2["intervals"], s2["aht"]) == (0, 0, None)


@pytest.mark.parametrize("lookback, sqlstate", [(5, "22023"), (1441, "22023"), (None, "22004")])
def test_realtime_rejects_bad_lookback(conn, service, lookback, sqlstate) -> None:
    with pytest.raises(psycopg.Error) as info:
        conn.execute("SELECT * FROM api_get_realtime_stats(NULL, %s::int)", (lookback,))
    assert info.value.sqlstate == sqlstate


def test_service_summary_is_current_before_any_refresh(conn, service) -> None:
    """Before sql/200 the summary raised 55000 until the view was populated; now the day is
    aggregated from the raw rows until the aggregate is built (view_refreshed_at stays NULL)."""
    ensure_stat_months(conn, JAN, JAN)
    insert_row(conn, new_batch(conn), JAN, service["service_id"], service["group_id"], 3, 5, 100, 10)
    conn.commit()
    rows = conn.execute("SELECT group_id, non_unique_incoming, view_refreshed_at FROM api_get_service_summary(%s, "
                        "'2024-01-15')", (service["service_id"],)).fetchall()
    assert rows == [(None, 5, None), (service["group_id"], 5, None)]


def test_service_summary_totals_groups_and_peak_from_the_daily_view(conn, two_services) -> None:
    ids = two_services
    ensure_stat_months(conn, JAN, JAN)
    b = new_batch(conn)
    # Berlin day 2024-01-15 local = 2024-01-14 23:00 .. 2024-01-15 23:00 UTC.
    insert_row(conn, b, datetime(2024, 1, 14, 23, 0, tzinfo=UTC), ids["s1"], ids["g1"], 2, 2, 100, 10,
               within_sl=2, answered=2, abandoned=0)
    insert_row(conn, b, JAN, ids["s1"], ids["g1"], 5, 10, 100, 10, within_sl=5, answered=8, abandoned=2)
    insert_row(conn, b, JAN, ids["s1"], ids["g2"], 4, 8, 190, 19)
    insert_row(conn, b, JAN + timedelta(minutes=15), ids["s1"], ids["g2"], 4, 9, 10, 1)
    insert_row(conn, b, datetime(2024, 1, 15, 23, 0, tzinfo=UTC), ids["s1"], ids["g1"], 7, 7, 1, 1)   # next local day
    conn.commit()
    conn.execute("SELECT * FROM api_refresh_all_views()")
    conn.commit()
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        rows = cur.execute("SELECT * FROM api_get_service_summary(%s, '2024-01-15')", (ids["s1"],)).fetchall()
    total, g1, g2 = rows
    assert total["group_id"] is None and (g1["group_code"], g2["group_code"]) == ("G1", "G2")
    assert total["non_unique_incoming"] == 2 + 10 + 8 + 9 and total["intervals"] == 3
    assert total["peak_interval_start"] == JAN and total["peak_non_unique_incoming"] == 18
    assert total["service_level_pct"] == Decimal("58.33")    # 7 of the 12 offered calls that know SL
    assert g1["non_unique_incoming"] == 12 and g2["non_unique_incoming"] == 17
    assert g2["peak_interval_start"] == JAN + timedelta(minutes=15)
    assert total["view_refreshed_at"] is not None      # the watermark: "materialized up to"
    # The same day through the raw path agrees with the view.
    (day,) = calls_by_interval(conn, datetime(2024, 1, 14, tzinfo=UTC), datetime(2024, 1, 16, 22, tzinfo=UTC),
                               1440, [ids["s1"]])[:1]
    assert (day["non_unique_incoming"], day["aht"]) == (total["non_unique_incoming"], total["aht"])
    # A day without data: one service row with zero calls.
    empty = conn.execute("SELECT group_id, non_unique_incoming, aht FROM api_get_service_summary(%s, '2023-06-01')",
                         (ids["s1"],)).fetchall()
    assert empty == [(None, 0, None)]
    # An import after the refresh shows at once (the changed day is read raw until the next refresh).
    insert_row(conn, new_batch(conn), JAN + timedelta(hours=2), ids["s1"], ids["g2"], 1, 4, 10, 1)
    conn.commit()
    (now_total,) = [r for r in conn.execute("SELECT group_id, non_unique_incoming FROM api_get_service_summary(%s, "
                                            "'2024-01-15')", (ids["s1"],)) if r[0] is None]
    assert now_total == (None, total["non_unique_incoming"] + 4)


@pytest.mark.parametrize("service_id, day, sqlstate", [(987654, "2024-01-01", "P0002"), (None, "2024-01-01", "22004"),
                                                       (1, None, "22004")])
def test_service_summary_rejects_bad_arguments(conn, service, service_id, day, sqlstate) -> None:
    with pytest.raises(psycopg.Error) as info:
        conn.execute("SELECT * FROM api_get_service_summary(%s::int, %s::date)", (service_id, day))
    assert info.value.sqlstate == sqlstate


READ_FUNCTIONS = ["api_get_calls_by_interval", "api_get_realtime_stats", "api_get_service_summary"]


@pytest.mark.parametrize("name", READ_FUNCTIONS)
def test_read_functions_are_stable_parallel_safe_definer_with_pinned_path(conn, name) -> None:
    volatility, parallel, definer, config, public_exec, api_exec = conn.execute(
        """SELECT p.provolatile, p.proparallel, p.prosecdef, p.proconfig,
                  has_function_privilege('public', p.oid, 'EXECUTE'),
                  has_function_privilege('wfm_api', p.oid, 'EXECUTE')
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'wfm' AND p.proname = %s""", (name,)).fetchone()
    assert (volatility, parallel, definer) == ("s", "s", True)
    assert "search_path=wfm, pg_catalog, pg_temp" in config   # pg_temp last: never searched first
    assert not public_exec and api_exec


@pytest.mark.parametrize("name", READ_FUNCTIONS + ["api_get_agent_stats", "api_get_plan_vs_actual"])
def test_read_functions_never_jit_compile(conn, name) -> None:
    # A server with JIT (PostgreSQL 15 from Debian) compiled these millisecond calls whenever a
    # generic plan's estimate passed jit_above_cost: 30 ms a call (api_get_realtime_stats with
    # duplicate ids took 32 ms instead of 0.4). The embedded server has no JIT; the API must
    # behave the same on every server.
    (config,) = conn.execute(
        """SELECT p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'wfm' AND p.proname = %s""", (name,)).fetchone()
    assert "jit=off" in config, config


def test_wfm_api_reads_through_functions_only(conn, two_services) -> None:
    ids = two_services
    ensure_stat_months(conn, JAN, JAN)
    insert_row(conn, new_batch(conn), JAN, ids["s1"], ids["g1"], 1, 2, 10, 1)
    conn.commit()
    conn.execute("SET ROLE wfm_api")
    rows = conn.execute("SELECT non_unique_incoming FROM wfm.api_get_calls_by_interval(%s, %s, 15, %s)",
                        (JAN, JAN + timedelta(hours=1), [ids["s1"]])).fetchall()
    assert rows == [(2,)]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT count(*) FROM wfm.contact_statistics")


def test_range_query_scans_only_the_partitions_of_the_range(conn, service) -> None:
    ensure_stat_months(conn, datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC))
    conn.commit()
    plan = "\n".join(r[0] for r in conn.execute(
        "EXPLAIN SELECT * FROM wfm.service_interval_stats WHERE interval_start_time >= '2024-02-03' "
        "AND interval_start_time < '2024-02-04' AND service_id = ANY('{1,2,3}')"))
    assert "contact_statistics_2024_02" in plan
    assert "contact_statistics_2024_01" not in plan and "contact_statistics_2024_03" not in plan


def test_long_ranges_planned_per_call_match_the_short_range_plan(conn, two_services) -> None:
    # Ranges over 2 days run through a separately planned statement (EXECUTE ... USING): its
    # answer must equal the cached short-range plan's, day by day, services and buckets alike.
    ids = two_services
    first = datetime(2024, 3, 4, tzinfo=UTC)
    ensure_stat_months(conn, first, first + timedelta(days=4))
    b = new_batch(conn)
    for day in range(4):
        for q in range(0, 96, 5):
            ts = first + timedelta(days=day, minutes=15 * q)
            insert_row(conn, b, ts, ids["s1"], ids["g1"], 1, 2 + day + q % 3, 60 + q, 5)
            insert_row(conn, b, ts, ids["s2"], ids["k1"], 1, 1 + q % 4, 30, 3 + day)
    conn.commit()
    for minutes in (15, 60, 240):  # UTC-aligned buckets: splitting the range at UTC midnight cuts none
        long = calls_by_interval(conn, first, first + timedelta(days=4), minutes, [ids["s1"], ids["s2"]])
        short = [r for day in (0, 2) for r in calls_by_interval(
            conn, first + timedelta(days=day), first + timedelta(days=day + 2), minutes, [ids["s1"], ids["s2"]])]
        key = lambda r: (r["service_id"], r["interval_start"])  # noqa: E731
        assert sorted(long, key=key) == sorted(short, key=key), minutes
        assert sum(r["non_unique_incoming"] for r in long) == sum(2 + d + q % 3 + 1 + q % 4
                                                                  for d in range(4) for q in range(0, 96, 5))


def test_rounded_ratio_equals_numeric_rounding_at_half_cent_boundaries(conn) -> None:
    # The read API's averages and percentages use integer arithmetic where it provably equals
    # round(numeric division, 2): values on, just below and just above every kind of half-cent
    # boundary with denominators up to the guard (1e9), small ones, zero, NULL and beyond the guards.
    differ = conn.execute("""
        WITH v(n, d, f) AS (
            SELECT greatest(0, floor((2 * m + 1)::numeric * d / (200 * f))::bigint + k), d, f
            FROM (SELECT (random() * 999999998)::bigint + 1 AS d, (random() * 17000)::bigint AS m,
                         (ARRAY[1, 100])[1 + (random() > 0.5)::int] AS f
                  FROM generate_series(1, 20000)) x
            CROSS JOIN generate_series(-2, 2) k
            UNION ALL
            SELECT (random() * 200000)::bigint, (random() * 1000)::bigint, 1 FROM generate_series(1, 20000)
            UNION ALL
            SELECT (random() * 1000)::bigint, (random() * 1000)::bigint, 100 FROM generate_series(1, 20000)
            UNION ALL
            VALUES (0::bigint, 0::bigint, 1), (5, 0, 100), (NULL, 3, 1), (3, NULL, 1), (1, 3, 1), (2, 3, 100),
                   (1, 8, 1), (5, 1000, 1), (4999999999999999, 3, 1), (9000000000000000000, 7, 1),
                   (3, 1000000000, 1), (1999999999, 3999999998, 100), (1, 1000000001, 100)
        )
        SELECT count(*) FROM v
        WHERE wfm.rounded_ratio(n, d, f)::text IS DISTINCT FROM round(f * n::numeric / nullif(d, 0), 2)::text
        """).fetchone()[0]
    assert differ == 0


def test_quarter_hour_reads_are_an_index_only_scan(conn, service) -> None:
    # wfm.calls_by_quarter_rows reads only columns of contact_statistics_interval_key
    # (sql/270): with other scans off, its plan is an index-only scan of that index (a plain
    # index scan here would mean a column outside the index crept into the query).
    ensure_stat_months(conn, datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC))
    conn.commit()
    conn.execute("SET enable_seqscan = off")
    conn.execute("SET enable_bitmapscan = off")
    plan = "\n".join(r[0] for r in conn.execute(
        "EXPLAIN (COSTS OFF) SELECT * FROM wfm.calls_by_quarter_rows('2024-02-03', '2024-02-04', '{1,2,3}')"))
    assert "Index Only Scan using contact_statistics_2024_02_service_id_interval_start_time" in plan, plan
    assert "Index Scan using contact_statistics" not in plan, plan


def test_internal_read_paths_return_the_api_row(conn) -> None:
    """The five read paths of api_get_calls_by_interval return SETOF wfm.calls_bucket_row (sql/298),
    whose columns are the API's result columns: same names, types and order (two lists, kept equal)."""
    api = conn.execute("""
        SELECT array_agg(a.name ORDER BY a.pos), array_agg(pg_catalog.format_type(a.typ, NULL) ORDER BY a.pos)
        FROM pg_catalog.pg_proc p,
             unnest(p.proargnames, p.proallargtypes, p.proargmodes) WITH ORDINALITY AS a(name, typ, mode, pos)
        WHERE p.oid = 'wfm.api_get_calls_by_interval(timestamptz, timestamptz, integer, integer[])'::regprocedure
          AND a.mode = 't'""").fetchone()
    row_type = conn.execute("""
        SELECT array_agg(attname::text ORDER BY attnum), array_agg(pg_catalog.format_type(atttypid, NULL) ORDER BY attnum)
        FROM pg_catalog.pg_attribute
        WHERE attrelid = 'wfm.calls_bucket_row'::regclass AND attnum > 0 AND NOT attisdropped""").fetchone()
    assert len(api[0]) == 14
    assert api == row_type
    paths = conn.execute("""
        SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = 'wfm'::regnamespace AND p.proretset
          AND p.prorettype = 'wfm.calls_bucket_row'::regtype""").fetchone()[0]
    assert paths == ["calls_by_bucket_rows", "calls_by_hour_rows", "calls_by_interval_rows",
                     "calls_by_quarter_agg_rows", "calls_by_quarter_rows"]
