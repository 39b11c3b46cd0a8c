"""Dagster assets of the file imports (group ``ingest``), thin over ``wfm_pipeline.argus.steps`` and
``wfm_pipeline.calls.files``.

Three kinds of landed file share one mechanism (``FileImport``, built by ``file_import_asset``):
Argus exports (below), call records (``call_raw_file`` -> ``call_validated`` -> ``call_import_batch``,
partitions ``call_files``; reports contact_statistics and agent_activity months) and agent states
(``agent_states_*``, partitions ``agent_state_files``; reports agent_activity months). The record
kinds run ``files.run_record_file`` (with its ANALYZE step) and judge the ``agent_activity`` checks
for the months they wrote (``defs.activity``). What follows describes the Argus kind; the others
differ only where said.

Per landed file (dynamic partitions ``argus_files``), ONE step materializes three assets::

    argus_raw_file ─► argus_validated ─► argus_import_batch ─┐  (AssetMaterialization of every
                      (check: all_rows_valid)                 │   month the batch touched)
                                                              ▼
                                           contact_statistics[month]  (monthly, UTC)

The step (``argus_file_import``, op name ``argus_import_batch`` so the run config keeps its
path) finds the file, reads it once and hands the bytes to ``steps.run_file``: the same
function ``wfm import`` runs. Nothing passes between assets, so nothing is pickled; the three
assets stay three so the catalog keeps saying what was found, what was valid and what was
loaded. A file rejected as a whole is an expected outcome, not an error: the three assets
materialize with status ``rejected`` and the check fails (ERROR) with the error table, so one
rejected file never shows a good import as failed. Only a failed import (lock timeout, database
gone) fails the step; its file stays in the landing folder for a re-execution.

``contact_statistics[month]`` materialized by itself rebuilds that month from the batch
history (``wfm.rebuild_contact_statistics_month``): the table can always be reconstructed.

Its dependency on ``argus_import_batch`` is lineage only (``SpecificPartitionsPartitionMapping([])``:
no month depends on any file *partition*). Which files fed a month is decided by their content,
which no partition mapping can express, and the import that writes a month reports that month
itself, after its own ``argus_import_batch`` event. With ``AllPartitionMapping`` every month
turned "Unsynced" whenever any file was imported (Dagster compares the month's last event with
every file partition's, up to 100 of them), and the months the import had just written too
(their events came first). Downstream, the views and forecasts follow the months through
declarative automation (Dagster never flags them "Unsynced" for a month: it does not compare an
unpartitioned asset with each partition of a time-partitioned one).

Catalog metadata (``dagster/table_name``, ``dagster/column_schema`` read from the database
catalog with the column comments, ``dagster/row_count``) is attached at materialization:
definitions load without a database.
"""

import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

from wfm_pipeline.argus import batches, landing, steps
from wfm_pipeline.argus.loader import ImportFailedError, ImportResult
from wfm_pipeline.calls import consistency
from wfm_pipeline.calls.agent_loader import AGENT_FILES as AGENT_STATE_FILES
from wfm_pipeline.calls.files import RecordFileKind, run_record_file
from wfm_pipeline.calls.loader import CALL_FILES as CALL_RECORD_FILES
from wfm_pipeline.defs import activity, keys, months, tables
from wfm_pipeline.defs.keys import ARGUS_IMPORT_BATCH, ARGUS_RAW_FILE, ARGUS_VALIDATED, CONTACT_STATISTICS
from wfm_pipeline.defs.resources import WfmDatabase
from wfm_pipeline.settings import get_settings
from wfm_pipeline.textsafe import term
from wfm_pipeline.warehouse import maintenance

GROUP = keys.INGEST
DATA_VERSION_TAG = "dagster/data_version"  # the tag Dagster reads an event's data version from
# Bump when what an asset computes changes (Dagster then shows older materializations as having
# an older code version; nothing is recomputed by itself).
FILE_CODE_VERSION = "2"           # one step, steps.run_file (+ ANALYZE of the months written)
MONTH_CODE_VERSION = "2"          # rebuild from contact_statistics_history, newest applied batch wins
RECORD_CODE_VERSION = "1"         # call-record and agent-state files: files.run_record_file (+ ANALYZE)
# What a call-record or agent-state load derived (its batch's details), shown on its import batch.
DERIVED_COUNTS = ("intervals_inserted", "intervals_updated", "intervals_deleted", "agent_rows_written",
                  "agent_rows_deleted", "transitions_linked")
FIRST_ERRORS_SHOWN = 50
OP_NAME = "argus_import_batch"  # run config: ops.argus_import_batch.config.strict (as before the merge)
# The three assets used to hand a pickled ArgusFile and a pickled DataFrame to each other
# through the default IO manager; those files are removed when found (see _prune_legacy_pickles).
LEGACY_PICKLES = ("argus_raw_file", "argus_validated")
KEY_FORMAT = "`SERVICE/GROUP/FILE@SHA12` (GROUP is `_` for service-level files)"

argus_files_partitions = dg.DynamicPartitionsDefinition(name="argus_files")
contact_statistics_months = dg.MonthlyPartitionsDefinition(
    start_date=months.FIRST_MONTH, timezone="UTC", end_offset=1)  # end_offset=1: the current month too


class ArgusImportConfig(dg.Config):
    """Run config of the per-file import (the Dagster equivalent of ``wfm import --strict``)."""

    strict: bool = Field(default=False, description="Import nothing if any row of the file is invalid.")


# ------------------------------------------------------------------ metadata helpers
def _errors_table(errors) -> dg.TableMetadataValue:
    return dg.MetadataValue.table(
        records=[dg.TableRecord({"row": e.row, "column": term(e.column), "code": e.code,
                                 "message": term(e.message), "value": term(e.value)})
                 for e in list(errors)[:FIRST_ERRORS_SHOWN]],
        schema=dg.TableSchema(columns=[
            dg.TableColumn("row", "int"), dg.TableColumn("column", "string"), dg.TableColumn("code", "string"),
            dg.TableColumn("message", "string"), dg.TableColumn("value", "string")]),
    )


def _errors_markdown(errors, total: int) -> str:
    lines = ["| row | column | code | message | value |", "|---:|---|---|---|---|"]
    for e in list(errors)[:FIRST_ERRORS_SHOWN]:
        cells = [str(e.row or ""), _md_cell(term(e.column)), e.code, _md_cell(term(e.message)),
                 _md_cell(term(e.value))]
        lines.append("| " + " | ".join(cells) + " |")
    if total > FIRST_ERRORS_SHOWN:
        lines.append(f"\n… {total - FIRST_ERRORS_SHOWN} more (all of them: `wfm batches show` on the file's batch)")
    return "\n".join(lines)


def _md_cell(text: str) -> str:
    """A markdown table cell that shows file text as text: no cell breaks, links, code spans or HTML."""
    for ch in "\\|`[]<>":
        text = text.replace(ch, "\\" + ch)
    return text


def _ts(value: datetime | None) -> dg.MetadataValue:
    """ISO text of a datetime or pandas Timestamp (UTC instants from the core)."""
    return dg.MetadataValue.text(value.isoformat()) if value is not None else dg.MetadataValue.null()


# ------------------------------------------------------------------ per-file assets, one set per kind
@dataclass(frozen=True)
class FileImport:
    """One kind of landed file and its Dagster wiring: a dynamic partition per file, one step that
    materializes three assets (raw file, validated, import batch) with the ``all_rows_valid`` check,
    and the monthly assets whose months the import reports."""

    kind: str                                   # landing kind: landing.ARGUS or a KIND_FOLDERS value
    partitions: dg.DynamicPartitionsDefinition
    op_name: str                                # also the run config path: ops.<op_name>.config.strict
    job_name: str
    raw: dg.AssetSpec
    validated: dg.AssetSpec
    batch: dg.AssetSpec
    check_description: str
    run: Callable[..., steps.FileRun]           # (conn, path, service, group, *, strict, content, folders)
    reports: tuple[dg.AssetKey, ...]            # monthly assets whose months the batch wrote
    job_description: str = ""


def _specs(raw: dg.AssetKey, validated: dg.AssetKey, batch: dg.AssetKey, partitions: dg.DynamicPartitionsDefinition,
           code_version: str, descriptions: tuple[str, str, str]) -> tuple[dg.AssetSpec, dg.AssetSpec, dg.AssetSpec]:
    common = {"group_name": GROUP, "partitions_def": partitions, "owners": keys.OWNERS, "tags": keys.tags(GROUP),
              "code_version": code_version}
    raw_spec = dg.AssetSpec(raw, kinds={"file"}, description=descriptions[0], **common)
    validated_spec = dg.AssetSpec(validated, kinds={"pandas", "pandera"} if raw == ARGUS_RAW_FILE else {"pandas"},
                                  deps=[raw_spec], description=descriptions[1], **common)
    batch_spec = dg.AssetSpec(batch, kinds={"postgres"}, deps=[validated_spec], metadata=keys.table_name(batch),
                              description=descriptions[2], **common)
    return raw_spec, validated_spec, batch_spec


def _run_argus(conn, path, service_code, group_code, **options) -> steps.FileRun:
    return steps.run_file(conn, path, service_code, group_code, **options)


def _record_runner(kind: RecordFileKind) -> Callable[..., steps.FileRun]:
    def run(conn, path, service_code, group_code, **options) -> steps.FileRun:
        # group_code is always None here: the partition key's folder part is the kind's reserved folder
        return run_record_file(conn, path, service_code, kind, analyze=True, **options)
    return run


RAW_FILE, VALIDATED, IMPORT_BATCH = _specs(
    ARGUS_RAW_FILE, ARGUS_VALIDATED, ARGUS_IMPORT_BATCH, argus_files_partitions, FILE_CODE_VERSION, (
        f"A landed Argus file, one partition per file ({KEY_FORMAT}): found in the landing "
        "folder or the archive and confirmed by its sha256. `file_path` is where the file is now "
        "(the archive after an import, rejected/ after a rejection).",
        "The file parsed and validated (pandera DataFrameModel): rows total/valid/rejected with "
        "row, column, code, message and value of the first errors. A file rejected as a whole "
        "(unreadable, too few columns, no data, unknown service or group) shows `status` rejected "
        "and fails the `all_rows_valid` check.",
        "The file's import batch: history rows COPYed and upserted into contact_statistics "
        "(latest batch wins) in one transaction with import_batches/import_errors. Reports an "
        "AssetMaterialization of every contact_statistics month it touched; the file then moves "
        "to the archive (`archive/SERVICE/YYYY/MM/`), or to `rejected/` with its `.errors.csv` "
        "when nothing was imported."))

ARGUS_FILES = FileImport(
    kind=landing.ARGUS, partitions=argus_files_partitions, op_name=OP_NAME, job_name="argus_file_import",
    raw=RAW_FILE, validated=VALIDATED, batch=IMPORT_BATCH, run=_run_argus, reports=(CONTACT_STATISTICS,),
    check_description="Every data row passed the Argus schema (pandera, lazy: all errors collected). "
                      "WARN: some rows rejected (recorded in import_errors, not imported); ERROR: no valid row, "
                      "or the file was rejected as a whole.",
    job_description="Import one landed Argus file (one partition of argus_files). Config: "
                    "ops.argus_import_batch.config.strict.")

call_files_partitions = dg.DynamicPartitionsDefinition(name="call_files")
CALL_FILES = FileImport(
    kind="calls", partitions=call_files_partitions, op_name="call_import_batch", job_name="call_file_import",
    **dict(zip(("raw", "validated", "batch"), _specs(
        keys.CALL_RAW_FILE, keys.CALL_VALIDATED, keys.CALL_IMPORT_BATCH, call_files_partitions, RECORD_CODE_VERSION, (
            "A landed call-record file (`SERVICE/calls/FILE@SHA12`, dropped into `$WFM_LANDING_DIR/SERVICE/calls/`): "
            "found in the landing folder or the archive and confirmed by its sha256. `file_path` is where it is now.",
            "The call records parsed and validated (one row per call: times, outcome, agent): rows total/valid/"
            "rejected with the first errors. A file rejected as a whole (unreadable, a required column missing, "
            "no rows, unknown service) shows `status` rejected and fails the `all_rows_valid` check.",
            "The file's import batch (kind calls): calls COPYed into call_records (a call sent again replaces its "
            "earlier version), the intervals of contact_statistics and the agent_activity rows derived in the "
            "same transaction (metadata: intervals and agent rows written). Reports the months of "
            "contact_statistics and agent_activity it wrote and judges the agent_activity checks for them; the "
            "file then moves to the archive, or to `rejected/SERVICE/calls/` with its `.errors.csv`.")))),
    run=_record_runner(CALL_RECORD_FILES), reports=(CONTACT_STATISTICS, keys.AGENT_ACTIVITY),
    check_description="Every call record passed validation (times, outcome, duplicates, ...). WARN: some rows "
                      "rejected (recorded in import_errors, not imported); ERROR: no valid row, or the file was "
                      "rejected as a whole.",
    job_description="Import one landed call-record file (one partition of call_files). Config: "
                    "ops.call_import_batch.config.strict.")

agent_files_partitions = dg.DynamicPartitionsDefinition(name="agent_state_files")
AGENT_FILES = FileImport(
    kind="agent_states", partitions=agent_files_partitions, op_name="agent_states_import_batch",
    job_name="agent_states_file_import",
    **dict(zip(("raw", "validated", "batch"), _specs(
        keys.AGENT_STATES_RAW_FILE, keys.AGENT_STATES_VALIDATED, keys.AGENT_STATES_IMPORT_BATCH,
        agent_files_partitions, RECORD_CODE_VERSION, (
            "A landed agent-state file (`SERVICE/agents/FILE@SHA12`, dropped into "
            "`$WFM_LANDING_DIR/SERVICE/agents/`): found in the landing folder or the archive and confirmed by its "
            "sha256. `file_path` is where it is now.",
            "The agent state events parsed and validated (agent, state, time; order, duplicates, sessions): rows "
            "total/valid/rejected with the first errors. A file rejected as a whole shows `status` rejected and "
            "fails the `all_rows_valid` check.",
            "The file's import batch (kind agent_states): events COPYed into agent_state_transitions and the "
            "agent_activity rows (logged-in, ready, not-ready seconds) derived in the same transaction. Reports "
            "the agent_activity months it wrote and judges their checks; the file then moves to the archive, or "
            "to `rejected/SERVICE/agents/` with its `.errors.csv`.")))),
    run=_record_runner(AGENT_STATE_FILES), reports=(keys.AGENT_ACTIVITY,),
    check_description="Every agent state event passed validation (state, time order, duplicates, sessions). WARN: "
                      "some rows rejected (recorded in import_errors, not imported); ERROR: no valid row, or the "
                      "file was rejected as a whole.",
    job_description="Import one landed agent-state file (one partition of agent_state_files). Config: "
                    "ops.agent_states_import_batch.config.strict.")

FILE_IMPORTS: dict[str, FileImport] = {f.kind: f for f in (ARGUS_FILES, CALL_FILES, AGENT_FILES)}


def file_import_asset(spec: FileImport) -> dg.AssetsDefinition:
    """The one step of a file kind (see the module doc)."""

    @dg.multi_asset(
        name=spec.op_name,
        specs=[spec.raw, spec.validated, spec.batch],
        check_specs=[dg.AssetCheckSpec("all_rows_valid", asset=spec.validated.key, description=spec.check_description)],
        partitions_def=spec.partitions,
    )
    def _import(context: dg.AssetExecutionContext, config: ArgusImportConfig, wfm_db: WfmDatabase):
        yield from _import_file(context, config, wfm_db, spec)

    return _import


def _import_file(context: dg.AssetExecutionContext, config: ArgusImportConfig, wfm_db: WfmDatabase,
                 spec: FileImport):
    """Find the partition's file, then the kind's ``run`` on the bytes read (see the module doc)."""
    settings = get_settings()
    folders = landing.Folders.of(settings)
    if spec.kind == landing.ARGUS:
        _prune_legacy_pickles(context)
    key = landing.parse_partition_key(context.partition_key)
    if key.kind != spec.kind:
        raise dg.Failure(description=f"partition {context.partition_key!r} names a {key.kind} file, not a {spec.kind} "
                                     "file", allow_retries=False)
    found = landing.locate_file(key, folders.landing, folders.archive)
    if found is None:
        # term: the rejected copies keep the file's own name, which may hold terminal controls
        raise dg.Failure(description=term(_not_found(context.partition_key, key, folders)), allow_retries=False)
    location = "landing" if folders.holds(found.path) else "archive"
    with wfm_db.connection() as conn:
        try:
            run = spec.run(conn, found.path, key.service_code, key.group_code, strict=config.strict,
                           content=found, folders=folders)
        except ImportFailedError as exc:  # audited as a `failed` batch already
            raise _failure(exc, found.path) from None  # the reason says it all; no stack trace
        result = run.result
        touched = months.partition_keys(_month_dates(result.months))
        wrote = bool(result.status in ("completed", "completed_with_errors") and result.rows_inserted + result.rows_updated)
        derived = _derived(conn, result) if spec.kind != landing.ARGUS else {}
        written = _months_written(conn, spec, run) if wrote else {}
        month_rows = {k: _month_rows(conn, run, k, m) for k, m in written.items() if k == CONTACT_STATISTICS}
        batch_table = tables.table_metadata(conn, spec.batch.key)
        month_table = tables.table_metadata(conn, CONTACT_STATISTICS) if CONTACT_STATISTICS in written else {}
        conn.rollback()
        batch_id = str(result.import_batch_id) if result.import_batch_id else ""
        if batch_id:  # the Runs page can be filtered by this tag
            context.instance.add_run_tags(context.run.run_id, {"wfm/import_batch_id": batch_id})
        if run.moved.error:  # the import is done; the file could not be moved (metadata move_error too)
            context.log.error(term(run.moved.error))
        if run.analyze_error:
            context.log.warning(term(run.analyze_error))
        if result.status == "rejected":
            context.log.warning(f"{term(found.name)}: rejected: {term(result.error_message)} (batch {batch_id})")

        yield dg.MaterializeResult(asset_key=spec.raw.key, metadata=_raw_file_metadata(run, location))
        yield dg.MaterializeResult(asset_key=spec.validated.key, metadata=_validated_metadata(run, touched))
        yield _check(context, run, spec.validated.key)
        yield dg.MaterializeResult(asset_key=spec.batch.key, metadata={
            **_batch_metadata(result, run.moved, touched, config.strict), **derived, **batch_table})
        # after the batch's own event: the months are newer than everything that fed them
        if CONTACT_STATISTICS in written:
            _report_months(context, written[CONTACT_STATISTICS], month_rows[CONTACT_STATISTICS], batch_id,
                           found.name, month_table)
        if keys.AGENT_ACTIVITY in written:
            activity.report_months(context, conn, written[keys.AGENT_ACTIVITY], batch_id, found.name)
            conn.rollback()


def _months_written(conn, spec: FileImport, run: steps.FileRun) -> dict[dg.AssetKey, list[str]]:
    """Month partition keys per monthly asset the batch wrote."""
    result = run.result
    written: dict[dg.AssetKey, list[str]] = {}
    if CONTACT_STATISTICS in spec.reports:
        written[CONTACT_STATISTICS] = months.partition_keys(_month_dates(result.months))
    if keys.AGENT_ACTIVITY in spec.reports:
        target = run.inspection.target
        written[keys.AGENT_ACTIVITY] = months.partition_keys(consistency.activity_months(
            conn, result.import_batch_id, target.service_id, _instant(result.first_interval),
            _instant(result.last_interval), result.months))
    return written


def _instant(value) -> datetime | None:
    return None if value is None else pd.Timestamp(value).to_pydatetime()


def _derived(conn, result: ImportResult) -> dict:
    """What a call-record or agent-state load derived (its batch's details), as metadata."""
    if not result.import_batch_id or result.status not in ("completed", "completed_with_errors"):
        return {}
    details = batches.get_batch(conn, result.import_batch_id, error_limit=0).row.get("details") or {}
    return {name: dg.MetadataValue.int(int(details[name])) for name in DERIVED_COUNTS if details.get(name) is not None}


def _month_rows(conn, run: steps.FileRun, key: dg.AssetKey, month_keys: list[str]) -> dict[str, int]:
    """Rows per written month: the partition's estimate after the import's ANALYZE step (no count
    of the month, so the cost does not grow with the data), counted only where that step gave none."""
    table = keys.TABLES[key]
    rows = {m.month.isoformat(): m.estimated_rows for m in run.analyzed if m.month is not None and m.table == table}
    missing = [date.fromisoformat(m) for m in month_keys if m not in rows]
    if missing:
        rows.update(batches.month_row_counts(conn, missing))
    return rows


def _month_dates(labels: list[str]) -> list[date]:
    """``["2024-01", ...]`` (the core's month labels) as first-of-month dates."""
    return [date.fromisoformat(f"{m}-01") for m in labels]


argus_file_import = file_import_asset(ARGUS_FILES)
call_file_import = file_import_asset(CALL_FILES)
agent_states_file_import = file_import_asset(AGENT_FILES)


def _not_found(partition_key: str, key: landing.FileKey, folders: landing.Folders) -> str:
    where = (f"nothing named {key.name!r} with sha256 {key.sha_prefix}… in {folders.landing / key.service_code} "
             f"or {folders.archive / key.service_code}")
    rejected = landing.rejected_copies(key, folders.rejected)
    if rejected:
        return (f"no file for partition {partition_key!r}: {where}; it was rejected: {', '.join(map(str, rejected))} "
                "(see its .errors.csv; correct it and drop it into the landing folder again)")
    return f"no file for partition {partition_key!r}: {where} (moved, deleted or changed since it landed)"


def _failure(exc: ImportFailedError, path: Path) -> dg.Failure:
    result = exc.result
    # term: the message names the file as dropped (controls and all); the run worker prints it on
    # the console of `wfm dev` as well as in the UI
    return dg.Failure(
        description=term(f"{exc} - the file stays at {path}; re-execute the run once the cause is gone"),
        metadata={"import_batch_id": str(exc.import_batch_id or ""), "status": "failed",
                  "file_path": dg.MetadataValue.path(str(path)),
                  "reason": term((result.error_message if result else None) or str(exc))})


def _raw_file_metadata(run: steps.FileRun, location: str) -> dict:
    insp = run.inspection
    target = insp.target
    return {
        "file_path": dg.MetadataValue.path(str(run.moved.to or insp.path)),
        "found_in": location,
        "location": "rejected" if run.result.status == "rejected" and run.moved.to else (
            "archive" if run.moved.to else location),
        "sha256": insp.sha256 or "",
        "bytes": dg.MetadataValue.int(insp.content.size if insp.content else 0),
        "service": target.service_code if target else "",
        "group": (target.group_code or "(service level)") if target else "",
    }


def _validated_metadata(run: steps.FileRun, touched: list[str]) -> dict:
    result, validation = run.result, run.validation
    if validation is None:  # not validated: rejected as a whole, or known content
        verdict = "duplicate" if result.status == "duplicate" else "rejected"
        metadata = {"status": verdict, "rows_total": dg.MetadataValue.int(result.rows_total),
                    "sha256": run.inspection.sha256 or ""}
        if verdict == "rejected":
            error = result.errors[-1]
            metadata.update({"error_code": error.code, "error_message": term(error.message),
                             "first_errors": _errors_table(result.errors)})
        else:
            metadata["duplicate_of"] = str(result.duplicate_of)
        return metadata
    metadata = {
        "status": "validated",
        "rows_total": dg.MetadataValue.int(validation.rows_total),
        "rows_valid": dg.MetadataValue.int(len(validation.valid)),
        "rows_rejected": dg.MetadataValue.int(validation.rejected),
        "rows_skipped_duplicates": dg.MetadataValue.int(validation.skipped),
        "first_interval": _ts(validation.first_interval),
        "last_interval": _ts(validation.last_interval),
        "months_touched": dg.MetadataValue.json(months.partition_keys(_month_dates(validation.months))),
        "errors_by_code": dg.MetadataValue.json(_errors_by_code(validation.errors)),
        "sha256": run.inspection.sha256 or "",
    }
    if validation.errors:
        metadata["first_errors"] = _errors_table(validation.errors)
    return metadata


def _check(context: dg.AssetExecutionContext, run: steps.FileRun,
           validated: dg.AssetKey = ARGUS_VALIDATED) -> dg.AssetCheckResult:
    result, validation = run.result, run.validation
    if validation is None and result.status == "duplicate":
        return dg.AssetCheckResult(
            check_name="all_rows_valid", asset_key=validated, passed=True,
            description=f"same content as batch {result.duplicate_of}, validated when it was imported",
            metadata={"partition": context.partition_key, "duplicate_of": str(result.duplicate_of)})
    errors = validation.errors if validation is not None else result.errors
    rejected = validation.rejected if validation is not None else result.rows_rejected
    valid = len(validation.valid) if validation is not None else 0
    return dg.AssetCheckResult(
        check_name="all_rows_valid", asset_key=validated,
        passed=validation is not None and rejected == 0,
        # ERROR when the file contributes nothing at all; WARN when some rows were rejected
        severity=dg.AssetCheckSeverity.ERROR if valid == 0 else dg.AssetCheckSeverity.WARN,
        description=None if validation is not None else f"file rejected: {term(result.error_message)}",
        metadata={
            "partition": context.partition_key,
            "rows_rejected": dg.MetadataValue.int(rejected),
            "errors_by_code": dg.MetadataValue.json(_errors_by_code(errors)),
            "first_errors": dg.MetadataValue.md(_errors_markdown(errors, len(errors))),
        },
    )


def _batch_metadata(result: ImportResult, moved: steps.Moved, touched: list[str], strict: bool) -> dict:
    batch_id = str(result.import_batch_id) if result.import_batch_id else ""
    metadata = {
        "import_batch_id": batch_id,
        "status": result.status,
        "show_batch": dg.MetadataValue.md(f"`wfm batches show {batch_id}`"),
        "rows_total": dg.MetadataValue.int(result.rows_total),
        "rows_inserted": dg.MetadataValue.int(result.rows_inserted),
        "rows_updated": dg.MetadataValue.int(result.rows_updated),
        "rows_rejected": dg.MetadataValue.int(result.rows_rejected),
        "rows_skipped": dg.MetadataValue.int(result.rows_skipped),
        "first_interval": _ts(result.first_interval),
        "last_interval": _ts(result.last_interval),
        "months_touched": dg.MetadataValue.json(touched),
        "strict": strict,
        "dagster/row_count": dg.MetadataValue.int(result.rows_inserted + result.rows_updated),
    }
    if result.status == "duplicate":
        metadata["duplicate_of"] = str(result.duplicate_of)
    if result.status == "rejected":
        metadata["error_message"] = term(result.error_message)
        metadata["first_errors"] = _errors_table(result.errors)
    if moved.to is not None:
        metadata["rejected_to" if result.status == "rejected" else "archived_to"] = dg.MetadataValue.path(str(moved.to))
    if moved.error:
        metadata["move_error"] = term(moved.error)
    return metadata


def _errors_by_code(errors) -> dict[str, int]:
    return dict(sorted(Counter(e.code for e in errors).items()))


def _report_months(context: dg.AssetExecutionContext, touched: list[str], month_rows: dict[str, int],
                   batch_id: str, file_name: str, table: dict) -> None:
    """The batch changed these months of contact_statistics: record them as materializations, so
    the monthly partitions show as up to date (with this batch) without a rebuild run. The batch id
    is the event's data version (shown with the event)."""
    for month_key in touched:
        if not months.in_range(month_key):
            context.log.warning(f"month {month_key} is outside the contact_statistics partitions "
                                f"(from {months.FIRST_MONTH} to the current month); not reported")
            continue
        context.log_event(dg.AssetMaterialization(
            asset_key=CONTACT_STATISTICS, partition=month_key,
            description=f"upserted by import batch {batch_id} ({term(file_name)})",
            tags={DATA_VERSION_TAG: batch_id},
            metadata={"import_batch_id": batch_id, "file": context.partition_key, **table,
                      "dagster/row_count": dg.MetadataValue.int(month_rows.get(month_key, 0))}))


def _prune_legacy_pickles(context: dg.AssetExecutionContext) -> None:
    """Remove the pickles the former three-step chain left under ``$DAGSTER_HOME/storage``."""
    storage = Path(context.instance.storage_directory())
    for name in LEGACY_PICKLES:
        folder = storage / name
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
            context.log.info(f"removed {folder} (pickles of the former file assets; nothing reads them)")


# ------------------------------------------------------------------ monthly table
@dg.asset(
    key=CONTACT_STATISTICS,
    partitions_def=contact_statistics_months,
    group_name=GROUP,
    kinds={"postgres"},
    owners=keys.OWNERS,
    tags=keys.tags(GROUP),
    code_version=MONTH_CODE_VERSION,
    metadata=keys.table_name(CONTACT_STATISTICS),
    # Lineage only: no month depends on a file partition (see the module doc).
    deps=[dg.AssetDep(ARGUS_IMPORT_BATCH, partition_mapping=dg.SpecificPartitionsPartitionMapping([])),
          dg.AssetDep(keys.CALL_IMPORT_BATCH, partition_mapping=dg.SpecificPartitionsPartitionMapping([]))],
    description="wfm.contact_statistics, one partition per UTC month. File imports upsert into it "
                "(and report the months they touched); materializing a month rebuilds it from the batch "
                "history (newest applied, non-reverted batch per interval).",
)
def contact_statistics(context: dg.AssetExecutionContext, wfm_db: WfmDatabase) -> dg.MaterializeResult:
    month = context.partition_time_window.start.date()
    with wfm_db.connection() as conn:
        deleted, inserted = batches.rebuild_month(conn, month)
        # A rebuild rewrites the whole month: its statistics, like after a large import.
        analyzed = maintenance.analyze_touched(conn, keys.TABLES[CONTACT_STATISTICS], {month: deleted + inserted})
        fed = batches.month_batches(conn, month)
        table = tables.table_metadata(conn, CONTACT_STATISTICS, row_count=inserted)  # the rebuild's own count
        conn.rollback()
    context.log.info(f"{month:%Y-%m}: {deleted} rows deleted, {inserted} rebuilt from the history; analyzed "
                     + (", ".join(a.partition for a in analyzed if a.analyzed) or "nothing"))
    return dg.MaterializeResult(metadata={
        **table,
        "rows_deleted_before_rebuild": dg.MetadataValue.int(deleted),
        "batches": dg.MetadataValue.int(len(fed)),
        "batches_that_fed_the_month": _batches_table(fed),
    })


def _batches_table(batches) -> dg.TableMetadataValue:
    return dg.MetadataValue.table(
        records=[dg.TableRecord({k: (v.isoformat() if isinstance(v, (datetime, date)) else v)
                                 for k, v in b.items()}) for b in batches],
        schema=dg.TableSchema(columns=[
            dg.TableColumn("import_batch_id", "string"), dg.TableColumn("file_name", "string"),
            dg.TableColumn("status", "string"), dg.TableColumn("created_at", "string"),
            dg.TableColumn("rows_in_history", "int"), dg.TableColumn("rows_current", "int")]),
    )


def _file_job(spec: FileImport, asset: dg.AssetsDefinition):
    return dg.define_asset_job(spec.job_name, selection=dg.AssetSelection.assets(asset),
                               description=spec.job_description)


argus_file_import_job = _file_job(ARGUS_FILES, argus_file_import)
call_file_import_job = _file_job(CALL_FILES, call_file_import)
agent_states_file_import_job = _file_job(AGENT_FILES, agent_states_file_import)
FILE_JOBS: dict = {
    ARGUS_FILES.kind: argus_file_import_job, CALL_FILES.kind: call_file_import_job,
    AGENT_FILES.kind: agent_states_file_import_job}

contact_statistics_rebuild_job = dg.define_asset_job(
    "contact_statistics_rebuild",
    # Without the health suite's checks on contact_statistics (seconds each, on their own schedule).
    selection=dg.AssetSelection.assets(contact_statistics).without_checks(),
    description="Rebuild months of contact_statistics from the batch history.",
)


defs = dg.Definitions(
    assets=[argus_file_import, call_file_import, agent_states_file_import, contact_statistics],
    jobs=[*FILE_JOBS.values(), contact_statistics_rebuild_job],
)
