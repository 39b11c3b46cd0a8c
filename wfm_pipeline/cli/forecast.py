"""`wfm forecast …` and `wfm bench forecast`."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import click
import numpy as np
import pandas as pd

from wfm_pipeline.cli.common import connect
from wfm_pipeline.db.catalog import UnknownServiceError
from wfm_pipeline.forecasting import store
from wfm_pipeline.bench import demo
from wfm_pipeline.forecasting import run as pipeline
from wfm_pipeline.forecasting import holidays
from wfm_pipeline.forecasting.backtest import BacktestConfig, backtest
from wfm_pipeline.textsafe import term


def _series(conn, service: str, group: str | None) -> store.SeriesKey:
    try:
        return store.series_for(conn, service, group)
    except UnknownServiceError as exc:
        raise click.UsageError(term(exc)) from exc


def _as_of(value: datetime | None, tz: str) -> datetime:
    return pipeline.local_midnight(value.date(), tz) if value else pipeline.default_as_of(tz)


def _fmt(value, spec: str) -> str:
    """format(value, spec), or a dash of the same width for a missing value."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        match = re.match(r"([<>^]?)(\d*)", spec)
        return format("-", f"{match.group(1) or '>'}{match.group(2)}")
    return format(value, spec)


def format_backtest(bt: dict) -> str:
    if not bt or not bt.get("weeks"):
        return "backtest: not enough history" + (f" ({bt['note']})" if bt and bt.get("note") else "")
    lines = [f"backtest: {bt['weeks']} origins {bt.get('step_days', 7)} days apart, {bt['horizon_days']}-day horizon, "
             f"{bt['calls_scored']:.0f} calls on {bt['days_scored']} open days scored",
             f"{'level':<10}{'model WAPE':>12}{'naive WAPE':>12}{'median5 WAPE':>14}{'improvement':>13}"
             f"{'vs median5':>12}"]
    for level in ("interval", "day"):
        pair = bt[level]
        imp = bt.get(f"{level}_improvement")
        vs_med = 1 - pair["model"] / pair["median5"] if pair.get("median5") and pair["model"] is not None else None
        lines.append(f"{level:<10}{_fmt(pair['model'], '>12.2%')}{_fmt(pair['naive'], '>12.2%')}"
                     f"{_fmt(pair.get('median5'), '>14.2%')}{_fmt(imp, '>13.1%')}{_fmt(vs_med, '>12.1%')}")
    if bt.get("candidates"):
        lines.append("candidates (interval WAPE, same origins): " + ", ".join(
            f"{name} {_fmt(value, '.2%')}" for name, value in bt["candidates"].items()))
    lines.append(f"{'origin':<12}{'model':>10}{'naive':>10}{'median5':>10}  combination")
    for o in bt["origins"]:
        weights = ", ".join(f"{k} {v:.2f}" for k, v in (o.get("weights") or {}).items())
        lines.append(f"{o['origin']:<12}{_fmt(o['wape_model'], '>10.2%')}{_fmt(o['wape_naive'], '>10.2%')}"
                     f"{_fmt(o.get('wape_median5'), '>10.2%')}  {weights}")
    sel = bt.get("selection")
    if sel:
        scores = ", ".join(f"{k} {_fmt(v, '.2%')}" for k, v in sel.get("candidate_wape", {}).items())
        weights = ", ".join(f"{k} {v:.2f}" for k, v in sel.get("weights", {}).items())
        lines.append(f"model selection for the forecast ({sel.get('method')}, "
                     f"{len(sel.get('windows', []))} windows before the origin): {weights}")
        if scores:
            lines.append(f"  candidates' WAPE on those windows: {scores}")
    return "\n".join(lines)


@click.group(invoke_without_command=True)
@click.option("--service", "service_code", help="Service code.")
@click.option("--group", "group_code", help="Group code (default: the service level).")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Forecast as if today were this local date: only history before it is used.")
@click.option("--horizon-days", default=pipeline.DEFAULT_HORIZON_DAYS, show_default=True,
              type=click.IntRange(1, 92))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per interval.")
@click.pass_context
def forecast(ctx: click.Context, service_code: str | None, group_code: str | None, as_of: datetime | None,
             horizon_days: int, as_json: bool) -> None:
    """Forecast calls, AHT and staffing per 15-minute interval and store the run.

    Subcommands: `backtest` (WAPE table), `demo` (load generated history), `special-day`.
    """
    ctx.ensure_object(dict)
    ctx.obj.update(service=service_code, group=group_code, as_of=as_of, as_json=as_json)
    if ctx.invoked_subcommand is not None:
        return
    if not service_code:
        raise click.UsageError("--service is required")
    with connect() as conn:
        key = _series(conn, service_code, group_code)
        result = pipeline.run_forecast(conn, key, as_of=_as_of(as_of, key.time_zone),
                                       horizon_days=horizon_days)
        conn.commit()
        _report_to_dagster(conn, result)
    frame = result.frame
    if as_json:
        for row in frame.itertuples(index=False):
            click.echo(json.dumps({
                "interval_start": row.interval_start.isoformat(), "calls": round(float(row.calls), 3),
                "unique_calls": round(float(row.unique_calls), 3), "aht": round(float(row.aht), 2),
                "required_agents": int(row.required_agents), "scheduled_agents": int(row.scheduled_agents),
                "service_level": round(float(row.service_level), 5), "asa": round(float(row.asa), 2),
                "occupancy": round(float(row.occupancy), 5)}))
        return
    tz = key.time_zone
    as_of_text = pd.Timestamp(result.as_of).isoformat()
    click.echo(f"forecast run {result.run_id} for {term(key.label)}: as of {as_of_text}, "
               f"{horizon_days} days, {frame['calls'].sum():.0f} calls, staffing {result.staffing_model}")
    click.echo(format_backtest(result.backtest))
    click.echo(f"{'interval (' + tz + ')':<28}{'calls':>9}{'unique':>9}{'AHT s':>8}{'req':>6}{'sched':>6}"
               f"{'SL':>8}{'ASA s':>8}{'occ':>7}")
    local = pd.DatetimeIndex(frame["interval_start"]).tz_convert(tz)
    for ts, row in zip(local, frame.itertuples(index=False)):
        click.echo(f"{ts.strftime('%Y-%m-%d %H:%M %z'):<28}{row.calls:>9.2f}{row.unique_calls:>9.2f}"
                   f"{row.aht:>8.1f}"
                   f"{row.required_agents:>6d}{row.scheduled_agents:>6d}{row.service_level:>8.1%}"
                   f"{row.asa:>8.1f}{row.occupancy:>7.1%}")


def _report_to_dagster(conn, result: pipeline.RunResult) -> None:
    """When a Dagster instance exists ($DAGSTER_HOME/dagster.yaml, as `wfm dev` writes it), the run
    becomes a materialization of call_forecasts and staffing_requirements there (stderr says so).
    The forecast is stored either way: a failure to report is a warning, not an error."""
    from wfm_pipeline.defs.instance import existing_instance
    from wfm_pipeline.settings import get_settings

    settings = get_settings()
    try:
        instance = existing_instance(settings)
        if instance is None:
            return
        try:
            from wfm_pipeline.defs.forecasting import report_cli_run

            report_cli_run(instance, conn, result)
        finally:
            instance.dispose()
        conn.rollback()
    except Exception as exc:  # noqa: BLE001 - the run is stored; the UI is a bonus
        click.echo(f"warning: forecast run {result.run_id} stored, but not reported to Dagster "
                   f"({term(settings.dagster_home)}): {term(exc)}", err=True)
        return
    click.echo(f"reported to Dagster ({term(settings.dagster_home)}): call_forecasts and staffing_requirements "
               f"materialized by run {result.run_id}", err=True)


@forecast.command("backtest")
@click.option("--service", "service_code", help="Service code.")
@click.option("--group", "group_code", help="Group code (default: the service level).")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="End of the backtest (local date, excluded); default: the day after the last data.")
@click.option("--weeks", default=4, show_default=True, type=click.IntRange(1, 52), help="Weekly origins.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def forecast_backtest(ctx: click.Context, service_code: str | None, group_code: str | None,
                      as_of: datetime | None, weeks: int, as_json: bool) -> None:
    """Rolling-origin backtest: WAPE of the model vs the seasonal-naive baseline."""
    service_code = service_code or ctx.obj.get("service")
    group_code = group_code or ctx.obj.get("group")
    as_of = as_of or ctx.obj.get("as_of")
    if not service_code:
        raise click.UsageError("--service is required")
    cfg = BacktestConfig(weeks=weeks)
    with connect() as conn:
        key = _series(conn, service_code, group_code)
        if as_of is None:
            last = store.last_interval(conn, key)
            if last is None:
                raise click.UsageError(f"{term(key.label)} has no statistics to backtest")
            as_of = datetime.combine(pd.Timestamp(last).tz_convert(key.time_zone).date() + timedelta(days=1),
                                     datetime.min.time())
        end = _as_of(as_of, key.time_zone)
        history = store.load_history(conn, key, pipeline.history_start(end, pipeline.ModelConfig(), cfg), end)
        special = store.load_special_days(conn, key.service_id)
    result = backtest(history, key.time_zone, end, special, cfg)
    if as_json or ctx.obj.get("as_json"):
        click.echo(json.dumps(result))
    else:
        click.echo(f"{term(key.label)}, backtest up to {end.date()} (excluded, {term(key.time_zone)})")
        click.echo(format_backtest(result))


@forecast.command("demo")
@click.option("--service", "service_code", default="DEMO", show_default=True,
              help="Code of the service to create.")
@click.option("--weeks", default=24, show_default=True, type=click.IntRange(4, 104))
@click.option("--daily-calls", default=3000.0, show_default=True, type=click.FloatRange(1, 1e6))
@click.option("--time-zone", default="Europe/Berlin", show_default=True)
@click.option("--seed", default=1, show_default=True)
def forecast_demo(service_code: str, weeks: int, daily_calls: float, time_zone: str, seed: int) -> None:
    """Create a service with generated history (weekly + intraday seasonality, Poisson noise, holidays)."""
    with connect() as conn:
        try:
            info = demo.load_demo(conn, service_code, end=datetime.now(timezone.utc).date(), weeks=weeks,
                                  daily_calls=daily_calls, time_zone=time_zone, seed=seed)
        except ValueError as exc:
            raise click.UsageError(term(exc)) from exc
        conn.commit()
    click.echo(f"service {service_code}: {info['rows']} intervals, {info['calls']} calls, "
               f"{info['start']} .. {info['end']} (excl.), holidays {', '.join(info['holidays'])}")
    click.echo(f"next: wfm forecast backtest --service {service_code}")


@forecast.command("special-day")
@click.argument("service_code")
@click.argument("day", required=False, type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--dates", "date_list", multiple=True,
              help="Many days at once: YYYY-MM-DD separated by commas or spaces, ranges as A..B (repeatable).")
@click.option("--file", "date_file", type=click.File("r"),
              help="A file (or - for stdin) with dates or ranges, any number per line; # starts a comment.")
@click.option("--country", help="Public holidays of this country code (needs the optional 'holidays' package).")
@click.option("--subdivision", help="State or province code for --country.")
@click.option("--years", help="Years for --country, e.g. 2026 or 2026,2027 (default: this and next year).")
@click.option("--multiplier", type=click.FloatRange(0, 100),
              help="Factor on that day's forecast (0 = closed: the days around it get learnt holiday effects).")
@click.option("--keep-in-training", is_flag=True, help="Do not exclude the day's history from training.")
@click.option("--description", default=None)
@click.option("--remove", is_flag=True, help="Delete the special day(s).")
def forecast_special_day(service_code: str, day: datetime | None, date_list: tuple[str, ...], date_file,
                         country: str | None, subdivision: str | None, years: str | None,
                         multiplier: float | None, keep_in_training: bool, description: str | None,
                         remove: bool) -> None:
    """Set (or --remove) special days of a service: DAY, a list, a file or a country's holidays.

    Without any day, list them.
    """
    try:
        days, names = _special_dates(day, date_list, date_file, country, subdivision, years)
    except holidays.DateListError as exc:
        raise click.UsageError(term(exc)) from exc
    with connect() as conn:
        key = _series(conn, service_code, None)
        if not days:
            if date_list or date_file or country:
                raise click.UsageError("the date list is empty")
            rows = conn.execute(
                """SELECT day, exclude_from_training, multiplier, description FROM wfm.special_days
                   WHERE service_id = %s ORDER BY day""", (key.service_id,)).fetchall()
            for d, excl, mult, desc in rows:
                factor = _fmt(None if mult is None else float(mult), ".2f")
                click.echo(f"{d}  {'excluded' if excl else 'trained '}  x{factor}  {term(desc)}")
            if not rows:
                click.echo(f"no special days for {term(service_code)}")
            return
        if remove:
            deleted = store.remove_special_days(conn, key.service_id, days)
            conn.commit()
            click.echo(f"removed {deleted} special day{'s' if deleted != 1 else ''}")
            return
        store.set_special_days(conn, key.service_id, days, exclude_from_training=not keep_in_training,
                               multiplier=multiplier, descriptions=names, description=description)
        conn.commit()
    if len(days) == 1:
        click.echo(f"special day {days[0]} of {term(service_code)} set")
    else:
        click.echo(f"{len(days)} special days of {term(service_code)} set ({days[0]} .. {days[-1]})")


def _special_dates(day: datetime | None, date_list: tuple[str, ...], date_file, country: str | None,
                   subdivision: str | None, years: str | None) -> tuple[list, dict]:
    """The days the special-day command acts on, and holiday names by day (from --country)."""
    days = {day.date()} if day else set()
    days |= set(holidays.parse_dates(list(date_list)))
    if date_file is not None:
        days |= set(holidays.parse_dates(date_file.read().splitlines(), source=date_file.name))
    names: dict = {}
    if country:
        this_year = datetime.now(timezone.utc).year
        try:
            year_list = [int(y) for y in re.split(r"[,\s]+", years.strip())] if years else [this_year, this_year + 1]
        except ValueError:
            raise holidays.DateListError(f"--years: {years!r} is not a list of years") from None
        names = holidays.country_holidays(country, year_list, subdivision)
        days |= set(names)
    elif subdivision or years:
        raise holidays.DateListError("--subdivision and --years go with --country")
    return sorted(days), names
