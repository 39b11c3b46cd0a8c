"""The one Dagster ``Definitions``: merges every domain's definitions and binds resources."""


import dagster as dg

from wfm_pipeline.db.resource import WfmDatabase
from wfm_pipeline.forecasting import definitions as forecasting
from wfm_pipeline.health import definitions as health
from wfm_pipeline.ingest import definitions as ingest
from wfm_pipeline.warehouse import definitions as warehouse

DOMAINS: list[dg.Definitions] = [warehouse.defs, forecasting.defs, ingest.defs, health.defs]

defs = dg.Definitions.merge(
    *DOMAINS,
    dg.Definitions(resources={"wfm_db": WfmDatabase()}),
)
