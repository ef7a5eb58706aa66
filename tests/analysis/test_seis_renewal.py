"""Renewal models: Poisson, BPT (Matthews et al. 2002), lognormal conditional probabilities."""

from __future__ import annotations

import math

import pytest
from scipy import integrate, stats

from tianshan.analysis import renewal as rn
from tianshan.core.errors import InputError

#: WGCEP-2002 program output (single San Andreas branch; elapsed 96 yr, 30-yr window, alpha 0.5),
#: as reproduced in OpenSHA BPT_DistCalc's test: annual rate -> 30-year BPT probability. The
#: WGCEP code integrates the density numerically (step 0.001 mu), so agreement is to ~0.5 %.
WGCEP2002 = [(0.00466746464, 0.130127236), (0.00432087015, 0.105091952), (0.004199435, 0.0964599401)]


@pytest.mark.parametrize("rate, prob", WGCEP2002)
def test_bpt_matches_wgcep_2002(rate, prob):
    p = rn.conditional_probability("bpt", 1.0 / rate, 96.0, 30.0, 0.5)
    assert p == pytest.approx(prob, rel=0.005)


def test_bpt_is_the_inverse_gaussian_with_mean_mu_and_cov_alpha():
    mu, a = 150.0, 0.4
    ig = stats.invgauss(a ** 2, scale=mu / a ** 2)  # independent implementation
    for t in (30.0, 100.0, 150.0, 300.0, 600.0):
        assert rn.bpt_cdf(t, mu, a) == pytest.approx(ig.cdf(t), rel=1e-9, abs=1e-12)
        assert rn.bpt_pdf(t, mu, a) == pytest.approx(ig.pdf(t), rel=1e-9)
        assert rn.bpt_survival(t, mu, a) == pytest.approx(ig.sf(t), rel=1e-6)
    mean = integrate.quad(lambda t: t * rn.bpt_pdf(t, mu, a), 0, 50 * mu, limit=200)[0]
    var = integrate.quad(lambda t: (t - mu) ** 2 * rn.bpt_pdf(t, mu, a), 0, 50 * mu, limit=200)[0]
    assert mean == pytest.approx(mu, rel=1e-6) and math.sqrt(var) / mu == pytest.approx(a, rel=1e-5)


def test_bpt_hazard_tends_to_matthews_limit():
    """Matthews et al. 2002: hazard -> 1 / (2 alpha^2 mu); the excess decays like 3 / (2 t)."""
    mu, a = 100.0, 0.5
    t = 4000.0
    h = rn.bpt_pdf(t, mu, a) / rn.bpt_survival(t, mu, a)
    assert h == pytest.approx(1 / (2 * a * a * mu) + 3 / (2 * t), rel=0.01)
    # long elapsed times keep their precision: P(30 yr) ~ 1 - exp(-30 h)
    p = rn.conditional_probability("bpt", mu, t, 30.0, a)
    assert p == pytest.approx(1 - math.exp(-30 * h), rel=0.02)


def test_lognormal_and_poisson():
    mu, a = 200.0, 0.5
    s = math.sqrt(math.log(1 + a * a))
    ln = stats.lognorm(s, scale=mu / math.sqrt(1 + a * a))
    assert ln.mean() == pytest.approx(mu) and ln.std() / mu == pytest.approx(a)
    for t in (50.0, 200.0, 500.0):
        assert rn.lognormal_cdf(t, mu, a) == pytest.approx(ln.cdf(t), rel=1e-12)
    expect = (ln.cdf(180.0) - ln.cdf(150.0)) / ln.sf(150.0)
    assert rn.conditional_probability("lognormal", mu, 150.0, 30.0, a) == pytest.approx(expect, rel=1e-9)
    assert rn.conditional_probability("poisson", mu, 150.0, 30.0) == pytest.approx(1 - math.exp(-30 / 200))
    fp = rn.fault_probabilities(mu, a, 150.0, 30.0)
    assert fp.poisson < fp.bpt and fp.poisson < fp.lognormal  # late in the cycle: above Poisson


def test_early_in_the_cycle_renewal_is_below_poisson():
    fp = rn.fault_probabilities(1000.0, 0.3, 100.0, 50.0)
    assert fp.bpt < 1e-3 < fp.poisson


def test_bad_inputs():
    with pytest.raises(InputError):
        rn.conditional_probability("bpt", 100.0, 10.0, 30.0)  # no alpha
    with pytest.raises(InputError):
        rn.conditional_probability("weibull", 100.0, 10.0, 30.0, 0.5)
    with pytest.raises(InputError):
        rn.conditional_probability("bpt", -1.0, 10.0, 30.0, 0.5)
    with pytest.raises(InputError):
        rn.conditional_probability("bpt", 100.0, -1.0, 30.0, 0.5)
    with pytest.raises(InputError, match="too far beyond"):
        rn.conditional_probability("bpt", 100.0, 1e4, 30.0, 0.2)  # survival underflows
