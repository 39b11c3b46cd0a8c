"""``agent_activity``: agent time per UTC month (group ``agents``), and the checks that the figures
derived from call records still add up (thin over ``wfm_pipeline.calls.consistency``).

The rows are derived where the data arrives, in the load transaction of a call-record or
agent-state batch (``wfm.apply_call_records_batch``, ``wfm.apply_agent_states_batch``), whichever
path brought it (landing folder, ``wfm import``, the SQL API). A file import run reports the months
it wrote as materializations of this asset, as the Argus import reports contact_statistics months,
and judges those months at once: it logs an evaluation of both checks below for them. Materializing
a month by itself re-reads it (rows, agents, calls handled, hours) and judges that month; it
changes nothing.

Checks (ERROR: the derivation and the stored calls disagree, which no input can cause):

* ``intervals_match_call_records``: contact_statistics rows whose newest batch is a call-record
  batch hold the counts of the current call records of their interval (offered, answered,
  abandoned; service and group rows);
* ``calls_handled_match_answered_calls``: per service and interval, agent_activity's calls
  handled sum to the answered calls with an agent.

Like contact_statistics, the dependency on the file imports is lineage only
(``SpecificPartitionsPartitionMapping([])``): no month is "Unsynced" because some file partition
changed; it has no automation condition of its own.
"""


from collections.abc import Iterable
from datetime import date

import dagster as dg
import psycopg

from wfm_pipeline.calls import consistency
from wfm_pipeline.calls.consistency import MonthVerdict
from wfm_pipeline.defs import keys, months, tables
from wfm_pipeline.defs.keys import AGENT_ACTIVITY, AGENT_STATES_IMPORT_BATCH, CALL_IMPORT_BATCH
from wfm_pipeline.defs.resources import WfmDatabase
from wfm_pipeline.textsafe import term

GROUP = keys.AGENTS
CODE_VERSION = "1"  # bump with a change of what a month's materialization reads or judges
INTERVALS_CHECK = "intervals_match_call_records"
HANDLED_CHECK = "calls_handled_match_answered_calls"
agent_activity_months = dg.MonthlyPartitionsDefinition(
    start_date=months.FIRST_MONTH, timezone="UTC", end_offset=1)  # as contact_statistics

CHECK_SPECS = [
    dg.AssetCheckSpec(
        INTERVALS_CHECK, asset=AGENT_ACTIVITY,
        description="contact_statistics rows derived from call records (newest batch a call-record batch) hold "
                    "exactly the counts of the current call records of their 15-minute interval: offered "
                    "(non_unique_incoming), answered, abandoned, for the service row and each group row; an "
                    "interval with calls and no row fails too. Judged for the months an import wrote (ERROR)."),
    dg.AssetCheckSpec(
        HANDLED_CHECK, asset=AGENT_ACTIVITY,
        description="Per service and 15-minute interval, agent_activity.calls_handled sums to the current answered "
                    "call records with an agent answered in that interval. Judged for the months an import "
                    "wrote (ERROR)."),
]
_JUDGES = ((INTERVALS_CHECK, consistency.interval_counts), (HANDLED_CHECK, consistency.calls_handled))


def judge(conn: psycopg.Connection, month_dates: Iterable[date], target=None) -> list[dg.AssetCheckEvaluation]:
    """Both checks over ``month_dates`` (one evaluation each, all months together); read-only.
    ``target``: the materialization the evaluations judge (when logged outside the asset's step)."""
    month_dates = sorted(set(month_dates))
    evaluations = []
    for name, judge_month in _JUDGES:
        verdicts = [judge_month(conn, m) for m in month_dates]
        evaluations.append(_evaluation(name, verdicts, target))
    conn.rollback()
    return evaluations


def _evaluation(name: str, verdicts: list[MonthVerdict], target=None) -> dg.AssetCheckEvaluation:
    bad = [v for v in verdicts if not v.passed]
    compared = sum(v.compared for v in verdicts)
    judged = ", ".join(f"{v.month:%Y-%m}" for v in verdicts) or "no month"
    if bad:
        description = "; ".join(f"{v.month:%Y-%m}: {v.mismatched} of {v.compared} intervals disagree" for v in bad)
    else:
        description = f"{compared} intervals agree ({judged})"
    examples = [dict(e, month=f"{v.month:%Y-%m}") for v in bad for e in v.examples][:consistency.MAX_SHOWN]
    metadata: dict = {
        "months": dg.MetadataValue.json([f"{v.month:%Y-%m}" for v in verdicts]),
        "intervals_compared": dg.MetadataValue.int(compared),
        "intervals_mismatched": dg.MetadataValue.int(sum(v.mismatched for v in verdicts)),
    }
    if examples:
        metadata["first_mismatches"] = _examples_table(examples)
    return dg.AssetCheckEvaluation(asset_key=AGENT_ACTIVITY, check_name=name, passed=not bad,
                                   severity=dg.AssetCheckSeverity.ERROR, description=term(description),
                                   metadata=metadata, target_materialization_data=target)


def _examples_table(examples: list[dict]) -> dg.TableMetadataValue:
    columns = list(dict.fromkeys(k for e in examples for k in e))
    return dg.MetadataValue.table(
        records=[dg.TableRecord({c: (None if e.get(c) is None else str(e[c]) if isinstance(e.get(c), str)
                                     else e[c]) for c in columns}) for e in examples],
        schema=dg.TableSchema(columns=[
            dg.TableColumn(c, "int" if all(isinstance(e.get(c), int) or e.get(c) is None for e in examples)
                           else "string") for c in columns]))


def report_months(context: dg.AssetExecutionContext, conn: psycopg.Connection, month_keys: list[str],
                  batch_id: str, file_name: str) -> None:
    """A file import wrote these months of agent_activity: log their materializations (after the
    batch's own event), then both checks judged over them (an evaluation each, pointing at the
    newest of those materializations)."""
    reported = [m for m in month_keys if months.in_range(m)]
    for m in sorted(set(month_keys) - set(reported)):
        context.log.warning(f"month {m} is outside the agent_activity partitions "
                            f"(from {months.FIRST_MONTH} to the current month); not reported")
    if not reported:
        return
    table = tables.table_metadata(conn, AGENT_ACTIVITY)
    month_dates = [date.fromisoformat(m) for m in reported]
    for month in month_dates:
        summary = consistency.month_summary(conn, month)
        context.log_event(dg.AssetMaterialization(
            asset_key=AGENT_ACTIVITY, partition=month.isoformat(),
            description=f"derived by import batch {batch_id} ({term(file_name)})",
            tags={"dagster/data_version": batch_id},
            metadata={"import_batch_id": batch_id, "file": context.partition_key, **table,
                      **_summary_metadata(summary)}))
    for evaluation in judge(conn, month_dates, _latest_materialization(context.instance)):
        context.log_event(evaluation)


def _latest_materialization(instance: dg.DagsterInstance):
    """Where an evaluation logged outside the asset's own step points (the newest materialization)."""
    from dagster._core.definitions.asset_checks.asset_check_evaluation import (  # not re-exported
        AssetCheckEvaluationTargetMaterializationData)

    records = instance.fetch_materializations(AGENT_ACTIVITY, limit=1).records
    if not records:
        return None
    record = records[0]
    return AssetCheckEvaluationTargetMaterializationData(storage_id=record.storage_id, run_id=record.run_id,
                                                         timestamp=record.timestamp)


def _summary_metadata(summary: dict) -> dict:
    logged_in = summary.get("logged_in_seconds")
    return {
        "dagster/row_count": dg.MetadataValue.int(int(summary["rows"])),
        "agents": dg.MetadataValue.int(int(summary["agents"])),
        "services": dg.MetadataValue.int(int(summary["services"])),
        "calls_handled": dg.MetadataValue.int(int(summary["calls_handled"])),
        "talk_hours": dg.MetadataValue.float(round(float(summary["talk_seconds"]) / 3600, 2)),
        "post_processing_hours": dg.MetadataValue.float(round(float(summary["post_processing_seconds"]) / 3600, 2)),
        # unknown (no agent states in the month) is not zero hours
        "logged_in_hours": (dg.MetadataValue.float(round(float(logged_in) / 3600, 2)) if logged_in is not None
                            else dg.MetadataValue.text("unknown (no agent states)")),
    }


@dg.asset(
    key=AGENT_ACTIVITY,
    partitions_def=agent_activity_months,
    group_name=GROUP,
    kinds={"postgres"},
    owners=keys.OWNERS,
    tags=keys.tags(GROUP),
    code_version=CODE_VERSION,
    metadata=keys.table_name(AGENT_ACTIVITY),
    # Lineage only: no month depends on a file partition (see the module doc).
    deps=[dg.AssetDep(CALL_IMPORT_BATCH, partition_mapping=dg.SpecificPartitionsPartitionMapping([])),
          dg.AssetDep(AGENT_STATES_IMPORT_BATCH, partition_mapping=dg.SpecificPartitionsPartitionMapping([]))],
    check_specs=CHECK_SPECS,
    description="wfm.agent_activity, one partition per UTC month: talk, wrap-up and calls handled per agent, "
                "service and 15-minute interval from call records; logged-in, ready and not-ready from agent "
                "states. Derived by the imports (which report the months they wrote); materializing a month "
                "re-reads it and judges it with both checks, without changing it.",
)
def agent_activity(context: dg.AssetExecutionContext, wfm_db: WfmDatabase):
    month = context.partition_time_window.start.date()
    with wfm_db.connection() as conn:
        summary = consistency.month_summary(conn, month)
        table = tables.table_metadata(conn, AGENT_ACTIVITY)
        evaluations = judge(conn, [month])
    yield dg.MaterializeResult(metadata={**table, **_summary_metadata(summary)})
    for e in evaluations:
        yield dg.AssetCheckResult(check_name=e.check_name, passed=e.passed, severity=e.severity,
                                  description=e.description, metadata=e.metadata)


defs = dg.Definitions(assets=[agent_activity])
