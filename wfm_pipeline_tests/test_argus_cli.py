"""`wfm import` and `wfm batches` end to end through the CLI (real database, real files)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import psycopg
from click.testing import CliRunner

from wfm_pipeline.cli.main import cli
from wfm_pipeline_tests.argus_files import argus_rows, write_csv, write_xlsx

T0 = dt.datetime(2026, 1, 5, 8, 0)


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def setup_service() -> None:
    assert run("services", "add", "S1", "--name", "One", "--time-zone", "Europe/Berlin").exit_code == 0


def test_import_json_lines_and_exit_codes(wfm_env, tmp_path: Path) -> None:
    setup_service()
    good = write_xlsx(tmp_path / "good.xlsx", argus_rows(T0, 4))
    rows = argus_rows(T0 + dt.timedelta(days=1), 3)
    rows[1][2] = -1
    partial = write_csv(tmp_path / "partial.csv", rows)
    result = run("import", str(good), str(partial), "--service", "S1", "--json")
    assert result.exit_code == 0, result.output
    lines = json_lines(result.output)
    assert [(d["file"].rsplit("/", 1)[1], d["status"], d["rows_total"], d["rows_inserted"], d["rows_rejected"])
            for d in lines] == [("good.xlsx", "completed", 4, 4, 0), ("partial.csv", "completed_with_errors", 3, 2, 1)]
    assert set(lines[0]) >= {"file", "import_batch_id", "status", "rows_total", "rows_inserted", "rows_updated",
                             "rows_rejected", "first_interval", "last_interval", "errors"}
    assert lines[1]["errors"] == [{"row": 3, "column": "C", "code": "NEGATIVE_VALUE",
                                   "message": "column C '-1' is negative", "value": "-1"}]
    assert lines[0]["first_interval"] == "2026-01-05T07:00:00+00:00"

    # Again: duplicate -> still exit 0.
    dup = run("import", str(good), "--service", "S1", "--json")
    assert dup.exit_code == 0 and json_lines(dup.output)[0]["status"] == "duplicate"

    # A file rejected as a whole -> exit 1 (the other file is still imported).
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not excel")
    mixed = run("import", str(bad), str(write_csv(tmp_path / "more.csv", argus_rows(T0 + dt.timedelta(days=3), 2))),
                "--service", "S1", "--json")
    assert mixed.exit_code == 1
    assert [d["status"] for d in json_lines(mixed.output)] == ["rejected", "completed"]


def test_unknown_service_is_a_usage_error_but_audited(wfm_env, tmp_path: Path) -> None:
    setup_service()
    path = write_csv(tmp_path / "x.csv", argus_rows(T0, 2))
    result = run("import", str(path), "--service", "NOPE")
    assert result.exit_code == 2 and "unknown service 'NOPE'" in result.output
    listing = run("batches", "list", "--json")
    assert [(d["status"], d["file_name"]) for d in json_lines(listing.output)] == [("rejected", "x.csv")]
    assert run("import", str(tmp_path / "missing.csv"), "--service", "S1").exit_code == 2


def test_strict_validate_only_and_readable_summary(wfm_env, tmp_path: Path) -> None:
    setup_service()
    rows = argus_rows(T0, 5)
    rows[2][1] = 3.5
    path = write_xlsx(tmp_path / "s.xlsx", rows)
    strict = run("import", str(path), "--service", "S1", "--strict")
    assert strict.exit_code == 1
    assert "s.xlsx: rejected" in strict.output and "row 4, column B: NOT_INTEGER" in strict.output
    check = run("import", str(path), "--service", "S1", "--validate-only")
    assert check.exit_code == 0 and "s.xlsx: validated - 5 rows: 4 inserted" in check.output


def test_batches_list_show_revert(wfm_env, tmp_path: Path) -> None:
    setup_service()
    rows = argus_rows(T0, 4)
    first = json_lines(run("import", str(write_csv(tmp_path / "a.csv", rows)), "--service", "S1", "--json").output)[0]
    fixed = [list(r) for r in rows]
    fixed[0][2] = 40
    fixed.append(["not a date", 1, 2, 3, 4])
    second = json_lines(run("import", str(write_csv(tmp_path / "b.csv", fixed)), "--service", "S1",
                            "--json").output)[0]
    assert (second["rows_updated"], second["rows_rejected"]) == (4, 1)

    listing = run("batches", "list")
    assert listing.exit_code == 0 and "a.csv" in listing.output and "b.csv" in listing.output
    show = run("batches", "show", second["import_batch_id"])
    assert show.exit_code == 0 and "INVALID_DATETIME" in show.output and "row 6 A" in show.output
    shown = json.loads(run("batches", "show", second["import_batch_id"], "--json").output)
    assert shown["errors_total"] == 1 and shown["status"] == "completed_with_errors"

    revert = run("batches", "revert", second["import_batch_id"])
    assert revert.exit_code == 0 and "4 intervals restored" in revert.output
    again = run("batches", "revert", second["import_batch_id"], "--json")
    assert json.loads(again.output)["already_reverted"] is True
    assert run("batches", "revert", "00000000-0000-0000-0000-000000000000").exit_code == 2
    assert run("batches", "show", "garbage").exit_code == 2
    # The first batch's values are current again: every interval comes from it, with C as it sent.
    with psycopg.connect(os.environ["WFM_DATABASE_URL"]) as conn:
        current = conn.execute("SELECT import_batch_id::text, non_unique_incoming FROM wfm.contact_statistics "
                               "ORDER BY interval_start_time").fetchall()
    assert [b for b, _ in current] == [first["import_batch_id"]] * 4
    assert [c for _, c in current] == [r[2] for r in rows]


# ---------------------------------------------------------------- terminal escapes (issue 9)
OSC = "\x1b]0;pwned\x07"           # retitles the terminal
CSI = "\x9b2J"                     # single-byte CSI (C1): clears the screen on some terminals
RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\x7f", "\r")


def assert_inert(output: str) -> None:
    assert not any(ch in output for ch in RAW_CONTROLS), repr(output)


def test_batches_list_and_show_print_sources_and_file_names_escaped(wfm_env, tmp_path: Path) -> None:
    setup_service()
    # A JSON API caller chose p_source (any text the function accepts): recorded as sent.
    with psycopg.connect(os.environ["WFM_DATABASE_URL"]) as conn:
        api_batch = conn.execute(
            """INSERT INTO wfm.import_batches (source, status, error_message)
               VALUES (%s, 'rejected', %s) RETURNING import_batch_id::text""",
            (f"api{OSC}{CSI}", f"bad row\n{OSC}")).fetchone()[0]
    rows = argus_rows(T0, 3)
    rows[1][2] = "=HYPERLINK(\"http://evil\")\x1b[31m"
    path = write_csv(tmp_path / f"week{OSC}.csv", rows)

    imported = run("import", str(path), "--service", "S1")
    assert imported.exit_code == 0 and "week\\x1b]0;pwned\\x07.csv: completed_with_errors" in imported.output
    assert_inert(imported.output)

    listing = run("batches", "list")
    assert listing.exit_code == 0
    assert_inert(listing.output)
    assert "api\\x1b]0;pwned\\x07\\x9b2J" in listing.output and "week\\x1b]0;pwned\\x07.csv" in listing.output
    assert len(listing.output.splitlines()) == 3  # header + two batches: no line faked by a newline

    show = run("batches", "show", api_batch)
    assert_inert(show.output)
    assert "bad row\\n\\x1b]0;pwned\\x07" in show.output
    file_batch = json_lines(run("batches", "list", "--json").output)[0]["import_batch_id"]
    show = run("batches", "show", file_batch)
    assert_inert(show.output)
    assert "\\x1b[31m" in show.output

    # JSON: valid, printable ASCII, and the original text comes back when parsed.
    listed = run("batches", "list", "--json")
    assert listed.output.isascii() and all(c.isprintable() for c in listed.output.replace("\n", ""))
    by_id = {d["import_batch_id"]: d for d in json_lines(listed.output)}
    assert by_id[api_batch]["source"] == f"api{OSC}{CSI}"
    assert by_id[file_batch]["file_name"] == f"week{OSC}.csv"
    shown = json.loads(run("batches", "show", api_batch, "--json").output)
    assert shown["error_message"] == f"bad row\n{OSC}"


def test_services_and_usage_errors_print_database_text_escaped(wfm_env) -> None:
    added = run("services", "add", "S9", "--name", f"Evil{OSC}", "--time-zone", "UTC")
    assert added.exit_code == 0
    listing = run("services", "list")
    assert_inert(listing.output)
    assert "Evil\\x1b]0;pwned\\x07" in listing.output
    unknown = run("import", __file__, "--service", f"NO{OSC}")
    assert unknown.exit_code == 2 and "NO\\x1b]0;pwned\\x07" in unknown.output
    assert_inert(unknown.output)


def test_import_encoding_option(wfm_env, tmp_path: Path) -> None:
    setup_service()
    rows = argus_rows(T0, 2)
    rows[0][1] = "Größe"
    path = write_csv(tmp_path / "de.csv", rows, header=("Beginn", "Anrufe", "Alle", "Gespräch", "Nacharbeit"),
                     encoding="latin-1")
    forced = run("import", str(path), "--service", "S1", "--validate-only", "--json", "--encoding", "cp1251")
    assert forced.exit_code == 0, forced.output
    assert json_lines(forced.output)[0]["errors"][0]["value"] == "GrцЯe"  # what cp1251 makes of it
    detected = run("import", str(path), "--service", "S1", "--validate-only", "--json")
    assert json_lines(detected.output)[0]["errors"][0]["value"] == "Größe"
    bad = CliRunner().invoke(cli, ["import", str(path), "--service", "S1", "--encoding", "klingon"])
    assert bad.exit_code == 2 and "unknown encoding 'klingon'" in bad.output
