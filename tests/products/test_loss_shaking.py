"""Intensity fields as input to the loss chain, and the simple scenario prediction."""

from __future__ import annotations

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.products.loss.shaking import ShakingGrid, ShakingPoints, great_circle_km
from tianshan.products.loss.simple_intensity import predict_shaking, rupture_length_km


def test_grid_sampling_is_bilinear_and_nan_outside():
    lats = np.array([41.0, 40.0, 39.0])                # north-up (descending) is accepted
    lons = np.array([80.0, 81.0, 82.0, 83.0])
    glat, glon = np.meshgrid(lats, lons, indexing="ij")
    mmi = 2.0 + 0.5 * glat - 0.25 * glon               # linear: bilinear interpolation is exact
    g = ShakingGrid(lats, lons, mmi, 0.7)
    m, s = g.sample([40.3, 39.5, 45.0], [81.6, 82.9, 81.0])
    assert m[0] == pytest.approx(2.0 + 0.5 * 40.3 - 0.25 * 81.6)
    assert m[1] == pytest.approx(2.0 + 0.5 * 39.5 - 0.25 * 82.9)
    assert np.isnan(m[2]) and np.isnan(s[2])
    assert s[0] == pytest.approx(0.7)


def test_points_take_the_nearest_within_the_distance():
    p = ShakingPoints([40.0, 40.5], [80.0, 80.0], [7.0, 5.0], [0.5, 0.6], max_distance_km=20.0)
    m, s = p.sample([40.05, 40.45, 42.0], [80.0, 80.0, 80.0])
    assert list(m[:2]) == [7.0, 5.0] and list(s[:2]) == [0.5, 0.6]
    assert np.isnan(m[2])


@pytest.mark.parametrize("kwargs,match", [
    (dict(latitudes_deg=[40.0, 41.0], longitudes_deg=[80.0, 81.0], mmi=np.zeros((3, 2))), "shape"),
    (dict(latitudes_deg=[40.0, 41.0], longitudes_deg=[81.0, 80.0], mmi=np.zeros((2, 2))), "increasing"),
    (dict(latitudes_deg=[40.0], longitudes_deg=[80.0, 81.0], mmi=np.zeros((1, 2))), "at least 2"),
    (dict(latitudes_deg=[40.0, 41.0], longitudes_deg=[80.0, 81.0], mmi=np.zeros((2, 2)), sigma_mmi=-1.0), "sigma"),
])
def test_bad_grids_are_input_errors(kwargs, match):
    with pytest.raises(InputError, match=match):
        ShakingGrid(**kwargs)


def test_great_circle_one_degree_of_latitude():
    assert float(great_circle_km(40.0, 80.0, [41.0], [80.0])[0]) == pytest.approx(111.195, rel=1e-3)


def test_simple_prediction_decays_with_distance_and_follows_the_strike():
    assert rupture_length_km(7.0) == pytest.approx(10 ** (-2.44 + 0.59 * 7.0))
    g = predict_shaking(40.0, 80.0, 10.0, 7.0, strike_deg=90.0)
    near, _ = g.sample([40.0], [80.0])
    along, _ = g.sample([40.0], [80.47])                 # ~40 km east, along the east-west rupture
    across, _ = g.sample([40.36], [80.0])                # ~40 km north, across it
    far, sig = g.sample([41.5], [80.0])
    assert near[0] > across[0] > far[0]
    assert along[0] > across[0]
    assert 0.6 < sig[0] < 1.5
    with pytest.raises(InputError, match="magnitude"):
        predict_shaking(40.0, 80.0, 10.0, 12.0)
