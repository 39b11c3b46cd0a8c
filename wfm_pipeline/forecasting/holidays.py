"""Holidays: closures, the days around them, and date lists for ``wfm.special_days``.

A closure is a normally open weekday the centre did not work (a public holiday): either a
special day with multiplier 0, or a weekday with no rows in the export (see
``candidates.closures``). The open day after a closure is busier (callers catch up), the one
before can differ too. From the closures in a series' history this module learns one
multiplier per side ("after", "before"): the median ratio of those days' totals to their
weekday's clean level around them, shrunk toward 1 by n/(n+1) so that one holiday does not
set the rule. Future days next to a known closure get it, unless the planner set a
multiplier for that day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from wfm_pipeline.forecasting.candidates import Prepared


@dataclass(frozen=True)
class SpecialDay:
    exclude_from_training: bool = True
    multiplier: float | None = None

    @property
    def closed(self) -> bool:
        return self.multiplier is not None and float(self.multiplier) == 0.0


@dataclass(frozen=True)
class AdjacentEffect:
    multiplier: float
    holidays: int                   # closures it was learnt from
    ratios: tuple[float, ...]

    def as_dict(self) -> dict:
        return {"multiplier": round(self.multiplier, 4), "holidays": self.holidays,
                "ratios": [round(r, 3) for r in self.ratios]}


def _expected(prep: Prepared, i: int, window: int = 21) -> float | None:
    lo, hi = max(0, i - window), min(prep.clean.size, i + window + 1)
    same = [k for k in range(lo, hi) if k != i and prep.dows[k] == prep.dows[i] and not np.isnan(prep.clean[k])]
    if len(same) < 2:
        return None
    value = float(np.median(prep.clean[same]))
    return value if value > 0 else None


def learn_adjacent_effects(prep: Prepared, first_day: date, special: dict[date, SpecialDay]
                           ) -> dict[str, AdjacentEffect]:
    """Multipliers for the open day after ("after") and before ("before") a closure."""
    n = prep.clean.size
    open_day = prep.open_dow[prep.dows] & ~prep.closed
    ratios: dict[str, list[float]] = {"after": [], "before": []}
    for i in np.flatnonzero(prep.closed):
        sd = special.get(first_day + timedelta(days=int(i)))
        if sd is not None and not sd.closed and sd.multiplier is not None:
            continue                      # an excluded campaign day, not a closure
        for side, rng in (("after", range(i + 1, n)), ("before", range(i - 1, -1, -1))):
            j = next((k for k in rng if open_day[k]), None)
            if j is None or np.isnan(prep.totals[j]):
                continue
            expected = _expected(prep, j)
            if expected is not None:
                ratios[side].append(float(prep.totals[j]) / expected)
    out = {}
    for side, values in ratios.items():
        if values:
            k = len(values)
            log_m = float(np.median(np.log(np.maximum(values, 1e-6)))) * k / (k + 1)
            out[side] = AdjacentEffect(float(np.exp(log_m)), k, tuple(values))
    return out


def day_multipliers(days: list[date], open_dow: np.ndarray, closures: set[date],
                    special: dict[date, SpecialDay], effects: dict[str, AdjacentEffect]) -> np.ndarray:
    """Factor per forecast day: the planner's multiplier, else a learnt effect next to a closure."""
    out = np.ones(len(days))
    for k, d in enumerate(days):
        sd = special.get(d)
        if sd is not None and sd.multiplier is not None:
            out[k] = float(sd.multiplier)
            continue
        if not open_dow[d.weekday()] or d in closures:
            continue
        for side, step in (("after", -1), ("before", 1)):
            if side not in effects:
                continue
            nb = d + timedelta(days=step)
            for _ in range(7):            # skip the weekdays the centre never opens (weekends)
                if open_dow[nb.weekday()]:
                    break
                nb += timedelta(days=step)
            if nb in closures:
                out[k] *= effects[side].multiplier
    return out


# ---------------------------------------------------------------- date lists
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class DateListError(ValueError):
    """A date list entry that is not a calendar date (names the entry and its position)."""


def parse_dates(tokens: list[str], source: str = "argument") -> list[date]:
    """Dates from tokens separated by commas or whitespace (``YYYY-MM-DD``; ``#`` starts a comment).

    Ranges ``YYYY-MM-DD..YYYY-MM-DD`` are inclusive. Raises DateListError naming the bad entry.
    """
    out: list[date] = []
    position = 0
    for line_no, text in enumerate(tokens, start=1):
        text = text.split("#", 1)[0]
        for token in re.split(r"[,\s;]+", text.strip()):
            if not token:
                continue
            position += 1
            parts = token.split("..")
            try:
                if len(parts) > 2 or not all(_DATE.match(p) for p in parts):
                    raise ValueError("expected YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD")
                first = date.fromisoformat(parts[0])
                last = date.fromisoformat(parts[-1])
                if last < first:
                    raise ValueError("range ends before it starts")
                if (last - first).days > 366:
                    raise ValueError("range longer than a year")
            except ValueError as exc:
                where = f"line {line_no}" if source != "argument" else f"entry {position}"
                raise DateListError(f"{source}, {where}: {token[:40]!r} is not a date: {exc}") from None
            out += [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return sorted(set(out))


def country_holidays(country: str, years: list[int], subdivision: str | None = None) -> dict[date, str]:
    """Public holidays of a country from the optional ``holidays`` package (extra ``[holidays]``)."""
    try:
        import holidays as holidays_pkg
    except ImportError as exc:
        raise DateListError("a country code needs the optional 'holidays' package: "
                            "pip install 'wfm-pipeline[holidays]' (or give the dates as a list)") from exc
    try:
        calendar = holidays_pkg.country_holidays(country.upper(), subdiv=subdivision, years=years)
    except NotImplementedError as exc:
        raise DateListError(f"unknown country or subdivision: {country!r} {subdivision or ''}".strip()) from exc
    return {d: str(name) for d, name in sorted(calendar.items())}
