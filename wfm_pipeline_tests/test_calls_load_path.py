"""The call-record load path's cheaper pieces keep their promises.

* call_records' statement-level reference check (one pass over the transition table since
  session 5) still refuses an unknown service and a group of another service, on INSERT and
  UPDATE, among many good rows, naming a call of the offending (service, group) and the
  constraint, and lets rows without a group through;
* ``files.quick_gil_handoff`` lowers the interpreter's switch interval while a prefetcher's
  file loads (the loading thread takes the GIL back quickly after every server wait) and
  restores it afterwards, also when used from several threads at once.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
import uuid
from pathlib import Path

import psycopg
import pytest

from wfm_pipeline.calls import files
from wfm_pipeline.calls.loader import call_prefetcher
from wfm_pipeline_tests.call_data import generate, write_csv

ZONE = "Europe/Berlin"


def _insert_calls(conn: psycopg.Connection, service_id: int, group_ids: list[int | None], prefix: str) -> None:
    """One INSERT statement of len(group_ids) abandoned calls offered now (a premade month)."""
    conn.execute(
        """INSERT INTO wfm.call_records (offered_at, service_id, call_id, ended_at, outcome, group_id, import_batch_id)
           SELECT now() - make_interval(secs => g.n), %s, %s || g.n, now(), 'abandoned', g.group_id, %s
           FROM unnest(%s::integer[]) WITH ORDINALITY AS g(group_id, n)""",
        (service_id, prefix, uuid.uuid4(), group_ids))


def test_call_records_references_are_checked_once_per_statement(conn: psycopg.Connection, service: dict) -> None:
    other = conn.execute("INSERT INTO wfm.services (code, name, time_zone) VALUES ('S2', 'two', 'UTC') "
                         "RETURNING service_id").fetchone()[0]
    foreign = conn.execute("INSERT INTO wfm.groups (service_id, code, name) VALUES (%s, 'G9', 'g') "
                           "RETURNING group_id", (other,)).fetchone()[0]
    conn.commit()
    good = [service["group_id"], None] * 500
    # an unknown service: the message names a call of it
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match=r"unknown service_id 999999 \(call u\d+\)") as err:
        _insert_calls(conn, 999_999, [None] * 3, "u")
    assert err.value.diag.constraint_name == "call_records_service_exists"
    conn.rollback()
    # a group of another service among a thousand good rows: the offending call is named
    with pytest.raises(psycopg.errors.ForeignKeyViolation,
                       match=rf"group_id {foreign}, which is not a group of service_id {service['service_id']} "
                             r"\(call x1001\)") as err:
        _insert_calls(conn, service["service_id"], [*good, foreign], "x")
    assert err.value.diag.constraint_name == "call_records_group_of_service"
    conn.rollback()
    # good rows (with and without a group) pass; an UPDATE to a foreign group is checked too
    _insert_calls(conn, service["service_id"], good, "ok")
    assert conn.execute("SELECT count(*), count(group_id) FROM wfm.call_records").fetchone() == (1000, 500)
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="not a group of service_id"):
        conn.execute("UPDATE wfm.call_records SET group_id = %s WHERE call_id = 'ok7'", (foreign,))
    conn.rollback()


def test_quick_gil_handoff_lowers_the_switch_interval_and_restores_it() -> None:
    before = sys.getswitchinterval()
    assert before > files.LOADING_SWITCH_INTERVAL
    inside: list[float] = []
    entered = threading.Barrier(2)
    leave = threading.Event()

    def loader() -> None:
        with files.quick_gil_handoff():
            entered.wait()
            leave.wait()
            inside.append(sys.getswitchinterval())

    worker = threading.Thread(target=loader)
    worker.start()
    with files.quick_gil_handoff():
        entered.wait()
        inside.append(sys.getswitchinterval())
    # the other thread is still inside: the interval stays low until the last one leaves
    assert sys.getswitchinterval() == pytest.approx(files.LOADING_SWITCH_INTERVAL)
    leave.set()
    worker.join()
    assert inside == [pytest.approx(files.LOADING_SWITCH_INTERVAL)] * 2
    assert sys.getswitchinterval() == pytest.approx(before)


def test_a_prefetcher_loads_with_the_low_switch_interval(conn: psycopg.Connection, service: dict,
                                                        tmp_path: Path) -> None:
    days = [dt.date.today().replace(day=2)]   # a premade month, whatever the time zone does to the day
    paths = [write_csv(tmp_path / f"{i}.csv", generate(40 + i, ZONE, days, 30, prefix=f"p{i}", groups=("G1", "G1")))
             for i in range(2)]
    before = sys.getswitchinterval()
    seen: list[float] = []
    with call_prefetcher([(p, "S1") for p in paths], lambda: psycopg.connect(conn.info.dsn)) as prefetcher:
        for path in paths:
            run = prefetcher.run(conn, path, "S1", progress=lambda step, *_: step in ("copy", "apply") and seen.append(
                sys.getswitchinterval()))
            assert run.result.status == "completed"
    assert seen and seen == [pytest.approx(files.LOADING_SWITCH_INTERVAL)] * len(seen)
    assert sys.getswitchinterval() == pytest.approx(before)
