"""ANALYZE after imports (the guide: "after large imports: ANALYZE contact_statistics"): the months an
import wrote get statistics at once when autovacuum's rule says they changed enough, the parent
when it never had any; the row estimates are what the Dagster month events report."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from wfm_pipeline.argus import steps
from wfm_pipeline.health import checks
from wfm_pipeline.warehouse import maintenance
from wfm_pipeline_tests.argus_files import argus_rows, write_csv


def stats(conn: psycopg.Connection, relation: str) -> tuple[float, bool]:
    """(reltuples, analyzed at least once) of a relation, read in a fresh transaction."""
    conn.rollback()
    reltuples = conn.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (relation,)).fetchone()[0]
    analyzed = conn.execute("SELECT coalesce(last_analyze, last_autoanalyze) IS NOT NULL FROM pg_stat_user_tables "
                            "WHERE relid = %s::regclass", (relation,)).fetchone()[0]
    conn.rollback()
    return reltuples, analyzed


def test_a_first_import_analyzes_the_months_it_wrote_and_the_parent(conn, service, tmp_path) -> None:
    january = dt.datetime(2024, 1, 31, 18, 0)   # Berlin local: 48 intervals, 28 in January (UTC), 20 in February
    path = write_csv(tmp_path / "jan.csv", argus_rows(january, 48))
    assert conn.execute("SELECT to_regclass('wfm.contact_statistics_2024_01')").fetchone()[0] is None
    conn.rollback()
    run = steps.run_file(conn, path, "S1", "G1")
    assert run.result.status == "completed" and run.analyze_error is None
    by_name = {a.partition: a for a in run.analyzed}
    assert {(a.table, a.month) for a in run.analyzed if a.month} == {
        (t, m) for t in ("wfm.contact_statistics", "wfm.contact_statistics_history")
        for m in (dt.date(2024, 1, 1), dt.date(2024, 2, 1))}
    jan, feb = by_name["wfm.contact_statistics_2024_01"], by_name["wfm.contact_statistics_2024_02"]
    assert jan.analyzed and feb.analyzed and jan.estimated_rows + feb.estimated_rows == 48
    assert stats(conn, "wfm.contact_statistics_2024_01") == (jan.estimated_rows, True)
    exact = conn.execute("SELECT count(*) FROM contact_statistics_2024_01").fetchone()[0]
    assert jan.estimated_rows == exact                   # small partitions: ANALYZE reads every row
    assert by_name["wfm.contact_statistics_history_2024_01"].estimated_rows == exact   # history: same rows
    # The parents never had statistics: they get them now (health's last_analyze is not "never").
    for parent in ("wfm.contact_statistics", "wfm.contact_statistics_history"):
        assert by_name[parent].month is None and stats(conn, parent)[1]
    conn.execute("SELECT pg_stat_force_next_flush()")
    conn.commit()
    found = {r.check_name: r for r in checks.run_suite(conn, "monitor_resource_usage")}
    conn.rollback()
    for name in ("contact_statistics", "contact_statistics_history"):
        row = found[f"resources.last_analyze.{name}"]
        assert row.status == "PASS" and checks.measured_text(row) != "never"


def test_a_small_correction_of_a_big_month_is_left_to_autovacuum(conn, service, tmp_path) -> None:
    start = dt.datetime(2024, 3, 2, 0, 0)   # Berlin local, all 20 days within March (UTC)
    big = steps.run_file(conn, write_csv(tmp_path / "march.csv", argus_rows(start, 96 * 20)), "S1", "G1")
    (march,) = [a for a in big.analyzed if a.month == dt.date(2024, 3, 1) and a.table == "wfm.contact_statistics"]
    assert march.analyzed and march.estimated_rows == 96 * 20
    # 10 rows into 1,920: below 50 + 10 % of the month, as autovacuum would judge it.
    small = steps.run_file(conn, write_csv(tmp_path / "fix.csv", argus_rows(start, 10, seed=3)), "S1", "G1")
    assert small.result.rows_updated == 10
    (again, history) = small.analyzed
    assert again.table == "wfm.contact_statistics" and history.table == "wfm.contact_statistics_history"
    assert not again.analyzed and again.duration_ms == 0 and again.estimated_rows == 96 * 20
    # The history got 10 more rows (it keeps every version): also below the rule.
    assert not history.analyzed
    # Nothing written, nothing analyzed.
    dup = steps.run_file(conn, write_csv(tmp_path / "march-copy.csv", argus_rows(start, 96 * 20)), "S1", "G1")
    assert dup.result.status == "duplicate" and dup.analyzed == []


def test_the_rule_and_its_arguments(conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="not a partitioned WFM table"):
        maintenance.analyze_touched(conn, "wfm.services", {dt.date(2024, 1, 1): 5})
    conn.rollback()
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="2 months but 1 row counts"):
        conn.execute("SELECT * FROM wfm.analyze_touched_partitions('wfm.contact_statistics', "
                     "ARRAY['2024-01-01', '2024-02-01']::date[], ARRAY[5]::bigint[])")
    conn.rollback()
    # A month without a partition is not an error: nothing to analyze (the load made the ones it needed).
    assert maintenance.analyze_touched(conn, "wfm.contact_statistics", {dt.date(1999, 1, 1): 5}) == []
