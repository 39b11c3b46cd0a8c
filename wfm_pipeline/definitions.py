"""The one Dagster ``Definitions``: merges the wiring modules of ``wfm_pipeline.defs`` and binds resources."""

import dagster as dg

from wfm_pipeline.defs import agents, automation, forecasting, health, ingest, sensors, warehouse
from wfm_pipeline.defs.resources import WfmDatabase

DOMAINS: list[dg.Definitions] = [warehouse.defs, forecasting.defs, ingest.defs, health.defs, agents.defs]

defs = dg.Definitions.merge(
    *DOMAINS,
    dg.Definitions(sensors=[sensors.argus_landing_sensor, automation.automation_sensor],
                   resources={"wfm_db": WfmDatabase()}),
)
