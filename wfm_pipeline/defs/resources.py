"""Dagster resource for the WFM database (a thin shell over the shared connection pool)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dagster as dg
import psycopg
from pydantic import Field

from wfm_pipeline.db.connection import database_url
from wfm_pipeline.db.pool import get_pool


class WfmDatabase(dg.ConfigurableResource):
    """Connections to the WFM PostgreSQL database.

    ``url`` empty means: WFM_DATABASE_URL, or the embedded server (started on demand).
    """

    url: str = Field(default="", description="PostgreSQL URL; empty = WFM_DATABASE_URL or the embedded server.")
    pool_size: int = Field(default=10, description="Maximum pooled connections per process.")

    def resolved_url(self) -> str:
        return self.url or database_url()

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection (search_path wfm, public); commit/rollback is the caller's."""
        with get_pool(self.resolved_url(), max_size=self.pool_size).connection() as conn:
            yield conn
