"""LayeredTravelTime: verified against ObsPy TauP and against closed-form flat/spherical rays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.core.velocity import VelocityModel
from tianshan.traveltime.layered import LayeredTravelTime
from tianshan.traveltime.taup import taup_first_arrivals, taup_model

R_M = 6_371_000.0
#: Agreement target with TauP (s). Measured worst case on this grid: ~2e-8 s.
TOL_S = 0.01
DISTANCES_KM = np.array([5, 10, 20, 35, 50, 75, 100, 130, 160, 200, 250, 300, 400, 500, 650, 800, 1000.0])


def _deg(km):
    return np.asarray(km) * 1000.0 / R_M * 180.0 / math.pi


@pytest.mark.slow
@pytest.mark.parametrize("model_name, depths_km", [
    ("xinjiang", [0, 2, 8, 15, 25.5, 26, 33, 40]),          # both crustal layers, on the interface
    ("one_layer", [0, 5, 12, 20, 30, 34.5, 35, 40]),        # last two: at / below the Moho
])
@pytest.mark.parametrize("phase", ["P", "S"])
def test_first_arrival_matches_taup(request, taup_cache, model_name, depths_km, phase):
    """Sources 0-40 km, distances 5-1000 km: |t - t_TauP| < 0.01 s everywhere in the grid."""
    model = request.getfixturevalue(model_name)
    taup = taup_model(model, taup_cache)
    solver = LayeredTravelTime(model)
    for z_km in depths_km:
        ref, _ = taup_first_arrivals(taup, z_km * 1000.0, _deg(DISTANCES_KM), phase)
        got, names = solver.first_arrival(phase, z_km * 1000.0, DISTANCES_KM * 1000.0)
        assert np.all(np.isfinite(ref)) and np.all(names != "")
        np.testing.assert_allclose(got, ref, rtol=0, atol=TOL_S, err_msg=f"{model.name} {phase} {z_km} km")


@pytest.mark.parametrize("source_km, receiver_km", [(10, 2), (1, 3), (30, 28)])
def test_receiver_depth_matches_taup(xinjiang, taup_cache, source_km, receiver_km):
    solver = LayeredTravelTime(xinjiang)
    km = np.array([5.0, 40.0, 150.0, 400.0, 900.0])
    for phase in "PS":
        ref, _ = taup_first_arrivals(taup_model(xinjiang, taup_cache), source_km * 1e3, _deg(km), phase,
                                     receiver_depth_m=receiver_km * 1e3)
        got, _ = solver.first_arrival(phase, source_km * 1e3, km * 1e3, receiver_depth_m=receiver_km * 1e3)
        np.testing.assert_allclose(got, ref, rtol=0, atol=TOL_S)


def test_ray_parameter_and_takeoff_match_taup(xinjiang, taup_cache):
    taup = taup_model(xinjiang, taup_cache)
    solver = LayeredTravelTime(xinjiang)
    km = np.array([8.0, 60.0, 180.0, 700.0])                 # up-going Pg, Pg/Pb, Pn
    fa = solver.first_arrivals("P", 12_000.0, km * 1000.0)
    for i, deg in enumerate(_deg(km)):
        arrivals = taup.get_travel_times(12.0, float(deg), ["p", "P", "Pg", "Pn"], ray_param_tol=1e-4)
        first = min(arrivals, key=lambda a: a.time)
        assert fa.ray_parameter[i] == pytest.approx(first.ray_param, abs=0.05)     # s/rad
        assert fa.takeoff_angle_deg[i] == pytest.approx(first.takeoff_angle, abs=0.05)
    assert fa.dtdx_s_per_m == pytest.approx(fa.ray_parameter / R_M)


def test_phase_names_xinjiang(xinjiang):
    solver = LayeredTravelTime(xinjiang)
    _, names = solver.first_arrival("P", 10_000.0, np.array([5e3, 150e3, 300e3, 1e6]))
    assert list(names) == ["Pg", "Pg", "Pn", "Pn"]
    _, names = solver.first_arrival("S", 25_000.0, np.array([5e3, 150e3, 1e6]))
    assert list(names) == ["Sg", "Sb", "Sn"]        # Sb: refracted below the 26 km interface
    _, names = solver.first_arrival("P", 60_000.0, np.array([5e3, 1e6]))  # below the Moho
    assert list(names) == ["P", "P"]


def test_flat_two_layer_head_wave_closed_form():
    """Flat 30 km layer (6 km/s) over 8 km/s: t = x/v2 + (2h - z) cos(ic)/v1 (Lay & Wallace 1995, eq. 3.37)."""
    v1, v2, h = 6000.0, 8000.0, 30_000.0
    solver = LayeredTravelTime(VelocityModel.from_vp("flat", [0, h], [v1, v2]), earth_radius_m=math.inf)
    x = np.array([0.0, 10e3, 100e3, 150e3, 200e3, 400e3, 1e6])
    cos_ic = math.sqrt(1 - (v1 / v2) ** 2)
    for z in (0.0, 10_000.0):
        head = x / v2 + (2 * h - z) * cos_ic / v1
        direct = np.hypot(x, z) / v1
        t, names = solver.first_arrival("P", z, x)
        np.testing.assert_allclose(t, np.minimum(head, direct), rtol=1e-12, atol=1e-9)
        assert list(names) == ["Pg" if d <= hw else "Pn" for d, hw in zip(direct, head)]
    # crossover distance for a surface source: x_c = 2 h sqrt((v2 + v1) / (v2 - v1))
    x_c = 2 * h * math.sqrt((v2 + v1) / (v2 - v1))
    t, names = solver.first_arrival("P", 0.0, np.array([x_c - 1.0, x_c + 1.0]))
    assert list(names) == ["Pg", "Pn"]


def test_flat_three_layer_intercepts():
    """Flat h1, h2 over a half-space: Pb and Pn intercept times 2 sum h_j cos(i_j)/v_j (Lay & Wallace eq. 3.39)."""
    v = [5000.0, 6500.0, 8000.0]
    h1, h2 = 10_000.0, 20_000.0
    solver = LayeredTravelTime(VelocityModel.from_vp("flat3", [0, h1, h1 + h2], v), earth_radius_m=math.inf)
    x = np.array([300e3, 600e3])
    t, names = solver.first_arrival("P", 0.0, x)
    c13, c23 = math.sqrt(1 - (v[0] / v[2]) ** 2), math.sqrt(1 - (v[1] / v[2]) ** 2)
    np.testing.assert_allclose(t, x / v[2] + 2 * h1 * c13 / v[0] + 2 * h2 * c23 / v[1], rtol=1e-12)
    assert list(names) == ["Pn", "Pn"]
    x_b = np.array([60e3])
    t_b, name_b = solver.first_arrival("P", 0.0, x_b)
    c12 = math.sqrt(1 - (v[0] / v[1]) ** 2)
    assert t_b[0] == pytest.approx(x_b[0] / v[1] + 2 * h1 * c12 / v[0], rel=1e-12)
    assert name_b[0] == "Pb"


def test_homogeneous_sphere_chord():
    """One constant-velocity sphere: the ray is the chord, T = sqrt(R^2 + r^2 - 2 R r cos D) / v."""
    v = 6000.0
    solver = LayeredTravelTime(VelocityModel.from_vp("ball", [0], [v]), earth_radius_m=R_M)
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 5e6, 50)
    for z in (0.0, 40_000.0, 700_000.0):
        r = R_M - z
        delta = x / R_M
        expected = np.sqrt(R_M**2 + r**2 - 2 * R_M * r * np.cos(delta)) / v
        t, _ = solver.first_arrival("P", z, x)
        np.testing.assert_allclose(t, expected, rtol=1e-9, atol=1e-6)


def test_reciprocity_source_receiver_swap(xinjiang):
    solver = LayeredTravelTime(xinjiang)
    x = np.random.default_rng(11).uniform(1e3, 9e5, 40)
    for a, b in [(3_000.0, 31_000.0), (0.0, 26_000.0), (20_000.0, 60_000.0)]:
        t_ab, _ = solver.first_arrival("S", a, x, receiver_depth_m=b)
        t_ba, _ = solver.first_arrival("S", b, x, receiver_depth_m=a)
        np.testing.assert_allclose(t_ab, t_ba, rtol=0, atol=1e-6)


def test_dtdz_is_the_depth_derivative(xinjiang):
    solver = LayeredTravelTime(xinjiang)
    x = np.array([3e3, 40e3, 120e3, 500e3])
    for z in (5_000.0, 30_000.0):
        fa = solver.first_arrivals("P", z, x)
        t_up, _ = solver.first_arrival("P", z + 1.0, x)
        t_dn, _ = solver.first_arrival("P", z - 1.0, x)
        np.testing.assert_allclose(fa.dtdz_s_per_m, (t_up - t_dn) / 2.0, rtol=0, atol=1e-7)


def test_shapes_and_bad_input(xinjiang):
    solver = LayeredTravelTime(xinjiang)
    t, names = solver.first_arrival("P", 5_000.0, np.full((2, 3), 50e3))
    assert t.shape == names.shape == (2, 3)
    assert solver.takeoff_angle("P", 5_000.0, [0.0])[0] == pytest.approx(180.0)   # straight up
    with pytest.raises(InputError, match="phase"):
        solver.first_arrival("Pn", 0.0, [1.0])
    with pytest.raises(InputError, match="distance_m"):
        solver.first_arrival("P", 0.0, [-1.0])
    with pytest.raises(InputError, match="source_depth_m"):
        solver.first_arrival("P", -5.0, [1.0])
    with pytest.raises(InputError, match="earth_radius_m"):
        LayeredTravelTime(xinjiang, earth_radius_m=0.0)
