"""Prediction: finite-fault distances, the hazardlib adapter (BSSA14, CY14, Yu 2013), site terms, Vs30, and the
elliptical Chinese intensity attenuation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.groundmotion.prediction.attenuation import (YU_2013_INTENSITY, elliptical_intensity,
                                                          intensity_on_axis, long_axis_strike_deg,
                                                          predict_intensity, radius_for_intensity)
from tianshan.groundmotion.prediction.distances import Rupture, site_distances
from tianshan.io.shakemap_xml import read_event_xml, read_fault_text


def _rupture(shared_data, name, fault):
    ev = read_event_xml(shared_data / "shakemap" / name / "event.xml")
    f = read_fault_text(shared_data / "shakemap" / name / fault)
    return Rupture.from_polygons(ev.magnitude, ev.latitude_deg, ev.longitude_deg, ev.depth_m, f.polygons,
                                 rake_deg=90.0), f


@pytest.fixture(scope="module")
def northridge(shared_data):
    return _rupture(shared_data, "northridge", "northridge_fault.txt")


@pytest.fixture(scope="module")
def wenchuan(shared_data):
    return _rupture(shared_data, "wenchuan", "Hartzell11_fault.txt")


def _brute_force(polygons, lat, lon):
    """Rrup and Rjb by dense sampling of the fault triangles, hazardlib's geodetic distance (independent code)."""
    from openquake.hazardlib.geo import geodetic

    pts = []
    u, v = np.meshgrid(np.linspace(0, 1, 250), np.linspace(0, 1, 250))
    keep = (u + v) <= 1
    for poly in polygons:
        c = np.array(poly[:4])
        for a, b, d in ((0, 1, 2), (0, 2, 3)):
            pts.append(c[a] + u[keep][:, None] * (c[b] - c[a]) + v[keep][:, None] * (c[d] - c[a]))
    p = np.vstack(pts)
    rrup = np.array([geodetic.distance(lo, la, 0.0, p[:, 0], p[:, 1], p[:, 2] / 1e3).min() for la, lo in zip(lat, lon)])
    rjb = np.array([geodetic.distance(lo, la, 0.0, p[:, 0], p[:, 1], 0 * p[:, 2]).min() for la, lo in zip(lat, lon)])
    return rrup, rjb


@pytest.mark.parametrize("which", ["northridge", "wenchuan"])
def test_finite_fault_distances_match_a_dense_sampling(which, request):
    rup, fault = request.getfixturevalue(which)
    rng = np.random.default_rng(3)
    lat = rup.latitude_deg + rng.uniform(-1.0, 1.0, 120)
    lon = rup.longitude_deg + rng.uniform(-1.0, 1.0, 120)
    d = site_distances(rup, lat, lon)
    rrup, rjb = _brute_force(fault.polygons, lat, lon)
    # sampling step ~0.1 km (Northridge) to 0.5 km (130-km Wenchuan segments)
    tol = 0.03 if which == "northridge" else 0.4
    assert np.abs(d.rrup_m / 1e3 - rrup).max() < tol
    assert np.abs(d.rjb_m / 1e3 - rjb).max() < tol
    assert np.all(d.rrup_m >= d.rjb_m - 1e-6)
    assert np.all(d.rjb_m <= d.repi_m + 1e-6) or which == "wenchuan"


def test_northridge_geometry_and_hanging_wall_sign(northridge):
    rup, _ = northridge
    assert rup.strike_deg == pytest.approx(122.0, abs=1.0)      # WNW-ESE top edge, dipping SSW
    assert rup.dip_deg == pytest.approx(38.2, abs=1.0)
    assert rup.ztor_m == 6000.0
    # 10 km down-dip (SSW) of the top edge's middle is on the hanging wall above the fault (its surface
    # projection is 22.7 km x cos 38 = 17.8 km wide); 10 km NNE is on the foot wall
    mid_lat, mid_lon = (34.3867 + 34.3023) / 2, (-118.5983 - 118.4350) / 2
    dd = math.radians((122.0 + 90.0))
    pts_lat = [mid_lat + 10 / 111.2 * math.cos(dd), mid_lat - 10 / 111.2 * math.cos(dd)]
    pts_lon = [mid_lon + 10 / (111.2 * math.cos(math.radians(34.3))) * math.sin(dd),
               mid_lon - 10 / (111.2 * math.cos(math.radians(34.3))) * math.sin(dd)]
    d = site_distances(rup, pts_lat, pts_lon)
    assert d.rx_m[0] == pytest.approx(10_000, rel=0.03) and d.rx_m[1] == pytest.approx(-10_000, rel=0.03)
    assert d.rjb_m[0] == 0.0 and d.rjb_m[1] == pytest.approx(10_000, rel=0.03)
    assert d.rrup_m[1] > d.rjb_m[1]
    assert np.all(d.ry0_m < 1.0)


def test_point_source_distances():
    rup = Rupture(6.0, 41.0, 80.0, 10_000.0)
    d = site_distances(rup, [41.0, 41.0 + 1 / 111.195], [80.0, 80.0])
    assert d.rjb_m[1] == pytest.approx(1000.0, rel=1e-3) and d.rrup_m[0] == pytest.approx(10_000.0)
    assert d.rx_m[1] == -d.repi_m[1] and d.azimuth_deg[1] == pytest.approx(0.0, abs=1e-6)


def test_gmpe_adapter_units_components_and_sigma_split(northridge):
    from openquake.hazardlib import const, contexts, imt
    from openquake.hazardlib.gsim.boore_2014 import BooreEtAl2014

    from tianshan.groundmotion.prediction.gmpe import GroundMotionModel

    rup, _ = northridge
    lat, lon = np.array([34.5, 34.0]), np.array([-118.6, -118.2])
    d = site_distances(rup, lat, lon)
    model = GroundMotionModel("BooreEtAl2014", component="model")
    p = model.predict(rup, lat, lon, ["pga", "pgv", "psa1.0"], vs30=[400.0, 400.0], distances=d)
    ctx = contexts.RuptureContext()
    ctx.sids, ctx.mag, ctx.rake, ctx.rjb, ctx.vs30 = np.arange(2), 6.7, 90.0, d.rjb_m / 1e3, np.full(2, 400.0)
    ref = contexts.get_mean_stds(BooreEtAl2014(), ctx, [imt.PGA(), imt.PGV(), imt.SA(1.0)])
    assert p["pga"].mean_ln == pytest.approx(ref[0][0] + math.log(9.80665), abs=1e-9)   # ln g -> ln m/s^2
    assert p["pgv"].mean_ln == pytest.approx(ref[0][1] + math.log(0.01), abs=1e-9)      # ln cm/s -> ln m/s
    assert p["psa1.0"].tau == pytest.approx(ref[2][2]) and p["psa1.0"].phi == pytest.approx(ref[3][2])
    larger = GroundMotionModel("BooreEtAl2014").predict(rup, lat, lon, ["pga"], vs30=400.0, distances=d)
    ratio = (const.apply_conversion(const.IMC.GREATER_OF_TWO_HORIZONTAL, imt.PGA())[0]
             / const.apply_conversion(const.IMC.RotD50, imt.PGA())[0])
    assert np.exp(larger["pga"].mean_ln - p["pga"].mean_ln) == pytest.approx(ratio)     # RotD50 -> larger
    cy = GroundMotionModel("ChiouYoungs2014").predict(rup, lat, lon, ["pga"], vs30=400.0, distances=d)["pga"]
    assert np.all(np.isfinite(cy.mean_ln)) and np.all(cy.tau > 0)
    yu = GroundMotionModel("YuEtAl2013Mw")
    assert yu.total_only and yu.site_term == "bssa14" and not yu.supports("psa1.0")
    py = yu.predict(rup, lat, lon, ["pga"], vs30=760.0, distances=d)["pga"]
    assert py.tau == pytest.approx([0.35, 0.35]) and py.sigma == pytest.approx([0.5428, 0.5428])
    with pytest.raises(InputError):
        yu.predict(rup, lat, lon, ["psa1.0"], distances=d)
    with pytest.raises(InputError):
        GroundMotionModel("NoSuchGmpe2099")


def test_yu2013_keeps_the_sign_that_hazardlib_loses():
    """hazardlib's Yu et al. (2013) returns |ln Y|: it turns up with distance once Y < 1 cm/s."""
    from openquake.hazardlib import contexts, imt
    from openquake.hazardlib.gsim.yu_2013 import YuEtAl2013Mw, YuEtAl2013MsTibet

    from tianshan.groundmotion.prediction.gmpe import _yu2013

    r = np.linspace(5.0, 290.0, 58)
    for gsim, mag in ((YuEtAl2013Mw(), 6.7), (YuEtAl2013MsTibet(), 7.5)):
        for az in (0.0, 33.0, 90.0):
            ctx = contexts.RuptureContext()
            ctx.sids, ctx.mag, ctx.repi, ctx.azimuth = np.arange(r.size), mag, r, np.full(r.size, az)
            ref = contexts.get_mean_stds(gsim, ctx, [imt.PGV()])[0][0]       # ln cm/s
            ours = _yu2013(gsim, mag, r, np.full(r.size, az), [imt.PGV()])[0][0]
            pos = ours > 0.05
            assert np.abs(ref[pos] - ours[pos]).max() < 1e-4                 # same model where ln Y > 0
            assert np.all(np.diff(ours) < 0)                                  # ours decays monotonically
            neg = ours < -0.05
            if neg.any():
                assert np.abs(ref[neg] + ours[neg]).max() < 1e-4                  # hazardlib's is the mirror image
    # the ellipse: larger along the long axis than across at the same distance
    long_ = _yu2013(YuEtAl2013Mw(), 7.0, np.array([80.0]), np.array([0.0]), [imt.PGA()])[0][0, 0]
    short = _yu2013(YuEtAl2013Mw(), 7.0, np.array([80.0]), np.array([90.0]), [imt.PGA()])[0][0, 0]
    assert long_ > short + 0.1


def test_bssa14_site_term_for_models_without_one(northridge):
    from tianshan.groundmotion.prediction.gmpe import GroundMotionModel
    from tianshan.groundmotion.prediction.site import bssa14_site_term_ln

    rup, _ = northridge
    lat, lon = np.array([34.6, 34.6]), np.array([-118.9, -118.9])
    amp = bssa14_site_term_ln(rup, lat, lon, np.array([300.0, 760.0]), ["pga", "pgv"])
    assert amp["pga"][1] == pytest.approx(0.0, abs=1e-12) and amp["pgv"][0] > 0.3      # soft soil amplifies PGV
    yu = GroundMotionModel("YuEtAl2013Mw")
    soft = yu.predict(rup, lat, lon, ["pgv"], vs30=np.array([300.0, 760.0]))["pgv"].mean_ln
    assert soft[0] - soft[1] == pytest.approx(amp["pgv"][0], abs=1e-9)


def test_slope_vs30_tables_read_at_run_time(shared_data):
    from tianshan.groundmotion.prediction.site import read_slope_tables, slope_vs30_layer, vs30_from_slope

    tables = read_slope_tables(shared_data / "xinjiang" / "vs30_slope_tables.csv")
    assert set(tables) == {"active", "craton"}
    act = tables["active"]
    # class edges map exactly; log-log in between; clipped at the ends
    assert vs30_from_slope([3.0e-4, 0.01, 0.14], act) == pytest.approx([180.0, 300.0, 760.0])
    mid = math.exp(0.5 * (math.log(0.018) + math.log(0.05)))
    assert float(vs30_from_slope([mid], act)[0]) == pytest.approx(math.sqrt(360.0 * 490.0))
    assert float(vs30_from_slope([1e-6], act)[0]) == 180.0 and float(vs30_from_slope([5.0], act)[0]) == 900.0
    assert float(vs30_from_slope([0.01], tables["craton"])[0]) > 360.0       # cratons: stiffer at the same slope
    # a DEM rising 50 m per 30" cell eastwards at 42N: slope 50 / (926.6 m x cos 41.96) = 0.0722
    dem = np.tile(np.arange(20) * 50.0, (10, 1))
    layer = slope_vs30_layer(dem, 80.0, 42.0, 30 / 3600, 30 / 3600, tables)
    slope = 50.0 / (6_371_008.8 * math.radians(30 / 3600) * math.cos(math.radians(42.0 - 2.5 * 30 / 3600)))
    expect = math.exp(math.log(490.0) + (math.log(slope) - math.log(0.05)) / (math.log(0.10) - math.log(0.05))
                      * (math.log(620.0) - math.log(490.0)))
    assert float(layer.vs30_at([42.0 - 2.5 * 30 / 3600], [80.0 + 5.5 * 30 / 3600])[0]) == pytest.approx(expect, rel=1e-9)


def test_elliptical_attenuation_coefficients_and_geometry():
    for m in YU_2013_INTENSITY.values():
        # joint ellipse: both axes give the epicentral intensity (restored R0 of 7 and 9 included)
        ia0 = m.a_long + m.c_long * math.log10(m.r0_long_km)
        ib0 = m.a_short + m.c_short * math.log10(m.r0_short_km)
        assert ia0 == pytest.approx(ib0, abs=2e-3)
    xj = YU_2013_INTENSITY["xinjiang"]
    assert (xj.a_long, xj.b, xj.c_long, xj.r0_long_km, xj.sigma) == (5.6018, 1.4347, -4.4899, 25.0, 0.5924)
    ms = 7.0
    i_long = float(intensity_on_axis(xj, ms, 60.0, "long"))
    assert float(elliptical_intensity(xj, ms, 60.0, 0.0)) == pytest.approx(i_long, abs=1e-6)
    i_short = float(intensity_on_axis(xj, ms, 60.0, "short"))
    assert float(elliptical_intensity(xj, ms, 0.0, 60.0)) == pytest.approx(i_short, abs=1e-6)
    assert i_long > i_short
    ra = float(radius_for_intensity(xj, ms, 6.0, "long"))
    rb = float(radius_for_intensity(xj, ms, 6.0, "short"))
    t = np.linspace(0, 2 * math.pi, 13)
    on_ellipse = elliptical_intensity(xj, ms, ra * np.cos(t), rb * np.sin(t))
    assert on_ellipse == pytest.approx(np.full(13, 6.0), abs=1e-6)
    assert float(elliptical_intensity(xj, ms, 0.0, 0.0)) == pytest.approx(xj.epicentral_intensity(ms), abs=1e-6)


def test_long_axis_from_rupture_or_nearest_fault(wenchuan):
    from tianshan.regions import Fault

    rup, _ = wenchuan
    strike, src = long_axis_strike_deg(rup.latitude_deg, rup.longitude_deg, rupture=rup)
    assert src == "rupture" and strike == pytest.approx(42.2, abs=1.0)          # Longmen Shan, NE-SW
    faults = [Fault("far NS", "Reverse", ((80.0, 40.0), (80.0, 41.0))),
              Fault("near EW", "Dextral", ((79.0, 39.55), (81.0, 39.55)))]
    strike, src = long_axis_strike_deg(39.5, 80.2, faults=faults)
    assert strike == pytest.approx(90.0, abs=0.5) and src.startswith("fault:near EW")
    assert long_axis_strike_deg(30.0, 80.2, faults=faults) == (None, "none")
    # along the axis the intensity is higher than across it at the same distance
    f = predict_intensity("xinjiang", [39.5, 39.5 + 50 / 111.2], [80.2 + 50 / (111.2 * math.cos(math.radians(39.5))), 80.2],
                          39.5, 80.2, 7.0, faults=faults)
    assert f.intensity[0] > f.intensity[1] + 0.3


def test_wenchuan_intensity_field_is_plausible(wenchuan):
    """Ms 8.06 (from Mw 7.9): epicentral intensity near X-XI (XI observed) and VI reaching ~300 km."""
    from tianshan.groundmotion.prediction.gmpe import ms_from_mw

    rup, _ = wenchuan
    ms = float(ms_from_mw(rup.magnitude))
    assert ms == pytest.approx(8.06, abs=0.01)
    tib = YU_2013_INTENSITY["tibet"]
    assert 10.0 < tib.epicentral_intensity(ms) < 11.5
    f = predict_intensity(tib, [33.5], [107.0], rup.latitude_deg, rup.longitude_deg, ms, rupture=rup)
    assert f.strike_source == "rupture" and f.strike_deg == pytest.approx(42.2, abs=1.5)
    assert 4.0 < float(f.intensity[0]) < 7.5
    centre = predict_intensity(tib, [f.center_lat_deg], [f.center_lon_deg], rup.latitude_deg, rup.longitude_deg, ms,
                               rupture=rup)
    assert float(centre.intensity[0]) == pytest.approx(tib.epicentral_intensity(ms), abs=1e-3)
    # the optional line source keeps the epicentral intensity along the whole trace
    beichuan = (31.83, 104.45)
    plain = predict_intensity(tib, [beichuan[0]], [beichuan[1]], rup.latitude_deg, rup.longitude_deg, ms, rupture=rup)
    line = predict_intensity(tib, [beichuan[0]], [beichuan[1]], rup.latitude_deg, rup.longitude_deg, ms, rupture=rup,
                             line_source=True)
    assert line.strike_source == "rupture trace" and float(line.intensity[0]) > float(plain.intensity[0])


def test_long_axis_from_the_xinjiang_fault_map(shared_data):
    """The 2020 Jiashi Ms 6.4 epicentre lies on the E-W Kalpin thrust front: the axis follows the mapped fault."""
    from tianshan.regions.faults_geojson import read_faults_geojson

    faults, _ = read_faults_geojson(shared_data / "xinjiang" / "faults_gem_gaf_2017.geojson")
    strike, src = long_axis_strike_deg(39.83, 77.21, faults=faults)
    assert src.startswith("fault:") and 70.0 < strike < 110.0
    f = predict_intensity("xinjiang", [39.83, 39.83 + 40 / 111.2], [77.21 + 40 / (111.2 * math.cos(math.radians(39.83))),
                                                                     77.21], 39.83, 77.21, 6.4, faults=faults)
    assert f.intensity[0] > f.intensity[1]           # 40 km along strike (east) shakes more than 40 km north
