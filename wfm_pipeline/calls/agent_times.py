"""The ``at`` column of an agent state file parsed: ``parse_times(column, time_zone) -> _Time``,
exactly ``calls.validate._parse_time``, with a shorter way for the usual export.

An ACD's daily export writes every time as ``YYYY-MM-DDTHH:MM:SS`` wall-clock text. When every
cell is such text naming a real time (numpy's ISO parser reads it back to the very same text)
inside the supported range, the general parser's work - per-cell type checks, the format parse,
masks and Series assignments for the other forms - decides nothing: the naive times are numpy's,
and the two candidate instants are localized as the general parser localizes them. Any other
column (a blank, another form, an offset, a date cell, an impossible time) goes the general way.
About 3.4 -> 1.1 ms for a daily file of 2,400 events, in the worker that prepares the next file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wfm_pipeline.argus import errors as E
from wfm_pipeline.argus.validate import END_TIME, MIN_TIME
from wfm_pipeline.calls.validate import _iso_shaped, _parse_time, _Time

_ISO_LENGTH = 19


def parse_times(column: pd.Series, time_zone: str) -> _Time:
    """``calls.validate._parse_time(column, time_zone)`` (see the module docstring)."""
    naive = _plain_iso(column)
    if naive is None:
        return _parse_time(column, time_zone)
    n = len(naive)
    local = pd.Series(naive)
    early = local.dt.tz_localize(time_zone, ambiguous=np.ones(n, dtype=bool), nonexistent="NaT").dt.tz_convert("UTC")
    late = local.dt.tz_localize(time_zone, ambiguous=np.zeros(n, dtype=bool), nonexistent="NaT").dt.tz_convert("UTC")
    gap = early.isna().to_numpy()
    code = np.full(n, None, dtype=object)
    code[gap] = E.INVALID_LOCAL_TIME
    return _Time(blank=np.zeros(n, dtype=bool), code=code, early=early, late=late,
                 invalid=np.zeros(n, dtype=bool), gap=gap)


def _plain_iso(column: pd.Series) -> np.ndarray | None:
    """The naive times (datetime64[ns]) when every cell is ``YYYY-MM-DDTHH:MM:SS`` text of a
    real time in [MIN_TIME, END_TIME); else None."""
    values = column.to_numpy(dtype=object)
    if not len(values) or pd.api.types.infer_dtype(values, skipna=False) != "string":
        return None   # empty, a blank (None/NaN) or a cell that is not text
    text = values.tolist()
    lengths = set(map(len, text))
    if lengths != {_ISO_LENGTH} or not _iso_shaped(text).all():
        return None
    try:
        seconds = np.array(text, dtype="datetime64[s]")
    except ValueError:   # a day, hour or minute out of range: the general parser says which
        return None
    if not _reads_back(text, seconds):
        return None
    if (seconds < MIN_TIME.to_datetime64()).any() or (seconds >= END_TIME.to_datetime64()).any():
        return None
    return seconds.astype("datetime64[ns]")


def _reads_back(text: list[str], seconds: np.ndarray) -> bool:
    """Whether numpy's times are the texts' own fields (year, month, day, hour, minute, second
    as written): then no other reading of the text exists, and the format parse gives the same."""
    digits = np.array(text, dtype=f"<U{_ISO_LENGTH}").view(np.uint32).reshape(len(text), _ISO_LENGTH).astype(np.int64) - 48

    def field(start: int, width: int) -> np.ndarray:
        out = np.zeros(len(text), dtype=np.int64)
        for i in range(start, start + width):
            out = out * 10 + digits[:, i]
        return out

    month, day, hour, minute = field(5, 2), field(8, 2), field(11, 2), field(14, 2)
    if not (((month >= 1) & (month <= 12) & (day >= 1) & (hour <= 23) & (minute <= 59)).all()):
        return False
    first = ((field(0, 4) - 1970) * 12 + month - 1).astype("datetime64[M]")
    days = first.astype("datetime64[D]") + (day - 1).astype("timedelta64[D]")
    if not (days.astype("datetime64[M]") == first).all():   # a day the month does not have
        return False
    built = days.astype("datetime64[s]") + (hour * 3600 + minute * 60 + field(17, 2)).astype("timedelta64[s]")
    return bool((built == seconds).all())


__all__ = ["parse_times"]
