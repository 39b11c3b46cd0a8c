"""Forecasting Dagster wiring: one multi-asset (call_forecasts → staffing_requirements), after new
data (declarative automation) and weekly.

One run forecasts every active series: ``forecasting.run.run_many`` reads each service's history
once for all its groups. Per-series visibility comes from the materialization's metadata, not
from partitions: a ``forecasts`` table (one row per series: run id, calls, backtest WAPE in
percent, the model combination), per-series plots stacked in one image (busiest first) and the
busiest series' plot large. A dynamic partition per series would mean one run (and one history
read) per series after every import, a sensor registering series as they appear, and partitions
that never go away when a group is dropped; the table answers the same question from one run.

``wfm forecast`` (the CLI) stores runs in the same tables; when a Dagster instance exists
($DAGSTER_HOME/dagster.yaml, written by ``wfm dev``) it reports them as runless materializations
(``report_cli_run``), so the catalog shows them too, marked ``source: wfm forecast``.
"""

from datetime import datetime, timedelta, timezone

import dagster as dg
import psycopg

from wfm_pipeline.defs import keys, tables
from wfm_pipeline.defs.automation import FOLLOW_NEW_DATA
from wfm_pipeline.defs.keys import CALL_FORECASTS, CONTACT_STATISTICS, STAFFING_REQUIREMENTS
from wfm_pipeline.defs.resources import WfmDatabase
from wfm_pipeline.forecasting import plot, store
from wfm_pipeline.forecasting import run as pipeline

GROUP = keys.FORECASTING
CODE_VERSION = "2"                   # bump with a change of the model, its selection or the staffing maths
ACTIVE_WINDOW = timedelta(days=28)   # series with statistics in the last 4 weeks are forecast
RUN_RETENTION = "35 days"            # older runs are pruned (the newest per series is always kept)


def pct(value: float | None) -> str:
    """A share as percent text: 0.20688 -> '20.7 %' (the one format of WAPE in the UI)."""
    return "-" if value is None else f"{value * 100:.1f} %"


def pct_number(value: float | None) -> float | None:
    """A share as a percent number rounded to 0.01 (for sortable table cells and plotted values)."""
    return None if value is None else round(value * 100, 2)


def _pooled(runs: dict[str, dict], field: str) -> float | None:
    """Call-weighted WAPE over the series (Σ |error| / Σ actual across all of them)."""
    scored = [r for r in runs.values() if r["wape_model"] is not None and r["wape_naive"] is not None]
    weight = sum(r["calls_scored"] for r in scored)
    return sum(r[field] * r["calls_scored"] for r in scored) / weight if weight else None


def selection_table(runs: dict[str, dict]) -> str:
    """Markdown: per series the backtest WAPE of each candidate, the model and the baselines, and
    the combination chosen for the forecast (by backtest on history before the origin)."""
    names = sorted({c for r in runs.values() for c in r.get("candidates", {})})
    head = "| series | combination used | model | median of 5 | seasonal naive | " + " | ".join(names) + " |"
    rows = [head, "|---|---|" + "---:|" * (3 + len(names))]
    for label, r in runs.items():
        weights = ", ".join(f"{k} {v:.2f}" for k, v in r.get("weights", {}).items()) or "-"
        cells = [pct(r.get("wape_model")), pct(r.get("wape_median5")), pct(r.get("wape_naive"))]
        cells += [pct(r.get("candidates", {}).get(c)) for c in names]
        rows.append(f"| {label} | {weights} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def series_table(runs: dict[str, dict], staffed: dict[str, dict]) -> dg.TableMetadataValue:
    """One row per series: the latest run and its numbers (WAPE in percent, as everywhere)."""
    columns = [("series", "string"), ("run_id", "int"), ("as_of", "string"), ("calls_forecast", "int"),
               ("wape_model_pct", "float"), ("wape_naive_pct", "float"), ("beats_naive", "bool"),
               ("combination", "string"), ("peak_required_agents", "int"), ("staffing_model", "string")]
    records = []
    for label, r in runs.items():
        s = staffed.get(label, {})
        beats = (r["wape_model"] < r["wape_naive"]) if r["wape_model"] is not None and r["wape_naive"] is not None \
            else None
        records.append(dg.TableRecord({
            "series": label, "run_id": r["run_id"], "as_of": r["as_of"], "calls_forecast": round(r["calls"]),
            "wape_model_pct": pct_number(r["wape_model"]), "wape_naive_pct": pct_number(r["wape_naive"]),
            "beats_naive": beats,
            "combination": ", ".join(f"{k} {v:.2f}" for k, v in r.get("weights", {}).items()) or "-",
            "peak_required_agents": s.get("peak_required"), "staffing_model": s.get("model") or ""}))
    return dg.MetadataValue.table(records=records,
                                  schema=dg.TableSchema(columns=[dg.TableColumn(n, t) for n, t in columns]))


def _plots(results: list[pipeline.RunResult], runs: dict[str, dict]) -> dict:
    """The busiest series large (image first: one click on the entry shows it), then every series
    (up to ``plot.MAX_PANELS``, busiest first) stacked in one image."""
    if not results:
        return {}
    ordered = sorted(results, key=lambda r: -float(r.history["calls"].sum()) if len(r.history) else 0.0)
    best = ordered[0]
    interval = best.backtest.get("interval", {})
    caption = (f"{best.key.label}: last 3 weeks and forecast (calls per hour); backtest interval WAPE "
               f"model {pct(interval.get('model'))} vs seasonal naive {pct(interval.get('naive'))}")
    png = plot.forecast_png(best.history, best.frame, best.key.time_zone, caption)
    panels = [plot.Panel(f"{r.key.label}: WAPE {pct(runs[r.key.label]['wape_model'])} "
                         f"(seasonal naive {pct(runs[r.key.label]['wape_naive'])}), run {r.run_id}",
                         r.history, r.frame, r.key.time_zone) for r in ordered]
    shown = min(len(panels), plot.MAX_PANELS)
    note = "" if len(panels) <= shown else f"\n\n{len(panels) - shown} smaller series: see the `forecasts` table."
    return {
        "plot": dg.MetadataValue.md(plot.markdown_image(png, f"{best.key.label} forecast") + f"\n\n{caption}"),
        "plot_per_series": dg.MetadataValue.md(
            plot.markdown_image(plot.panels_png(panels), "forecast per series")
            + f"\n\n{shown} of {len(panels)} series, busiest first." + note),
    }


def forecast_metadata(results: list[pipeline.RunResult], runs: dict[str, dict], staffed: dict[str, dict],
                      pruned: int) -> dict:
    metadata = {
        "series": dg.MetadataValue.int(len(runs)),
        "forecasts": series_table(runs, staffed),
        "model_selection": dg.MetadataValue.md(selection_table(runs)),
        "old_runs_pruned": dg.MetadataValue.int(pruned),
        "dagster/row_count": dg.MetadataValue.int(sum(len(r.frame) for r in results)),
        **_plots(results, runs),
    }
    pooled_model, pooled_naive = _pooled(runs, "wape_model"), _pooled(runs, "wape_naive")
    if pooled_model is not None:  # percent numbers: plotted over time, read as "20.69 %"
        metadata["backtest_wape_model_pct"] = dg.MetadataValue.float(pct_number(pooled_model))
        metadata["backtest_wape_naive_pct"] = dg.MetadataValue.float(pct_number(pooled_naive))
        metadata["backtest_wape"] = dg.MetadataValue.text(
            f"model {pct(pooled_model)} vs seasonal naive {pct(pooled_naive)} (call-weighted over the series)")
    return metadata


def staffing_metadata(staffed: dict[str, dict]) -> dict:
    table = ["| series | run | model | peak required | scheduled agent-hours |", "|---|---:|---|---:|---:|"]
    table += [f"| {label} | {r['run_id']} | {r['model']} | {r['peak_required']} "
              f"| {r['scheduled_hours']:.0f} |" for label, r in staffed.items()]
    return {
        "series": dg.MetadataValue.int(len(staffed)),
        "intervals_staffed": dg.MetadataValue.int(sum(r["intervals"] for r in staffed.values())),
        "dagster/row_count": dg.MetadataValue.int(sum(r["intervals"] for r in staffed.values())),
        "scheduled_agent_hours": dg.MetadataValue.float(float(sum(r["scheduled_hours"] for r in staffed.values()))),
        "staffing": dg.MetadataValue.md("\n".join(table)),
    }


def summarize(results: list[pipeline.RunResult]) -> tuple[dict[str, dict], dict[str, dict]]:
    """Per series label: the forecast's numbers (runs) and the staffing's (staffed)."""
    runs: dict[str, dict] = {}
    staffed: dict[str, dict] = {}
    for result in results:
        interval = result.backtest.get("interval", {})
        label = result.key.label
        runs[label] = {"run_id": result.run_id, "service_id": result.key.service_id,
                       "as_of": result.as_of.isoformat(), "calls": float(result.frame["calls"].sum()),
                       "wape_model": interval.get("model"), "wape_naive": interval.get("naive"),
                       "wape_median5": interval.get("median5"),
                       "candidates": result.backtest.get("candidates", {}),
                       "weights": (result.backtest.get("selection") or {}).get("weights", {}),
                       "calls_scored": result.backtest.get("calls_scored", 0.0)}
        has_staff = len(result.frame) and "required_agents" in result.frame
        staffed[label] = {"run_id": result.run_id, "intervals": len(result.frame),
                          "model": result.staffing_model,
                          "peak_required": int(result.frame["required_agents"].max()) if has_staff else 0,
                          "scheduled_hours": float(result.frame["scheduled_agents"].sum() * 0.25) if has_staff
                          else 0.0}
    return runs, staffed


_OUT = dict(group_name=GROUP, kinds={"python", "postgres"}, owners=keys.OWNERS, tags=keys.tags(GROUP),
            code_version=CODE_VERSION, automation_condition=FOLLOW_NEW_DATA)


@dg.multi_asset(
    outs={
        CALL_FORECASTS.path[-1]: dg.AssetOut(
            key=CALL_FORECASTS, metadata=keys.table_name(CALL_FORECASTS), **_OUT,
            description="Interval call forecasts (calls, unique calls, AHT) for the next 14 days of every active "
                        "service and group, with a rolling-origin backtest against seasonal naive; stored as "
                        "wfm.forecast_runs / wfm.forecasts. Refreshed within a minute of new months and weekly; "
                        "runs of `wfm forecast` are reported here too."),
        STAFFING_REQUIREMENTS.path[-1]: dg.AssetOut(
            key=STAFFING_REQUIREMENTS, metadata=keys.table_name(STAFFING_REQUIREMENTS), **_OUT,
            description="Required agents (Erlang C, or Erlang A when the service has a patience figure), "
                        "scheduled agents after shrinkage, expected service level, ASA and occupancy per "
                        "forecast interval: computed with the forecast and stored in the same write."),
    },
    deps=[CONTACT_STATISTICS],
    internal_asset_deps={CALL_FORECASTS.path[-1]: {CONTACT_STATISTICS},
                         STAFFING_REQUIREMENTS.path[-1]: {CALL_FORECASTS}},
    check_specs=[dg.AssetCheckSpec("backtest_beats_seasonal_naive", asset=CALL_FORECASTS,
                                   description="Every series' interval WAPE is below seasonal naive's.")],
)
def forecasts(context: dg.AssetExecutionContext, wfm_db: WfmDatabase):
    """One pass of ``forecasting.run.run_many``: forecast, backtest, staff and store every active series."""
    now = datetime.now(timezone.utc)
    with wfm_db.connection() as conn:
        keys_ = store.all_series(conn, now - ACTIVE_WINDOW)
        results = pipeline.run_many(conn, keys_)
        pruned = conn.execute("SELECT wfm.prune_forecast_runs(%s::interval)", (RUN_RETENTION,)).fetchone()[0]
        conn.commit()
        forecast_table = tables.table_metadata(conn, CALL_FORECASTS)
        conn.rollback()
    runs, staffed = summarize(results)
    context.log.info(f"forecast and staffed {len(runs)} series, pruned {pruned} old runs")
    yield dg.Output(runs, output_name=CALL_FORECASTS.path[-1],
                    metadata={**forecast_table, **forecast_metadata(results, runs, staffed, pruned)})
    yield dg.Output(staffed, output_name=STAFFING_REQUIREMENTS.path[-1],
                    metadata={**forecast_table, **staffing_metadata(staffed)})
    scored = {label: r for label, r in runs.items() if r["wape_model"] is not None and r["wape_naive"] is not None}
    worse = sorted(label for label, r in scored.items() if r["wape_model"] >= r["wape_naive"])
    yield dg.AssetCheckResult(
        asset_key=CALL_FORECASTS, check_name="backtest_beats_seasonal_naive", passed=not worse,
        severity=dg.AssetCheckSeverity.WARN,
        description=(f"{len(scored)} series scored; all beat seasonal naive" if not worse
                     else f"not beating seasonal naive: {', '.join(worse)}"),
        metadata={"series_not_beating_naive": dg.MetadataValue.json(worse),
                  "series_scored": dg.MetadataValue.int(len(scored))})


def report_cli_run(instance: dg.DagsterInstance, conn: psycopg.Connection, result: pipeline.RunResult) -> None:
    """A run of ``wfm forecast`` as runless materializations of both assets (one series; the
    metadata says so), so the catalog shows the newest forecast wherever it was made."""
    runs, staffed = summarize([result])
    label = result.key.label
    table = tables.table_metadata(conn, CALL_FORECASTS)
    common = {"source": "wfm forecast (CLI)", "series_label": label, "forecast_run_id": dg.MetadataValue.int(
        int(result.run_id or 0))}
    description = f"wfm forecast --service {label}: run {result.run_id} (one series; the asset's runs cover all)"
    instance.report_runless_asset_event(dg.AssetMaterialization(
        asset_key=CALL_FORECASTS, description=description,
        metadata={**table, **common, **forecast_metadata([result], runs, staffed, 0)}))
    instance.report_runless_asset_event(dg.AssetMaterialization(
        asset_key=STAFFING_REQUIREMENTS, description=description,
        metadata={**table, **common, **staffing_metadata(staffed)}))


forecasting_job = dg.define_asset_job(
    "forecasting_job", selection=dg.AssetSelection.assets(forecasts),
    description="Forecast every active service and group, then staff the forecasts.")

forecasting_weekly = dg.ScheduleDefinition(
    name="forecasting_weekly", job=forecasting_job, cron_schedule="0 5 * * 1", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Monday 05:00 UTC: fresh forecasts and staffing for the next 14 days (also after new data, "
                "through declarative automation).")


defs = dg.Definitions(assets=[forecasts], jobs=[forecasting_job], schedules=[forecasting_weekly])
