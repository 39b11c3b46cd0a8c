"""Warehouse commands: `wfm views refresh|status`, `wfm bench queries`."""

from __future__ import annotations

import click

from wfm_pipeline.db import connection
from wfm_pipeline.textsafe import term


def register(cli: click.Group) -> None:
    cli.add_command(views_group)
    cli.commands["bench"].add_command(bench_queries)


@click.group("views")
def views_group() -> None:
    """Materialized views (mv_hourly_stats, mv_daily_service_stats)."""


@views_group.command("refresh")
def views_refresh() -> None:
    """Refresh every materialized view (CONCURRENTLY once populated) and print the durations."""
    from wfm_pipeline.cli import db_url
    from wfm_pipeline.warehouse import views

    with connection.connect(db_url()) as conn:
        results = views.refresh_all(conn)
        conn.commit()
    for r in results:
        mode = "concurrently" if r.concurrently else "first population"
        click.echo(f"{term(r.view):<28} {r.duration_ms:>10.1f} ms  {r.row_count:>10,} rows  ({mode})")


@views_group.command("status")
def views_status() -> None:
    """When each view was last refreshed, how long it took and how many rows it has."""
    from wfm_pipeline.cli import db_url
    from wfm_pipeline.warehouse import views

    with connection.connect(db_url()) as conn:
        rows = views.freshness(conn)
    for f in rows:
        if f.last_refreshed_at is None:
            click.echo(f"{term(f.view):<28} never refreshed by wfm (populated: {f.populated})")
        else:
            click.echo(f"{term(f.view):<28} refreshed {f.last_refreshed_at:%Y-%m-%d %H:%M:%S %Z} "
                       f"({f.age} ago) in {f.last_duration_ms:.0f} ms, {f.row_count:,} rows")


@click.command("queries")
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
    from wfm_pipeline.warehouse import bench_queries as bench

    try:
        client_counts = tuple(int(c) for c in clients.split(",") if c.strip())
    except ValueError as exc:
        raise click.UsageError(f"--clients must be comma-separated integers, got {clients!r}") from exc
    if not client_counts or min(client_counts) < 1:
        raise click.UsageError("--clients needs at least one positive number")
    names = tuple(n.strip() for n in only.split(",") if n.strip())
    unknown = set(names) - {q.name for q in bench.QUERY_CLASSES}
    if unknown:
        raise click.UsageError(f"unknown query classes {sorted(unknown)}; known: "
                               f"{', '.join(q.name for q in bench.QUERY_CLASSES)}")
    report = bench.run(rebuild=rebuild, seconds=seconds, clients=client_counts, only=names,
                       refresh=not no_refresh, rate_scale=rate_scale, echo=click.echo)
    if report.batch_insert is None:
        click.echo("api_batch_insert_calls: skipped (wfm_pipeline.warehouse.api_bench is not installed yet)")
    if as_markdown:
        click.echo("")
        click.echo(bench.markdown(report))
