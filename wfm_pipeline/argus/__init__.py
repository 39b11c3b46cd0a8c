"""Argus WFM file import: reading, pandera validation, audited loading (plain Python, no Dagster).

The stable API (the ingest assets and the CLI build on it)::

    loaded = import_file(conn, path, "S1", "G1", strict=False, validate_only=False, progress=None)
    loaded.to_dict()                                  # the `wfm import --json` line
    run = run_file(conn, path, "S1", "G1", folders=...)  # the same, with every step's output

    # the steps run_file strings together (steps.py), usable one by one:
    insp = inspect(conn, path, "S1", "G1")            # read once: sha256, Target, duplicate_of, error
    validation = validate(insp)                       # validate.ValidationResult(valid, errors, skipped, ...)
    loaded = load(conn, insp, validation, strict=False)

    raw = read_argus_file(path)                       # reader.RawArgusData (ArgusFileError on file-level problems)
    result = validate_argus(raw, time_zone)           # the row rules alone
    target = resolve_target(conn, "S1", "G1")         # loader.Target (ArgusFileError UNKNOWN_SERVICE/GROUP)

Batches: ``batches.list_batches``, ``get_batch``, ``revert_batch``, ``rebuild_month``.
"""

from wfm_pipeline.argus.errors import ArgusFileError, RowError
from wfm_pipeline.argus.loader import (
    ImportFailedError, ImportResult, Target, find_duplicate, load_validated, record_rejection, resolve_target,
)
from wfm_pipeline.argus.reader import RawArgusData, file_sha256, read_argus_file
from wfm_pipeline.argus.steps import FileRun, Inspection, import_file, inspect, load, run_file, validate
from wfm_pipeline.argus.validate import ValidationResult, validate_argus

__all__ = [
    "ArgusFileError", "FileRun", "ImportFailedError", "ImportResult", "Inspection", "RawArgusData", "RowError",
    "Target", "ValidationResult", "file_sha256", "find_duplicate", "import_file", "inspect", "load",
    "load_validated", "read_argus_file", "record_rejection", "resolve_target", "run_file", "validate",
    "validate_argus",
]
