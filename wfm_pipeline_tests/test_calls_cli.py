"""`wfm import --kind calls`, `wfm batches revert` of a call-record batch and `wfm services
set-patience` end to end through the CLI (real database, real files)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import psycopg
from click.testing import CliRunner

from wfm_pipeline.cli.main import cli
from wfm_pipeline_tests.concurrent_runs import spy_on_concurrent_runs
from wfm_pipeline_tests.call_data import (
    call_row, current_calls, expected_agents, expected_intervals, generate, stored_agents, stored_intervals, write_csv,
)

ZONE = "Europe/Berlin"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_import_calls_json_lines_revert_and_exit_codes(wfm_env, db_url: str, tmp_path: Path) -> None:
    assert run("services", "add", "BANK", "--name", "Bank", "--time-zone", ZONE).exit_code == 0
    assert run("groups", "add", "BANK", "G1", "--name", "g").exit_code == 0
    assert run("groups", "add", "BANK", "G2", "--name", "g").exit_code == 0
    rows = generate(3, ZONE, [dt.date(2026, 1, 5)], 120)
    rows[7]["outcome"] = "lost"
    good = write_csv(tmp_path / "calls.csv", rows)
    result = run("import", str(good), "--service", "BANK", "--kind", "calls", "--json")
    assert result.exit_code == 0, result.output
    [line] = json_lines(result.output)
    assert (line["status"], line["rows_total"], line["rows_inserted"], line["rows_rejected"]) == \
        ("completed_with_errors", 120, 119, 1)
    assert line["errors"][0]["row"] == 9 and line["errors"][0]["code"] == "INVALID_OUTCOME"
    assert line["errors"][0]["message"] == "column outcome 'lost' is not an outcome: answered, abandoned or other (in any case)"
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM wfm.call_records").fetchone()[0] == 119
        assert conn.execute("SELECT count(*) > 0 FROM wfm.contact_statistics").fetchone()[0]

    # text output, and a file without the required columns: exit 1
    bad = tmp_path / "bad.csv"
    bad.write_text("call_id;offered_at\nx;05.01.2026 10:00:00\n", encoding="utf-8")
    text = run("import", str(bad), "--service", "BANK", "--kind", "calls")
    assert text.exit_code == 1 and "MISSING_COLUMN" in text.output

    # --group is for Argus files; an unknown service is a usage error (exit 2), audited
    assert run("import", str(good), "--service", "BANK", "--group", "G1", "--kind", "calls").exit_code == 2
    unknown = run("import", str(good), "--service", "NOPE", "--kind", "calls", "--json")
    assert unknown.exit_code == 2 and json_lines(unknown.output)[0]["status"] == "rejected"

    # the revert of a call-record batch takes its calls out of the intervals
    reverted = run("batches", "revert", line["import_batch_id"], "--json")
    assert reverted.exit_code == 0, reverted.output
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM wfm.contact_statistics").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM wfm.agent_activity").fetchone()[0] == 0
        assert conn.execute("SELECT kind, status FROM wfm.import_batches WHERE import_batch_id = %s",
                            (line["import_batch_id"],)).fetchone() == ("calls", "reverted")


def test_set_patience_from_calls_by_hand_and_cleared(wfm_env, db_url: str, tmp_path: Path) -> None:
    assert run("services", "add", "BANK", "--name", "Bank", "--time-zone", ZONE).exit_code == 0
    rows = [call_row("a1", agent="A1", group=""),
            call_row("a2", answered="", ended="05.01.2026 10:01:40", outcome="abandoned", agent="", group=""),
            call_row("a3", offered="05.01.2026 11:00:00", answered="", ended="05.01.2026 11:00:50",
                     outcome="abandoned", agent="", group="")]
    path = write_csv(tmp_path / "p.csv", rows)
    assert run("import", str(path), "--service", "BANK", "--kind", "calls").exit_code == 0

    def stored() -> object:
        with psycopg.connect(db_url) as conn:
            return conn.execute("SELECT patience_seconds FROM wfm.services WHERE code = 'BANK'").fetchone()[0]

    out = run("services", "set-patience", "BANK", "--from-calls", "--since", "2026-01-01", "--until", "2026-02-01")
    assert out.exit_code == 0, out.output
    # waits 15 (answered) + 100 + 50 (abandoned) = 165 s over 2 abandonments
    assert "82.50 s from 2 abandoned of 3 offered calls" in out.output and float(stored()) == 82.5
    assert run("services", "set-patience", "BANK", "--seconds", "120").exit_code == 0 and float(stored()) == 120
    assert run("services", "set-patience", "BANK", "--clear").exit_code == 0 and stored() is None
    assert run("services", "set-patience", "BANK", "--from-calls").exit_code == 2            # no --since
    assert run("services", "set-patience", "BANK", "--clear", "--seconds", "5").exit_code == 2
    none = run("services", "set-patience", "BANK", "--from-calls", "--since", "2025-01-01", "--until", "2025-02-01")
    assert none.exit_code == 2 and "no abandoned call" in none.output
    assert run("services", "set-patience", "NOPE", "--seconds", "5").exit_code == 2


def test_multi_file_call_import_analyzes_the_months_written_once_at_the_end(wfm_env, db_url: str,
                                                                          tmp_path: Path) -> None:
    assert run("services", "add", "ANLZ", "--name", "Analyze", "--time-zone", ZONE).exit_code == 0
    for group in ("G1", "G2"):
        assert run("groups", "add", "ANLZ", group, "--name", "g").exit_code == 0
    first = write_csv(tmp_path / "a.csv", generate(11, ZONE, [dt.date(2026, 1, 5)], 150))
    second = write_csv(tmp_path / "b.csv", generate(12, ZONE, [dt.date(2026, 1, 6)], 150, prefix="b"))

    text = run("import", str(first), str(second), "--service", "ANLZ", "--kind", "calls")
    assert text.exit_code == 0, text.output
    # the four tables' January partitions (never analyzed before) - and their parents, never analyzed either
    assert text.output.splitlines()[-1].startswith("analyzed ")
    with psycopg.connect(db_url) as conn:
        analyzed = dict(conn.execute(
            "SELECT relname, last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname IN "
            "('call_records_2026_01', 'contact_statistics_2026_01', 'contact_statistics_history_2026_01', "
            "'agent_activity_2026_01')").fetchall())
    assert analyzed == {"call_records_2026_01": True, "contact_statistics_2026_01": True,
                        "contact_statistics_history_2026_01": True, "agent_activity_2026_01": True}

    # --validate-only writes nothing and analyzes nothing; --json lines stay one object per file
    checked = run("import", str(first), str(second), "--service", "ANLZ", "--kind", "calls", "--json",
                  "--validate-only")
    assert checked.exit_code == 0 and all(line.startswith("{") for line in checked.output.splitlines())


def test_import_takes_each_files_service_from_its_folder_and_loads_services_at_once(wfm_env, db_url: str,
                                                                                   tmp_path: Path, monkeypatch) -> None:
    """``--service-from-folder``: files of several services in landing-style folders, loaded on two
    connections (the default): the lines in the given order, a folder naming no service is that
    file's rejection (exit 1, not a usage error), and every service derives exactly to the
    independent computation, a later file of a service replacing calls of its earlier one."""
    codes = ("P1", "P2", "P3")
    for code in codes:
        assert run("services", "add", code, "--name", code, "--time-zone", ZONE).exit_code == 0
        for group in ("G1", "G2"):
            assert run("groups", "add", code, group, "--name", "g").exit_code == 0
    days = [dt.date(2026, 1, 30), dt.date(2026, 1, 31)]            # over the month end
    rows = {code: generate(seed, ZONE, days, 60, prefix=f"{code}-") for seed, code in zip((31, 32, 33), codes)}
    answered = [r for r in rows["P1"] if r["outcome"].lower() == "answered"][::4]
    corrected = [dict(r, outcome="abandoned", answered_at="", agent="", wrap_up_seconds="") for r in answered]

    def put(folder: str, name: str, content: list[dict[str, str]]) -> Path:
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        return write_csv(tmp_path / folder / name, content)

    files = [put("in/P1/calls", "p1.csv", rows["P1"]), put("in/P2/calls", "p2.csv", rows["P2"]),
             put("in/NOPE/calls", "nope.csv", rows["P2"][:3]), put("in/P1/calls", "p1-fix.csv", corrected),
             put("in/P3", "p3.csv", rows["P3"])]                  # <service>/<file> too
    workers = spy_on_concurrent_runs(monkeypatch)
    result = run("import", *map(str, files), "--kind", "calls", "--service-from-folder", "--json")
    assert result.exit_code == 1, result.output
    assert workers == [2]                                              # the default: two loading processes
    lines = json_lines(result.output)
    assert [Path(line["file"]).name for line in lines] == [f.name for f in files]
    assert [line["status"] for line in lines] == ["completed", "completed", "rejected", "completed", "completed"]
    assert lines[2]["errors"][-1]["code"] == "UNKNOWN_SERVICE"
    assert lines[3]["rows_updated"] == len(corrected)

    with psycopg.connect(db_url) as conn:
        for code in codes:
            sid = conn.execute("SELECT service_id FROM wfm.services WHERE code = %s", (code,)).fetchone()[0]
            group_ids = dict(conn.execute("SELECT code, group_id FROM wfm.groups WHERE service_id = %s",
                                          (sid,)).fetchall())
            calls = current_calls([rows[code]] + ([corrected] if code == "P1" else []), ZONE)
            assert stored_intervals(conn, sid) == expected_intervals(calls, group_ids), code
            assert stored_agents(conn, sid) == expected_agents(calls), code

    # one of --service and --service-from-folder; the folder names services of call and agent files only
    both = run("import", str(files[0]), "--kind", "calls", "--service", "P1", "--service-from-folder")
    neither = run("import", str(files[0]), "--kind", "calls")
    argus = run("import", str(files[0]), "--service-from-folder")
    assert (both.exit_code, neither.exit_code, argus.exit_code) == (2, 2, 2)
    assert "one of the two" in neither.output and "Argus" in argus.output


def test_names_that_are_not_utf8_are_imported_or_rejected_audited_and_shown_escaped(wfm_env, db_url: str,
                                                                                    tmp_path: Path) -> None:
    """A file or folder name with bytes that are not UTF-8 (as a shell passes them: Python's
    surrogates) was an unaudited ``failed`` file (UnicodeEncodeError writing its batch) and its
    raw bytes reached the terminal (0x9b: the 8-bit CSI). Now the file imports (its batch's
    file_name shows the byte as \\xNN), a folder naming no service is an audited rejection, and
    the text output is plain UTF-8 with the bytes shown escaped."""
    assert run("services", "add", "U1", "--name", "u", "--time-zone", ZONE).exit_code == 0
    for group in ("G1", "G2"):
        assert run("groups", "add", "U1", group, "--name", "g").exit_code == 0
    rows = generate(51, ZONE, [dt.date(2026, 1, 5)], 20)
    good_dir = tmp_path / "U1" / "calls"
    bad_dir = tmp_path / os.fsdecode(b"U\xff") / "calls"
    good_dir.mkdir(parents=True)
    bad_dir.mkdir(parents=True)
    good = write_csv(good_dir / os.fsdecode(b"\x9b31m\xfe.csv"), rows)
    bad = write_csv(bad_dir / "x.csv", rows[:3])

    result = CliRunner().invoke(cli, ["import", str(good), str(bad), "--kind", "calls", "--service-from-folder",
                                      "--json"], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    lines = json_lines(result.output)
    assert [line["status"] for line in lines] == ["completed", "rejected"]
    assert lines[1]["errors"][-1]["code"] == "UNKNOWN_SERVICE" and lines[1]["import_batch_id"]
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT file_name FROM wfm.import_batches WHERE import_batch_id = %s",
                            (lines[0]["import_batch_id"],)).fetchone()[0] == "\\x9b31m\\xfe.csv"
        assert conn.execute("SELECT count(*) FROM wfm.call_records").fetchone()[0] == 20

    text = CliRunner().invoke(cli, ["import", str(good), str(bad), "--kind", "calls", "--service-from-folder"],
                              catch_exceptions=False)
    assert text.exit_code == 1
    shown = text.stdout_bytes.decode("utf-8")                  # no raw byte that is not UTF-8
    assert "\\x9b31m\\xfe.csv: duplicate" in shown and "x.csv: rejected" in shown
    assert "\x9b" not in shown and "\ufffd" not in shown
