"""Resolving the database URL and opening connections.

``WFM_DATABASE_URL`` selects any PostgreSQL >= 15. Unset, the embedded server under
``$WFM_HOME/pg`` is started on demand and the database ``wfm`` on it is used (created if
missing).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from wfm_pipeline.db import embedded
from wfm_pipeline.settings import Settings, get_settings

EMBEDDED_DATABASE = "wfm"
MIN_SERVER_VERSION = 150000


def with_database(url: str, dbname: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + dbname))


def server_url(settings: Settings | None = None) -> str:
    """URL of a maintenance database on the server in use (starts the embedded one if needed)."""
    settings = settings or get_settings()
    if settings.database_url:
        return settings.database_url
    return embedded.start(settings.pgdata)


def ensure_database(url: str) -> None:
    """Create the database named in ``url`` if it does not exist (needs CREATEDB)."""
    dbname = urlsplit(url).path.lstrip("/")
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not exists:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def database_url(settings: Settings | None = None) -> str:
    """URL of the WFM database: WFM_DATABASE_URL, or database ``wfm`` on the embedded server."""
    settings = settings or get_settings()
    if settings.database_url:
        return settings.database_url
    url = with_database(embedded.start(settings.pgdata), EMBEDDED_DATABASE)
    ensure_database(url)
    return url


def check_server_version(conn: psycopg.Connection) -> None:
    if conn.info.server_version < MIN_SERVER_VERSION:
        raise RuntimeError(
            f"PostgreSQL {conn.info.server_version // 10000} is too old: the WFM schema needs 15 or "
            "newer (it uses UNIQUE NULLS NOT DISTINCT)."
        )


@contextlib.contextmanager
def connect(url: str | None = None, **kwargs) -> Iterator[psycopg.Connection]:
    """A psycopg connection to the WFM database with ``search_path = wfm, public``."""
    conn = psycopg.connect(url or database_url(), options="-c search_path=wfm,public", **kwargs)
    try:
        yield conn
    finally:
        conn.close()
