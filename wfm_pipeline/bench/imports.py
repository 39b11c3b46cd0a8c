"""``wfm bench import``: Argus import throughput against two references, in one run.

Data: a generated 13-month Argus .xlsx for one service (~38,000 rows, local wall-clock times
of Europe/Berlin, so the DST gap is absent and the fall-back hour appears twice, as in real
exports), and a 200-group data set (one .xlsx per group, ``group_days`` days each).

Measured (rows/s):
* read: ``read_argus_file`` (python-calamine);
* validate: ``validate_argus`` (vectorised parse + pandera + DST + duplicates);
* load: ``load_validated`` (COPY into the history + set-based upsert + audit rows, one
  transaction; partitions exist beforehand);
* end to end: ``import_file`` (sha256, duplicate check, read, validate, load, commit);
* pandas: ``read_excel(engine="openpyxl")`` + ``to_sql`` of the same file (what one would
  write by hand), into an empty copy of contact_statistics;
* bare COPY: the same rows as COPY text into an empty copy of contact_statistics (same
  CHECKs and indexes, no partitions, no history, no audit): the limit for the load step;
* 200 groups: ``import_file`` once per group file.

``--dagster`` (``dagster_vs_cli``) measures instead one 38,000-row file through ``wfm import``
(``runner.import_files``, what the command runs) and through the Dagster file assets
(``dg.materialize`` of ``argus_file_import`` in process, on an on-disk instance in a temporary
``DAGSTER_HOME``, the file dropped into a temporary landing folder), best of ``repeat`` each.

The benchmark uses its own database ``wfm_bench_import`` (dropped and re-created each run;
``--keep`` keeps it afterwards).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

from wfm_pipeline.argus.loader import Target, load_validated, resolve_target
from wfm_pipeline.argus.steps import import_file
from wfm_pipeline.argus import landing
from wfm_pipeline.argus.reader import file_sha256, read_argus_file
from wfm_pipeline.argus.validate import validate_argus
from wfm_pipeline.db import connection, migrations

BENCH_DATABASE = "wfm_bench_import"
TIME_ZONE = "Europe/Berlin"
Echo = Callable[[str], None]


# ---------------------------------------------------------------- data generation
def local_intervals(first_utc: dt.datetime, count: int, time_zone: str = TIME_ZONE) -> list[dt.datetime]:
    """Local wall-clock starts of ``count`` consecutive UTC intervals (as an Argus export shows them)."""
    tz = ZoneInfo(time_zone)
    return [(first_utc + dt.timedelta(minutes=15 * i)).astimezone(tz).replace(tzinfo=None) for i in range(count)]


def synthetic_rows(first_utc: dt.datetime, count: int, seed: int = 0) -> list[list]:
    """Call-centre-like rows: a daily curve, B <= C, plausible durations; deterministic."""
    import numpy as np

    rng = np.random.default_rng(seed)
    local = local_intervals(first_utc, count)
    hours = np.array([t.hour + t.minute / 60 for t in local])
    curve = np.clip(np.sin((hours - 7) / 14 * np.pi), 0, None) * 40
    unique = rng.poisson(curve)
    non_unique = unique + rng.poisson(unique * 0.15)
    talk = np.where(non_unique > 0, rng.integers(90, 420, count), 0)
    post = np.where(non_unique > 0, rng.integers(10, 90, count), 0)
    return [[t, int(b), int(c), int(d), int(e)] for t, b, c, d, e in zip(local, unique, non_unique, talk, post)]


def write_xlsx(path: Path, rows: list[list]) -> Path:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Argus")
    ws.append(["Start time", "Unique incoming", "Non-unique incoming", "Average talk time",
               "Average post-processing time"])
    for row in rows:
        cell = WriteOnlyCell(ws, value=row[0])
        cell.number_format = "DD.MM.YYYY HH:MM:SS"
        ws.append([cell, *row[1:]])
    wb.save(path)
    return path


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


def drop_database(url: str) -> None:
    base = connection.server_url()
    with psycopg.connect(connection.with_database(base, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DATABASE)))


def _copy_table(conn: psycopg.Connection, name: str, *, foreign_keys: bool = True) -> None:
    """An empty, unpartitioned copy of contact_statistics: same columns, CHECKs, indexes and
    (unless ``foreign_keys=False``) the same statement-level reference check (sql/010), which
    LIKE does not copy."""
    conn.execute(f"DROP TABLE IF EXISTS wfm.{name}")
    conn.execute(f"CREATE TABLE wfm.{name} (LIKE wfm.contact_statistics INCLUDING ALL)")
    if foreign_keys:
        conn.execute(f"CREATE TRIGGER bench_references AFTER INSERT ON wfm.{name} REFERENCING NEW TABLE AS new_rows "
                     "FOR EACH STATEMENT EXECUTE FUNCTION wfm.contact_statistics_check_references()")
    conn.commit()


# ---------------------------------------------------------------- measurements
def _rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else float("inf")


def bare_copy(conn: psycopg.Connection, valid, service_id: int, *, foreign_keys: bool = True) -> float:
    """COPY the validated rows into an empty copy of contact_statistics; seconds incl. commit."""
    _copy_table(conn, "bench_bare_copy", foreign_keys=foreign_keys)
    batch = uuid.uuid4()
    ts = valid["interval_start_time"].dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ").tolist()
    cols = [valid[c].astype("Int64").astype(object).where(valid[c].notna(), "\\N").tolist()
            for c in ("unique_incoming", "non_unique_incoming", "avg_talk_time", "avg_post_processing_time")]
    data = "".join(f"{service_id}\t\\N\t{batch}\t{t}\t{b}\t{c}\t{d}\t{e}\n"
                   for t, b, c, d, e in zip(ts, *cols)).encode()
    started = time.perf_counter()
    with conn.cursor() as cur, cur.copy(
            "COPY wfm.bench_bare_copy (service_id, group_id, import_batch_id, interval_start_time, unique_incoming, "
            "non_unique_incoming, avg_talk_time, avg_post_processing_time) FROM STDIN") as copy:
        copy.write(data)
    conn.commit()
    return time.perf_counter() - started


def pandas_pipeline(url: str, path: Path, service_id: int) -> tuple[float, int]:
    """read_excel(openpyxl) + to_sql into an empty copy of contact_statistics: (seconds, rows)."""
    import pandas as pd
    from sqlalchemy import Uuid, create_engine

    with psycopg.connect(url) as conn:
        _copy_table(conn, "bench_pandas")
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        started = time.perf_counter()
        df = pd.read_excel(path, engine="openpyxl")
        df.columns = ["start", "unique_incoming", "non_unique_incoming", "avg_talk_time", "avg_post_processing_time"]
        local = pd.to_datetime(df["start"], dayfirst=True)
        df["interval_start_time"] = local.dt.tz_localize(TIME_ZONE, ambiguous="NaT", nonexistent="NaT")
        df = df.dropna(subset=["interval_start_time"]).drop(columns="start")
        df["service_id"] = service_id
        df["import_batch_id"] = uuid.uuid4()
        df.to_sql("bench_pandas", engine, schema="wfm", if_exists="append", index=False,
                  dtype={"import_batch_id": Uuid()})
        seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    return seconds, len(df)


def run(*, rows: int = 38_000, groups: int = 200, group_days: int = 7, pandas_baseline: bool = True,
        repeat: int = 3, keep: bool = False, echo: Echo = print) -> dict[str, Any]:
    """Run every measurement; returns a JSON-able dict (``format_table`` prints it).

    Each single-file measurement runs ``repeat`` times (a fresh service each time, so every
    load inserts the same 38k new intervals) and the fastest run counts: on a shared machine
    the minimum is the least noisy estimate of what the code costs. All runs are kept in
    the JSON output.
    """
    work = Path(tempfile.mkdtemp(prefix="wfm-bench-import-"))
    url = fresh_database(echo)
    results: dict[str, Any] = {"rows": rows, "groups": groups, "group_days": group_days, "repeat": repeat,
                               "machine": f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start",
                               "stages": {}, "runs": {}}

    def record(stage: str, n_rows: int, seconds: list[float], **extra: Any) -> None:
        results["runs"][stage] = [round(x, 4) for x in seconds]
        results["stages"][stage] = {"rows": n_rows, "seconds": min(seconds), **extra}

    try:
        first_utc = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
        echo(f"generating a {rows:,}-row Argus .xlsx (13 months at 15 minutes) ...")
        data = synthetic_rows(first_utc, rows)
        big = write_xlsx(work / "argus_13_months.xlsx", data)
        with psycopg.connect(url, options="-c search_path=wfm,public") as conn:
            codes = ["WARM", "GROUPS"] + [f"E2E{i}" for i in range(repeat)] + [f"STAGES{i}" for i in range(repeat)]
            for code in codes:
                conn.execute("INSERT INTO wfm.services (code, name, time_zone) VALUES (%s, %s, %s)",
                             (code, f"bench {code}", TIME_ZONE))
            conn.execute("""INSERT INTO wfm.groups (service_id, code, name)
                            SELECT s.service_id, 'G' || lpad(g::text, 3, '0'), 'group ' || g
                            FROM wfm.services s, generate_series(1, %s) g WHERE s.code = 'GROUPS'""", (groups,))
            conn.commit()
            # Every month partition exists first: the load numbers are steady state, not DDL.
            conn.execute("SELECT wfm.ensure_monthly_partitions(t, %s, %s) FROM unnest(ARRAY["
                         "'wfm.contact_statistics', 'wfm.contact_statistics_history']::regclass[]) t",
                         (first_utc, first_utc + dt.timedelta(minutes=15 * rows)))
            conn.commit()

            # Warm-up (imports, caches): a small file for a throw-away service.
            import_file(conn, write_xlsx(work / "warm.xlsx", data[:500]), "WARM")

            echo(f"end to end (import_file), {repeat} runs ...")
            times = []
            for i in range(repeat):
                t = time.perf_counter()
                e2e = import_file(conn, big, f"E2E{i}")
                times.append(time.perf_counter() - t)
                assert e2e.status == "completed", e2e.to_dict()
            record("end_to_end", e2e.rows_total, times)

            echo(f"read / validate / load separately, {repeat} runs ...")
            read_t, validate_t, load_t, loads = [], [], [], []
            sha = file_sha256(big)
            for i in range(repeat):
                t = time.perf_counter()
                raw = read_argus_file(big)
                read_t.append(time.perf_counter() - t)
                t = time.perf_counter()
                validation = validate_argus(raw, TIME_ZONE)
                validate_t.append(time.perf_counter() - t)
                target: Target = resolve_target(conn, f"STAGES{i}")
                conn.rollback()
                t = time.perf_counter()
                loads.append(load_validated(conn, validation, target, file_name=big.name, sha256=sha))
                load_t.append(time.perf_counter() - t)
            record("read", raw.rows_total, read_t)
            record("validate", validation.rows_total, validate_t)
            record("load", loads[0].rows_inserted + loads[0].rows_updated, load_t)
            best = loads[load_t.index(min(load_t))]
            results["load_breakdown_s"] = {k: round(v, 4) for k, v in best.timings.items() if k != "validate"}

            echo(f"bare COPY into an empty copy of contact_statistics, {repeat} runs ...")
            record("bare_copy", len(validation.valid),
                   [bare_copy(conn, validation.valid, target.service_id) for _ in range(repeat)])
            record("bare_copy_no_fk", len(validation.valid),
                   [bare_copy(conn, validation.valid, target.service_id, foreign_keys=False) for _ in range(repeat)])

        if pandas_baseline:
            echo(f"pandas read_excel(openpyxl) + to_sql, {repeat} runs ...")
            pandas_runs = [pandas_pipeline(url, big, target.service_id) for _ in range(repeat)]
            record("pandas", pandas_runs[0][1], [sec for sec, _ in pandas_runs])

        echo(f"{groups} group files x {group_days} days ...")
        group_rows = group_days * 96
        paths = [write_xlsx(work / f"group_{g:03d}.xlsx", synthetic_rows(first_utc, group_rows, seed=g))
                 for g in range(1, groups + 1)]
        with psycopg.connect(url, options="-c search_path=wfm,public") as conn:
            t = time.perf_counter()
            total = 0
            for g, path in enumerate(paths, start=1):
                total += import_file(conn, path, "GROUPS", f"G{g:03d}").rows_total
            record("groups", total, [time.perf_counter() - t], files=groups)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not keep:
            drop_database(url)

    for stage in results["stages"].values():
        stage["rows_per_s"] = _rate(stage["rows"], stage["seconds"])
    st = results["stages"]
    if "pandas" in st:
        results["end_to_end_vs_pandas"] = st["end_to_end"]["rows_per_s"] / st["pandas"]["rows_per_s"]
    results["load_vs_bare_copy"] = st["load"]["rows_per_s"] / st["bare_copy"]["rows_per_s"]
    results["load_vs_bare_copy_no_fk"] = st["load"]["rows_per_s"] / st["bare_copy_no_fk"]["rows_per_s"]
    return results


_LABELS = {
    "read": "read (python-calamine)",
    "validate": "validate (parse + pandera + DST + duplicates)",
    "load": "load (COPY history + upsert + audit, 1 tx)",
    "end_to_end": "end to end (import_file: file -> committed)",
    "pandas": "pandas read_excel(openpyxl) + to_sql",
    "bare_copy": "bare COPY into empty copy of the table",
    "bare_copy_no_fk": "  same, without the reference check",
    "groups": "groups: import_file per group file",
}


def format_table(results: dict[str, Any]) -> str:
    lines = [f"{'stage':<48} {'rows':>9} {'seconds':>9} {'rows/s':>11}"]
    for key in ("read", "validate", "load", "end_to_end", "pandas", "bare_copy", "bare_copy_no_fk", "groups"):
        s = results["stages"].get(key)
        if s is None:
            continue
        label = _LABELS[key] + (f" ({s['files']} files)" if "files" in s else "")
        lines.append(f"{label:<48} {s['rows']:>9,} {s['seconds']:>9.3f} {s['rows_per_s']:>11,.0f}")
    if "end_to_end_vs_pandas" in results:
        lines.append(f"end to end vs pandas: {results['end_to_end_vs_pandas']:.1f}x (target >= 5x)")
    lines.append(f"load vs bare COPY: {results['load_vs_bare_copy']:.0%} (target >= 40%); "
                 f"vs COPY without the reference check: {results['load_vs_bare_copy_no_fk']:.0%}")
    if "load_breakdown_s" in results:
        lines.append("load breakdown (s): " + ", ".join(f"{k} {v}" for k, v in results["load_breakdown_s"].items()))
    return "\n".join(lines)


# ---------------------------------------------------------------- wfm import vs the Dagster assets
_BENCH_ENV = ("WFM_HOME", "WFM_LANDING_DIR", "DAGSTER_HOME", "WFM_DATABASE_URL")
INSTANCES = ("ephemeral", "postgres")


def dagster_vs_cli(*, rows: int = 38_000, repeat: int = 3, keep: bool = False, echo: Echo = print) -> dict[str, Any]:
    """One file through ``wfm import`` and through the Dagster file assets: seconds (best of
    ``repeat``) and the ratios. Each run imports the file for a fresh service (the same work each
    time). A Dagster run includes finding the file, the import, moving it to the archive and
    writing the run's events, on two instances: ``ephemeral`` (in memory, as the tests use) and
    ``postgres`` (the storage ``wfm dev`` configures: ``defs.instance.write_dagster_yaml``, here in
    the benchmark database). Settings point at a temporary WFM_HOME meanwhile (restored after)."""
    import dagster as dg

    from wfm_pipeline.argus.runner import import_files
    from wfm_pipeline.db.pool import close_all
    from wfm_pipeline.defs.ingest import argus_file_import
    from wfm_pipeline.defs.instance import write_dagster_yaml
    from wfm_pipeline.defs.resources import WfmDatabase
    from wfm_pipeline.settings import get_settings

    work = Path(tempfile.mkdtemp(prefix="wfm-bench-dagster-"))
    environment = dict(os.environ)  # restored after: settings are read from it per call
    saved = {k: environment.get(k) for k in _BENCH_ENV}
    url = fresh_database(echo)
    instances: dict[str, dg.DagsterInstance] = {}
    results: dict[str, Any] = {"rows": rows, "repeat": repeat, "runs": {},
                               "machine": f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start"}
    try:
        os.environ.update({"WFM_HOME": str(work / "home"), "DAGSTER_HOME": str(work / "home" / "dagster"),
                           "WFM_DATABASE_URL": url})
        os.environ.pop("WFM_LANDING_DIR", None)
        settings = get_settings()
        instances["ephemeral"] = dg.DagsterInstance.ephemeral()
        write_dagster_yaml(settings)
        instances["postgres"] = dg.DagsterInstance.from_config(str(settings.dagster_home))
        resources = {"wfm_db": WfmDatabase(url=url)}
        first_utc = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
        echo(f"generating a {rows:,}-row Argus .xlsx (13 months at 15 minutes) ...")
        data = synthetic_rows(first_utc, rows)
        big = write_xlsx(work / "argus_13_months.xlsx", data)
        small = write_xlsx(work / "warm.xlsx", data[:500])
        ways = ("CLI", *INSTANCES)
        with psycopg.connect(url, options="-c search_path=wfm,public") as conn:
            for code in (f"{way}{i}".upper() for way in ways for i in range(repeat + 1)):  # 0: warm-up
                conn.execute("INSERT INTO wfm.services (code, name, time_zone) VALUES (%s, %s, %s)",
                             (code, f"bench {code}", TIME_ZONE))
            conn.execute("SELECT wfm.ensure_monthly_partitions(t, %s, %s) FROM unnest(ARRAY["
                         "'wfm.contact_statistics', 'wfm.contact_statistics_history']::regclass[]) t",
                         (first_utc, first_utc + dt.timedelta(minutes=15 * rows)))
            conn.commit()

        def connect() -> psycopg.Connection:
            return psycopg.connect(url, options="-c search_path=wfm,public")

        def cli_run(path: Path, i: int) -> float:
            started = time.perf_counter()
            (result,) = import_files(connect, [path], f"CLI{i}")
            seconds = time.perf_counter() - started
            assert result.status == "completed", result.to_dict()
            return seconds

        def dagster_run(path: Path, i: int, name: str) -> float:
            code = f"{name}{i}".upper()
            dropped = settings.landing_dir / code / path.name
            dropped.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dropped)
            key = landing.partition_key(code, None, path.name, file_sha256(dropped))  # the sensor's part
            instances[name].add_dynamic_partitions("argus_files", [key])
            started = time.perf_counter()
            result = dg.materialize([argus_file_import], partition_key=key, instance=instances[name],
                                    resources=resources)
            seconds = time.perf_counter() - started
            assert result.success and not dropped.exists()
            return seconds

        cli_run(small, 0)
        for name in INSTANCES:
            dagster_run(small, 0, name)
        echo(f"wfm import and the Dagster file assets ({', '.join(INSTANCES)} instance), {repeat} runs each ...")
        runs = {"wfm_import": [], **{name: [] for name in INSTANCES}}
        for i in range(1, repeat + 1):  # interleaved: machine load hits every way alike
            runs["wfm_import"].append(cli_run(big, i))
            for name in INSTANCES:
                runs[name].append(dagster_run(big, i, name))
        results["runs"] = {k: [round(x, 4) for x in v] for k, v in runs.items()}
        results["seconds"] = {k: min(v) for k, v in runs.items()}
        results["vs_wfm_import"] = {name: min(runs[name]) / min(runs["wfm_import"]) for name in INSTANCES}
    finally:
        for instance in instances.values():
            instance.dispose()
        close_all()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ.update({k: v})
        shutil.rmtree(work, ignore_errors=True)
        if not keep:
            drop_database(url)
    return results


def format_dagster(results: dict[str, Any]) -> str:
    sec, ratio = results["seconds"], results["vs_wfm_import"]
    return "\n".join([
        f"{format(results['rows'], ',')} rows, best of {results['repeat']}{'':<20} {'seconds':>9} {'vs wfm import':>14}",
        f"{'wfm import (runner.import_files)':<48} {sec['wfm_import']:>9.3f}",
        *(f"{'Dagster file assets, ' + name + ' instance':<48} {sec[name]:>9.3f} {ratio[name]:>13.2f}x"
          for name in INSTANCES),
        "target: at most 1.5x",
    ])
