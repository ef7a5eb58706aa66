"""ETAS simulation against the model's analytic expectations (branching ratio, Omori and spatial laws, G-R).

Tolerances: a simulated mean must lie within 4 Monte-Carlo standard errors of the analytic
expectation (false-failure rate ~6e-5 per check) and, where stated, within a relative bound.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from tianshan.analysis.etas import EtasParams
from tianshan.analysis.etas.simulate import (BackgroundModel, EtasHistory, branching_ratio, expected_descendants,
                                             gr_exceedance, gr_magnitudes, simulate_branching,
                                             window_branching_ratio)
from tianshan.core.errors import DomainError, InputError

PAR = EtasParams(mu=1.0, A=0.3, c=0.01, alpha=1.0, p=1.5, D=0.01, q=1.8, gamma=0.5)
BETA = 2.3


def _single(m: float, t0: float = 0.0) -> EtasHistory:
    return EtasHistory(np.array([t0]), np.array([0.0]), np.array([0.0]), np.array([m]))


def _within(mean: float, se: float, expected: float, k: float = 4.0) -> bool:
    return abs(mean - expected) <= k * se


def test_branching_ratio_formulas():
    assert branching_ratio(PAR, BETA) == pytest.approx(0.3 * 2.3 / 1.3)
    # Truncated: numerical E[exp(alpha m)] over the truncated exponential law.
    dm = 3.0
    grid = np.linspace(0, dm, 200001)
    dens = BETA * np.exp(-BETA * grid) / (1 - math.exp(-BETA * dm))
    num = np.trapz(np.exp(PAR.alpha * grid) * dens, grid)
    assert branching_ratio(PAR, BETA, dm) == pytest.approx(0.3 * num, rel=1e-8)
    assert math.isinf(branching_ratio(EtasParams(1, 0.3, 0.01, 3.0, 1.5, 0.01, 1.8, 0.5), BETA))
    assert window_branching_ratio(PAR, BETA, 10.0) == pytest.approx(
        branching_ratio(PAR, BETA) * (1 - (1 + 10.0 / PAR.c) ** (1 - PAR.p)))


def test_total_descendants_match_kappa_over_one_minus_n():
    """A mainshock (m - m0 = 2) over a practically infinite window: mean progeny kappa(m)/(1-n)
    (n = 0.531 -> 4.70 events); tolerance 4 SE and 3 % relative."""
    n_sims = 20000
    sims = simulate_branching(PAR, BETA, 4.0, 0.0, 1e8, n_sims, history=_single(2.0), seed=11)
    counts = sims.counts(inside_only=False)
    expected = float(expected_descendants(PAR, BETA, 2.0))
    # Omori mass beyond 1e8 days: (1 + 1e10)^-0.5 = 1e-5, negligible.
    se = counts.std(ddof=1) / math.sqrt(n_sims)
    assert _within(counts.mean(), se, expected)
    assert counts.mean() == pytest.approx(expected, rel=0.03)
    # First generation alone: kappa(m).
    assert np.mean(np.bincount(sims.sim[sims.generation == 1], minlength=n_sims)) == pytest.approx(
        PAR.A * math.exp(2.0), rel=0.03)


def test_truncated_magnitudes_make_a_supercritical_free_model_finite():
    par = EtasParams(mu=1.0, A=0.05, c=0.01, alpha=2.5, p=1.5, D=0.01, q=1.8, gamma=0.5)  # alpha > beta
    with pytest.raises(DomainError):
        simulate_branching(par, BETA, 4.0, 0.0, 10.0, 10, history=_single(1.0), seed=1)
    dm = 3.0
    n_sims = 20000
    sims = simulate_branching(par, BETA, 4.0, 0.0, 1e8, n_sims, history=_single(1.0), mmax=4.0 + dm, seed=5)
    assert sims.magnitude.max() <= 7.0
    counts = sims.counts(inside_only=False)
    expected = float(expected_descendants(par, BETA, 1.0, dm))
    assert _within(counts.mean(), counts.std(ddof=1) / math.sqrt(n_sims), expected)


def test_finite_window_direct_offspring_and_omori_delays():
    """History event 5 days before the window (2, 12]: direct offspring mean kappa (S(2) - S(12))
    and their times follow the truncated Omori law (Kolmogorov-Smirnov)."""
    n_sims = 40000
    sims = simulate_branching(PAR, BETA, 4.0, 5.0, 15.0, n_sims, history=_single(2.5, t0=3.0), seed=3,
                              max_generations=1)
    S = lambda tau: (1 + tau / PAR.c) ** (1 - PAR.p)  # noqa: E731
    lam = PAR.A * math.exp(PAR.alpha * 2.5) * (S(2.0) - S(12.0))
    counts = sims.counts(inside_only=False)
    assert _within(counts.mean(), math.sqrt(lam / n_sims), lam)
    tau = sims.t - 3.0
    assert tau.min() >= 2.0 and tau.max() <= 12.0

    def cdf(x):
        return (S(2.0) - S(np.asarray(x))) / (S(2.0) - S(12.0))

    assert stats.kstest(tau, cdf).pvalue > 1e-3
    assert set(np.unique(sims.generation)) == {1}


def test_offspring_distances_follow_the_spatial_kernel():
    sims = simulate_branching(PAR, BETA, 4.0, 0.0, 1e6, 3000, history=_single(1.0), seed=4, max_generations=1)
    r2 = sims.x ** 2 + sims.y ** 2
    sig = PAR.D * math.exp(PAR.gamma * 1.0)
    # P(R^2 <= s) = 1 - (1 + s/sigma)^(1-q)
    assert stats.kstest(r2, lambda s: 1 - (1 + np.asarray(s) / sig) ** (1 - PAR.q)).pvalue > 1e-3
    ang = np.arctan2(sims.y, sims.x)
    assert stats.kstest(ang, stats.uniform(-math.pi, 2 * math.pi).cdf).pvalue > 1e-3


def test_gutenberg_richter_magnitudes():
    rng = np.random.default_rng(0)
    m = gr_magnitudes(rng, 200000, BETA, 4.0)
    assert np.mean(m - 4.0) == pytest.approx(1 / BETA, rel=0.01)
    mt = gr_magnitudes(rng, 200000, BETA, 4.0, mmax=5.0)
    assert mt.max() <= 5.0
    assert np.mean(mt >= 4.5) == pytest.approx(float(gr_exceedance(4.5, BETA, 4.0, 5.0)), abs=0.005)
    assert float(gr_exceedance(5.0, BETA, 4.0, 5.0)) == 0.0


def test_background_count_in_polygon():
    """Background only: mean count inside the polygon = (rate inside per day) x days."""
    rng = np.random.default_rng(9)
    x, y = rng.uniform(-1, 1, 50), rng.uniform(-1, 1, 50)
    poly = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]], float)
    bg = BackgroundModel(x=x, y=y, bandwidth=np.full(50, 0.3), weight=rng.uniform(0.2, 1.0, 50), rate_per_day=0.5,
                         polygon_xy=poly)
    n_sims = 4000
    sims = simulate_branching(PAR, BETA, 4.0, 0.0, 20.0, n_sims, background=bg, seed=2, max_generations=0)
    lam = bg.expected_inside_per_day() * 20.0
    assert lam < 0.5 * 20.0  # some kernel mass lies outside
    counts = sims.counts()
    assert np.all(sims.inside) and np.all(sims.generation == 0)
    assert _within(counts.mean(), math.sqrt(lam / n_sims), lam)


def test_history_events_at_or_after_start_are_ignored_and_reproducible():
    h = EtasHistory(np.array([1.0, 10.0]), np.zeros(2), np.zeros(2), np.array([2.0, 3.0]))
    a = simulate_branching(PAR, BETA, 4.0, 5.0, 6.0, 2000, history=h, seed=7)
    b = simulate_branching(PAR, BETA, 4.0, 5.0, 6.0, 2000, history=h.up_to(5.0), seed=7)
    assert np.array_equal(a.t, b.t) and np.array_equal(a.magnitude, b.magnitude)
    assert a.t.min() > 5.0 and a.t.max() <= 6.0


def test_bad_window_and_runaway_guard():
    with pytest.raises(InputError):
        simulate_branching(PAR, BETA, 4.0, 5.0, 5.0, 10, history=_single(1.0))
    with pytest.raises(InputError):
        simulate_branching(PAR, BETA, 4.0, 0.0, 5.0, 0, history=_single(1.0))
    with pytest.raises(DomainError, match="more than"):
        simulate_branching(PAR, BETA, 4.0, 0.0, 1e6, 1000, history=_single(4.0), max_events=500, seed=1)
