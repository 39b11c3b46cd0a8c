"""Model selection by rolling-origin backtest on history before the origin ("best pick").

For a forecast from day index ``o`` of a series' local grid, the candidates are fit at inner
origins ``o - H - 7j`` (j = 0..k-1, ``H`` = the selection horizon, 14 days), so every inner test
window ends on or before ``o``: the test window of the forecast being chosen is never looked at.
Each candidate's pooled interval WAPE over those windows (closures, catch-up and abnormal days
as labelled at ``o`` are not scored: planners handle them, and they say nothing about which
level is right) ranks the candidates; the forecast is the inverse-WAPE weighted combination
of the best three (combining the best few is more robust than picking one: Makridakis et al.,
M4; Petropoulos et al. 2022). Fits are cached per origin, so the backtest of a run (origins on
the same weekly lattice) reuses them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from wfm_pipeline.forecasting.candidates import CANDIDATES, Prepared, candidate_grids, prepare

DEFAULT_WEIGHTS = {"holt_horizon": 1 / 3, "dow_median5": 1 / 3, "recent_median": 1 / 3}


@dataclass
class Fit:
    prep: Prepared
    grids: dict[str, np.ndarray]      # candidate → selection-horizon × 96


@dataclass
class Selection:
    weights: dict[str, float]
    scores: dict[str, float | None] = field(default_factory=dict)   # inner pooled interval WAPE
    windows: list[int] = field(default_factory=list)                # inner origins (day index)

    def as_dict(self, first_day: date | None = None) -> dict:
        def day(i: int):
            return str(first_day + timedelta(days=int(i))) if first_day is not None else int(i)

        chosen = max(self.weights, key=self.weights.get) if self.weights else None
        return {"method": "inverse-WAPE combination of the best 3" if self.scores else "default combination",
                "weights": {k: round(v, 4) for k, v in self.weights.items()}, "best": chosen,
                "candidate_wape": {k: None if v is None else round(v, 5) for k, v in self.scores.items()},
                "windows": [day(i) for i in self.windows]}


class Engine:
    """Candidate fits of one series on its local grid, cached by origin day index."""

    def __init__(self, calls: np.ndarray, dows: np.ndarray, cfg) -> None:
        self.calls = calls
        self.dows = dows
        self.cfg = cfg
        self.has_rows = ~np.isnan(calls).all(1)
        self._fits: dict[int, Fit | None] = {}
        self._selections: dict[int, Selection] = {}

    def fit(self, origin: int) -> Fit | None:
        """Fit on the ``train_days`` before ``origin``; None when too little history."""
        if origin not in self._fits:
            lo = max(0, origin - self.cfg.train_days)
            if self.has_rows[lo:origin].sum() < self.cfg.min_train_days:
                self._fits[origin] = None
            else:
                prep = prepare(self.calls[lo:origin], self.dows[lo:origin], self.cfg)
                h = self.cfg.selection_horizon_days
                self._fits[origin] = Fit(prep, self.candidates(prep, origin, h))
        return self._fits[origin]

    def candidates(self, prep: Prepared, origin: int, n_days: int) -> dict[str, np.ndarray]:
        future = (self.dows[origin - 1] + 1 + np.arange(n_days)) % 7 if origin > 0 else np.arange(n_days) % 7
        return candidate_grids(prep, future, np.arange(1, n_days + 1))

    def select(self, origin: int) -> Selection:
        if origin in self._selections:
            return self._selections[origin]
        cfg = self.cfg
        h = cfg.selection_horizon_days
        outer = self.fit(origin)
        err = {c: 0.0 for c in CANDIDATES}
        actual_sum = 0.0
        windows = []
        if outer is not None:
            lo = max(0, origin - cfg.train_days)
            skip = outer.prep.excluded
            for j in range(cfg.selection_origins):
                o = origin - h - 7 * j
                inner = self.fit(o) if o - lo >= 0 else None
                if inner is None:
                    continue
                actual = self.calls[o:o + h]
                mask = ~np.isnan(actual) & ~skip[o - lo:o - lo + h, None]
                if not mask.any():
                    continue
                a = actual[mask]
                actual_sum += float(a.sum())
                for c in CANDIDATES:
                    err[c] += float(np.abs(inner.grids[c][mask] - a).sum())
                windows.append(o)
        if actual_sum <= 0:
            sel = Selection(dict(DEFAULT_WEIGHTS))
        else:
            scores = {c: err[c] / actual_sum for c in CANDIDATES}
            best = sorted(scores, key=scores.get)[:cfg.combine_top]
            inv = {c: 1.0 / max(scores[c], 1e-9) for c in best}
            total = sum(inv.values())
            sel = Selection({c: inv[c] / total for c in best}, scores, windows)
        self._selections[origin] = sel
        return sel

    def forecast(self, origin: int, n_days: int) -> tuple[np.ndarray, Prepared | None, Selection]:
        """The combined forecast (n_days × 96) from ``origin``, its fit and the selection."""
        sel = self.select(origin)
        fit = self.fit(origin)
        lo = max(0, origin - self.cfg.train_days)
        prep = fit.prep if fit is not None else (
            prepare(self.calls[lo:origin], self.dows[lo:origin], self.cfg) if origin > lo else None)
        if prep is None:
            return np.zeros((n_days, 96)), None, sel
        if fit is not None and n_days <= self.cfg.selection_horizon_days:
            grids = {c: g[:n_days] for c, g in fit.grids.items()}
        else:
            grids = self.candidates(prep, origin, n_days)
        combined = sum(w * grids[c] for c, w in sel.weights.items())
        return np.maximum(combined, 0.0), prep, sel
