"""``wfm demo``: the first run of a new install: a sample service, its landing folders and files."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import click

from wfm_pipeline.bench import demo
from wfm_pipeline.cli.common import connect
from wfm_pipeline.settings import get_settings
from wfm_pipeline.textsafe import term

UI = "http://127.0.0.1:3000"   # `wfm dev`'s default address


@click.command("demo")
@click.option("--service", "service_code", default=demo.DEMO_SERVICE, show_default=True,
              help="Code of the sample service (created with the groups sales and support).")
@click.option("--weeks", default=demo.DEMO_WEEKS, show_default=True, type=click.IntRange(1, 52),
              help="History: the calendar months covering at least this many weeks before today.")
def demo_cmd(service_code: str, weeks: int) -> None:
    """Register a sample service and drop generated Argus files into its landing folders.

    With `wfm dev` running, the landing sensor imports them (one run per file, after they
    settled), the views refresh and a forecast follows. Run it again at any time: files already
    imported or still waiting are not written again.
    """
    settings = get_settings()
    with connect() as conn:
        registered = demo.register_demo(conn, settings.landing_dir, code=service_code)
        conn.commit()
        service = registered.service
        today = datetime.now(ZoneInfo(service.time_zone)).date()
        result = demo.drop_demo_files(conn, registered, settings.landing_dir, today=today, weeks=weeks)
    _report(result, settings.landing_dir)


def _report(result: demo.DemoResult, landing_dir) -> None:
    service = result.service
    state = "registered" if service.code in result.added else "already registered"
    click.echo(f"service {term(service.code)} ({term(service.time_zone)}): {state}")
    for folder in result.folders:
        group = f"{service.code}/{folder.name}"
        click.echo(f"  group {term(group):<20} {'registered' if group in result.added else 'already registered'}, "
                   f"landing folder {term(folder)}")
    dropped = [f for f in result.files if f.status == "dropped"]
    click.echo(f"files ({len(dropped)} dropped, {len(result.files) - len(dropped)} there already):")
    for f in result.files:
        where = f" (batch {f.batch})" if f.batch else ""
        click.echo(f"  {f.status:<10} {term(f.path.relative_to(landing_dir))}  "
                   f"{f.first_day} .. {f.last_day}, {f.rows:,} intervals{where}")
    click.echo("")
    if dropped:
        click.echo("The landing sensor of `wfm dev` imports each file once it has settled (about a minute),")
        click.echo("then the views refresh and the forecasts follow. Not running yet? Start it: wfm dev")
    else:
        click.echo("Nothing new to drop.")
    click.echo(f"Open the Dagster UI at {UI}:")
    click.echo(f"  {UI}/runs                                  one argus_file_import run per file")
    click.echo(f"  {UI}/assets/contact_statistics?view=partitions   the imported months")
    click.echo(f"  {UI}/asset-groups                          lineage: files -> months -> views -> forecasts")
    click.echo("Or from here: wfm batches list; wfm views status; wfm forecast --service " + term(service.code))
