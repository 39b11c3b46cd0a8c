"""Warehouse commands: `wfm views refresh|status`, `wfm bench queries`."""

from __future__ import annotations

import click

from wfm_pipeline.cli.common import ago, connect
from wfm_pipeline.textsafe import term


@click.group("views")
def views_group() -> None:
    """Materialized views (mv_hourly_stats, mv_daily_service_stats)."""


@views_group.command("refresh")
def views_refresh() -> None:
    """Refresh every materialized view (CONCURRENTLY once populated) and print the durations."""
    from wfm_pipeline.warehouse import views

    with connect() as conn:
        results = views.refresh_all(conn)
        conn.commit()
    for r in results:
        mode = "concurrently" if r.concurrently else "first population"
        click.echo(f"{term(r.view):<28} {r.duration_ms:>10.1f} ms  {r.row_count:>10,} rows  ({mode})")


@views_group.command("status")
def views_status() -> None:
    """When each view was last refreshed, how long it took and how many rows it has."""
    from wfm_pipeline.warehouse import views

    with connect() as conn:
        rows = views.freshness(conn)
    for f in rows:
        if f.last_refreshed_at is None:
            click.echo(f"{term(f.view):<28} never refreshed by wfm (populated: {f.populated})")
        else:
            click.echo(f"{term(f.view):<28} refreshed {f.last_refreshed_at:%Y-%m-%d %H:%M:%S %Z} "
                       f"({ago(f.age)}) in {f.last_duration_ms:.0f} ms, {f.row_count:,} rows")
