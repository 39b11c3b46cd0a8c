"""Loading into PostgreSQL: audit rows, history, latest batch wins, revert, duplicates, strict,
validate-only, file-level rejections and crashes that leave nothing partial."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path

import psycopg
import pytest

from wfm_pipeline.argus import batches
from wfm_pipeline.argus import errors as E
from wfm_pipeline.argus.loader import ImportFailedError, load_validated, resolve_target
from wfm_pipeline.argus.reader import file_sha256, read_argus_file
from wfm_pipeline.argus.steps import import_file
from wfm_pipeline.argus.validate import validate_argus
from wfm_pipeline_tests.argus_files import argus_rows, write_argus, write_csv, write_xlsx

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 1, 5, 8, 0)


def stats(conn: psycopg.Connection, group_id: int | None = None) -> dict[dt.datetime, tuple]:
    rows = conn.execute(
        """SELECT interval_start_time, unique_incoming, non_unique_incoming, avg_talk_time, avg_post_processing_time
           FROM contact_statistics WHERE group_id IS NOT DISTINCT FROM %s ORDER BY 1""", (group_id,)).fetchall()
    conn.rollback()
    return {r[0]: tuple(r[1:]) for r in rows}


def batch_row(conn: psycopg.Connection, batch_id) -> dict:
    from psycopg.rows import dict_row

    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute("SELECT * FROM import_batches WHERE import_batch_id = %s", (batch_id,)).fetchone()
    conn.rollback()
    return row


def counts(conn: psycopg.Connection) -> tuple[int, int, int, int]:
    out = conn.execute("""SELECT (SELECT count(*) FROM contact_statistics), (SELECT count(*) FROM contact_statistics_history),
                                 (SELECT count(*) FROM import_batches), (SELECT count(*) FROM import_errors)""").fetchone()
    conn.rollback()
    return out


def test_import_writes_statistics_history_batch_and_errors(conn, service, tmp_path: Path) -> None:
    rows = argus_rows(T0, 8)
    rows[5][1] = "x"
    path = write_xlsx(tmp_path / "day.xlsx", rows)
    result = import_file(conn, path, "S1")

    assert result.status == "completed_with_errors"
    assert (result.rows_total, result.rows_inserted, result.rows_updated, result.rows_rejected,
            result.rows_skipped) == (8, 7, 0, 1, 0)
    assert result.first_interval == dt.datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
    assert result.last_interval == dt.datetime(2026, 1, 5, 8, 45, tzinfo=UTC)
    current = stats(conn)
    assert len(current) == 7 and current[dt.datetime(2026, 1, 5, 7, 0, tzinfo=UTC)] == tuple(rows[0][1:])

    b = batch_row(conn, result.import_batch_id)
    assert (b["status"], b["rows_total"], b["rows_inserted"], b["rows_rejected"], b["file_name"],
            b["file_sha256"], b["service_id"], b["group_id"]) == (
        "completed_with_errors", 8, 7, 1, "day.xlsx", file_sha256(path), service["service_id"], None)
    assert b["details"]["months"] == ["2026-01"] and b["finished_at"] is not None
    errs = conn.execute("SELECT row_number, column_name, error_code, raw_value FROM import_errors "
                        "WHERE import_batch_id = %s", (result.import_batch_id,)).fetchall()
    assert errs == [(7, "B", E.NOT_INTEGER, "x")]
    hist = conn.execute("SELECT count(*), min(source_row_number), max(source_row_number) FROM contact_statistics_history "
                        "WHERE import_batch_id = %s", (result.import_batch_id,)).fetchone()
    assert hist == (7, 2, 9)
    d = result.to_dict()
    assert d["status"] == "completed_with_errors" and d["errors"][0] == {
        "row": 7, "column": "B", "code": E.NOT_INTEGER, "message": "column B 'x' is not a whole number", "value": "x"}


def test_group_import_and_service_level_rows_are_separate(conn, service, tmp_path: Path) -> None:
    rows = argus_rows(T0, 4)
    import_file(conn, write_csv(tmp_path / "svc.csv", rows), "S1")
    result = import_file(conn, write_csv(tmp_path / "grp.csv", argus_rows(T0, 4, seed=3)), "S1", "G1")
    assert result.rows_inserted == 4 and result.group == "G1"
    assert len(stats(conn)) == 4 and len(stats(conn, service["group_id"])) == 4


def test_month_and_year_boundaries_create_partitions_in_both_tables(conn, service, tmp_path: Path) -> None:
    # Local 23:30 .. 00:45 (New Year) is 22:30 .. 23:45 UTC: all December.
    # 2029/2030 lie beyond the default on-demand window (24 months ahead): widen it for this file.
    conn.execute("UPDATE partition_config SET ondemand_months_ahead = 120")
    conn.commit()
    rows = [[dt.datetime(2029, 12, 31, 23, 30) + dt.timedelta(minutes=15 * i), 1, 2, 3, 4] for i in range(6)]
    result = import_file(conn, write_xlsx(tmp_path / "ny.xlsx", rows), "S1")
    assert result.status == "completed" and result.months == ["2029-12"]  # Berlin is UTC+1 in winter
    parts = {r[0] for r in conn.execute(
        "SELECT partition_name FROM wfm.partitions WHERE NOT is_guard AND range_start >= '2029-12-01'")}
    conn.rollback()
    assert {"contact_statistics_2029_12", "contact_statistics_history_2029_12"} <= parts
    rows = [[dt.datetime(2030, 1, 31, 23, 45), 1, 2, 3, 4], [dt.datetime(2030, 2, 1, 1, 0), 1, 2, 3, 4]]
    result = import_file(conn, write_xlsx(tmp_path / "feb.xlsx", rows), "S1")
    assert result.months == ["2030-01", "2030-02"] and result.rows_inserted == 2


def test_correction_file_updates_then_revert_restores_and_is_idempotent(conn, service, tmp_path: Path) -> None:
    original = argus_rows(T0, 6)
    first = import_file(conn, write_xlsx(tmp_path / "v1.xlsx", original), "S1")
    before = stats(conn)
    # Correction: rows 2-3 changed, plus two new intervals.
    corrected = [list(r) for r in original[2:4]] + argus_rows(T0 + dt.timedelta(minutes=90), 2, seed=9)
    corrected[0][2] += 10
    corrected[1][3] = 999
    second = import_file(conn, write_xlsx(tmp_path / "v2.xlsx", corrected), "S1")
    assert (second.rows_inserted, second.rows_updated) == (2, 2)
    after = stats(conn)
    assert len(after) == 8 and after[dt.datetime(2026, 1, 5, 7, 30, tzinfo=UTC)][1] == original[2][2] + 10

    reverted = batches.revert_batch(conn, second.import_batch_id)
    assert (reverted.rows_restored, reverted.rows_deleted, reverted.already_reverted) == (2, 2, False)
    assert stats(conn) == before
    assert batch_row(conn, second.import_batch_id)["status"] == "reverted"
    again = batches.revert_batch(conn, second.import_batch_id)
    assert again.already_reverted and stats(conn) == before
    # The history still holds every row of both batches.
    assert counts(conn)[1] == 6 + 4
    # Reverting the first batch too empties the table.
    batches.revert_batch(conn, first.import_batch_id)
    assert stats(conn) == {}


def test_revert_of_an_older_batch_keeps_newer_values(conn, service, tmp_path: Path) -> None:
    rows = argus_rows(T0, 3)
    a = import_file(conn, write_csv(tmp_path / "a.csv", rows), "S1")
    newer = [list(r) for r in rows]
    for r in newer:
        r[2] += 1
    b = import_file(conn, write_csv(tmp_path / "b.csv", newer), "S1")
    expected = stats(conn)
    result = batches.revert_batch(conn, a.import_batch_id)
    assert (result.rows_restored, result.rows_deleted) == (0, 0) and stats(conn) == expected
    batches.revert_batch(conn, b.import_batch_id)
    assert stats(conn) == {}  # a is reverted too: nothing remains


def test_revert_unknown_batch_is_a_clear_error(conn, service) -> None:
    with pytest.raises(batches.UnknownBatchError, match="unknown import batch"):
        batches.revert_batch(conn, uuid.uuid4())
    with pytest.raises(batches.UnknownBatchError, match="not an import batch id"):
        batches.revert_batch(conn, "nope")


def test_rebuild_month_reconstructs_contact_statistics_from_history(conn, service, tmp_path: Path) -> None:
    rows = argus_rows(dt.datetime(2026, 2, 27, 12, 0), 300)  # runs into March
    import_file(conn, write_xlsx(tmp_path / "a.xlsx", rows), "S1")
    fix = [list(r) for r in rows[:10]]
    for r in fix:
        r[2] += 5
    b = import_file(conn, write_xlsx(tmp_path / "b.xlsx", fix), "S1")
    expected = stats(conn)
    conn.execute("DELETE FROM contact_statistics WHERE interval_start_time < '2026-03-01'")
    conn.execute("UPDATE contact_statistics SET unique_incoming = 0")
    conn.commit()
    assert batches.rebuild_month(conn, dt.date(2026, 2, 1))[1] > 0
    assert batches.rebuild_month(conn, dt.date(2026, 3, 1))[1] > 0
    assert stats(conn) == expected
    info = batches.month_batches(conn, dt.date(2026, 2, 1))
    fed = {r["import_batch_id"]: r for r in info}
    assert str(b.import_batch_id) in fed and fed[str(b.import_batch_id)]["rows_in_history"] > 0


def test_same_file_twice_is_a_duplicate_and_changes_nothing(conn, service, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "dup.xlsx", argus_rows(T0, 5))
    first = import_file(conn, path, "S1")
    snapshot = counts(conn)
    copy = tmp_path / "renamed.xlsx"
    copy.write_bytes(path.read_bytes())
    second = import_file(conn, copy, "S1")
    assert second.status == "duplicate" and second.duplicate_of == first.import_batch_id
    assert (second.rows_total, second.rows_skipped, second.rows_inserted) == (5, 5, 0)
    c = counts(conn)
    assert c[:2] == snapshot[:2] and c[2] == snapshot[2] + 1  # only the audit row was added
    assert batch_row(conn, second.import_batch_id)["status"] == "duplicate"
    # Same content for another group is not a duplicate.
    assert import_file(conn, copy, "S1", "G1").status == "completed"


def test_a_reverted_file_can_be_imported_again(conn, service, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "again.csv", argus_rows(T0, 3))
    first = import_file(conn, path, "S1")
    batches.revert_batch(conn, first.import_batch_id)
    assert import_file(conn, path, "S1").status == "completed" and len(stats(conn)) == 3


def test_strict_mode_imports_nothing_when_any_row_is_invalid(conn, service, tmp_path: Path) -> None:
    rows = argus_rows(T0, 5)
    rows[1][3] = -5
    result = import_file(conn, write_xlsx(tmp_path / "s.xlsx", rows), "S1", strict=True)
    assert result.status == "rejected" and not result.ok
    assert (result.rows_total, result.rows_inserted, result.rows_rejected) == (5, 0, 5)
    assert [e.code for e in result.errors] == [E.NEGATIVE_VALUE, E.STRICT_MODE]
    assert counts(conn)[:2] == (0, 0)
    b = batch_row(conn, result.import_batch_id)
    assert b["status"] == "rejected" and b["rows_rejected"] == 5 and "strict import" in b["error_message"]
    # A clean file passes strict mode.
    clean = import_file(conn, write_xlsx(tmp_path / "c.xlsx", argus_rows(T0, 5)), "S1", strict=True)
    assert clean.status == "completed" and clean.rows_inserted == 5


def test_validate_only_reports_without_writing_statistics(conn, service, tmp_path: Path) -> None:
    import_file(conn, write_csv(tmp_path / "base.csv", argus_rows(T0, 3)), "S1")
    rows = argus_rows(T0, 5, seed=4)
    rows[4][1] = None
    result = import_file(conn, write_csv(tmp_path / "check.csv", rows), "S1", validate_only=True)
    assert result.status == "validated"
    assert (result.rows_inserted, result.rows_updated, result.rows_rejected) == (1, 3, 1)
    assert len(stats(conn)) == 3 and counts(conn)[1] == 3
    assert batch_row(conn, result.import_batch_id)["status"] == "validated"


@pytest.mark.parametrize("case", ["unknown_service", "unknown_group", "unreadable", "too_few_columns", "no_data"])
def test_file_level_rejections_are_recorded(conn, service, tmp_path: Path, case: str) -> None:
    service_code, group_code = "S1", None
    path = write_xlsx(tmp_path / "f.xlsx", argus_rows(T0, 2))
    expected = {"unknown_service": E.UNKNOWN_SERVICE, "unknown_group": E.UNKNOWN_GROUP,
                "unreadable": E.FILE_UNREADABLE, "too_few_columns": E.TOO_FEW_COLUMNS, "no_data": E.NO_DATA_ROWS}[case]
    if case == "unknown_service":
        service_code = "NOPE"
    elif case == "unknown_group":
        group_code = "NOPE"
    elif case == "unreadable":
        path.write_bytes(b"garbage")
    elif case == "too_few_columns":
        path = write_csv(tmp_path / "f.csv", [r[:3] for r in argus_rows(T0, 2)], header=None)
    elif case == "no_data":
        path = write_csv(tmp_path / "f.csv", [["Total", 1, 2, 3, 4]])
    result = import_file(conn, path, service_code, group_code)
    assert result.status == "rejected" and not result.ok
    assert [(e.row, e.code) for e in result.errors] == [(None, expected)]
    b = batch_row(conn, result.import_batch_id)
    assert b["status"] == "rejected" and b["error_message"] == result.errors[0].message
    err = conn.execute("SELECT row_number, error_code FROM import_errors WHERE import_batch_id = %s",
                       (result.import_batch_id,)).fetchall()
    assert err == [(None, expected)]
    assert counts(conn)[:2] == (0, 0)


def test_a_crash_mid_load_leaves_nothing_partial(conn, service, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "crash.xlsx", argus_rows(T0, 50))

    def explode(stage: str, done: int, total: int) -> None:
        if stage == "apply":  # after the COPY into the history, before the upsert
            raise RuntimeError("disk on fire")

    with pytest.raises(ImportFailedError, match="disk on fire") as info:
        import_file(conn, path, "S1", progress=explode)
    assert counts(conn)[:2] == (0, 0)
    failed = batch_row(conn, info.value.import_batch_id)
    assert failed["status"] == "failed" and "disk on fire" in failed["error_message"]
    assert failed["rows_total"] == 50   # the input rows seen, even though none were kept
    assert (failed["rows_inserted"], failed["rows_updated"], failed["rows_rejected"], failed["rows_skipped"]) == (0, 0, 50, 0)
    assert conn.execute("SELECT count(*) FROM import_batches").fetchone()[0] == 1  # only the failure record
    conn.rollback()
    # The file is not a duplicate of a failed import: it loads normally afterwards.
    assert import_file(conn, path, "S1").rows_inserted == 50


def test_a_check_violation_in_the_upsert_rolls_back_everything(conn, service, tmp_path: Path) -> None:
    # A frame that bypassed validation (C < B): the table's CHECK constraint is the last guard.
    path = write_xlsx(tmp_path / "ok.xlsx", argus_rows(T0, 20))
    validation = validate_argus(read_argus_file(path), "Europe/Berlin")
    validation.valid.loc[15, "unique_incoming"] = validation.valid.loc[15, "non_unique_incoming"] + 1
    target = resolve_target(conn, "S1")
    conn.rollback()
    with pytest.raises(ImportFailedError, match="contact_statistics_unique_le_non_unique"):
        load_validated(conn, validation, target, file_name="ok.xlsx", sha256=file_sha256(path))
    assert counts(conn)[:2] == (0, 0)
    # Only the failure record: one failed batch whose one error says why (IMPORT_FAILED).
    assert conn.execute("SELECT b.status, e.error_code, e.row_number FROM import_batches b "
                        "JOIN import_errors e USING (import_batch_id)").fetchall() == [("failed", "IMPORT_FAILED", None)]
    conn.rollback()


def test_import_needs_an_idle_connection(conn, service, tmp_path: Path) -> None:
    conn.execute("SELECT 1")
    with pytest.raises(RuntimeError, match="no open transaction"):
        import_file(conn, write_csv(tmp_path / "x.csv", argus_rows(T0, 1)), "S1")


@pytest.mark.parametrize("suffix", [".xlsx", ".xls", ".csv"])
def test_every_format_loads_identically(conn, service, tmp_path: Path, suffix: str) -> None:
    rows = argus_rows(T0, 12)
    result = import_file(conn, write_argus(tmp_path / f"x{suffix}", rows), "S1")
    assert result.rows_inserted == 12
    assert list(stats(conn).values()) == [tuple(r[1:]) for r in rows]


def test_new_intervals_before_existing_ones_are_counted_exactly(conn, service, tmp_path: Path) -> None:
    rows = argus_rows(T0, 10)
    import_file(conn, write_csv(tmp_path / "later.csv", rows[4:8]), "S1")
    # New intervals come first in this file: the fast path inserts some, then meets an
    # existing one; its subtransaction is rolled back and the upsert counts everything once.
    changed = [list(r) for r in rows[0:6]]
    changed[5][3] = 77
    result = import_file(conn, write_csv(tmp_path / "earlier.csv", changed), "S1")
    assert (result.rows_inserted, result.rows_updated) == (4, 2)
    current = stats(conn)
    assert len(current) == 8 and current[dt.datetime(2026, 1, 5, 8, 15, tzinfo=UTC)][2] == 77
    assert conn.execute("SELECT count(*) FROM contact_statistics_history").fetchone()[0] == 4 + 6


def test_dst_fall_back_hour_is_stored_as_two_distinct_hours(conn, service, tmp_path: Path) -> None:
    local = [dt.datetime(2026, 10, 25, 2, m) for m in (0, 15, 30, 45)] * 2
    rows = [[ts, i, i, 60, 10] for i, ts in enumerate(local)]
    rows.insert(4, [dt.datetime(2026, 10, 25, 2, 30), 99, 99, 1, 1])  # a second 02:30 before the hour repeats
    result = import_file(conn, write_xlsx(tmp_path / "fallback.xlsx", rows), "S1")
    # In file order the first 02:30 is CEST; the inserted one and the repeated hour's 02:30
    # are both CET with different values: DUPLICATE_INTERVAL, both rejected.
    assert result.rows_inserted == 7 and result.rows_rejected == 2
    assert {(e.row, e.code) for e in result.errors} == {(6, E.DUPLICATE_INTERVAL), (9, E.DUPLICATE_INTERVAL)}
    stored = sorted(stats(conn))
    assert stored[0] == dt.datetime(2026, 10, 25, 0, 0, tzinfo=UTC) and stored[-1] == dt.datetime(2026, 10, 25, 1, 45, tzinfo=UTC)


def test_the_same_file_imported_concurrently_is_loaded_once(db_url, service, tmp_path: Path) -> None:
    import threading

    path = write_xlsx(tmp_path / "race.xlsx", argus_rows(T0, 200))
    results, errors = [], []

    def worker() -> None:
        try:
            with psycopg.connect(db_url, options="-c search_path=wfm,public") as c:
                results.append(import_file(c, path, "S1"))
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r.status for r in results) == ["completed", "duplicate"]
    with psycopg.connect(db_url) as c:
        assert c.execute("SELECT count(*) FROM wfm.contact_statistics").fetchone()[0] == 200
        assert c.execute("SELECT count(*) FROM wfm.contact_statistics_history").fetchone()[0] == 200


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_a_file_is_opened_once_and_the_batch_hash_is_of_the_bytes_parsed(conn, service, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch,
                                                                         suffix: str) -> None:
    path = write_argus(tmp_path / f"once{suffix}", argus_rows(T0, 6))
    sha = file_sha256(path)
    opened: list[str] = []
    real_open = os.open

    def counting_open(file, flags, *args, **kwargs):
        if os.path.realpath(file) == os.path.realpath(path):
            opened.append(str(file))
        return real_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", counting_open)
    result = import_file(conn, path, "S1")
    again = import_file(conn, path, "S1")  # a duplicate: hashed (one open), never parsed
    monkeypatch.undo()
    assert (result.status, result.rows_inserted, again.status) == ("completed", 6, "duplicate")
    assert len(opened) == 2
    assert batch_row(conn, result.import_batch_id)["file_sha256"] == sha == result.sha256
