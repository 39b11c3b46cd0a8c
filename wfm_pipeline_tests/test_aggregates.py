"""Incremental aggregates (issue 15, sql/200): the change log, the incremental refresh and the
real-time reads, checked against a full recompute and against aggregating the raw rows.

The oracle (aggregate_checks) is the product's previous definition: the materialized views of
sql/051 as sql/121 re-created them (queried directly on contact_statistics) and the raw bucket
query wfm.calls_by_interval_rows. Data is
random, in six time zones (whole-hour, +05:30, +05:45, Lord Howe's 30-minute DST, Santiago's
midnight DST), over windows that hold DST switches, written through the real paths (JSON API,
revert, month rebuild, plain UPDATE/DELETE, retention, a time-zone change).
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

import psycopg
import pytest
from psycopg.types.json import Jsonb

from wfm_pipeline_tests.aggregate_checks import (
    WINDOWS, assert_reads_equal_raw, assert_tables_equal_a_full_recompute, refresh, sorted_rows, watermark,
)

UTC = timezone.utc

ZONES = ["Europe/Berlin", "Asia/Kolkata", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu",
         "America/Santiago"]
# Berlin switches on 2024-03-31 and 2024-10-27, Santiago (at local midnight) on 2024-04-07,
# Lord Howe (by 30 minutes) on 2024-04-07 and 2024-10-06, New York on 2024-11-03.


# ---------------------------------------------------------------- data

class World:
    """Services in ZONES with two groups each, the months of WINDOWS partitioned, a seeded RNG."""

    def __init__(self, conn: psycopg.Connection, seed: int) -> None:
        self.conn = conn
        self.rng = random.Random(seed)
        self.services: dict[int, list[int]] = {}
        for i, zone in enumerate(ZONES):
            sid = conn.execute("INSERT INTO services (code, name, time_zone) VALUES (%s, %s, %s) RETURNING service_id",
                               (f"AG{i}", f"aggregate test {zone}", zone)).fetchone()[0]
            self.services[sid] = [conn.execute(
                "INSERT INTO groups (service_id, code, name) VALUES (%s, %s, 'g') RETURNING group_id",
                (sid, f"G{j}")).fetchone()[0] for j in (1, 2)]
        for start, days in WINDOWS:
            conn.execute("SELECT wfm.ensure_monthly_partitions('wfm.contact_statistics', %s, %s)",
                         (start, start + timedelta(days=days)))
            conn.execute("SELECT wfm.ensure_monthly_partitions('wfm.contact_statistics_history', %s, %s)",
                         (start, start + timedelta(days=days)))
        conn.commit()

    def intervals(self, density: float) -> list[datetime]:
        out = []
        for start, days in WINDOWS:
            out += [start + timedelta(minutes=15 * q) for q in range(days * 96) if self.rng.random() < density]
        return out

    def row(self, ts: datetime, sid: int, gid: int | None) -> dict:
        r = self.rng
        calls = r.choice([0, r.randint(1, 40)])
        row = {"service_id": sid, "interval_start": ts.isoformat(), "unique_incoming": r.randint(0, calls),
               "non_unique_incoming": calls}
        if gid is not None:
            row["group_id"] = gid
        if calls or r.random() < 0.5:
            row["avg_talk_time"], row["avg_post_processing_time"] = r.randint(0, 600), r.randint(0, 120)
        if r.random() < 0.6:
            row["answered_calls"] = answered = r.randint(0, calls)
            if r.random() < 0.7:
                row["answered_within_sl"], row["sl_threshold_seconds"] = r.randint(0, answered), 20
        if r.random() < 0.6:
            row["abandoned_calls"] = r.randint(0, calls)
        return row

    def batch(self, density: float) -> list[dict]:
        rows = []
        for ts in self.intervals(density):
            sid = self.rng.choice(list(self.services))
            for gid in [None, *self.services[sid]]:
                if self.rng.random() < 0.6:
                    rows.append(self.row(ts, sid, gid))
        return rows

    def send(self, rows: list[dict]) -> str:
        batch, status = self.conn.execute(
            "SELECT import_batch_id, status FROM wfm.api_batch_insert_calls(%s, 'aggregate-test')", (Jsonb(rows),)
        ).fetchone()
        self.conn.commit()
        assert status == "completed", status
        return batch


# ---------------------------------------------------------------- property test

@pytest.mark.parametrize("seed", [1, 2])
def test_random_writes_keep_reads_raw_exact_and_refreshes_equal_a_full_recompute(conn: psycopg.Connection,
                                                                                  seed: int) -> None:
    world = World(conn, seed)
    rng = world.rng
    first = world.send(world.batch(0.3))
    assert_reads_equal_raw(conn, rng)                                   # nothing built: all raw

    # First build, with the watermark inside the second window (days and hours on both sides).
    built = refresh(conn, until=datetime(2024, 10, 30, 13, 40, tzinfo=UTC))
    assert [v[0] for v in built.values()] == ["full", "full"]
    assert watermark(conn) == datetime(2024, 10, 30, 13, tzinfo=UTC)
    assert_tables_equal_a_full_recompute(conn)
    assert_reads_equal_raw(conn, rng)

    # Writes of every kind, each checked while pending (read raw) ...
    second = world.send(world.batch(0.2))                               # inserts and updates
    assert_reads_equal_raw(conn, rng)
    conn.execute("SELECT * FROM wfm.revert_import_batch(%s)", (first,))  # restores and deletes
    conn.commit()
    assert_reads_equal_raw(conn, rng)
    conn.execute("DELETE FROM wfm.contact_statistics WHERE service_id = %s AND interval_start_time < %s",
                 (min(world.services), datetime(2024, 3, 31, 6, tzinfo=UTC)))
    conn.execute("UPDATE wfm.contact_statistics SET non_unique_incoming = non_unique_incoming + 1, "
                 "unique_incoming = unique_incoming + 1 WHERE interval_start_time >= %s AND interval_start_time < %s "
                 "AND non_unique_incoming > 0", (datetime(2024, 10, 27, tzinfo=UTC), datetime(2024, 10, 27, 3, tzinfo=UTC)))
    conn.commit()
    assert_reads_equal_raw(conn, rng)

    # ... and after an incremental refresh that also moves the watermark.
    done = refresh(conn, until=datetime(2024, 11, 2, 7, 15, tzinfo=UTC))
    assert [v[0] for v in done.values()] == ["incremental", "incremental"]
    assert done["wfm.mv_hourly_stats"][1] > 0                          # it consumed the log
    assert_tables_equal_a_full_recompute(conn)
    assert_reads_equal_raw(conn, rng)

    # Month rebuild from the history, and a new time zone for a service with data.
    conn.execute("SELECT * FROM wfm.rebuild_contact_statistics_month('2024-04-01')")
    conn.execute("UPDATE wfm.services SET time_zone = 'Asia/Kathmandu' WHERE service_id = %s", (min(world.services),))
    conn.commit()
    assert_reads_equal_raw(conn, rng)
    refresh(conn)                                                        # the watermark: now
    assert_tables_equal_a_full_recompute(conn)
    assert_reads_equal_raw(conn, rng)

    # Idempotent: a refresh with nothing logged changes nothing; a full rebuild gives the same.
    before = sorted_rows(conn.execute("SELECT * FROM wfm.agg_hourly_stats").fetchall())
    again = refresh(conn)
    assert again["wfm.mv_hourly_stats"][1:4] == (0, 0, 0) and again["wfm.mv_daily_service_stats"][2:4] == (0, 0)
    full = refresh(conn, full=True)
    assert full["wfm.mv_hourly_stats"][0] == "full"
    assert sorted_rows(conn.execute("SELECT * FROM wfm.agg_hourly_stats").fetchall()) == before
    assert_tables_equal_a_full_recompute(conn)
    assert second is not None


def test_a_one_day_change_recomputes_that_day_only(conn: psycopg.Connection) -> None:
    world = World(conn, 3)
    world.send(world.batch(0.5))
    refresh(conn, until=datetime(2024, 12, 1, tzinfo=UTC))
    sid = next(iter(world.services))
    # One local day of one service, the way `wfm bench queries` measures it.
    day = [world.row(datetime(2024, 10, 28, 11, tzinfo=UTC) + timedelta(minutes=15 * q), sid, None)
           for q in range(96)]
    world.send(day)
    logged = conn.execute("SELECT service_id, stat_date, source FROM wfm.aggregate_changes").fetchall()
    assert {(s, src) for s, _, src in logged} <= {(sid, "insert"), (sid, "update")}
    assert len({d for _, d, _ in logged}) == 2                        # the UTC day spans two local days
    done = refresh(conn, until=datetime(2024, 12, 1, tzinfo=UTC))
    hourly, daily = done["wfm.mv_hourly_stats"], done["wfm.mv_daily_service_stats"]
    assert hourly[0] == "incremental" and hourly[1] == len(logged)
    assert hourly[3] <= 26 and daily[3] <= 2 * 3                     # the day's hours; two days x (service + 2 groups)
    assert_tables_equal_a_full_recompute(conn)


# ---------------------------------------------------------------- change log paths

def test_every_write_path_logs_in_its_own_transaction(conn: psycopg.Connection) -> None:
    world = World(conn, 4)
    sid, (g1, _) = next(iter(world.services.items()))
    ts = datetime(2024, 3, 30, 10, tzinfo=UTC)

    def sources() -> list[str]:
        rows = [r[0] for r in conn.execute("SELECT source FROM wfm.aggregate_changes ORDER BY change_id")]
        conn.execute("DELETE FROM wfm.aggregate_changes")
        conn.commit()
        return rows

    batch = world.send([world.row(ts, sid, g1)])
    assert sources() == ["insert"]
    world.send([world.row(ts, sid, g1)])
    assert sources() == ["update"]
    conn.execute("SELECT * FROM wfm.revert_import_batch(%s)", (batch,))
    conn.commit()
    assert sources() == []                                              # the later batch's value stays
    conn.execute("SELECT * FROM wfm.rebuild_contact_statistics_month('2024-03-01')")
    conn.commit()
    assert sorted(sources()) == ["delete", "insert"]
    # A rolled-back write leaves no log row.
    conn.execute("DELETE FROM wfm.contact_statistics")
    conn.rollback()
    assert sources() == []
    # Explicit logging for what no trigger sees: every local day of each service in the range.
    n = conn.execute("SELECT wfm.log_changed_ranges(%s, %s, %s, 'attach')",
                     ([sid], ts, ts + timedelta(days=2))).fetchone()[0]
    assert n == 3 and sources() == ["attach"] * 3
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        conn.execute("SELECT wfm.log_changed_ranges(NULL, %s, %s)", (ts, ts))
    conn.rollback()


def test_retention_and_truncate_are_seen_by_the_aggregates(conn: psycopg.Connection) -> None:
    world = World(conn, 5)
    world.send(world.batch(0.2))
    refresh(conn, until=datetime(2024, 12, 1, tzinfo=UTC))
    conn.execute("UPDATE wfm.partition_config SET retention_enabled = true, retention_months = 6 "
                 "WHERE table_name = 'wfm.contact_statistics'::regclass")
    conn.commit()
    detached = conn.execute("SELECT partition_name FROM wfm.detach_expired_partitions(false, '2025-01-15')"
                            ).fetchall()
    conn.commit()
    assert ("contact_statistics_2024_04",) in detached
    assert conn.execute("SELECT count(*) FROM wfm.aggregate_changes WHERE source = 'retention'").fetchone()[0] > 0
    assert_reads_equal_raw(conn, world.rng, calls=4)                   # the detached month is gone from the views
    refresh(conn)
    assert_tables_equal_a_full_recompute(conn)
    assert not conn.execute("SELECT count(*) FROM wfm.agg_daily_service_stats WHERE stat_date < '2024-06-01'"
                            ).fetchone()[0]

    conn.execute("TRUNCATE wfm.contact_statistics")
    conn.commit()
    assert watermark(conn) is None
    assert conn.execute("SELECT count(*) FROM wfm.mv_hourly_stats").fetchone() == (0,)
    assert refresh(conn)["wfm.mv_hourly_stats"][0] == "full"


# ---------------------------------------------------------------- concurrency

def test_a_refresh_neither_waits_for_a_load_nor_loses_it(db_url: str, conn: psycopg.Connection) -> None:
    world = World(conn, 6)
    world.send(world.batch(0.2))
    refresh(conn, until=datetime(2024, 12, 1, tzinfo=UTC))
    sid, (g1, _) = next(iter(world.services.items()))
    with psycopg.connect(db_url) as load:
        # A load in flight: its rows and its log row are not committed while the refresh runs.
        load.execute("SELECT * FROM wfm.api_batch_insert_calls(%s, 'in-flight')",
                     (Jsonb([world.row(datetime(2024, 10, 26, 8, tzinfo=UTC), sid, g1)]),)).fetchall()
        conn.execute("SET lock_timeout = '5s'")                          # a wait would fail, not hang
        refresh(conn, until=datetime(2024, 12, 1, tzinfo=UTC))
        load.commit()
    assert conn.execute("SELECT count(*) FROM wfm.aggregate_changes").fetchone()[0] > 0   # still pending
    assert_reads_equal_raw(conn, world.rng, calls=3)
    refresh(conn, until=datetime(2024, 12, 1, tzinfo=UTC))
    assert_tables_equal_a_full_recompute(conn)


def test_refreshes_are_serialized_by_an_advisory_lock(db_url: str, conn: psycopg.Connection) -> None:
    World(conn, 7)
    refresh(conn)
    with psycopg.connect(db_url) as other:
        other.execute("SELECT * FROM wfm.refresh_aggregates()").fetchall()    # holds the lock until commit
        conn.execute("SET lock_timeout = '200ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            conn.execute("SELECT * FROM wfm.refresh_aggregates()")
        conn.rollback()
        other.commit()
    assert refresh(conn)["wfm.mv_hourly_stats"][0] == "incremental"


# ---------------------------------------------------------------- reads

def test_reads_before_the_first_build_are_current(conn: psycopg.Connection, service: dict) -> None:
    """Formerly the summary raised until the view was populated; now it aggregates raw rows."""
    ts = datetime(2024, 10, 29, 9, tzinfo=UTC)
    conn.execute("SELECT wfm.ensure_monthly_partitions('wfm.contact_statistics', %s, %s)", (ts, ts))
    conn.execute("INSERT INTO contact_statistics (interval_start_time, service_id, group_id, unique_incoming, "
                 "non_unique_incoming, avg_talk_time, avg_post_processing_time, import_batch_id) "
                 "VALUES (%s, %s, %s, 3, 4, 10, 5, gen_random_uuid())", (ts, service["service_id"], service["group_id"]))
    conn.commit()
    assert watermark(conn) is None
    rows = conn.execute("SELECT group_id, non_unique_incoming, view_refreshed_at FROM "
                        "wfm.api_get_service_summary(%s, %s)", (service["service_id"], date(2024, 10, 29))).fetchall()
    assert rows == [(None, 4, None), (service["group_id"], 4, None)]
    refresh(conn, until=datetime(2024, 11, 1, 0, 30, tzinfo=UTC))
    assert conn.execute("SELECT DISTINCT view_refreshed_at FROM wfm.api_get_service_summary(%s, %s)",
                        (service["service_id"], date(2024, 10, 29))).fetchall() == [(datetime(2024, 11, 1, tzinfo=UTC),)]


def test_freshness_reports_the_watermark_and_the_backlog(conn: psycopg.Connection) -> None:
    world = World(conn, 8)
    assert conn.execute("SELECT bool_or(populated) FROM wfm.view_freshness").fetchone() == (False,)
    refresh(conn, until=datetime(2024, 12, 1, tzinfo=UTC))
    world.send(world.batch(0.05))
    rows = conn.execute("SELECT view_name, populated, materialized_until, pending_changes > 0 FROM wfm.view_freshness "
                        "ORDER BY view_name").fetchall()
    assert rows == [("wfm.mv_daily_service_stats", True, datetime(2024, 12, 1, tzinfo=UTC), True),
                    ("wfm.mv_hourly_stats", True, datetime(2024, 12, 1, tzinfo=UTC), True)]
