"""Health Dagster wiring: asset checks on contact_statistics and the views, built on the SQL
validation suite, and a daily schedule that runs them.

Each SQL function runs once per check run (a multi-asset check) and its rows are split over
the asset checks below. A FAIL row fails its check with severity ERROR, a WARN row with
severity WARN; metadata shows every row's measured value against its threshold.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg

from wfm_pipeline.defs.resources import WfmDatabase
from wfm_pipeline.health import checks

CONTACT_STATISTICS = dg.AssetKey("contact_statistics")       # ingest domain
MV_HOURLY_STATS = dg.AssetKey("mv_hourly_stats")             # warehouse domain
MV_DAILY_SERVICE_STATS = dg.AssetKey("mv_daily_service_stats")


@dataclass(frozen=True)
class CheckDef:
    asset: dg.AssetKey
    name: str
    description: str
    prefixes: tuple[str, ...]   # check_name prefixes of the SQL rows this check judges


# SQL function -> the asset checks its rows feed.
CHECKS: dict[str, list[CheckDef]] = {
    "database_health_check": [
        CheckDef(CONTACT_STATISTICS, "partitions_premade",
                 "The current month and premake_months ahead have partitions (FAIL when one is missing).",
                 ("health.partitions_premade",)),
        CheckDef(CONTACT_STATISTICS, "no_rows_outside_partitions",
                 "The guard partitions are empty (FAIL: rows bypassed the guard trigger).",
                 ("health.rows_outside_partitions",)),
        CheckDef(CONTACT_STATISTICS, "imports_healthy",
                 "No import failed or was rejected in the last day, none stuck running (WARN).",
                 ("health.failed_imports", "health.stuck_imports")),
        CheckDef(CONTACT_STATISTICS, "database_sessions",
                 "Connections, long-running statements and transactions, blocked sessions, wraparound.",
                 ("health.connections", "health.long_running_queries", "health.long_transactions",
                  "health.blocked_queries", "health.wraparound")),
        CheckDef(MV_HOURLY_STATS, "fresh",
                 "Refreshed within its hourly schedule after the last import (WARN), within a day (FAIL).",
                 ("health.view_freshness.mv_hourly_stats",)),
        CheckDef(MV_DAILY_SERVICE_STATS, "fresh",
                 "Refreshed within its hourly schedule after the last import (WARN), within a day (FAIL).",
                 ("health.view_freshness.mv_daily_service_stats",)),
    ],
    "check_data_quality": [
        CheckDef(CONTACT_STATISTICS, "interval_gaps",
                 "No missing 15-minute interval inside a local day and no missing day per service/group "
                 "over the newest 35 days (WARN).",
                 ("quality.interval_gaps",)),
        CheckDef(CONTACT_STATISTICS, "daily_volume_plausible",
                 "No service day with calls more than 5x above or below its weekday median (WARN).",
                 ("quality.daily_volume",)),
    ],
    "validate_query_performance": [
        CheckDef(CONTACT_STATISTICS, "read_sla",
                 "p95 of real read-API calls within the guide's SLAs (point 10 ms, range 100 ms, aggregation "
                 "500 ms; WARN above half) and partition pruning of time-filtered reads.",
                 ("query.data", "query.point.", "query.range.", "query.aggregation.month_daily",
                  "query.aggregation.week_hourly_all",
                  "query.partition_pruning.")),
        CheckDef(MV_DAILY_SERVICE_STATS, "summary_sla",
                 "p95 of api_get_service_summary (served from this view) within the aggregation SLA (500 ms).",
                 ("query.aggregation.service_day_summary",)),
    ],
    "validate_throughput_capacity": [
        CheckDef(CONTACT_STATISTICS, "insert_throughput_and_capacity",
                 "api_batch_insert_calls > 100 rows/s (rolled back); stored volume vs 100k calls/day and 10k in "
                 "the peak hour; retention >= 13 months; partitions premade.",
                 ("throughput.", "capacity.")),
    ],
    "test_integration_performance": [
        CheckDef(CONTACT_STATISTICS, "import_query_view_round_trip",
                 "Import -> query -> view round trip (rolled back) returns the same numbers at every step "
                 "within 960 / 100 / 500 ms.",
                 ("integration.",)),
    ],
    "check_schema_security": [
        CheckDef(CONTACT_STATISTICS, "schema_security",
                 "Functions of wfm end their search_path with pg_temp (definer functions set one) and name "
                 "catalog relations with pg_catalog.; no partition of a wfm table outside schema wfm (FAIL).",
                 ("security.",)),
    ],
    "monitor_resource_usage": [
        CheckDef(CONTACT_STATISTICS, "resources",
                 "Sizes, unused indexes, cache hit ratio (>= 99 %), dead tuples, parent statistics age.",
                 ("resources.",)),
    ],
}

_SEVERITY = {"WARN": dg.AssetCheckSeverity.WARN, "FAIL": dg.AssetCheckSeverity.ERROR,
             "PASS": dg.AssetCheckSeverity.WARN}


def _rows_table(rows: list[checks.CheckResult]) -> dg.TableMetadataValue:
    return dg.MetadataValue.table(
        records=[dg.TableRecord({
            "check": r.check_name, "status": r.status,
            "measured": r.measured, "threshold": r.threshold,
            "unit": r.unit or "", "reason": "" if r.passed else checks.first_reason(r)[:300]}) for r in rows],
        schema=dg.TableSchema(columns=[
            dg.TableColumn("check", "string"), dg.TableColumn("status", "string"),
            dg.TableColumn("measured", "float"), dg.TableColumn("threshold", "float"),
            dg.TableColumn("unit", "string"), dg.TableColumn("reason", "string")]))


def check_result(check: CheckDef, rows: list[checks.CheckResult]) -> dg.AssetCheckResult:
    """The Dagster verdict of one asset check from its SQL rows (worst status wins)."""
    status = checks.worst(r.status for r in rows) if rows else "WARN"
    metadata: dict = {
        "status": dg.MetadataValue.text(status),
        "results": _rows_table(rows),
        "details": dg.MetadataValue.json({r.check_name: r.details for r in rows}),
    }
    for r in rows:  # measured and threshold as numbers, plottable across runs
        if r.measured is not None:
            metadata[f"{r.check_name} measured ({r.unit})"] = dg.MetadataValue.float(r.measured)
        if r.threshold is not None:
            metadata[f"{r.check_name} threshold ({r.unit})"] = dg.MetadataValue.float(r.threshold)
    bad = [r for r in rows if not r.passed]
    description = (f"{len(rows)} rows PASS" if not bad else
                   "; ".join(f"{r.check_name} {r.status}: {checks.summary(r)}" for r in bad)[:1000])
    if not rows:
        description = f"the SQL suite returned no row for {', '.join(check.prefixes)}"
    return dg.AssetCheckResult(
        asset_key=check.asset, check_name=check.name, passed=status == "PASS",
        severity=_SEVERITY[status], description=description, metadata=metadata)


def select_rows(check: CheckDef, rows: list[checks.CheckResult]) -> list[checks.CheckResult]:
    return [r for r in rows if r.check_name.startswith(check.prefixes)]


def _multi_check(function: str, defs: list[CheckDef]) -> dg.AssetChecksDefinition:
    @dg.multi_asset_check(
        name=f"health_{function}",
        specs=[dg.AssetCheckSpec(d.name, asset=d.asset, description=d.description) for d in defs],
        description=f"Runs wfm.{function}() once and judges its rows.",
        can_subset=True,   # jobs that select the views or contact_statistics pick up only their checks
    )
    def _check(context: dg.AssetCheckExecutionContext, wfm_db: WfmDatabase) -> Iterator[dg.AssetCheckResult]:
        selected = [d for d in defs
                    if dg.AssetCheckKey(d.asset, d.name) in context.selected_asset_check_keys]
        try:
            with wfm_db.connection() as conn:
                rows = checks.run_suite(conn, function)
                conn.rollback()
        except Exception as exc:  # the database is unreachable or the suite is broken: every check fails
            error = checks.CheckResult(f"{function}.error", "FAIL", None, None, None,
                                       {"error": f"{type(exc).__name__}: {exc}"})
            context.log.error(f"wfm.{function}() failed: {exc}")
            for d in selected:
                yield check_result(d, [error])
            return
        context.log.info(f"wfm.{function}(): {checks.counts(rows)}")
        for d in selected:
            yield check_result(d, select_rows(d, rows))

    return _check


HEALTH_CHECKS = [_multi_check(function, defs) for function, defs in CHECKS.items()]

health_checks_job = dg.define_asset_job(
    "health_checks_job",
    selection=dg.AssetSelection.checks(*HEALTH_CHECKS),
    description="Runs the validation suite (wfm.run_all_validations's parts) as asset checks on "
                "contact_statistics and the views. Read-only: every probe is rolled back.",
)

health_checks_schedule = dg.ScheduleDefinition(
    name="health_checks_daily",
    job=health_checks_job,
    cron_schedule="30 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily 06:30 UTC: SLA, freshness, partition premake and data-quality asset checks.",
)

defs = dg.Definitions(asset_checks=HEALTH_CHECKS, jobs=[health_checks_job], schedules=[health_checks_schedule])
