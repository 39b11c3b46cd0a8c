"""What every command module shares: the usage error and the checked database URL.

Command modules import this module, never ``cli.main`` (which imports them).
"""

from __future__ import annotations

from datetime import timedelta

import click
import psycopg

from wfm_pipeline.db import connection, migrations
from wfm_pipeline.settings import get_settings
from wfm_pipeline.textsafe import term_lines


class UsageError(click.UsageError):
    """Exit code 2 with a message (unknown service, bad arguments).

    The message often quotes what a user or the database sent: control characters are escaped
    (``textsafe.term_lines``) so it cannot drive the terminal.
    """

    def __init__(self, message: str, ctx: click.Context | None = None) -> None:
        super().__init__(term_lines(message), ctx)


def db_url(*, upgrade: bool = False) -> str:
    """The WFM database URL, checked against this copy's SQL (every data command calls this).

    The embedded default is migrated when files are pending (its first use, or a newer
    wfm-pipeline); a WFM_DATABASE_URL database is only checked, and pending files stop the
    command ("N migrations pending: run `wfm db upgrade`"). ``upgrade``: apply pending files
    in either case (`wfm db upgrade`, `wfm dev`).
    """
    settings = get_settings()
    url = connection.database_url(settings)
    try:
        if upgrade:
            migrations.upgrade(url)
        else:
            migrations.prepare(url, migrate=settings.embedded)
    except migrations.MigrationError as exc:
        raise click.ClickException(term_lines(exc)) from exc
    return url


def connect() -> psycopg.Connection:
    """A connection to the WFM database, checked by ``db_url``."""
    return connection.connect(db_url())


def ago(age: timedelta | None) -> str:
    """A past duration as people say it: "45 s ago", "11 min ago", "3 h 5 min ago",
    "2 days 4 h ago"; "never" for None (rounded down: "11 min" means at least eleven minutes)."""
    if age is None:
        return "never"
    seconds = int(age.total_seconds())
    if seconds < 0:  # a clock ahead of the database's: it happened, just now
        return "just now"
    if seconds < 60:
        return f"{seconds} s ago"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if minutes < 60:
        return f"{minutes} min ago"
    if hours < 24:
        return f"{hours} h {minutes % 60} min ago" if minutes % 60 else f"{hours} h ago"
    rest = hours % 24
    unit = "day" if days == 1 else "days"
    return f"{days} {unit} {rest} h ago" if rest else f"{days} {unit} ago"
