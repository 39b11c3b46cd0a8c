"""Warehouse commands: `wfm views refresh|status`, `wfm bench queries`."""

from __future__ import annotations

import click

from wfm_pipeline.cli.common import ago, connect
from wfm_pipeline.textsafe import term


@click.group("views")
def views_group() -> None:
    """The aggregates behind mv_hourly_stats and mv_daily_service_stats (always-current views)."""


@views_group.command("refresh")
@click.option("--full", is_flag=True, help="Recompute everything instead of the logged changes.")
def views_refresh(full: bool) -> None:
    """Refresh the aggregates: only the days in the change log and the hours since the last
    watermark (the first time, and with --full, everything). Prints what each one did."""
    from wfm_pipeline.warehouse import views

    with connect() as conn:
        results = views.refresh_all(conn, full=full)
        conn.commit()
    for r in results:
        mode = "incremental" if r.concurrently else ("full rebuild" if full else "first population (full)")
        until = f"{r.materialized_until:%Y-%m-%d %H:%M %Z}" if r.materialized_until else "-"
        click.echo(f"{term(r.view):<28} {r.duration_ms:>10.1f} ms  {r.rows_written:>9,} rows written  "
                   f"{r.row_count:>10,} rows  {r.changes_applied:>6,} changes  up to {until}  ({mode})")


@views_group.command("status")
def views_status() -> None:
    """Watermark (materialized up to), pending changes, last refresh, its duration and row count."""
    from wfm_pipeline.warehouse import views

    with connect() as conn:
        rows = views.freshness(conn)
    for f in rows:
        if f.last_refreshed_at is None:
            click.echo(f"{term(f.view):<28} never refreshed: reads aggregate raw rows "
                       f"({f.pending_changes:,} changes logged); run `wfm views refresh`")
        else:
            until = f"{f.materialized_until:%Y-%m-%d %H:%M %Z}" if f.materialized_until else "-"
            click.echo(f"{term(f.view):<28} materialized up to {until}, {f.pending_changes:,} changes pending; "
                       f"refreshed {f.last_refreshed_at:%Y-%m-%d %H:%M:%S %Z} ({ago(f.age)}) "
                       f"in {f.last_duration_ms:.0f} ms, {f.row_count:,} rows")
