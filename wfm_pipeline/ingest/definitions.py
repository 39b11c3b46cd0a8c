"""Ingest Dagster definitions: Argus file assets, their check, jobs and the landing sensor."""

import dagster as dg

from wfm_pipeline.ingest.assets import (
    argus_file_import_job,
    argus_import_batch,
    argus_raw_file,
    argus_validated,
    contact_statistics,
    contact_statistics_rebuild_job,
)
from wfm_pipeline.ingest.sensor import argus_landing_sensor

defs = dg.Definitions(
    assets=[argus_raw_file, argus_validated, argus_import_batch, contact_statistics],
    jobs=[argus_file_import_job, contact_statistics_rebuild_job],
    sensors=[argus_landing_sensor],
)
