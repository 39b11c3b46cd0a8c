"""Forecasting Dagster wiring: one multi-asset (call_forecasts → staffing_requirements), weekly and on new data."""

from datetime import datetime, timedelta, timezone

import dagster as dg

from wfm_pipeline.defs.resources import WfmDatabase
from wfm_pipeline.forecasting import plot, store
from wfm_pipeline.forecasting import run as pipeline

# Defined by the ingest domain (monthly partitions). Referenced by key only: the dependency
# gives lineage, and the sensor below reacts to its materializations.
CONTACT_STATISTICS = dg.AssetKey("contact_statistics")
ACTIVE_WINDOW = timedelta(days=28)   # series with statistics in the last 4 weeks are forecast
RUN_RETENTION = "35 days"            # older runs are pruned (the newest per series is always kept)


def _pct(value) -> str:
    return "-" if value is None else f"{value:.1%}"


def _pooled(runs: dict[str, dict], field: str) -> float:
    """Call-weighted WAPE over the series (Σ |error| / Σ actual across all of them)."""
    scored = [r for r in runs.values() if r["wape_model"] is not None and r["wape_naive"] is not None]
    weight = sum(r["calls_scored"] for r in scored)
    return sum(r[field] * r["calls_scored"] for r in scored) / weight if weight else float("nan")


def selection_table(runs: dict[str, dict]) -> str:
    """Markdown: per series the backtest WAPE of each candidate, the model and the baselines, and
    the combination chosen for the forecast (by backtest on history before the origin)."""
    names = sorted({c for r in runs.values() for c in r.get("candidates", {})})
    head = "| series | combination used | model | median of 5 | seasonal naive | " + " | ".join(names) + " |"
    rows = [head, "|---|---|" + "---:|" * (3 + len(names))]
    for label, r in runs.items():
        weights = ", ".join(f"{k} {v:.2f}" for k, v in r.get("weights", {}).items()) or "-"
        cells = [_pct(r.get("wape_model")), _pct(r.get("wape_median5")), _pct(r.get("wape_naive"))]
        cells += [_pct(r.get("candidates", {}).get(c)) for c in names]
        rows.append(f"| {label} | {weights} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _forecast_metadata(runs: dict[str, dict], pruned: int, best: pipeline.RunResult | None) -> dict:
    table = ["| series | run | calls forecast | WAPE model | WAPE naive |", "|---|---:|---:|---:|---:|"]
    table += [f"| {label} | {r['run_id']} | {r['calls']:.0f} | {_pct(r['wape_model'])} "
              f"| {_pct(r['wape_naive'])} |" for label, r in runs.items()]
    metadata = {
        "series": dg.MetadataValue.int(len(runs)),
        "model_selection": dg.MetadataValue.md(selection_table(runs)),
        "old_runs_pruned": dg.MetadataValue.int(pruned),
        "backtest_wape_model": dg.MetadataValue.float(float(_pooled(runs, "wape_model"))),
        "backtest_wape_naive": dg.MetadataValue.float(float(_pooled(runs, "wape_naive"))),
        "backtest": dg.MetadataValue.md("\n".join(table)),
    }
    if best is not None:
        png = plot.forecast_png(best.history, best.frame, best.key.time_zone,
                                f"{best.key.label}: last 3 weeks and forecast (calls per hour)")
        interval = best.backtest.get("interval", {})
        metadata["plot"] = dg.MetadataValue.md(
            f"**{best.key.label}**, backtest interval WAPE model {_pct(interval.get('model'))}"
            f" vs seasonal naive {_pct(interval.get('naive'))}\n\n"
            + plot.markdown_image(png, f"{best.key.label} forecast"))
    return metadata


def _staffing_metadata(staffed: dict[str, dict]) -> dict:
    table = ["| series | run | model | peak required | scheduled agent-hours |", "|---|---:|---|---:|---:|"]
    table += [f"| {label} | {r['run_id']} | {r['model']} | {r['peak_required']} "
              f"| {r['scheduled_hours']:.0f} |" for label, r in staffed.items()]
    return {
        "series": dg.MetadataValue.int(len(staffed)),
        "intervals_staffed": dg.MetadataValue.int(sum(r["intervals"] for r in staffed.values())),
        "scheduled_agent_hours": dg.MetadataValue.float(float(sum(r["scheduled_hours"] for r in staffed.values()))),
        "staffing": dg.MetadataValue.md("\n".join(table)),
    }


@dg.multi_asset(
    outs={
        "call_forecasts": dg.AssetOut(
            group_name="forecasting", kinds={"python", "postgres"},
            description="Interval call forecasts (calls, unique calls, AHT) for the next 14 days of every active "
                        "service and group, with a rolling-origin backtest against seasonal naive; stored as "
                        "wfm.forecast_runs / wfm.forecasts."),
        "staffing_requirements": dg.AssetOut(
            group_name="forecasting", kinds={"python", "postgres"},
            description="Required agents (Erlang C, or Erlang A when the service has a patience figure), "
                        "scheduled agents after shrinkage, expected service level, ASA and occupancy per "
                        "forecast interval: computed with the forecast and stored in the same write."),
    },
    deps=[CONTACT_STATISTICS],
    internal_asset_deps={"call_forecasts": {CONTACT_STATISTICS},
                         "staffing_requirements": {dg.AssetKey("call_forecasts")}},
    check_specs=[dg.AssetCheckSpec("backtest_beats_seasonal_naive", asset="call_forecasts",
                                   description="Every series' interval WAPE is below seasonal naive's.")],
)
def forecasts(context: dg.AssetExecutionContext, wfm_db: WfmDatabase):
    """One pass of ``forecasting.run.run_many``: forecast, backtest, staff and store every active series."""
    now = datetime.now(timezone.utc)
    runs: dict[str, dict] = {}
    staffed: dict[str, dict] = {}
    best = None
    with wfm_db.connection() as conn:
        keys = store.all_series(conn, now - ACTIVE_WINDOW)
        for result in pipeline.run_many(conn, keys):
            interval = result.backtest.get("interval", {})
            label = result.key.label
            runs[label] = {"run_id": result.run_id, "service_id": result.key.service_id,
                           "calls": float(result.frame["calls"].sum()),
                           "wape_model": interval.get("model"), "wape_naive": interval.get("naive"),
                           "wape_median5": interval.get("median5"),
                           "candidates": result.backtest.get("candidates", {}),
                           "weights": (result.backtest.get("selection") or {}).get("weights", {}),
                           "calls_scored": result.backtest.get("calls_scored", 0.0)}
            staffed[label] = {"run_id": result.run_id, "intervals": len(result.frame),
                              "model": result.staffing_model,
                              "peak_required": int(result.frame["required_agents"].max()) if len(result.frame) else 0,
                              "scheduled_hours": float(result.frame["scheduled_agents"].sum() * 0.25)
                              if len(result.frame) else 0.0}
            if best is None or result.history["calls"].sum() > best.history["calls"].sum():
                best = result
        pruned = conn.execute("SELECT wfm.prune_forecast_runs(%s::interval)", (RUN_RETENTION,)).fetchone()[0]
        conn.commit()
    context.log.info(f"forecast and staffed {len(runs)} series, pruned {pruned} old runs")
    yield dg.Output(runs, output_name="call_forecasts", metadata=_forecast_metadata(runs, pruned, best))
    yield dg.Output(staffed, output_name="staffing_requirements", metadata=_staffing_metadata(staffed))
    scored = {label: r for label, r in runs.items() if r["wape_model"] is not None and r["wape_naive"] is not None}
    worse = sorted(label for label, r in scored.items() if r["wape_model"] >= r["wape_naive"])
    yield dg.AssetCheckResult(
        asset_key="call_forecasts", check_name="backtest_beats_seasonal_naive", passed=not worse,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"series_not_beating_naive": dg.MetadataValue.json(worse),
                  "series_scored": dg.MetadataValue.int(len(scored))})


forecasting_job = dg.define_asset_job(
    "forecasting_job", selection=dg.AssetSelection.assets(forecasts),
    description="Forecast every active service and group, then staff the forecasts.")

forecasting_weekly = dg.ScheduleDefinition(
    name="forecasting_weekly", job=forecasting_job, cron_schedule="0 5 * * 1", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Monday 05:00 UTC: fresh forecasts and staffing for the next 14 days.")


@dg.asset_sensor(asset_key=CONTACT_STATISTICS, job=forecasting_job, minimum_interval_seconds=3600,
                 default_status=dg.DefaultSensorStatus.RUNNING,
                 description="Re-forecast when contact_statistics is materialized (new data landed); "
                             "at most hourly, so a burst of imports triggers one run.")
def forecast_on_new_statistics(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    # One run per newest materialization seen; older ones in the same tick are covered by it.
    return dg.RunRequest(run_key=f"contact_statistics-{asset_event.run_id}-{asset_event.timestamp}")


defs = dg.Definitions(assets=[forecasts], jobs=[forecasting_job],
                      schedules=[forecasting_weekly], sensors=[forecast_on_new_statistics])
