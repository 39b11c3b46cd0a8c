"""``wfm dev``: the database, its migrations, and Dagster's webserver and daemon in one command.

Dagster 1.13 marks ``dagster dev`` as superseded by ``dg dev`` (package dagster-dg-cli). Given a
workspace file, ``dg dev -w FILE`` calls ``dagster._cli.dev.dev_command_impl`` and nothing else;
``wfm dev`` calls that same function directly, so it starts the same processes without the
superseded command's warning and without dagster-dg-cli's dependencies (dagster-cloud-cli,
typer, rich, gql, ...). dagster is pinned (pyproject.toml) and a test checks that the function
still takes the arguments passed here.

Ctrl-C (SIGINT) or SIGTERM: Dagster stops its webserver, daemon and code server and the command
exits quietly with status 0. The embedded PostgreSQL keeps running (`wfm db stop`).
"""

from __future__ import annotations

import os
import signal
import sys

import click

from wfm_pipeline.cli.common import db_url
from wfm_pipeline.settings import get_settings
from wfm_pipeline.textsafe import term


@click.command("dev")
@click.option("--port", default=3000, show_default=True, help="Dagster UI port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the Dagster UI listens on.")
def dev(port: int, host: str) -> None:
    """Start the database, migrate, and run the Dagster UI and daemon (Ctrl-C stops them)."""
    from wfm_pipeline.defs.instance import service_order_warning, write_dagster_yaml, write_workspace_yaml

    settings = get_settings()
    url = db_url(upgrade=True)
    click.echo(f"WFM database: {url}")
    settings.landing_dir.mkdir(parents=True, exist_ok=True)
    config = write_dagster_yaml(settings)
    workspace = write_workspace_yaml(settings)
    click.echo(f"Dagster instance: {config}")
    if (warning := service_order_warning(config)) is not None:
        click.echo(f"warning: {term(warning)}", err=True)
    click.echo(f"Landing folder: {settings.landing_dir}  (drop files into SERVICE/ or SERVICE/GROUP/; "
               "`wfm demo` drops sample files)")
    os.environ.update({"DAGSTER_HOME": str(settings.dagster_home), "WFM_DATABASE_URL": url,
                       "WFM_HOME": str(settings.home), "WFM_LANDING_DIR": str(settings.landing_dir)})
    # Dagster puts its working directory on the code server's sys.path; $DAGSTER_HOME holds no
    # package, so the code location is the wfm_pipeline this command itself runs.
    os.chdir(settings.dagster_home)
    click.echo(f"Dagster UI on http://{host}:{port}  (Ctrl-C to stop; `wfm db stop` stops PostgreSQL)")
    sys.stdout.flush()
    # A shell starting `wfm dev &` hands it SIGINT ignored, and Dagster maps SIGTERM onto whatever
    # SIGINT does: make both stop the server (the children then start with the default again).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        serve(workspace, host, port)
    except KeyboardInterrupt:  # a second Ctrl-C while Dagster shuts down: its processes got it too
        pass
    sys.exit(0)


def serve(workspace, host: str, port: int) -> None:
    """Run Dagster's dev server (webserver + daemon + code server) until interrupted."""
    from dagster._cli.dev import dev_command_impl
    from dagster_shared.cli import WorkspaceOpts

    dev_command_impl(
        code_server_log_level="warning",
        log_level="info",
        log_format="colored",
        port=str(port),
        host=host,
        use_legacy_code_server_behavior=False,
        shutdown_pipe=None,
        verbose=False,
        workspace_opts=WorkspaceOpts(workspace=[str(workspace)]),
    )
