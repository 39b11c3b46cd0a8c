"""The SQL write API: validate_argus_format, import_argus_format_data, import_excel_batch,
api_batch_insert_calls and preview_import (sql/040-042)."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import psycopg
import pytest
from psycopg.types.json import Jsonb

from wfm_pipeline.argus import errors as E
from wfm_pipeline_tests.months import ensure_months

UTC = dt.timezone.utc


@pytest.fixture(autouse=True)
def _months(conn: psycopg.Connection) -> None:
    """The months most tests import into (the JSON functions never create partitions)."""
    ensure_months(conn, "2024-02", "2025-03")


def _errors(conn: psycopg.Connection, data, service_id: int | None = None) -> list[tuple]:
    return [(r, c, code) for r, c, code, _, _ in conn.execute(
        "SELECT * FROM validate_argus_format(%s, %s)", (Jsonb(data), service_id))]


def _import(conn: psycopg.Connection, data, service_id: int, group_id: int | None = None, **kw) -> dict:
    cur = conn.execute(
        "SELECT * FROM import_argus_format_data(p_data := %s, p_service_id := %s, p_group_id := %s, "
        "p_validate_only := %s, p_strict := %s)",
        (Jsonb(data), service_id, group_id, kw.get("validate_only", False), kw.get("strict", False)))
    row = cur.fetchone()
    return dict(zip([d.name for d in cur.description], row))


def _batch(conn: psycopg.Connection, batch_id) -> dict:
    cur = conn.execute("SELECT * FROM import_batches WHERE import_batch_id = %s", (batch_id,))
    return dict(zip([d.name for d in cur.description], cur.fetchone()))


# ---------------------------------------------------------------- validate_argus_format

def test_rows_as_arrays_or_objects_and_column_a_in_three_forms(conn: psycopg.Connection, service: dict) -> None:
    data = [
        ["01.02.2024 10:00:00", 1, 2, 3, 4],
        {"A": "2024-02-01T10:15:00", "B": 1, "C": 2, "D": 3, "E": 4},
        {"A": "2024-02-01T10:00:00Z", "B": "1", "C": "2", "D": "3", "E": "4"},
        [45323.4375, 1, 2, 3, 4],                      # Excel serial: 2024-02-01 10:30
        [45323.44791666, 1, 2, 3, 4],                  # float noise: 10:45:00 after rounding
    ]
    assert _errors(conn, data, service["service_id"]) == []
    result = _import(conn, data, service["service_id"])
    assert (result["status"], result["rows_inserted"]) == ("completed", 5)
    times = [t for (t,) in conn.execute("SELECT interval_start_time FROM contact_statistics ORDER BY 1")]
    base = dt.datetime(2024, 2, 1, 9, 0, tzinfo=UTC)  # 10:00 Berlin (CET)
    assert times == [base + dt.timedelta(minutes=m) for m in (0, 15, 30, 45, 60)]


def test_row_numbers_are_array_positions_and_blank_rows_are_skipped(conn: psycopg.Connection) -> None:
    data = [["01.02.2024 10:00:00", 1, 2, 3, 4], [None, None, None, None, None], [],
            ["01.02.2024 10:15:00", "x", 2, 3, 4], "not a row"]
    errors = _errors(conn, data)
    assert errors == [(4, "B", "NOT_INTEGER"), (5, None, "MISSING_VALUE")]
    # a row that is no array/object has no cells: MISSING_VALUE for A-E, the raw value names its JSON type
    message, raw = conn.execute("SELECT error_message, raw_value FROM validate_argus_format(%s) WHERE row_number = 5",
                                (Jsonb(data),)).fetchone()
    assert (message, raw) == (E.message(E.MISSING_VALUE, column="A-E"), "string")


def test_leading_header_rows_are_skipped_like_in_files(conn: psycopg.Connection, service: dict) -> None:
    data = [["Argus export"], [], ["Start", "Unique", "Non-unique", "Talk", "Post"],
            ["01.02.2024 10:00:00", 1, 2, 3, 4], ["Start", 1, 2, 3, 4]]
    assert _errors(conn, data) == [(5, "A", "INVALID_DATETIME")]  # only leading rows are headers
    result = _import(conn, data, service["service_id"])
    assert (result["rows_total"], result["rows_inserted"], result["rows_rejected"]) == (2, 1, 1)
    assert _batch(conn, result["import_batch_id"])["details"]["first_data_row"] == 4


def test_several_problems_in_one_row_are_each_reported(conn: psycopg.Connection) -> None:
    assert _errors(conn, [["01.02.2024 10:07:00", 12.5, -1, 90000, None]]) == [
        (1, "A", "MISALIGNED_INTERVAL"), (1, "B", "NOT_INTEGER"), (1, "C", "NEGATIVE_VALUE"),
        (1, "D", "OUT_OF_RANGE"), (1, "E", "MISSING_VALUE")]
    # C >= B is checked when B and C are valid themselves
    assert _errors(conn, [["01.02.2024 10:00:00", 3, 2, 90000, 1]]) == [
        (1, "D", "OUT_OF_RANGE"), (1, "B", "UNIQUE_EXCEEDS_NON_UNIQUE")]


def test_without_a_service_times_are_checked_as_utc(conn: psycopg.Connection) -> None:
    # No zone: the Berlin DST gap is an ordinary time.
    assert _errors(conn, [["31.03.2024 02:15:00", 1, 2, 3, 4]]) == []


def test_empty_array_has_no_data_rows(conn: psycopg.Connection) -> None:
    assert _errors(conn, []) == [(None, None, "NO_DATA_ROWS")]


@pytest.mark.parametrize("call, sqlstate", [
    ("SELECT * FROM validate_argus_format(NULL)", "22004"),
    ("SELECT * FROM validate_argus_format('{\"A\": 1}')", "22023"),
    ("SELECT * FROM validate_argus_format('[]', -1)", "22023"),
    ("SELECT * FROM import_argus_format_data('[]', NULL)", "22004"),
    ("SELECT * FROM import_argus_format_data('[]', -1)", "22023"),
    ("SELECT * FROM import_excel_batch('\"rows\"', 1)", "22023"),
    ("SELECT * FROM api_batch_insert_calls(NULL)", "22004"),
    ("SELECT * FROM api_batch_insert_calls('[]', '')", "22023"),
    ("SELECT * FROM preview_import('[]', 1, NULL, 'csv')", "22023"),
])
def test_bad_arguments_raise_clear_errors(conn: psycopg.Connection, service: dict, call: str, sqlstate: str) -> None:
    with pytest.raises(psycopg.Error) as info:
        conn.execute(call)
    assert info.value.sqlstate == sqlstate
    assert info.value.diag.message_primary


def test_unknown_group_of_the_service_is_an_argument_error(conn: psycopg.Connection, service: dict) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="unknown group_id"):
        _import(conn, [["01.02.2024 10:00:00", 1, 2, 3, 4]], service["service_id"], group_id=service["group_id"] + 99)


# ---------------------------------------------------------------- import_argus_format_data

def test_import_records_batch_errors_history_and_counts(conn: psycopg.Connection, service: dict) -> None:
    data = [["01.02.2024 10:00:00", 1, 2, 3, 4], ["01.02.2024 10:00:00", 1, 2, 3, 4],
            ["01.02.2024 10:15:00", 5, 2, 3, 4], ["01.02.2024 10:30:00", 0, 0, None, None]]
    result = _import(conn, data, service["service_id"], service["group_id"])
    assert {k: result[k] for k in ("status", "rows_total", "rows_inserted", "rows_updated", "rows_rejected")} == {
        "status": "completed_with_errors", "rows_total": 4, "rows_inserted": 2, "rows_updated": 0, "rows_rejected": 1}
    batch = _batch(conn, result["import_batch_id"])
    assert batch["rows_skipped"] == 1 and batch["source"] == "argus_json" and batch["group_id"] == service["group_id"]
    assert batch["rows_total"] == batch["rows_inserted"] + batch["rows_updated"] + batch["rows_rejected"] + batch["rows_skipped"]
    assert batch["first_interval"] == dt.datetime(2024, 2, 1, 9, 0, tzinfo=UTC)
    errors = conn.execute("SELECT row_number, column_name, error_code, raw_value FROM import_errors "
                          "WHERE import_batch_id = %s ORDER BY row_number", (result["import_batch_id"],)).fetchall()
    assert errors == [(2, None, "DUPLICATE_ROW", "01.02.2024 10:00:00"), (3, "B", "UNIQUE_EXCEEDS_NON_UNIQUE", "5")]
    history = conn.execute("SELECT source_row_number, group_id FROM contact_statistics_history "
                           "WHERE import_batch_id = %s ORDER BY 1", (result["import_batch_id"],)).fetchall()
    assert history == [(1, service["group_id"]), (4, service["group_id"])]
    assert conn.execute("SELECT count(*) FROM contact_statistics WHERE import_batch_id = %s",
                        (result["import_batch_id"],)).fetchone() == (2,)


def test_second_import_updates_and_revert_restores(conn: psycopg.Connection, service: dict) -> None:
    first = _import(conn, [["01.02.2024 10:00:00", 1, 2, 3, 4]], service["service_id"])
    second = _import(conn, [["01.02.2024 10:00:00", 7, 8, 9, 10], ["01.02.2024 10:15:00", 1, 1, 1, 1]],
                     service["service_id"])
    assert (second["rows_inserted"], second["rows_updated"]) == (1, 1)
    assert conn.execute("SELECT unique_incoming FROM contact_statistics ORDER BY interval_start_time LIMIT 1"
                        ).fetchone() == (7,)
    conn.execute("SELECT * FROM revert_import_batch(%s)", (second["import_batch_id"],))
    rows = conn.execute("SELECT unique_incoming, import_batch_id FROM contact_statistics").fetchall()
    assert rows == [(1, first["import_batch_id"])]


def test_validate_only_logs_but_writes_nothing(conn: psycopg.Connection, service: dict) -> None:
    result = _import(conn, [["01.02.2024 10:00:00", 1, 2, 3, 4], ["x", 1, 2, 3, 4]], service["service_id"],
                     validate_only=True)
    # counts say what the import would do (as the file path's validate-only): every row accounted for
    assert (result["status"], result["rows_rejected"], result["rows_inserted"]) == ("validated", 1, 1)
    batch = _batch(conn, result["import_batch_id"])
    assert batch["rows_total"] == batch["rows_inserted"] + batch["rows_updated"] + batch["rows_rejected"] + batch["rows_skipped"]
    assert conn.execute("SELECT count(*) FROM import_errors WHERE import_batch_id = %s",
                        (result["import_batch_id"],)).fetchone() == (1,)
    assert conn.execute("SELECT count(*) FROM contact_statistics").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM contact_statistics_history").fetchone() == (0,)


def test_strict_imports_nothing_when_a_row_is_invalid(conn: psycopg.Connection, service: dict) -> None:
    result = _import(conn, [["01.02.2024 10:00:00", 1, 2, 3, 4], ["01.02.2024 10:15:00", -1, 2, 3, 4]],
                     service["service_id"], strict=True)
    assert (result["status"], result["rows_rejected"]) == ("rejected", 2)
    codes = {c for (c,) in conn.execute("SELECT error_code FROM import_errors WHERE import_batch_id = %s",
                                        (result["import_batch_id"],))}
    assert codes == {"NEGATIVE_VALUE", "STRICT_MODE"}
    assert conn.execute("SELECT count(*) FROM contact_statistics").fetchone() == (0,)


def test_all_rows_rejected_and_empty_input(conn: psycopg.Connection, service: dict) -> None:
    bad = _import(conn, [["01.02.2024 10:00:00", -1, 2, 3, 4]], service["service_id"])
    assert (bad["status"], bad["rows_rejected"]) == ("rejected", 1)
    # no row with a date in column A: like a file, nothing but headers
    headers_only = _import(conn, [["Start", "Unique", "Non-unique", "Talk", "Post"]], service["service_id"])
    assert (headers_only["status"], headers_only["rows_total"]) == ("rejected", 0)
    empty = _import(conn, [], service["service_id"])
    assert (empty["status"], empty["rows_total"]) == ("rejected", 0)
    assert conn.execute("SELECT error_code FROM import_errors WHERE import_batch_id = %s",
                        (empty["import_batch_id"],)).fetchone() == ("NO_DATA_ROWS",)


def _partition_names(conn: psycopg.Connection) -> set[str]:
    return {n for (n,) in conn.execute("SELECT partition_name FROM partitions")}


def test_rows_of_months_without_partition_are_row_errors_and_nothing_is_created(
        conn: psycopg.Connection, service: dict) -> None:
    before = _partition_names(conn)
    data = [["15.05.2031 10:00:00", 1, 2, 3, 4], ["15.01.2019 10:00:00", 1, 2, 3, 4],
            ["01.02.2024 10:00:00", 1, 2, 3, 4], ["15.05.2031 10:15:00", -1, 2, 3, 4]]
    # the pure validator does not look at partitions (files create theirs in the ETL step)
    assert _errors(conn, data, service["service_id"]) == [(4, "B", "NEGATIVE_VALUE")]
    result = _import(conn, data, service["service_id"])
    assert (result["status"], result["rows_total"], result["rows_inserted"], result["rows_rejected"]) == (
        "completed_with_errors", 4, 1, 3)
    errors = conn.execute("SELECT row_number, column_name, error_code, raw_value, error_message FROM import_errors "
                          "WHERE import_batch_id = %s ORDER BY 1", (result["import_batch_id"],)).fetchall()
    assert [e[:4] for e in errors] == [(1, "A", "NO_PARTITION", "15.05.2031 10:00:00"),
                                       (2, "A", "NO_PARTITION", "15.01.2019 10:00:00"),
                                       (4, "B", "NEGATIVE_VALUE", "-1")]
    assert "2031-05" in errors[0][4] and "ensure_monthly_partitions" in errors[0][4] and "premake" in errors[0][4]
    assert _batch(conn, result["import_batch_id"])["details"]["months_without_partition"] == ["2019-01", "2031-05"]
    assert _partition_names(conn) == before
    # once the operator made the month available, the same rows go in
    ensure_months(conn, "2031-05", "2019-01")
    again = _import(conn, data[:2], service["service_id"])
    assert (again["status"], again["rows_inserted"]) == ("completed", 2)


def test_validate_only_and_preview_report_missing_partitions(conn: psycopg.Connection, service: dict) -> None:
    data = [["15.05.2031 10:00:00", 1, 2, 3, 4], ["01.02.2024 10:00:00", 1, 2, 3, 4]]
    dry = _import(conn, data, service["service_id"], validate_only=True)
    assert (dry["status"], dry["rows_inserted"], dry["rows_rejected"]) == ("validated", 1, 1)
    batch = _batch(conn, dry["import_batch_id"])
    assert batch["rows_total"] == batch["rows_inserted"] + batch["rows_updated"] + batch["rows_rejected"] + batch["rows_skipped"]
    rows = conn.execute("SELECT row_number, action, error_codes FROM preview_import(%s, %s)",
                        (Jsonb(data), service["service_id"])).fetchall()
    assert rows == [(1, "reject", ["NO_PARTITION"]), (2, "insert", [])]


def test_dst_fall_back_in_input_order(conn: psycopg.Connection, service: dict) -> None:
    ensure_months(conn, "2024-03", "2024-10")
    data = [["27.10.2024 02:30:00", 1, 2, 3, 4], ["27.10.2024 02:30:00", 5, 6, 7, 8],
            ["31.03.2024 02:30:00", 1, 2, 3, 4]]
    assert _errors(conn, data, service["service_id"]) == [(3, "A", "INVALID_LOCAL_TIME")]
    _import(conn, data, service["service_id"])
    rows = conn.execute("SELECT interval_start_time, unique_incoming FROM contact_statistics ORDER BY 1").fetchall()
    assert rows == [(dt.datetime(2024, 10, 27, 0, 30, tzinfo=UTC), 1), (dt.datetime(2024, 10, 27, 1, 30, tzinfo=UTC), 5)]


# ---------------------------------------------------------------- import_excel_batch / api_batch_insert_calls

def test_excel_batch_named_fields_and_optional_columns(conn: psycopg.Connection, service: dict) -> None:
    rows = [
        {"interval_start": "01.02.2024 10:00:00", "unique_incoming": 5, "non_unique_incoming": 6, "avg_talk_time": 100,
         "avg_post_processing_time": 20, "group_id": service["group_id"], "answered_calls": 5,
         "answered_within_sl": 4, "abandoned_calls": 1, "sl_threshold_seconds": 20},
        {"interval_start": "01.02.2024 10:15:00", "unique_incoming": 1, "non_unique_incoming": 2, "avg_talk_time": 1,
         "avg_post_processing_time": 1, "answered_calls": 3},
        {"interval_start": "01.02.2024 10:30:00", "unique_incoming": 1, "non_unique_incoming": 2, "avg_talk_time": 1,
         "avg_post_processing_time": 1, "answered_within_sl": 1},
        {"interval_start": "01.02.2024 10:45:00", "unique_incoming": 1, "non_unique_incoming": 2, "avg_talk_time": 1,
         "avg_post_processing_time": 1, "group_id": 99999},
    ]
    cur = conn.execute("SELECT * FROM import_excel_batch(%s, %s)", (Jsonb(rows), service["service_id"]))
    result = dict(zip([d.name for d in cur.description], cur.fetchone()))
    assert (result["rows_inserted"], result["rows_rejected"]) == (1, 3)
    errors = conn.execute("SELECT row_number, column_name, error_code FROM import_errors WHERE import_batch_id = %s "
                          "ORDER BY 1", (result["import_batch_id"],)).fetchall()
    assert errors == [(2, "answered_calls", "OUT_OF_RANGE"), (3, "sl_threshold_seconds", "MISSING_VALUE"),
                      (4, "group_id", "UNKNOWN_GROUP")]
    stored = conn.execute("SELECT group_id, answered_calls, answered_within_sl, abandoned_calls, sl_threshold_seconds "
                          "FROM contact_statistics").fetchall()
    assert stored == [(service["group_id"], 5, 4, 1, 20)]


def _calls(service_id: int, n: int, start: str = "2025-03-03T08:00:00+01:00", **extra) -> list[dict]:
    t0 = dt.datetime.fromisoformat(start)
    return [{"service_id": service_id, "interval_start": (t0 + dt.timedelta(minutes=15 * i)).isoformat(),
             "unique_incoming": i, "non_unique_incoming": i + 1, "avg_talk_time": 60 + i,
             "avg_post_processing_time": 5, **extra} for i in range(n)]


def test_api_batch_several_services_and_source(conn: psycopg.Connection, service: dict) -> None:
    other = conn.execute("INSERT INTO services (code, name, time_zone) VALUES ('S2', 'two', 'UTC') "
                         "RETURNING service_id").fetchone()[0]
    calls = _calls(service["service_id"], 3) + _calls(other, 2, group_id=None)
    cur = conn.execute("SELECT * FROM api_batch_insert_calls(%s, 'ui_upload')", (Jsonb(calls),))
    result = dict(zip([d.name for d in cur.description], cur.fetchone()))
    assert (result["status"], result["rows_inserted"]) == ("completed", 5)
    batch = _batch(conn, result["import_batch_id"])
    assert (batch["source"], batch["service_id"], batch["details"]["fast_path"]) == ("ui_upload", None, True)
    assert conn.execute("SELECT service_id, count(*) FROM contact_statistics GROUP BY 1 ORDER BY 1").fetchall() == [
        (service["service_id"], 3), (other, 2)]


def test_api_batch_reports_bad_rows_and_keeps_good_ones(conn: psycopg.Connection, service: dict) -> None:
    calls = _calls(service["service_id"], 3)
    calls[0]["interval_start"] = "2025-03-03T08:00:00"          # no offset
    calls[1]["service_id"] = 424242                             # unknown service
    calls.append({"interval_start": "2025-03-03T10:00:00Z"})    # no service, no values
    cur = conn.execute("SELECT * FROM api_batch_insert_calls(%s)", (Jsonb(calls),))
    result = dict(zip([d.name for d in cur.description], cur.fetchone()))
    assert (result["status"], result["rows_inserted"], result["rows_rejected"]) == ("completed_with_errors", 1, 3)
    assert _batch(conn, result["import_batch_id"])["details"]["fast_path"] is False
    errors = conn.execute("SELECT row_number, column_name, error_code FROM import_errors WHERE import_batch_id = %s "
                          "ORDER BY 1, 2", (result["import_batch_id"],)).fetchall()
    assert errors == [(1, "interval_start", "INVALID_DATETIME"), (2, "service_id", "UNKNOWN_SERVICE"),
                      # D and E are not required while C itself is missing (as in files)
                      (4, "non_unique_incoming", "MISSING_VALUE"), (4, "service_id", "MISSING_VALUE"),
                      (4, "unique_incoming", "MISSING_VALUE")]


def test_fast_path_and_full_validator_agree_on_a_clean_batch(conn: psycopg.Connection, service: dict) -> None:
    calls = _calls(service["service_id"], 50, answered_calls=1, answered_within_sl=1, sl_threshold_seconds=20)
    calls += _calls(service["service_id"], 3, start="2025-03-03T08:00:00Z", group_id=service["group_id"])
    full = conn.execute("SELECT row_number, service_id, group_id, interval_start_time, unique_incoming, "
                        "non_unique_incoming, avg_talk_time, avg_post_processing_time, answered_calls, "
                        "answered_within_sl, abandoned_calls, sl_threshold_seconds "
                        "FROM stage_import_rows(%s, 'api') WHERE cardinality(errors) = 0 ORDER BY 1",
                        (Jsonb(calls),)).fetchall()
    batch_id = conn.execute("SELECT import_batch_id FROM api_batch_insert_calls(%s)", (Jsonb(calls),)).fetchone()[0]
    assert _batch(conn, batch_id)["details"]["fast_path"] is True
    fast = conn.execute("SELECT source_row_number, service_id, group_id, interval_start_time, unique_incoming, "
                        "non_unique_incoming, avg_talk_time, avg_post_processing_time, answered_calls, "
                        "answered_within_sl, abandoned_calls, sl_threshold_seconds "
                        "FROM contact_statistics_history WHERE import_batch_id = %s ORDER BY 1", (batch_id,)).fetchall()
    assert len(fast) == 53 and fast == full


@pytest.mark.parametrize("change", [
    {"unique_incoming": 9, "non_unique_incoming": 3}, {"avg_talk_time": None}, {"avg_talk_time": 86401},
    {"answered_calls": 99}, {"sl_threshold_seconds": 0}, {"sl_threshold_seconds": 86401},
    {"interval_start": "2025-03-03T08:05:00+01:00"}, {"interval_start": "2025-03-03T08:15:00"},
    {"interval_start": "2025-02-30T08:00:00+01:00"}, {"unique_incoming": 1.5}, {"group_id": 77777},
    {"service_id": 88888}, {"interval_start": "2025-03-03T08:00:00+01:00"},  # the same interval as row 1
    {"unique_incoming": "seven"},
])
def test_fast_path_never_accepts_what_the_validator_rejects(conn: psycopg.Connection, service: dict, change) -> None:
    calls = _calls(service["service_id"], 3)
    calls[1].update(change)
    batch_id, rejected = conn.execute("SELECT import_batch_id, rows_rejected FROM api_batch_insert_calls(%s)",
                                      (Jsonb(calls),)).fetchone()
    assert _batch(conn, batch_id)["details"]["fast_path"] is False
    rejected_rows = {r for (r,) in conn.execute("SELECT row_number FROM import_errors WHERE import_batch_id = %s",
                                                (batch_id,))}
    assert rejected == len(rejected_rows) and 2 in rejected_rows
    assert conn.execute("SELECT count(*) FROM contact_statistics WHERE import_batch_id = %s",
                        (batch_id,)).fetchone() == (3 - rejected,)


# The guard is checked per batch (one regex over all integer cells joined by ',', one over all
# times): a cell holding the separator must not slip through it.
@pytest.mark.parametrize("change, rejected", [
    ({"interval_start": "2025-03-03T08:15:00+01:00,"}, {2}),
    # the last row: the times regex alone would take "...,<time>," (PostgreSQL reads it as <time>)
    ({"row": 3, "interval_start": "2025-03-03T08:30:00+01:00,"}, {3}),
    ({"interval_start": "2025-03-03T08:15:00+01:00,2025-03-03T08:30:00+01:00"}, {2}),
    ({"interval_start": ",2025-03-03T08:15:00+01:00"}, {2}),
    ({"unique_incoming": "1,2", "non_unique_incoming": 99}, {2}), ({"avg_talk_time": ","}, {2}),
    ({"unique_incoming": -1}, {2}), ({"interval_start": "2025-03-03T08:15:00+15:00"}, {2}),
    ({"interval_start": None}, {2}),
    # valid for the validator, but not in the fast path's narrower shapes
    ({"group_id": ""}, set()), ({"answered_calls": "+1"}, set()),
])
def test_the_batch_guard_sends_a_cell_with_its_separator_to_the_validator(conn: psycopg.Connection, service: dict,
                                                                          change, rejected) -> None:
    calls = _calls(service["service_id"], 3)
    change = dict(change)
    calls[change.pop("row", 2) - 1].update(change)
    batch_id, n_rejected = conn.execute("SELECT import_batch_id, rows_rejected FROM api_batch_insert_calls(%s)",
                                        (Jsonb(calls),)).fetchone()
    assert _batch(conn, batch_id)["details"]["fast_path"] is False
    rejected_rows = {r for (r,) in conn.execute("SELECT row_number FROM import_errors WHERE import_batch_id = %s",
                                                (batch_id,))}
    assert n_rejected == len(rejected) and rejected_rows == rejected  # the validator's verdict
    assert conn.execute("SELECT count(*) FROM contact_statistics WHERE import_batch_id = %s",
                        (batch_id,)).fetchone() == (3 - len(rejected),)


def test_fast_path_batch_over_months_with_a_gap_and_two_services(conn: psycopg.Connection, service: dict) -> None:
    """Months and services of a fast-path batch come from its range (one probe per month), not
    from a sort of its rows: a month without rows in between is not listed; digit strings are
    integers here as in the validator."""
    ensure_months(conn, "2025-03", "2025-04", "2025-05")
    other = conn.execute("INSERT INTO services (code, name, time_zone) VALUES ('S2', 'two', 'UTC') "
                         "RETURNING service_id").fetchone()[0]
    calls = (_calls(service["service_id"], 2, start="2025-03-31T23:30:00+00:00")
             + _calls(other, 2, start="2025-05-01T00:00:00+00:00", unique_incoming="3", non_unique_incoming="04"))
    full = conn.execute("SELECT row_number, service_id, interval_start_time, unique_incoming, non_unique_incoming "
                        "FROM stage_import_rows(%s, 'api') WHERE cardinality(errors) = 0 ORDER BY 1",
                        (Jsonb(calls),)).fetchall()
    status, batch_id = conn.execute("SELECT status, import_batch_id FROM api_batch_insert_calls(%s)",
                                    (Jsonb(calls),)).fetchone()
    batch = _batch(conn, batch_id)
    assert (status, batch["details"]["fast_path"], batch["rows_inserted"]) == ("completed", True, 4)
    assert batch["details"]["months"] == ["2025-03", "2025-04", "2025-05"][::2]
    assert (batch["first_interval"], batch["last_interval"]) == (
        dt.datetime(2025, 3, 31, 23, 30, tzinfo=UTC), dt.datetime(2025, 5, 1, 0, 15, tzinfo=UTC))
    fast = conn.execute("SELECT source_row_number, service_id, interval_start_time, unique_incoming, "
                        "non_unique_incoming FROM contact_statistics_history WHERE import_batch_id = %s "
                        "ORDER BY 1", (batch_id,)).fetchall()
    assert len(fast) == 4 and fast == full and fast[2][3:] == (3, 4)
    assert conn.execute("SELECT service_id, count(*) FROM contact_statistics GROUP BY 1 ORDER BY 1").fetchall() == [
        (service["service_id"], 2), (other, 2)]


def test_api_rows_of_a_month_without_partition_are_rejected_not_created(conn: psycopg.Connection,
                                                                        service: dict) -> None:
    before = _partition_names(conn)
    calls = _calls(service["service_id"], 2, start="2033-07-01T00:00:00Z") + _calls(service["service_id"], 1)
    batch_id = conn.execute("SELECT import_batch_id FROM api_batch_insert_calls(%s)", (Jsonb(calls),)).fetchone()[0]
    batch = _batch(conn, batch_id)
    assert (batch["status"], batch["rows_inserted"], batch["rows_rejected"], batch["details"]["fast_path"]) == (
        "completed_with_errors", 1, 2, False)
    assert conn.execute("SELECT row_number, column_name, error_code FROM import_errors WHERE import_batch_id = %s "
                        "ORDER BY 1", (batch_id,)).fetchall() == [(1, "interval_start", "NO_PARTITION"),
                                                                 (2, "interval_start", "NO_PARTITION")]
    assert _partition_names(conn) == before


# Issue 9: PostgreSQL's input functions take these (integer: hex/octal/binary/underscores;
# timestamptz: 24:00, leap seconds, DateStyle-dependent dates, year 1); the fast path once
# stored them while preview_import said reject. Now one verdict: the validator's.
_CAST_ONLY = [
    ({"interval_start": "2025-03-03T24:00:00+00:00"}, "interval_start", "INVALID_DATETIME"),
    ({"interval_start": "2025-03-03T23:59:60Z"}, "interval_start", "INVALID_DATETIME"),
    ({"interval_start": "03/04/2025 00:00:00+00:00"}, "interval_start", "INVALID_DATETIME"),
    ({"interval_start": "0001-03-03T08:15:00+00:00"}, "interval_start", "INVALID_DATETIME"),
    ({"unique_incoming": "0x10", "non_unique_incoming": 99}, "unique_incoming", "NOT_INTEGER"),
    ({"unique_incoming": "1_000", "non_unique_incoming": 2000}, "unique_incoming", "NOT_INTEGER"),
    ({"non_unique_incoming": "0o17"}, "non_unique_incoming", "NOT_INTEGER"),
    ({"avg_talk_time": "0b1000"}, "avg_talk_time", "NOT_INTEGER"),
    ({"service_id": "0x2"}, "service_id", "NOT_INTEGER"),
    ({"group_id": "0x1"}, "group_id", "NOT_INTEGER"),
    ({"answered_calls": " 1"}, None, None),   # white space is stripped, as in files: valid, not fast
]


@pytest.mark.parametrize("change, column, code, datestyle", [
    *((change, column, code, "ISO, MDY") for change, column, code in _CAST_ONLY),
    *((change, column, code, "SQL, DMY") for change, column, code in _CAST_ONLY[:3]),
])
def test_fast_path_stores_only_what_the_validator_accepts(conn: psycopg.Connection, service: dict, change,
                                                           column, code, datestyle) -> None:
    conn.execute(f"SET DateStyle = '{datestyle}'")
    calls = _calls(service["service_id"], 3)
    calls[1].update(change)
    preview = conn.execute("SELECT row_number, action, error_codes FROM preview_import(%s, p_format => 'api')",
                           (Jsonb(calls),)).fetchall()
    batch_id, status = conn.execute("SELECT import_batch_id, status FROM api_batch_insert_calls(%s)",
                                    (Jsonb(calls),)).fetchone()
    conn.execute("RESET DateStyle")  # psycopg reads timestamps in ISO style
    batch = _batch(conn, batch_id)
    assert batch["details"]["fast_path"] is False
    errors = conn.execute("SELECT row_number, column_name, error_code FROM import_errors WHERE import_batch_id = %s",
                          (batch_id,)).fetchall()
    stored = conn.execute("SELECT source_row_number FROM contact_statistics_history WHERE import_batch_id = %s "
                          "ORDER BY 1", (batch_id,)).fetchall()
    if code is None:
        assert (errors, status, stored, preview[1][1]) == ([], "completed", [(1,), (2,), (3,)], "insert")
    else:
        assert errors == [(2, column, code)]
        assert preview[1][1:] == ("reject", [code])
        assert (status, stored) == ("completed_with_errors", [(1,), (3,)])


def test_the_fast_path_guard_is_set_based(conn: psycopg.Connection) -> None:
    """No per-row PL/pgSQL on the fast path: one INSERT ... SELECT over jsonb_to_recordset."""
    body = conn.execute("SELECT prosrc FROM pg_proc WHERE oid = 'wfm.import_api_fast(jsonb, uuid)'::regprocedure"
                        ).fetchone()[0]
    assert "jsonb_to_recordset" in body and not re.search(r"\bLOOP\b|\bFOR\s+\w+\s+IN\b|\bFOREACH\b", body, re.I)
    assert "ensure_monthly_partitions" not in body


# ---------------------------------------------------------------- locks and partitions (issue 9)

# Lock modes that conflict with what a reader (AccessShare) or another import (RowExclusive) takes.
_BLOCKING_MODES = {"AccessExclusiveLock", "ExclusiveLock", "ShareRowExclusiveLock", "ShareLock"}


def test_api_import_in_an_open_transaction_holds_no_lock_a_reader_needs(db_url: str, conn: psycopg.Connection,
                                                                        service: dict) -> None:
    """As a login role in wfm_api, an open transaction after a JSON import that asked for 100
    rows over 2100-2108 (months without partitions): no partition was created, no lock the
    caller keeps blocks a reader or another import (NOWAIT: no waiting, no timing)."""
    from psycopg import sql

    role = f"wfm_t_app_{uuid.uuid4().hex[:10]}"
    partitions_before = _partition_names(conn)
    now = dt.datetime.now(UTC)
    calls = _calls(service["service_id"], 4, start=f"{now:%Y-%m}-02T00:00:00Z")
    far = [dt.datetime(2100, 1, 1, tzinfo=UTC) + dt.timedelta(days=33 * i, minutes=15 * i) for i in range(100)]
    calls += [{**calls[0], "interval_start": t.isoformat()} for t in far]
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE wfm_api").format(sql.Identifier(role)))
    try:
        with psycopg.connect(db_url, options="-c search_path=wfm,public") as app:
            app.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
            status, total, inserted, rejected = app.execute(
                "SELECT status, rows_total, rows_inserted, rows_rejected FROM api_batch_insert_calls(%s)",
                (Jsonb(calls),)).fetchone()
            assert (status, total, inserted, rejected) == ("completed_with_errors", 104, 4, 100)
            # app's transaction is still open
            with psycopg.connect(db_url, autocommit=True) as other:
                held = other.execute(
                    """SELECT l.mode, c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                       JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE l.pid = %s AND l.granted AND n.nspname = 'wfm'""", (app.info.backend_pid,)).fetchall()
                assert held and not {m for m, _ in held} & _BLOCKING_MODES, held
                with other.transaction():
                    other.execute("LOCK TABLE wfm.contact_statistics, wfm.contact_statistics_history "
                                  "IN ACCESS SHARE MODE NOWAIT")
                    assert other.execute("SELECT count(*) FROM wfm.contact_statistics").fetchone() == (0,)
                with other.transaction():  # another import could write meanwhile
                    other.execute("LOCK TABLE wfm.contact_statistics, wfm.contact_statistics_history "
                                  "IN ROW EXCLUSIVE MODE NOWAIT")
            app.rollback()
        assert _partition_names(conn) == partitions_before
    finally:
        with psycopg.connect(db_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


# ---------------------------------------------------------------- payload limits

def test_payload_over_the_row_limit_is_refused_before_expansion(conn: psycopg.Connection, service: dict) -> None:
    conn.execute("UPDATE api_write_limits SET max_rows_per_call = 5")
    before = conn.execute("SELECT count(*) FROM import_batches").fetchone()
    for call in ("SELECT * FROM api_batch_insert_calls(%s)", "SELECT * FROM preview_import(%s, p_format => 'api')",
                 "SELECT * FROM validate_argus_format(%s)"):
        with pytest.raises(psycopg.errors.ProgramLimitExceeded) as info:
            with conn.transaction():
                conn.execute(call, (Jsonb(_calls(service["service_id"], 6)),))
        assert "at most 5 rows" in info.value.diag.message_primary
        assert "wfm.api_write_limits" in info.value.diag.message_hint
    assert conn.execute("SELECT count(*) FROM import_batches").fetchone() == before
    result = conn.execute("SELECT status FROM api_batch_insert_calls(%s)",
                          (Jsonb(_calls(service["service_id"], 5)),)).fetchone()
    assert result == ("completed",)


def test_payload_over_the_byte_limit_is_refused(conn: psycopg.Connection, service: dict) -> None:
    assert conn.execute("SELECT max_rows_per_call, max_bytes_per_call FROM api_write_limits").fetchone() == (
        50000, 20 * 1024 * 1024)
    conn.execute("UPDATE api_write_limits SET max_bytes_per_call = 4096")
    calls = _calls(service["service_id"], 3)
    calls[0]["note"] = "x" * 5000
    with pytest.raises(psycopg.errors.ProgramLimitExceeded, match="bytes"):
        with conn.transaction():
            conn.execute("SELECT * FROM import_excel_batch(%s, %s)", (Jsonb(calls), service["service_id"]))
    # a compressed payload (from a temporary table the API role may create) counts expanded
    conn.execute("CREATE TEMP TABLE payload AS SELECT %s::jsonb AS j", (Jsonb(_calls(service["service_id"], 200)),))
    assert conn.execute("SELECT pg_column_compression(j) IS NOT NULL, pg_column_size(j) < 4096 "
                        "FROM payload").fetchone() == (True, True)
    with pytest.raises(psycopg.errors.ProgramLimitExceeded, match="bytes"):
        conn.execute("SELECT * FROM api_batch_insert_calls((SELECT j FROM payload))")


# ---------------------------------------------------------------- preview

def test_preview_shows_insert_update_reject_skip_without_writing(conn: psycopg.Connection, service: dict) -> None:
    _import(conn, [["01.02.2024 10:00:00", 1, 2, 3, 4]], service["service_id"])
    batches = conn.execute("SELECT count(*) FROM import_batches").fetchone()
    data = [["01.02.2024 10:00:00", 5, 6, 7, 8], ["01.02.2024 10:15:00", 1, 2, 3, 4],
            ["01.02.2024 10:15:00", 1, 2, 3, 4], ["01.02.2024 10:30:00", -1, 2, 3, 4]]
    rows = conn.execute("SELECT row_number, action, unique_incoming, current_unique_incoming, error_codes "
                        "FROM preview_import(%s, %s)", (Jsonb(data), service["service_id"])).fetchall()
    assert rows == [(1, "update", 5, 1, []), (2, "insert", 1, None, []), (3, "skip", 1, None, ["DUPLICATE_ROW"]),
                    (4, "reject", None, None, ["NEGATIVE_VALUE"])]
    assert conn.execute("SELECT count(*) FROM import_batches").fetchone() == batches
    assert conn.execute("SELECT unique_incoming FROM contact_statistics").fetchone() == (1,)


# ---------------------------------------------------------------- benchmark plumbing

def test_api_insert_benchmark_runs_and_cleans_up(db_url: str, conn: psycopg.Connection) -> None:
    from wfm_pipeline.bench import api_insert as api_bench

    result = api_bench.bench_batch_insert(db_url, lambda _: None, rows_per_call=40, calls=2)
    assert [(p.name, p.rows) for p in result.phases] == [("insert (objects)", 80), ("update (objects)", 80),
                                                         ("insert (compact)", 80), ("update (compact)", 80)]
    assert len(result.ratios()) == 8 and "update (compact)" in str(result)
    assert all(p.rows_per_second > 0 for p in result.phases)
    paired = result.paired  # the compact inserts interleaved with bare COPYs of the same rows
    assert paired is not None and len(paired.api_seconds) == len(paired.copy_seconds) == 2
    assert paired.ratio > 0 and "interleaved" in str(result)
    assert conn.execute("SELECT count(*) FROM contact_statistics").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM contact_statistics_history").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM import_batches").fetchone() == (0,)


def test_both_upserts_overwrite_the_same_columns(conn: psycopg.Connection) -> None:
    """The ON CONFLICT ... DO UPDATE SET list is defined once (wfm.contact_statistics_upsert_set,
    built into apply_import_batch_range's dynamic upsert); resolve_contact_statistics keeps it as
    static SQL: the two must stay equal, and cover every stored column but the key and the
    generated ones (a column added later and forgotten here would keep a stale value)."""
    shared = conn.execute("SELECT wfm.contact_statistics_upsert_set()").fetchone()[0]
    body = conn.execute("SELECT prosrc FROM pg_proc WHERE oid = "
                        "'wfm.resolve_contact_statistics(integer[], timestamptz[])'::regprocedure").fetchone()[0]
    static = re.search(r"DO UPDATE SET\s+(.*?)\s+WHERE \(cs\.", body, re.S).group(1)

    def norm(text: str) -> str:
        return re.sub(r"\s+", " ", text).strip()
    assert norm(static) == norm(shared)
    columns = {m.group(1) for m in re.finditer(r"(\w+)\s+=", shared)}
    stored = {r[0] for r in conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'wfm.contact_statistics'::regclass AND attnum > 0 "
        "AND NOT attisdropped AND attgenerated = ''").fetchall()}
    assert columns == stored - {"interval_start_time", "service_id", "group_id"}
    apply_body = conn.execute("SELECT prosrc FROM pg_proc WHERE oid = "
                              "'wfm.apply_import_batch_range(uuid, timestamptz, timestamptz, integer[])'::regprocedure"
                              ).fetchone()[0]
    assert "wfm.contact_statistics_upsert_set()" in apply_body and "EXCLUDED." not in apply_body
