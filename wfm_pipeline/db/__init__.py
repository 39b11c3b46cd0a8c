"""Database access: URL resolution, embedded server, migrations, connection helpers."""

from wfm_pipeline.db.connection import connect, database_url, server_url

__all__ = ["connect", "database_url", "server_url"]
