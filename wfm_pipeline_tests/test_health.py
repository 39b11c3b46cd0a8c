"""database_health_check, monitor_resource_usage, analyze_query_performance: each check on an
empty and a loaded database, and each WARN/FAIL provoked for real (second connections, a
dropped partition, a guard with its trigger disabled, an unused index, a stale view...)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from wfm_pipeline.health import checks
from wfm_pipeline_tests.health_data import rows, today

def other_connection(db_url: str) -> psycopg.Connection:
    return psycopg.connect(db_url, options="-c search_path=wfm,public", autocommit=False)


# ---------------------------------------------------------------- database_health_check

def test_health_check_on_empty_database(conn: psycopg.Connection) -> None:
    r = rows(conn, "database_health_check")
    for name in ("health.connections", "health.long_running_queries", "health.long_transactions",
                 "health.blocked_queries", "health.wraparound", "health.partitions_premade",
                 "health.rows_outside_partitions", "health.failed_imports", "health.stuck_imports"):
        assert r[name].status == "PASS", r[name]
        assert r[name].measured is not None
    # The views of a fresh install were never refreshed: reading them would fail.
    for view in ("mv_hourly_stats", "mv_daily_service_stats"):
        check = r[f"health.view_freshness.{view}"]
        if not check.details["populated"]:
            assert check.status == "FAIL"


def test_health_check_on_loaded_database_is_green(conn: psycopg.Connection, loaded: dict) -> None:
    r = rows(conn, "database_health_check")
    assert {n: c.status for n, c in r.items() if c.status != "PASS"} == {}
    assert r["health.view_freshness.mv_hourly_stats"].details["last_refresh"] is not None


@pytest.mark.parametrize("how", ["DROP TABLE wfm.{name}",
                                 # detached: the table keeps its name but serves no rows
                                 "ALTER TABLE wfm.contact_statistics DETACH PARTITION wfm.{name}"])
def test_missing_premade_partition_fails(conn: psycopg.Connection, how: str) -> None:
    now = datetime.now(timezone.utc)
    ahead = (now.replace(day=1) + timedelta(days=32)).replace(day=1)
    name = f"contact_statistics_{ahead:%Y_%m}"
    conn.execute(how.format(name=name))
    conn.commit()
    check = rows(conn, "database_health_check")["health.partitions_premade"]
    assert check.status == "FAIL" and check.measured == 1
    assert check.details["missing"] == [{"table": "contact_statistics", "month": f"{ahead:%Y-%m}",
                                         "partition": f"wfm.{name}"}]
    capacity = rows(conn, "validate_throughput_capacity", p_rows=10)
    assert capacity["capacity.partitions_premade.contact_statistics"].status == "FAIL"
    assert capacity["capacity.partitions_premade.contact_statistics"].details["missing"] == [f"wfm.{name}"]
    premake = conn.execute("SELECT premake_months FROM partition_config "
                           "WHERE table_name = 'wfm.contact_statistics'::regclass").fetchone()[0]
    conn.rollback()
    # premake_months + 1 months due (current month and those ahead), 1 missing
    assert capacity["capacity.partitions_premade.contact_statistics"].measured == premake


def test_rows_stuck_in_a_guard_partition_fail(conn: psycopg.Connection, service: dict) -> None:
    guard = conn.execute(
        """SELECT partition::text FROM wfm.partitions WHERE parent_table = 'wfm.contact_statistics'::regclass
           AND is_guard AND range_end IS NULL""").fetchone()[0]
    conn.execute(f"ALTER TABLE {guard} DISABLE TRIGGER reject_unpartitioned_row")
    conn.execute(
        """INSERT INTO contact_statistics (interval_start_time, service_id, unique_incoming, non_unique_incoming,
                                           avg_talk_time, avg_post_processing_time, import_batch_id)
           VALUES ('2035-06-01 10:00+00', %s, 1, 2, 3, 4, %s), ('2035-06-01 10:15+00', %s, 1, 2, 3, 4, %s)""",
        (service["service_id"], uuid.uuid4(), service["service_id"], uuid.uuid4()))
    conn.commit()
    check = rows(conn, "database_health_check")["health.rows_outside_partitions"]
    assert check.status == "FAIL" and check.measured == 2
    assert check.details["guards_with_rows"][0]["rows"] == 2


def test_stale_views_warn_then_fail(conn: psycopg.Connection, loaded: dict) -> None:
    assert rows(conn, "database_health_check")["health.view_freshness.mv_hourly_stats"].status == "PASS"
    # The last refresh was three hours ago and an import finished two hours ago: beyond the hourly schedule.
    conn.execute("UPDATE wfm.view_refresh_history SET started_at = started_at - interval '3 hours'")
    conn.execute("INSERT INTO import_batches (source, status, created_at, finished_at) "
                 "VALUES ('test', 'completed', now() - interval '2 hours', now() - interval '2 hours')")
    conn.commit()
    r = rows(conn, "database_health_check")
    for view in ("mv_hourly_stats", "mv_daily_service_stats"):
        check = r[f"health.view_freshness.{view}"]
        assert check.status == "WARN" and 110 < check.measured < 130 and check.threshold == 65
    # Two days without a refresh after a change: FAIL.
    conn.execute("UPDATE wfm.view_refresh_history SET started_at = started_at - interval '3 days'")
    conn.execute("UPDATE import_batches SET created_at = now() - interval '2 days', finished_at = now() - interval '2 days'")
    conn.commit()
    assert rows(conn, "database_health_check")["health.view_freshness.mv_daily_service_stats"].status == "FAIL"
    # A refresh catches up.
    conn.execute("SELECT * FROM wfm.api_refresh_all_views()").fetchall()
    conn.commit()
    assert rows(conn, "database_health_check")["health.view_freshness.mv_daily_service_stats"].status == "PASS"


def test_long_open_transaction_and_long_query_warn(conn: psycopg.Connection, db_url: str) -> None:
    idle = other_connection(db_url)
    busy = other_connection(db_url)
    try:
        idle.execute("SELECT 1")          # transaction open, then idle in transaction
        sleeper = threading.Thread(target=lambda: busy.execute("SELECT pg_sleep(3)"))
        sleeper.start()
        time.sleep(1.3)
        r = rows(conn, "database_health_check", p_long_query_seconds=1)
        assert r["health.long_transactions"].status == "WARN"
        assert r["health.long_transactions"].measured >= 1
        pids = {t["pid"] for t in r["health.long_transactions"].details["transactions"]}
        assert idle.info.backend_pid in pids
        assert r["health.long_running_queries"].status == "WARN"
        assert "pg_sleep" in r["health.long_running_queries"].details["queries"][0]["query"]
        # Beyond the FAIL limit.
        r = rows(conn, "database_health_check", p_long_query_seconds=0.5, p_long_query_fail_seconds=1)
        assert r["health.long_transactions"].status == "FAIL"
        sleeper.join()
    finally:
        idle.close()
        busy.close()


def test_blocked_session_warns_then_fails(conn: psycopg.Connection, db_url: str) -> None:
    holder = other_connection(db_url)
    waiter = other_connection(db_url)
    try:
        holder.execute("LOCK TABLE wfm.services IN ACCESS EXCLUSIVE MODE")
        blocked = threading.Thread(target=lambda: waiter.execute("SELECT count(*) FROM wfm.services"))
        blocked.start()
        time.sleep(0.8)
        check = rows(conn, "database_health_check")["health.blocked_queries"]
        assert check.status == "WARN" and check.measured == 1
        assert check.details["blocked"][0]["blocked_by"] == [holder.info.backend_pid]
        assert rows(conn, "database_health_check", p_long_query_seconds=0.2)["health.blocked_queries"].status == "FAIL"
        holder.rollback()
        blocked.join()
    finally:
        holder.close()
        waiter.close()


def test_connections_and_wraparound_against_their_limits(conn: psycopg.Connection, db_url: str) -> None:
    extra = [other_connection(db_url) for _ in range(3)]
    try:
        r = rows(conn, "database_health_check")
        assert r["health.connections"].status == "PASS" and r["health.connections"].measured >= 4
        assert r["health.wraparound"].measured > 0 and r["health.wraparound"].threshold == 1_300_000_000
        # The same measurement against tiny limits (a real 90 % of max_connections would need ~180 sessions).
        share = 1 / r["health.connections"].details["available"]
        assert rows(conn, "database_health_check", p_connections_warn=share)["health.connections"].status == "WARN"
        assert rows(conn, "database_health_check", p_connections_warn=share,
                    p_connections_fail=share)["health.connections"].status == "FAIL"
        assert rows(conn, "database_health_check", p_wraparound_warn=1)["health.wraparound"].status == "WARN"
        assert rows(conn, "database_health_check", p_wraparound_warn=1,
                    p_wraparound_fail=1)["health.wraparound"].status == "FAIL"
    finally:
        for c in extra:
            c.close()


def test_failed_rejected_and_stuck_imports_warn(conn: psycopg.Connection) -> None:
    conn.execute("INSERT INTO import_batches (source, file_name, status, error_message) VALUES "
                 "('file', 'broken.xlsx', 'failed', 'disk full'), ('file', 'bad.csv', 'rejected', 'NO_DATA_ROWS'), "
                 "('file', 'old.csv', 'failed', 'long ago')")
    conn.execute("UPDATE import_batches SET created_at = now() - interval '3 days' WHERE file_name = 'old.csv'")
    conn.execute("INSERT INTO import_batches (source, file_name, status, created_at) "
                 "VALUES ('file', 'hung.xlsx', 'running', now() - interval '2 hours')")
    conn.commit()
    r = rows(conn, "database_health_check")
    assert r["health.failed_imports"].status == "WARN" and r["health.failed_imports"].measured == 2
    assert {i["file_name"] for i in r["health.failed_imports"].details["imports"]} == {"broken.xlsx", "bad.csv"}
    assert r["health.stuck_imports"].status == "WARN" and r["health.stuck_imports"].measured == 1


def test_an_import_whose_session_is_gone_is_stuck_at_once_and_a_live_one_is_not(conn: psycopg.Connection) -> None:
    # A live import (this session) and one whose backend is gone (killed hard a minute ago):
    # a direct SQL caller of the health check sees the dead one without waiting an hour.
    conn.execute("INSERT INTO import_batches (source, file_name, status, backend_pid, backend_start) "
                 "SELECT 'file', 'live.xlsx', 'running', pid, backend_start FROM pg_stat_activity "
                 "WHERE pid = pg_backend_pid()")
    conn.execute("INSERT INTO import_batches (source, file_name, status, backend_pid, backend_start, created_at) "
                 "VALUES ('file', 'killed.xlsx', 'running', 2147483000, now() - interval '2 minutes', "
                 "now() - interval '1 minute')")
    conn.commit()
    # the SQL function itself (the Python callers sweep such batches to failed first)
    [(status, details)] = conn.execute("SELECT status, details FROM wfm.database_health_check() "
                                       "WHERE check_name = 'health.stuck_imports'").fetchall()
    assert status == "WARN" and [i["file_name"] for i in details["imports"]] == ["killed.xlsx"]
    conn.rollback()
    swept = rows(conn, "database_health_check")  # wfm health: swept, then reported as failed
    assert swept["health.stuck_imports"].status == "PASS"
    assert [i["file_name"] for i in swept["health.failed_imports"].details["imports"]] == ["killed.xlsx"]


# ---------------------------------------------------------------- monitor_resource_usage

def test_resources_on_empty_database(conn: psycopg.Connection) -> None:
    r = rows(conn, "monitor_resource_usage")
    sizes = r["resources.table_size.contact_statistics"]
    assert sizes.status == "PASS" and sizes.measured > 0
    assert any(not p["is_guard"] for p in sizes.details["partitions"])
    assert r["resources.database_size"].measured > 0
    for name in ("resources.unused_indexes", "resources.dead_tuples", "resources.connections",
                 "resources.last_analyze.contact_statistics"):
        assert r[name].status == "PASS", r[name]


def test_resources_on_loaded_data_and_parent_statistics(conn: psycopg.Connection, loaded: dict) -> None:
    r = rows(conn, "monitor_resource_usage")
    month = f"contact_statistics_{today() - timedelta(days=1):%Y_%m}"
    part = next(p for p in r["resources.table_size.contact_statistics"].details["partitions"]
                if p["partition"] == month)
    assert part["table_bytes"] > 0 and part["index_bytes"] > 0
    # Loaded but the partitioned parent was never analyzed: autovacuum never does it.
    analyze = r["resources.last_analyze.contact_statistics"]
    assert analyze.status == "WARN" and analyze.details["last_analyze"] is None
    assert analyze.details["hint"] == "ANALYZE wfm.contact_statistics;"
    conn.execute("SELECT * FROM wfm.analyze_partitioned_tables()").fetchall()
    conn.commit()
    conn.execute("SELECT pg_stat_force_next_flush()")
    conn.commit()
    time.sleep(0.2)
    assert rows(conn, "monitor_resource_usage")["resources.last_analyze.contact_statistics"].status == "PASS"


def test_unused_index_warns(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE wfm.health_probe (id integer, payload integer)")
    conn.execute("INSERT INTO wfm.health_probe SELECT i, i FROM generate_series(1, 60000) i")
    conn.execute("CREATE INDEX health_probe_payload_idx ON wfm.health_probe (payload)")
    conn.execute("CREATE UNIQUE INDEX health_probe_id_key ON wfm.health_probe (id)")   # unique: never reported
    conn.commit()
    check = rows(conn, "monitor_resource_usage")["resources.unused_indexes"]
    assert check.status == "WARN" and check.measured == 1
    assert check.details["unused"][0]["index"] == "health_probe_payload_idx"
    assert check.details["unused"][0]["size_bytes"] >= 1_048_576
    # Used once: no longer unused (statistics are flushed when the session goes idle).
    conn.execute("SET enable_seqscan = off")
    conn.execute("SELECT count(*) FROM wfm.health_probe WHERE payload = 5").fetchone()
    conn.commit()
    conn.execute("SELECT pg_stat_force_next_flush()")
    conn.commit()
    time.sleep(0.2)
    assert rows(conn, "monitor_resource_usage")["resources.unused_indexes"].status == "PASS"


def test_low_cache_hit_ratio_warns(db_url: str, conn: psycopg.Connection) -> None:
    # A temporary table larger than a tiny temp_buffers is read from disk on every scan.
    with psycopg.connect(db_url, autocommit=True) as reader:
        reader.execute("SET temp_buffers = '800kB'")
        reader.execute("CREATE TEMP TABLE big AS SELECT i, repeat('x', 100) AS pad FROM generate_series(1, 60000) i")
        for _ in range(3):
            reader.execute("SELECT count(*) FROM big").fetchone()
        reader.execute("SELECT pg_stat_force_next_flush()")
        reader.execute("SELECT 1")
        time.sleep(0.3)
        check = rows(conn, "monitor_resource_usage", p_cache_min_blocks=1000)["resources.cache_hit_ratio.tables"]
        assert check.details["blocks_read"] > 1000
        assert check.status == "WARN" and check.measured < 0.99 and check.threshold == 0.99
        # Too few accesses to judge: reported, not judged.
        quiet = rows(conn, "monitor_resource_usage", p_cache_min_blocks=10**12)["resources.cache_hit_ratio.tables"]
        assert quiet.status == "PASS" and quiet.details["judged"] is False


def test_dead_tuples_beyond_autovacuum_warn(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE wfm.health_dead (id integer) WITH (autovacuum_enabled = false)")
    conn.execute("INSERT INTO wfm.health_dead SELECT generate_series(1, 12000)")
    conn.commit()
    conn.execute("DELETE FROM wfm.health_dead")
    conn.commit()
    conn.execute("SELECT pg_stat_force_next_flush()")
    conn.commit()
    time.sleep(0.2)
    check = rows(conn, "monitor_resource_usage")["resources.dead_tuples"]
    assert check.status == "WARN" and check.measured > 2
    assert check.details["tables_behind"][0]["table"] == "health_dead"
    assert check.details["tables_behind"][0]["dead_tuples"] == 12000


# ---------------------------------------------------------------- analyze_query_performance

def test_query_statistics_without_the_extension_say_how_to_enable_it(conn: psycopg.Connection) -> None:
    conn.execute("DROP EXTENSION IF EXISTS pg_stat_statements")   # this test's own database
    r = rows(conn, "analyze_query_performance")
    check = r["query_stats.pg_stat_statements"]
    assert list(r) == ["query_stats.pg_stat_statements"]
    assert check.status == "WARN"
    assert "shared_preload_libraries" in check.details["how_to_enable"] \
        or "CREATE EXTENSION" in check.details["how_to_enable"]


def test_query_statistics_with_the_extension(conn: psycopg.Connection) -> None:
    preloaded = "pg_stat_statements" in conn.execute("SHOW shared_preload_libraries").fetchone()[0]
    available = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements'").fetchone()
    if not (preloaded and available):
        pytest.skip("pg_stat_statements is not preloaded on this server")
    # The migration runner created it (the embedded server preloads it; CI's PostgreSQL 15 too).
    assert conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'").fetchone()
    for _ in range(3):
        conn.execute("SELECT count(*) FROM wfm.services").fetchone()
    r = rows(conn, "analyze_query_performance", p_limit=3, p_slow_mean_ms=0, p_slow_min_calls=1)
    assert r["query_stats.pg_stat_statements"].status == "PASS"
    assert "query_stats.top.01" in r and r["query_stats.top.01"].measured > 0
    assert r["query_stats.slow_statements"].status == "WARN"   # every statement is "slow" at 0 ms


# ---------------------------------------------------------------- nothing left behind

def _row_counts(conn: psycopg.Connection) -> dict[str, int]:
    tables = [t for (t,) in conn.execute(
        "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'wfm' AND c.relkind = 'r' ORDER BY 1")]
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


@pytest.mark.parametrize("function", [f for f in checks.SUITES if f != "run_all_validations"])
def test_functions_leave_no_rows_and_no_blocking_locks(conn: psycopg.Connection, db_url: str, loaded: dict,
                                                       function: str) -> None:
    before = _row_counts(conn)
    conn.commit()
    params = {"p_runs": 2} if function == "validate_query_performance" else {}
    checks.run_suite(conn, function, **params)          # the caller's transaction stays open
    # Sequences keep the lock of nextval() until the top transaction ends (PostgreSQL takes it
    # at top level); RowExclusiveLock on a sequence blocks no nextval() of an import.
    held = conn.execute(
        """SELECT l.relation::regclass::text, l.mode FROM pg_locks l
           JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE l.pid = pg_backend_pid() AND n.nspname = 'wfm' AND c.relkind <> 'S'""").fetchall()
    assert all(mode == "AccessShareLock" for _, mode in held), held
    assert not [rel for rel, _ in held if rel.startswith("contact_statistics")], held
    # An import that needs a new partition (DDL on the parent) goes through meanwhile.
    with other_connection(db_url) as importer:
        importer.execute("SET lock_timeout = '3s'")
        importer.execute("SELECT wfm.ensure_monthly_partitions('wfm.contact_statistics', '2033-02-01', '2033-02-01')")
        importer.rollback()
    conn.rollback()
    assert _row_counts(conn) == before
