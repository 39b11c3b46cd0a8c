"""Warehouse Dagster wiring: partition premake job, its schedule and its check."""


import dagster as dg

from wfm_pipeline.db.resource import WfmDatabase
from wfm_pipeline.warehouse import partitions


@dg.op(description="Create the current month plus the configured months ahead for every partitioned table.")
def premake_partitions_op(context: dg.OpExecutionContext, wfm_db: WfmDatabase) -> list[str]:
    with wfm_db.connection() as conn:
        created = partitions.premake(conn)
        conn.commit()
        missing = partitions.missing_premade(conn)
    context.log.info(f"created {len(created)} partitions: {created}")
    context.add_output_metadata({
        "created": dg.MetadataValue.json(created),
        "still_missing": dg.MetadataValue.json([f"{m.table} {m.month}" for m in missing]),
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

defs = dg.Definitions(jobs=[partition_premake_job], schedules=[partition_premake_schedule])
