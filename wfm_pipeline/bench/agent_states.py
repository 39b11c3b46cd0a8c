"""``wfm bench agent-states``: agent state events imported and turned into per-interval agent time,
and ``api_get_plan_vs_actual`` latency.

Data (generated, deterministic): ``services`` services in Europe/Berlin with ``agents`` agents
spread over them, each working one 8-hour shift a day with ``changes`` state events (logged_in,
then ready / talking / post_processing / not_ready, then logged_out) over ``days`` days from the
first of the previous month; one CSV file per service and ``file_days`` days (default: daily
exports, as an ACD sends them). 400 agents x 60 changes x 30 days = 720,000 events.

Measured:
* end to end: every file in arrival order as ``wfm import --kind agent-states
  --service-from-folder FILE...`` imports them: ``agent_runner`` with ``connections`` (default
  ``LOAD_CONNECTIONS``, 2: files of different services on two connections at once, each
  service's files in order, ``calls.concurrent.ConcurrentRun``); ``connections=1``:
  ``agent_prefetcher``, each file its own audited batch and transaction, in order - sha256,
  read, validation with the session rules against stored events, COPY into
  ``wfm.agent_state_transitions``, versions, state intervals and ``agent_activity`` derived in
  the same transaction, audit rows - while the next file is read, parsed and, being of another
  service, validated on a second connection, from the current file's COPY on:
  ``concurrent.LoadFirstPrefetcher``; ``one_by_one``: ``import_agent_file`` for one file after another; in seconds and events/s;
* bare COPY: the same accepted events as the loader's binary COPY stream into
  ``wfm.agent_state_transitions`` (its
  partitions, indexes and reference trigger; nothing derived; rolled back), and the ratio end to
  end / bare COPY;
* ``api_get_plan_vs_actual`` for one service, one local day, 15-minute buckets: p50/p95 of
  ``queries`` calls, with interval statistics and a daily forecast run for every service, and the
  month's agent activity repeated over ``scale_months`` months (the 13-month scale of the other
  benchmarks).

The benchmark uses its own database ``wfm_bench_agents`` (dropped and re-created each run;
``keep`` keeps it).
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from wfm_pipeline.argus.loader import ImportResult, Target
from wfm_pipeline.bench import bare_copy as bare_copy_mod
from wfm_pipeline.bench import scale
from wfm_pipeline.calls.concurrent import LOAD_CONNECTIONS
from wfm_pipeline.calls.agent_loader import _copy_events, agent_runner, import_agent_file, validate_file
from wfm_pipeline.calls.agent_reader import read_agent_file
from wfm_pipeline.db import connection, migrations

BENCH_DATABASE = "wfm_bench_agents"
TIME_ZONE = "Europe/Berlin"
STATES = np.array(["ready", "talking", "post_processing", "not_ready"], dtype=object)
Echo = Callable[[str], None]


def first_day() -> dt.date:
    """The first of the previous month (inside the premade partition window)."""
    today = dt.date.today().replace(day=1)
    return (today - dt.timedelta(days=1)).replace(day=1)


# ---------------------------------------------------------------- data
def service_events(index: int, start: dt.date, days: int, agents: int, changes: int) -> pd.DataFrame:
    """One service's events (agent, state, at as local ISO text, reason), in time order, vectorised."""
    rng = np.random.default_rng(1000 + index)
    shifts = days * agents
    day = np.repeat(np.arange(days), agents)
    agent = np.tile(np.arange(agents), days)
    begin = day * 86400 + 6 * 3600 + rng.integers(0, 8 * 3600, shifts)      # shifts start 06:00-14:00 local
    gaps = rng.exponential(1.0, (shifts, changes - 1)) + 0.05
    gaps = gaps / gaps.sum(axis=1, keepdims=True) * (8 * 3600)
    offsets = np.concatenate([np.zeros((shifts, 1)), np.cumsum(gaps, axis=1)], axis=1).astype(np.int64)
    seconds = begin[:, None] + offsets
    # distinct, increasing seconds within a shift
    seconds = seconds + np.arange(changes)[None, :]
    state = STATES[rng.choice(4, size=(shifts, changes), p=[0.45, 0.25, 0.15, 0.15])]
    state[:, 0] = "logged_in"
    state[:, -1] = "logged_out"
    reason = np.where(state == "not_ready", "BREAK", "").astype(object)
    local = np.datetime64(start.isoformat(), "s") + seconds.ravel().astype("timedelta64[s]")
    frame = pd.DataFrame({
        "agent": np.char.add(f"S{index:02d}A", np.repeat(agent, changes).astype(str)).astype(object),
        "state": state.ravel(), "local": local, "reason": reason.ravel()})
    # (shifts run 06:00-22:30 local: never in the daylight-saving hours 02:00-03:00)
    frame = frame.sort_values(["local", "agent"], kind="stable").reset_index(drop=True)
    frame["at"] = np.datetime_as_string(frame["local"].to_numpy("datetime64[s]"), unit="s")
    return frame[["agent", "state", "at", "reason"]]


def write_files(frame: pd.DataFrame, code: str, start: dt.date, days: int, file_days: int,
                workdir: Path) -> list[Path]:
    paths = []
    day_of = (pd.to_datetime(frame["at"]).dt.normalize() - pd.Timestamp(start)).dt.days.to_numpy()
    for first in range(0, days + 1, file_days):
        part = frame[(day_of >= first) & (day_of < first + file_days)]
        if len(part):
            path = workdir / f"{code}-{start + dt.timedelta(days=first):%Y%m%d}.csv"
            part.to_csv(path, sep=";", index=False, lineterminator="\n")
            paths.append(path)
    return paths


# ---------------------------------------------------------------- database
def fresh_database(echo: Echo) -> str:
    base = connection.server_url()
    with psycopg.connect(connection.with_database(base, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DATABASE)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DATABASE)))
    url = connection.with_database(base, BENCH_DATABASE)
    migrations.upgrade(url)
    echo(f"benchmark database {BENCH_DATABASE} created and migrated")
    return url


def drop_database() -> None:
    base = connection.server_url()
    with psycopg.connect(connection.with_database(base, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DATABASE)))


def bare_copy(conn: psycopg.Connection, files: list[tuple[Path, Target]]) -> tuple[int, float]:
    """Every file's accepted events COPYed into agent_state_transitions in one transaction,
    rolled back: (events, seconds of the COPYs only; validation runs before the clock starts)."""
    import uuid

    valid = []
    for path, target in files:
        valid.append(validate_file(conn, read_agent_file(path), target).valid)
    events, seconds = 0, 0.0
    with conn.transaction(force_rollback=True):
        for frame in valid:
            t = time.perf_counter()
            _copy_events(conn, frame, uuid.uuid4())
            seconds += time.perf_counter() - t
            events += len(frame)
    return events, seconds


def fill_plan(conn: psycopg.Connection, start: dt.date, days: int, scale_months: int) -> None:
    """Interval statistics and a daily forecast run per service for the benchmark month, and the
    month's agent activity, statistics and forecasts repeated over the months before it."""
    first = dt.datetime.combine(start, dt.time(0), tzinfo=ZoneInfo(TIME_ZONE))
    batch = conn.execute("INSERT INTO wfm.import_batches (source, status, kind) VALUES ('bench', 'completed', "
                         "'intervals') RETURNING import_batch_id").fetchone()[0]
    # calls follow the staffed agents (about 3.5 calls per staffed agent and interval)
    conn.execute(
        """INSERT INTO wfm.contact_statistics (interval_start_time, service_id, group_id, unique_incoming,
                   non_unique_incoming, avg_talk_time, avg_post_processing_time, answered_calls, answered_within_sl,
                   abandoned_calls, sl_threshold_seconds, import_batch_id)
           SELECT a.interval_start_time, a.service_id, NULL, c.calls, c.calls, 180, 30, c.calls, (c.calls * 0.8)::int,
                  0, 20, %s
           FROM wfm.agent_interval_stats a
           CROSS JOIN LATERAL (SELECT GREATEST((a.staffed_agents * 3.5)::int, 1) AS calls) c
           WHERE a.interval_start_time >= %s AND a.interval_start_time < %s""",
        (batch, first, first + dt.timedelta(days=days)))
    conn.execute(
        """WITH runs AS (
               INSERT INTO wfm.forecast_runs (service_id, created_at, as_of, horizon_start, horizon_end, model)
               SELECT s.service_id, d - interval '6 hours', d - interval '6 hours', d, d + interval '1 day', 'bench'
               FROM wfm.services s CROSS JOIN generate_series(%s::timestamptz, %s::timestamptz, interval '1 day') d
               RETURNING forecast_run_id, service_id, horizon_start)
           INSERT INTO wfm.forecasts (forecast_run_id, interval_start_time, service_id, calls, unique_calls, aht,
                                      required_agents, scheduled_agents)
           SELECT r.forecast_run_id, cs.interval_start_time, r.service_id, cs.non_unique_incoming,
                  cs.non_unique_incoming, 210, GREATEST(cs.non_unique_incoming / 4, 1), GREATEST(cs.non_unique_incoming / 3, 1)
           FROM runs r JOIN wfm.contact_statistics cs
             ON cs.service_id = r.service_id AND cs.interval_start_time >= r.horizon_start
            AND cs.interval_start_time < r.horizon_start + interval '1 day'""",
        (first, first + dt.timedelta(days=days - 1)))
    for table in ("wfm.agent_activity", "wfm.contact_statistics"):
        scale.repeat_month(conn, table, first, days, scale_months)
    conn.execute("ANALYZE wfm.forecasts")
    conn.commit()


# ---------------------------------------------------------------- run
def _import(conn: psycopg.Connection, url: str, files: list[tuple[Path, Target]],
            one_by_one: bool, connections: int = LOAD_CONNECTIONS) -> Iterator[ImportResult]:
    """Every file in arrival order through ``agent_runner``: files of different services on
    ``connections`` connections at once, each service's files in order (1: one connection, the
    next file prepared on a second one while the current one loads, as ``wfm import FILE...``
    does), or one ``import_agent_file`` after another."""
    if one_by_one:
        for path, target in files:
            yield import_agent_file(conn, path, target.service_code)
        return
    with agent_runner([(path, target.service_code) for path, target in files],
                      lambda: psycopg.connect(url), conninfo=url, connections=connections) as runner:
        for path, target in files:
            yield runner.run(conn, path, target.service_code).result


def run(*, services: int = 10, agents: int = 400, changes: int = 60, days: int = 30, file_days: int = 1,
        queries: int = 200, scale_months: int = 13, one_by_one: bool = False, connections: int = LOAD_CONNECTIONS,
        keep: bool = False, echo: Echo = print) -> dict[str, Any]:
    url = fresh_database(echo)
    workdir = Path(tempfile.mkdtemp(prefix="wfm-bench-agents-"))
    start = first_day()
    per_service = max(agents // services, 1)
    results: dict[str, Any] = {"services": services, "agents": per_service * services, "changes_per_day": changes,
                               "days": days, "file_days": file_days, "first_day": start.isoformat(),
                               "one_by_one": one_by_one, "connections": 1 if one_by_one else connections}
    try:
        with psycopg.connect(url, autocommit=False) as conn:
            targets = []
            for i in range(1, services + 1):
                sid = conn.execute("INSERT INTO wfm.services (code, name, time_zone) VALUES (%s, %s, %s) "
                                   "RETURNING service_id", (f"AGENTS{i:02d}", f"Agents {i}", TIME_ZONE)).fetchone()[0]
                targets.append(Target(sid, f"AGENTS{i:02d}", TIME_ZONE))
            conn.commit()
            t = time.perf_counter()
            files: list[tuple[Path, Target]] = []
            for i, target in enumerate(targets):
                frame = service_events(i + 1, start, days, per_service, changes)
                files += [(p, target) for p in write_files(frame, target.service_code, start, days, file_days, workdir)]
            files.sort(key=lambda f: (f[0].name.rsplit("-", 1)[1], f[0].name))   # day by day, as they arrive
            results["generate_s"] = round(time.perf_counter() - t, 1)
            events = sum(1 for path, _ in files for _ in open(path, encoding="utf-8")) - len(files)
            echo(f"generated {events:,} events in {len(files)} files ({results['generate_s']} s)")

            copied, seconds = bare_copy(conn, files)
            results.update(bare_copy_events=copied, bare_copy_s=round(seconds, 2))
            echo(f"bare COPY: {copied:,} events in {seconds:.2f} s")
            bare_copy_mod.vacuum_after(url, "wfm.agent_state_transitions")

            t = time.perf_counter()
            total = 0
            for result in _import(conn, url, files, one_by_one, connections):
                if result.status != "completed":
                    raise RuntimeError(f"{result.file}: {result.status} {result.error_message} {result.errors[:3]}")
                total += result.rows_total
            seconds = time.perf_counter() - t
            results.update(end_to_end_events=total, end_to_end_s=round(seconds, 1),
                           end_to_end_events_per_s=round(total / seconds),
                           ratio_to_bare_copy=round(seconds / results["bare_copy_s"], 1))
            echo(f"end to end: {total:,} events in {seconds:.1f} s")
            counts = conn.execute("SELECT (SELECT count(*) FROM wfm.agent_state_transitions), "
                                  "(SELECT count(*) FROM wfm.agent_activity), "
                                  "(SELECT count(*) FROM wfm.agent_state_transitions WHERE ended_at IS NULL "
                                  " AND state <> 'logged_out')").fetchone()
            conn.rollback()
            results.update(transitions=counts[0], agent_activity_rows=counts[1], open_states=counts[2])

            t = time.perf_counter()
            fill_plan(conn, start, days, scale_months)
            results["fill_plan_s"] = round(time.perf_counter() - t, 1)
            echo(f"statistics, forecasts and {scale_months} months of agent activity in {results['fill_plan_s']} s")
            zone = ZoneInfo(TIME_ZONE)
            rng = np.random.default_rng(7)
            timings = []
            for _ in range(queries):
                day = start + dt.timedelta(days=int(rng.integers(0, days)))
                local0 = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
                local1 = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
                target = targets[int(rng.integers(0, len(targets)))]
                q = time.perf_counter()
                rows = conn.execute("SELECT * FROM wfm.api_get_plan_vs_actual(%s, %s, %s)",
                                    (target.service_id, local0, local1)).fetchall()
                timings.append((time.perf_counter() - q) * 1000)
            conn.rollback()
            results.update(plan_vs_actual_rows=len(rows), plan_vs_actual_p50_ms=round(float(np.percentile(timings, 50)), 2),
                           plan_vs_actual_p95_ms=round(float(np.percentile(timings, 95)), 2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if not keep:
            drop_database()
    return results


def _how(results: dict[str, Any]) -> str:
    if results.get("one_by_one"):
        return "one file after another"
    if results.get("connections", 1) > 1 and results["services"] > 1:
        return f"services on {results['connections']} connections at once"
    return "next file prepared ahead"


def format_table(results: dict[str, Any]) -> str:
    return "\n".join([
        f"data: {results['services']} services, {results['agents']} agents, {results['changes_per_day']} state "
        f"changes per agent a day, {results['days']} days from {results['first_day']}, files of "
        f"{results['file_days']} day(s), {_how(results)}",
        f"end to end   {results['end_to_end_events']:>10,} events  {results['end_to_end_s']:>7} s  "
        f"{results['end_to_end_events_per_s']:>9,} events/s",
        f"bare COPY    {results['bare_copy_events']:>10,} events  {results['bare_copy_s']:>7} s",
        f"end to end / bare COPY: {results['ratio_to_bare_copy']}x",
        f"derived: {results['transitions']:,} transitions ({results['open_states']:,} open), "
        f"{results['agent_activity_rows']:,} agent_activity rows",
        f"api_get_plan_vs_actual one service, one day, 15-minute buckets ({results['plan_vs_actual_rows']} rows): "
        f"p50 {results['plan_vs_actual_p50_ms']} ms, p95 {results['plan_vs_actual_p95_ms']} ms",
    ])
