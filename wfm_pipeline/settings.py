"""Environment configuration, read once per process.

| variable          | meaning                                 | default                    |
|-------------------|-----------------------------------------|----------------------------|
| WFM_DATABASE_URL  | PostgreSQL URL of the WFM database      | embedded server            |
| WFM_HOME          | working folder (embedded pg, landing)   | ./.wfm                     |
| WFM_LANDING_DIR   | folder the landing sensor watches       | $WFM_HOME/landing          |
| DAGSTER_HOME      | Dagster instance folder                 | $WFM_HOME/dagster          |
| WFM_IMPORT_LOCK_TIMEOUT_MS | lock wait of an import's partition step and table locks | 5000 |
| WFM_IMPORT_RETRIES | retries of an import step after a lock timeout, deadlock or serialization failure | 3 |
| WFM_IMPORT_RETRY_BACKOFF_MS | first retry delay (ms), doubled per retry | 500 |
| WFM_MAX_FILE_MB   | largest Argus file the reader accepts   | 100 (MB on disk)           |
| WFM_CSV_ENCODING  | encoding of CSV files (e.g. cp1251)     | detected (UTF-8/cp1251/cp1252) |
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    home: Path
    landing_dir: Path
    dagster_home: Path
    sql_dir: Path
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


def _path(value: str) -> Path:
    return Path(value).expanduser().resolve()


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    home = _path(env.get("WFM_HOME") or ".wfm")
    return Settings(
        database_url=env.get("WFM_DATABASE_URL") or None,
        home=home,
        landing_dir=_path(env.get("WFM_LANDING_DIR") or str(home / "landing")),
        dagster_home=_path(env.get("DAGSTER_HOME") or str(home / "dagster")),
        sql_dir=_path(env.get("WFM_SQL_DIR") or str(REPO_ROOT / "sql")),
        import_lock_timeout_ms=_bounded_int(env, "WFM_IMPORT_LOCK_TIMEOUT_MS", 5000, 1, 3_600_000),
        import_retries=_bounded_int(env, "WFM_IMPORT_RETRIES", 3, 0, 100),
        import_retry_backoff_s=float(_bounded_int(env, "WFM_IMPORT_RETRY_BACKOFF_MS", 500, 0, 600_000)) / 1000,
        max_file_mb=_positive_float(env, "WFM_MAX_FILE_MB", 100.0),
        csv_encoding=env.get("WFM_CSV_ENCODING") or None,
    )


def _bounded_int(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
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


def _positive_float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if not value > 0:
        raise ValueError(f"{name}={raw!r} must be positive")
    return value


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings (environment read once)."""
    return load_settings()
