"""``wfm bench calls``: call-record import throughput, a one-day correction and agent statistics.

Data (generated, deterministic): ``services`` services in Europe/Berlin with two groups each,
``agents`` agents spread over them, ``calls_per_day`` calls a day over ``days`` days starting on
the first of the previous month (a daily curve, repeat callers, unknown callers, abandonments,
``other`` rows, calls answered with no agent), one CSV file per service (wall-clock ISO 8601).

Measured:
* end to end: every file imported as ``wfm import --kind calls --service-from-folder FILE...``
  does (sha256, read, validate, COPY into ``wfm.call_records``, intervals and agent activity
  derived in the same transaction, audit rows): files of different services on ``--connections``
  loading connections at once (default ``LOAD_CONNECTIONS``, 2: ``calls.concurrent.ConcurrentRun``;
  1: one connection, the next file read and validated in a thread while the current one loads,
  ``calls.loader.call_prefetcher``), in calls/s;
* bare COPY: the same accepted rows as the import's binary COPY into ``wfm.call_records`` (its partitions,
  indexes and reference trigger; nothing derived; rolled back, then VACUUMed untimed so the
  import starts on clean partitions), in calls/s, and the ratio end to end / bare COPY;
* correction: a file re-sending one service-day's calls with a tenth of them changed (moved,
  outcome, agent): the import and its ``apply`` step (re-deriving the day);
* ``api_get_agent_stats`` for one service, one day, hourly: p50/p95 of ``--queries`` calls.

The benchmark uses its own database ``wfm_bench_calls`` (dropped and re-created each run;
``--keep`` keeps it).
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from wfm_pipeline.argus.loader import Target
from wfm_pipeline.bench import bare_copy as bare_copy_mod
from wfm_pipeline.bench import scale
from wfm_pipeline.calls.concurrent import LOAD_CONNECTIONS
from wfm_pipeline.calls.files import analyze_months
from wfm_pipeline.calls.loader import call_copy_data, call_runner, copy_calls, groups_of, import_call_file
from wfm_pipeline.calls.reader import FIELDS, read_call_file
from wfm_pipeline.calls.validate import validate_calls
from wfm_pipeline.db import connection, migrations

BENCH_DATABASE = "wfm_bench_calls"
TIME_ZONE = "Europe/Berlin"
Echo = Callable[[str], None]


# ---------------------------------------------------------------- data
def first_day() -> dt.date:
    """The first of the previous month (inside the premade partition window)."""
    today = dt.date.today().replace(day=1)
    return (today - dt.timedelta(days=1)).replace(day=1)


def service_calls(index: int, start: dt.date, days: int, per_day: int, agents: list[str], seed: int = 0) -> pd.DataFrame:
    """One service's calls as file text (FIELDS), vectorised."""
    rng = np.random.default_rng(seed * 1000 + index)
    n = days * per_day
    day = np.repeat(np.arange(days), per_day)
    # a daily curve: most calls 08-20 local, some at night
    hour = np.clip(rng.normal(14, 3.5, n), 0, 23.999)
    seconds = (hour * 3600).astype(np.int64)
    local = (np.datetime64(start.isoformat(), "s") + (day * 86400 + seconds).astype("timedelta64[s]"))
    utc = (pd.DatetimeIndex(local).tz_localize(TIME_ZONE, ambiguous=True, nonexistent="shift_forward")
           .tz_convert("UTC").tz_localize(None).to_numpy("datetime64[s]"))
    order = np.argsort(utc, kind="stable")
    utc = utc[order]
    kind = rng.random(n)
    answered = kind < 0.85
    abandoned = (kind >= 0.85) & (kind < 0.97)
    wait = np.minimum(rng.exponential(20, n), 3600).astype(np.int64)
    talk = np.minimum(rng.exponential(240, n), 20000).astype(np.int64)
    hang_up = np.minimum(rng.exponential(45, n), 3600).astype(np.int64)
    answered_at = utc + wait.astype("timedelta64[s]")
    ended_at = np.where(answered, answered_at + talk.astype("timedelta64[s]"),
                        utc + hang_up.astype("timedelta64[s]"))

    def text(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        local_text = (pd.DatetimeIndex(values).tz_localize("UTC").tz_convert(TIME_ZONE).tz_localize(None)
                      .to_numpy("datetime64[s]"))
        out = np.datetime_as_string(local_text, unit="s").astype(object)
        out[~mask] = ""
        return out

    agent_pick = rng.integers(0, len(agents), n)
    agent = np.array(agents, dtype=object)[agent_pick]
    agent[~answered | (rng.random(n) < 0.02)] = ""
    customer = np.char.add("cust", rng.integers(1, 30000, n).astype(str)).astype(object)
    customer[rng.random(n) < 0.1] = "0"
    group = np.array(["G1", "G2", ""], dtype=object)[rng.integers(0, 3, n)]
    wrap = rng.integers(0, 61, n).astype(str).astype(object)
    wrap[~answered] = ""
    return pd.DataFrame({
        "call_id": np.char.add(f"s{index:02d}-", np.arange(n).astype(str)).astype(object),
        "offered_at": text(utc, np.ones(n, dtype=bool)),
        "answered_at": text(answered_at, answered),
        "ended_at": text(ended_at, answered | abandoned),
        "outcome": np.where(answered, "answered", np.where(abandoned, "abandoned", "other")).astype(object),
        "agent": agent, "customer_id": customer, "wrap_up_seconds": wrap, "group": group,
    }, columns=list(FIELDS))


def write_file(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, sep=";", index=False, lineterminator="\n")
    return path


def correction(frame: pd.DataFrame, day: dt.date, seed: int = 1) -> pd.DataFrame:
    """One day's calls sent again, a tenth of them changed."""
    rng = np.random.default_rng(seed)
    part = frame[frame["offered_at"].str.startswith(day.isoformat())].copy()
    change = rng.random(len(part)) < 0.1
    idx = part.index[change]
    answered = part.loc[idx, "outcome"] == "answered"
    part.loc[idx[answered.to_numpy()], "agent"] = "A-CORRECTED"
    abandon = idx[(~answered).to_numpy()]
    part.loc[abandon, ["answered_at", "agent", "wrap_up_seconds"]] = ""
    part.loc[abandon, "outcome"] = "abandoned"
    part.loc[abandon, "ended_at"] = part.loc[abandon, "offered_at"]
    return part


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
    """The accepted rows of every file COPYed into call_records in one transaction, rolled back:
    (calls, seconds of the COPYs only; each file's rows are prepared before its clock starts).
    The COPY is the import's own (binary, ``calls.loader.copy_calls``)."""
    calls, seconds = 0, 0.0
    with conn.transaction(force_rollback=True):
        for path, target in files:
            validation = validate_calls(read_call_file(path), target.time_zone, groups_of(conn, target.service_id),
                                        service=target.service_code)
            data = call_copy_data(validation.valid, target, uuid.uuid4())
            t = time.perf_counter()
            copy_calls(conn, data, len(validation.valid))
            seconds += time.perf_counter() - t
            calls += len(validation.valid)
    return calls, seconds


# ---------------------------------------------------------------- run
def run(*, services: int = 50, days: int = 31, calls_per_day: int = 100_000, agents: int = 400,
        queries: int = 100, scale_months: int = 13, keep: bool = False, connections: int = LOAD_CONNECTIONS,
        echo: Echo = print) -> dict[str, Any]:
    url = fresh_database(echo)
    workdir = Path(tempfile.mkdtemp(prefix="wfm-bench-calls-"))
    start = first_day()
    per_day = max(calls_per_day // services, 1)
    results: dict[str, Any] = {"services": services, "days": days, "calls_per_day": per_day * services,
                               "agents": agents, "first_day": start.isoformat(), "connections": connections}
    try:
        with psycopg.connect(url, autocommit=False) as conn:
            targets = []
            for i in range(1, services + 1):
                sid = conn.execute("INSERT INTO wfm.services (code, name, time_zone) VALUES (%s, %s, %s) "
                                   "RETURNING service_id", (f"CALLS{i:02d}", f"Calls {i}", TIME_ZONE)).fetchone()[0]
                for g in ("G1", "G2"):
                    conn.execute("INSERT INTO wfm.groups (service_id, code, name) VALUES (%s, %s, %s)", (sid, g, g))
                targets.append(Target(sid, f"CALLS{i:02d}", TIME_ZONE))
            conn.commit()
            t = time.perf_counter()
            names = [f"A{k:03d}" for k in range(1, agents + 1)]
            frames, files = [], []
            for i, target in enumerate(targets):
                own = names[i::services] or names[:1]
                frame = service_calls(i + 1, start, days, per_day, own)
                frames.append(frame)
                files.append((write_file(frame, workdir / f"{target.service_code}.csv"), target))
            results["generate_s"] = round(time.perf_counter() - t, 1)
            echo(f"generated {sum(len(f) for f in frames):,} calls in {len(files)} files ({results['generate_s']} s)")

            calls, seconds = bare_copy(conn, files)
            results["bare_copy_calls_per_s"] = round(calls / seconds)
            echo(f"bare COPY: {calls:,} calls in {seconds:.1f} s")
            t = time.perf_counter()
            bare_copy_mod.vacuum_after(url, "wfm.call_records")
            results["vacuum_after_bare_copy_s"] = round(time.perf_counter() - t, 1)

            t = time.perf_counter()
            total = 0
            imported = []
            # as `wfm import --service-from-folder FILE...` does: files of different services on
            # `connections` connections at once (1: the next file read and validated meanwhile)
            with call_runner([(path, target.service_code) for path, target in files],
                             lambda: psycopg.connect(url), conninfo=url, connections=connections) as runner:
                for path, target in files:
                    result = runner.run(conn, path, target.service_code).result
                    if result.status != "completed":
                        raise RuntimeError(f"{path.name}: {result.status} {result.error_message}")
                    total += result.rows_total
                    imported.append(result)
            seconds = time.perf_counter() - t
            # `wfm import --kind calls FILE...` ends with one ANALYZE of the months written: timed apart
            t = time.perf_counter()
            analyze_months(conn, "calls", imported)
            results["analyze_s"] = round(time.perf_counter() - t, 2)
            results.update(end_to_end_calls=total, end_to_end_s=round(seconds, 1),
                           end_to_end_calls_per_s=round(total / seconds),
                           ratio_to_bare_copy=round(total / seconds / results["bare_copy_calls_per_s"], 3))
            echo(f"end to end: {total:,} calls in {seconds:.1f} s (then ANALYZE of the months written: "
                 f"{results['analyze_s']} s)")
            counts = conn.execute("SELECT (SELECT count(*) FROM wfm.contact_statistics), "
                                  "(SELECT count(*) FROM wfm.agent_activity)").fetchone()
            conn.rollback()
            results.update(contact_statistics_rows=counts[0], agent_activity_rows=counts[1])

            day = start + dt.timedelta(days=min(9, days - 1))
            fix = correction(frames[0], day)
            path = write_file(fix, workdir / "correction.csv")
            t = time.perf_counter()
            result = import_call_file(conn, path, targets[0].service_code)
            results.update(correction_calls=result.rows_total, correction_replaced=result.rows_updated,
                           correction_import_s=round(time.perf_counter() - t, 3),
                           correction_apply_s=round(result.timings.get("apply", 0.0), 3))
            echo(f"correction of one day: {result.rows_total:,} calls, apply {results['correction_apply_s']} s")

            t = time.perf_counter()
            first = dt.datetime.combine(start, dt.time(0), tzinfo=ZoneInfo(TIME_ZONE))
            scale.repeat_month(conn, "wfm.agent_activity", first, days, scale_months)
            conn.commit()
            results.update(scale_months=scale_months, scale_fill_s=round(time.perf_counter() - t, 1))
            echo(f"agent activity repeated over {scale_months} months ({results['scale_fill_s']} s)")

            local0 = dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(TIME_ZONE))
            window = (local0, local0 + dt.timedelta(days=1))
            # one service (its own agents), and as many services as it takes to reach 40 agents
            for label, ids in (("agent_stats", [targets[0].service_id]),
                               ("agent_stats_40", _services_for_agents(conn, targets, window, 40))):
                timings = []
                for _ in range(queries):
                    t = time.perf_counter()
                    rows = conn.execute("SELECT * FROM wfm.api_get_agent_stats(%s, %s, 60, %s)", (*window, ids)).fetchall()
                    timings.append((time.perf_counter() - t) * 1000)
                conn.rollback()
                results.update({f"{label}_services": len(ids), f"{label}_agents": len({r[1] for r in rows}),
                                f"{label}_p50_ms": round(float(np.percentile(timings, 50)), 2),
                                f"{label}_p95_ms": round(float(np.percentile(timings, 95)), 2)})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if not keep:
            drop_database()
    return results


def _services_for_agents(conn: psycopg.Connection, targets: list, window: tuple, agents: int) -> list[int]:
    """The first services (in order) whose agents with activity in ``window`` add up to ``agents``."""
    ids: list[int] = []
    seen: set[int] = set()
    for target in targets:
        ids.append(target.service_id)
        seen |= {a for (a,) in conn.execute(
            "SELECT DISTINCT agent_id FROM wfm.agent_activity WHERE service_id = %s "
            "AND interval_start_time >= %s AND interval_start_time < %s", (target.service_id, *window))}
        if len(seen) >= agents:
            break
    conn.rollback()
    return ids


def format_table(results: dict[str, Any]) -> str:
    return "\n".join([
        f"data: {results['services']} services, {results['agents']} agents, {results['calls_per_day']:,} calls/day, "
        f"{results['days']} days from {results['first_day']}",
        f"end to end      {results['end_to_end_calls']:>12,} calls  {results['end_to_end_s']:>8} s  "
        f"{results['end_to_end_calls_per_s']:>10,} calls/s  ({results.get('connections', 1)} loading connection(s))",
        f"bare COPY       {'':>12}        {'':>8}    {results['bare_copy_calls_per_s']:>10,} calls/s",
        f"ratio end to end / bare COPY: {results['ratio_to_bare_copy']:.1%}; the closing ANALYZE of the months "
        f"written {results.get('analyze_s', '-')} s (not in end to end)",
        f"derived: {results['contact_statistics_rows']:,} interval rows, {results['agent_activity_rows']:,} agent rows",
        f"correction of one service-day: {results['correction_calls']:,} calls ({results['correction_replaced']:,} "
        f"replaced), import {results['correction_import_s']} s, re-derivation (apply) {results['correction_apply_s']} s",
        f"api_get_agent_stats one day, hourly, {results['scale_months']}-month scale: one service "
        f"({results['agent_stats_agents']} agents) p50 {results['agent_stats_p50_ms']} ms, p95 "
        f"{results['agent_stats_p95_ms']} ms; {results['agent_stats_40_services']} services "
        f"({results['agent_stats_40_agents']} agents) p50 {results['agent_stats_40_p50_ms']} ms, p95 "
        f"{results['agent_stats_40_p95_ms']} ms",
    ])
