"""The compact form of api_batch_insert_calls (issue 15, session 6): a header array of field
names, then one array of values per row.

The same rows sent as objects and in the compact form must give the same verdicts, row
numbers, codes, messages and raw values, the same batch row, history, live rows and change log
(the conformance test below, on random valid and invalid rows, from the same starting state);
a broken header is an SQL error that writes nothing; a row of another length is a row error.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from wfm_pipeline.argus import errors as E
from wfm_pipeline.bench.api_insert import compact_payload
from wfm_pipeline_tests.months import ensure_months

UTC = dt.timezone.utc
SEED = 20261201
FIELDS = ["service_id", "group_id", "interval_start", "unique_incoming", "non_unique_incoming", "avg_talk_time",
          "avg_post_processing_time", "answered_calls", "answered_within_sl", "abandoned_calls",
          "sl_threshold_seconds"]
START = dt.datetime(2024, 3, 30, 20, 0, tzinfo=UTC)  # spans the March/April month boundary


@pytest.fixture
def svc(conn: psycopg.Connection) -> dict:
    """Two services (UTC with groups G1, G2; Europe/Berlin) and the months 2024-03/04 (not 05)."""
    ids: dict[str, Any] = {}
    for code, zone in (("CA", "UTC"), ("CB", "Europe/Berlin")):
        ids[code] = conn.execute("INSERT INTO services (code, name, time_zone) VALUES (%s, %s, %s) "
                                 "RETURNING service_id", (code, code, zone)).fetchone()[0]
    ids["groups"] = [conn.execute("INSERT INTO groups (service_id, code, name) VALUES (%s, %s, %s) "
                                  "RETURNING group_id", (ids["CA"], g, g)).fetchone()[0] for g in ("G1", "G2")]
    conn.commit()
    ensure_months(conn, "2024-03", "2024-04")
    return ids


# ---------------------------------------------------------------- random rows

_JUNK = ["x", "", " 12 ", "0x10", "1_000", "12.0", 12.0, 12.5, -1, "1e400", True, False, None, [1], {"x": 1},
         "٣", 2147483648, 86401, 0]
_BAD_TIMES = ["2024-03-31T01:07:00+00:00", "2024-03-31T02:00:00", "31.03.2024 10:00:00", "2024-03-31T24:00:00Z",
              "2024-05-02T10:00:00+00:00",  # a month without a partition: NO_PARTITION
              "2024-03-31 10:00:00+05:30", 45000, "not a time", ""]


def _valid_row(rng: random.Random, svc: dict, i: int) -> dict:
    service = rng.choice([svc["CA"], svc["CA"], svc["CB"]])
    t = START + dt.timedelta(minutes=15 * rng.randrange(0, 24))
    offset = rng.choice(["+00:00", "Z", "+02:00", "-03:30"])
    shift = {"+00:00": 0, "Z": 0, "+02:00": 120, "-03:30": -210}[offset]
    text = (t + dt.timedelta(minutes=shift)).strftime("%Y-%m-%dT%H:%M:%S") + offset
    calls = rng.randint(0, 60)
    row: dict[str, Any] = {"service_id": service, "interval_start": text, "unique_incoming": max(calls - 2, 0),
                           "non_unique_incoming": calls, "avg_talk_time": rng.randint(1, 400),
                           "avg_post_processing_time": rng.randint(0, 90)}
    if service == svc["CA"] and rng.random() < 0.7:
        row["group_id"] = rng.choice(svc["groups"])
    if rng.random() < 0.5:
        answered = rng.randint(0, calls)
        row.update(answered_calls=answered, answered_within_sl=rng.randint(0, answered), sl_threshold_seconds=20,
                   abandoned_calls=rng.randint(0, calls - answered))
    if rng.random() < 0.2:
        row["service_id"] = str(row["service_id"])  # a number as a string: the validator takes it
    return row


def _mutate(rng: random.Random, row: dict, svc: dict) -> None:
    kind = rng.random()
    if kind < 0.15:
        row.pop(rng.choice(list(row)))                                        # a missing key
    elif kind < 0.3:
        row["interval_start"] = rng.choice(_BAD_TIMES)
    elif kind < 0.4:
        row[rng.choice(["service_id", "group_id"])] = rng.choice([999999, "abc", svc["groups"][0] + 1000])
    elif kind < 0.5:
        row["note"] = rng.choice(_JUNK)                                       # an unknown key: ignored
    else:
        row[rng.choice(FIELDS)] = rng.choice(_JUNK)


def random_rows(rng: random.Random, svc: dict, n: int, bad: float) -> list:
    rows: list = []
    for i in range(n):
        r = rng.random()
        objects = [row for row in rows if isinstance(row, dict)]
        if objects and r < 0.05:
            rows.append(dict(rng.choice(objects)))                             # an identical copy
        elif objects and r < 0.08:
            copy = dict(rng.choice(objects))
            copy["non_unique_incoming"] = 999                                  # a conflicting copy
            rows.append(copy)
        elif r < 0.08 + bad / 10:
            rows.append(rng.choice([5, "row", None, True, 1.5]))               # not an object: no cells
        else:
            row = _valid_row(rng, svc, i)
            if rng.random() < bad:
                _mutate(rng, row, svc)
            rows.append(row)
    return rows


def to_compact(rows: list, rng: random.Random) -> list:
    """The same rows in the compact form: the names used (and an unknown one) in a random order;
    a missing key is a JSON null, as jsonb ->> reads both; a non-object row stays as it is."""
    names = sorted({k for r in rows if isinstance(r, dict) for k in r} | {"comment"})
    rng.shuffle(names)
    return [names] + [[r.get(k) for k in names] if isinstance(r, dict) else r for r in rows]


# ---------------------------------------------------------------- what a call returns and stores

def outcome(conn: psycopg.Connection, payload: list, services: list[int]) -> dict:
    """Everything api_batch_insert_calls returns and stores, minus the batch id and clocks."""
    last_change = conn.execute("SELECT coalesce(max(change_id), 0) FROM aggregate_changes").fetchone()[0]
    cur = conn.execute("SELECT * FROM api_batch_insert_calls(%s, 'compact-test')", (Jsonb(payload),))
    result = dict(zip([d.name for d in cur.description], cur.fetchone()))
    batch = result.pop("import_batch_id")
    cur = conn.execute("SELECT * FROM import_batches WHERE import_batch_id = %s", (batch,))
    batch_row = dict(zip([d.name for d in cur.description], cur.fetchone()))
    for volatile in ("import_batch_id", "created_at", "started_at", "finished_at", "apply_seq"):
        batch_row.pop(volatile, None)
    return {
        "result": result,
        "batch": batch_row,
        "errors": conn.execute("SELECT row_number, column_name, error_code, error_message, raw_value "
                               "FROM import_errors WHERE import_batch_id = %s ORDER BY 1, 2, 3", (batch,)).fetchall(),
        "history": conn.execute(
            "SELECT source_row_number, interval_start_time, service_id, group_id, unique_incoming, non_unique_incoming,"
            " avg_talk_time, avg_post_processing_time, answered_calls, answered_within_sl, abandoned_calls,"
            " sl_threshold_seconds FROM contact_statistics_history WHERE import_batch_id = %s ORDER BY 1",
            (batch,)).fetchall(),
        "live": conn.execute(
            "SELECT interval_start_time, service_id, group_id, unique_incoming, non_unique_incoming, avg_talk_time,"
            " avg_post_processing_time, answered_calls, answered_within_sl, abandoned_calls, sl_threshold_seconds,"
            " import_batch_id = %s FROM contact_statistics WHERE service_id = ANY(%s) ORDER BY 1, 2, 3",
            (batch, services)).fetchall(),
        "changes": conn.execute("SELECT service_id, stat_date, range_start, range_end, source FROM aggregate_changes "
                                "WHERE change_id > %s ORDER BY 1, 2, 3, 4", (last_change,)).fetchall(),
    }


def both_shapes(conn: psycopg.Connection, rows: list, rng: random.Random, services: list[int]) -> tuple[dict, dict]:
    """The outcome of the objects and of the same rows in the compact form, each from the same state."""
    got = []
    for payload in (rows, to_compact(rows, rng)):
        with conn.transaction(force_rollback=True):
            got.append(outcome(conn, payload, services))
    return got[0], got[1]


def test_random_rows_get_identical_verdicts_and_writes_in_both_shapes(conn: psycopg.Connection, svc: dict) -> None:
    rng = random.Random(SEED)
    services = [svc["CA"], svc["CB"]]
    # stored intervals first, so that calls update as well as insert
    base = [r for r in random_rows(rng, svc, 30, bad=0.0) if isinstance(r, dict)]
    conn.execute("SELECT * FROM api_batch_insert_calls(%s, 'base')", (Jsonb(base),)).fetchone()
    conn.commit()
    paths = {True: 0, False: 0}
    for case in range(60):
        bad = rng.choice([0.0, 0.0, 0.05, 0.3, 1.0])
        rows = random_rows(rng, svc, rng.randint(1, 40), bad)
        objects, compact = both_shapes(conn, rows, rng, services)
        assert compact == objects, f"seed {SEED}, case {case}: {json.dumps(rows)[:2000]}"
        paths[bool(objects["batch"]["details"].get("fast_path"))] += 1
    assert paths[True] > 5 and paths[False] > 5, paths  # both the fast path and the validator were compared


def test_a_clean_compact_batch_takes_the_fast_path_in_any_field_order(conn: psycopg.Connection, svc: dict) -> None:
    rng = random.Random(SEED + 1)
    rows = [r for r in random_rows(rng, svc, 200, bad=0.0) if isinstance(r, dict)]
    # one row per interval (the same instant may be written with another offset)
    rows = list({(int(r["service_id"]), r.get("group_id"), dt.datetime.fromisoformat(r["interval_start"])): r
                 for r in rows}.values())
    for _ in range(3):
        objects, compact = both_shapes(conn, rows, rng, [svc["CA"], svc["CB"]])
        assert compact == objects
        assert compact["batch"]["details"]["fast_path"] is True
        assert compact["result"]["rows_inserted"] == len(rows)


# ---------------------------------------------------------------- compact-only rules

def _call(conn: psycopg.Connection, payload: list) -> tuple[dict, list]:
    cur = conn.execute("SELECT * FROM api_batch_insert_calls(%s, 'compact-test')", (Jsonb(payload),))
    result = dict(zip([d.name for d in cur.description], cur.fetchone()))
    errors = conn.execute("SELECT row_number, column_name, error_code, error_message, raw_value FROM import_errors "
                          "WHERE import_batch_id = %s ORDER BY 1, 3", (result["import_batch_id"],)).fetchall()
    return result, errors


def test_a_row_of_another_length_is_a_row_error_naming_the_row(conn: psycopg.Connection, svc: dict) -> None:
    header = ["service_id", "interval_start", "unique_incoming", "non_unique_incoming", "avg_talk_time",
              "avg_post_processing_time"]
    good = [svc["CA"], "2024-03-05T10:00:00Z", 1, 2, 30, 5]
    huge = good + list(range(100_000))
    payload = [header, good, good[:5], [*good[:5], {"x": 1}, None], huge, {"service_id": svc["CA"]}, [],
               [svc["CA"], "2024-03-05T10:15:00Z", 1, 2, 30, 5]]
    result, errors = _call(conn, payload)
    assert (result["status"], result["rows_total"], result["rows_inserted"], result["rows_rejected"]) == \
        ("completed_with_errors", 7, 2, 5)
    short = json.dumps(good[:5], separators=(", ", ": "))
    assert errors[0] == (2, None, E.WRONG_ROW_LENGTH, E.message(E.WRONG_ROW_LENGTH, rows=2, count=5, columns=6),
                         E.clip(short))
    assert [(r, code) for r, _, code, _, _ in errors] == [
        (2, E.WRONG_ROW_LENGTH), (3, E.WRONG_ROW_LENGTH), (4, E.WRONG_ROW_LENGTH),
        (5, E.MISSING_VALUE),           # an object in the compact form: no cells, as a number among objects
        (6, E.WRONG_ROW_LENGTH)]
    assert errors[2][3] == E.message(E.WRONG_ROW_LENGTH, rows=4, count=100_006, columns=6)
    assert len(errors[2][4]) < 300                                             # the raw value is clipped
    assert errors[3][4] == "object"
    stored = conn.execute("SELECT source_row_number FROM contact_statistics_history WHERE import_batch_id = %s "
                          "ORDER BY 1", (result["import_batch_id"],)).fetchall()
    assert stored == [(1,), (7,)]


@pytest.mark.parametrize(("header", "message"), [
    (["service_id", 5], "its element 2 is a JSON number, not a string"),
    ([None], "its element 1 is a JSON null, not a string"),
    (["interval_start", ["service_id"]], "its element 2 is a JSON array, not a string"),
    ([{"service_id": 1}], "its element 1 is a JSON object, not a string"),
    (["service_id", "interval_start", "service_id"], "names field 'service_id' twice (elements 1 and 3)"),
])
def test_a_broken_header_is_an_error_and_writes_nothing(conn: psycopg.Connection, svc: dict, header: list,
                                                        message: str) -> None:
    before = conn.execute("SELECT count(*) FROM import_batches").fetchone()
    for call in ("SELECT * FROM api_batch_insert_calls(%s)", "SELECT * FROM preview_import(%s, p_format => 'api')"):
        with pytest.raises(psycopg.errors.InvalidParameterValue) as info:
            with conn.transaction():
                conn.execute(call, (Jsonb([header, [svc["CA"], "2024-03-05T10:00:00Z"]]),))
        assert message in info.value.diag.message_primary
        assert info.value.diag.message_hint
    assert conn.execute("SELECT count(*) FROM import_batches").fetchone() == before


def test_header_only_unknown_names_and_nested_junk(conn: psycopg.Connection, svc: dict) -> None:
    """A header alone is a call without rows (as []); unknown names are ignored (as unknown keys);
    nested arrays and objects as values are judged as the object form judges them."""
    for payload in ([], [["service_id"]], [[]]):
        result, errors = _call(conn, payload)
        assert (result["status"], result["rows_total"], [e[2] for e in errors]) == ("rejected", 0, [E.NO_DATA_ROWS])
    rows = [{"service_id": svc["CA"], "interval_start": "2024-03-06T10:00:00Z", "unique_incoming": [[[1]]],
             "non_unique_incoming": {"a": [1, {"b": 2}]}, "avg_talk_time": 3, "avg_post_processing_time": 4,
             "x" * 1000: "ignored"},
            {"service_id": svc["CA"], "interval_start": "2024-03-06T10:15:00Z", "unique_incoming": 1,
             "non_unique_incoming": 2, "avg_talk_time": 3, "avg_post_processing_time": 4, "extra": [1, 2, 3]}]
    objects, compact = both_shapes(conn, rows, random.Random(3), [svc["CA"]])
    assert compact == objects
    assert [e[2] for e in compact["errors"]] == [E.NOT_INTEGER, E.NOT_INTEGER]
    assert compact["result"]["rows_inserted"] == 1


def test_payload_limits_count_rows_not_the_header(conn: psycopg.Connection, svc: dict) -> None:
    rows = [{"service_id": svc["CA"], "interval_start": (START + dt.timedelta(minutes=15 * i)).isoformat(),
             "unique_incoming": 1, "non_unique_incoming": 2, "avg_talk_time": 3, "avg_post_processing_time": 4}
            for i in range(6)]
    conn.execute("UPDATE api_write_limits SET max_rows_per_call = 5")
    with pytest.raises(psycopg.errors.ProgramLimitExceeded, match="has 6 rows; one call may send at most 5 rows"):
        with conn.transaction():
            conn.execute("SELECT * FROM api_batch_insert_calls(%s)", (Jsonb(to_compact(rows, random.Random(1))),))
    with pytest.raises(psycopg.errors.ProgramLimitExceeded, match="at most 5 rows"):
        with conn.transaction():
            conn.execute("SELECT * FROM preview_import(%s, p_format => 'api')",
                         (Jsonb(to_compact(rows, random.Random(1))),))
    result, _ = _call(conn, to_compact(rows[:5], random.Random(1)))   # 6 elements: the header and 5 rows
    assert (result["status"], result["rows_inserted"]) == ("completed", 5)
    conn.execute("UPDATE api_write_limits SET max_rows_per_call = 50000, max_bytes_per_call = 4096")
    big = to_compact(rows, random.Random(1))
    big[1] = big[1] + ["x" * 5000]
    with pytest.raises(psycopg.errors.ProgramLimitExceeded, match="bytes"):
        with conn.transaction():
            conn.execute("SELECT * FROM api_batch_insert_calls(%s)", (Jsonb(big),))


def test_preview_reads_the_compact_form_as_the_objects(conn: psycopg.Connection, svc: dict) -> None:
    rng = random.Random(SEED + 2)
    rows = random_rows(rng, svc, 40, bad=0.3)
    sql = "SELECT * FROM preview_import(%s, p_format => 'api') ORDER BY row_number"
    assert conn.execute(sql, (Jsonb(to_compact(rows, rng)),)).fetchall() == conn.execute(sql, (Jsonb(rows),)).fetchall()


def test_the_benchmark_builds_the_compact_form_of_its_objects() -> None:
    objects = [{"service_id": 1, "group_id": None, "interval_start": "2025-01-06T00:00:00+00:00",
                "unique_incoming": 1}, {"service_id": 1, "group_id": 2, "interval_start": "2025-01-06T00:15:00+00:00",
                                        "unique_incoming": 3}]
    compact = json.loads(compact_payload(json.dumps(objects)))
    assert compact == [["service_id", "group_id", "interval_start", "unique_incoming"],
                       [1, None, "2025-01-06T00:00:00+00:00", 1], [1, 2, "2025-01-06T00:15:00+00:00", 3]]
