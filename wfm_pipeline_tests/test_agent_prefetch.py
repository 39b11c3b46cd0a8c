"""Several agent state files in one run (``agent_prefetcher``: ``wfm import FILE...`` and the
benchmark): the next file is read, parsed and - for another service - validated on a second
connection while the current one loads. The verdicts must be those of importing the files one
after the other: each file its own batch, sessions checked across files, a rejected file
costing only itself, a file seen twice a duplicate."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
import pytest

from wfm_pipeline.argus import errors as E
from wfm_pipeline.calls.agent_loader import agent_prefetcher
from wfm_pipeline_tests.agent_data import (
    event, expected_state_seconds, generate_shifts, split_by_local_day, stored_activity, write_csv,
)

ZONE = "Europe/Berlin"


@pytest.fixture
def services(conn: psycopg.Connection) -> dict[str, int]:
    ids = {code: conn.execute("INSERT INTO wfm.services (code, name, time_zone) VALUES (%s, %s, %s) "
                              "RETURNING service_id", (code, code, ZONE)).fetchone()[0] for code in ("DESK", "DESK2")}
    conn.execute("SELECT wfm.ensure_monthly_partitions(t, '2025-09-01', '2025-12-31') "
                 "FROM unnest(ARRAY['wfm.agent_activity', 'wfm.agent_state_transitions']::regclass[]) t")
    conn.commit()
    return ids


def _connect(db_url: str):
    return lambda: psycopg.connect(db_url, options="-c search_path=wfm,public")


def _run(conn, db_url: str, files: list[tuple[Path, str]], connect=None) -> list:
    with agent_prefetcher(files, connect or _connect(db_url)) as pre:
        return [pre.run(conn, path, code).result for path, code in files]


def test_daily_files_of_two_services_in_arrival_order(conn, db_url: str, services, tmp_path: Path) -> None:
    """Daily files of two services interleaved as they arrive (night shifts keep sessions open
    from one file of a service into its next), a file without a required column in the middle,
    one file sent twice: every interval equals the independent computation."""
    days = [dt.date(2025, 10, 27) + dt.timedelta(days=i) for i in range(6)]     # over the month end
    rows = {code: generate_shifts(seed, ZONE, days, 8, prefix=code[-1] + "N", night_share=0.5)
            for seed, code in ((3, "DESK"), (4, "DESK2"))}
    daily = {code: split_by_local_day(rows[code]) for code in services}
    files: list[tuple[Path, str]] = []
    for day in sorted({d for parts in daily.values() for d in parts}):   # night shifts end the day after
        for code in services:
            part = daily[code].get(day)
            if part:
                files.append((write_csv(tmp_path / f"{code}-{day:%Y%m%d}.csv", part), code))
    broken = tmp_path / "broken.csv"
    broken.write_text("agent;status;at\nA1;ready;01.10.2025 08:00:00\n")
    files.insert(5, (broken, "DESK"))
    files.insert(8, files[2])                                   # the same file again, later in the run
    results = _run(conn, db_url, files)

    statuses = [r.status for r in results]
    assert statuses[5] == "rejected" and results[5].errors[-1].code == E.MISSING_EVENT_COLUMN
    assert statuses[8] == "duplicate" and results[8].duplicate_of == results[2].import_batch_id
    assert all(s == "completed" for i, s in enumerate(statuses) if i not in (5, 8)), \
        [(i, r.status, r.errors[:2]) for i, r in enumerate(results)]
    assert len({r.import_batch_id for r in results}) == len(files)          # one batch per file
    for code, service_id in services.items():
        got = {k: v[:5] for k, v in stored_activity(conn, service_id).items()}
        assert got == expected_state_seconds(rows[code], ZONE), code


def test_a_file_of_the_same_service_is_checked_against_the_file_before(conn, db_url: str, services,
                                                                       tmp_path: Path) -> None:
    """The second file's first events need the first file's login: validated before the first
    file were stored, they would be NOT_LOGGED_IN; a logout without login still is."""
    first = write_csv(tmp_path / "a.csv", [event("A1", "logged_in", "01.10.2025 08:00:00")])
    second = write_csv(tmp_path / "b.csv", [event("A1", "ready", "01.10.2025 09:00:00"),
                                           event("A1", "logged_out", "01.10.2025 10:00:00"),
                                           event("A2", "logged_out", "01.10.2025 10:00:00")])
    results = _run(conn, db_url, [(first, "DESK"), (second, "DESK")])
    assert [r.status for r in results] == ["completed", "completed_with_errors"]
    assert [(e.row, e.code) for e in results[1].errors] == [(4, E.NOT_LOGGED_IN)]
    assert results[1].rows_inserted == 2


def test_without_a_second_connection_the_files_import_one_by_one(conn, db_url: str, services,
                                                                 tmp_path: Path) -> None:
    def refuse() -> psycopg.Connection:
        raise psycopg.OperationalError("no second connection")

    first = write_csv(tmp_path / "a.csv", [event("A1", "logged_in", "01.10.2025 08:00:00")])
    second = write_csv(tmp_path / "b.csv", [event("B1", "logged_in", "01.10.2025 08:00:00"),
                                           event("B1", "logged_out", "01.10.2025 09:00:00")])
    results = _run(conn, db_url, [(first, "DESK"), (second, "DESK2")], connect=refuse)
    assert [r.status for r in results] == ["completed", "completed"]
    assert conn.execute("SELECT count(*) FROM wfm.agent_state_transitions").fetchone()[0] == 3


def test_text_with_copy_special_characters_is_stored_as_sent(conn, db_url: str, services, tmp_path: Path) -> None:
    """The COPY text the loader builds escapes backslash, tab, newline and carriage return."""
    odd_agent, odd_reason = "A\\1 \"x\"", "BR\tE\\AK\nnext\rline"
    path = write_csv(tmp_path / "odd.csv", [event(odd_agent, "logged_in", "01.10.2025 08:00:00"),
                                           event(odd_agent, "not_ready", "01.10.2025 08:01:00", odd_reason),
                                           event(odd_agent, "logged_out", "01.10.2025 08:02:00")])
    [result] = _run(conn, db_url, [(path, "DESK")])
    assert result.status == "completed", result.errors
    rows = conn.execute("SELECT agent_code, reason FROM wfm.agent_state_transitions ORDER BY started_at").fetchall()
    assert rows == [(odd_agent, None), (odd_agent, odd_reason), (odd_agent, None)]


def test_the_next_file_is_prepared_once_the_current_load_copies(conn, db_url: str, services, tmp_path: Path) -> None:
    """``concurrent.LoadFirstPrefetcher``: the worker reads the next file only after the file
    being loaded has begun its COPY (its short statements before run without the worker's
    Python beside them); a rejected file, which never copies, still lets the next one be
    prepared; and every file imports as one by one."""
    import dataclasses
    import time

    from wfm_pipeline.calls.agent_loader import AGENT_FILES
    from wfm_pipeline.calls.concurrent import LoadFirstPrefetcher

    parsed_at: dict[str, float] = {}

    def parse(content, name, encoding):
        parsed_at[name] = time.perf_counter()
        return AGENT_FILES.parse(content, name, encoding)

    kind = dataclasses.replace(AGENT_FILES, parse=parse)
    files = [(write_csv(tmp_path / "a.csv", [event("A1", "logged_in", "01.10.2025 08:00:00"),
                                            event("A1", "logged_out", "01.10.2025 09:00:00")]), "DESK"),
             (tmp_path / "broken.csv", "DESK2"),
             (write_csv(tmp_path / "c.csv", [event("C1", "logged_in", "01.10.2025 08:00:00")]), "DESK"),
             (write_csv(tmp_path / "d.csv", [event("D1", "logged_in", "01.10.2025 08:00:00")]), "DESK2")]
    files[1][0].write_text("agent;status;at\nA1;ready;01.10.2025 08:00:00\n")
    copies: dict[str, float] = {}
    with LoadFirstPrefetcher(kind, files, _connect(db_url)) as pre:
        results = []
        for path, code in files:
            def progress(stage: str, done: int, total: int, name: str = path.name) -> None:
                if stage == "copy" and done == 0:
                    copies[name] = time.perf_counter()
            results.append(pre.run(conn, path, code, progress=progress).result)
    assert [r.status for r in results] == ["completed", "rejected", "completed", "completed"]
    assert results[1].errors[-1].code == E.MISSING_EVENT_COLUMN
    assert set(copies) == {"a.csv", "c.csv", "d.csv"}
    assert parsed_at["broken.csv"] > copies["a.csv"]      # prepared ahead, after a.csv's COPY began
    assert parsed_at["d.csv"] > copies["c.csv"]
    assert conn.execute("SELECT count(*) FROM wfm.agent_state_transitions").fetchone()[0] == 4
