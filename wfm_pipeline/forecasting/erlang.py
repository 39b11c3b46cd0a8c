"""Erlang C and Erlang A staffing, vectorised over intervals (plain numpy, no Dagster).

Erlang C (M/M/n): the probability of waiting comes from the Erlang B recursion
``B(k) = A·B(k-1) / (k + A·B(k-1))``, which stays in [0, 1] for any number of agents and never
forms ``A^n / n!`` (that overflows beyond ~170 agents). ``C = n·B / (n − A·(1 − B))``.

Erlang A (M/M/n+M, exponential patience with mean ``patience``): Palm's model with the
Mandelbaum–Zeltyn formulas. With ``x = n·μ/θ`` and ``y = λ/θ`` everything reduces to the
series ``S(a, z) = Σ_j z^j / Π_{k=1..j} (a + k)`` (a scaled lower incomplete gamma function),
summed here in log space so heavily overloaded intervals do not overflow:

* ``P(wait > 0) = E·S(x, y) / (1 + (S(x, y) − 1)·E)`` with ``E`` = Erlang B(n, A);
* offered wait ``V`` (time to answer for an infinitely patient caller):
  ``P(V > t | V > 0) = γ(x, y·e^{−θt}) / γ(x, y)``;
* answered within ``t`` = ``P(V = 0) + E[e^{−θV}; 0 < V ≤ t]`` (a caller is answered if their
  patience outlasts V), abandonment = ``P(V > 0) − E[e^{−θV}; V > 0]``.

Service level under Erlang A is the share of *offered* calls answered within the threshold
(abandoned calls count as misses); "ASA" there is the mean wait of all offered calls
(``P(abandon)/θ`` by Little's law).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = 1e-9


@dataclass(frozen=True)
class Targets:
    """A service's staffing targets (columns of wfm.services)."""

    service_level: float = 0.80        # share of calls answered within the threshold
    sl_threshold_seconds: float = 20.0
    max_occupancy: float = 0.85
    shrinkage: float = 0.30             # share of paid time agents are not on the phones
    patience_seconds: float | None = None   # mean patience: Erlang A when set

    def __post_init__(self) -> None:
        if not 0 < self.service_level < 1:
            raise ValueError(f"service level target must be in (0, 1), got {self.service_level}")
        if self.sl_threshold_seconds < 0:
            raise ValueError(f"SL threshold must be >= 0 s, got {self.sl_threshold_seconds}")
        if not 0 < self.max_occupancy <= 1:
            raise ValueError(f"max occupancy must be in (0, 1], got {self.max_occupancy}")
        if not 0 <= self.shrinkage < 1:
            raise ValueError(f"shrinkage must be in [0, 1), got {self.shrinkage}")
        if self.patience_seconds is not None and self.patience_seconds <= 0:
            raise ValueError(f"patience must be > 0 s, got {self.patience_seconds}")


@dataclass
class Staffing:
    """Per-interval staffing arrays (same length as the inputs)."""

    required_agents: np.ndarray     # int: agents on the phones
    scheduled_agents: np.ndarray    # int: required / (1 − shrinkage), rounded up
    service_level: np.ndarray       # float in [0, 1]
    asa: np.ndarray                 # seconds
    occupancy: np.ndarray           # float in [0, 1]
    workload: np.ndarray            # offered load in Erlangs
    abandon_rate: np.ndarray        # share of offered calls abandoning (0 under Erlang C)
    model: str


def offered_load(calls: np.ndarray, aht: np.ndarray, interval_seconds: float) -> np.ndarray:
    """Traffic intensity A in Erlangs: calls × AHT / interval length."""
    return np.asarray(calls, float) * np.asarray(aht, float) / float(interval_seconds)


def scheduled(required: np.ndarray, shrinkage: float) -> np.ndarray:
    """Agents to schedule so that ``required`` remain after shrinkage (tolerant to 14/0.7 = 20.000…04)."""
    return np.ceil(np.asarray(required, float) / (1.0 - shrinkage) - EPS).astype(np.int64)


def _recursion_start(load: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where to start the Erlang B recursion, and B there.

    Starting at k = 1 costs O(n) steps, far too many for absurd loads. Below the load the
    recursion is a contraction (factor ≈ k/A per step), so starting at s = A − 10·√A from
    the fluid value B(s) ≈ 1 − s/A (off by ~1%) forgets that error by a factor e^{-50} before k
    reaches A; results are exact to double precision.
    """
    load = np.asarray(load, float)
    start = np.floor(np.maximum(load - 10 * np.sqrt(load) - 1, 0)).astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        b0 = np.where(start > 0, 1 - start / np.where(load > 0, load, 1), 1.0)
    return start, b0


def _far_above(n: np.ndarray, load: np.ndarray) -> np.ndarray:
    """n so far above the load (n ≥ A + 20·√A + 30) that B and C are below 1e-60: treat as 0."""
    return n >= load + 20 * np.sqrt(load) + 30


def erlang_b(n: np.ndarray, load: np.ndarray) -> np.ndarray:
    """Erlang B blocking for n agents (vectorised; n may differ per element)."""
    n_b, a_b = np.broadcast_arrays(np.asarray(n, np.int64), np.asarray(load, float))
    n_b, a_b = n_b.ravel(), a_b.ravel()
    start, b = _recursion_start(a_b)
    below = n_b < a_b                        # n below the load: plain recursion from k = 1
    start = np.where(below, 0, start)
    b = np.where(below, 1.0, b)
    far = _far_above(n_b, a_b)
    steps = np.where(far, 0, np.maximum(n_b - start, 0))
    for j in range(1, int(steps.max(initial=0)) + 1):
        k = start + j
        active = steps >= j
        ab = a_b * b
        b = np.where(active, ab / (k + ab), b)
    b = np.where(far, 0.0, b)
    return b.reshape(np.broadcast(np.asarray(n), np.asarray(load)).shape)


def erlang_c_metrics(calls, aht, agents, *, interval_seconds: float, sl_threshold_seconds: float):
    """SL, ASA, occupancy and P(wait) of Erlang C for given agents (arrays broadcast)."""
    calls, aht, agents = np.broadcast_arrays(np.asarray(calls, float), np.asarray(aht, float),
                                             np.asarray(agents, np.int64))
    load = offered_load(calls, aht, interval_seconds)
    b = erlang_b(agents, load)
    with np.errstate(divide="ignore", invalid="ignore"):
        stable = agents > load
        pwait = np.where(stable, agents * b / (agents - load * (1 - b)), 1.0)
        sl = np.where(stable, 1 - pwait * np.exp(-(agents - load) * sl_threshold_seconds / aht), 0.0)
        asa = np.where(stable, pwait * aht / (agents - load), np.inf)
        occ = np.where(agents > 0, np.minimum(load / agents, 1.0), 0.0)
    zero = load <= 0
    return (np.where(zero, 1.0, sl), np.where(zero, 0.0, asa), np.where(zero, 0.0, occ),
            np.where(zero, 0.0, pwait))


def erlang_c_staffing(calls, aht, targets: Targets, *, interval_seconds: float = 900.0) -> Staffing:
    """Fewest agents per interval meeting the SL target and the occupancy cap (Erlang C).

    One pass of the Erlang B recursion (from just below each interval's load) serves all
    intervals at once; an interval leaves the active set at the first k meeting both targets.
    """
    calls = np.asarray(calls, float)
    aht = np.asarray(aht, float)
    load = offered_load(calls, aht, interval_seconds)
    size = load.shape[0]
    req = np.zeros(size, np.int64)
    sl = np.ones(size)
    asa = np.zeros(size)
    occ = np.zeros(size)
    # Where the occupancy cap alone needs far more agents than the load, SL is 1 to double
    # precision there: no search needed.
    n_occ = np.ceil(load / targets.max_occupancy - EPS).astype(np.int64)
    capped = (load > 0) & _far_above(n_occ, load)
    req[capped] = n_occ[capped]
    occ[capped] = load[capped] / n_occ[capped]
    idx = np.flatnonzero((load > 0) & ~capped)
    a = load[idx]
    h = aht[idx]
    k, b = _recursion_start(a)
    t = float(targets.sl_threshold_seconds)
    while idx.size:
        k = k + 1
        ab = a * b
        b = ab / (k + ab)
        stable = k > a
        if not stable.any():
            continue
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            pwait = k * b / (k - a * (1 - b))
            sl_k = 1 - pwait * np.exp(-(k - a) * t / h)
            occ_k = a / k
        ok = stable & (sl_k >= targets.service_level - EPS) & (occ_k <= targets.max_occupancy + EPS)
        if ok.any():
            done = idx[ok]
            req[done] = k[ok]
            sl[done] = sl_k[ok]
            asa[done] = (pwait * h / (k - a))[ok]
            occ[done] = occ_k[ok]
            keep = ~ok
            idx, a, h, b, k = idx[keep], a[keep], h[keep], b[keep], k[keep]
    return Staffing(req, scheduled(req, targets.shrinkage), sl, asa, occ, load,
                    np.zeros(size), "erlang_c")


# ---------------------------------------------------------------- Erlang A
def _log_s(a: np.ndarray, z: np.ndarray) -> np.ndarray:
    """log S(a, z), S = Σ_{j≥0} z^j / Π_{k=1..j}(a+k), by a running log-sum-exp (vectorised)."""
    a = np.asarray(a, float)
    z = np.asarray(z, float)
    out = np.zeros(a.shape)
    pos = z > 0
    if not pos.any():
        return out
    a_p, z_p = a[pos], z[pos]
    log_z = np.log(z_p)
    # Terms grow while a + j < z, then fall faster than geometrically; 12·sqrt(z) past the
    # peak leaves a relative tail below 1e-16.
    terms = int(np.max(np.maximum(z_p - a_p, 0) + 12 * np.sqrt(z_p) + 30))
    log_t = np.zeros(a_p.shape)
    m = np.zeros(a_p.shape)          # running maximum of the log terms
    s = np.ones(a_p.shape)           # Σ exp(log_t - m)
    for j in range(1, terms + 1):
        log_t = log_t + log_z - np.log(a_p + j)
        bigger = log_t > m
        s = np.where(bigger, s * np.exp(m - log_t) + 1.0, s + np.exp(log_t - m))
        m = np.maximum(m, log_t)
    out[pos] = m + np.log(s)
    return out


def erlang_a_metrics(calls, aht, agents, patience, *, interval_seconds: float, sl_threshold_seconds: float):
    """Erlang A (M/M/n+M): SL (answered within threshold / offered), mean wait, occupancy, P(abandon)."""
    calls, aht, agents = np.broadcast_arrays(np.asarray(calls, float), np.asarray(aht, float),
                                             np.asarray(agents, np.int64))
    lam = calls / interval_seconds                 # arrivals per second
    theta = 1.0 / float(patience)
    mu = np.where(aht > 0, 1.0 / np.where(aht > 0, aht, 1.0), 0.0)
    load = lam * aht
    x = agents * mu / theta
    y = lam / theta
    u = np.exp(-theta * sl_threshold_seconds)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_e = np.log(np.maximum(erlang_b(agents, load), 1e-300))
        log_big_a = _log_s(x, y)                                   # log S(x, y) = log A(x, y)
        log_pin = log_e - np.logaddexp(np.log1p(-np.exp(log_e).clip(max=1 - 1e-16)), log_e + log_big_a)
        p_wait = np.exp(log_pin + log_big_a)
        # G(z) = x/(x+1)·(z/y)^{x+1}·e^{y−z}·S(x+1, z): E[e^{−θV}; 0 < V ≤ ·] in units of π_n
        log_ratio = np.log(x / (x + 1))
        log_g_y = log_ratio + _log_s(x + 1, y)
        log_g_u = log_ratio + (x + 1) * np.log(u) + y * (1 - u) + _log_s(x + 1, y * u)
        answered_late_free = np.exp(log_pin + log_g_y)             # answered among those who waited
        answered_within = np.exp(log_pin + log_g_y) - np.exp(log_pin + log_g_u)
    p_nowait = 1.0 - p_wait
    sl = np.clip(p_nowait + answered_within, 0.0, 1.0)
    abandon = np.clip(p_wait - answered_late_free, 0.0, 1.0)
    mean_wait = abandon / theta
    occ = np.where(agents > 0, np.minimum(load * (1 - abandon) / np.maximum(agents, 1), 1.0), 0.0)
    zero = load <= 0
    # n = 0 with calls: nobody is answered.
    none = (agents == 0) & ~zero
    sl = np.where(zero, 1.0, np.where(none, 0.0, sl))
    abandon = np.where(zero, 0.0, np.where(none, 1.0, abandon))
    mean_wait = np.where(zero, 0.0, np.where(none, float(patience), mean_wait))
    return sl, mean_wait, np.where(zero, 0.0, occ), abandon


# The Erlang A series needs ~λ/θ terms and Erlang B below the load ~A steps; loads beyond
# these are far outside any single queue, and Erlang C (an upper bound) staffs them.
ERLANG_A_MAX_Y = 20_000.0
ERLANG_A_MAX_LOAD = 5_000.0


def erlang_a_staffing(calls, aht, targets: Targets, *, interval_seconds: float = 900.0) -> Staffing:
    """Fewest agents meeting the targets under Erlang A (bisection: SL rises, occupancy falls with n)."""
    if targets.patience_seconds is None:
        raise ValueError("Erlang A needs a patience figure (services.patience_seconds)")
    calls = np.asarray(calls, float)
    aht = np.asarray(aht, float)
    huge = ((calls / interval_seconds * targets.patience_seconds > ERLANG_A_MAX_Y)
            | (offered_load(calls, aht, interval_seconds) > ERLANG_A_MAX_LOAD))
    if huge.any():
        a = erlang_a_staffing(np.where(huge, 0.0, calls), aht, targets, interval_seconds=interval_seconds)
        c = erlang_c_staffing(np.where(huge, calls, 0.0), aht, targets, interval_seconds=interval_seconds)
        merged = [np.where(huge, getattr(c, f), getattr(a, f)) for f in
                  ("required_agents", "scheduled_agents", "service_level", "asa", "occupancy", "workload",
                   "abandon_rate")]
        return Staffing(*merged, model="erlang_a")
    load = offered_load(calls, aht, interval_seconds)
    kw = dict(interval_seconds=interval_seconds, sl_threshold_seconds=targets.sl_threshold_seconds)

    def ok(n: np.ndarray) -> np.ndarray:
        sl, _, occ, _ = erlang_a_metrics(calls, aht, n, targets.patience_seconds, **kw)
        return (sl >= targets.service_level - EPS) & (occ <= targets.max_occupancy + EPS)

    lo = np.zeros(load.shape, np.int64)                     # invariant: ok(hi), not ok(lo) unless 0
    hi = np.maximum(np.ceil(load / targets.max_occupancy).astype(np.int64) + 1, 1)
    good = ok(hi)
    while not good.all():                                    # grow hi until it meets the targets
        hi = np.where(good, hi, hi * 2)
        good = ok(hi)
    hi = np.where(load > 0, hi, 0)
    while True:
        open_ = hi - lo > 1
        if not open_.any():
            break
        mid = (lo + hi) // 2
        mid_ok = ok(np.where(open_, mid, hi))
        hi = np.where(open_ & mid_ok, mid, hi)
        lo = np.where(open_ & ~mid_ok, mid, lo)
    req = np.where(load > 0, hi, 0)
    sl, wait, occ, abandon = erlang_a_metrics(calls, aht, req, targets.patience_seconds, **kw)
    return Staffing(req, scheduled(req, targets.shrinkage), sl, wait, occ, load, abandon, "erlang_a")


def staffing(calls, aht, targets: Targets, *, interval_seconds: float = 900.0) -> Staffing:
    """Erlang A when the service has a patience figure, else Erlang C."""
    if targets.patience_seconds is not None:
        return erlang_a_staffing(calls, aht, targets, interval_seconds=interval_seconds)
    return erlang_c_staffing(calls, aht, targets, interval_seconds=interval_seconds)
