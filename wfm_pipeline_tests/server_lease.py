"""Who stops the test suite's embedded PostgreSQL (``$WFM_TEST_HOME/pg``), and when.

The server is started on demand by the first test that needs it and is shared: by the
pytest-xdist workers of one run, and by parallel runs from other checkouts pointed at the same
``WFM_TEST_HOME``. A pytest session (the controller, not each worker) takes a *lease*: a file
``.sessions/<pid>`` under the test home. When the suite finds the server stopped at the start of a
session, it marks it as its own (``.sessions/started-by-tests``). At the end of a session the
lease is returned, and the last session still holding one stops a server the suite started.
A server that was already running when no session had marked it (started by `wfm db url`, by
hand, ...) is never stopped. Sessions that died without returning their lease are recognised
by their pid and ignored.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from wfm_pipeline.db import embedded

STARTED_BY_TESTS = "started-by-tests"


class ServerLease:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.pgdata = home / "pg"
        self.sessions = home / ".sessions"
        self.mine = self.sessions / str(os.getpid())

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.sessions.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # Windows: no lock; sessions rarely overlap there
            yield
            return
        with open(self.sessions / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def take(self) -> None:
        with self._locked():
            if not embedded.is_running(self.pgdata):
                (self.sessions / STARTED_BY_TESTS).touch()
            self.mine.touch()

    def give_back(self) -> bool:
        """Return the lease; stop the server if the suite started it and nobody else uses it.
        Returns whether it was stopped."""
        with self._locked():
            self.mine.unlink(missing_ok=True)
            marker = self.sessions / STARTED_BY_TESTS
            if self._others() or not marker.exists():
                return False
            marker.unlink()
            return embedded.stop(self.pgdata)

    def _others(self) -> list[int]:
        """Pids of other live sessions holding a lease (stale leases are removed)."""
        alive = []
        for entry in self.sessions.iterdir():
            if not entry.name.isdigit() or entry == self.mine:
                continue
            pid = int(entry.name)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                entry.unlink(missing_ok=True)
                continue
            except PermissionError:  # alive, another user's
                pass
            alive.append(pid)
        return alive
