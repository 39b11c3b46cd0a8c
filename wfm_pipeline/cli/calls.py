"""CLI of call-detail records: ``wfm services set-patience`` (``wfm import --kind calls`` lives
with the other imports in ``cli/imports.py``)."""

from __future__ import annotations

import datetime as dt

import click

from wfm_pipeline.calls import patience
from wfm_pipeline.cli.common import UsageError, connect
from wfm_pipeline.db import catalog
from wfm_pipeline.textsafe import term


@click.command("set-patience")
@click.argument("service_code")
@click.option("--from-calls", is_flag=True,
              help="Estimate it from the service's call records (maximum likelihood: total wait / abandonments).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="With --from-calls: calls offered from this local day on (required).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="With --from-calls: up to (not including) this local day (default: everything so far).")
@click.option("--seconds", type=click.FloatRange(min=0.1, max=9_999_999), default=None,
              help="Set the mean patience by hand, in seconds.")
@click.option("--clear", is_flag=True, help="Remove it: staffing uses Erlang C again.")
def set_patience(service_code: str, from_calls: bool, since: dt.datetime | None, until: dt.datetime | None,
                 seconds: float | None, clear: bool) -> None:
    """Set a service's mean caller patience; forecasts' staffing then uses Erlang A."""
    if sum((from_calls, seconds is not None, clear)) != 1:
        raise UsageError("give exactly one of --from-calls, --seconds or --clear")
    if from_calls and since is None:
        raise UsageError("--from-calls needs --since DATE (the first local day of calls to use)")
    with connect() as conn:
        try:
            if from_calls:
                found = patience.estimate_and_store(conn, service_code, since.date(), until.date() if until else None)
                conn.commit()
                click.echo(f"service {term(found.service)}: mean patience {found.mean_patience_seconds} s from "
                           f"{found.abandoned_calls:,} abandoned of {found.offered_calls:,} offered calls "
                           f"({found.start:%Y-%m-%d} .. {found.end:%Y-%m-%d}); staffing uses Erlang A")
                return
            patience.store(conn, service_code, None if clear else seconds)
            conn.commit()
        except (catalog.UnknownServiceError, patience.NoAbandonmentsError) as exc:
            raise UsageError(str(exc)) from exc
    if clear:
        click.echo(f"service {term(service_code)}: patience cleared; staffing uses Erlang C")
    else:
        click.echo(f"service {term(service_code)}: mean patience {seconds:g} s; staffing uses Erlang A")
