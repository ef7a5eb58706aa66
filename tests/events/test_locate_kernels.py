"""Kernels of the locator: likelihoods vs loop references, oct-tree moments, ellipse vs NonLinLoc,
quality class, geometry, NonLinLoc-style config."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tianshan.core import InputError
from tianshan.events.locate import LocateConfig
from tianshan.events.locate import likelihood as lk
from tianshan.events.locate.geometry import (aeqd_forward, aeqd_inverse, azimuth_deg, azimuthal_gaps,
                                             great_circle_m)
from tianshan.events.locate.octree import octree_search
from tianshan.events.locate.uncertainty import chi2_scale, ellipsoid, horizontal_ellipse, quality_class


@pytest.mark.parametrize("fast,slow", [(lk.edt_loglike, lk.edt_loglike_reference),
                                       (lk.edt_ot_loglike, lk.edt_ot_loglike_reference),
                                       (lk.l2_loglike, lk.l2_loglike_reference)])
def test_likelihood_kernels_match_loop_references(fast, slow):
    rng = np.random.default_rng(0)
    obs = rng.uniform(0, 30, 9)
    tt = obs[None, :] - 2.0 + rng.normal(0, 0.3, (5, 9))
    sig = rng.uniform(0.05, 0.4, (5, 9))
    got = fast(obs, tt, sig)
    want = [slow(obs, tt[i], sig[i]) for i in range(5)]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-9)


def test_edt_ignores_origin_time_and_l2_removes_it():
    rng = np.random.default_rng(1)
    obs = rng.uniform(0, 20, 7)
    tt = obs - 5.0 + rng.normal(0, 0.1, 7)
    for f in (lk.edt_loglike, lk.edt_ot_loglike, lk.l2_loglike):
        assert f(obs + 123.4, tt, 0.1)[0] == pytest.approx(f(obs, tt, 0.1)[0], rel=1e-9)
    assert lk.origin_times(obs, tt, 0.1)[0] == pytest.approx(5.0, abs=0.1)


def test_origin_time_mode_ignores_a_minority_of_outliers():
    tt = np.arange(8.0)
    obs = tt + 10.0
    obs[:2] += 3.0                                       # two late picks
    assert lk.origin_time_mode(obs, tt, 0.1) == pytest.approx(10.0, abs=1e-3)
    assert lk.origin_times(obs, tt, 0.1)[0] == pytest.approx(10.75)   # the mean is pulled


def test_edt_weights_flag_the_outlier():
    obs = np.arange(6.0) + 10.0
    obs[2] += 2.0
    w = lk.edt_weights(obs, np.arange(6.0), 0.1)[0]
    assert w.mean() == pytest.approx(1.0) and w[2] < 1e-6 and np.all(np.delete(w, 2) > 1.0)


def test_octree_moments_of_a_gaussian():
    """A known Gaussian density: the oct-tree posterior mean and covariance reproduce it (2 %)."""
    mean = np.array([3000.0, -2000.0, 12_000.0])
    a = np.array([[900.0, 300.0, 0.0], [0.0, 600.0, 200.0], [0.0, 0.0, 1500.0]])
    cov = a @ a.T
    inv = np.linalg.inv(cov)

    def logp(p):
        d = p - mean
        return -0.5 * np.einsum("ij,jk,ik->i", d, inv, d)

    tree = octree_search(logp, [-20e3, -20e3, 0.0], [20e3, 20e3, 30e3], (8, 8, 6), 8000, 20.0)
    m, c = tree.moments()
    np.testing.assert_allclose(m, mean, atol=60.0)
    np.testing.assert_allclose(np.sqrt(np.diag(c)), np.sqrt(np.diag(cov)), rtol=0.02)
    assert np.linalg.norm(tree.centres[tree.maximum()] - mean) < 300.0
    assert tree.n_evaluations <= 8000 + 8 * 16


# NonLinLoc's own numbers for the first Anchorage aftershock (original_output/alaska.20181130.172935
# .grid0.loc.hyp, STATISTICS and QML_* lines; km, x east, y north, z down).
NLL_COV = np.array([[0.996027, -0.25823, 0.205178], [-0.25823, 1.30366, 0.159148], [0.205178, 0.159148, 10.5053]])


def test_ellipse_and_ellipsoid_reproduce_nonlinloc():
    """NonLinLoc uses 68.3 % (1 sigma of a Gaussian): minHorUnc 1.39762, maxHorUnc 1.82646 km,
    azMaxHorUnc 150.39; ellipsoid Len 1.72447 / 2.26262 / 6.09165 km, major axis azimuth
    51.6655 and plunge 88.4586. Agreement to 0.1 % and 0.1 deg."""
    a, b, az = horizontal_ellipse(NLL_COV[:2, :2], 0.683)
    assert a == pytest.approx(1.82646, rel=1e-3) and b == pytest.approx(1.39762, rel=1e-3)
    assert az == pytest.approx(150.39, abs=0.1)
    e = ellipsoid(NLL_COV, 0.683)
    np.testing.assert_allclose(e.semi_axes_m, [6.09165, 2.26262, 1.72447], rtol=1e-3)
    assert e.azimuths_deg[0] == pytest.approx(51.6655, abs=0.1)
    assert e.plunges_deg[0] == pytest.approx(88.4586, abs=0.1)


def test_chi2_scale():
    assert chi2_scale(0.68, 2) == pytest.approx(math.sqrt(-2 * math.log(0.32)))
    assert chi2_scale(0.6827, 2) == pytest.approx(1.5151, abs=1e-3)  # chi2(2) quantile of 1 sigma
    assert chi2_scale(0.6827, 3) == pytest.approx(1.8786, abs=1e-3)


@pytest.mark.parametrize("args,want", [
    ((0.10, 500, 1000, 20, 60, 4000, 10e3), "A"),
    ((0.10, 500, 1000, 20, 120, 4000, 10e3), "B"),     # QS A, QD B -> (3+2)//2 = B
    ((0.20, 2000, 4000, 20, 120, 15e3, 10e3), "B"),
    ((0.40, 4000, 9000, 10, 170, 40e3, 10e3), "C"),
    ((0.10, 500, 1000, 4, 60, 4000, 10e3), "C"),       # QS A, QD D (too few phases): 1.5 -> C
    ((0.90, 9000, 9000, 4, 300, 90e3, 10e3), "D"),
])
def test_quality_class_hypo71(args, want):
    assert quality_class(*args) == want


def test_geometry_roundtrip_distance_azimuth_gap():
    lat, lon = aeqd_inverse(41.0, 84.0, np.array([0.0, 50e3, -120e3]), np.array([0.0, 80e3, 30e3]))
    x, y = aeqd_forward(41.0, 84.0, lat, lon)
    np.testing.assert_allclose(x, [0.0, 50e3, -120e3], atol=1e-3)
    np.testing.assert_allclose(y, [0.0, 80e3, 30e3], atol=1e-3)
    # One degree of latitude on the 6371 km sphere; due-east azimuth at the equator.
    assert great_circle_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(6_371_000.0 * math.pi / 180, rel=1e-12)
    assert azimuth_deg(0.0, 0.0, 0.0, 1.0) == pytest.approx(90.0)
    assert azimuthal_gaps([10, 100, 190, 280]) == (90.0, 180.0)
    assert azimuthal_gaps([0, 10, 20]) == (340.0, 350.0)
    assert azimuthal_gaps([42]) == (360.0, 360.0)


def test_config_validation():
    with pytest.raises(InputError, match="min_phases"):
        LocateConfig(min_phases=2)
    with pytest.raises(InputError, match="center"):
        LocateConfig(center_lat_deg=40.0)
    with pytest.raises(InputError, match="model_error_fraction"):
        LocateConfig(model_error_fraction=2.0)
    assert LocateConfig(likelihood="l2").likelihood.value == "l2"
