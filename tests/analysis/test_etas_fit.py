"""ETAS likelihood, declustering and fit: against slow pure-Python evaluations and the R ETAS reference fit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tianshan.analysis.etas import EtasParams, beta_mle, fit_etas, log_likelihood, make_catalog, read_etas_csv
from tianshan.analysis.etas import declustering as dc
from tianshan.analysis.etas import model
from tianshan.core.errors import DomainError

THETA = EtasParams(mu=0.8, A=0.25, c=0.03, alpha=1.6, p=1.25, D=0.006, q=2.1, gamma=0.4)

# R ETAS reference fit of the Iran catalogue (../shared/data/README.md).
R_IRAN = dict(beta=5.6094, mu=0.5484, A=0.1862, c=0.0471, alpha=2.7071, p=1.1548, D=0.0160, q=2.3234,
              gamma=0.0238)
R_LOGLIK = -3888.709


# ------------------------------------------------------------------------------------------
# Slow, independent pure-Python evaluations
# ------------------------------------------------------------------------------------------

def _polar_adaptive(cx, cy, poly, radial):
    """int over the polygon of a radial density about (cx, cy): for each edge, the integral over
    the polar angle of its radial integral F(R(theta)) by adaptive quadrature (QUADPACK)."""
    from scipy.integrate import quad

    total = 0.0
    for (x1, y1), (x2, y2) in zip(poly[:-1], poly[1:]):
        ax, ay, ex, ey = x1 - cx, y1 - cy, x2 - x1, y2 - y1
        cross = ax * ey - ay * ex
        if abs(cross) < 1e-14:
            continue
        dth = math.atan2(ax * (y2 - cy) - ay * (x2 - cx), ax * (x2 - cx) + ay * (y2 - cy))
        th1 = math.atan2(ay, ax)

        def along(th):  # distance from the point to the edge's line in direction th
            return cross / (math.cos(th) * ey - math.sin(th) * ex)

        val, _ = quad(lambda th: radial(along(th)), th1, th1 + dth, epsabs=1e-13, epsrel=1e-11, limit=500)
        total += val
    return total


def _slow_loglik(par: EtasParams, cat, bk, integ0):
    t, x, y, m, flag = cat.t, cat.x, cat.y, cat.m, cat.flag
    ll = 0.0
    for j in range(t.size):
        if flag[j] != 1:
            continue
        lam = par.mu * bk[j]
        for i in range(j):
            sig = par.D * math.exp(par.gamma * m[i])
            r2 = (x[j] - x[i]) ** 2 + (y[j] - y[i]) ** 2
            lam += (par.A * math.exp(par.alpha * m[i]) * (par.p - 1) / par.c * (1 + (t[j] - t[i]) / par.c) ** -par.p
                    * (par.q - 1) / (math.pi * sig) * (1 + r2 / sig) ** -par.q)
        ll += math.log(lam)
    integral = par.mu * integ0
    poly = [tuple(v) for v in cat.polygon_xy]
    for j in range(t.size):
        def gcdf(tau):
            return 1 - (1 + tau / par.c) ** (1 - par.p)
        G = gcdf(cat.t_end - t[j]) - (gcdf(cat.t_start - t[j]) if t[j] <= cat.t_start else 0.0)
        sig = par.D * math.exp(par.gamma * m[j])
        S = _polar_adaptive(x[j], y[j], poly, lambda r: (1 - (1 + r * r / sig) ** (1 - par.q)) / (2 * math.pi))
        integral += par.A * math.exp(par.alpha * m[j]) * G * S
    return ll - integral


def _slow_decluster(par: EtasParams, cat, bw, pb):
    n = cat.n_events
    bk = np.zeros(n)
    integ0 = 0.0
    poly = [tuple(v) for v in cat.polygon_xy]
    for i in range(n):
        for j in range(n):
            r2 = (cat.x[i] - cat.x[j]) ** 2 + (cat.y[i] - cat.y[j]) ** 2
            bk[i] += pb[j] * math.exp(-r2 / (2 * bw[j] ** 2)) / (2 * math.pi * bw[j] ** 2)
        bk[i] /= cat.t_end - cat.t_start
        mass = _polar_adaptive(cat.x[i], cat.y[i], poly,
                               lambda r: (1 - math.exp(-r * r / (2 * bw[i] ** 2))) / (2 * math.pi))
        integ0 += pb[i] * mass
    trig = np.zeros(n)
    for j in range(n):
        for i in range(j):
            sig = par.D * math.exp(par.gamma * cat.m[i])
            r2 = (cat.x[j] - cat.x[i]) ** 2 + (cat.y[j] - cat.y[i]) ** 2
            trig[j] += (par.A * math.exp(par.alpha * cat.m[i]) * (par.p - 1) / par.c
                        * (1 + (cat.t[j] - cat.t[i]) / par.c) ** -par.p
                        * (par.q - 1) / (math.pi * sig) * (1 + r2 / sig) ** -par.q)
    lam = par.mu * bk + trig
    return bk, integ0, par.mu * bk / lam


@pytest.fixture(scope="module")
def tiny_catalog(small_catalog_csv, small_polygon):
    """~60 events: short study period so the pure-Python sums stay quick."""
    return make_catalog(read_etas_csv(small_catalog_csv), time_begin="2004-01-01", study_start="2005-01-01",
                        study_end="2006-06-01", mag_threshold=3.0, polygon=small_polygon)


@pytest.fixture(scope="module")
def small_catalog(small_catalog_csv, small_polygon):
    return make_catalog(read_etas_csv(small_catalog_csv), study_start="2001-01-01", mag_threshold=3.0,
                        polygon=small_polygon)


# ------------------------------------------------------------------------------------------
# Polygon integrals
# ------------------------------------------------------------------------------------------

def test_polar_quadrature_converges_and_matches_r_rule(small_catalog):
    cat = small_catalog
    quad = model.polar_quadrature(cat.x, cat.y, cat.polygon_xy)
    quad16 = model.polar_quadrature(cat.x, cat.y, cat.polygon_xy, order=16)
    # R's Simpson rule on 1000 pieces per edge is itself off by up to ~1e-3 for events within
    # ~1e-4 degree of an edge; away from the boundary both rules agree closely.
    away = dc.distance_to_boundary(cat.x, cat.y, cat.polygon_xy) > 0.01
    for par in (THETA, EtasParams(1, 0.1, 0.01, 1, 1.1, 0.0002, 1.3, 1.5),
                EtasParams(1, 0.1, 0.01, 1, 1.1, 0.5, 3.5, 0)):
        s8 = model.spatial_integrals(par, cat.m, quad)
        s16 = model.spatial_integrals(par, cat.m, quad16)
        r = model.r_scheme_integrals(cat.x, cat.y, cat.polygon_xy, model.spatial_sigma(cat.m, par), kind="power",
                                     q=par.q)
        assert np.max(np.abs(s8 - s16)) < 1e-9
        assert np.max(np.abs(s8 - r)[away]) < 1e-6
        assert np.all(s8 > -1e-12) and np.all(s8 < 1 + 1e-12)
    np.testing.assert_allclose(quad.wind[cat.flag == 1], 2 * math.pi)


def test_spatial_integral_of_a_far_outside_event_is_zero_and_deep_inside_is_one():
    poly = np.array([[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]], float)
    quad = model.polar_quadrature(np.array([5.0, 50.0]), np.array([5.0, 5.0]), poly)
    par = EtasParams(1, 0.1, 0.01, 1, 1.2, 0.001, 3.0, 0.0)
    s = model.spatial_integrals(par, np.zeros(2), quad)
    # Mass beyond 5 units of the centre: (1 + 25/0.001)^(1-q) ~ 1.6e-9.
    assert s[0] == pytest.approx(1.0, abs=1e-8) and abs(s[1]) < 1e-9


# ------------------------------------------------------------------------------------------
# Likelihood and declustering against pure Python
# ------------------------------------------------------------------------------------------

def test_loglik_matches_slow_pure_python(tiny_catalog):
    cat = tiny_catalog
    assert 20 <= cat.n_target and cat.n_complementary >= 20
    rng = np.random.default_rng(3)
    bk = rng.uniform(0.0005, 0.002, cat.n_events)
    integ0 = 3.7
    fast = log_likelihood(THETA, cat, bk, integ0)
    slow = _slow_loglik(THETA, cat, bk, integ0)
    assert fast == pytest.approx(slow, rel=1e-9, abs=1e-8)
    # A different parameter vector changes the value (the comparison can fail).
    assert abs(log_likelihood(EtasParams(0.8, 0.3, 0.03, 1.6, 1.25, 0.006, 2.1, 0.4), cat, bk, integ0) - fast) > 1e-3


def test_gradient_matches_finite_differences(tiny_catalog):
    cat = tiny_catalog
    bk = np.full(cat.n_events, 0.001)
    quad = model.polar_quadrature(cat.x, cat.y, cat.polygon_xy)
    theta = THETA.as_array()
    f0, g = model.neg_log_likelihood(theta, cat, bk, 3.7, quad)
    for k in range(8):
        h = 1e-6 * theta[k]
        tp, tm = theta.copy(), theta.copy()
        tp[k] += h
        tm[k] -= h
        fp = model.neg_log_likelihood(tp, cat, bk, 3.7, quad)[0]
        fm = model.neg_log_likelihood(tm, cat, bk, 3.7, quad)[0]
        num = (fp - fm) / (2 * h)
        assert g[k] == pytest.approx(num, rel=2e-5, abs=1e-4), model.PARAM_NAMES[k]


def test_declustering_pass_matches_slow_pure_python(tiny_catalog):
    cat = tiny_catalog
    bw = dc.bandwidths(cat.x, cat.y, nnp=5, bwm=0.05)
    pb = np.linspace(0.2, 1.0, cat.n_events)
    smoother = dc.BackgroundSmoother.build(cat, bw)
    trig = dc.trigger_at_events(THETA.as_array(), cat)
    step = dc.decluster_pass(THETA.mu, trig, pb, smoother)
    bk, integ0, pb_new = _slow_decluster(THETA, cat, bw, pb)
    np.testing.assert_allclose(step.background, bk, rtol=1e-10)
    np.testing.assert_allclose(step.prob_background, pb_new, rtol=1e-10)
    assert step.integ0 == pytest.approx(integ0, rel=1e-7)  # R's Simpson rule near the edges
    assert np.all((step.prob_background > 0) & (step.prob_background <= 1))


def test_bandwidth_is_kth_neighbour_distance_with_floor():
    x = np.array([0.0, 1.0, 3.0, 6.0, 0.0])
    y = np.zeros(5)
    bw = dc.bandwidths(x, y, nnp=2, bwm=0.5)
    # 2nd-nearest other event: x=0 -> 1 (the twin at 0, then 1); x=3 -> 3; x=6 -> 5
    np.testing.assert_allclose(bw, [1.0, 1.0, 3.0, 5.0, 1.0])
    assert dc.bandwidths(x, y, nnp=1, bwm=0.5)[0] == 0.5  # coincident events: distance 0, floored


def test_background_density_integrates_to_integ0(small_catalog):
    cat = small_catalog
    bw = dc.bandwidths(cat.x, cat.y)
    pb = np.full(cat.n_events, 0.5)
    sm = dc.BackgroundSmoother.build(cat, bw)
    xs = np.linspace(cat.polygon_xy[:, 0].min(), cat.polygon_xy[:, 0].max(), 241)
    ys = np.linspace(cat.polygon_xy[:, 1].min(), cat.polygon_xy[:, 1].max(), 241)
    gx, gy = np.meshgrid(xs, ys)
    u = dc.background_density(cat, pb, bw, gx, gy)
    cell = (xs[1] - xs[0]) * (ys[1] - ys[0])
    # rectangle polygon: the grid covers it exactly
    assert (u.sum() * cell * cat.study_length) == pytest.approx(sm.integral(pb), rel=0.01)


# ------------------------------------------------------------------------------------------
# Parameters, beta, fit
# ------------------------------------------------------------------------------------------

def test_params_validation_and_beta():
    with pytest.raises(DomainError, match="p must be > 1"):
        EtasParams(1, 0.1, 0.01, 1, 1.0, 0.01, 2, 1)
    with pytest.raises(DomainError, match="needs 8"):
        EtasParams.from_array([1, 2, 3])
    beta, se = beta_mle([0.1, 0.3, 0.2])
    assert beta == pytest.approx(5.0) and se == pytest.approx(5.0 / math.sqrt(3))


@pytest.fixture(scope="module")
def small_fit(small_catalog):
    return fit_etas(small_catalog, EtasParams(0.5, 0.2, 0.05, 1.0, 1.3, 0.01, 2.0, 0.5))


def test_fit_small_catalogue(small_catalog, small_fit):
    fit = small_fit
    assert fit.converged and 2 <= fit.iterations <= 11
    d = fit.as_dict()
    assert set(d) == {"params", "stderr", "loglik", "aic", "n_target", "n_complementary", "runtime_s"}
    assert set(d["params"]) == set(d["stderr"]) == {"beta", *model.PARAM_NAMES}
    assert all(np.isfinite(v) and v > 0 for v in d["stderr"].values())
    assert d["aic"] == pytest.approx(-2 * d["loglik"] + 16)
    # The fitted likelihood is a maximum: moving any parameter lowers it.
    base = log_likelihood(fit.params, small_catalog, fit.background, fit.integ0)
    assert base == pytest.approx(fit.loglik, abs=1e-6)
    for k in model.PARAM_NAMES:
        moved = fit.params.as_dict()
        moved[k] *= 1.05
        assert log_likelihood(EtasParams(**moved), small_catalog, fit.background, fit.integ0) < base
    # Background probabilities and the smoothed background are consistent with the estimate.
    assert np.all((fit.prob_background > 0) & (fit.prob_background <= 1))
    assert fit.params.A == pytest.approx(0.3, rel=0.5) and fit.params.p == pytest.approx(1.2, abs=0.15)


def test_default_start_reaches_the_same_estimate(small_catalog, small_fit):
    a = small_fit
    b = fit_etas(small_catalog)
    assert b.loglik == pytest.approx(a.loglik, abs=0.01)
    for k in model.PARAM_NAMES:
        assert getattr(b.params, k) == pytest.approx(getattr(a.params, k), rel=0.02, abs=0.005), k


def test_iran_fit_reproduces_r_etas(shared_data):
    """The must-show figure: R ETAS (Jalilian 2019) on the Iran catalogue, same set-up."""
    cat = make_catalog(read_etas_csv(shared_data / "catalogs" / "etas" / "iran_quakes.csv"),
                       study_start="1991-01-01", study_end="2011-01-01", mag_threshold=4.5,
                       polygon="26,52;25,59;29,58;38,45;35,43")
    assert (cat.n_target, cat.n_complementary) == (695, 1805)
    fit = fit_etas(cat, EtasParams(0.5, 0.2, 0.05, 2.7, 1.2, 0.02, 2.3, 0.03))
    got = fit.as_dict()
    for name, ref in R_IRAN.items():
        tol = max(0.02 * abs(ref), got["stderr"][name])
        assert abs(got["params"][name] - ref) <= tol, (name, got["params"][name], ref)
        assert abs(got["params"][name] - ref) <= 0.02 * abs(ref), name  # in fact within 2 % for all
    assert abs(fit.loglik - R_LOGLIK) < 0.5
    assert fit.aic == pytest.approx(7793.418, abs=1.0)
