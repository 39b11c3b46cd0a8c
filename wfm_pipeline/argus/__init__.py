"""Argus WFM file import: reading, pandera validation, audited loading (plain Python, no Dagster).

The stable API (the ingest assets and the CLI build on it)::

    raw = read_argus_file(path)                       # reader.RawArgusData (ArgusFileError on file-level problems)
    result = validate_argus(raw, time_zone)           # validate.ValidationResult(valid, errors, skipped, ...)
    target = resolve_target(conn, "S1", "G1")         # loader.Target (ArgusFileError UNKNOWN_SERVICE/GROUP)
    loaded = load_validated(conn, result, target, file_name=..., sha256=..., strict=False)
    loaded = import_file(conn, path, "S1", "G1", strict=False, validate_only=False, progress=None)
    loaded.to_dict()                                  # the `wfm import --json` line

Batches: ``batches.list_batches``, ``get_batch``, ``revert_batch``, ``rebuild_month``.
"""

from wfm_pipeline.argus.errors import ArgusFileError, RowError
from wfm_pipeline.argus.loader import (
    ImportFailedError, ImportResult, Target, find_duplicate, import_file, load_validated, record_rejection,
    resolve_target,
)
from wfm_pipeline.argus.reader import RawArgusData, file_sha256, read_argus_file
from wfm_pipeline.argus.validate import ValidationResult, validate_argus

__all__ = [
    "ArgusFileError", "ImportFailedError", "ImportResult", "RawArgusData", "RowError", "Target",
    "ValidationResult", "file_sha256", "find_duplicate", "import_file", "load_validated", "read_argus_file",
    "record_rejection", "resolve_target", "validate_argus",
]
