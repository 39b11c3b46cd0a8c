"""Benchmark of the SQL write API: ``api_batch_insert_calls`` rows per second.

Each call sends one JSON array of ``rows_per_call`` rows (the guide's named fields, ISO 8601
times with offset) from the client and commits, so a measured call includes JSON transfer
and parsing, validation, import_batches/import_errors, partitions, the history insert and
the upsert (``wfm.apply_import_batch_range``). Calls first insert new intervals, then send the
same intervals again (updates: the other half of the write path's cost). Both request layouts
are measured, each from an empty (vacuumed) table: the array of objects, and the compact form
of the same rows (a header array of field names, then one array of values per row: about 4x
less JSON text, which is what the server's jsonb input costs).

The same run also COPYs the same rows (prebuilt COPY text, one transaction per call's rows)
into ``contact_statistics`` alone and into ``contact_statistics`` plus its history: what the
server needs just to store those rows with all their indexes, constraints and triggers, the
floor the API's rows/s is quoted against (``ratio to bare COPY``). The API does the second
one's work plus the jsonb parse of the request, the batch row and the checks.

Those phases run one after the other, and a shared machine's speed drifts within minutes, so
their ratio drifts too. The run ends with the compact inserts interleaved with bare COPYs of the
same rows into both tables (a twin service, ``APIBENCHCOPY``), one of each per pair: the median
of the pairs' ratios is the figure that holds from one run to the next.

The benchmark writes to its own services (``APIBENCH``, ``APIBENCHCOPY``) and removes everything it wrote
(statistics, history, batches) afterwards, so it can run against a database holding data,
such as the ``wfm bench queries`` data set.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import psycopg

BENCH_SERVICE = "APIBENCH"  # not BENCH%: that prefix marks the `wfm bench queries` data set
# The interleaved bare COPY writes the same rows to a twin service (same groups, same intervals),
# so the API call and the COPY of each pair both insert new intervals.
COPY_SERVICE = "APIBENCHCOPY"
GROUPS = 4
START = datetime(2025, 1, 6, tzinfo=timezone.utc)

Echo = Callable[[str], None]


@dataclass
class Phase:
    """Timings of one phase (insert or update): one entry per call, in seconds."""

    name: str
    rows_per_call: int
    clients: int
    call_seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)  # server backend CPU, when readable
    wall_seconds: float = 0.0

    @property
    def rows(self) -> int:
        return self.rows_per_call * len(self.call_seconds)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def best_call_rows_per_second(self) -> float:
        """rows / fastest call: the least disturbed by other load on a shared machine."""
        return self.rows_per_call / min(self.call_seconds) if self.call_seconds else 0.0

    @property
    def rows_per_cpu_second(self) -> float:
        """rows per second of server CPU: what one idle core would do, whatever else runs."""
        return self.rows_per_call * len(self.cpu_seconds) / sum(self.cpu_seconds) if sum(self.cpu_seconds) else 0.0

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.call_seconds) * 1000 if self.call_seconds else 0.0

    def __str__(self) -> str:
        return (f"{self.name}: {self.rows_per_second:,.0f} rows/s ({len(self.call_seconds)} calls x "
                f"{self.rows_per_call:,} rows, {self.clients} client(s), p50 {self.p50_ms:.0f} ms per call; "
                f"fastest call {self.best_call_rows_per_second:,.0f} rows/s"
                + (f"; {self.rows_per_cpu_second:,.0f} rows per server CPU-second" if self.cpu_seconds else "")
                + ")")


@dataclass
class Paired:
    """API calls and bare COPYs of the same rows, interleaved pair by pair (the order alternating),
    so the machine's drift between phases does not enter their ratio: per pair, the COPY's time
    over the API call's is the API's rows/s as a share of the COPY's; the median pair is quoted."""

    name: str
    rows_per_call: int
    api_seconds: list[float] = field(default_factory=list)
    copy_seconds: list[float] = field(default_factory=list)
    api_cpu: list[float] = field(default_factory=list)  # server backend CPU, when readable
    copy_cpu: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return statistics.median(c / a for a, c in zip(self.api_seconds, self.copy_seconds)) if self.api_seconds else 0.0

    @property
    def cpu_ratio(self) -> float | None:
        if not self.api_cpu or len(self.api_cpu) != len(self.copy_cpu):
            return None
        return statistics.median(c / a for a, c in zip(self.api_cpu, self.copy_cpu) if a > 0)

    def rows_per_second(self, seconds: list[float]) -> float:
        return self.rows_per_call / statistics.median(seconds) if seconds else 0.0

    def __str__(self) -> str:
        cpu = f"; server CPU {self.cpu_ratio:.0%}" if self.cpu_ratio is not None else ""
        return (f"{self.name}, {len(self.api_seconds)} pairs: API {self.rows_per_second(self.api_seconds):,.0f} rows/s, "
                f"bare COPY into both tables {self.rows_per_second(self.copy_seconds):,.0f} rows/s (median calls); "
                f"the API at {self.ratio:.0%} of the COPY (median of the pairs' ratios{cpu})")


@dataclass
class Result:
    phases: list[Phase]
    breakdown_ms: dict[str, float] = field(default_factory=dict)
    target_rows_per_second: int = 100_000
    copies: list[Phase] = field(default_factory=list)  # bare COPY of the same rows, same run
    paired: Paired | None = None  # the compact insert interleaved with the bare COPY

    @property
    def best_rows_per_second(self) -> float:
        return max((p.rows_per_second for p in self.phases), default=0.0)

    def ratios(self) -> list[str]:
        """Each API phase's rows/s as a share of each bare COPY's (wall clock, same run; and per
        second of server CPU when measured, which holds up on a shared machine)."""
        out = []
        for c in self.copies:
            for p in self.phases:
                if not c.rows_per_second:
                    continue
                cpu = (f" (server CPU {p.rows_per_cpu_second / c.rows_per_cpu_second:.0%})"
                       if p.rows_per_cpu_second and c.rows_per_cpu_second else "")
                out.append(f"{p.name} {p.rows_per_second / c.rows_per_second:.0%}{cpu} of {c.name}")
        return out

    def __str__(self) -> str:
        parts = "; ".join(str(p) for p in self.phases + self.copies)
        if self.copies:
            parts += "; ratio to bare COPY: " + ", ".join(self.ratios())
        if self.paired:
            parts += f"; interleaved: {self.paired}"
        if self.breakdown_ms:
            parts += "; one call: " + ", ".join(f"{k} {v:.0f} ms" for k, v in self.breakdown_ms.items())
        return parts + f" (target >= {self.target_rows_per_second:,} rows/s)"


def _service(conn: psycopg.Connection, code: str = BENCH_SERVICE) -> tuple[int, list[int]]:
    row = conn.execute("SELECT service_id FROM wfm.services WHERE code = %s", (code,)).fetchone()
    if row is None:
        row = conn.execute("INSERT INTO wfm.services (code, name, time_zone) VALUES (%s, %s, 'UTC') "
                           "RETURNING service_id", (code, "api_batch_insert_calls benchmark")).fetchone()
    service_id = row[0]
    groups = []
    for g in range(GROUPS):
        code = f"G{g}"
        found = conn.execute("SELECT group_id FROM wfm.groups WHERE service_id = %s AND code = %s",
                             (service_id, code)).fetchone()
        if found is None:
            found = conn.execute("INSERT INTO wfm.groups (service_id, code, name) VALUES (%s, %s, %s) "
                                 "RETURNING group_id", (service_id, code, code)).fetchone()
        groups.append(found[0])
    conn.commit()
    return service_id, groups


def payload(service_id: int, groups: list[int], call_index: int, rows: int) -> str:
    """JSON text of one call: ``rows`` rows spread over the groups, consecutive intervals."""
    per_group = -(-rows // len(groups))
    t0 = START + timedelta(minutes=15 * per_group * call_index)
    out = []
    for i in range(rows):
        group = groups[i % len(groups)]
        ts = t0 + timedelta(minutes=15 * (i // len(groups)))
        calls = 20 + (i * 7) % 50
        out.append({"service_id": service_id, "group_id": group, "interval_start": ts.isoformat(),
                    "unique_incoming": calls - 3, "non_unique_incoming": calls, "avg_talk_time": 180 + i % 60,
                    "avg_post_processing_time": 30 + i % 20, "answered_calls": calls - 2,
                    "answered_within_sl": calls - 5, "abandoned_calls": 2, "sl_threshold_seconds": 20})
    return json.dumps(out)


def compact_payload(text: str) -> str:
    """The same rows in the compact form of api_batch_insert_calls: a header of the field names
    (in the order they first appear), then one array of values per row (a missing field: null)."""
    rows = json.loads(text)
    names = list(dict.fromkeys(k for row in rows for k in row))
    return json.dumps([names] + [[row.get(k) for k in names] for row in rows])


def _backend_cpu(conn: psycopg.Connection) -> Callable[[], float | None]:
    """CPU seconds used so far by this connection's server process, when the server runs on
    this machine (the embedded one does); else None. Read from /proc/PID/schedstat (time on
    CPU in nanoseconds): /proc/PID/stat counts in 10 ms ticks, a tenth of one 10,000-row call."""
    pid = conn.info.backend_pid
    path = f"/proc/{pid}/schedstat"

    def read() -> float | None:
        try:
            with open(path) as fh:
                return int(fh.read().split()[0]) / 1e9
        except (OSError, IndexError, ValueError):
            return None
    return read


SHAPES = ("objects", "compact")


def _timed_call(conn: psycopg.Connection, cpu: Callable[[], float | None], text: str,
                rows: int) -> tuple[float, float | None]:
    """One committed api_batch_insert_calls call: wall seconds, and server CPU seconds if readable."""
    t, cpu_before = time.perf_counter(), cpu()
    status, total = conn.execute(
        "SELECT status, rows_total FROM wfm.api_batch_insert_calls(%s::jsonb, 'wfm-bench-api')", (text,)).fetchone()
    conn.commit()
    elapsed, cpu_after = time.perf_counter() - t, cpu()
    if status != "completed" or total != rows:
        raise RuntimeError(f"benchmark call returned {status} with {total} rows")
    return elapsed, (cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None)


def _run_phase(url: str, name: str, payloads: list[str], rows: int, clients: int, warm_up: str | None = None) -> Phase:
    """``payloads`` sent by ``clients`` connections; each connection first sends ``warm_up`` (a
    one-row call, not timed: a pooled API connection has its catalog caches and plans warm)."""
    phase = Phase(name, rows, clients)
    lock = threading.Lock()
    queue = list(enumerate(payloads))
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with psycopg.connect(url) as conn:
                conn.execute("SELECT 1")  # connection setup is not part of a call
                if warm_up is not None:
                    conn.execute("SELECT status FROM wfm.api_batch_insert_calls(%s::jsonb, 'wfm-bench-api')",
                                 (warm_up,))
                conn.commit()
                cpu = _backend_cpu(conn)
                while True:
                    with lock:
                        if not queue:
                            return
                        _, text = queue.pop(0)
                    elapsed, used = _timed_call(conn, cpu, text, rows)
                    with lock:
                        phase.call_seconds.append(elapsed)
                        if used is not None:
                            phase.cpu_seconds.append(used)
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    phase.wall_seconds = time.perf_counter() - start
    if errors:
        raise errors[0]
    return phase


_COPY_COLUMNS = ("interval_start_time", "service_id", "group_id", "unique_incoming", "non_unique_incoming",
                 "avg_talk_time", "avg_post_processing_time", "answered_calls", "answered_within_sl",
                 "abandoned_calls", "sl_threshold_seconds", "import_batch_id")
_JSON_FIELDS = ("interval_start", "service_id", "group_id", "unique_incoming", "non_unique_incoming",
                "avg_talk_time", "avg_post_processing_time", "answered_calls", "answered_within_sl",
                "abandoned_calls", "sl_threshold_seconds")


def copy_text(text: str, batch: str, with_row_numbers: bool = False) -> bytes:
    """The rows of one call's JSON as COPY text (built before the clock starts)."""
    lines = []
    for n, row in enumerate(json.loads(text), start=1):
        cells = ["\\N" if row[k] is None else str(row[k]) for k in _JSON_FIELDS] + [batch]
        lines.append("\t".join(cells + [str(n)] if with_row_numbers else cells))
    return ("\n".join(lines) + "\n").encode()


def _copy_data(conn: psycopg.Connection, text: str, history: bool) -> tuple[bytes, bytes]:
    """A committed batch row for one call's rows, and their COPY text for contact_statistics and
    (with ``history``) for contact_statistics_history: built before the clock starts."""
    batch = conn.execute("INSERT INTO wfm.import_batches (source, status, details) "
                         "VALUES ('wfm-bench-api', 'completed', '{\"format\": \"api\"}') "
                         "RETURNING import_batch_id::text").fetchone()[0]
    conn.commit()
    return copy_text(text, batch), copy_text(text, batch, with_row_numbers=True) if history else b""


def _timed_copy(conn: psycopg.Connection, cpu: Callable[[], float | None], data: bytes,
                hist: bytes) -> tuple[float, float | None]:
    """COPY one call's rows (into the history too when ``hist``) in one committed transaction:
    wall seconds, and server CPU seconds if readable."""
    t, cpu_before = time.perf_counter(), cpu()
    with conn.cursor().copy(f"COPY wfm.contact_statistics ({', '.join(_COPY_COLUMNS)}) FROM STDIN") as cp:
        cp.write(data)
    if hist:
        with conn.cursor().copy(f"COPY wfm.contact_statistics_history ({', '.join(_COPY_COLUMNS)}, "
                                "source_row_number) FROM STDIN") as cp:
            cp.write(hist)
    conn.commit()
    elapsed, cpu_after = time.perf_counter() - t, cpu()
    return elapsed, (cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None)


def interleaved(url: str, api_texts: list[str], copy_payloads: list[str], rows: int, warm_up: str,
                span: tuple[datetime, datetime]) -> Paired:
    """The API calls ``api_texts`` and bare COPYs of the same rows into both tables
    (``copy_payloads``: the twin service's JSON), one of each per pair, on two warm connections,
    the order alternating from pair to pair; all insert new intervals into emptied, vacuumed months."""
    paired = Paired("insert (compact) interleaved with bare COPY into both tables", rows)
    _empty(url, *span)
    with psycopg.connect(url) as api, psycopg.connect(url) as copier:
        api.execute("SELECT status FROM wfm.api_batch_insert_calls(%s::jsonb, 'wfm-bench-api')", (warm_up,))
        api.commit()
        api_cpu, copy_cpu = _backend_cpu(api), _backend_cpu(copier)
        for i, (text, twin) in enumerate(zip(api_texts, copy_payloads, strict=True)):
            data, hist = _copy_data(copier, twin, history=True)
            for side in (("api", "copy") if i % 2 == 0 else ("copy", "api")):
                if side == "api":
                    elapsed, used = _timed_call(api, api_cpu, text, rows)
                    paired.api_seconds.append(elapsed)
                    if used is not None:
                        paired.api_cpu.append(used)
                else:
                    elapsed, used = _timed_copy(copier, copy_cpu, data, hist)
                    paired.copy_seconds.append(elapsed)
                    if used is not None:
                        paired.copy_cpu.append(used)
    return paired


def bare_copy(url: str, payloads: list[str], rows: int, *, history: bool,
              span: tuple[datetime, datetime]) -> Phase:
    """COPY each call's rows into contact_statistics (and, with ``history``, into
    contact_statistics_history too) and commit: one transaction per call's rows, as the API
    does; no JSON, no checks beyond the tables' own. The rows are removed by ``cleanup``.

    ``span`` (first, last interval written): it starts, as each API phase does, from those months
    emptied and vacuumed; else it would re-insert the keys just deleted and check each dead index
    entry against the heap, a handicap the API phases do not have."""
    name = "bare COPY to contact_statistics" + (" + history" if history else "")
    phase = Phase(name, rows, 1)
    _empty(url, *span)  # the API phases (or the other COPY) wrote these intervals
    with psycopg.connect(url) as conn:
        conn.execute("SELECT 1")
        conn.commit()
        cpu = _backend_cpu(conn)
        for text in payloads:
            data, hist = _copy_data(conn, text, history)
            elapsed, used = _timed_copy(conn, cpu, data, hist)
            phase.call_seconds.append(elapsed)
            if used is not None:
                phase.cpu_seconds.append(used)
    phase.wall_seconds = sum(phase.call_seconds)
    return phase


def jsonb_parse_ms(url: str, text: str, repeat: int = 5) -> float:
    """Server CPU (wall clock when /proc is not readable) of the jsonb input of one request's
    text, the least of ``repeat`` runs: what every call pays before the function body runs."""
    best = float("inf")
    with psycopg.connect(url) as conn:
        cpu = _backend_cpu(conn)
        for _ in range(repeat):
            t, c = time.perf_counter(), cpu()
            conn.execute("SELECT %s::jsonb IS NULL", (text,)).fetchone()
            c2 = cpu()
            best = min(best, (c2 - c if c is not None and c2 is not None else time.perf_counter() - t) * 1000)
    return best


def breakdown(url: str, text: str) -> dict[str, float]:
    """Where one call's time goes: JSON parsing, the API's own work, the shared upsert.

    Uses track_functions (superuser only); returns what it could measure.
    """
    out: dict[str, float] = {"jsonb parse": jsonb_parse_ms(url, text)}
    with psycopg.connect(url) as conn:
        try:
            conn.execute("SET track_functions = 'pl'")
        except psycopg.errors.InsufficientPrivilege:
            conn.rollback()
            return out
        conn.commit()
        before = dict(conn.execute(
            "SELECT funcname, total_time FROM pg_stat_user_functions WHERE schemaname = 'wfm'").fetchall())
        conn.commit()
        t = time.perf_counter()
        conn.execute("SELECT * FROM wfm.api_batch_insert_calls(%s::jsonb, 'wfm-bench-api')", (text,)).fetchone()
        conn.commit()
        out["whole call"] = (time.perf_counter() - t) * 1000
        conn.execute("SELECT pg_stat_force_next_flush()")
        conn.commit()
        conn.execute("SELECT pg_stat_clear_snapshot()")
        after = dict(conn.execute("SELECT funcname, total_time FROM pg_stat_user_functions "
                                  "WHERE schemaname = 'wfm'").fetchall())

    def spent(name: str) -> float:
        return float(after.get(name, 0.0)) - float(before.get(name, 0.0))
    if spent("apply_import_batch_range"):
        out["apply (upsert into contact_statistics, triggers)"] = spent("apply_import_batch_range")
        out["cells, guard, history insert"] = spent("import_api_fast") - spent("apply_import_batch_range")
    return out


def cleanup(url: str) -> None:
    """Remove everything the benchmark wrote (statistics, history, batches and their errors)."""
    with psycopg.connect(url) as conn:
        for code in (BENCH_SERVICE, COPY_SERVICE):
            row = conn.execute("SELECT service_id FROM wfm.services WHERE code = %s", (code,)).fetchone()
            if row is None:
                continue
            conn.execute("DELETE FROM wfm.contact_statistics WHERE service_id = %s", (row[0],))
            conn.execute("DELETE FROM wfm.contact_statistics_history WHERE service_id = %s", (row[0],))
            conn.execute("DELETE FROM wfm.import_batches WHERE source = 'wfm-bench-api' "
                         "AND details ->> 'format' = 'api' AND (service_id IS NULL OR service_id = %s)", (row[0],))
        conn.commit()


def _empty(url: str, first: datetime, last: datetime) -> None:
    """Remove what the benchmark wrote and VACUUM the months it writes: each layout starts from
    the same state. New intervals arrive at the end of time in real use; re-inserting the keys
    just deleted would find their dead index entries and check each against the heap."""
    cleanup(url)
    months = {(first.year, first.month)}
    month = first
    while (month.year, month.month) < (last.year, last.month):
        month = (month.replace(day=1) + timedelta(days=32)).replace(day=1)
        months.add((month.year, month.month))
    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("contact_statistics", "contact_statistics_history"):
            for year, mon in sorted(months):
                name = conn.execute("SELECT to_regclass(%s)::text", (f"wfm.{table}_{year:04d}_{mon:02d}",)).fetchone()[0]
                if name is None:
                    continue
                try:
                    conn.execute(f"VACUUM {name}")
                except psycopg.errors.InsufficientPrivilege:  # not the owner: autovacuum's state it is
                    return


def bench_batch_insert(url: str, echo: Echo = print, *, rows_per_call: int = 10_000, calls: int = 6,
                       clients: int = 1) -> Result:
    """Measure api_batch_insert_calls: ``calls`` inserting calls, then the same again as updates,
    once with the rows as objects and once in the compact form."""
    cleanup(url)
    with psycopg.connect(url) as conn:
        service_id, groups = _service(conn)
        twin_id, twin_groups = _service(conn, COPY_SERVICE)
        # Partitions first, so the first measured call does not pay for DDL.
        last = START + timedelta(minutes=15 * (-(-rows_per_call // GROUPS)) * calls)
        conn.execute("SELECT wfm.ensure_monthly_partitions(t, %s, %s) FROM unnest(ARRAY["
                     "'wfm.contact_statistics'::regclass, 'wfm.contact_statistics_history'::regclass]) t",
                     (START, last))
        conn.commit()
    payloads = [payload(service_id, groups, i, rows_per_call) for i in range(calls)]
    texts = {"objects": payloads, "compact": [compact_payload(p) for p in payloads]}
    warm = payload(service_id, groups, -1, 1)  # one interval before the measured ones
    warm_up = {"objects": warm, "compact": compact_payload(warm)}
    echo(f"api_batch_insert_calls: {calls} calls x {rows_per_call:,} rows "
         f"({len(texts['objects'][0]) / 1e6:.2f} MB of JSON each as objects, "
         f"{len(texts['compact'][0]) / 1e6:.2f} MB in the compact form), {clients} client(s)")
    twins = [payload(twin_id, twin_groups, i, rows_per_call) for i in range(calls)]
    span = (START - timedelta(minutes=15), last)
    phases: list[Phase] = []
    split: dict[str, float] = {}
    try:
        for shape in SHAPES:
            _empty(url, *span)
            phases += [_run_phase(url, f"insert ({shape})", texts[shape], rows_per_call, clients, warm_up[shape]),
                       _run_phase(url, f"update ({shape})", texts[shape], rows_per_call, clients, warm_up[shape])]
            split.update({f"{k} ({shape})": v for k, v in breakdown(url, texts[shape][0]).items()})
        copies = [bare_copy(url, payloads, rows_per_call, history=False, span=span),
                  bare_copy(url, payloads, rows_per_call, history=True, span=span)]
        paired = interleaved(url, texts["compact"], twins, rows_per_call, warm_up["compact"], span)
    finally:
        cleanup(url)
    result = Result(phases, split, copies=copies, paired=paired)
    for p in phases + copies:
        echo(f"  {p}")
    echo("  ratio to bare COPY of the same rows: " + ", ".join(result.ratios()))
    echo(f"  {paired}")
    if split:
        echo("  one update call: " + ", ".join(f"{k} {v:.0f} ms" for k, v in split.items()))
    echo("  bounded by: the jsonb input of the request (objects about 4x the text of the compact form), "
         "the rows written twice (history, then contact_statistics with its one index, CHECKs and "
         "statement triggers); an update also writes a new version of every row (docs/benchmarks.md)")
    return result


def run(url: str, echo: Echo = print) -> Result:
    """Hook for ``wfm bench queries``: the default measurement (10,000 rows per call)."""
    return bench_batch_insert(url, echo)
