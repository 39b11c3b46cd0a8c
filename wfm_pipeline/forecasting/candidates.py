"""One fit at one origin: cleaned day totals, profiles, and the candidate forecasts.

Everything here sees only the training grid (local days × 96 slots strictly before the
origin). A fit:

1. day totals, scaled up by the share of the usual profile the observed intervals cover
   (missing intervals are unknown, not zero);
2. closures (a normally open weekday with no rows, or next to no calls: a holiday the centre
   was closed), the next open day after each (a likely catch-up day) and the open day before;
3. abnormal days: a robust z-score of each day's weekday-adjusted log total against the median
   of its neighbours (±7 open days); a run of such days at the very end is a level shift in
   progress, not an outlier, and stays in;
4. weekday factors and weekday intraday profiles from the remaining days;
5. candidate forecasts of the days after the origin (``CANDIDATES``), each a days × 96 grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SLOTS = 96
CANDIDATES = ("holt_horizon", "dow_median5", "recent_median", "slot_median5", "seasonal_naive")


@dataclass
class Prepared:
    calls: np.ndarray        # training grid, days × 96, NaN = no row
    dows: np.ndarray         # weekday of each training day
    totals: np.ndarray       # coverage-scaled day totals (NaN: too little observed)
    open_dow: np.ndarray     # 7 bools: weekday normally open
    closed: np.ndarray       # closure of a normally open weekday
    catch_up: np.ndarray     # first open day after a closure
    pre_closure: np.ndarray  # last open day before a closure
    abnormal: np.ndarray     # robust outlier days
    clean: np.ndarray        # totals of the days fit to train on (NaN otherwise)
    profiles: np.ndarray     # 7 × 96 intraday shares
    factors: np.ndarray      # 7 weekday factors (mean 1 over the 7 days)
    level: float
    trend: float
    holt: dict

    @property
    def excluded(self) -> np.ndarray:
        return self.closed | self.catch_up | self.pre_closure | self.abnormal


def _share(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(den > 0, num / den, 0.0)
    total = rate.sum()
    return rate / total if total > 0 else rate


def _nanmedian(a: np.ndarray) -> float:
    a = a[~np.isnan(a)]
    return float(np.median(a)) if a.size else float("nan")


def column_nanmedian(a: np.ndarray) -> np.ndarray:
    """Median of each column ignoring NaN (NaN where a column has none); np.nanmedian is ~50x
    slower on the small blocks (5 days × 96 slots) the candidates and baselines take it of."""
    s = np.sort(a, axis=0)                      # NaN sort last
    n = (~np.isnan(a)).sum(0)
    lo = np.maximum((n - 1) // 2, 0)[None, :]
    hi = np.maximum(n // 2, 0)[None, :]
    med = (np.take_along_axis(s, lo, 0)[0] + np.take_along_axis(s, hi, 0)[0]) / 2
    return np.where(n > 0, med, np.nan)


# ---------------------------------------------------------------- day labels
def closures(has_rows: np.ndarray, raw: np.ndarray, dows: np.ndarray, totals: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Open weekdays, closures, catch-up days (next open day) and pre-closure days."""
    n = raw.size
    open_dow = np.zeros(7, bool)
    for w in range(7):
        rows = has_rows & (dows == w)
        open_dow[w] = rows.any() and (raw[rows] > 0).mean() >= 0.5
    start = int(np.argmax(has_rows)) if has_rows.any() else n
    level = np.array([_nanmedian(totals[(dows == w) & (raw > 0)]) if open_dow[w] else np.nan for w in range(7)])
    near_zero = has_rows & (raw < 0.05 * np.nan_to_num(level[dows], nan=0.0))
    closed = open_dow[dows] & (np.arange(n) >= start) & (~has_rows | near_zero)
    # Data ending early (an export lag) looks like closures at the end: a closure needs data after it.
    last = int(np.flatnonzero(has_rows & ~near_zero)[-1]) if (has_rows & ~near_zero).any() else -1
    closed &= np.arange(n) < last
    open_day = open_dow[dows] & ~closed
    catch_up = np.zeros(n, bool)
    pre = np.zeros(n, bool)
    for i in np.flatnonzero(closed):
        after = np.flatnonzero(open_day[i + 1:])
        if after.size:
            catch_up[i + 1 + after[0]] = True
        before = np.flatnonzero(open_day[:i])
        if before.size:
            pre[before[-1]] = True
    return open_dow, closed, catch_up, pre


def abnormal_days(totals: np.ndarray, dows: np.ndarray, candidates: np.ndarray, z: float,
                  neighbours: int = 7) -> np.ndarray:
    """Days far from their neighbours' weekday-adjusted level (robust z of the log ratio)."""
    n = totals.size
    out = np.zeros(n, bool)
    valid = candidates & ~np.isnan(totals) & (np.nan_to_num(totals) > 0)
    idx = np.flatnonzero(valid)
    if idx.size < 2 * neighbours:
        return out
    f0 = np.ones(7)
    for w in range(7):
        vals = totals[valid & (dows == w)]
        if vals.size:
            f0[w] = np.median(vals)
    logs = np.log(totals[idx] / f0[dows[idx]])
    padded = np.concatenate([np.full(neighbours, np.nan), logs, np.full(neighbours, np.nan)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * neighbours + 1)
    around = np.delete(windows, neighbours, axis=1)           # the ±7 open days, not the day itself
    enough = (~np.isnan(around)).sum(1) >= 4
    resid = np.where(enough, logs - column_nanmedian(around.T), np.nan)
    ok = ~np.isnan(resid)
    if ok.sum() < 8:
        return out
    r = resid[ok]
    scale = max(1.4826 * float(np.median(np.abs(r - np.median(r)))), 0.02)
    flag = np.zeros(idx.size, bool)
    flag[ok] = np.abs(resid[ok]) > z * scale
    # A same-signed run reaching the last day is a level shift under way: keep it in.
    k = idx.size - 1
    run = 0
    while k >= 0 and flag[k] and np.sign(resid[k]) == np.sign(resid[idx.size - 1]):
        run += 1
        k -= 1
    if run >= 2:
        flag[idx.size - run:] = False
    out[idx[flag]] = True
    return out


# ---------------------------------------------------------------- seasonal structure
def weekday_factors(totals: np.ndarray, dows: np.ndarray, weeks_max: int, decay: float) -> np.ndarray:
    """Multiplicative weekday effects (mean 1 over the 7 days) from weeks × weekdays, NaN-aware."""
    n = totals.size
    weeks = min(weeks_max, n // 7)
    if weeks == 0:
        return np.ones(7)
    block = totals[n - 7 * weeks:].reshape(weeks, 7)
    block_dow = dows[n - 7 * weeks:].reshape(weeks, 7)[0]
    obs = ~np.isnan(block)
    d = np.where(obs, block, 0.0)
    w = (decay ** np.arange(weeks - 1, -1, -1))[:, None] * obs
    f = np.ones(7)
    for _ in range(25):
        lvl = (w * d * f).sum(1) / np.maximum((w * f * f).sum(1), 1e-12)
        f = (w * d * lvl[:, None]).sum(0) / np.maximum((w * lvl[:, None] ** 2).sum(0), 1e-12)
        f = np.where(obs.any(0), f, 0.0)
        mean = f.mean()
        if mean <= 0:
            return np.zeros(7)
        f = f / mean
    out = np.zeros(7)
    out[block_dow] = f
    return out


def shrunk_profiles(calls: np.ndarray, totals: np.ndarray, dows: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """7 × 96 intraday shares: each weekday's pooled profile shrunk toward the all-days profile.

    A slot's share is Σ calls / Σ day totals over the days where that slot was observed, so a
    missing interval lowers neither its own slot nor the others. The shrinkage weight is
    empirical Bayes: the Poisson variance of a weekday profile (Σ_s p/N = 1/N) against its
    observed squared distance from the all-days profile. Slots where a weekday's history is
    always zero stay zero.
    """
    obs = ~np.isnan(calls) & usable[:, None] & ~np.isnan(totals)[:, None]
    x = np.where(obs, calls, 0.0)
    t = np.where(obs, np.nan_to_num(totals)[:, None], 0.0)
    profiles = np.zeros((7, SLOTS))
    p_all = _share(x.sum(0), t.sum(0))
    if p_all.sum() <= 0:
        return profiles
    for dow in range(7):
        rows = usable & (dows == dow) & ~np.isnan(totals)
        n_w = float(np.nansum(totals[rows]))
        if n_w <= 0:
            profiles[dow] = 0.0 if rows.any() else p_all
            continue
        p_w = _share(x[rows].sum(0), t[rows].sum(0))
        dist = float(((p_w - p_all) ** 2).sum())
        weight_all = min(1.0, (1.0 / n_w) / max(dist, 1e-12))
        p = (1 - weight_all) * p_w + weight_all * p_all
        if rows.sum() >= 2:
            p = np.where(x[rows].sum(0) > 0, p, 0.0)     # always zero on this weekday: closed
        profiles[dow] = p / p.sum() if p.sum() > 0 else p_all
    return profiles


# ---------------------------------------------------------------- level
def holt_horizon(y: np.ndarray, alphas: tuple[float, ...], betas: tuple[float, ...], phi: float,
                 horizon: int, warmup: int = 14) -> tuple[float, float, dict]:
    """Damped Holt with (alpha, beta) chosen by mean absolute error 1..``horizon`` days ahead.

    All grid points run at once; missing days only propagate. The choice is made on the
    errors the level would have had at the horizon planners use, so a high alpha that chases
    last week's noise loses to a smoother level whenever it should.
    """
    valid = np.flatnonzero(~np.isnan(y))
    if valid.size < 3:
        mean = float(np.nanmean(y)) if valid.size else 0.0
        return max(mean, 0.0), 0.0, {"alpha": None, "beta": None, "phi": phi}
    grid = np.array([(a, b) for a in alphas for b in betas])
    a, b = grid[:, 0], grid[:, 1]
    n = y.size
    level = np.full(grid.shape[0], float(np.mean(y[valid[:7]])))
    trend = np.zeros(grid.shape[0])
    levels = np.full((n, grid.shape[0]), np.nan)
    trends = np.full((n, grid.shape[0]), np.nan)
    for t in range(int(valid[0]), n):
        pred = level + phi * trend
        if np.isnan(y[t]):
            level, trend = pred, phi * trend
        else:
            new_level = pred + a * (y[t] - pred)
            trend = b * (new_level - level) + (1 - b) * phi * trend
            level = new_level
        levels[t], trends[t] = level, trend
    start = int(valid[0]) + warmup
    err = np.zeros(grid.shape[0])
    count = 0
    for h in range(1, horizon + 1):
        if start + h >= n:
            break
        damp = phi * (1 - phi ** h) / (1 - phi)
        fc = levels[start:n - h] + damp * trends[start:n - h]
        actual = y[start + h:n]
        ok = ~np.isnan(actual)
        err += np.abs(fc[ok] - actual[ok, None]).sum(0)
        count += int(ok.sum())
    best = int(np.argmin(err)) if count else int(np.argmin(np.abs(a - 0.2) + b))
    return (max(float(level[best]), 0.0), float(trend[best]),
            {"alpha": float(a[best]), "beta": float(b[best]), "phi": phi})


# ---------------------------------------------------------------- prepare
def prepare(calls: np.ndarray, dows: np.ndarray, cfg) -> Prepared:
    """Clean the training grid and fit the shared structure (``cfg``: model.ModelConfig)."""
    n = calls.shape[0]
    observed = ~np.isnan(calls)
    x0 = np.where(observed, calls, 0.0)
    raw = x0.sum(1)
    has_rows = observed.any(1)
    p_all0 = _share(x0.sum(0), observed.sum(0).astype(float))
    coverage = (observed * p_all0).sum(1)
    totals = np.where(coverage >= cfg.min_coverage, raw / np.maximum(coverage, 1e-12), np.nan)
    open_dow, closed, catch_up, pre = closures(has_rows, raw, dows, totals)
    abnormal = abnormal_days(totals, dows, open_dow[dows] & ~closed & ~catch_up, cfg.abnormal_z)
    drop = closed | catch_up | pre | abnormal
    recent = np.arange(n) >= n - 7 * cfg.profile_weeks
    usable = ~drop & ~np.isnan(totals) & recent
    profiles = shrunk_profiles(calls, totals, dows, usable)
    # Second pass: weekday-specific coverage is exact where a weekday has its own opening hours.
    coverage = (observed * profiles[dows]).sum(1)
    totals = np.where(coverage >= cfg.min_coverage, raw / np.maximum(coverage, 1e-12), np.nan)
    totals[~open_dow[dows] & has_rows] = 0.0
    clean = np.where(drop, np.nan, totals)
    factors = weekday_factors(clean, dows, cfg.profile_weeks, cfg.week_decay)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.where(factors[dows] > 0, clean / factors[dows], np.nan)
    level, trend, holt = holt_horizon(y, cfg.alphas, cfg.betas, cfg.phi, cfg.level_horizon_days)
    return Prepared(calls, dows, totals, open_dow, closed, catch_up, pre, abnormal, clean, profiles, factors,
                    level, trend, holt)


# ---------------------------------------------------------------- candidates
def candidate_grids(p: Prepared, future_dows: np.ndarray, steps: np.ndarray) -> dict[str, np.ndarray]:
    """Each candidate's forecast of the future days (weekdays ``future_dows``, ``steps`` = 1, 2, ...
    days after the last training day): days × 96 grids of calls."""
    factors, profiles = p.factors, p.profiles
    prof = profiles[future_dows]
    open_f = p.open_dow[future_dows]
    damp = p.holt["phi"] * (1 - p.holt["phi"] ** steps) / (1 - p.holt["phi"])
    holt_day = np.maximum(p.level + damp * p.trend, 0.0) * factors[future_dows]
    out = {"holt_horizon": holt_day[:, None] * prof}
    # Per weekday: median of its last 5 clean totals.
    dow_med = np.zeros(7)
    for w in range(7):
        vals = p.clean[p.dows == w]
        vals = vals[~np.isnan(vals)][-5:]
        dow_med[w] = float(np.median(vals)) if vals.size >= 2 else p.level * factors[w]
    out["dow_median5"] = (dow_med[future_dows] * open_f)[:, None] * prof
    # Weekday-adjusted level: median of the last 10 clean open days.
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.where(factors[p.dows] > 0, p.clean / factors[p.dows], np.nan)
    y = y[~np.isnan(y)][-10:]
    recent = float(np.median(y)) if y.size else p.level
    out["recent_median"] = (recent * factors[future_dows])[:, None] * prof
    # Per slot: median of the last 5 clean same weekdays (the strong baseline, on cleaned days),
    # and the last clean same weekday (seasonal naive); missing slots from the profile.
    grid = np.where(np.isnan(p.clean)[:, None], np.nan, p.calls)
    slot_med = np.zeros((7, SLOTS))
    naive = np.zeros((7, SLOTS))
    for w in range(7):
        if not p.open_dow[w]:
            continue
        rows = np.flatnonzero((p.dows == w) & ~np.isnan(p.clean))[-5:]
        if rows.size == 0:
            slot_med[w] = naive[w] = profiles[w] * p.level * factors[w]
            continue
        med = column_nanmedian(grid[rows])
        slot_med[w] = np.where(np.isnan(med), profiles[w] * dow_med[w], med)
        last = grid[rows[-1]]
        naive[w] = np.where(np.isnan(last), profiles[w] * p.clean[rows[-1]], last)
    out["slot_median5"] = slot_med[future_dows]
    out["seasonal_naive"] = naive[future_dows]
    return out
