"""`wfm import --kind agent-states`, `wfm batches revert` of an agent-state batch and `wfm report
plan-vs-actual` end to end through the CLI (real database, real files)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import psycopg
from click.testing import CliRunner

from wfm_pipeline.cli.main import cli
from wfm_pipeline_tests.concurrent_runs import spy_on_concurrent_runs
from wfm_pipeline_tests.agent_data import (
    event, expected_state_seconds, generate_shifts, split_by_local_day, stored_activity, write_csv,
)

ZONE = "Europe/Berlin"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_import_agent_states_report_and_revert(wfm_env, db_url: str, tmp_path: Path) -> None:
    assert run("services", "add", "DESK", "--name", "Desk", "--time-zone", ZONE).exit_code == 0
    rows = generate_shifts(5, ZONE, [dt.date(2026, 1, 5)], 8)
    rows.insert(3, event("X9", "ready", "05.01.2026 08:00:00"))         # never logged in
    good = write_csv(tmp_path / "states.csv", rows)
    result = run("import", str(good), "--service", "DESK", "--kind", "agent-states", "--json")
    assert result.exit_code == 0, result.output
    [line] = json_lines(result.output)
    assert (line["status"], line["rows_total"], line["rows_inserted"], line["rows_rejected"]) == \
        ("completed_with_errors", len(rows), len(rows) - 1, 1)
    assert (line["errors"][0]["row"], line["errors"][0]["code"]) == (5, "NOT_LOGGED_IN")
    with psycopg.connect(db_url) as conn:
        logged_in = conn.execute("SELECT sum(logged_in_seconds) FROM wfm.agent_activity").fetchone()[0]
    assert logged_in > 8 * 7 * 3600

    # text output; a file without the required columns: exit 1; --group does not apply
    bad = tmp_path / "bad.csv"
    bad.write_text("agent;at\nA1;05.01.2026 10:00:00\n", encoding="utf-8")
    text = run("import", str(bad), "--service", "DESK", "--kind", "agent-states")
    assert text.exit_code == 1 and "MISSING_EVENT_COLUMN" in text.output and "state" in text.output
    assert run("import", str(good), "--service", "DESK", "--group", "G1", "--kind", "agent-states").exit_code == 2

    # the report: every interval of the local day, the staffed agents of the shifts
    report = run("report", "plan-vs-actual", "--service", "DESK", "--date", "2026-01-05", "--json")
    assert report.exit_code == 0, report.output
    day = json.loads(report.output)
    assert day["date"] == "2026-01-05" and len(day["intervals"]) == 96
    assert day["summary"]["staffed_agents"] == round(logged_in / 900 / 96, 2)
    assert day["intervals"][0]["local_start"] == "2026-01-05T00:00:00"
    table = run("report", "plan-vs-actual", "--service", "DESK", "--date", "2026-01-05")
    assert table.exit_code == 0 and "plan vs actual: service DESK, 2026-01-05" in table.output
    assert run("report", "plan-vs-actual", "--service", "NOPE", "--date", "2026-01-05").exit_code == 2

    # the revert of an agent-state batch takes its time out of agent_activity
    reverted = run("batches", "revert", line["import_batch_id"], "--json")
    assert reverted.exit_code == 0, reverted.output
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM wfm.agent_activity").fetchone()[0] == 0


def test_import_of_several_agent_state_files_one_batch_each(wfm_env, db_url: str, tmp_path: Path) -> None:
    """Several files in one `wfm import` (the next one prepared while the current one loads):
    one JSON line and batch per file, in order; a session open at the end of the first file is
    closed by the second; a broken file in between costs only itself (exit 1)."""
    assert run("services", "add", "DESK", "--name", "Desk", "--time-zone", ZONE).exit_code == 0
    first = write_csv(tmp_path / "a.csv", [event("A1", "logged_in", "05.01.2026 08:00:00"),
                                          event("A1", "ready", "05.01.2026 08:01:00")])
    broken = tmp_path / "b.csv"
    broken.write_text("agent;at\nA1;05.01.2026 10:00:00\n", encoding="utf-8")
    second = write_csv(tmp_path / "c.csv", [event("A1", "not_ready", "05.01.2026 09:00:00", "BREAK"),
                                           event("A1", "logged_out", "05.01.2026 09:30:00")])
    result = run("import", str(first), str(broken), str(second), str(first), "--service", "DESK",
                 "--kind", "agent-states", "--json")
    assert result.exit_code == 1, result.output
    lines = json_lines(result.output)
    assert [(Path(x["file"]).name, x["status"]) for x in lines] == [
        ("a.csv", "completed"), ("b.csv", "rejected"), ("c.csv", "completed"), ("a.csv", "duplicate")]
    assert len({x["import_batch_id"] for x in lines}) == 4
    with psycopg.connect(db_url) as conn:
        logged_in = conn.execute("SELECT sum(logged_in_seconds) FROM wfm.agent_activity").fetchone()[0]
    assert logged_in == 90 * 60                                   # 08:00-09:30 local, closed by c.csv


def test_agent_files_take_their_service_from_the_agents_folder(wfm_env, db_url: str, tmp_path: Path,
                                                               monkeypatch) -> None:
    """``--kind agent-states --service-from-folder``: ``<service>/agents/<file>`` names the service;
    two services' daily files load on two connections (the default) and each service's state
    seconds are exactly the independent computation."""
    days = [dt.date(2026, 1, 5), dt.date(2026, 1, 6)]
    rows = {code: generate_shifts(seed, ZONE, days, 6) for seed, code in ((41, "D1"), (42, "D2"))}
    files = []
    for code in rows:
        assert run("services", "add", code, "--name", code, "--time-zone", ZONE).exit_code == 0
        (tmp_path / code / "agents").mkdir(parents=True)
        for day, part in sorted(split_by_local_day(rows[code]).items()):
            files.append(write_csv(tmp_path / code / "agents" / f"{day:%Y%m%d}.csv", part))
    files.sort(key=lambda f: f.name)                       # the two services' days interleaved
    workers = spy_on_concurrent_runs(monkeypatch)
    result = run("import", *map(str, files), "--kind", "agent-states", "--service-from-folder",
                 "--connections", "3", "--json")
    assert result.exit_code == 0, result.output
    assert workers == [3]
    assert [line["status"] for line in json_lines(result.output)] == ["completed"] * len(files)
    with psycopg.connect(db_url) as conn:
        for code in rows:
            sid = conn.execute("SELECT service_id FROM wfm.services WHERE code = %s", (code,)).fetchone()[0]
            stored = {k: v[:5] for k, v in stored_activity(conn, sid).items()}
            assert stored == expected_state_seconds(rows[code], ZONE), code
