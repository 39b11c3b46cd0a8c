"""What every command module shares: the usage error and the migrated database URL.

Command modules import this module, never ``cli.main`` (which imports them).
"""

from __future__ import annotations

import click
import psycopg

from wfm_pipeline.db import connection, migrations
from wfm_pipeline.textsafe import term_lines


class UsageError(click.UsageError):
    """Exit code 2 with a message (unknown service, bad arguments).

    The message often quotes what a user or the database sent: control characters are escaped
    (``textsafe.term_lines``) so it cannot drive the terminal.
    """

    def __init__(self, message: str, ctx: click.Context | None = None) -> None:
        super().__init__(term_lines(message), ctx)


def db_url() -> str:
    """The WFM database URL, migrated (every command that touches data calls this)."""
    url = connection.database_url()
    try:
        migrations.upgrade(url)
    except migrations.MigrationError as exc:
        raise click.ClickException(term_lines(exc)) from exc
    return url


def connect() -> psycopg.Connection:
    """A connection to the migrated WFM database."""
    return connection.connect(db_url())
