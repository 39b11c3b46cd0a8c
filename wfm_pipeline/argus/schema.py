"""The pandera model of parsed Argus rows.

The validator (``validate.py``) first parses the raw cells into typed columns (a local
``datetime64`` and four ``float64`` columns; NaN/NaT where a cell was empty or unparseable -
those parse errors are reported there). This model then checks the values, lazily, so every
failing cell of every row is collected in one pass. Each check's ``name`` is the error code
it reports (``wfm.error_codes``), which is how failures become ``RowError`` records.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from wfm_pipeline.argus import errors as E

MAX_COUNT = 2_147_483_647       # integer columns of contact_statistics
MAX_DURATION_SECONDS = 86_400   # contact_statistics_times_in_range

# Typed column -> Argus column letter (for messages and import_errors.column_name).
COLUMN_LETTERS = {
    "local_time": "A",
    "unique_incoming": "B",
    "non_unique_incoming": "C",
    "avg_talk_time": "D",
    "avg_post_processing_time": "E",
}
COUNT_COLUMNS = ("unique_incoming", "non_unique_incoming")
DURATION_COLUMNS = ("avg_talk_time", "avg_post_processing_time")
VALUE_COLUMNS = COUNT_COLUMNS + DURATION_COLUMNS


def _integral(s: pd.Series) -> pd.Series:
    return ~np.isfinite(s) | (s == np.floor(s))


class ArgusRowsModel(pa.DataFrameModel):
    """Parsed Argus rows: one per data row of the file, NaN/NaT where parsing failed."""

    row: Series[np.int64] = pa.Field(ge=1, description="Spreadsheet row number (1-based, headers counted).")
    local_time: Series[pd.Timestamp] = pa.Field(nullable=True, description="Column A, local wall-clock time, rounded to the second.")
    unique_incoming: Series[float] = pa.Field(nullable=True, description="Column B.")
    non_unique_incoming: Series[float] = pa.Field(nullable=True, description="Column C.")
    avg_talk_time: Series[float] = pa.Field(nullable=True, description="Column D, seconds.")
    avg_post_processing_time: Series[float] = pa.Field(nullable=True, description="Column E, seconds.")

    @pa.check("local_time", name=E.MISALIGNED_INTERVAL)
    def aligned(cls, s: pd.Series) -> pd.Series:
        return (s.dt.minute % 15 == 0) & (s.dt.second == 0) & (s.dt.microsecond == 0)

    @pa.check(*VALUE_COLUMNS, name=E.NOT_INTEGER)
    def integral(cls, s: pd.Series) -> pd.Series:
        return _integral(s)

    @pa.check(*VALUE_COLUMNS, name=E.NEGATIVE_VALUE)
    def not_negative(cls, s: pd.Series) -> pd.Series:
        return s >= 0

    @pa.check(*COUNT_COLUMNS, name=E.OUT_OF_RANGE)
    def count_in_range(cls, s: pd.Series) -> pd.Series:
        return s <= MAX_COUNT

    @pa.check(*DURATION_COLUMNS, name=E.OUT_OF_RANGE)
    def duration_in_range(cls, s: pd.Series) -> pd.Series:
        return s <= MAX_DURATION_SECONDS

    @pa.dataframe_check(name=E.UNIQUE_EXCEEDS_NON_UNIQUE)
    def unique_le_non_unique(cls, df: pd.DataFrame) -> pd.Series:
        # NaN on either side compares False: a missing/invalid B or C is reported on its own.
        return ~(df["unique_incoming"] > df["non_unique_incoming"])

    class Config:
        strict = True
        coerce = False
