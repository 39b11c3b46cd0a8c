"""Health Dagster wiring: asset checks built on the SQL validation suite, and a daily schedule.

Each SQL function runs once per check run (a multi-asset check) and its rows are split over
the asset checks below. A FAIL row fails its check with severity ERROR, a WARN row with
severity WARN; metadata shows every row's measured value against its threshold.

Where the checks sit (issue 12):

* on ``contact_statistics``: the checks that judge imported data (gaps, implausible days, failed
  imports, partitions premade, rows outside partitions). They run after every change of the table
  (declarative automation, ``AFTER_NEW_DATA``), cost well under a second, and are what a month
  rebuild started from the asset page brings along;
* on the views: their freshness, after every refresh;
* on ``wfm_database`` (the database as a service: SQL API SLAs, insert throughput and capacity,
  the import -> query -> view round trip, schema security, sessions, resources): seconds each, so
  on an asset of their own that no rebuild or refresh materializes. They run once after the first
  data arrived (``FIRST_DATA``) and then daily.

``health_checks_daily`` runs them all at 06:30 UTC. Thresholds are text (the results table), not
numbers: Dagster plots every numeric metadata value, and a constant line is noise; the measured
values stay numbers.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg

from wfm_pipeline.defs import keys
from wfm_pipeline.defs.automation import AFTER_NEW_DATA, FIRST_DATA
from wfm_pipeline.defs.keys import CONTACT_STATISTICS, MV_DAILY_SERVICE_STATS, MV_HOURLY_STATS, WFM_DATABASE
from wfm_pipeline.defs.resources import WfmDatabase
from wfm_pipeline.health import checks

wfm_database = dg.AssetSpec(
    WFM_DATABASE, group_name=keys.HEALTH, kinds={"postgres"}, owners=keys.OWNERS, tags=keys.tags(keys.HEALTH),
    deps=[CONTACT_STATISTICS, MV_HOURLY_STATS, MV_DAILY_SERVICE_STATS],
    description="The WFM PostgreSQL database as a service: the SLAs of its SQL API (read functions, "
                "api_get_service_summary), batch-insert throughput and capacity against wfm.capacity_targets, "
                "the import -> query -> view round trip, security of its definer functions, sessions and resources. "
                "Not materialized: its checks judge it (daily, and once after the first data); the resources check "
                "records an observation with the database size.")


@dataclass(frozen=True)
class CheckDef:
    asset: dg.AssetKey
    name: str
    description: str
    prefixes: tuple[str, ...]   # check_name prefixes of the SQL rows this check judges

    @property
    def automation(self) -> dg.AutomationCondition:
        return FIRST_DATA if self.asset == WFM_DATABASE else AFTER_NEW_DATA

    @property
    def additional_deps(self) -> list[dg.AssetKey]:
        # The database checks wait for the first data: "no data to time" is not a finding.
        return [CONTACT_STATISTICS] if self.asset == WFM_DATABASE else []


# SQL function -> the asset checks its rows feed.
CHECKS: dict[str, list[CheckDef]] = {
    "database_health_check": [
        CheckDef(CONTACT_STATISTICS, "partitions_premade",
                 "The current month and premake_months ahead have partitions (FAIL when one is missing; "
                 "names the partitions).",
                 ("health.partitions_premade",)),
        CheckDef(CONTACT_STATISTICS, "no_rows_outside_partitions",
                 "The guard partitions are empty (FAIL: rows bypassed the guard trigger; names the guards).",
                 ("health.rows_outside_partitions",)),
        CheckDef(CONTACT_STATISTICS, "imports_healthy",
                 "No import failed or was rejected in the last day, none stuck running (WARN).",
                 ("health.failed_imports", "health.stuck_imports")),
        CheckDef(WFM_DATABASE, "database_sessions",
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
        CheckDef(WFM_DATABASE, "read_sla",
                 "p95 of real read-API calls within the guide's SLAs (point 10 ms, range 100 ms, aggregation "
                 "500 ms; WARN above half) and partition pruning of time-filtered reads.",
                 ("query.data", "query.point.", "query.range.", "query.aggregation.month_daily",
                  "query.aggregation.week_hourly_all",
                  "query.partition_pruning.")),
        CheckDef(WFM_DATABASE, "summary_sla",
                 "p95 of api_get_service_summary (served from mv_daily_service_stats) within the aggregation "
                 "SLA (500 ms).",
                 ("query.aggregation.service_day_summary",)),
    ],
    "validate_throughput_capacity": [
        CheckDef(WFM_DATABASE, "insert_throughput_and_capacity",
                 "api_batch_insert_calls > 100 rows/s (rolled back); the busiest stored day and hour below 80 % "
                 "of the volume the install is sized for (wfm.capacity_targets, default 100k calls/day, 10k in "
                 "the peak hour); retention >= 13 months; partitions premade.",
                 ("throughput.", "capacity.")),
    ],
    "test_integration_performance": [
        CheckDef(WFM_DATABASE, "import_query_view_round_trip",
                 "Import -> query -> view round trip (rolled back) returns the same numbers at every step "
                 "within 960 / 100 / 500 ms.",
                 ("integration.",)),
    ],
    "check_schema_security": [
        CheckDef(WFM_DATABASE, "schema_security",
                 "Functions of wfm end their search_path with pg_temp (definer functions set one) and name "
                 "catalog relations with pg_catalog.; no partition of a wfm table outside schema wfm (FAIL).",
                 ("security.",)),
    ],
    "monitor_resource_usage": [
        CheckDef(WFM_DATABASE, "resources",
                 "Sizes, unused indexes, cache hit ratio (>= 99 %), dead tuples, parent statistics age "
                 "(\"never\" when a table with rows was never analyzed).",
                 ("resources.",)),
    ],
}

_SEVERITY = {"WARN": dg.AssetCheckSeverity.WARN, "FAIL": dg.AssetCheckSeverity.ERROR,
             "PASS": dg.AssetCheckSeverity.WARN}


def _rows_table(rows: list[checks.CheckResult]) -> dg.TableMetadataValue:
    return dg.MetadataValue.table(
        records=[dg.TableRecord({
            "check": r.check_name, "status": r.status,
            "measured": checks.measured_text(r), "threshold": checks.format_number(r.threshold),
            "unit": r.unit or "", "reason": "" if r.passed else checks.first_reason(r)[:300]}) for r in rows],
        schema=dg.TableSchema(columns=[
            dg.TableColumn("check", "string"), dg.TableColumn("status", "string"),
            dg.TableColumn("measured", "string"), dg.TableColumn("threshold", "string"),
            dg.TableColumn("unit", "string"), dg.TableColumn("reason", "string")]))


def _describe(check: CheckDef, rows: list[checks.CheckResult]) -> str:
    """One line per row that is not PASS (with the partitions it names); else what was judged."""
    if not rows:
        return f"the SQL suite returned no row for {', '.join(check.prefixes)}"
    bad = [r for r in rows if not r.passed]
    if bad:
        parts = []
        for r in bad:
            named = checks.partitions_named(r)
            parts.append(f"{r.check_name} {r.status}: {checks.summary(r)}"
                         + (f" ({', '.join(named)})" if named else ""))
        return "; ".join(parts)[:1000]
    premade = [f"{p['table']} through {p['through']}" for r in rows for p in (r.details or {}).get("premade") or []]
    if premade:
        return "premade: " + ", ".join(premade)
    return f"{len(rows)} rows PASS: " + "; ".join(f"{r.check_name} {checks.summary(r)}" for r in rows)[:900]


def check_result(check: CheckDef, rows: list[checks.CheckResult]) -> dg.AssetCheckResult:
    """The Dagster verdict of one asset check from its SQL rows (worst status wins)."""
    status = checks.worst(r.status for r in rows) if rows else "WARN"
    metadata: dict = {
        "status": dg.MetadataValue.text(status),
        "results": _rows_table(rows),
        "details": dg.MetadataValue.json({r.check_name: r.details for r in rows}),
        # Text, not numbers: Dagster plots numeric metadata, and a threshold is a constant line.
        "thresholds": dg.MetadataValue.text("; ".join(
            f"{r.check_name}: {checks.format_number(r.threshold)} {r.unit or ''}".rstrip()
            for r in rows if r.threshold is not None) or "none"),
    }
    named = [p for r in rows for p in checks.partitions_named(r)]
    if named:
        metadata["partitions"] = dg.MetadataValue.json(named)
    for r in rows:  # the measured values as numbers: their history is worth a plot
        if r.measured is not None:
            metadata[f"{r.check_name} measured ({r.unit})"] = dg.MetadataValue.float(r.measured)
    return dg.AssetCheckResult(
        asset_key=check.asset, check_name=check.name, passed=status == "PASS",
        severity=_SEVERITY[status], description=_describe(check, rows), metadata=metadata)


def select_rows(check: CheckDef, rows: list[checks.CheckResult]) -> list[checks.CheckResult]:
    return [r for r in rows if r.check_name.startswith(check.prefixes)]


def _multi_check(function: str, defs: list[CheckDef]) -> dg.AssetChecksDefinition:
    @dg.multi_asset_check(
        name=f"health_{function}",
        specs=[dg.AssetCheckSpec(d.name, asset=d.asset, description=d.description, automation_condition=d.automation,
                                 additional_deps=d.additional_deps) for d in defs],
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
        if function == "monitor_resource_usage":
            _observe_database(context, rows)
        for d in selected:
            yield check_result(d, select_rows(d, rows))

    return _check


def _observe_database(context: dg.AssetCheckExecutionContext, rows: list[checks.CheckResult]) -> None:
    """The resources check also records what the database looks like now (size per table)."""
    sizes = {r.check_name.removeprefix("resources.table_size."): r for r in rows
             if r.check_name.startswith("resources.table_size.")}
    total = next((r for r in rows if r.check_name == "resources.database_size"), None)
    metadata: dict = {f"{table} bytes": dg.MetadataValue.int(int(r.measured or 0)) for table, r in sizes.items()}
    if total is not None and total.measured is not None:
        metadata["database_bytes"] = dg.MetadataValue.int(int(total.measured))
        metadata["database_size"] = dg.MetadataValue.text(str((total.details or {}).get("pretty", "")))
    context.op_execution_context.log_event(dg.AssetObservation(
        asset_key=WFM_DATABASE, metadata=metadata, description="sizes measured by monitor_resource_usage()"))


HEALTH_CHECKS = [_multi_check(function, defs) for function, defs in CHECKS.items()]

health_checks_job = dg.define_asset_job(
    "health_checks_job",
    selection=dg.AssetSelection.checks(*HEALTH_CHECKS),
    description="Runs the validation suite (wfm.run_all_validations's parts) as asset checks on "
                "contact_statistics, the views and wfm_database. Read-only: every probe is rolled back.",
)

health_checks_schedule = dg.ScheduleDefinition(
    name="health_checks_daily",
    job=health_checks_job,
    cron_schedule="30 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily 06:30 UTC: SLA, freshness, partition premake and data-quality asset checks.",
)

defs = dg.Definitions(assets=[wfm_database], asset_checks=HEALTH_CHECKS, jobs=[health_checks_job],
                      schedules=[health_checks_schedule])
