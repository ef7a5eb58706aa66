"""TravelTimeTable: interpolated times against the direct solver."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.core.velocity import VelocityModel
from tianshan.traveltime.layered import LayeredTravelTime
from tianshan.traveltime.table import TravelTimeTable

#: Interpolation tolerance (s) for 1 km steps; measured worst ~1 ms (P) and ~2 ms (S).
TOL_S = 0.005


@pytest.mark.parametrize("phase", ["P", "S"])
def test_table_matches_solver_on_random_points(xinjiang, phase):
    solver = LayeredTravelTime(xinjiang)
    table = solver.table(phase, np.arange(0.0, 40_001.0, 1000.0), 1_000_000.0, 1000.0)
    assert isinstance(table, TravelTimeTable)
    rng = np.random.default_rng(2024)
    worst = 0.0
    for z in np.concatenate([rng.uniform(0, 40_000, 40), [25_990.0, 26_000.0, 26_010.0]]):
        x = rng.uniform(0, 1e6, 100)
        ref, _ = solver.first_arrival(phase, z, x)
        worst = max(worst, float(np.max(np.abs(table(z, x) - ref))))
    assert worst < TOL_S


def test_table_nodes_exact_interfaces_and_outside(one_layer):
    solver = LayeredTravelTime(one_layer)
    table = solver.table("P", [0.0, 20_000.0, 50_000.0], 300_000.0, 2000.0)
    assert np.count_nonzero(np.isclose(table.depths_m, 35_000.0, atol=0.01)) == 2  # split at the Moho
    ref, _ = solver.first_arrival("P", 20_000.0, table.distances_m)
    np.testing.assert_allclose(table(20_000.0, table.distances_m), ref, rtol=0, atol=1e-9)
    out = table(np.array([-1.0, 10_000.0, 60_000.0]), np.array([1e3, 400e3, 1e3]))
    assert np.all(np.isnan(out))
    with pytest.raises(InputError):
        solver.table("P", [], 1e5)


def test_flat_table():
    solver = LayeredTravelTime(VelocityModel.from_vp("flat", [0, 30000], [6000, 8000]), earth_radius_m=math.inf)
    table = solver.table("P", [0.0, 5000.0, 10_000.0], 300_000.0, 1000.0)
    x = np.linspace(0, 300e3, 77)
    ref, _ = solver.first_arrival("P", 7_300.0, x)
    np.testing.assert_allclose(table(7_300.0, x), ref, rtol=0, atol=TOL_S)
