"""Incremental aggregates (issue 15, sql/170): the change log, the incremental refresh and the
real-time reads, checked against a full recompute and against aggregating the raw rows.

The oracle is the product's previous definition: the materialized views of sql/051 (queried
directly on contact_statistics) and the raw bucket query wfm.calls_by_interval_rows. Data is
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

UTC = timezone.utc
ZONES = ["Europe/Berlin", "Asia/Kolkata", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu",
         "America/Santiago"]
# Berlin switches on 2024-03-31 and 2024-10-27, Santiago (at local midnight) on 2024-04-07,
# Lord Howe (by 30 minutes) on 2024-04-07 and 2024-10-06, New York on 2024-11-03.
WINDOWS = [(datetime(2024, 3, 29, tzinfo=UTC), 11), (datetime(2024, 10, 25, tzinfo=UTC), 11)]
BUCKETS = [60, 120, 240, 480, 720, 1440]

# sql/051's materialized views: the definition the aggregates must reproduce exactly.
HOURLY_ORACLE = """
SELECT si.service_id,
       date_bin(interval '1 hour', si.interval_start_time, timestamptz '2000-01-01 00:00:00+00') AS hour_start,
       count(*)::integer, sum(si.source_rows)::bigint, sum(si.unique_incoming)::bigint,
       sum(si.non_unique_incoming)::bigint, sum(si.talk_time_total)::bigint,
       sum(si.post_processing_time_total)::bigint, sum(si.answered_calls)::bigint,
       sum(si.sl_offered_calls)::bigint, sum(si.answered_within_sl)::bigint,
       sum(si.abandon_offered_calls)::bigint, sum(si.abandoned_calls)::bigint,
       max(si.sl_threshold_seconds), max(si.last_loaded_at)
FROM wfm.service_interval_stats si
GROUP BY 1, 2"""
DAILY_ORACLE = """
WITH service_intervals AS (
    SELECT si.*, (si.interval_start_time AT TIME ZONE s.time_zone)::date AS stat_date
    FROM wfm.service_interval_stats si JOIN wfm.services s ON s.service_id = si.service_id
)
SELECT service_id, NULL::integer AS group_id, stat_date, count(*)::integer, sum(source_rows)::bigint,
       sum(unique_incoming)::bigint, sum(non_unique_incoming)::bigint, sum(talk_time_total)::bigint,
       sum(post_processing_time_total)::bigint, sum(answered_calls)::bigint, sum(sl_offered_calls)::bigint,
       sum(answered_within_sl)::bigint, sum(abandon_offered_calls)::bigint, sum(abandoned_calls)::bigint,
       max(sl_threshold_seconds),
       to_timestamp(-(max(ARRAY[non_unique_incoming::bigint, -extract(epoch FROM interval_start_time)::bigint]))[2]),
       max(non_unique_incoming)::bigint, max(last_loaded_at)
FROM service_intervals GROUP BY service_id, stat_date
UNION ALL
SELECT cs.service_id, cs.group_id, (cs.interval_start_time AT TIME ZONE s.time_zone)::date, count(*)::integer,
       count(*)::bigint, sum(cs.unique_incoming)::bigint, sum(cs.non_unique_incoming)::bigint,
       sum(cs.talk_time_total)::bigint, sum(cs.post_processing_time_total)::bigint, sum(cs.answered_calls)::bigint,
       sum(cs.non_unique_incoming) FILTER (WHERE cs.answered_within_sl IS NOT NULL)::bigint,
       sum(cs.answered_within_sl)::bigint,
       sum(cs.non_unique_incoming) FILTER (WHERE cs.abandoned_calls IS NOT NULL)::bigint,
       sum(cs.abandoned_calls)::bigint, max(cs.sl_threshold_seconds),
       to_timestamp(-(max(ARRAY[cs.non_unique_incoming::bigint, -extract(epoch FROM cs.interval_start_time)::bigint]))[2]),
       max(cs.non_unique_incoming)::bigint, max(cs.loaded_at)
FROM wfm.contact_statistics cs JOIN wfm.services s ON s.service_id = cs.service_id
WHERE cs.group_id IS NOT NULL
GROUP BY cs.service_id, cs.group_id, 3"""
_HOURLY_COLUMNS = ("service_id, hour_start, intervals, source_rows, unique_incoming, non_unique_incoming, "
                   "talk_time_total, post_processing_time_total, answered_calls, sl_offered_calls, answered_within_sl, "
                   "abandon_offered_calls, abandoned_calls, sl_threshold_seconds, last_loaded_at")
_DAILY_COLUMNS = ("service_id, group_id, stat_date, intervals, source_rows, unique_incoming, non_unique_incoming, "
                  "talk_time_total, post_processing_time_total, answered_calls, sl_offered_calls, answered_within_sl, "
                  "abandon_offered_calls, abandoned_calls, sl_threshold_seconds, peak_interval_start, "
                  "peak_non_unique_incoming, last_loaded_at")


def _sorted(rows) -> list[tuple]:
    return sorted(rows, key=lambda r: tuple((v is None, str(v)) for v in r))


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


def refresh(conn: psycopg.Connection, *, full: bool = False, until: datetime | None = None) -> dict:
    rows = conn.execute("SELECT view_name, mode, changes_applied, rows_deleted, rows_written, row_count, "
                        "materialized_until FROM wfm.refresh_aggregates(%s, %s)", (full, until)).fetchall()
    conn.commit()
    return {r[0]: r[1:] for r in rows}


def watermark(conn: psycopg.Connection) -> datetime | None:
    return conn.execute("SELECT materialized_until FROM wfm.aggregates WHERE view_name = 'wfm.mv_hourly_stats'"
                        ).fetchone()[0]


# ---------------------------------------------------------------- the checks

def assert_tables_equal_a_full_recompute(conn: psycopg.Connection) -> None:
    """What the refresh materialized is exactly sql/051's definition, before the watermark."""
    w = watermark(conn)
    assert w is not None
    assert conn.execute("SELECT count(*) FROM wfm.aggregate_changes").fetchone() == (0,)
    table = conn.execute(f"SELECT {_HOURLY_COLUMNS} FROM wfm.agg_hourly_stats").fetchall()
    oracle = conn.execute(f"SELECT * FROM ({HOURLY_ORACLE}) o WHERE hour_start < %s", (w,)).fetchall()
    assert _sorted(table) == _sorted(oracle)
    table = conn.execute(f"SELECT {_DAILY_COLUMNS} FROM wfm.agg_daily_service_stats").fetchall()
    oracle = conn.execute(f"""SELECT o.* FROM ({DAILY_ORACLE}) o JOIN wfm.services s USING (service_id)
                              WHERE o.stat_date < (%s::timestamptz AT TIME ZONE s.time_zone)::date""", (w,)).fetchall()
    assert _sorted(table) == _sorted(oracle)
    counts = dict(conn.execute("SELECT view_name, row_count FROM wfm.aggregates").fetchall())
    assert counts == {"wfm.mv_hourly_stats": conn.execute("SELECT count(*) FROM wfm.agg_hourly_stats").fetchone()[0],
                      "wfm.mv_daily_service_stats":
                          conn.execute("SELECT count(*) FROM wfm.agg_daily_service_stats").fetchone()[0]}
    # The hour-alignment flag agrees with the hour's four intervals' local hours.
    wrong = conn.execute("""SELECT count(*) FROM wfm.agg_hourly_stats h JOIN wfm.services s USING (service_id)
                            WHERE h.local_hour_aligned <> ((SELECT count(DISTINCT date_trunc('hour',
                                      (h.hour_start + q * interval '15 minutes') AT TIME ZONE s.time_zone))
                                  FROM generate_series(0, 3) q) = 1)""").fetchone()[0]
    assert wrong == 0


def assert_reads_equal_raw(conn: psycopg.Connection, rng: random.Random, *, calls: int = 12) -> None:
    """The readers' views and the API equal aggregating the raw rows, whatever is materialized."""
    view = conn.execute(f"SELECT {_HOURLY_COLUMNS} FROM wfm.mv_hourly_stats").fetchall()
    assert _sorted(view) == _sorted(conn.execute(HOURLY_ORACLE).fetchall())
    view = conn.execute(f"SELECT {_DAILY_COLUMNS} FROM wfm.mv_daily_service_stats").fetchall()
    assert _sorted(view) == _sorted(conn.execute(DAILY_ORACLE).fetchall())

    services = [r[0] for r in conn.execute("SELECT service_id FROM wfm.services ORDER BY 1")]
    for i in range(calls):
        start_window, days = WINDOWS[i % len(WINDOWS)]
        minutes = BUCKETS[i % len(BUCKETS)]
        # Quarter-hour aligned bounds (not hour or day aligned), also reaching past the data.
        start = start_window + timedelta(minutes=15 * rng.randint(-20, days * 96 - 40))
        end = start + timedelta(minutes=15 * rng.randint(1, days * 96))
        ids = None if i % 3 == 0 else rng.sample(services, rng.randint(1, 3))
        got = conn.execute("SELECT * FROM wfm.api_get_calls_by_interval(%s, %s, %s, %s)",
                           (start, end, minutes, ids)).fetchall()
        want = conn.execute("SELECT * FROM wfm.calls_by_interval_rows(%s, %s, %s, %s)",
                            (start, end, minutes, ids or services)).fetchall()
        assert got == want, (start, end, minutes, ids)
        # Whole local days of one service (how the month class asks), in its own zone.
        sid = rng.choice(services)
        tz = conn.execute("SELECT time_zone FROM wfm.services WHERE service_id = %s", (sid,)).fetchone()[0]
        first = (start_window + timedelta(days=rng.randint(-1, 3))).date()
        local = conn.execute("SELECT %s::timestamp AT TIME ZONE %s, %s::timestamp AT TIME ZONE %s",
                             (first, tz, first + timedelta(days=rng.randint(1, days)), tz)).fetchone()
        got = conn.execute("SELECT * FROM wfm.api_get_calls_by_interval(%s, %s, 1440, %s)",
                           (*local, [sid])).fetchall()
        want = conn.execute("SELECT * FROM wfm.calls_by_interval_rows(%s, %s, 1440, %s)",
                            (*local, [sid])).fetchall()
        assert got == want, (local, sid)

    w = watermark(conn)
    for sid in rng.sample(services, 2):
        for start, days in WINDOWS:
            for day in (start.date() + timedelta(days=d) for d in range(-1, days + 1)):
                got = conn.execute("SELECT * FROM wfm.api_get_service_summary(%s, %s)", (sid, day)).fetchall()
                want = conn.execute(f"""
                    SELECT %(s)s, %(d)s::date, d.group_id, g.code, coalesce(d.count, 0), coalesce(d.uniq, 0)::bigint,
                           coalesce(d.calls, 0)::bigint,
                           round((d.talk + d.pp)::numeric / nullif(d.calls, 0), 2),
                           round(d.talk::numeric / nullif(d.calls, 0), 2), round(d.pp::numeric / nullif(d.calls, 0), 2),
                           d.answered, d.abandoned, round(100 * d.within::numeric / nullif(d.sl_offered, 0), 2),
                           round(100 * d.abandoned::numeric / nullif(d.ab_offered, 0), 2), d.peak, d.peak_calls,
                           d.loaded, %(w)s::timestamptz
                    FROM (SELECT 1) one
                    LEFT JOIN (SELECT service_id, group_id, stat_date, count, src, uniq, calls, talk, pp, answered,
                                      sl_offered, within, ab_offered, abandoned, thr, peak, peak_calls, loaded
                               FROM ({DAILY_ORACLE}) o(service_id, group_id, stat_date, count, src, uniq, calls, talk,
                                      pp, answered, sl_offered, within, ab_offered, abandoned, thr, peak, peak_calls,
                                      loaded)) d ON d.service_id = %(s)s AND d.stat_date = %(d)s
                    LEFT JOIN wfm.groups g ON g.group_id = d.group_id
                    ORDER BY d.group_id NULLS FIRST""", {"s": sid, "d": day, "w": w}).fetchall()
                assert got == want, (sid, day)


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
    before = _sorted(conn.execute("SELECT * FROM wfm.agg_hourly_stats").fetchall())
    again = refresh(conn)
    assert again["wfm.mv_hourly_stats"][1:4] == (0, 0, 0) and again["wfm.mv_daily_service_stats"][2:4] == (0, 0)
    full = refresh(conn, full=True)
    assert full["wfm.mv_hourly_stats"][0] == "full"
    assert _sorted(conn.execute("SELECT * FROM wfm.agg_hourly_stats").fetchall()) == before
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
