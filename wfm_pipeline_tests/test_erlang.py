import math

import numpy as np
import pytest

from wfm_pipeline.forecasting.erlang import (
    Targets, erlang_a_metrics, erlang_a_staffing, erlang_b, erlang_c_metrics, erlang_c_staffing, scheduled,
    staffing,
)

TEXTBOOK = Targets(service_level=0.80, sl_threshold_seconds=20, max_occupancy=0.85, shrinkage=0.30)


def test_textbook_case_100_calls_in_30_minutes() -> None:
    st = erlang_c_staffing([100], [180], TEXTBOOK, interval_seconds=1800)
    assert st.workload[0] == pytest.approx(10.0)
    assert st.required_agents[0] == 14
    assert st.service_level[0] == pytest.approx(0.888, abs=0.0005)
    assert st.asa[0] == pytest.approx(7.8, abs=0.05)
    assert st.occupancy[0] == pytest.approx(0.714, abs=0.0005)
    assert st.scheduled_agents[0] == 20          # 14 / 0.7 = 20 exactly, not 21
    # 13 agents miss the target, so 14 is the minimum.
    sl13, asa13, _, _ = erlang_c_metrics(100, 180, 13, interval_seconds=1800, sl_threshold_seconds=20)
    assert sl13 < 0.80 and asa13 > 7.8


def test_textbook_table_around_the_answer() -> None:
    sl, asa, occ, pwait = erlang_c_metrics([100] * 4, [180] * 4, [11, 12, 14, 16], interval_seconds=1800,
                                           sl_threshold_seconds=20)
    # Erlang C table for A = 10 Erlangs, probability of waiting: 11 → 68.2%, 12 → 44.9%, 14 → 17.4%.
    assert pwait[0] == pytest.approx(0.682, abs=0.001)
    assert pwait[1] == pytest.approx(0.449, abs=0.001)
    assert pwait[2] == pytest.approx(0.174, abs=0.001)
    assert np.all(np.diff(sl) > 0) and np.all(np.diff(asa) < 0) and np.all(np.diff(occ) < 0)


def test_zero_volume_and_closed_intervals_need_nobody() -> None:
    st = erlang_c_staffing([0, 0.0, 100], [180, 0, 180], TEXTBOOK, interval_seconds=1800)
    assert st.required_agents.tolist() == [0, 0, 14]
    assert st.scheduled_agents.tolist() == [0, 0, 20]
    assert st.service_level[:2].tolist() == [1.0, 1.0] and st.asa[:2].tolist() == [0.0, 0.0]
    assert st.occupancy[:2].tolist() == [0.0, 0.0]
    sa = erlang_a_staffing([0, 100], [180, 180], Targets(patience_seconds=60), interval_seconds=1800)
    assert sa.required_agents[0] == 0 and sa.scheduled_agents[0] == 0


def test_erlang_b_is_stable_for_hundreds_of_agents() -> None:
    b = erlang_b(np.array([800, 1000, 1200]), np.array([1000.0, 1000.0, 1000.0]))
    assert np.all(np.isfinite(b)) and np.all((b >= 0) & (b <= 1))
    assert b[0] > b[1] > b[2]
    # 4000 calls of 225 s in 15 minutes = 1000 Erlangs: the search must finish with finite values.
    st = erlang_c_staffing([4000], [225], TEXTBOOK)
    n = st.required_agents[0]
    assert 1000 < n < 1200 and np.isfinite(st.service_level[0]) and st.service_level[0] >= 0.8
    assert st.occupancy[0] <= 0.85 + 1e-9


def test_required_is_the_minimum_meeting_both_targets() -> None:
    rng = np.random.default_rng(0)
    calls = rng.uniform(0.5, 400, 300)
    aht = rng.uniform(60, 600, 300)
    targets = Targets(service_level=0.9, sl_threshold_seconds=15, max_occupancy=0.8, shrinkage=0.25)
    st = erlang_c_staffing(calls, aht, targets)
    kw = dict(interval_seconds=900, sl_threshold_seconds=15)
    sl, _, occ, _ = erlang_c_metrics(calls, aht, st.required_agents, **kw)
    assert np.all(sl >= 0.9 - 1e-9) and np.all(occ <= 0.8 + 1e-9)
    sl_less, _, occ_less, _ = erlang_c_metrics(calls, aht, st.required_agents - 1, **kw)
    assert np.all((sl_less < 0.9) | (occ_less > 0.8))
    assert np.array_equal(st.scheduled_agents, np.ceil(st.required_agents / 0.75 - 1e-9).astype(int))


def test_max_occupancy_binds_at_high_volume() -> None:
    loose = erlang_c_staffing([2000], [270], Targets(max_occupancy=1.0))
    capped = erlang_c_staffing([2000], [270], Targets(max_occupancy=0.85))
    assert loose.occupancy[0] > 0.85                       # SL alone would run agents hotter
    assert capped.required_agents[0] == math.ceil(600 / 0.85)
    assert capped.occupancy[0] <= 0.85


def _erlang_a_brute_force(calls: float, aht: float, n: int, patience: float, t: float, interval: float = 900):
    """Birth–death chain of M/M/n+M and an RK4 integration of the tagged caller's queue position."""
    lam, mu, th = calls / interval, 1 / aht, 1 / patience
    k_max = n + 600
    logp = np.zeros(k_max + 1)
    for k in range(1, k_max + 1):
        logp[k] = logp[k - 1] + math.log(lam / (min(k, n) * mu + max(k - n, 0) * th))
    p = np.exp(logp - logp.max())
    p /= p.sum()
    pos = np.arange(400)
    q = p[n:n + 400].copy()            # arriving caller finds `pos` callers ahead, still patient

    def deriv(q):
        d = -(n * mu + pos * th + th) * q
        d[:-1] += (n * mu + pos[1:] * th) * q[1:]
        return d

    answered, dt = 0.0, 0.02
    for _ in range(int(round(t / dt))):
        k1 = deriv(q)
        k2 = deriv(q + dt / 2 * k1)
        k3 = deriv(q + dt / 2 * k2)
        k4 = deriv(q + dt * k3)
        answered += dt * n * mu * (q[0] + 2 * (q + dt / 2 * k1)[0] + 2 * (q + dt / 2 * k2)[0] + (q + dt * k3)[0]) / 6
        q = q + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    service_level = p[:n].sum() + answered
    abandon = th * sum(max(k - n, 0) * p[k] for k in range(k_max + 1)) / lam
    return service_level, abandon


@pytest.mark.parametrize("calls,aht,n,patience", [(100, 180, 20, 60), (300, 240, 70, 120), (50, 300, 10, 30)])
def test_erlang_a_matches_the_birth_death_chain(calls, aht, n, patience) -> None:
    sl, wait, occ, abandon = erlang_a_metrics(calls, aht, n, patience, interval_seconds=900, sl_threshold_seconds=20)
    sl_bf, ab_bf = _erlang_a_brute_force(calls, aht, n, patience, 20)
    assert float(sl) == pytest.approx(sl_bf, abs=1e-4)
    assert float(abandon) == pytest.approx(ab_bf, abs=1e-6)
    assert float(wait) == pytest.approx(ab_bf * patience, rel=1e-6)      # Little: E[wait] = P(ab)/θ
    assert float(occ) == pytest.approx(calls * aht / 900 * (1 - ab_bf) / n, rel=1e-6)


def test_erlang_a_tends_to_erlang_c_and_needs_fewer_agents_with_impatience() -> None:
    calls, aht = np.array([120.0, 400.0]), np.array([200.0, 240.0])
    c = erlang_c_staffing(calls, aht, TEXTBOOK)
    patient = erlang_a_staffing(calls, aht, Targets(patience_seconds=1e5))
    impatient = erlang_a_staffing(calls, aht, Targets(patience_seconds=30))
    assert np.array_equal(patient.required_agents, c.required_agents)
    assert np.all(patient.abandon_rate < 0.001)
    sl_c, _, _, _ = erlang_c_metrics(calls, aht, c.required_agents, interval_seconds=900, sl_threshold_seconds=20)
    assert np.allclose(patient.service_level, sl_c, atol=1e-3)
    assert np.all(impatient.abandon_rate > 0) and np.all(impatient.service_level >= 0.8)
    # staffing() picks the model from the targets.
    assert staffing(calls, aht, Targets(patience_seconds=30)).model == "erlang_a"
    assert staffing(calls, aht, TEXTBOOK).model == "erlang_c"


def test_erlang_a_survives_heavy_overload() -> None:
    sl, wait, occ, abandon = erlang_a_metrics(3000, 300, 50, 120, interval_seconds=900, sl_threshold_seconds=20)
    assert np.isfinite([sl, wait, occ, abandon]).all()
    assert abandon > 0.9 and sl < 0.05 and occ == pytest.approx(1.0, abs=0.01)


def test_targets_are_validated() -> None:
    with pytest.raises(ValueError, match="service level target"):
        Targets(service_level=1.2)
    with pytest.raises(ValueError, match="shrinkage"):
        Targets(shrinkage=1.0)
    with pytest.raises(ValueError, match="patience"):
        Targets(patience_seconds=0)
    assert scheduled(np.array([14, 0, 1]), 0.3).tolist() == [20, 0, 2]


def test_erlang_b_shortcut_matches_the_full_recursion() -> None:
    def full(n: int, load: float) -> float:
        b = 1.0
        for k in range(1, n + 1):
            b = load * b / (k + load * b)
        return b

    for load in (0.5, 3.0, 57.3, 400.0, 2500.7):
        for n in (0, 1, int(load / 2), int(load) + 1, int(load * 1.1) + 2, int(load + 5 * load ** 0.5) + 1):
            assert erlang_b(np.array([n]), np.array([load]))[0] == pytest.approx(full(n, load), rel=1e-9, abs=1e-60)
    # An absurd load (10 million Erlangs) is staffed at once instead of ten million steps.
    st = erlang_c_staffing([50_000.0], [172_000.0], TEXTBOOK)
    assert st.required_agents[0] == math.ceil(50_000 * 172_000 / 900 / 0.85)


def test_erlang_a_falls_back_to_erlang_c_only_for_absurd_loads() -> None:
    targets = Targets(patience_seconds=60)
    st = erlang_a_staffing([50_000.0, 100.0], [172_000.0, 180.0], targets)
    c = erlang_c_staffing([50_000.0], [172_000.0], targets)
    assert st.required_agents[0] == c.required_agents[0]          # 10 million Erlangs: Erlang C
    alone = erlang_a_staffing([100.0], [180.0], targets)                # normal load: Erlang A as usual
    assert st.required_agents[1] == alone.required_agents[0] and st.abandon_rate[1] == alone.abandon_rate[0] > 0
