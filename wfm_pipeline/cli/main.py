"""The ``wfm`` command: database, catalog, development server and the domains' commands."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import click
import psycopg

from wfm_pipeline.db import catalog, connection, embedded, migrations
from wfm_pipeline.settings import get_settings
from wfm_pipeline.argus import landing
from wfm_pipeline.cli import bench, calls, demo, dev, forecast, health, imports, report, warehouse
from wfm_pipeline.cli.common import UsageError, db_url
from wfm_pipeline.textsafe import term, term_lines

@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="wfm-pipeline")
def cli() -> None:
    """WFM pipeline: Argus interval statistics into PostgreSQL, with Dagster on top."""


# ---------------------------------------------------------------- wfm db
@cli.group()
def db() -> None:
    """The WFM database: URL, migrations, embedded server."""


@db.command("url")
def db_url_cmd() -> None:
    """Print the database URL in use (starts the embedded server if needed)."""
    click.echo(connection.database_url())


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations from sql/ and premake partitions."""
    url = connection.database_url()
    try:
        applied = migrations.upgrade(url)
    except migrations.MigrationError as exc:
        raise click.ClickException(term_lines(exc)) from exc
    if applied:
        for name in applied:
            click.echo(f"applied {term(name)}")
    else:
        click.echo("database is up to date")


@db.command("status")
def db_status() -> None:
    """List migrations and whether each is applied."""
    for name, state in migrations.status(connection.database_url()):
        click.echo(f"{term(state):8} {term(name)}")


@db.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL server."""
    settings = get_settings()
    if not settings.embedded:
        raise click.ClickException("WFM_DATABASE_URL is set: there is no embedded server to stop")
    click.echo("stopped" if embedded.stop(settings.pgdata) else "not running")


@db.command("psql", context_settings={"ignore_unknown_options": True})
@click.argument("psql_args", nargs=-1, type=click.UNPROCESSED)
def db_psql(psql_args: tuple[str, ...]) -> None:
    """Open psql on the WFM database (extra arguments go to psql)."""
    psql = str(embedded.binary("psql")) if get_settings().embedded else (shutil.which("psql") or "")
    if not psql:
        raise click.ClickException("psql not found on PATH")
    env = {**os.environ, "PGOPTIONS": "-c search_path=wfm,public"}
    sys.exit(subprocess.call([psql, connection.database_url(), *psql_args], env=env))


# ---------------------------------------------------------------- services / groups
@cli.group()
def services() -> None:
    """Services (queues) and their time zones."""


@services.command("add")
@click.argument("code")
@click.option("--name", required=True, help="Human-readable name.")
@click.option("--time-zone", required=True, help="IANA time zone of the service's files, e.g. Europe/Moscow.")
def services_add(code: str, name: str, time_zone: str) -> None:
    """Register a service."""
    with connection.connect(db_url()) as conn:
        try:
            service = catalog.add_service(conn, code, name, time_zone)
            conn.commit()
        except psycopg.errors.UniqueViolation as exc:
            raise UsageError(f"service {term(code)!r} already exists") from exc
        except (psycopg.errors.InvalidParameterValue, psycopg.errors.CheckViolation) as exc:
            raise UsageError(exc.diag.message_primary or str(exc)) from exc
    folder = landing.service_folder(get_settings().landing_dir, service.code)
    click.echo(f"service {term(service.code)} (id {service.service_id}, {term(service.time_zone)}) added; "
               f"landing folder {term(folder)}")


@services.command("list")
def services_list() -> None:
    """Show services and their groups."""
    with connection.connect(db_url()) as conn:
        rows = catalog.list_services(conn)
    if not rows:
        click.echo("no services yet: wfm services add CODE --name NAME --time-zone TZ")
        return
    for service, groups in rows:
        click.echo(f"{service.service_id:>4}  {term(service.code):<16} {term(service.time_zone):<24} "
                   f"{term(service.name)}")
        for group in groups:
            click.echo(f"      {group.group_id:>4}  {term(group.code):<16} {term(group.name)}")


@cli.group()
def groups() -> None:
    """Groups within a service."""


@groups.command("add")
@click.argument("service_code")
@click.argument("group_code")
@click.option("--name", required=True, help="Human-readable name.")
def groups_add(service_code: str, group_code: str, name: str) -> None:
    """Register a group in a service."""
    with connection.connect(db_url()) as conn:
        try:
            group = catalog.add_group(conn, service_code, group_code, name)
            conn.commit()
        except catalog.UnknownServiceError as exc:
            raise UsageError(str(exc)) from exc
        except psycopg.errors.UniqueViolation as exc:
            raise UsageError(f"group {group_code!r} already exists in service {service_code!r}") from exc
        except psycopg.errors.CheckViolation as exc:
            raise UsageError(exc.diag.message_primary or str(exc)) from exc
    folder = landing.service_folder(get_settings().landing_dir, service_code, group.code)
    click.echo(f"group {term(service_code)}/{term(group.code)} (id {group.group_id}) added; landing folder {term(folder)}")


for command in (dev.dev, demo.demo_cmd, imports.import_cmd, imports.batches_group, forecast.forecast,
                warehouse.views_group, health.validate, health.health, bench.bench, report.report_group):
    cli.add_command(command)
services.add_command(calls.set_patience)


def main() -> None:
    try:
        cli(prog_name="wfm")
    except migrations.MigrationError as exc:  # from any command that migrates before it works
        click.echo(f"Error: {term_lines(exc)}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
