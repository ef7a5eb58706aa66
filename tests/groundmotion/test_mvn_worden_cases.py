"""ShakeMap's analytic verification tests 1-11 (Worden et al. 2018; ShakeMap 4 manual "Verification",
with the Engler et al. 2022 equations), plus exactness checks of the conditioning and the grid.

Set-up of the ShakeMap tests: zero-mean model, tau 0.6, phi 0.8 (total sigma 1), correlation
``(Ts/Tl) exp(-h/10 km)``, observations on the parallel 38N near 122W, outputs along that line.
Where the manual prints numbers (tests 3 and 8) they are checked to its two decimals; elsewhere
the documented behaviour is checked, and the numbers against an independent dense computation
of the joint normal (the conditional moments of the full covariance, written out here).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tianshan.groundmotion.conditioning.correlation import (ExponentialCorrelation, JayaramBaker2009, LothBaker2013,
                                                            pseudo_period)
from tianshan.groundmotion.conditioning.grid import GridSpec, condition_grid
from tianshan.groundmotion.conditioning.mvn import Conditioner, Observations, great_circle_km

TAU, PHI = 0.6, 0.8
LAT = 38.0
CORR = ExponentialCorrelation(10.0)
LINE = np.linspace(-123.0, -121.0, 401)          # outputs along the parallel, 0.005 deg (~0.44 km) apart


def _obs(lons, amps, extra=0.0, periods=0.01, imts="pga"):
    n = len(lons)
    per = np.broadcast_to(np.asarray(periods, dtype=float), (n,))
    names = (imts,) * n if isinstance(imts, str) else tuple(imts)
    return Observations(latitude_deg=np.full(n, LAT), longitude_deg=lons, imt=names, period_s=per, residual=amps,
                        tau=np.full(n, TAU), phi=np.full(n, PHI), extra_sd=np.broadcast_to(extra, (n,)))


def _run(obs, lons=LINE, target="pga", period=0.01):
    c = Conditioner(obs, target, CORR, period)
    return c, c.predict(np.full(len(lons), LAT), lons, 0.0, TAU, PHI)


def _dense(obs, lons, period=0.01):
    """Independent reference: condition the full joint normal of (outputs, data) directly."""
    ho = great_circle_km(LAT, lons[:, None], LAT, obs.longitude_deg[None, :])
    hd = great_circle_km(LAT, obs.longitude_deg[:, None], LAT, obs.longitude_deg[None, :])
    r_od = CORR.rho(ho, period, obs.period_s[None, :])
    r_dd = CORR.rho(hd, obs.period_s[:, None], obs.period_s[None, :])
    b_od = CORR.rho(0.0, period, obs.period_s[None, :])
    b_dd = CORR.rho(0.0, obs.period_s[:, None], obs.period_s[None, :])
    s_dd = TAU ** 2 * b_dd + PHI ** 2 * r_dd + np.diag(obs.extra_sd ** 2)
    s_od = TAU ** 2 * b_od + PHI ** 2 * r_od
    k = s_od @ np.linalg.pinv(s_dd)
    mean = k @ obs.residual
    var = TAU ** 2 + PHI ** 2 - np.einsum("ij,ij->i", k, s_od)
    return mean, np.sqrt(np.maximum(var, 0.0))


def _at(lon):
    return int(np.argmin(np.abs(LINE - lon)))


def test_01_two_zero_observations():
    obs = _obs([-122.17083333333333, -121.8375], [0.0, 0.0])
    c, p = _run(obs)
    assert np.abs(p.mean).max() < 1e-12 and c.event_term == 0.0                 # zero bias, zero mean
    at = c.predict([LAT, LAT], [-122.17083333333333, -121.8375], 0.0, TAU, PHI)
    assert at.sd == pytest.approx([0.0, 0.0], abs=1e-7)                          # 0 at the data
    far = c.predict([LAT], [-118.0], 0.0, TAU, PHI).sd[0]
    assert 0.8 < far < 1.0                                                       # between phi and sigma
    assert far == pytest.approx(math.sqrt(PHI ** 2 + TAU ** 2 * c.sigma_h[0, 0]), abs=1e-6)
    mid = 0.5 * (-122.17083333333333 - 121.8375)
    left = great_circle_km(LAT, LINE, LAT, mid)                                   # symmetric about the midpoint
    assert np.interp(1.0, left[LINE < mid][::-1], p.sd[LINE < mid][::-1]) == pytest.approx(
        np.interp(1.0, left[LINE > mid], p.sd[LINE > mid]), abs=2e-3)


def test_02_plus_and_minus_one():
    obs = _obs([-122.17083333333333, -121.8375], [1.0, -1.0])
    c, p = _run(obs)
    assert c.event_term == pytest.approx(0.0, abs=1e-12)
    exact = c.predict([LAT, LAT], [-122.17083333333333, -121.8375], 0.0, TAU, PHI)
    assert exact.mean == pytest.approx([1.0, -1.0], abs=1e-9) and exact.sd == pytest.approx([0.0, 0.0], abs=1e-6)
    assert abs(p.mean[0]) < 1e-3 and abs(p.mean[-1]) < 1e-3
    assert 0.8 < p.sd[0] < 1.0


def test_03_single_observation_bias_036_sd_0933():
    obs = _obs([-122.17083333333333], [1.0])
    c, p = _run(obs)
    assert c.sigma_h[0, 0] == pytest.approx(0.64) and c.mu_h[0] == pytest.approx(0.6)        # Engler eqs 12-13
    assert TAU * c.event_term == pytest.approx(0.36)                                          # the bias
    at = c.predict([LAT], [-122.17083333333333], 0.0, TAU, PHI)
    assert at.mean[0] == pytest.approx(1.0) and at.sd[0] == pytest.approx(0.0, abs=1e-7)
    far = c.predict([LAT], [-118.0], 0.0, TAU, PHI)
    assert far.mean[0] == pytest.approx(0.36, abs=1e-9) and far.sd[0] == pytest.approx(math.sqrt(0.8704), abs=1e-9)
    assert far.sd_between[0] == pytest.approx(0.6 * 0.8, abs=1e-9) and far.sd_within[0] == pytest.approx(0.8)
    assert np.all(np.diff(p.mean[LINE < -122.17083333333333]) > 0)          # decays away from the data
    assert p.mean.min() > 0.36 - 1e-9 and p.sd.max() < math.sqrt(0.8704) + 1e-9


def test_04_two_colocated_equal_observations_act_as_one():
    _, one = _run(_obs([-122.17083333333333], [1.0]))
    _, two = _run(_obs([-122.17083333333333] * 2, [1.0, 1.0]))
    assert two.mean == pytest.approx(one.mean, abs=1e-9) and two.sd == pytest.approx(one.sd, abs=1e-7)


def test_04b_separated_observations_raise_the_bias():
    _, four = _run(_obs([-122.17083333333333] * 2, [1.0, 1.0]))
    c, four_b = _run(_obs([-122.17083333333333, -121.17083333333333], [1.0, 1.0]))
    far = _at(-123.0)
    assert four.mean[far] < 0.5 < four_b.mean[far]
    assert four_b.sd[far] < four.sd[far]


def test_05_colocated_opposite_observations_act_as_their_mean():
    _, zero = _run(_obs([-122.17083333333333], [0.0]))
    _, pair = _run(_obs([-122.17083333333333] * 2, [1.0, -1.0]))
    assert np.abs(pair.mean).max() < 1e-9 and pair.sd == pytest.approx(zero.sd, abs=1e-7)


def test_06_forty_observations_pull_the_bias_to_the_data():
    lons = np.r_[np.arange(-122.75, -121.79, 0.05), -122.8 - 0.05 * np.arange(20)]
    obs = _obs(lons, np.ones(40))
    c, p = _run(obs)
    bias = TAU * c.event_term
    assert bias > 0.36 + 0.3                                            # far above the single-station 0.36
    assert bias == pytest.approx(0.8411, abs=1e-3)                      # eq. B8/B9 (checked densely below)
    # east of the array the sd falls toward phi = 0.8 (below test 3's 0.933)
    east = c.predict([LAT], [-119.0], 0.0, TAU, PHI)
    assert 0.8 < east.sd[0] < 0.85 and east.sd[0] == pytest.approx(math.sqrt(PHI ** 2 + TAU ** 2 * c.sigma_h[0, 0]))
    ref_mean, ref_sd = _dense(obs, LINE)
    assert p.mean == pytest.approx(ref_mean, abs=1e-8) and p.sd == pytest.approx(ref_sd, abs=1e-6)


def test_07_spectral_conditioning_on_one_sa1_observation():
    """One SA(1.0) obs of +1 at the site; outputs SA(0.1-10 s) there: mean = Ts/Tl, sd = sqrt(1 - (Ts/Tl)^2)."""
    obs = _obs([-122.0], [1.0], periods=1.0, imts="psa1.0")
    periods = [0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0]
    means, sds = [], []
    for t in periods:
        c = Conditioner(obs, f"psa{t}", CORR, t)
        p = c.predict([LAT], [-122.0], 0.0, TAU, PHI)
        means.append(p.mean[0])
        sds.append(p.sd[0])
        ratio = min(t, 1.0) / max(t, 1.0)
        assert p.mean[0] == pytest.approx(ratio, abs=1e-9)
        assert p.sd[0] == pytest.approx(math.sqrt(1.0 - ratio ** 2), abs=1e-7)
        far = c.predict([LAT], [-100.0], 0.0, TAU, PHI)          # the event term alone, separate per period
        assert far.mean[0] == pytest.approx(TAU * TAU * ratio, abs=1e-9)
    peak = periods.index(1.0)
    assert np.all(np.diff(means[:peak + 1]) > 0) and np.all(np.diff(means[peak:]) < 0)
    assert sds[0] > 0.99 and sds[-1] > 0.99                        # far periods: back to sigma = 1


@pytest.mark.parametrize("sigma_eps, at_obs, sd_obs, far_mean, far_sd", [
    (0.0, 1.0, 0.0, 0.36, 0.93),
    (0.75, 0.64, 0.60, 0.23, 0.96),
    (1.5, 0.31, 0.83, 0.11, 0.98),
    (3.0, 0.10, 0.95, 0.04, 0.99),
    (6.0, 0.03, 0.99, 0.01, 1.00),
])
def test_08_uncertain_observation(sigma_eps, at_obs, sd_obs, far_mean, far_sd):
    """The manual's numbers for the five observation errors, to its two decimals."""
    obs = _obs([-122.0], [1.0], extra=sigma_eps)
    c = Conditioner(obs, "pga", CORR, 0.01)
    p = c.predict([LAT, LAT], [-122.0, -118.0], 0.0, TAU, PHI)
    assert p.mean[0] == pytest.approx(at_obs, abs=0.006) and p.sd[0] == pytest.approx(sd_obs, abs=0.006)
    assert p.mean[1] == pytest.approx(far_mean, abs=0.006) and p.sd[1] == pytest.approx(far_sd, abs=0.006)


def _five(spacing_deg):
    centre = -122.0
    lons = [centre - 2 * spacing_deg, centre - spacing_deg, centre, centre + spacing_deg, centre + 2 * spacing_deg]
    return _obs(lons, [1.0, 1.0, 0.75, 1.0, 1.0], extra=0.2)


def test_09_central_low_value_approached_from_below_without_overshoot():
    """Neighbours far enough (0.3 deg ~ 26 km) that the pull toward the event term dominates."""
    obs = _five(0.3)
    c, p = _run(obs)
    centre = c.predict([LAT], [-122.0], 0.0, TAU, PHI).mean[0]
    assert TAU * c.event_term < centre < 0.75
    near = (np.abs(LINE + 122.0) < 0.1)
    assert np.all(p.mean[near] <= centre + 1e-12)                      # the centre is a local maximum, below 0.75


def test_10_central_low_value_approached_from_above_without_undershoot():
    """Neighbours close (0.02 deg ~ 1.75 km): they pull the centre up, but not to 1 and not below 0.75."""
    obs = _five(0.02)
    c, _ = _run(obs)
    centre = c.predict([LAT], [-122.0], 0.0, TAU, PHI).mean[0]
    assert 0.75 < centre < 1.0
    ref_mean, _ = _dense(obs, np.array([-122.0]))
    assert centre == pytest.approx(ref_mean[0], abs=1e-9)


def test_11_vs30_raster_and_generic_amplification_orientation():
    """North-up rasters: Vs30 soft in the north raises PSA(3.0) there; two generic amplification layers
    (north half 1, west half 1) give 2 / 1 / 1 / 0 in the NW / NE / SW / SE quadrants."""
    from tianshan.groundmotion.conditioning.pipeline import EventModel
    from tianshan.groundmotion.prediction.distances import Rupture
    from tianshan.groundmotion.prediction.site import GenericAmplification, RasterLayer

    west, north, d = -119.5, 35.2, 0.01
    north_half = np.zeros((200, 200))
    north_half[:100] = 1.0
    west_half = np.zeros((200, 200))
    west_half[:, :100] = 1.0
    amp = GenericAmplification([RasterLayer(north_half, west, north, d, d), RasterLayer(west_half, west, north, d, d)])
    spec = GridSpec(west_deg=west, north_deg=north, dlon_deg=0.05, dlat_deg=0.05, nx=40, ny=40)
    empty = Conditioner(Observations.empty(), "pga", CORR, 0.01)
    res = condition_grid(spec, empty, lambda lat, lon: (amp.ln_factor(lat, lon), TAU, PHI))
    q = {"NW": res.mean[:20, :20], "NE": res.mean[:20, 20:], "SW": res.mean[20:, :20], "SE": res.mean[20:, 20:]}
    assert {k: float(np.median(v)) for k, v in q.items()} == {"NW": 2.0, "NE": 1.0, "SW": 1.0, "SE": 0.0}
    assert np.all(res.sd == pytest.approx(1.0))
    # Vs30: 200 m/s in the northern half, 760 in the southern: at equal distance from a Northridge-like
    # source, PSA(3.0) is higher north (BSSA14 site term through hazardlib)
    vs = np.full((200, 200), 760.0)
    vs[:100] = 200.0
    model = EventModel(Rupture(6.7, 34.213, -118.5357, 18_000.0, rake_deg=90.0),
                       vs30=RasterLayer(vs, west, north, d, d))
    p = model.predict([34.213 + 0.5, 34.213 - 0.5], [-118.5357, -118.5357], ["psa3.0"])["psa3.0"]
    assert p.mean_ln[0] - p.mean_ln[1] > 0.5


def test_engler_moments_equal_dense_conditioning_with_several_imts_and_errors():
    """Random multi-IMT data with LB13 (nugget, cross-period terms) and heteroscedastic tau/phi."""
    rng = np.random.default_rng(11)
    n = 40
    imts = tuple(rng.choice(["pga", "pgv", "psa1.0", "psa3.0"], n))
    per = np.array([pseudo_period(k) for k in imts])
    lat, lon = 40 + rng.uniform(0, 1, n), 80 + rng.uniform(0, 1, n)
    tau, phi = rng.uniform(0.3, 0.5, n), rng.uniform(0.5, 0.7, n)
    extra = np.where(rng.uniform(size=n) < 0.3, 0.4, 0.0)
    obs = Observations(lat, lon, imts, per, rng.normal(0.3, 0.7, n), tau, phi, extra)
    corr = LothBaker2013()
    c = Conditioner(obs, "psa0.3", corr, 0.3)
    plat, plon = 40 + rng.uniform(0, 1, 30), 80 + rng.uniform(0, 1, 30)
    ptau, pphi = rng.uniform(0.3, 0.5, 30), rng.uniform(0.5, 0.7, 30)
    p = c.predict(plat, plon, 0.0, ptau, pphi)
    # dense total-covariance conditioning
    hd = great_circle_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    s_dd = np.outer(tau, tau) * corr.rho(0.0, per[:, None], per[None, :]) + \
        np.outer(phi, phi) * corr.rho(hd, per[:, None], per[None, :]) + np.diag(extra ** 2)
    ho = great_circle_km(plat[:, None], plon[:, None], lat[None, :], lon[None, :])
    s_od = np.outer(ptau, tau) * corr.rho(0.0, 0.3, per[None, :]) + np.outer(pphi, phi) * corr.rho(ho, 0.3, per[None, :])
    k = np.linalg.solve(s_dd, s_od.T).T
    assert p.mean == pytest.approx(k @ obs.residual, abs=1e-9)
    var = ptau ** 2 + pphi ** 2 - np.einsum("ij,ij->i", k, s_od)
    assert p.sd == pytest.approx(np.sqrt(var), abs=1e-9)
    assert p.sd_between ** 2 + p.sd_within ** 2 == pytest.approx(p.sd ** 2, abs=1e-12)


@pytest.mark.parametrize("corr", [LothBaker2013(), JayaramBaker2009()], ids=["LB13", "JB09"])
def test_tiled_grid_equals_dense_conditioning(corr):
    rng = np.random.default_rng(5)
    n = 60
    lat, lon = 41 + rng.normal(0, 0.4, n), 84 + rng.normal(0, 0.5, n)
    obs = Observations(lat, lon, ("pga",) * n, np.full(n, 0.01), rng.normal(0.5, 0.6, n), np.full(n, 0.35),
                       np.full(n, 0.6), np.zeros(n))
    c = Conditioner(obs, "pga", corr, 0.01, jitter=1e-3)
    spec = GridSpec.around(41.0, 84.0, 300.0, spacing_deg=60 / 3600)

    def model(la, lo):
        return -0.01 * great_circle_km(la, lo, 41.0, 84.0), 0.35, 0.6

    res = condition_grid(spec, c, model, eps=1e-6, tile=16)
    glat = np.repeat(spec.latitudes(), spec.nx)
    glon = np.tile(spec.longitudes(), spec.ny)
    pick = rng.integers(0, spec.size, 1500)
    dense = c.predict(glat[pick], glon[pick], model(glat[pick], glon[pick])[0], 0.35, 0.6)
    assert res.mean.ravel()[pick] == pytest.approx(dense.mean, abs=2e-5)       # float32 grids, eps 1e-6
    assert res.sd.ravel()[pick] == pytest.approx(dense.sd, abs=2e-5)
    assert res.tiles_with_data < res.tiles or isinstance(corr, LothBaker2013)


def test_correlation_models_against_their_sources():
    from openquake.hazardlib.correlation import jbcorrelation
    from openquake.hazardlib.imt import SA

    h = np.array([[0.0, 5.0, 20.0, 60.0]])
    jb = JayaramBaker2009()
    for t in (0.1, 1.0, 3.0):
        assert jb.rho(h, t, t)[0] == pytest.approx(jbcorrelation(h, SA(t), False)[0], abs=1e-12)
    lb = LothBaker2013()
    b1, b2, b3 = lb.coefficients(0.01, 0.01)
    assert (float(b1), float(b2), float(b3)) == pytest.approx((0.29, 0.47, 0.24))      # erratum Table II-IV
    assert float(lb.rho(0.0, 1.0, 1.0)) == 1.0 and float(lb.rho(1e-3, 1.0, 1.0)) < 0.85  # nugget only at h = 0
    assert float(lb.rho(0.0, 0.01, 1.0)) == pytest.approx(0.18 + 0.27 - 0.02)           # PGA-PGV event terms
    assert lb.cutoff_km(1e-5) == pytest.approx(70 / 3 * math.log(1e5))
    assert float(CORR.rho(3.0, 0.5, 2.0)) == pytest.approx(0.25 * math.exp(-0.3))
