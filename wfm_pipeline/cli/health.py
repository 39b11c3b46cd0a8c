"""Health commands: `wfm validate [--json]` (the whole suite) and `wfm health [--json]` (quick check)."""

from __future__ import annotations

import sys

import click

from wfm_pipeline.cli.common import connect
from wfm_pipeline.health import checks
from wfm_pipeline.textsafe import term

_COLORS = {"PASS": "green", "WARN": "yellow", "FAIL": "red"}


def _print_table(results: list[checks.CheckResult]) -> None:
    # Rows come from SQL functions whose details quote database objects and messages: every
    # field is escaped (textsafe.term); only the colours we add ourselves reach the terminal raw.
    width = max((len(term(r.check_name)) for r in results), default=10)
    click.echo(f"{'check':<{width}}  {'status':<6}  {'measured':>12}  {'threshold':>12}  unit")
    for r in results:
        status = click.style(f"{term(r.status):<6}", fg=_COLORS.get(r.status), bold=r.status != "PASS")
        click.echo(f"{term(r.check_name):<{width}}  {status}  {term(checks.measured_text(r)):>12}  "
                   f"{checks.format_number(r.threshold):>12}  {term(r.unit)}")
        if not r.passed:
            click.echo(f"{'':<{width}}  └ {term(checks.first_reason(r)[:200])}")
    totals = checks.counts(results)
    click.echo(" ".join(click.style(f"{totals[s]} {s}", fg=_COLORS[s]) for s in checks.STATUSES))


def _report(results: list[checks.CheckResult], as_json: bool) -> None:
    if as_json:
        click.echo(checks.to_json(results))
    else:
        _print_table(results)
    # Exit code: 1 when any check FAILs (WARN does not fail a run).
    if any(r.status == "FAIL" for r in results):
        sys.exit(1)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON instead of a table.")
@click.option("--runs", default=20, show_default=True, type=click.IntRange(1, 1000),
              help="Timed calls per read-API query class.")
def validate(as_json: bool, runs: int) -> None:
    """Run the whole validation suite (SELECT * FROM wfm.run_all_validations()).

    SLAs of the read API, insert throughput, an import -> query -> view round trip, resources,
    data quality and health. Nothing is left behind (every probe is rolled back). Exits 1 on
    any FAIL.
    """

    with connect() as conn:
        results = checks.run_all_validations(conn, runs=runs)
        conn.rollback()
    _report(results, as_json)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON instead of a table.")
def health(as_json: bool) -> None:
    """Quick health check (SELECT * FROM wfm.database_health_check()). Exits 1 on any FAIL."""

    with connect() as conn:
        results = checks.database_health_check(conn)
        conn.rollback()
    _report(results, as_json)
