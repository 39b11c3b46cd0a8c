"""``argus_landing_sensor``: one run of the file-import job of its kind per new, settled file in
the landing folder (Argus exports, call records in ``<service>/calls/``, agent states in
``<service>/agents/``: ``ingest.FILE_IMPORTS``; one scan, one cursor, the same rules for every kind).

Each tick:

1. lists ``$WFM_LANDING_DIR/<service>/[<group>/]*.xlsx|.xls|.csv`` without opening anything
   (``landing.scan``: regular files, and symlinks resolving to a regular file inside the landing
   folder; see ``wfm_pipeline.argus.landing``). Every other entry with such a name (a FIFO, a
   device, a symlink to ``/dev/zero`` or out of the folder) is skipped, reported once as a
   warning (the cursor remembers it until it goes away or changes), never recorded as a batch,
   and never blocks the tick. So are files in a reserved folder (``calls``, ``agents``) of a
   service that has a group of that code (``landing.reserved_folder_conflict``): they stay
   where they are and are looked at again once the group is renamed;
2. compares every file's (size, mtime) with the previous tick's (kept in the JSON cursor):
   a file counts as *settled* once it is unchanged on a later tick at least
   ``WFM_LANDING_SETTLE_SECONDS`` (default 20 s) after it was first seen that way. A file
   still being copied changes between ticks and is not read;
3. settled files go through ``steps.inspect`` (the import's own first step: hashed through
   ``landing.open_within``, ``O_NOFOLLOW | O_NONBLOCK``, regular files only; service/group
   resolved; known content looked up), only to name the run: a file of an unknown service/group
   (or outside a service folder, or unreadable) is handed to ``steps.reject`` (a ``rejected``
   batch, the file moved to ``rejected/`` with ``<file>.errors.csv``); content already imported
   for that service/group is handed to ``steps.file_away`` (archived without a run: its run key
   is used up); every other file becomes a dynamic partition of its kind and a run request of
   its kind's job (strict import when ``WFM_LANDING_STRICT`` is set). Rejected call-record and
   agent-state files get a batch of their kind. The sensor validates nothing and loads nothing. Its ``run_key`` is the partition key, plus ``#<n>`` when ``n`` earlier imports of the
   same content for the same service/group were reverted, rejected or failed
   (``landing.run_key``): a file dropped again after ``wfm batches revert`` is imported again.

Every run request carries the tag ``wfm/service`` (``instance.SERVICE_TAG``): the instance that
``wfm dev`` configures runs one such run per service at a time, in queue order (a service's files
apply in the order queued here, by path within a tick), and runs of different services at once.

Nothing is imported twice: a cursor reset only re-requests run keys that Dagster has already
seen (it skips them; the batch history gives the same ``#<n>``), the import itself recognises a
known sha256 as ``duplicate``, and a rejection whose move to rejected/ did not complete is not
recorded again (``batches.unmoved_rejection``).
"""

import json
import os
import time
from dataclasses import asdict, dataclass

import dagster as dg
import psycopg

from wfm_pipeline.argus import batches, landing, steps
from wfm_pipeline.argus.errors import FILE_UNREADABLE
from wfm_pipeline.argus.loader import mark_kind
from wfm_pipeline.defs.ingest import FILE_IMPORTS, FILE_JOBS
from wfm_pipeline.defs.instance import SERVICE_TAG
from wfm_pipeline.defs.resources import WfmDatabase
from wfm_pipeline.settings import get_settings
from wfm_pipeline.textsafe import term

CURSOR_VERSION = 1
# Seconds a tick spends on settled files before it leaves the rest (still settled) to the next
# ticks. Each file is read, hashed and looked up (about 15 ms for a small file on 2 shared
# cores): a backfill of thousands of files took one tick past Dagster's sensor deadline
# (DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS, 60 s), which fails the tick, drops its cursor and run
# requests, and so failed again on every tick. At least one file is handled per tick.
TICK_BUDGET_SECONDS = 30.0


@dataclass
class Seen:
    """What the sensor knows about one landing file between ticks."""

    size: int
    mtime_ns: int
    since: float              # when this (size, mtime) was first observed (sensor clock)
    key: str | None = None    # partition key once a run was requested for exactly this stat


def _cursor_data(cursor: str | None) -> dict:
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
    except ValueError:
        return {}
    return data if isinstance(data, dict) and data.get("v") == CURSOR_VERSION else {}


def load_cursor(cursor: str | None) -> dict[str, Seen]:
    """The per-file state; an unreadable or foreign cursor starts afresh (safe: see module doc)."""
    try:
        return {rel: Seen(**entry) for rel, entry in _cursor_data(cursor)["files"].items()}
    except (TypeError, KeyError, AttributeError):
        return {}


def load_skipped(cursor: str | None) -> dict[str, str]:
    """The entries already reported as not being landing files: relative path -> reason."""
    skipped = _cursor_data(cursor).get("skipped")
    if not isinstance(skipped, dict):
        return {}
    return {str(rel): str(reason) for rel, reason in skipped.items()}


def dump_cursor(state: dict[str, Seen], skipped: dict[str, str] | None = None) -> str:
    data: dict = {"v": CURSOR_VERSION, "files": {rel: asdict(s) for rel, s in sorted(state.items())}}
    if skipped:
        data["skipped"] = dict(sorted(skipped.items()))
    return json.dumps(data, separators=(",", ":"))


def report_skipped(context: dg.SensorEvaluationContext, entries: list[landing.SkippedEntry],
                   known: dict[str, str]) -> dict[str, str]:
    """Warn once per entry that is not a landing file (again only if its reason changes)."""
    now = {e.rel: e.reason for e in entries}
    for rel, reason in now.items():
        if known.get(rel) != reason:
            context.log.warning(f"{term(rel)}: skipped, {term(reason)}; only regular files (or symbolic links "
                                "to regular files inside the landing folder) are imported")
    return now


def observe(files: list[landing.LandedFile], state: dict[str, Seen], now: float,
            settle: float) -> tuple[list[landing.LandedFile], dict[str, Seen]]:
    """Files that just settled (and were not requested yet), and the next state.

    Files gone from the folder drop out of the state, so the cursor stays small.
    """
    settled: list[landing.LandedFile] = []
    new_state: dict[str, Seen] = {}
    for f in files:
        prev = state.get(f.rel)
        if prev is None or (prev.size, prev.mtime_ns) != (f.size, f.mtime_ns):
            new_state[f.rel] = Seen(f.size, f.mtime_ns, now)       # new or still changing
            continue
        new_state[f.rel] = prev
        if prev.key is None and now - prev.since >= settle:
            settled.append(f)
    return settled, new_state


def reserved_conflicts(conn: psycopg.Connection, files: list[landing.LandedFile]) -> list[landing.SkippedEntry]:
    """Files in a reserved folder of a service that has a group of that code (module doc)."""
    in_reserved = [f for f in files if f.kind != landing.ARGUS]
    if not in_reserved:
        return []
    clashes = set(conn.execute(
        "SELECT s.code, g.code FROM wfm.groups g JOIN wfm.services s ON s.service_id = g.service_id "
        "WHERE g.code = ANY(%s)", (list(landing.KIND_FOLDERS),)).fetchall())
    conn.rollback()
    folder = landing.FOLDER_OF_KIND
    return [landing.SkippedEntry(f.rel, landing.reserved_folder_conflict(f.service_code, folder[f.kind]))
            for f in in_reserved if (f.service_code, folder[f.kind]) in clashes]


@dg.sensor(
    name="argus_landing_sensor",
    jobs=list(FILE_JOBS.values()),
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    # Descriptions render as Markdown: placeholders are code spans in capitals, never <tags>.
    description="Imports files dropped into the landing folder: Argus exports into `$WFM_LANDING_DIR/SERVICE/` or "
                "`$WFM_LANDING_DIR/SERVICE/GROUP/`, call records into `$WFM_LANDING_DIR/SERVICE/calls/`, agent states "
                "into `$WFM_LANDING_DIR/SERVICE/agents/`: one run of the kind's import job per settled new file "
                "(partition key = run key); a file of an unknown service or group, or an unreadable one, goes to "
                "`rejected/` (an observation of the kind's raw-file asset says why).",
)
def argus_landing_sensor(context: dg.SensorEvaluationContext, wfm_db: WfmDatabase) -> dg.SensorResult:
    settings = get_settings()
    folders = landing.Folders.of(settings)
    now = time.time()
    found = landing.scan(settings.landing_dir, exclude=(folders.archive, folders.rejected))
    files, entries = found.files, list(found.skipped)
    if any(f.kind != landing.ARGUS for f in files):
        with wfm_db.connection() as conn:
            conflicts = reserved_conflicts(conn, files)
        entries += conflicts
        left_alone = {c.rel for c in conflicts}
        files = [f for f in files if f.rel not in left_alone]
    skipped = report_skipped(context, entries, load_skipped(context.cursor))
    settled, state = observe(files, load_cursor(context.cursor), now, settings.landing_settle_seconds)
    run_requests: list[dg.RunRequest] = []
    new_keys: dict[str, list[str]] = {}
    rejections: list[dg.AssetObservation] = []
    if settled:
        with wfm_db.connection() as conn:
            for done, f in enumerate(settled):
                if done and time.time() - now > TICK_BUDGET_SECONDS:  # the rest: next tick, in the same order
                    context.log.info(f"{len(settled) - done} settled file(s) left for the next tick")
                    break
                request = _handle_settled(context, conn, f, state, folders, rejections)
                if request is not None:
                    run_requests.append(request)
                    partitions = FILE_IMPORTS[f.kind].partitions.name
                    if not context.instance.has_dynamic_partition(partitions, request.partition_key):
                        new_keys.setdefault(partitions, []).append(request.partition_key)
            conn.rollback()  # read-only; return the connection clean to the pool
    waiting = sorted(rel for rel, s in state.items() if s.key is None)
    return dg.SensorResult(
        run_requests=run_requests,
        asset_events=rejections,
        dynamic_partitions_requests=[dg.AddDynamicPartitionsRequest(name, keys) for name, keys in new_keys.items()],
        cursor=dump_cursor(state, skipped),
        skip_reason=None if run_requests else (
            f"waiting for {len(waiting)} file(s) to settle: {term(', '.join(waiting[:5]))}" if waiting
            else f"no new files in {settings.landing_dir}"),
    )


def _handle_settled(context: dg.SensorEvaluationContext, conn: psycopg.Connection, f: landing.LandedFile,
                    state: dict[str, Seen], folders: landing.Folders,
                    rejections: list[dg.AssetObservation]) -> dg.RunRequest | None:
    """Reject, archive (already imported) or request a run for one settled file. A rejection
    also becomes an observation of the kind's raw-file asset: the catalog shows it, not only the
    tick log."""
    spec = FILE_IMPORTS[f.kind]
    try:
        insp = steps.inspect(conn, f.path, f.service_code, f.group_code, folders=folders, keep=False)
    except landing.NotALandingFile as exc:  # swapped for a FIFO/symlink since the scan: never read
        context.log.warning(f"{term(f.rel)}: skipped, {term(exc)}")
        state.pop(f.rel, None)
        return None
    if insp.error is not None:
        if insp.error.code == FILE_UNREADABLE and not os.path.lexists(f.path):  # taken away meanwhile
            state.pop(f.rel, None)
            return None
        rejected = steps.reject(conn, insp, folders=folders)
        if f.kind != landing.ARGUS:  # the batch says what the file was meant to be
            mark_kind(conn, rejected.result.import_batch_id, f.kind)
        rejections.append(_rejection_event(f, rejected, spec.raw.key))
        _report_move(context, f, state, rejected.moved, warn=True,
                     why=f"{insp.error.code}: {insp.error.message} (batch {rejected.result.import_batch_id})")
        return None
    if insp.duplicate_of is not None:
        # Same content again (e.g. re-dropped): its run key is used up, so no run would ever
        # take it out of the landing folder. It is archived, and the log says which batch has it.
        moved = steps.file_away(conn, insp, "duplicate", folders)
        _report_move(context, f, state, moved, warn=False,
                     why=f"same content as import batch {insp.duplicate_of} (duplicate), archived")
        return None

    target = insp.target
    key = landing.partition_key(target.service_code, target.group_code, f.path.name, insp.sha256, kind=f.kind)
    run_key = landing.run_key(key, batches.earlier_attempts(conn, insp.sha256, target.service_id, target.group_id))
    conn.rollback()
    state[f.rel].key = key
    context.log.info(f"{term(f.rel)}: settled ({f.size} bytes), requesting run {term(run_key)}")
    return dg.RunRequest(
        run_key=run_key,
        partition_key=key,
        job_name=spec.job_name,
        run_config={"ops": {spec.op_name: {"config": {"strict": get_settings().landing_strict}}}},
        tags={"wfm/landing_file": term(f.rel), SERVICE_TAG: target.service_code, "wfm/sha256": insp.sha256,
              "wfm/kind": f.kind},
    )


def _report_move(context: dg.SensorEvaluationContext, f: landing.LandedFile, state: dict[str, Seen],
                 moved: steps.Moved, *, why: str, warn: bool) -> None:
    """Log where a file went; one that could not be moved is not tried again until it changes."""
    if moved.to is None:
        context.log.error(f"{term(f.rel)}: {term(why)}; {term(moved.error)}")
        state[f.rel].key = "unmoved"
        return
    (context.log.warning if warn else context.log.info)(f"{term(f.rel)}: {term(why)} -> moved to {term(moved.to)}")
    state.pop(f.rel, None)


def _rejection_event(f: landing.LandedFile, rejected: steps.FileRun, asset_key: dg.AssetKey) -> dg.AssetObservation:
    """A file the sensor rejected (no run, so no partition): an observation with its error."""
    error = rejected.inspection.error
    return dg.AssetObservation(
        asset_key=asset_key,
        description=f"rejected by the landing sensor: {term(f.rel)}",
        metadata={"status": "rejected", "landing_file": term(f.rel), "error_code": error.code,
                  "error_message": term(error.message), "sha256": rejected.inspection.sha256 or "",
                  "import_batch_id": str(rejected.result.import_batch_id or ""),
                  "file_path": dg.MetadataValue.path(str(rejected.moved.to or f.path))})
