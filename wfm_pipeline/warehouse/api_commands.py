"""`wfm bench api-insert`: rows/s of api_batch_insert_calls (the SQL write API)."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    cli.commands["bench"].add_command(bench_api_insert)


@click.command("api-insert")
@click.option("--rows", "rows_per_call", default=10_000, show_default=True, help="Rows per call.")
@click.option("--calls", default=6, show_default=True, help="Calls per phase (insert, then update).")
@click.option("--clients", default=1, show_default=True, help="Concurrent client connections.")
@click.option("--database", type=click.Choice(["bench", "wfm"]), default="bench", show_default=True,
              help="bench: the `wfm bench queries` database (wfm_bench); wfm: the WFM database itself.")
def bench_api_insert(rows_per_call: int, calls: int, clients: int, database: str) -> None:
    """Measure api_batch_insert_calls rows/s (removes the rows it wrote afterwards)."""
    from wfm_pipeline.db import migrations
    from wfm_pipeline.warehouse import api_bench

    if database == "bench":
        from wfm_pipeline.warehouse.bench_queries import bench_url

        url = bench_url()
        migrations.upgrade(url)
    else:
        from wfm_pipeline.cli import db_url

        url = db_url()
    result = api_bench.bench_batch_insert(url, click.echo, rows_per_call=rows_per_call, calls=calls, clients=clients)
    verdict = "meets" if result.best_rows_per_second >= result.target_rows_per_second else "is below"
    click.echo(f"best {result.best_rows_per_second:,.0f} rows/s {verdict} the target of "
               f"{result.target_rows_per_second:,} rows/s")
