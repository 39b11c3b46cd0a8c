"""Dagster assets of the Argus file import (group ``ingest``), thin over ``wfm_pipeline.argus``.

Per landed file (dynamic partitions ``argus_files``)::

    argus_raw_file ─► argus_validated ─► argus_import_batch ─┐  (AssetMaterialization of every
                      (check: all_rows_valid)                 │   month the batch touched)
                                                              ▼
                                           contact_statistics[month]  (monthly, UTC)

``contact_statistics[month]`` materialized by itself rebuilds that month from the batch
history (``wfm.rebuild_contact_statistics_month``): the table can always be reconstructed.
"""

import os
from datetime import date, datetime
from pathlib import Path

import dagster as dg
from pydantic import Field

from wfm_pipeline.argus import batches
from wfm_pipeline.defs.resources import WfmDatabase
from wfm_pipeline.argus import landing
from wfm_pipeline.defs import months
from wfm_pipeline.argus import steps as core
from wfm_pipeline.argus.steps import ArgusFile
from wfm_pipeline.settings import get_settings
from wfm_pipeline.textsafe import term

GROUP = "ingest"
FIRST_ERRORS_SHOWN = 50

argus_files_partitions = dg.DynamicPartitionsDefinition(name="argus_files")
contact_statistics_months = dg.MonthlyPartitionsDefinition(
    start_date=months.FIRST_MONTH, timezone="UTC", end_offset=1)  # end_offset=1: the current month too


class ArgusImportConfig(dg.Config):
    """Run config of the per-file load (the Dagster equivalent of ``wfm import --strict``)."""

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


# ------------------------------------------------------------------ per-file assets
@dg.asset(
    partitions_def=argus_files_partitions,
    group_name=GROUP,
    kinds={"file"},
    description="A landed Argus file (partition key <service>/<group or _>/<name>@<sha256 prefix>): "
                "located in the landing folder or the archive and verified by its sha256.",
)
def argus_raw_file(context: dg.AssetExecutionContext) -> dg.Output[ArgusFile]:
    settings = get_settings()
    key = landing.parse_partition_key(context.partition_key)
    found = landing.locate(key, settings.landing_dir, settings.archive_dir)
    if found is None:
        raise dg.Failure(
            description=f"no file for partition {context.partition_key!r}: nothing named {key.name!r} with "
                        f"sha256 {key.sha_prefix}… in {settings.landing_dir / key.service_code} or "
                        f"{settings.archive_dir / key.service_code} (moved, deleted or changed since it landed)")
    path, sha256 = found
    raw = ArgusFile(
        partition_key=context.partition_key, path=str(path), file_name=path.name,
        sha256=sha256, bytes=path.stat().st_size,
        service_code=key.service_code, group_code=key.group_code,
        location="landing" if landing.is_within(path, settings.landing_dir) else "archive",
    )
    return dg.Output(raw, metadata={
        "file_path": dg.MetadataValue.path(raw.path),
        "sha256": raw.sha256,
        "bytes": dg.MetadataValue.int(raw.bytes),
        "service": raw.service_code,
        "group": raw.group_code or "(service level)",
        "location": raw.location,
    })


@dg.asset(
    partitions_def=argus_files_partitions,
    group_name=GROUP,
    kinds={"pandas", "pandera"},
    check_specs=[dg.AssetCheckSpec(
        "all_rows_valid", asset="argus_validated",
        description="Every data row passed the Argus schema (pandera, lazy: all errors collected). "
                    "WARN: some rows rejected (recorded in import_errors, not imported); ERROR: no valid row.")],
    description="The file read and validated (pandera DataFrameModel): valid rows in UTC plus the "
                "rejected rows with row/column/code/message/value. A file rejected as a whole "
                "(unreadable, too few columns, no data) fails here and moves to rejected/.",
)
def argus_validated(context: dg.AssetExecutionContext, wfm_db: WfmDatabase, argus_raw_file: ArgusFile):
    settings = get_settings()
    with wfm_db.connection() as conn:
        result = core.validate(conn, argus_raw_file)
    if result.file_error is not None:
        _reject_file(context, argus_raw_file, [result.file_error], settings)
        raise dg.Failure(
            description=f"{argus_raw_file.file_name}: {result.file_error.code}: {result.file_error.message}",
            metadata={"errors": _errors_table([result.file_error]),
                      "import_batch_id": result.rejected_batch_id or ""})

    touched = months.partition_keys(result.months)
    metadata = {
        "rows_total": dg.MetadataValue.int(result.rows_total),
        "rows_valid": dg.MetadataValue.int(result.rows_valid),
        "rows_rejected": dg.MetadataValue.int(result.rows_rejected),
        "rows_skipped_duplicates": dg.MetadataValue.int(result.rows_skipped),
        "first_interval": _ts(result.first_interval),
        "last_interval": _ts(result.last_interval),
        "months_touched": dg.MetadataValue.json(touched),
        "errors_by_code": dg.MetadataValue.json(result.errors_by_code),
        "sha256": argus_raw_file.sha256,
    }
    if result.errors:
        metadata["first_errors"] = _errors_table(result.errors)
    yield dg.Output(result.payload, metadata=metadata)
    yield dg.AssetCheckResult(
        check_name="all_rows_valid",
        passed=result.rows_rejected == 0,
        # ERROR when the file contributes nothing at all; WARN when some rows were rejected
        severity=dg.AssetCheckSeverity.ERROR if result.rows_valid == 0 else dg.AssetCheckSeverity.WARN,
        metadata={
            "partition": context.partition_key,
            "rows_rejected": dg.MetadataValue.int(result.rows_rejected),
            "errors_by_code": dg.MetadataValue.json(result.errors_by_code),
            "first_errors": dg.MetadataValue.md(_errors_markdown(result.errors, len(result.errors))),
        },
    )


@dg.asset(
    partitions_def=argus_files_partitions,
    group_name=GROUP,
    kinds={"postgres"},
    description="The file's import batch: history rows COPYed and upserted into contact_statistics "
                "(latest batch wins) in one transaction with import_batches/import_errors. Reports an "
                "AssetMaterialization of every contact_statistics month it touched; moves the file to "
                "archive/<service>/<yyyy>/<mm>/ (or rejected/ when nothing was imported).",
)
def argus_import_batch(context: dg.AssetExecutionContext, config: ArgusImportConfig, wfm_db: WfmDatabase,
                       argus_raw_file: ArgusFile, argus_validated) -> dg.MaterializeResult:
    settings = get_settings()
    with wfm_db.connection() as conn:
        result = core.load(conn, argus_validated, argus_raw_file, strict=config.strict)
        touched = months.partition_keys(core.month_dates(result.months))
        wrote = result.status in ("completed", "completed_with_errors") and result.rows_inserted + result.rows_updated
        month_rows = core.month_row_counts(conn, core.month_dates(result.months)) if wrote else {}
        conn.rollback()
    batch_id = str(result.import_batch_id) if result.import_batch_id else ""
    if batch_id:  # the Runs page can be filtered by this tag
        context.instance.add_run_tags(context.run.run_id, {"wfm/import_batch_id": batch_id})

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
        "strict": config.strict,
    }
    if result.status == "duplicate":
        metadata["duplicate_of"] = str(result.duplicate_of)
        context.log.info(f"{argus_raw_file.file_name}: {result.error_message}")
    if result.status == "rejected":
        # strict mode with invalid rows: nothing was imported; the file and its reasons go to rejected/
        _reject_file(context, argus_raw_file, result.errors, settings)
        raise dg.Failure(
            description=f"{argus_raw_file.file_name}: {result.error_message} (batch {batch_id})",
            metadata={**metadata, "first_errors": _errors_table(result.errors)})

    if wrote:
        _report_months(context, touched, month_rows, batch_id, argus_raw_file)
    archived = _archive_file(context, argus_raw_file, settings)
    if archived:
        metadata["archived_to"] = dg.MetadataValue.path(str(archived))
    return dg.MaterializeResult(metadata=metadata)


def _report_months(context: dg.AssetExecutionContext, touched: list[str], month_rows: dict[str, int],
                   batch_id: str, raw: ArgusFile) -> None:
    """The batch changed these months of contact_statistics: record them as materializations, so
    the monthly partitions show as up to date (with this batch) without a rebuild run."""
    for month_key in touched:
        if not months.in_range(month_key):
            context.log.warning(f"month {month_key} is outside the contact_statistics partitions "
                                f"(from {months.FIRST_MONTH} to the current month); not reported")
            continue
        context.log_event(dg.AssetMaterialization(
            asset_key="contact_statistics", partition=month_key,
            description=f"upserted by import batch {batch_id} ({raw.file_name})",
            metadata={"import_batch_id": batch_id, "file": raw.partition_key,
                      "row_count": dg.MetadataValue.int(month_rows.get(month_key, 0))}))


def _reject_file(context, raw: ArgusFile, errors, settings) -> None:
    """Move a landing file to rejected/ with its .errors.csv (an archived file stays where it is)."""
    path = Path(raw.path)
    if not os.path.lexists(path) or not landing.is_within(path.parent, settings.landing_dir):
        context.log.info(f"{term(raw.path)} is not in the landing folder; left in place")
        return
    target = landing.reject(path, list(errors), settings.rejected_dir, settings.landing_dir)
    context.log.warning(f"{term(raw.file_name)}: moved to {term(target)} with {term(target.name)}.errors.csv")


def _archive_file(context, raw: ArgusFile, settings) -> Path | None:
    path = Path(raw.path)
    if not landing.is_within(path.parent, settings.landing_dir):
        return None
    if not os.path.lexists(path):  # archived meanwhile (the sensor archives known content it finds again)
        return None
    target = landing.archive(path, raw.service_code, raw.sha256, settings.archive_dir,
                             landing_dir=settings.landing_dir)
    context.log.info(f"{term(raw.file_name)}: archived to {term(target)}")
    return target


# ------------------------------------------------------------------ monthly table
@dg.asset(
    partitions_def=contact_statistics_months,
    group_name=GROUP,
    kinds={"postgres"},
    deps=[dg.AssetDep("argus_import_batch", partition_mapping=dg.AllPartitionMapping())],
    description="wfm.contact_statistics, one partition per UTC month. File imports upsert into it "
                "(and report the months they touched); materializing a month rebuilds it from the batch "
                "history (newest applied, non-reverted batch per interval).",
)
def contact_statistics(context: dg.AssetExecutionContext, wfm_db: WfmDatabase) -> dg.MaterializeResult:
    month = context.partition_time_window.start.date()
    with wfm_db.connection() as conn:
        deleted, inserted = batches.rebuild_month(conn, month)
        fed = batches.month_batches(conn, month)
        conn.rollback()
    return dg.MaterializeResult(metadata={
        "row_count": dg.MetadataValue.int(inserted),
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


argus_file_import_job = dg.define_asset_job(
    "argus_file_import",
    selection=dg.AssetSelection.assets(argus_raw_file, argus_validated, argus_import_batch),
    description="Import one landed Argus file (one partition of argus_files). Config: "
                "ops.argus_import_batch.config.strict.",
)

contact_statistics_rebuild_job = dg.define_asset_job(
    "contact_statistics_rebuild",
    # Without the health suite's checks on contact_statistics (seconds each, on their own schedule).
    selection=dg.AssetSelection.assets(contact_statistics).without_checks(),
    description="Rebuild months of contact_statistics from the batch history.",
)


defs = dg.Definitions(
    assets=[argus_raw_file, argus_validated, argus_import_batch, contact_statistics],
    jobs=[argus_file_import_job, contact_statistics_rebuild_job],
)
