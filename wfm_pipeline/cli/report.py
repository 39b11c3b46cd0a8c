"""CLI: ``wfm report plan-vs-actual`` (issue 14): a service's local day, forecast and staffing
requirement against what happened (``wfm.api_get_plan_vs_actual``)."""

from __future__ import annotations

import datetime as dt
import json

import click

from wfm_pipeline.cli.common import UsageError, connect
from wfm_pipeline.db import catalog
from wfm_pipeline.textsafe import term_lines
from wfm_pipeline.warehouse import plan_vs_actual


@click.group("report")
def report_group() -> None:
    """Reports over the stored data."""


@report_group.command("plan-vs-actual")
@click.option("--service", "service_code", required=True, help="Service code.")
@click.option("--date", "day", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="The service's local calendar day, YYYY-MM-DD.")
@click.option("--interval", "interval_minutes", type=click.Choice(["15", "30", "60"]), default="15",
              show_default=True, help="Bucket length in minutes.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: the day's summary and its intervals.")
def plan_vs_actual_cmd(service_code: str, day: dt.datetime, interval_minutes: str, as_json: bool) -> None:
    """Forecast vs actual calls, required vs staffed and available agents, target vs actual vs
    predicted service level, per interval of one local day."""
    with connect() as conn:
        try:
            report = plan_vs_actual.day_report(conn, service_code, day.date(), interval_minutes=int(interval_minutes))
        except catalog.UnknownServiceError as exc:
            raise UsageError(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(report.to_dict()))
    else:
        click.echo(term_lines(plan_vs_actual.format_table(report)))
