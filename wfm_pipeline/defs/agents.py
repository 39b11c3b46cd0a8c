"""Plan versus actual as a Dagster asset (group ``agents``), thin over ``warehouse.plan_vs_actual``.

``plan_vs_actual`` is partitioned by day: for every service, its local calendar day through
``wfm.api_get_plan_vs_actual`` (forecast vs actual calls, required vs staffed and available
agents, target / actual / predicted service level); the metadata holds a table of the services and
a plot of the busiest one. The check ``no_understaffed_intervals`` (WARN) flags every 15-minute
interval whose available agents fell short of the required by more than the service's
``understaffing_tolerance``.
"""

import datetime as dt

import dagster as dg

from wfm_pipeline.defs import keys
from wfm_pipeline.defs.resources import WfmDatabase
from wfm_pipeline.forecasting.plot import markdown_image
from wfm_pipeline.warehouse import plan_vs_actual

GROUP = keys.AGENTS
CODE_VERSION = "1"   # bump with a change of wfm.api_get_plan_vs_actual or this report
days = dg.DailyPartitionsDefinition(start_date="2024-01-01")


def _pct(value) -> str:
    return "-" if value is None else f"{float(value) * 100:.1f}%"


def _num(value, digits: int = 1) -> str:
    return "-" if value is None else f"{float(value):.{digits}f}"


@dg.asset(
    key=keys.PLAN_VS_ACTUAL,
    group_name=GROUP,
    kinds={"postgres"},
    owners=keys.OWNERS,
    tags=keys.tags(GROUP),
    code_version=CODE_VERSION,
    partitions_def=days,
    deps=[keys.CALL_FORECASTS, keys.CONTACT_STATISTICS],
    description="Plan versus actual per service and local day (wfm.api_get_plan_vs_actual): forecast vs actual "
                "calls, required vs staffed and available agents, target / actual / predicted service level.",
    check_specs=[dg.AssetCheckSpec("no_understaffed_intervals", asset=keys.PLAN_VS_ACTUAL,
                                   description="No 15-minute interval's available agents fall short of the required "
                                               "by more than the service's understaffing_tolerance (WARN).")],
)
def plan_vs_actual_day(context: dg.AssetExecutionContext, wfm_db: WfmDatabase) -> dg.MaterializeResult:
    day = dt.date.fromisoformat(context.partition_key)
    with wfm_db.connection() as conn:
        codes = [c for (c,) in conn.execute("SELECT code FROM wfm.services ORDER BY code")]
        reports = [plan_vs_actual.day_report(conn, code, day) for code in codes]
        conn.rollback()
    table = ["| service | calls forecast | calls actual | required | staffed | available | SL actual | SL predicted "
             "| understaffed |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    short: dict[str, list[str]] = {}
    for r in reports:
        s = r.summary
        short[r.service] = [f"{row['local_start']:%H:%M}" for row in plan_vs_actual.understaffed(r)]
        table.append(f"| {r.service} | {_num(s.get('forecast_calls'), 0)} | {s.get('actual_calls') or 0} "
                     f"| {_num(s.get('required_agents'), 2)} | {_num(s.get('staffed_agents'), 2)} "
                     f"| {_num(s.get('available_agents'), 2)} | {_pct(s.get('service_level_actual'))} "
                     f"| {_pct(s.get('service_level_predicted'))} | {len(short[r.service])} |")
    metadata: dict = {"services": dg.MetadataValue.int(len(reports)),
                      "plan_vs_actual": dg.MetadataValue.md("\n".join(table)),
                      "understaffed_intervals": dg.MetadataValue.int(sum(len(v) for v in short.values()))}
    busiest = max(reports, key=lambda r: r.summary.get("actual_calls") or 0, default=None)
    if busiest is not None and busiest.rows:
        metadata["plot"] = dg.MetadataValue.md(
            f"**{busiest.service}** {day:%Y-%m-%d}\n\n"
            + markdown_image(plan_vs_actual.plan_png(busiest), f"{busiest.service} plan vs actual"))
    flagged = {k: v for k, v in short.items() if v}
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[dg.AssetCheckResult(
            check_name="no_understaffed_intervals", passed=not flagged, severity=dg.AssetCheckSeverity.WARN,
            metadata={"understaffed": dg.MetadataValue.json(flagged),
                      "intervals": dg.MetadataValue.int(sum(len(v) for v in flagged.values()))},
            description=("understaffed beyond tolerance: " + "; ".join(f"{k} {', '.join(v[:8])}"
                                                                        + (" ..." if len(v) > 8 else "")
                                                                        for k, v in flagged.items()))
            if flagged else "every interval staffed within tolerance")],
    )


defs = dg.Definitions(assets=[plan_vs_actual_day])
