"""Asset keys, their tables, owners and domain tags: defined once, imported by every defs module.

A key spelled as a string anywhere else can drift from the asset it means (a typo makes a new,
empty asset in the catalog); here each is written once. ``TABLES`` names the database relation
behind each table-backed asset (``dagster/table_name``; its columns are read from the catalog at
materialization, see ``defs.tables``).
"""

from __future__ import annotations

import dagster as dg

# ingest: one landed file (dynamic partition) -> its batch -> the monthly table
ARGUS_RAW_FILE = dg.AssetKey("argus_raw_file")
ARGUS_VALIDATED = dg.AssetKey("argus_validated")
ARGUS_IMPORT_BATCH = dg.AssetKey("argus_import_batch")
CONTACT_STATISTICS = dg.AssetKey("contact_statistics")
# warehouse: materialized views
MV_HOURLY_STATS = dg.AssetKey("mv_hourly_stats")
MV_DAILY_SERVICE_STATS = dg.AssetKey("mv_daily_service_stats")
# forecasting: one multi-asset writes both
CALL_FORECASTS = dg.AssetKey("call_forecasts")
STAFFING_REQUIREMENTS = dg.AssetKey("staffing_requirements")
# agents: plan versus actual per service and local day
PLAN_VS_ACTUAL = dg.AssetKey("plan_vs_actual")
# health: the database as a service (its SQL API's SLAs, security, the server's resources)
WFM_DATABASE = dg.AssetKey("wfm_database")

# The relation behind each table-backed asset.
TABLES: dict[dg.AssetKey, str] = {
    ARGUS_IMPORT_BATCH: "wfm.import_batches",
    CONTACT_STATISTICS: "wfm.contact_statistics",
    MV_HOURLY_STATS: "wfm.mv_hourly_stats",
    MV_DAILY_SERVICE_STATS: "wfm.mv_daily_service_stats",
    CALL_FORECASTS: "wfm.forecasts",
    STAFFING_REQUIREMENTS: "wfm.forecasts",
}

# Who answers for the assets (Dagster owners: an e-mail address or ``team:<name>``).
OWNERS = ["team:wfm-data"]

# Groups in the asset graph, also the ``domain`` tag of their assets.
INGEST = "ingest"
WAREHOUSE = "warehouse"
FORECASTING = "forecasting"
HEALTH = "health"
AGENTS = "agents"


def tags(domain: str, **extra: str) -> dict[str, str]:
    """Asset tags: the domain (the asset graph's group), plus any extra ones."""
    return {"domain": domain, **extra}


def table_name(key: dg.AssetKey) -> dict[str, str]:
    """Definition metadata naming the asset's relation (no database needed)."""
    return {"dagster/table_name": TABLES[key]}
