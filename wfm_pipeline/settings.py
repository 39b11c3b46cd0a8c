"""Configuration: one ``Settings`` object, built from the environment in one place.

``load_settings(env)`` parses a mapping (``os.environ`` by default) into a frozen ``Settings``;
``get_settings()`` builds it afresh on every call. That costs microseconds and means there is no
cache to clear: a test (or a long-running Dagster process) that changes the environment sees the
change at the next call, and a test may also construct ``Settings`` or call ``load_settings({...})``
directly. Every variable is documented in docs/operations.md ("Settings").

| variable                    | meaning                                              | default                      |
|-----------------------------|------------------------------------------------------|------------------------------|
| WFM_DATABASE_URL            | PostgreSQL URL of the WFM database                   | embedded server              |
| WFM_HOME                    | working folder (embedded pg, landing, archive)       | ./.wfm                       |
| WFM_LANDING_DIR             | folder the landing sensor watches                    | $WFM_HOME/landing            |
| DAGSTER_HOME                | Dagster instance folder                              | $WFM_HOME/dagster            |
| WFM_LANDING_SETTLE_SECONDS  | a landed file is read once unchanged this long       | 20                           |
| WFM_LANDING_STRICT          | 1/true/yes/on: the sensor's imports are strict       | off                          |
| WFM_IMPORT_LOCK_TIMEOUT_MS  | lock wait of an import's partition step and loads    | 5000                         |
| WFM_IMPORT_RETRIES          | retries of an import step after a lock timeout, ...  | 3                            |
| WFM_IMPORT_RETRY_BACKOFF_MS | first retry delay (ms), doubled per retry            | 500                          |
| WFM_MAX_FILE_MB             | largest Argus file the reader accepts                | 100 (MB on disk)             |
| WFM_CSV_ENCODING            | encoding of CSV files (e.g. cp1251)                  | detected                     |
| WFM_SQL_DIR                 | migrations folder (development override)            | the SQL shipped with the package |
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    home: Path
    landing_dir: Path
    dagster_home: Path
    sql_dir: Path
    landing_settle_seconds: float = 20.0
    landing_strict: bool = False
    import_lock_timeout_ms: int = 5000
    import_retries: int = 3
    import_retry_backoff_s: float = 0.5
    max_file_mb: float = 100.0
    csv_encoding: str | None = None

    @property
    def embedded(self) -> bool:
        """True when no WFM_DATABASE_URL is set and the embedded server is used."""
        return not self.database_url

    @property
    def pgdata(self) -> Path:
        return self.home / "pg"

    @property
    def archive_dir(self) -> Path:
        return self.home / "archive"

    @property
    def rejected_dir(self) -> Path:
        return self.home / "rejected"


@functools.cache
def packaged_sql_dir() -> Path:
    """The ``sql/`` folder that belongs to this copy of the package (cached: it never moves).

    Installed from a wheel, it is the package data ``wfm_pipeline/_sql`` (pyproject.toml maps
    the repository's top-level ``sql/`` onto it). Imported from a source checkout (an editable
    install, or ``PYTHONPATH``), it is that checkout's ``sql/``: edits count at once, and a
    checkout never migrates with the SQL of another installed copy.
    """
    shipped = resources.files("wfm_pipeline") / "_sql"
    if shipped.is_dir():
        return Path(str(shipped))
    checkout = Path(__file__).resolve().parent.parent / "sql"
    if checkout.is_dir():
        return checkout
    raise RuntimeError(f"no SQL migrations found: neither {shipped} (wheel) nor {checkout} (source checkout) "
                       "exists; reinstall wfm-pipeline or set WFM_SQL_DIR")


def _path(value: str) -> Path:
    return Path(value).expanduser().resolve()


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Parse ``env`` (default ``os.environ``) into Settings; a bad value raises ValueError naming it."""
    env = os.environ if env is None else env
    home = _path(env.get("WFM_HOME") or ".wfm")
    sql_dir = env.get("WFM_SQL_DIR")
    return Settings(
        database_url=env.get("WFM_DATABASE_URL") or None,
        home=home,
        landing_dir=_path(env.get("WFM_LANDING_DIR") or str(home / "landing")),
        dagster_home=_path(env.get("DAGSTER_HOME") or str(home / "dagster")),
        sql_dir=_path(sql_dir) if sql_dir else packaged_sql_dir(),
        landing_settle_seconds=_non_negative_float(env, "WFM_LANDING_SETTLE_SECONDS", 20.0),
        landing_strict=_flag(env, "WFM_LANDING_STRICT"),
        import_lock_timeout_ms=_bounded_int(env, "WFM_IMPORT_LOCK_TIMEOUT_MS", 5000, 1, 3_600_000),
        import_retries=_bounded_int(env, "WFM_IMPORT_RETRIES", 3, 0, 100),
        import_retry_backoff_s=float(_bounded_int(env, "WFM_IMPORT_RETRY_BACKOFF_MS", 500, 0, 600_000)) / 1000,
        max_file_mb=_positive_float(env, "WFM_MAX_FILE_MB", 100.0),
        csv_encoding=env.get("WFM_CSV_ENCODING") or None,
    )


def get_settings() -> Settings:
    """The settings of the current environment, built now (no cache: see the module doc)."""
    return load_settings()


def _flag(env: Mapping[str, str], name: str) -> bool:
    text = (env.get(name) or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{name}={env[name]!r} is not a flag: use 1/true/yes/on or 0/false/no/off")


def _bounded_int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = env.get(name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError as exc:
        raise ValueError(f"{name}={text!r} is not a whole number") from exc
    if not low <= value <= high:
        raise ValueError(f"{name}={value} is outside {low}..{high}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if not value > 0:
        raise ValueError(f"{name}={env[name]!r} must be positive")
    return value


def _non_negative_float(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if not value >= 0:
        raise ValueError(f"{name}={env[name]!r} must be zero or more")
    return value
