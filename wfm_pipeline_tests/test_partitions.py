from datetime import datetime, timezone
import uuid

import psycopg
import pytest

from wfm_pipeline.db import partitions


def _real_partitions(conn: psycopg.Connection, table: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT partition_name FROM wfm.partitions WHERE parent_table = %s::regclass AND NOT is_guard "
        "ORDER BY range_start", (table,))]


def test_both_tables_are_range_partitioned(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        "SELECT partrelid::regclass::text, partstrat FROM pg_partitioned_table ORDER BY 1").fetchall()
    assert ("agent_activity", "r") in rows and ("contact_statistics", "r") in rows


def test_current_month_and_three_ahead_exist_after_upgrade(conn: psycopg.Connection) -> None:
    now = datetime.now(timezone.utc)
    expected = []
    year, month = now.year, now.month
    for _ in range(4):
        expected.append(f"{year:04d}_{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    for table in ("contact_statistics", "agent_activity"):
        names = _real_partitions(conn, table)
        for suffix in expected:
            assert f"{table}_{suffix}" in names
    assert partitions.missing_premade(conn) == []


def test_range_across_month_and_year_boundaries(conn: psycopg.Connection) -> None:
    created = partitions.ensure_partitions(
        conn, "wfm.contact_statistics",
        datetime(2019, 11, 30, 23, 45, tzinfo=timezone.utc), datetime(2020, 2, 1, 0, 0, tzinfo=timezone.utc))
    assert created == ["contact_statistics_2019_11", "contact_statistics_2019_12",
                       "contact_statistics_2020_01", "contact_statistics_2020_02"]
    again = partitions.ensure_partitions(
        conn, "wfm.contact_statistics",
        datetime(2019, 12, 5, tzinfo=timezone.utc), datetime(2020, 1, 5, tzinfo=timezone.utc))
    assert again == []
    bounds = conn.execute(
        "SELECT range_start, range_end FROM wfm.partitions WHERE partition_name = 'contact_statistics_2019_12'"
    ).fetchone()
    assert bounds == (datetime(2019, 12, 1, tzinfo=timezone.utc), datetime(2020, 1, 1, tzinfo=timezone.utc))


def test_gaps_are_covered_by_guards_and_partitions_never_overlap(conn: psycopg.Connection) -> None:
    partitions.ensure_partitions(conn, "wfm.contact_statistics",
                                 datetime(2015, 3, 10, tzinfo=timezone.utc), datetime(2015, 3, 10, tzinfo=timezone.utc))
    rows = conn.execute(
        "SELECT range_start, range_end, is_guard FROM wfm.partitions "
        "WHERE parent_table = 'wfm.contact_statistics'::regclass ORDER BY range_start NULLS FIRST").fetchall()
    assert rows[0][0] is None and rows[0][2]          # MINVALUE guard
    assert rows[-1][1] is None and rows[-1][2]        # MAXVALUE guard
    for (_, end, _), (start, _, _) in zip(rows, rows[1:]):
        assert end == start                           # contiguous, no overlap, no hole
    assert sum(1 for r in rows if r[2]) == 3          # before 2015-03, the gap to now, after premake


def test_insert_into_month_without_partition_names_the_month(conn: psycopg.Connection, service: dict) -> None:
    with pytest.raises(psycopg.errors.CheckViolation, match="no partition of wfm.contact_statistics for month 2031-03"):
        conn.execute(
            """INSERT INTO contact_statistics (interval_start_time, service_id, unique_incoming,
               non_unique_incoming, avg_talk_time, avg_post_processing_time, import_batch_id)
               VALUES ('2031-03-01 10:00+00', %s, 1, 2, 3, 4, %s)""", (service["service_id"], uuid.uuid4()))


def test_unregistered_table_and_reversed_range_are_refused(conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="not a monthly-partitioned WFM table"):
        partitions.ensure_partitions(conn, "wfm.services", datetime(2020, 1, 1, tzinfo=timezone.utc),
                                     datetime(2020, 1, 2, tzinfo=timezone.utc))
    conn.rollback()
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="is before"):
        partitions.ensure_partitions(conn, "wfm.contact_statistics", datetime(2020, 2, 1, tzinfo=timezone.utc),
                                     datetime(2020, 1, 1, tzinfo=timezone.utc))


def test_premake_is_idempotent(conn: psycopg.Connection) -> None:
    assert partitions.premake(conn) == []
    tables, ahead = conn.execute("SELECT count(*), max(premake_months) FROM wfm.partition_config").fetchone()
    created = partitions.premake(conn, months_ahead=ahead + 3)
    assert len(created) == tables * 3   # three more months for each registered table
    assert partitions.premake(conn, months_ahead=ahead + 3) == []
