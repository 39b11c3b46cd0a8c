"""Text from the database reaches the terminal escaped in the other command groups too (issue 9)."""

from __future__ import annotations

import click
from click.testing import CliRunner

from wfm_pipeline.cli.main import cli
from wfm_pipeline.health import checks
from wfm_pipeline.cli.health import _print_table

OSC = "\x1b]0;pwned\x07"


def test_health_table_escapes_names_units_and_reasons_but_keeps_its_own_colours() -> None:
    rows = [checks.CheckResult(f"partition{OSC}", "FAIL", 1.0, 0.0, f"u{OSC}", {"error": f"boom\n{OSC}\x9b"})]
    out = CliRunner().invoke(click.command()(lambda: _print_table(rows)), color=True).output
    for line in out.splitlines():
        # the only ESC sequences left are click.style's SGR colours (ESC [ ... m)
        assert "\x07" not in line and "\x9b" not in line and "\x1b]" not in line
    assert "partition\\x1b]0;pwned\\x07" in out and "boom\\n\\x1b]0;pwned\\x07\\x9b" in out
    assert "\x1b[" in out  # colours still work


def test_special_day_descriptions_are_printed_escaped(wfm_env) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["services", "add", "S1", "--name", "One", "--time-zone", "UTC"]).exit_code == 0
    added = runner.invoke(cli, ["forecast", "special-day", "S1", "2026-12-24", "--multiplier", "0.5",
                                "--description", f"Xmas{OSC}"])
    assert added.exit_code == 0, added.output
    listing = runner.invoke(cli, ["forecast", "special-day", "S1"])
    assert listing.exit_code == 0 and "Xmas\\x1b]0;pwned\\x07" in listing.output
    assert "\x1b" not in listing.output and "\x07" not in listing.output
