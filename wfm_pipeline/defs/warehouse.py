"""Warehouse Dagster wiring: partitions, the aggregates behind the reader views, maintenance schedules.

Every job here is also runnable by hand from the UI (Launchpad): premake, view refresh, weekly
ANALYZE, retention and the daily health check.

Partitions are no asset of their own: the premake job fails (listing them) when months are still
missing after it ran, and the health suite's ``partitions_premade`` check on contact_statistics
(daily, and on demand) judges the same ``wfm.missing_premade_partitions``. An asset
``monthly_partitions`` with a check of its own used to float here with no edges, recorded only by
the premake op, duplicating that check.
The views follow new months of contact_statistics through declarative automation
(``defs.automation``), and hourly.
"""

import dagster as dg

from wfm_pipeline.db import partitions
from wfm_pipeline.defs import keys, tables
from wfm_pipeline.defs.automation import FOLLOW_NEW_DATA
from wfm_pipeline.defs.keys import CONTACT_STATISTICS, MV_DAILY_SERVICE_STATS, MV_HOURLY_STATS
from wfm_pipeline.defs.resources import WfmDatabase
from wfm_pipeline.warehouse import maintenance, views

GROUP = keys.WAREHOUSE
VIEW_CODE_VERSION = "2"   # bump with a change of the views' SQL (sql/051, sql/200 and their successors)


# ------------------------------------------------------------------ partitions
@dg.op(description="Create the missing months of the premade window (retention window back through premake_months ahead) for every partitioned table.")
def premake_partitions_op(context: dg.OpExecutionContext, wfm_db: WfmDatabase) -> list[str]:
    with wfm_db.connection() as conn:
        created = partitions.premake(conn)
        conn.commit()
        missing = partitions.missing_premade(conn)
        summary = partitions.partition_summary(conn)
        conn.rollback()
    context.log.info(f"created {len(created)} partitions: {created}")
    context.add_output_metadata({
        "created": dg.MetadataValue.json(created),
        "still_missing": dg.MetadataValue.json([f"{m.table} {m.month}" for m in missing]),
        "partitions": dg.MetadataValue.int(len(summary)),
        "newest": dg.MetadataValue.text(max((s[3] or "" for s in summary), default="")),
        "oldest": dg.MetadataValue.text(min((s[2] or "" for s in summary), default="")),
    })
    if missing:
        raise dg.Failure(
            description="premade partitions are still missing after premake",
            metadata={"missing": dg.MetadataValue.json([f"{m.table} {m.month}" for m in missing])},
        )
    return created


@dg.job(description="Idempotent partition premake (current month + months ahead). Safe to run by hand.")
def partition_premake_job() -> None:
    premake_partitions_op()


partition_premake_schedule = dg.ScheduleDefinition(
    name="partition_premake_daily",
    job=partition_premake_job,
    cron_schedule="15 0 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily: keep at least three months of partitions ahead.",
)


# ------------------------------------------------------------------ aggregates (the reader views)
_VIEW_OF_KEY = {MV_HOURLY_STATS: views.HOURLY, MV_DAILY_SERVICE_STATS: views.DAILY}
_VIEW_SPECS = [
    dg.AssetSpec(
        key, group_name=GROUP, kinds={"postgres"}, deps=[CONTACT_STATISTICS], owners=keys.OWNERS,
        tags=keys.tags(GROUP), code_version=VIEW_CODE_VERSION, metadata=keys.table_name(key),
        automation_condition=FOLLOW_NEW_DATA, description=description)
    for key, description in (
        (MV_HOURLY_STATS,
         "wfm.mv_hourly_stats: per service and UTC hour, additive call totals. Always current "
         "(wfm.agg_hourly_stats up to the watermark + raw rows after it and for pending changes); "
         "the refresh recomputes only what the change log lists. Refreshed within a minute of new "
         "months (automation) and hourly."),
        (MV_DAILY_SERVICE_STATS,
         "wfm.mv_daily_service_stats: per service and group, per local day (service time zone), totals and "
         "the peak interval; serves api_get_service_summary. Always current (wfm.agg_daily_service_stats + "
         "raw rows); the refresh recomputes only logged days. Refreshed within a minute of new months "
         "(automation) and hourly."),
    )
]


class AggregatesConfig(dg.Config):
    full: bool = False   # recompute everything instead of the logged changes


@dg.multi_asset(specs=_VIEW_SPECS, name="aggregates", can_subset=False,
                description="One incremental refresh (wfm.refresh_aggregates) of both aggregates: they share one "
                            "change log and one watermark. Config full=true rebuilds them from scratch.")
def aggregates(context: dg.AssetExecutionContext, config: AggregatesConfig, wfm_db: WfmDatabase):
    with wfm_db.connection() as conn:
        results = {r.view: r for r in views.refresh_all(conn, full=config.full)}
        conn.commit()
        facts = {view: views.facts(conn, view) for view in views.VIEWS}
        tables_md = {key: tables.table_metadata(conn, key, row_count=results[view].row_count)
                     for key, view in _VIEW_OF_KEY.items()}
        conn.rollback()
    for key, view in _VIEW_OF_KEY.items():
        result, fact = results[view], facts[view]
        context.log.info(f"{view}: {result.mode} refresh in {result.duration_ms:.0f} ms, "
                         f"{result.rows_written} rows written, {result.row_count} rows")
        yield dg.MaterializeResult(asset_key=key, metadata={
            **tables_md[key],
            "refresh_duration_ms": dg.MetadataValue.float(result.duration_ms),
            "refresh_mode": dg.MetadataValue.text(result.mode),
            "refreshed_concurrently": dg.MetadataValue.bool(result.concurrently),
            "changes_applied": dg.MetadataValue.int(result.changes_applied),
            "rows_written": dg.MetadataValue.int(result.rows_written),
            "materialized_until": dg.MetadataValue.text(
                result.materialized_until.isoformat() if result.materialized_until else "none"),
            "services": dg.MetadataValue.int(fact.services),
            "first": dg.MetadataValue.text(str(fact.first)),
            "last": dg.MetadataValue.text(str(fact.last)),
            # Freshness: the newest source row now materialized (newer ones are read raw).
            "newest_source_row_loaded_at": dg.MetadataValue.text(
                fact.newest_source_row_loaded_at.isoformat() if fact.newest_source_row_loaded_at else "none"),
            "dagster/last_updated_timestamp": dg.MetadataValue.timestamp(
                fact.newest_source_row_loaded_at.timestamp() if fact.newest_source_row_loaded_at else 0.0),
        })


VIEW_ASSETS = [aggregates]

refresh_views_job = dg.define_asset_job(
    "refresh_views_job",
    # The health suite's checks on the views time real queries for seconds: they run on their
    # own schedule (health_checks_daily), not on every refresh.
    selection=dg.AssetSelection.assets(*VIEW_ASSETS).without_checks(),
    description="Incremental refresh of the aggregates behind mv_hourly_stats and mv_daily_service_stats "
                "(only the changed days and the hours since the last watermark). Launch with config "
                "ops.aggregates.config.full=true for a full rebuild.",
)

refresh_views_schedule = dg.ScheduleDefinition(
    name="refresh_views_hourly",
    job=refresh_views_job,
    cron_schedule="5 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly: refresh the aggregates incrementally and move their watermark (reads are current "
                "without it; it keeps them fast).",
)


# ------------------------------------------------------------------ maintenance
@dg.op(description="ANALYZE the partitioned parents (autovacuum analyzes only the partitions).")
def analyze_partitioned_tables_op(context: dg.OpExecutionContext, wfm_db: WfmDatabase) -> None:
    with wfm_db.connection() as conn:
        done = maintenance.analyze_partitioned_tables(conn)
        conn.commit()
    context.add_output_metadata({"tables": dg.MetadataValue.md(
        "| table | ms |\n|---|---:|\n" + "\n".join(f"| {t} | {ms:.0f} |" for t, ms in done))})


@dg.job(description="ANALYZE of every partitioned parent table. Safe to run by hand (e.g. after a big import).")
def analyze_partitioned_tables_job() -> None:
    analyze_partitioned_tables_op()


analyze_schedule = dg.ScheduleDefinition(
    name="analyze_partitioned_tables_weekly",
    job=analyze_partitioned_tables_job,
    cron_schedule="30 3 * * 0",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Weekly (Sunday 03:30 UTC): planner statistics of the partitioned parents.",
)


class RetentionConfig(dg.Config):
    dry_run: bool = False


@dg.op(description="Detach (never drop) partitions older than the retention horizon of tables with retention enabled.")
def detach_expired_partitions_op(context: dg.OpExecutionContext, config: RetentionConfig,
                                 wfm_db: WfmDatabase) -> None:
    with wfm_db.connection() as conn:
        settings = maintenance.retention_settings(conn)
        detached = maintenance.detach_expired(conn, dry_run=config.dry_run)
        conn.commit()
    enabled = [s for s in settings if s.enabled]
    if not enabled:
        context.log.info("retention is off for every table (wfm.partition_config.retention_enabled); nothing to do")
    for part in detached:
        context.log.info(f"{'would detach' if config.dry_run else 'detached'} {part.partition} -> {part.archived_as}")
    context.add_output_metadata({
        "retention": dg.MetadataValue.md("| table | months kept | enabled |\n|---|---:|---|\n" + "\n".join(
            f"| {s.table} | {s.retention_months} | {s.enabled} |" for s in settings)),
        "detached": dg.MetadataValue.json([
            {"partition": p.partition, "archived_as": p.archived_as, "range_start": p.range_start.isoformat(),
             "detached": p.detached} for p in detached]),
        "dry_run": dg.MetadataValue.bool(config.dry_run),
    })


@dg.job(description="Retention: detach partitions older than wfm.partition_config.retention_months into "
                    "wfm_archive (off unless retention_enabled). Config dry_run lists without detaching.")
def retention_job() -> None:
    detach_expired_partitions_op()


retention_schedule = dg.ScheduleDefinition(
    name="retention_daily",
    job=retention_job,
    cron_schedule="30 2 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily: detach expired partitions of tables whose retention is enabled (none by default).",
)


defs = dg.Definitions(
    assets=[*VIEW_ASSETS],
    jobs=[partition_premake_job, refresh_views_job, analyze_partitioned_tables_job, retention_job],
    schedules=[partition_premake_schedule, refresh_views_schedule, analyze_schedule, retention_schedule],
)
