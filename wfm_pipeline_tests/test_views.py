"""The reader views (sql/051, aggregates since sql/200): content, refresh, freshness, Dagster assets, privileges."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import dagster as dg
import psycopg
import pytest

from wfm_pipeline.defs.resources import WfmDatabase
from wfm_pipeline.warehouse import views
from wfm_pipeline_tests.stats_rows import ensure_stat_months, insert_row, new_batch

UTC = timezone.utc
T0 = datetime(2024, 3, 4, 18, 15, tzinfo=UTC)   # 23:45 in Kolkata (UTC+05:30)


@pytest.fixture
def loaded(conn: psycopg.Connection, service: dict) -> dict:
    s2 = conn.execute("INSERT INTO services (code, name, time_zone) VALUES ('S2', 'Two', 'Asia/Kolkata') "
                      "RETURNING service_id").fetchone()[0]
    k1 = conn.execute("INSERT INTO groups (service_id, code, name) VALUES (%s, 'K1', 'K') RETURNING group_id",
                      (s2,)).fetchone()[0]
    ensure_stat_months(conn, T0, T0)
    b = new_batch(conn)
    s1, g1 = service["service_id"], service["group_id"]
    insert_row(conn, b, T0, s1, None, 3, 6, 100, 10)               # service row wins over G1 in this interval
    insert_row(conn, b, T0, s1, g1, 2, 5, 90, 9)
    insert_row(conn, b, T0 + timedelta(minutes=15), s1, g1, 4, 4, 50, 5, within_sl=3, answered=4, abandoned=0)
    insert_row(conn, b, T0, s2, k1, 1, 2, 30, 3)                    # local 2024-03-04 23:45
    insert_row(conn, b, T0 + timedelta(minutes=15), s2, k1, 1, 7, 30, 3)   # local 2024-03-05 00:00
    conn.commit()
    return {"s1": s1, "g1": g1, "s2": s2, "k1": k1}


def test_first_refresh_populates_then_later_ones_are_concurrent(conn, loaded) -> None:
    first = views.refresh_all(conn)
    conn.commit()
    assert [(r.view, r.concurrently) for r in first] == [(views.HOURLY, False), (views.DAILY, False)]
    second = views.refresh_all(conn)
    conn.commit()
    assert [r.concurrently for r in second] == [True, True]
    assert all(r.duration_ms >= 0 for r in second)
    fresh = {f.view: f for f in views.freshness(conn)}
    assert fresh[views.HOURLY].populated and fresh[views.HOURLY].row_count == second[0].row_count
    assert conn.execute("SELECT count(*) FROM view_refresh_history").fetchone()[0] == 4


def test_hourly_view_prefers_the_service_row_and_uses_utc_hours(conn, loaded) -> None:
    views.refresh_all(conn)
    rows = conn.execute(
        "SELECT hour_start, intervals, source_rows, non_unique_incoming, talk_time_total, sl_offered_calls, "
        "answered_within_sl FROM mv_hourly_stats WHERE service_id = %s", (loaded["s1"],)).fetchall()
    # 18:00 hour: 18:15 (service row: 6 calls, not 6+5) and 18:30 (G1: 4 calls)
    assert rows == [(datetime(2024, 3, 4, 18, tzinfo=UTC), 2, 3, 10, 600 + 200, 4, 3)]


def test_daily_view_uses_the_local_day_with_groups_and_peak(conn, loaded) -> None:
    views.refresh_all(conn)
    rows = conn.execute(
        "SELECT stat_date, group_id, non_unique_incoming, peak_interval_start, peak_non_unique_incoming "
        "FROM mv_daily_service_stats WHERE service_id = %s ORDER BY stat_date, group_id NULLS FIRST",
        (loaded["s2"],)).fetchall()
    assert rows == [
        (date(2024, 3, 4), None, 2, T0, 2), (date(2024, 3, 4), loaded["k1"], 2, T0, 2),
        (date(2024, 3, 5), None, 7, T0 + timedelta(minutes=15), 7),
        (date(2024, 3, 5), loaded["k1"], 7, T0 + timedelta(minutes=15), 7)]
    s1 = conn.execute("SELECT group_id, non_unique_incoming FROM mv_daily_service_stats WHERE service_id = %s "
                      "ORDER BY group_id NULLS FIRST", (loaded["s1"],)).fetchall()
    assert s1 == [(None, 10), (loaded["g1"], 9)]   # the group row keeps its own 5 + 4 calls


def test_concurrent_refresh_picks_up_changes(conn, loaded) -> None:
    views.refresh_all(conn)
    conn.commit()
    insert_row(conn, new_batch(conn), T0 + timedelta(hours=1), loaded["s1"], loaded["g1"], 1, 1, 1, 1)
    conn.execute("DELETE FROM contact_statistics WHERE service_id = %s", (loaded["s2"],))
    conn.commit()
    views.refresh(conn, views.HOURLY)
    views.refresh(conn, views.DAILY)
    conn.commit()
    assert conn.execute("SELECT count(*) FROM mv_hourly_stats WHERE service_id = %s", (loaded["s2"],)).fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM mv_hourly_stats WHERE service_id = %s", (loaded["s1"],)).fetchone()[0] == 2


def test_both_aggregate_tables_have_a_unique_key_on_plain_columns(conn) -> None:
    tables = dict(conn.execute("SELECT view_name, table_name::text FROM wfm.aggregates").fetchall())
    assert set(tables) == set(views.VIEWS)
    for table in tables.values():
        unique = conn.execute(
            "SELECT count(*) FROM pg_index WHERE indrelid = %s::regclass AND indisunique AND indpred IS NULL "
            "AND indexprs IS NULL", (table,)).fetchone()[0]
        assert unique == 1, table


def test_refresh_view_rejects_other_relations(conn) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="not a WFM materialized view"):
        conn.execute("SELECT * FROM wfm.refresh_view('wfm.services')")
    with pytest.raises(ValueError, match="unknown materialized view"):
        views.refresh(conn, "wfm.services")


def test_readonly_reads_views_and_api_refreshes_through_the_function(conn, loaded) -> None:
    views.refresh_all(conn)
    conn.commit()
    conn.execute("SET ROLE wfm_readonly")
    assert conn.execute("SELECT count(*) FROM wfm.mv_daily_service_stats").fetchone()[0] > 0
    assert conn.execute("SELECT count(*) FROM wfm.view_freshness").fetchone()[0] == 2
    conn.execute("RESET ROLE")
    conn.execute("SET ROLE wfm_api")
    refreshed = conn.execute("SELECT view_name FROM wfm.api_refresh_all_views()").fetchall()
    assert refreshed == [(views.HOURLY,), (views.DAILY,)]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT count(*) FROM wfm.mv_hourly_stats")


def test_view_assets_materialize_with_row_counts_and_freshness(db_url, conn, loaded) -> None:
    from wfm_pipeline.defs.warehouse import aggregates

    result = dg.materialize([aggregates], resources={"wfm_db": WfmDatabase(url=db_url)})
    assert result.success
    by_key = {e.materialization.asset_key.to_user_string(): e.materialization.metadata
              for e in result.get_asset_materialization_events()}
    hourly = by_key["mv_hourly_stats"]
    assert hourly["dagster/row_count"].value == 2      # one 18:00 UTC hour for each service
    assert hourly["services"].value == 2
    assert hourly["newest_source_row_loaded_at"].value != "none"
    assert by_key["mv_daily_service_stats"]["dagster/row_count"].value == 6
    assert hourly["refresh_mode"].value == "full"                # the first build
    again = dg.materialize([aggregates], resources={"wfm_db": WfmDatabase(url=db_url)})
    (meta, _) = [e.materialization.metadata for e in again.get_asset_materialization_events()]
    assert meta["refresh_mode"].value == "incremental" and meta["rows_written"].value == 0
    rebuilt = dg.materialize([aggregates], resources={"wfm_db": WfmDatabase(url=db_url)},
                             run_config={"ops": {"aggregates": {"config": {"full": True}}}})
    (meta, _) = [e.materialization.metadata for e in rebuilt.get_asset_materialization_events()]
    assert meta["refresh_mode"].value == "full" and meta["dagster/row_count"].value == 2
