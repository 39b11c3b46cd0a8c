"""CLI: ``wfm import`` (Argus files, call records with ``--kind calls``, agent state events with
``--kind agent-states``), ``wfm batches list|show|revert``.

Text from files and the database (file names, sources, messages, values) is printed through
``wfm_pipeline.textsafe.term``: control characters and escape sequences show as ``\\x1b``...,
they never reach the terminal; ``--json`` output is ASCII-only JSON (``json.dumps`` escapes them).

Exit codes of ``wfm import``: 0 when every file was imported (possibly with rejected rows),
was a duplicate or was validated; 1 when any file was rejected as a whole (unreadable, no
data, strict mode) or failed (lock timeout, deadlock, database gone, ...: every file still gets
its line and the next file is attempted); 2 for usage errors (unknown service or group,
missing file).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import timezone
from pathlib import Path

import click
import psycopg

from wfm_pipeline.argus import batches as batches_mod
from wfm_pipeline.argus.errors import UNKNOWN_GROUP, UNKNOWN_SERVICE
from wfm_pipeline.argus.loader import ImportResult, describe_failure
from wfm_pipeline.argus.runner import import_files
from wfm_pipeline.argus.landing import service_of_file
from wfm_pipeline.calls.agent_loader import agent_runner, import_agent_file
from wfm_pipeline.calls.concurrent import LOAD_CONNECTIONS, MAX_LOAD_CONNECTIONS
from wfm_pipeline.calls.files import analyze_months
from wfm_pipeline.calls.loader import call_runner, import_call_file
from wfm_pipeline.cli.common import UsageError, connect, db_url
from wfm_pipeline.textsafe import term

PROGRESS_MIN_ROWS = 20_000  # show a progress bar from this many rows on
SHOWN_ERRORS = 10


class _ProgressBar:
    """A click progress bar on stderr for the COPY of large files (silent for small ones)."""

    def __init__(self, name: str, enabled: bool) -> None:
        self.name, self.enabled, self.bar, self.done = name, enabled, None, 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage == "copy" and total >= PROGRESS_MIN_ROWS:
            if self.bar is None:
                self.bar = click.progressbar(length=total, label=f"{self.name}: loading", file=sys.stderr,
                                             show_pos=True)
                self.bar.__enter__()
            self.bar.update(done - self.done)
            self.done = done
        elif stage in ("apply", "done") and self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _fmt_ts(value) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _summary(result: ImportResult) -> str:
    name = term(Path(result.file).name)
    head = (f"{name}: {result.status} - {result.rows_total} rows: {result.rows_inserted} inserted, "
            f"{result.rows_updated} updated, {result.rows_rejected} rejected, {result.rows_skipped} skipped")
    lines = [head]
    if result.first_interval is not None:
        lines.append(f"  intervals {_fmt_ts(result.first_interval)} .. {_fmt_ts(result.last_interval)}")
    if result.duplicate_of:
        lines.append(f"  same content as batch {result.duplicate_of}: nothing changed")
    elif result.error_message and result.status in ("rejected", "failed"):
        lines.append(f"  {term(result.error_message)}")
    for err in result.errors[:SHOWN_ERRORS]:
        lines.append(f"  {term(err)}")
    if len(result.errors) > SHOWN_ERRORS:
        lines.append(f"  ... and {len(result.errors) - SHOWN_ERRORS} more (wfm batches show {result.import_batch_id})")
    if result.import_batch_id:
        lines.append(f"  batch {result.import_batch_id}")
    return "\n".join(lines)


def _check_encoding(value: str | None) -> str | None:
    if value is None:
        return None
    import codecs

    try:
        codecs.lookup(value)
    except LookupError:
        raise click.BadParameter(f"unknown encoding {value!r}", param_hint="--encoding") from None
    return value


@click.command("import")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--service", "service_code", default=None, help="Service code the files belong to.")
@click.option("--service-from-folder", "from_folder", is_flag=True,
              help="Call-record and agent-state files: each file's service is the folder it lies in, as in the "
                   "landing folder (<service>/calls/<file>, <service>/agents/<file>, or <service>/<file>).")
@click.option("--connections", default=LOAD_CONNECTIONS, show_default=True, type=click.IntRange(1, MAX_LOAD_CONNECTIONS),
              help="Call-record and agent-state files of different services load on this many connections at once "
                   "(each service's files one after the other, in the given order).")
@click.option("--group", "group_code", default=None, help="Group code within the service (default: service level).")
@click.option("--strict", is_flag=True, help="Import nothing from a file with any invalid row.")
@click.option("--validate-only", is_flag=True, help="Validate and report; write only the audit rows.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file per line on stdout.")
@click.option("--encoding", default=None, callback=lambda ctx, param, value: _check_encoding(value),
              help="Encoding of CSV files, e.g. cp1251, cp1252, latin-1, utf-8 (default: WFM_CSV_ENCODING, "
                   "else detected).")
@click.option("--kind", type=click.Choice(["argus", "calls", "agent-states"]), default="argus", show_default=True,
              help="argus: interval exports; calls: call-detail records; agent-states: agent state events "
                   "(both with a header row; docs/import.md).")
def import_cmd(paths: tuple[Path, ...], service_code: str | None, from_folder: bool, connections: int,
               group_code: str | None, strict: bool, validate_only: bool, as_json: bool, encoding: str | None,
               kind: str) -> None:
    """Import Argus files (.xlsx, .xls, .csv) into contact_statistics, call-detail records
    (--kind calls) into call_records, or agent state events (--kind agent-states) into
    agent_state_transitions, deriving their intervals and agent activity."""
    importer = None
    if kind in ("calls", "agent-states"):
        if group_code is not None:
            raise UsageError(f"--group does not apply to {'call records' if kind == 'calls' else 'agent state events'}: "
                             "each row names its group (column group)")
        importer = _import_calls if kind == "calls" else _import_agents
    service_of = _services(paths, service_code, from_folder, kind)

    try:
        url = db_url()
    except psycopg.OperationalError as exc:  # the database is unreachable: every file failed, unaudited
        reason = describe_failure(exc)
        for path in paths:
            result = ImportResult(file=str(path), status="failed", error_message=reason)
            click.echo(json.dumps(result.to_dict()) if as_json else _summary(result))
        sys.exit(1)

    def reconnect() -> psycopg.Connection:  # the per-file loop reopens it when it breaks
        return psycopg.connect(url, options="-c search_path=wfm,public")

    # Call-record and agent-state files: files of different services load on `connections`
    # connections at once (calls.concurrent.ConcurrentRun); files of one service one after the
    # other, the next read, parsed and (where that is safe) validated on a second connection
    # while the current one loads (files.Prefetcher). Each file is still its own audited batch.
    runners = {"calls": call_runner, "agent-states": agent_runner}
    runner = runners[kind]([(p, service_of(p)) for p in paths], reconnect, conninfo=url, connections=connections,
                           validate_only=validate_only, encoding=encoding, strict=strict) \
        if kind in runners and len(paths) > 1 else None
    if runner is not None:
        def importer(conn: psycopg.Connection, path: Path, service_code: str, group_code: str | None,
                     **options) -> ImportResult:
            return runner.run(conn, path, service_code, **options).result

    # Every file goes through the one import path, an unknown service or group too: each file
    # gets its audited `rejected` batch there; here it only decides the exit code (2, usage, when
    # the service was named on the command line).
    results = import_files(reconnect, paths, service_of, group_code, strict=strict, validate_only=validate_only,
                           progress_for=lambda path: _ProgressBar(path.name, enabled=not as_json), encoding=encoding,
                           importer=importer)
    done: list[ImportResult] = []
    try:
        usage, exit_code = _report(_kept(results, done), as_json, named_service=not from_folder)
    finally:
        if runner is not None:
            runner.close()
    if kind == "calls" and not validate_only:
        _analyze_calls(reconnect, done, as_json)
    if usage is not None:
        raise UsageError(usage)
    sys.exit(exit_code)


def _services(paths: tuple[Path, ...], service_code: str | None, from_folder: bool,
              kind: str) -> Callable[[Path], str]:
    """Each file's service code: --service, or (--service-from-folder) the folder it lies in."""
    if from_folder == (service_code is not None):
        raise UsageError("name the files' service with --service SERVICE, or take it from their folders with "
                         "--service-from-folder (one of the two)")
    if service_code is not None:
        return lambda _path: service_code
    if kind == "argus":
        raise UsageError("--service-from-folder takes call-record and agent-state files (--kind calls, "
                         "--kind agent-states); name the service of Argus files with --service")
    batch_kind = "calls" if kind == "calls" else "agent_states"
    try:
        codes = {path: service_of_file(path, batch_kind) for path in paths}
    except ValueError as exc:
        raise UsageError(term(str(exc))) from None
    return codes.__getitem__


def _report(results, as_json: bool, *, named_service: bool = True) -> tuple[str | None, int]:
    """Print each file's line; (the usage error to raise, the exit code). An unknown service or
    group named on the command line is a usage error; one taken from a folder is that file's."""
    usage: str | None = None
    exit_code = 0
    for result in results:
        file_error = result.errors[-1] if result.status == "rejected" and result.errors else None
        if named_service and file_error is not None and file_error.code in (UNKNOWN_SERVICE, UNKNOWN_GROUP):
            usage = file_error.message
            if as_json:
                click.echo(json.dumps(result.to_dict()))
            continue
        if not result.ok:
            exit_code = 1
        click.echo(json.dumps(result.to_dict()) if as_json else _summary(result))
    return usage, exit_code


def _kept(results: Iterable[ImportResult], into: list[ImportResult]) -> Iterator[ImportResult]:
    for result in results:
        into.append(result)
        yield result


def _analyze_calls(connect: Callable[[], psycopg.Connection], results: list[ImportResult], as_json: bool) -> None:
    """One ANALYZE step after a run of call-record files (``calls.files.analyze_months``): the
    months the run wrote, where the rows written meet autovacuum's rule. The Dagster path analyzes
    after each file; here once, at the end. A failure is a warning: the imports are committed."""
    started = time.perf_counter()
    try:
        with connect() as conn:
            analyzed = analyze_months(conn, "calls", results)
    except psycopg.Error as exc:
        click.echo(f"warning: ANALYZE after the import failed: {str(exc).strip()}", err=True)
        return
    done = [a for a in analyzed if a.analyzed]
    if done and not as_json:
        click.echo(f"analyzed {len(done)} partition(s) of the months written in {time.perf_counter() - started:.1f} s")


def _import_calls(conn: psycopg.Connection, path: Path, service_code: str, group_code: str | None,
                  **options) -> ImportResult:
    return import_call_file(conn, path, service_code, **options)


def _import_agents(conn: psycopg.Connection, path: Path, service_code: str, group_code: str | None,
                   **options) -> ImportResult:
    return import_agent_file(conn, path, service_code, **options)


# ---------------------------------------------------------------- batches
@click.group("batches")
def batches_group() -> None:
    """Import batches: list, show (with errors), revert."""


@batches_group.command("list")
@click.option("--limit", default=20, show_default=True)
@click.option("--service", "service_code", default=None, help="Only batches of this service.")
@click.option("--status", default=None, help="Only batches with this status.")
@click.option("--json", "as_json", is_flag=True)
def batches_list(limit: int, service_code: str | None, status: str | None, as_json: bool) -> None:
    """Newest import batches first."""
    with connect() as conn:
        rows = batches_mod.list_batches(conn, limit=limit, service_code=service_code, status=status)
    if as_json:
        for b in rows:
            click.echo(json.dumps(b.to_dict(), default=str))
        return
    if not rows:
        click.echo("no import batches yet")
        return
    click.echo(f"{'created (UTC)':<17} {'import_batch_id':<36} {'status':<21} {'service/group':<14} "
               f"{'total':>7} {'ins':>7} {'upd':>7} {'rej':>6} {'skip':>5}  file")
    for b in rows:
        r = b.row
        target = term(r["service"] or "-")
        if r["group"]:
            target += "/" + term(r["group"])
        click.echo(f"{r['created_at'].astimezone(timezone.utc).strftime('%Y-%m-%d %H:%M'):<17} {str(r['import_batch_id']):<36} "
                   f"{term(r['status']):<21} {target:<14} {r['rows_total']:>7} {r['rows_inserted']:>7} "
                   f"{r['rows_updated']:>7} {r['rows_rejected']:>6} {r['rows_skipped']:>5}  {term(r['file_name'] or r['source'])}")


@batches_group.command("show")
@click.argument("batch_id")
@click.option("--errors", "error_limit", default=100, show_default=True, help="How many errors to show.")
@click.option("--json", "as_json", is_flag=True)
def batches_show(batch_id: str, error_limit: int, as_json: bool) -> None:
    """One batch with its errors (row, column, code, message, value)."""

    with connect() as conn:
        try:
            info = batches_mod.get_batch(conn, batch_id, error_limit=error_limit)
        except batches_mod.UnknownBatchError as exc:
            raise UsageError(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(info.to_dict(), default=str))
        return
    r = info.row
    for key in ("import_batch_id", "status", "source", "file_name", "file_sha256", "service", "group", "created_at",
                "finished_at", "rows_total", "rows_inserted", "rows_updated", "rows_rejected", "rows_skipped",
                "first_interval", "last_interval", "error_message"):
        if r.get(key) is not None:
            click.echo(f"{key:<16} {term(r[key])}")
    months = (r.get("details") or {}).get("months")
    if months:
        click.echo(f"{'months':<16} {term(', '.join(map(str, months)))}")
    click.echo(f"errors           {info.errors_total}")
    for e in info.errors:
        where = "file" if e.row is None else f"row {e.row}" + (f" {term(e.column)}" if e.column else "")
        click.echo(f"  {where:<12} {term(e.code):<26} {term(e.message)}")
    if info.errors_total > len(info.errors):
        click.echo(f"  ... {info.errors_total - len(info.errors)} more (--errors N)")


@batches_group.command("revert")
@click.argument("batch_id")
@click.option("--json", "as_json", is_flag=True)
def batches_revert(batch_id: str, as_json: bool) -> None:
    """Revert a batch: each interval it wrote gets the newest remaining batch's value, or is removed."""

    with connect() as conn:
        try:
            result = batches_mod.revert_batch(conn, batch_id)
        except batches_mod.UnknownBatchError as exc:
            raise UsageError(str(exc)) from exc
        except psycopg.errors.ObjectNotInPrerequisiteState as exc:
            raise click.ClickException(term(exc.diag.message_primary or str(exc))) from exc
    if as_json:
        click.echo(json.dumps({"import_batch_id": str(result.import_batch_id), "rows_restored": result.rows_restored,
                               "rows_deleted": result.rows_deleted, "already_reverted": result.already_reverted}))
    elif result.already_reverted:
        click.echo(f"batch {result.import_batch_id} was already reverted; nothing changed")
    else:
        click.echo(f"batch {result.import_batch_id} reverted: {result.rows_restored} intervals restored from earlier "
                   f"batches, {result.rows_deleted} removed")
