"""Dagster resource for the WFM database (a thin shell over the shared connection pool).

Built from ``Settings`` rather than ``dg.EnvVar``: an unset WFM_DATABASE_URL is meaningful (the
embedded server), which an EnvVar cannot express, and the CLI, the sensor and the assets must
read one configuration through one parser. The resource's fields are overrides only.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import dagster as dg
import psycopg
from pydantic import Field

from wfm_pipeline.db import migrations
from wfm_pipeline.db.connection import database_url
from wfm_pipeline.db.pool import get_pool
from wfm_pipeline.settings import get_settings

# URLs found up to date in this process: the check is one query, but not one per connection.
# Only successes are remembered (migrations are never undone), so nothing needs clearing.
_CURRENT: set[str] = set()
_CURRENT_LOCK = threading.Lock()


class WfmDatabase(dg.ConfigurableResource):
    """Connections to the WFM PostgreSQL database.

    ``url`` empty means: WFM_DATABASE_URL, or the embedded server (started on demand). Like the
    data commands of ``wfm``, the resource never migrates a WFM_DATABASE_URL (or ``url``)
    database: pending migrations fail the step ("N migrations pending: run `wfm db upgrade`").
    Only the embedded default is migrated on first use.
    """

    url: str = Field(default="", description="PostgreSQL URL; empty = WFM_DATABASE_URL or the embedded server.")
    pool_size: int = Field(default=10, description="Maximum pooled connections per process.")

    def resolved_url(self) -> str:
        """The database URL, checked against this copy's SQL once per process."""
        settings = get_settings()
        url = self.url or database_url(settings)
        with _CURRENT_LOCK:
            if url not in _CURRENT:
                migrations.prepare(url, migrate=not self.url and settings.embedded)
                _CURRENT.add(url)
        return url

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection (search_path wfm, public); commit/rollback is the caller's."""
        with get_pool(self.resolved_url(), max_size=self.pool_size).connection() as conn:
            yield conn
