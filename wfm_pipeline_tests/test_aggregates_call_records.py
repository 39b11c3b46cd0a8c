"""Incremental aggregates and the call-record / agent-state paths (issues 13, 14 and 15).

Call records derive contact_statistics rows (service and group rows per 15-minute interval,
averages per handled call: totals = avg x answered calls, sql/121). Those writes, and their
reverts, go through the parent table, so the statement triggers log them; these tests prove that
the always-current reads equal a raw aggregation after a call-record import, a correction and a
revert (file and JSON paths), that an incremental refresh then equals a full recompute, and that
agent-state loads (which write no contact_statistics row) leave the aggregates alone.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

from wfm_pipeline.argus import batches
from wfm_pipeline.calls.agent_loader import import_agent_file
from wfm_pipeline.calls.loader import import_call_file
from wfm_pipeline_tests import agent_data
from wfm_pipeline_tests.call_data import generate, write_csv
from wfm_pipeline_tests.aggregate_checks import assert_reads_equal_raw as _reads_equal_raw
from wfm_pipeline_tests.aggregate_checks import assert_tables_equal_a_full_recompute, refresh, watermark

ZONE = "Europe/Berlin"
UTC = dt.timezone.utc
DAYS = [dt.date(2025, 10, 25) + dt.timedelta(days=i) for i in range(8)]   # DST ends 26.10, month ends 31.10
WINDOW = [(dt.datetime(2025, 10, 24, 12, tzinfo=UTC), 10)]


@pytest.fixture
def bank(conn: psycopg.Connection) -> dict:
    sid = conn.execute("INSERT INTO wfm.services (code, name, time_zone) VALUES ('BANK', 'Bank', %s) "
                       "RETURNING service_id", (ZONE,)).fetchone()[0]
    for code in ("G1", "G2"):
        conn.execute("INSERT INTO wfm.groups (service_id, code, name) VALUES (%s, %s, %s)", (sid, code, code))
    conn.execute("SELECT wfm.ensure_monthly_partitions(t, '2025-10-01', '2025-11-30') "
                 "FROM unnest(ARRAY['wfm.agent_activity', 'wfm.agent_state_transitions', 'wfm.call_records', "
                 "'wfm.contact_statistics', 'wfm.contact_statistics_history']::regclass[]) t")
    conn.commit()
    return {"service_id": sid, "code": "BANK"}


def assert_reads_equal_raw(conn: psycopg.Connection, rng: random.Random, **options) -> None:
    _reads_equal_raw(conn, rng, **options)
    conn.rollback()   # the file loaders want a connection without an open transaction


def _pending(conn: psycopg.Connection) -> set[tuple]:
    rows = conn.execute("SELECT service_id, stat_date FROM wfm.aggregate_changes").fetchall()
    conn.rollback()
    return set(rows)


def _changes(rows: list[dict], seed: int) -> list[dict]:
    """A correction: some calls sent again with another outcome or wrap-up, plus new calls."""
    rng = random.Random(seed)
    out = []
    for row in rng.sample(rows, 80):
        new = dict(row)
        if new["outcome"].lower() == "answered" and rng.random() < 0.5:
            new.update(outcome="abandoned", answered_at="", agent="", wrap_up_seconds="")
        elif new["outcome"].lower() == "answered":
            new["wrap_up_seconds"] = str(rng.randint(0, 900))
        out.append(new)
    return out + generate(seed + 1, ZONE, DAYS[3:5], 40, prefix="new")


def test_call_record_import_correction_and_revert_keep_reads_raw_exact(conn, bank, tmp_path: Path) -> None:
    rng = random.Random(15)
    first = generate(151, ZONE, DAYS, 180)
    result = import_call_file(conn, write_csv(tmp_path / "calls.csv", first), "BANK")
    assert result.status == "completed", result.errors[:3]
    # the derived intervals are logged, in the load's transaction, and read raw
    logged = _pending(conn)
    assert {s for s, _ in logged} == {bank["service_id"]} and len(logged) >= len(DAYS)
    # averages per handled call matter here: answered calls differ from offered ones
    assert conn.execute("SELECT count(*) FROM wfm.mv_hourly_stats WHERE handled_calls <> non_unique_incoming"
                        ).fetchone()[0] > 0
    assert_reads_equal_raw(conn, rng, windows=WINDOW)

    # The first build puts the watermark inside the data: days on both sides.
    built = refresh(conn, until=dt.datetime(2025, 10, 29, 12, 20, tzinfo=UTC))
    assert [v[0] for v in built.values()] == ["full", "full"]
    assert_tables_equal_a_full_recompute(conn)
    assert_reads_equal_raw(conn, rng, windows=WINDOW)

    # A correction file: replaced calls re-derive their intervals (updates, inserts, deletes).
    fix = import_call_file(conn, write_csv(tmp_path / "fix.csv", _changes(first, 152)), "BANK")
    assert fix.status == "completed" and fix.rows_updated == 80, fix.errors[:3]
    assert _pending(conn)
    assert_reads_equal_raw(conn, rng, windows=WINDOW)
    done = refresh(conn, until=dt.datetime(2025, 10, 29, 12, 20, tzinfo=UTC))
    assert [v[0] for v in done.values()] == ["incremental", "incremental"]
    assert done["wfm.mv_hourly_stats"][1] > 0                              # it consumed the log
    assert_tables_equal_a_full_recompute(conn)
    assert_reads_equal_raw(conn, rng, windows=WINDOW)

    # Its revert re-derives the intervals from the remaining versions: logged, read raw, refreshed.
    before = watermark(conn)
    reverted = batches.revert_batch(conn, fix.import_batch_id)
    conn.commit()
    assert reverted.rows_restored + reverted.rows_deleted > 0
    assert _pending(conn)
    assert_reads_equal_raw(conn, rng, windows=WINDOW)
    done = refresh(conn, until=dt.datetime(2025, 11, 3, tzinfo=UTC))      # and the watermark moves on
    assert done["wfm.mv_hourly_stats"][0] == "incremental" and watermark(conn) > before
    assert_tables_equal_a_full_recompute(conn)
    assert_reads_equal_raw(conn, rng, windows=WINDOW)

    # Reverting the first batch empties the service: the aggregates follow.
    batches.revert_batch(conn, result.import_batch_id)
    conn.commit()
    assert_reads_equal_raw(conn, rng, windows=WINDOW, calls=4)
    refresh(conn, until=dt.datetime(2025, 11, 3, tzinfo=UTC))
    assert_tables_equal_a_full_recompute(conn)
    assert conn.execute("SELECT count(*) FROM wfm.agg_hourly_stats").fetchone() == (0,)


def test_call_records_through_the_json_path_are_logged_and_refresh_exactly(conn, bank) -> None:
    rng = random.Random(16)
    refresh(conn, until=dt.datetime(2025, 11, 3, tzinfo=UTC))              # built (empty) before the load
    rows = generate(161, ZONE, DAYS[:3], 150)
    payload = [{**r, "service_id": bank["service_id"]} for r in rows]
    out = conn.execute("SELECT * FROM wfm.api_batch_insert_call_records(%s, 'test')", (Jsonb(payload),)).fetchone()
    conn.commit()
    assert out[1] == "completed"
    assert _pending(conn)
    assert_reads_equal_raw(conn, rng, windows=WINDOW, calls=6)
    done = refresh(conn, until=dt.datetime(2025, 11, 3, tzinfo=UTC))
    assert done["wfm.mv_hourly_stats"][0] == "incremental" and done["wfm.mv_hourly_stats"][3] > 0
    assert_tables_equal_a_full_recompute(conn)
    conn.execute("SELECT * FROM wfm.revert_import_batch(%s)", (out[0],))
    conn.commit()
    assert_reads_equal_raw(conn, rng, windows=WINDOW, calls=6)
    refresh(conn, until=dt.datetime(2025, 11, 3, tzinfo=UTC))
    assert_tables_equal_a_full_recompute(conn)


def test_agent_states_leave_the_aggregates_alone(conn, bank, tmp_path: Path) -> None:
    """Agent states write agent_activity and their transitions, never contact_statistics: no log
    row, and what is materialized stays valid (the reads still equal the raw aggregation)."""
    calls = import_call_file(conn, write_csv(tmp_path / "calls.csv", generate(171, ZONE, DAYS[:2], 120)), "BANK")
    assert calls.status == "completed"
    refresh(conn, until=dt.datetime(2025, 11, 3, tzinfo=UTC))
    states = agent_data.generate_shifts(172, ZONE, DAYS[:2], 6, talking=True)
    loaded = import_agent_file(conn, agent_data.write_csv(tmp_path / "states.csv", states), "BANK")
    assert loaded.status == "completed", loaded.errors[:3]
    assert conn.execute("SELECT count(*) FROM wfm.agent_activity WHERE logged_in_seconds IS NOT NULL"
                        ).fetchone()[0] > 0
    assert _pending(conn) == set()
    batches.revert_batch(conn, loaded.import_batch_id)
    conn.commit()
    assert _pending(conn) == set()
    assert_reads_equal_raw(conn, random.Random(17), windows=WINDOW, calls=4)
    assert_tables_equal_a_full_recompute(conn)
