"""Process-wide psycopg connection pools, one per database URL."""

from __future__ import annotations

import atexit
import threading

from psycopg_pool import ConnectionPool

_pools: dict[str, ConnectionPool] = {}
_lock = threading.Lock()


def _configure(conn) -> None:
    conn.execute("SET search_path = wfm, public")
    conn.commit()


def get_pool(url: str, *, max_size: int = 10) -> ConnectionPool:
    """The shared pool for ``url`` (opened on first use, closed at interpreter exit)."""
    with _lock:
        pool = _pools.get(url)
        if pool is None or pool.closed:
            pool = ConnectionPool(
                url, min_size=1, max_size=max_size, configure=_configure,
                max_idle=300, open=True, name="wfm",
            )
            _pools[url] = pool
        return pool


def close_all() -> None:
    with _lock:
        for pool in _pools.values():
            pool.close()
        _pools.clear()


atexit.register(close_all)
