"""Loading generated history into the database (demo service, benchmark, tests)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pandas as pd
import psycopg

from wfm_pipeline.bench import forecast_data as generator


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
