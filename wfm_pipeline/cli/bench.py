"""`wfm bench ...`: the benchmark commands (the measuring code lives in ``wfm_pipeline.bench``)."""

from __future__ import annotations

import json
import time

import click

from wfm_pipeline.bench import agent_states, api_insert, calls, forecast, forecast_accuracy, imports, queries
from wfm_pipeline.calls.concurrent import LOAD_CONNECTIONS, MAX_LOAD_CONNECTIONS
from wfm_pipeline.cli.common import db_url
from wfm_pipeline.db import migrations
from wfm_pipeline.textsafe import term


@click.group()
def bench() -> None:
    """Benchmarks: import throughput, read API latencies, API inserts, forecasts."""


@bench.command("import")
@click.option("--rows", default=38_000, show_default=True, help="Rows of the one-service file (~13 months).")
@click.option("--groups", default=200, show_default=True, help="Groups of the many-files data set.")
@click.option("--group-days", default=7, show_default=True, help="Days per group file.")
@click.option("--skip-pandas", is_flag=True, help="Skip the pandas read_excel + to_sql baseline.")
@click.option("--repeat", default=3, show_default=True, help="Runs per single-file measurement (fastest counts).")
@click.option("--json", "as_json", is_flag=True, help="Also print the results as one JSON object.")
@click.option("--keep", is_flag=True, help="Keep the benchmark database (default: dropped).")
@click.option("--dagster", is_flag=True,
              help="Only compare one file through `wfm import` and through the Dagster file assets.")
def bench_import(rows: int, groups: int, group_days: int, skip_pandas: bool, repeat: int, as_json: bool,
                 keep: bool, dagster: bool) -> None:
    """Argus import throughput: read, validate, load, end to end vs pandas and bare COPY."""
    if dagster:
        results = imports.dagster_vs_cli(rows=rows, repeat=repeat, keep=keep, echo=lambda m: click.echo(m, err=True))
        click.echo(imports.format_dagster(results))
        if as_json:
            click.echo(json.dumps(results, default=str))
        return
    results = imports.run(rows=rows, groups=groups, group_days=group_days, pandas_baseline=not skip_pandas,
                        repeat=repeat, keep=keep, echo=lambda m: click.echo(m, err=True))
    click.echo(imports.format_table(results))
    if as_json:
        click.echo(json.dumps(results, default=str))


@bench.command("queries")
@click.option("--rebuild", is_flag=True, help="Regenerate the data set (default: reuse the one in wfm_bench).")
@click.option("--seconds", default=10, show_default=True, help="pgbench duration per query class and client count.")
@click.option("--clients", default="1,50", show_default=True, help="Comma-separated client counts.")
@click.option("--only", default="", help="Comma-separated query classes to run (default: all).")
@click.option("--rate-scale", type=float, default=1.0, show_default=True,
              help="Also run each multi-client test throttled to clients x the class's queries/s per user "
                   "x this factor (0: skip the throttled runs).")
@click.option("--no-refresh", is_flag=True, help="Skip timing the view refresh (views must be populated).")
@click.option("--markdown", "as_markdown", is_flag=True, help="Also print the result as Markdown tables (README).")
def bench_queries(rebuild: bool, seconds: int, clients: str, only: str, rate_scale: float, no_refresh: bool,
                  as_markdown: bool) -> None:
    """Read API latencies (p50/p95/p99) at 7.6 M rows with pgbench, view refresh times,
    api_batch_insert_calls rows/s. Uses the separate database wfm_bench, never your data."""
    try:
        client_counts = tuple(int(c) for c in clients.split(",") if c.strip())
    except ValueError as exc:
        raise click.UsageError(f"--clients must be comma-separated integers, got {clients!r}") from exc
    if not client_counts or min(client_counts) < 1:
        raise click.UsageError("--clients needs at least one positive number")
    names = tuple(n.strip() for n in only.split(",") if n.strip())
    unknown = set(names) - {q.name for q in queries.QUERY_CLASSES}
    if unknown:
        raise click.UsageError(f"unknown query classes {sorted(unknown)}; known: "
                               f"{', '.join(q.name for q in queries.QUERY_CLASSES)}")
    report = queries.run(rebuild=rebuild, seconds=seconds, clients=client_counts, only=names,
                       refresh=not no_refresh, rate_scale=rate_scale, echo=click.echo)
    if report.batch_insert is None:
        click.echo("api_batch_insert_calls: skipped with --only (wfm bench api-insert measures it alone)")
    if as_markdown:
        click.echo("")
        click.echo(queries.markdown(report))


@bench.command("forecast")
@click.option("--groups", default=200, show_default=True, type=click.IntRange(1, 2000))
@click.option("--days", "horizon_days", default=14, show_default=True, type=click.IntRange(1, 92))
@click.option("--history-weeks", default=12, show_default=True, type=click.IntRange(4, 52))
@click.option("--service", "service_code", default="BENCHFC", show_default=True,
              help="Service holding the benchmark groups (created and filled on first use).")
def bench_forecast(groups: int, horizon_days: int, history_weeks: int, service_code: str) -> None:
    """Forecast + backtest + staffing for N groups through the database, timed."""
    forecast.run(db_url(), groups=groups, horizon_days=horizon_days, history_weeks=history_weeks,
                 service_code=service_code, echo=click.echo)


@bench.command("api-insert")
@click.option("--rows", "rows_per_call", default=10_000, show_default=True, help="Rows per call.")
@click.option("--calls", default=6, show_default=True, help="Calls per phase (insert, then update).")
@click.option("--clients", default=1, show_default=True, help="Concurrent client connections.")
@click.option("--database", type=click.Choice(["bench", "wfm"]), default="bench", show_default=True,
              help="bench: the `wfm bench queries` database (wfm_bench); wfm: the WFM database itself.")
def bench_api_insert(rows_per_call: int, calls: int, clients: int, database: str) -> None:
    """Measure api_batch_insert_calls rows/s (removes the rows it wrote afterwards)."""
    if database == "bench":
        url = queries.bench_url()
        migrations.upgrade(url)
    else:
        url = db_url()
    result = api_insert.bench_batch_insert(url, click.echo, rows_per_call=rows_per_call, calls=calls, clients=clients)
    verdict = "meets" if result.best_rows_per_second >= result.target_rows_per_second else "is below"
    click.echo(f"best {result.best_rows_per_second:,.0f} rows/s {verdict} the target of "
               f"{result.target_rows_per_second:,} rows/s")


@bench.command("forecast-accuracy")
@click.option("--seeds", default="1,2,3,4", show_default=True, help="Seeds of the generated series.")
@click.option("--volumes", default="300,3000", show_default=True, help="Calls per open weekday of the series.")
@click.option("--weeks", default=40, show_default=True, type=click.IntRange(26, 104), help="History generated.")
@click.option("--statsforecast/--no-statsforecast", "with_sf", default=None,
              help="Also score statsforecast MSTL and AutoETS (default: when installed, extra [bench]).")
@click.option("--json", "as_json", is_flag=True, help="The summary as JSON.")
def bench_forecast_accuracy(seeds: str, volumes: str, weeks: int, with_sf: bool | None, as_json: bool) -> None:
    """Accuracy on generated bank-like series: model vs seasonal naive vs median of 5 (issue 11 protocol)."""
    try:
        seed_list = tuple(int(x) for x in seeds.split(",") if x.strip())
        volume_list = tuple(float(x) for x in volumes.split(",") if x.strip())
    except ValueError as exc:
        raise click.UsageError(f"--seeds/--volumes: {term(exc)}") from exc
    if with_sf and not forecast_accuracy.statsforecast_available():
        raise click.UsageError("statsforecast is not installed: pip install 'wfm-pipeline[bench]'")
    t0 = time.perf_counter()
    results = forecast_accuracy.run(
        seed_list, volume_list, with_statsforecast=with_sf, weeks=weeks,
        on_series=None if as_json else lambda r: click.echo(f"  {r.label}: model {r.scores['model'].wape:.2%}, "
                                                            f"median of 5 {r.scores['median of 5'].wape:.2%}"))
    if as_json:
        click.echo(json.dumps(forecast_accuracy.summary(results), default=str))
        return
    click.echo(forecast_accuracy.format_report(results))
    click.echo(f"({time.perf_counter() - t0:.0f} s)")


@bench.command("calls")
@click.option("--services", default=50, show_default=True, type=click.IntRange(1, 500))
@click.option("--days", default=31, show_default=True, type=click.IntRange(1, 62))
@click.option("--calls-per-day", default=100_000, show_default=True, type=click.IntRange(1, 10_000_000),
              help="Calls a day over all services.")
@click.option("--agents", default=400, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--queries", default=100, show_default=True, type=click.IntRange(1, 10_000),
              help="api_get_agent_stats calls for the latency figures.")
@click.option("--scale-months", default=13, show_default=True, type=click.IntRange(1, 36),
              help="Months of agent activity the latency is measured at (the month repeated).")
@click.option("--json", "as_json", is_flag=True, help="Also print the results as one JSON object.")
@click.option("--keep", is_flag=True, help="Keep the benchmark database (default: dropped).")
@click.option("--connections", default=LOAD_CONNECTIONS, show_default=True, type=click.IntRange(1, MAX_LOAD_CONNECTIONS),
              help="Load files of different services on this many connections at once, as wfm import "
                   "--connections (1: one loading connection, the next file prepared ahead on a second).")
def bench_calls(services: int, days: int, calls_per_day: int, agents: int, queries: int, scale_months: int,
                as_json: bool, keep: bool, connections: int) -> None:
    """Call-record import: end to end vs bare COPY, a one-day correction, api_get_agent_stats."""
    results = calls.run(services=services, days=days, calls_per_day=calls_per_day, agents=agents, queries=queries,
                        scale_months=scale_months, keep=keep, connections=connections,
                        echo=lambda m: click.echo(m, err=True))
    click.echo(calls.format_table(results))
    if as_json:
        click.echo(json.dumps(results, default=str))


@bench.command("agent-states")
@click.option("--services", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--agents", default=400, show_default=True, type=click.IntRange(1, 100_000), help="Agents in all.")
@click.option("--changes", default=60, show_default=True, type=click.IntRange(2, 1000),
              help="State changes per agent a day.")
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 31))
@click.option("--file-days", default=1, show_default=True, type=click.IntRange(1, 31),
              help="Days per file (1: daily exports).")
@click.option("--queries", default=200, show_default=True, type=click.IntRange(1, 100_000),
              help="api_get_plan_vs_actual calls for the latency figures.")
@click.option("--scale-months", default=13, show_default=True, type=click.IntRange(1, 36),
              help="Months of agent activity and statistics the latency is measured at.")
@click.option("--one-by-one", is_flag=True,
              help="Import the files one import_agent_file after the other (no file prepared ahead).")
@click.option("--connections", default=LOAD_CONNECTIONS, show_default=True, type=click.IntRange(1, MAX_LOAD_CONNECTIONS),
              help="Load files of different services on this many connections at once, as wfm import "
                   "--connections (1: one loading connection, the next file prepared ahead on a second).")
@click.option("--keep", is_flag=True, help="Keep the benchmark database wfm_bench_agents.")
@click.option("--json", "as_json", is_flag=True)
def bench_agent_states(services: int, agents: int, changes: int, days: int, file_days: int, queries: int,
                       scale_months: int, one_by_one: bool, connections: int, keep: bool, as_json: bool) -> None:
    """Agent state events imported and turned into per-interval agent time (720,000 events by
    default), against a bare COPY; api_get_plan_vs_actual latency. Uses its own database."""
    results = agent_states.run(services=services, agents=agents, changes=changes, days=days, file_days=file_days,
                               queries=queries, scale_months=scale_months, one_by_one=one_by_one,
                               connections=connections, keep=keep,
                               echo=(lambda _: None) if as_json else click.echo)
    click.echo(json.dumps(results) if as_json else agent_states.format_table(results))
