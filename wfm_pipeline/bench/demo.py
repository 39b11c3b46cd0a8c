"""Generated history for demos, the benchmark and tests.

Two ways in:

* ``insert_history`` / ``load_demo`` COPY generated rows straight into contact_statistics
  (``wfm forecast demo``, the forecast benchmark, tests);
* ``run_demo`` is the first run of a new install (``wfm demo``): it registers a sample service
  with two groups, creates their landing folders and drops generated Argus ``.xlsx`` exports
  there, so the landing sensor of a running ``wfm dev`` imports them like any user's files.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import uuid
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import psycopg

from wfm_pipeline.argus import landing
from wfm_pipeline.argus.loader import find_duplicate, resolve_target
from wfm_pipeline.bench import forecast_data as generator
from wfm_pipeline.db import catalog


def insert_history(conn: psycopg.Connection, service_id: int, group_id: int | None, frame: pd.DataFrame,
                   source: str = "synthetic") -> str:
    """COPY generated rows into contact_statistics under a new import batch; the caller commits.

    Creates the monthly partitions first. Returns the import batch id.
    """
    if frame.empty:
        raise ValueError("no rows to insert")
    first = frame["interval_start"].min()
    last = frame["interval_start"].max()
    conn.execute("SELECT wfm.ensure_monthly_partitions('wfm.contact_statistics', %s, %s)",
                 (first.to_pydatetime(), last.to_pydatetime()))
    batch = str(uuid.uuid4())
    conn.execute(
        """INSERT INTO wfm.import_batches (import_batch_id, source, service_id, group_id, status, rows_total,
                                           rows_inserted, first_interval, last_interval, finished_at)
           VALUES (%s, %s, %s, %s, 'completed', %s, %s, %s, %s, now())""",
        (batch, source, service_id, group_id, len(frame), len(frame), first.to_pydatetime(), last.to_pydatetime()))
    # One CSV buffer through COPY: a Python call per row would dominate the load time.
    out = pd.DataFrame({
        "ts": pd.DatetimeIndex(frame["interval_start"]).tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S+00"),
        "unique": frame["unique_calls"].astype(int), "calls": frame["calls"].astype(int),
        "talk": frame["avg_talk_time"].astype(int), "wrap": frame["avg_post_processing_time"].astype(int),
        "service": service_id, "group": "" if group_id is None else str(group_id), "batch": batch,
    })
    with conn.cursor() as cur, cur.copy(
            """COPY wfm.contact_statistics (interval_start_time, unique_incoming, non_unique_incoming, avg_talk_time,
                                            avg_post_processing_time, service_id, group_id, import_batch_id)
               FROM STDIN WITH (FORMAT csv)""") as cp:
        cp.write(out.to_csv(index=False, header=False))
    return batch


def ensure_service(conn: psycopg.Connection, code: str, time_zone: str, groups: list[str]) -> tuple[int, dict]:
    """Create (or reuse) a service and its groups; returns service id and {group code: id}."""
    row = conn.execute("SELECT service_id FROM wfm.services WHERE code = %s", (code,)).fetchone()
    service_id = row[0] if row else conn.execute(
        "INSERT INTO wfm.services (code, name, time_zone) VALUES (%s, %s, %s) RETURNING service_id",
        (code, f"{code} (generated demo data)", time_zone)).fetchone()[0]
    ids = {}
    for g in groups:
        r = conn.execute("SELECT group_id FROM wfm.groups WHERE service_id = %s AND code = %s", (service_id, g)).fetchone()
        ids[g] = r[0] if r else conn.execute(
            "INSERT INTO wfm.groups (service_id, code, name) VALUES (%s, %s, %s) RETURNING group_id",
            (service_id, g, f"group {g}")).fetchone()[0]
    return service_id, ids


def load_demo(conn: psycopg.Connection, code: str, *, end: date, weeks: int = 24, daily_calls: float = 3000.0,
              time_zone: str = "Europe/Berlin", seed: int = 1) -> dict:
    """A service with ``weeks`` of realistic service-level history ending the day before ``end``,
    its holidays registered as special days. Refuses a service that already has statistics."""
    service_id, _ = ensure_service(conn, code, time_zone, [])
    if conn.execute("SELECT 1 FROM wfm.contact_statistics WHERE service_id = %s LIMIT 1", (service_id,)).fetchone():
        raise ValueError(f"service {code!r} already has statistics; use another code")
    start = end - timedelta(days=7 * weeks)
    spec = generator.SyntheticSpec(start=start, days=7 * weeks, time_zone=time_zone, daily_calls=daily_calls,
                                   holidays=generator.default_holidays(start, 7 * weeks), seed=seed)
    frame = generator.generate(spec)
    insert_history(conn, service_id, None, frame)
    for day in spec.holidays:
        conn.execute("""INSERT INTO wfm.special_days (service_id, day, exclude_from_training, multiplier, description)
                        VALUES (%s, %s, true, 0, 'generated holiday') ON CONFLICT DO NOTHING""", (service_id, day))
    return {"service_id": service_id, "rows": len(frame), "calls": int(frame["calls"].sum()),
            "start": str(start), "end": str(end), "holidays": [str(d) for d in spec.holidays]}



# ---------------------------------------------------------------- first run: `wfm demo`
DEMO_SERVICE = "DEMO"
DEMO_SERVICE_NAME = "Demo call centre (generated data)"
DEMO_TIME_ZONE = "Europe/Berlin"
# group code, name, calls on an average weekday: two series of different size.
DEMO_GROUPS = (("sales", "Sales hotline", 800.0), ("support", "Customer support", 2000.0))
DEMO_WEEKS = 12          # history: the calendar months covering at least this many weeks before today
ARGUS_HEADER = ("Start time", "Unique incoming", "Non-unique incoming", "Average talk time",
                "Average post-processing time")
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)   # fixed member timestamps: the same rows give the same bytes


@dataclass(frozen=True)
class DemoFile:
    """One generated export. ``status``: ``dropped`` (written now), ``in landing`` (written by an
    earlier run, not imported yet) or ``imported`` (batch ``batch`` has exactly this content)."""

    path: Path
    group: str
    first_day: date
    last_day: date
    rows: int
    status: str
    batch: str | None = None


@dataclass
class DemoResult:
    service: catalog.Service
    added: list[str] = field(default_factory=list)        # what this run registered ("DEMO", "DEMO/sales")
    folders: list[Path] = field(default_factory=list)
    files: list[DemoFile] = field(default_factory=list)


def register_demo(conn: psycopg.Connection, landing_dir: Path, *, code: str = DEMO_SERVICE,
                  time_zone: str = DEMO_TIME_ZONE,
                  groups: tuple[tuple[str, str, float], ...] = DEMO_GROUPS) -> DemoResult:
    """Add the demo service and its groups where missing, and create their landing folders;
    the caller commits. An existing service keeps its time zone (the files follow it)."""
    try:
        service = catalog.get_service(conn, code)
        added = []
    except catalog.UnknownServiceError:
        service = catalog.add_service(conn, code, DEMO_SERVICE_NAME, time_zone)
        added = [code]
    result = DemoResult(service=service, added=added)
    for group_code, name, _ in groups:
        try:
            catalog.get_group(conn, service, group_code)
        except catalog.UnknownServiceError:
            catalog.add_group(conn, code, group_code, name)
            result.added.append(f"{code}/{group_code}")
        result.folders.append(landing.service_folder(landing_dir, code, group_code))
    return result


def demo_months(today: date, weeks: int) -> list[tuple[date, date]]:
    """(first day, last day) of each file: whole calendar months from the one ``weeks`` weeks
    ago, and the current month up to yesterday (none on the 1st). Whole months give the same
    file on every later day, so a second run finds them imported."""
    month = (today - timedelta(weeks=weeks)).replace(day=1)
    spans = []
    while month < today:
        following = (month + timedelta(days=32)).replace(day=1)
        last = min(following, today) - timedelta(days=1)
        spans.append((month, last))
        month = following
    return spans


def demo_rows(code: str, group: str, daily_calls: float, time_zone: str, first: date,
              last: date) -> list[list]:
    """Argus rows (local wall-clock start, unique, non-unique, talk s, wrap-up s) for every
    15-minute interval of ``first``..``last``: the month's generated history cut at ``last``.

    Generated per calendar month with a seed from service, group and month, so a day's rows do
    not depend on the day the demo runs. No intervals are left out and no holidays closed:
    healthy data, so the data-quality checks have nothing to report.
    """
    month = first.replace(day=1)
    days = ((month + timedelta(days=32)).replace(day=1) - month).days
    seed = zlib.crc32(f"{code}/{group}/{month:%Y-%m}".encode())
    spec = generator.SyntheticSpec(start=month, days=days, time_zone=time_zone, daily_calls=daily_calls,
                                   trend_per_day=0.0, missing_share=0.0, seed=seed)
    frame = generator.generate(spec)
    # Argus exports show local wall-clock time: the autumn DST hour appears twice, as in real files.
    local = pd.DatetimeIndex(frame["interval_start"]).tz_convert(time_zone).tz_localize(None)
    keep = (local.normalize() >= pd.Timestamp(first)) & (local.normalize() <= pd.Timestamp(last))
    frame = frame[keep]
    return [[ts.to_pydatetime(), int(u), int(c), int(t), int(w)]
            for ts, u, c, t, w in zip(local[keep], frame["unique_calls"], frame["calls"], frame["avg_talk_time"],
                                      frame["avg_post_processing_time"])]


def xlsx_bytes(rows: list[list]) -> bytes:
    """An Argus .xlsx (header row, date cells ``DD.MM.YYYY HH:MM:SS``) with reproducible bytes.

    openpyxl stamps the save time into docProps/core.xml and every zip member; both are fixed
    here, so the same rows always give the same sha256 (and the import sees a known file).
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Argus")
    ws.append(list(ARGUS_HEADER))
    for row in rows:
        cell = WriteOnlyCell(ws, value=row[0])
        cell.number_format = "DD.MM.YYYY HH:MM:SS"
        ws.append([cell, *row[1:]])
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _fixed_core_times(data)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _fixed_core_times(xml: bytes) -> bytes:
    return re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>2000-01-01T00:00:00Z\g<2>",
                  xml)


def drop_demo_files(conn: psycopg.Connection, result: DemoResult, landing_dir: Path, *, today: date,
                    weeks: int = DEMO_WEEKS,
                    groups: tuple[tuple[str, str, float], ...] = DEMO_GROUPS) -> DemoResult:
    """Write each group's monthly exports into its landing folder, except those already
    imported (same content, completed batch) or already waiting there. Reads only; a file
    appears under its final name at once (written under a hidden name, then renamed), so the
    sensor never sees half a file."""
    service = result.service
    for group_code, _, daily_calls in groups:
        target = resolve_target(conn, service.code, group_code)
        folder = landing.service_folder(landing_dir, service.code, group_code)
        for first, last in demo_months(today, weeks):
            rows = demo_rows(service.code, group_code, daily_calls, service.time_zone, first, last)
            data = xlsx_bytes(rows)
            path = folder / f"{service.code}_{group_code}_{first:%Y%m%d}-{last:%Y%m%d}.xlsx"
            batch = find_duplicate(conn, hashlib.sha256(data).hexdigest(), target)
            if batch is not None:
                status = "imported"
            elif path.is_file() and path.read_bytes() == data:
                status = "in landing"
            else:
                _write_atomically(path, data)
                status = "dropped"
            result.files.append(DemoFile(path, group_code, first, last, len(rows), status,
                                         str(batch) if batch else None))
    conn.rollback()
    return result


def _write_atomically(path: Path, data: bytes) -> None:
    part = path.with_name(f".{path.name}.part")   # hidden: the landing scan skips it
    part.write_bytes(data)
    os.replace(part, path)


def run_demo(conn: psycopg.Connection, landing_dir: Path, *, today: date, weeks: int = DEMO_WEEKS,
             code: str = DEMO_SERVICE) -> DemoResult:
    """``wfm demo``: register (committed before any file lands, so the sensor knows the service),
    then drop the files. Running it again adds nothing that is there already."""
    result = register_demo(conn, landing_dir, code=code)
    conn.commit()
    return drop_demo_files(conn, result, landing_dir, today=today, weeks=weeks)
