"""Test helper: Argus files through the Dagster file step (ingest asset tests, catalog tests)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import dagster as dg

from wfm_pipeline.argus import landing
from wfm_pipeline.argus.reader import file_sha256
from wfm_pipeline.defs.ingest import argus_file_import
from wfm_pipeline.defs.resources import WfmDatabase
from wfm_pipeline_tests.argus_files import write_xlsx as _write_argus_xlsx

# One step materializes argus_raw_file, argus_validated and argus_import_batch (a multi-asset).
FILE_ASSETS = [argus_file_import]

# 31.01.2024 23:30 and 23:45 Berlin are 22:30/22:45 UTC (January); 01.02 00:00 Berlin is
# 31.01 23:00 UTC: all three rows land in the January partition. Row 5 is bad (B > C).
ROWS = [
    ("Interval start", "Unique", "Non-unique", "Talk", "Post"),
    ("Argus export", None, None, None, None),
    (datetime(2024, 1, 31, 23, 30), 3, 4, 120, 30),
    (datetime(2024, 1, 31, 23, 45), 2, 2, 100, 20),
    (datetime(2024, 2, 1, 0, 0), 9, 5, 100, 20),
    ("01.03.2024 10:00:00", 1, 1, 60, 10),
]



def write_xlsx(path: Path, rows) -> Path:
    """``rows`` as they are (header rows included), into a new .xlsx (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return _write_argus_xlsx(path, rows, header=None)


def register(instance: dg.DagsterInstance, path: Path, service: str, group: str | None) -> str:
    key = landing.partition_key(service, group, path.name, file_sha256(path))
    instance.add_dynamic_partitions("argus_files", [key])
    return key



def materialization(result: dg.ExecuteInProcessResult, asset: str, partition: str | None = None):
    """The one materialization of ``asset`` (for ``partition``, when given) in a run: its metadata."""
    found = [m for m in (e.event_specific_data.materialization for e in result.all_events
                         if e.event_type_value == "ASSET_MATERIALIZATION")
             if m.asset_key == dg.AssetKey(asset) and (partition is None or m.partition == partition)]
    assert len(found) == 1, found
    return found[0].metadata


def run_file(instance, key: str, db_url: str, strict: bool = False) -> dg.ExecuteInProcessResult:
    return dg.materialize(FILE_ASSETS, partition_key=key, instance=instance, raise_on_error=False,
                          resources={"wfm_db": WfmDatabase(url=db_url)},
                          run_config={"ops": {"argus_import_batch": {"config": {"strict": strict}}}})
