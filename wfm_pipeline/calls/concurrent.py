"""Files of DIFFERENT services loaded on two (or more) connections at once, each service's files
one after the other in the given order: ``ConcurrentRun``.

Why: importing a file costs about as much Python (read, parse, validate, COPY stream) as
database work (COPY, derivation, audit), and ``files.Prefetcher`` overlaps only the next file's
reading and validation with the current load - the load itself stays serial on one connection.
Two workers, each running whole files (``files.run_record_file``) on a connection of its own,
keep both cores busy: while one waits for its load, the other parses and validates.

**Each worker is a process of its own** (``_LoadingProcess``), not a thread: two threads share
one GIL, and a file's Python holds it in long C calls (splitting a 62,000-row CSV is one ~90 ms
call), so the other thread could not even take its server's answer meanwhile - both loads then
ran at the pace of the GIL. Measured on the 50-file call-record benchmark (2 cores): threads
68.7-71.6 s, processes 53.6-56.8 s (docs/benchmarks.md, session 8). The processes are forked
when the caller runs a single thread (the ``wfm`` CLI, the benchmarks): ready at once, with the
modules loaded. Otherwise they are spawned (forking a process with threads can deadlock on a lock
another thread held), and a fresh interpreter takes 1-3 s to import pandas; a script that does
this must run its top level under ``if __name__ == "__main__":``.

What stays exactly as one file after the other:

* every file is ``run_record_file``: its own audited batch, transaction and verdict;
* a file starts only when no earlier file of its service (same service code) is under way or
  waiting: per service, files are validated against what the earlier files stored, applied in
  the given order ("latest batch wins" as one by one), and a repeated file is a duplicate;
* the results come back in the given order (``run``).

Files of different services share no rows: agent_state_transitions and agent_activity rows are
keyed by service, and so are the apply locks (``wfm.lock_services_for_apply``). What they share
cannot deadlock: table locks are ROW EXCLUSIVE (no conflict among loads); a new agent code sent by
two services at once is inserted in sorted order with ``ON CONFLICT DO NOTHING`` (the second waits
for the first's commit); referenced services and agents are locked FOR KEY SHARE (shared); and
partition creation waits at most ``lock_timeout`` for a load and is retried (``LoadPolicy``).

``wfm import --kind calls|agent-states`` uses it (through ``calls.loader.call_runner`` and
``agent_loader.agent_runner``) for files of several services (``--service-from-folder``), on
``LOAD_CONNECTIONS`` connections unless ``--connections`` says otherwise, and so do the
benchmarks (test_calls_concurrent, test_agent_concurrent, test_calls_cli).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import multiprocessing
import os
import pickle
import threading
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any

import psycopg

from wfm_pipeline.argus import steps
from wfm_pipeline.argus.loader import ImportFailedError, Progress, describe_failure
from wfm_pipeline.argus.runner import usable_connection
from wfm_pipeline.calls.files import Prefetcher, RecordFileKind, record_failure, run_record_file

# Loading connections for files of several services (``wfm import --connections``, the
# benchmarks' default): two keep both cores of a 2-core machine busy, where one loading
# connection is the serial path (docs/benchmarks.md, session 8); more help only with more cores.
LOAD_CONNECTIONS = 2
MAX_LOAD_CONNECTIONS = 8
_STOP_TIMEOUT_S = 60.0  # a loading process asked to stop finishes its file first
_CALLER_CHECK_S = 1.0   # how often an idle loading process checks that its caller still runs


class ConcurrentRun:
    """``run_record_file`` for a known sequence of files on ``workers`` loading processes, each
    with a connection of its own (``conninfo``), files of different services at the same time
    (module doc).

    ``run(conn, path, service_code)`` returns the next file's ``FileRun`` (or raises what that
    file raised), in the given order; a file loaded by a worker comes back without its
    ``validation`` (its DataFrames stay in the worker) and without the bytes read. ``conn`` is
    used for a file out of sequence, and for the files no worker can take because no worker
    could connect or its process ended (then they run on it one by one, still in order): the
    run never fails for want of a second connection. The options of ``run_record_file``
    (strict, validate_only, source, policy, encoding, analyze) are given once, here.
    ``close()`` waits for the files under way and ends the workers; files not started by then
    are not imported."""

    def __init__(self, kind: RecordFileKind, files: Sequence[tuple[str | Path, str | None]], conninfo: str, *,
                 workers: int = 2, start_method: str | None = None, **options: Any) -> None:
        self.kind = kind
        self.files = [(Path(path), service) for path, service in files]
        self.options = options
        # a file's outcome; None: no worker could take it, the caller runs it (``run``)
        self._done: list[concurrent.futures.Future[steps.FileRun | None]] = [
            concurrent.futures.Future() for _ in self.files]
        self._waiting = list(range(len(self.files)))   # not started, in the given order
        self._busy: set[str | None] = set()              # services with a file under way
        self._stop = False
        self._cond = threading.Condition()
        self._position = 0
        count = max(1, min(workers, len(self.files)))
        method = start_method or _start_method()   # decided before any process or thread of ours exists
        self._processes = [_LoadingProcess(kind, conninfo, options, n, method) for n in range(count)]
        self._threads = [threading.Thread(target=self._work, args=(process,), name=f"wfm-load-{n}", daemon=True)
                         for n, process in enumerate(self._processes)]
        self._alive = len(self._threads)
        for t in self._threads:
            t.start()

    def __enter__(self) -> ConcurrentRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        for t in self._threads:
            t.join()
        for process in self._processes:
            process.close()
        for future in self._done:   # never started: a caller still asking gets an answer
            if not future.done():
                future.set_exception(RuntimeError("the concurrent import was closed before this file started"))

    def _next(self) -> int | None:
        """The first file not started whose service has no file under way (scanned in order:
        of a service's waiting files, the earliest is found first), or None when done."""
        with self._cond:
            while True:
                if self._stop or not self._waiting:
                    return None
                for i in self._waiting:
                    if self.files[i][1] not in self._busy:
                        self._waiting.remove(i)
                        self._busy.add(self.files[i][1])
                        return i
                self._cond.wait()

    def _work(self, process: _LoadingProcess) -> None:
        """One worker thread: hands files to its loading process and waits (without the GIL)."""
        try:
            while (index := self._next()) is not None:
                path, service = self.files[index]
                handed_back = False
                try:
                    run = process.run(path, service)
                    if run is None:   # no connection, or no process: the caller runs it (run)
                        handed_back = True
                        self._done[index].set_result(None)
                        return
                    self._done[index].set_result(run)
                except BaseException as exc:  # noqa: BLE001 - this file's outcome, raised by run()
                    self._done[index].set_exception(exc)
                finally:
                    with self._cond:
                        if not handed_back:   # a handed-back file keeps its service busy until run
                            self._busy.discard(service)
                        self._cond.notify_all()
        finally:
            with self._cond:
                self._alive -= 1
                self._cond.notify_all()

    def run(self, conn: psycopg.Connection, path: str | Path, service_code: str | None, **_: Any) -> steps.FileRun:
        """The outcome of the next file of the sequence (options are the constructor's)."""
        path = Path(path)
        index = self._position
        if index >= len(self.files) or self.files[index] != (path, service_code):
            return run_record_file(conn, path, service_code, self.kind, **self.options)
        self._position += 1
        future = self._done[index]
        with self._cond:
            while not future.done():
                if self._alive == 0 and index in self._waiting and service_code not in self._busy:
                    self._waiting.remove(index)   # no worker left to start it: here, in order
                    self._busy.add(service_code)
                    break
                self._cond.wait()
        if future.done():
            try:
                run = future.result()   # raises what the file raised
            except LoadingProcessEnded as exc:
                raise self._failed(conn, path, service_code, exc) from exc
            if run is not None:
                return run
        try:
            return run_record_file(conn, path, service_code, self.kind, **self.options)
        finally:
            with self._cond:
                self._busy.discard(service_code)
                self._cond.notify_all()

    def _failed(self, conn: psycopg.Connection, path: Path, service_code: str | None,
                exc: LoadingProcessEnded) -> ImportFailedError:
        """A file whose loading process ended under it (killed, out of memory): its failed batch,
        of this run's kind, recorded here as ``files.finish`` records one (the process's own
        ``running`` batch, if it got that far, is swept as interrupted)."""
        insp = steps.inspect(conn, path, service_code, None, keep=False)
        return record_failure(conn, insp, exc, self.kind, self.options.get("source", "file"))


def concurrent_files(files: Sequence[tuple[str | Path, str | None]], connections: int,
                     conninfo: str | None) -> bool:
    """Whether ``files`` load through a ``ConcurrentRun``: two or more connections and services
    (one service's files go one after the other anyway). Its processes connect by ``conninfo``."""
    if connections < 2 or len({service for _, service in files}) < 2:
        return False
    if conninfo is None:
        raise ValueError("loading files of several services at once needs the conninfo its processes connect with")
    return True


# ---------------------------------------------------------------- a loading process
class LoadingProcessEnded(RuntimeError):
    """The loading process ended (killed, out of memory) while it imported a file."""


def _start_method() -> str:
    """``fork`` when this process runs a single thread (nothing held that a child could wait
    for; the child starts at once, modules loaded), else ``spawn`` (a fresh interpreter)."""
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return "fork"
    return "spawn"


class _LoadingProcess:
    """A child process that imports the files it is sent, one at a time, on a connection of its
    own. Forked, it never uses what it inherited (the caller's connections): it opens its own
    and leaves by ``os._exit`` (multiprocessing's), so no inherited object is finalized there."""

    def __init__(self, kind: RecordFileKind, conninfo: str, options: dict[str, Any], number: int,
                 method: str) -> None:
        context = multiprocessing.get_context(method)
        self._pipe, child_end = context.Pipe()
        self._process = context.Process(target=_serve, args=(child_end, kind, conninfo, options, os.getpid()),
                                        name=f"wfm-load-{number}", daemon=True)
        self._process.start()
        child_end.close()
        self._gone = False

    def run(self, path: Path, service: str | None) -> steps.FileRun | None:
        """The file's ``FileRun`` (or raises what the file raised); None when the process has
        no connection or has ended before taking the file."""
        if self._gone or not self._process.is_alive():
            self._gone = True
            return None
        try:
            self._pipe.send((path, service))
        except OSError:   # the process has ended: the file was never sent
            self._gone = True
            return None
        try:
            outcome, value = self._pipe.recv()
        except (EOFError, OSError):
            self._gone = True
            self._process.join(timeout=5)
            raise LoadingProcessEnded(f"the loading process ended while importing {path.name} (exit code "
                                      f"{self._process.exitcode}; its own error, if any, is on stderr; a script "
                                      "that loads files of several services at once must run its top level under "
                                      "`if __name__ == '__main__':`)") from None
        if outcome == "no connection":
            self._gone = True
            return None
        if outcome == "raised":
            raise value
        return value

    def close(self) -> None:
        if not self._gone:
            try:
                self._pipe.send(None)
            except OSError:
                pass
        self._process.join(timeout=_STOP_TIMEOUT_S)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=5)
        self._pipe.close()


def _serve(pipe: Pipe, kind: RecordFileKind, conninfo: str, options: dict[str, Any], caller: int) -> None:
    """The loading process: import each (path, service) received until None; answer each with
    ("done", FileRun), ("raised", exception) or ("no connection", None). It ends, closing its
    connection, when its caller (process ``caller``) has ended without saying so (killed: no
    ``close()``). The pipe cannot tell: a forked process holds the caller's end of its own pipe
    (and of the processes forked before it), so the caller's death is no end-of-file here."""
    conn: psycopg.Connection | None = None
    try:
        while True:
            while not pipe.poll(_CALLER_CHECK_S):
                if os.getppid() != caller:   # re-parented: the caller is gone
                    return
            if (job := pipe.recv()) is None:
                break
            path, service = job
            try:
                conn = usable_connection(conn, lambda: psycopg.connect(conninfo))
            except Exception:  # noqa: BLE001 - no connection: the caller runs the file (ConcurrentRun.run)
                pipe.send(("no connection", None))
                return
            try:
                run = run_record_file(conn, path, service, kind, **options)
            except BaseException as exc:  # noqa: BLE001 - this file's outcome, raised in the caller
                pipe.send(("raised", _portable(exc)))
            else:
                pipe.send(("done", _light(run)))
    except (EOFError, KeyboardInterrupt):   # the caller went away, or was interrupted
        pass
    finally:
        if conn is not None:
            conn.close()


def _light(run: steps.FileRun) -> steps.FileRun:
    """What goes back to the caller: everything but the validation's DataFrames and the bytes."""
    return dataclasses.replace(run, validation=None, inspection=dataclasses.replace(run.inspection, content=None))


def _portable(exc: BaseException) -> BaseException:
    """The exception itself when it survives pickling, else a RuntimeError saying what it was."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - any pickling problem: send its text instead
        return RuntimeError(describe_failure(exc) if isinstance(exc, Exception) else repr(exc))


# ---------------------------------------------------------------- the next file prepared while the server works
class LoadFirstPrefetcher(Prefetcher):
    """``files.Prefetcher`` whose worker starts preparing the next file only once the current
    file's load has begun its COPY (or, should the load never get there - a rejected or
    duplicate file, validate-only -, once the file is done).

    Why: the worker's preparing is Python (read, parse, validate, COPY stream: ~40 ms for a
    daily agent-state file) and holds the GIL for most of it, often in C calls of several
    milliseconds. Started together with the load, it took the GIL from the load's own Python
    between its many short statements (batch row, partition plan, duplicate check, locks: a
    dozen round trips, and pandas between them), which then ran at the pace of the worker's
    switch interval: the load of a daily file took ~25 % longer than without a worker. From
    its COPY on, the load is two statements the server works on for ~50 ms (COPY, then
    ``apply_agent_states_batch``) and the loading thread waits without the GIL: the worker's
    ~40 ms of Python fit in there, on the other core.

    Everything else is the ``Prefetcher``'s: what is prepared ahead (the read-only half,
    ``files.prepare``, on the worker's connection), and every write on the caller's connection,
    file by file, each its own audited batch and transaction."""

    def __init__(self, kind: RecordFileKind, files: Sequence[tuple[str | Path, str | None]],
                 connect: Callable[[], psycopg.Connection], **options: Any) -> None:
        super().__init__(kind, files, connect, **options)
        self._gate = threading.Event()
        self._gate.set()
        self._pool = _GatedPool(self._pool, self)   # type: ignore[assignment]

    def run(self, conn: psycopg.Connection, path: str | Path, service_code: str | None, *,
            progress: Progress | None = None, **options: Any) -> steps.FileRun:
        gate = self._gate = threading.Event()   # what ``Prefetcher.run`` submits now waits for it

        def opening(stage: str, done: int, total: int) -> None:
            if stage == "copy" and not gate.is_set():
                gate.set()
            if progress is not None:
                progress(stage, done, total)

        try:
            return super().run(conn, path, service_code, progress=opening, **options)
        finally:
            gate.set()


class _GatedPool:
    """The worker pool of a ``LoadFirstPrefetcher``: a task waits for the gate of the run that
    submitted it (bound at submission: a later run's gate never holds back an earlier task)."""

    def __init__(self, pool: concurrent.futures.ThreadPoolExecutor, owner: LoadFirstPrefetcher) -> None:
        self._pool = pool
        self._owner = owner

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        gate = self._owner._gate

        def gated() -> Any:
            gate.wait()
            return fn(*args, **kwargs)

        return self._pool.submit(gated)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)
