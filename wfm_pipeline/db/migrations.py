"""SQL migrations: versioned ``sql/NNN_name.sql`` files, then repeatable ``sql/functions/``.

Versioned files (tables, types, roles, grants, triggers, data steps) run in order, each once, in
its own transaction under a cluster-wide advisory lock, and are recorded in
``wfm.schema_migrations`` with their sha256. A recorded file whose content has since changed is
an error: they are immutable once applied; a fix is a new file. The one exception is
``sql/legacy_checksums.txt``: the checksums the files had before release 0.2 rewrote them
without their function bodies (the same migrations, rewritten); a database that applied them
before the rewrite records those checksums, and they are accepted for exactly those files.

Repeatable files (``sql/functions/**/*.sql``, as Flyway's ``R__`` files) hold the current
definition of one function or view each (``CREATE OR REPLACE``, its COMMENT and grants): the one
place its body lives. After the versioned files, every repeatable file that is new or whose
checksum changed is applied, all in one transaction with ``check_function_bodies = off`` (so the
order of functions does not matter), and recorded in ``wfm.schema_repeatables``.

Dependencies are explicit, as in Sqitch: a ``-- requires: functions/<area>/<name>.sql`` line in
a file's leading comment block names a repeatable file that must be in place first: for a
versioned file, what its CREATE TRIGGER, column default, materialized view or data step uses;
for a repeatable file, what creating it needs (a view read by a view) or what it calls when a
versioned file runs it (so that file names only the function it calls). A versioned file's
requirements, and theirs in turn, are applied (their current text, unless already applied at
that checksum) in the same transaction just before it; repeatable files are applied after what
they require.
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


_REQUIRES_RE = re.compile(r"^--\s*requires:(.*)$", re.IGNORECASE)


def _requires(path: Path) -> tuple[str, ...]:
    """Repeatable files (relative to sql/functions) named by ``-- requires:`` header lines.

    Only the leading comment block counts (a header, not a line inside a body). Paths are
    written relative to sql/, ``functions/<area>/<name>.sql``; several may share a line.
    """
    names: list[str] = []
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            break
        match = _REQUIRES_RE.match(stripped)
        if not match:
            continue
        for item in re.split(r"[,\s]+", match.group(1).strip()):
            if not item:
                continue
            if not item.startswith("functions/"):
                raise MigrationError(f"{path}: requires {item!r}: name a file as functions/<area>/<name>.sql")
            names.append(item.removeprefix("functions/"))
    return tuple(names)


@dataclass(frozen=True)
class Migration:
    version: str
    path: Path

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    @property
    def requires(self) -> tuple[str, ...]:
        return _requires(self.path)


@dataclass(frozen=True)
class Repeatable:
    """A file under sql/functions/: re-applied whenever its content changes."""

    name: str  # path relative to sql/functions, with forward slashes
    path: Path

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    @property
    def requires(self) -> tuple[str, ...]:
        return _requires(self.path)


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


LEGACY_CHECKSUMS_FILE = "legacy_checksums.txt"
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


def legacy_checksums(sql_dir: Path | None = None) -> dict[str, frozenset[str]]:
    """``sql/legacy_checksums.txt``: file name -> the earlier checksums accepted for it.

    Each line is ``NNN_name.sql <sha256>`` (``#`` starts a comment). A listed checksum is the
    same migration before a rewrite that changed no table, type, role, grant or trigger it
    creates (release 0.2 moved the function bodies out to sql/functions/): a database that
    recorded it is up to date with the rewritten file. No other checksum is ever accepted.
    """
    sql_dir = sql_dir or get_settings().sql_dir
    path = sql_dir / LEGACY_CHECKSUMS_FILE
    if not path.exists():
        return {}
    names = {m.path.name for m in discover(sql_dir)}
    accepted: dict[str, set[str]] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        parts = text.split()
        if len(parts) != 2 or not _FILE_RE.match(parts[0]) or not _SHA_RE.match(parts[1]):
            raise MigrationError(f"{path}:{number}: expected 'NNN_name.sql <sha256>', got {line.strip()!r}")
        if parts[0] not in names:
            raise MigrationError(f"{path}:{number}: {parts[0]} is not a migration file of {sql_dir}")
        accepted.setdefault(parts[0], set()).add(parts[1])
    return {name: frozenset(shas) for name, shas in accepted.items()}


def _in_dependency_order(names: list[str], index: dict[str, Repeatable], wanted_by: str) -> list[Repeatable]:
    """The repeatable files named, each after the files it requires (transitively); no repeats."""
    ordered: list[Repeatable] = []
    done: set[str] = set()

    def visit(name: str, chain: tuple[str, ...], by: str) -> None:
        if name in done:
            return
        if name in chain:
            cycle = " -> ".join(f"functions/{n}" for n in (*chain[chain.index(name):], name))
            raise MigrationError(f"requires form a cycle: {cycle}")
        repeatable = index.get(name)
        if repeatable is None:
            raise MigrationError(f"{by} requires functions/{name}, which does not exist")
        for required in repeatable.requires:
            visit(required, (*chain, name), f"sql/functions/{name}")
        done.add(name)
        ordered.append(repeatable)

    for name in names:
        visit(name, (), wanted_by)
    return ordered


def upgrade(url: str, sql_dir: Path | None = None, *, premake: bool = True) -> list[str]:
    """Apply pending migrations; return the file names applied (empty when up to date).

    Repeatable files applied are listed as ``functions/<relative path>``, in the order applied
    (those a versioned file requires just before it).
    """
    migrations = discover(sql_dir)
    repeatables = discover_repeatables(sql_dir)
    index = {r.name: r for r in repeatables}
    legacy = legacy_checksums(sql_dir)
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
            # What each repeatable file was last applied as; kept current as files are applied.
            recorded: dict[str, str] = dict(conn.execute("SELECT path, sha256 FROM wfm.schema_repeatables").fetchall())
            for migration in migrations:
                if migration.version in applied:
                    _check_unchanged(migration, *applied[migration.version], legacy)
                    continue
                required = [r for r in _in_dependency_order(list(migration.requires), index, migration.path.name)
                            if recorded.get(r.name) != r.sha256]
                _apply(conn, migration, required)
                recorded.update((r.name, r.sha256) for r in required)
                applied_now += [f"functions/{r.name}" for r in required] + [migration.path.name]
            pending = [r for r in _in_dependency_order([r.name for r in repeatables], index, "sql/functions")
                       if recorded.get(r.name) != r.sha256]
            applied_now += _apply_repeatables(conn, pending)
            if premake:
                with conn.transaction():
                    conn.execute("SELECT wfm.premake_partitions()")
            enable_query_statistics(conn)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied_now


def enable_query_statistics(conn: psycopg.Connection) -> bool:
    """Create pg_stat_statements where the server preloads it and this role may (the embedded
    server does both); otherwise leave it to the DBA: ``analyze_query_performance()`` says how.
    Returns whether the extension is installed afterwards.
    """
    state = conn.execute(
        """SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_stat_statements'),
                  'pg_stat_statements' = ANY (pg_catalog.string_to_array(
                      pg_catalog.replace(pg_catalog.current_setting('shared_preload_libraries'), ' ', ''), ',')),
                  EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'pg_stat_statements')
                  AND (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)""").fetchone()
    installed, preloaded, creatable = state
    if installed or not (preloaded and creatable):
        return installed
    with conn.transaction():
        # Its own schema, not public: the product creates nothing in public.
        conn.execute("CREATE SCHEMA IF NOT EXISTS extensions")
        conn.execute("COMMENT ON SCHEMA extensions IS 'Extensions the WFM migration runner installs (pg_stat_statements).'")
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements SCHEMA extensions")
    return True


def _check_unchanged(migration: Migration, filename: str, sha: str, legacy: dict[str, frozenset[str]]) -> None:
    if sha == migration.sha256 or sha in legacy.get(migration.path.name, ()):
        return
    raise MigrationError(
        f"{migration.path.name} was applied as {filename} with checksum {sha[:12]}… "
        f"but the file now has {migration.sha256[:12]}…: applied migrations must not "
        "change; put the fix in a new file"
    )


def _apply(conn: psycopg.Connection, migration: Migration, required: list[Repeatable]) -> None:
    """One transaction: the repeatable files the migration requires, then the migration."""
    text = migration.path.read_text()
    try:
        with conn.transaction():
            started = conn.execute("SELECT clock_timestamp()").fetchone()[0]
            if required:
                body_check = conn.execute("SELECT current_setting('check_function_bodies')").fetchone()[0]
                conn.execute("SET LOCAL check_function_bodies = off")
                for repeatable in required:
                    _apply_one(conn, repeatable)
                conn.execute("SELECT set_config('check_function_bodies', %s, true)", (body_check,))
            conn.execute(text)
            conn.execute(
                """INSERT INTO wfm.schema_migrations (version, filename, sha256, duration_ms)
                   VALUES (%s, %s, %s, extract(epoch FROM clock_timestamp() - %s) * 1000)""",
                (migration.version, migration.path.name, migration.sha256, started),
            )
    except MigrationError as exc:
        raise MigrationError(f"{migration.path.name} failed: {exc}") from exc
    except psycopg.Error as exc:
        raise MigrationError(f"{migration.path.name} failed: {exc}") from exc


def _apply_one(conn: psycopg.Connection, repeatable: Repeatable) -> None:
    """Apply one repeatable file and record its checksum (inside the caller's transaction)."""
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


def _apply_repeatables(conn: psycopg.Connection, pending: list[Repeatable]) -> list[str]:
    """Apply the new or changed repeatable files in one transaction; return their names."""
    if not pending:
        return []
    with conn.transaction():
        # Bodies are checked when called, not when created: functions need no dependency
        # order (views do: their requires put them after what they read).
        conn.execute("SET LOCAL check_function_bodies = off")
        for repeatable in pending:
            _apply_one(conn, repeatable)
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
