"""SQL migrations: versioned ``sql/NNN_name.sql`` files, then repeatable ``sql/functions/``.

Versioned files (tables, types, roles, grants) run in order, each once, in its own transaction
under a cluster-wide advisory lock, and are recorded in ``wfm.schema_migrations`` with their
sha256. A recorded file whose content has since changed is an error: they are immutable once
applied; a fix is a new file.

Repeatable files (``sql/functions/**/*.sql``, as Flyway's ``R__`` files) hold the current
definition of one function (``CREATE OR REPLACE``, its COMMENT and grants) each. After the
versioned files, every repeatable file that is new or whose checksum changed is applied, all in
one transaction with ``check_function_bodies = off`` (so their order does not matter), and
recorded in ``wfm.schema_repeatables``. A function moves into ``sql/functions/`` the first time
it changes after its versioned file was applied: from then on its file is its one current body.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from wfm_pipeline.db.connection import check_server_version
from wfm_pipeline.settings import get_settings

_FILE_RE = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_LOCK_KEY = 0x57464D  # 'WFM': one key for every migrating process on the cluster

_BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS wfm;
CREATE TABLE IF NOT EXISTS wfm.schema_migrations (
    version     text PRIMARY KEY,
    filename    text NOT NULL,
    sha256      text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms numeric NOT NULL
);
COMMENT ON TABLE wfm.schema_migrations IS
    'One row per applied file of sql/: its checksum guards against edits after it was applied.';
CREATE TABLE IF NOT EXISTS wfm.schema_repeatables (
    path        text PRIMARY KEY,
    sha256      text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE wfm.schema_repeatables IS
    'One row per repeatable file of sql/functions/ (path relative to it): re-applied when its checksum changes.';
COMMENT ON COLUMN wfm.schema_repeatables.path IS 'File path relative to sql/functions/.';
COMMENT ON COLUMN wfm.schema_repeatables.sha256 IS 'Checksum of the file as last applied.';
COMMENT ON COLUMN wfm.schema_repeatables.applied_at IS 'When the file was last applied.';
"""


class MigrationError(RuntimeError):
    """A migration could not be applied, or an applied one has changed on disk."""


@dataclass(frozen=True)
class Migration:
    version: str
    path: Path

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Repeatable:
    """A file under sql/functions/: re-applied whenever its content changes."""

    name: str  # path relative to sql/functions, with forward slashes
    path: Path

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


_REPEATABLE_RE = re.compile(r"^[a-z0-9_]+(/[a-z0-9_]+)*\.sql$")


def discover_repeatables(sql_dir: Path | None = None) -> list[Repeatable]:
    """The repeatable files under ``sql/functions/``, ordered by relative path."""
    root = (sql_dir or get_settings().sql_dir) / "functions"
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.rglob("*.sql")):
        name = path.relative_to(root).as_posix()
        if not _REPEATABLE_RE.match(name):
            raise MigrationError(f"{path}: repeatable files must be named lower_snake.sql (in lower_snake folders)")
        found.append(Repeatable(name, path))
    return found


def discover(sql_dir: Path | None = None) -> list[Migration]:
    sql_dir = sql_dir or get_settings().sql_dir
    if not sql_dir.is_dir():
        raise MigrationError(f"migration folder {sql_dir} does not exist")
    found: dict[str, Migration] = {}
    for path in sorted(sql_dir.glob("*.sql")):
        match = _FILE_RE.match(path.name)
        if not match:
            raise MigrationError(f"{path}: migration files must be named NNN_lower_snake.sql")
        version = match.group(1)
        if version in found:
            raise MigrationError(f"{path}: version {version} is used twice (also {found[version].path.name})")
        found[version] = Migration(version, path)
    return list(found.values())


def checksum_of(sql_dir: Path | None = None) -> str:
    """One hash over every migration file: names a schema version (test templates use it)."""
    digest = hashlib.sha256()
    for migration in discover(sql_dir):
        digest.update(migration.path.name.encode())
        digest.update(migration.sha256.encode())
    for repeatable in discover_repeatables(sql_dir):
        digest.update(f"functions/{repeatable.name}".encode())
        digest.update(repeatable.sha256.encode())
    return digest.hexdigest()


def upgrade(url: str, sql_dir: Path | None = None, *, premake: bool = True) -> list[str]:
    """Apply pending migrations; return the file names applied (empty when up to date).

    Repeatable files applied are listed as ``functions/<relative path>``.
    """
    migrations = discover(sql_dir)
    repeatables = discover_repeatables(sql_dir)
    applied_now: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        check_server_version(conn)
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            with conn.transaction():
                conn.execute(_BOOTSTRAP)
            applied = {
                version: (filename, sha)
                for version, filename, sha in conn.execute(
                    "SELECT version, filename, sha256 FROM wfm.schema_migrations"
                )
            }
            for migration in migrations:
                if migration.version in applied:
                    filename, sha = applied[migration.version]
                    if sha != migration.sha256:
                        raise MigrationError(
                            f"{migration.path.name} was applied as {filename} with checksum {sha[:12]}… "
                            f"but the file now has {migration.sha256[:12]}…: applied migrations must not "
                            "change; put the fix in a new file"
                        )
                    continue
                _apply(conn, migration)
                applied_now.append(migration.path.name)
            applied_now += _apply_repeatables(conn, repeatables)
            if premake:
                with conn.transaction():
                    conn.execute("SELECT wfm.premake_partitions()")
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied_now


def _apply(conn: psycopg.Connection, migration: Migration) -> None:
    text = migration.path.read_text()
    try:
        with conn.transaction():
            started = conn.execute("SELECT clock_timestamp()").fetchone()[0]
            conn.execute(text)
            conn.execute(
                """INSERT INTO wfm.schema_migrations (version, filename, sha256, duration_ms)
                   VALUES (%s, %s, %s, extract(epoch FROM clock_timestamp() - %s) * 1000)""",
                (migration.version, migration.path.name, migration.sha256, started),
            )
    except psycopg.Error as exc:
        raise MigrationError(f"{migration.path.name} failed: {exc}") from exc


def _apply_repeatables(conn: psycopg.Connection, repeatables: list[Repeatable]) -> list[str]:
    """Apply the new or changed repeatable files in one transaction; return their names."""
    recorded = dict(conn.execute("SELECT path, sha256 FROM wfm.schema_repeatables").fetchall())
    pending = [r for r in repeatables if recorded.get(r.name) != r.sha256]
    if not pending:
        return []
    with conn.transaction():
        # Bodies are checked when called, not when created: files need no dependency order.
        conn.execute("SET LOCAL check_function_bodies = off")
        for repeatable in pending:
            try:
                with conn.transaction():
                    conn.execute(repeatable.path.read_text())
            except psycopg.Error as exc:
                raise MigrationError(f"sql/functions/{repeatable.name} failed: {exc}") from exc
            conn.execute(
                """INSERT INTO wfm.schema_repeatables (path, sha256) VALUES (%s, %s)
                   ON CONFLICT (path) DO UPDATE SET sha256 = EXCLUDED.sha256, applied_at = now()""",
                (repeatable.name, repeatable.sha256),
            )
    return [f"functions/{r.name}" for r in pending]


def status(url: str, sql_dir: Path | None = None) -> list[tuple[str, str]]:
    """(file name, 'applied' | 'pending' | 'changed') for every migration and repeatable file."""
    with psycopg.connect(url) as conn:
        exists = conn.execute("SELECT to_regclass('wfm.schema_migrations')").fetchone()[0]
        applied: set[str] = set()
        repeatables: dict[str, str] = {}
        if exists:
            applied = {v for (v,) in conn.execute("SELECT version FROM wfm.schema_migrations")}
            if conn.execute("SELECT to_regclass('wfm.schema_repeatables')").fetchone()[0]:
                repeatables = dict(conn.execute("SELECT path, sha256 FROM wfm.schema_repeatables").fetchall())
    rows = [(m.path.name, "applied" if m.version in applied else "pending") for m in discover(sql_dir)]
    for r in discover_repeatables(sql_dir):
        recorded = repeatables.get(r.name)
        state = "pending" if recorded is None else ("applied" if recorded == r.sha256 else "changed")
        rows.append((f"functions/{r.name}", state))
    return rows


class PendingMigrations(MigrationError):
    """The database lags behind this copy's SQL files: `wfm db upgrade` must run first."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        noun = "migration" if len(names) == 1 else "migrations"
        super().__init__(f"{len(names)} {noun} pending: run `wfm db upgrade` ({shown})")


def pending(url: str, sql_dir: Path | None = None) -> list[str]:
    """The files `upgrade` would apply (or refuse: a changed numbered file), by one query.

    Numbered files are named as in ``wfm.schema_migrations``, repeatable ones as
    ``functions/<relative path>``; an unmigrated database has every file pending.
    """
    numbered = discover(sql_dir)
    repeatables = discover_repeatables(sql_dir)
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            recorded = {(kind, key): sha for kind, key, sha in conn.execute(
                "SELECT 'n', version, sha256 FROM wfm.schema_migrations "
                "UNION ALL SELECT 'r', path, sha256 FROM wfm.schema_repeatables")}
        except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
            recorded = {}
    names = [m.path.name if recorded.get(("n", m.version)) is None else f"{m.path.name} (changed since applied)"
             for m in numbered if recorded.get(("n", m.version)) != m.sha256]
    names += [f"functions/{r.name}" for r in repeatables if recorded.get(("r", r.name)) != r.sha256]
    return names


def prepare(url: str, *, migrate: bool, sql_dir: Path | None = None) -> None:
    """Make sure ``url`` has this copy's schema before a command works on it.

    Nothing pending: one query and done. Pending with ``migrate`` (the embedded default's first
    use): `upgrade`. Pending without it (a shared server, WFM_DATABASE_URL): PendingMigrations,
    since migrating a shared database is an operator's decision (`wfm db upgrade`).
    """
    names = pending(url, sql_dir)
    if not names:
        return
    if not migrate:
        raise PendingMigrations(names)
    upgrade(url, sql_dir)
