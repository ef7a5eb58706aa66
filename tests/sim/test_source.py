"""Scenario sources: Wells & Coppersmith (1994) dimensions and rupture distances (hazardlib)."""

import math

import numpy as np
import pytest
from pyproj import Geod

from tianshan.core.errors import InputError
from tianshan.sim.source import (FiniteFault, Source, slip_type, station_geometry,
                                 wells_coppersmith_dimensions_m)

GEOD = Geod(a=6_371_000.0, b=6_371_000.0)
T0 = "2024-01-01T00:00:00"


def _at(lat, lon, az, dist_m):
    lo, la, _ = GEOD.fwd(lon, lat, az, dist_m)
    return la, lo


def test_slip_type_follows_rake():
    assert [slip_type(r) for r in (0, 30, -170, 180, 90, 60, -90, -100)] == \
        ["SS", "SS", "SS", "SS", "R", "R", "N", "N"]


def test_wells_coppersmith_table_2a():
    # M 7 strike-slip: RLD = 10^(-2.57 + 0.62*7) = 58.9 km, RW = 10^(-0.76 + 0.27*7) = 13.5 km.
    length, width = wells_coppersmith_dimensions_m(7.0, 0.0)
    assert length == pytest.approx(58.88e3, rel=1e-3) and width == pytest.approx(13.49e3, rel=1e-3)
    # M 6 reverse: RLD = 10^1.06 = 11.5 km, RW = 10^0.85 = 7.08 km.
    length, width = wells_coppersmith_dimensions_m(6.0, 90.0)
    assert length == pytest.approx(11.48e3, rel=1e-3) and width == pytest.approx(7.079e3, rel=1e-3)


@pytest.mark.parametrize("rake", [0.0, 90.0, -90.0])
def test_length_times_width_agrees_with_hazardlib_area(rake):
    """RLD x RW (Table 2A) against the independent rupture-area regression (WC1994 in hazardlib): within 20 %
    over M 5-7 (inside the data range of every slip type)."""
    from openquake.hazardlib.scalerel import WC1994

    for mw in (5.0, 6.0, 7.0):
        length, width = wells_coppersmith_dimensions_m(mw, rake)
        assert length * width / 1e6 == pytest.approx(WC1994().get_median_area(mw, rake), rel=0.2)


def test_bad_source():
    with pytest.raises(InputError, match="latitude_deg"):
        Source(123.0, 84.0, 10e3, 6.0, T0)
    with pytest.raises(InputError, match="mw"):
        Source(41.0, 84.0, 10e3, float("nan"), T0)
    with pytest.raises(InputError, match="dip"):
        FiniteFault(0.0, 0.0, 0.0)


def test_point_source_geometry():
    src = Source(41.0, 84.0, 10e3, 6.0, T0)
    la, lo = _at(41.0, 84.0, 90.0, 20e3)
    g = station_geometry(src, [la], [lo])
    assert g.epicentral_m[0] == pytest.approx(20e3, rel=1e-9)
    assert g.hypocentral_m[0] == pytest.approx(math.hypot(20e3, 10e3), rel=1e-9)
    assert g.rupture_m[0] == g.hypocentral_m[0] and g.joyner_boore_m[0] == g.epicentral_m[0]
    assert g.azimuth_deg[0] == pytest.approx(90.0, abs=1e-6)
    assert g.back_azimuth_deg[0] == pytest.approx(270.0, abs=0.2)
    # Same as ObsPy's spherical distance (locations2degrees, R = 6371 km).
    from obspy.geodetics import locations2degrees
    assert g.epicentral_m[0] == pytest.approx(locations2degrees(41.0, 84.0, la, lo) * math.pi / 180 * 6_371_000.0,
                                              rel=1e-6)


def test_vertical_strike_slip_distances():
    """40 km x 20 km vertical fault striking north, top at the surface: Rjb/Rrup by geometry (1 %)."""
    src = Source(41.0, 84.0, 10e3, 7.0, T0, FiniteFault(0.0, 90.0, 0.0, 40e3, 20e3))
    c = src.rupture_corners()
    assert c[0, 2] == 0.0 and c[2, 2] == pytest.approx(20e3)
    pts = [_at(41.0, 84.0, 90.0, 20e3), _at(41.0, 84.0, 0.0, 30e3), _at(41.0, 84.0, 270.0, 5e3)]
    g = station_geometry(src, [p[0] for p in pts], [p[1] for p in pts])
    np.testing.assert_allclose(g.joyner_boore_m, [20e3, 10e3, 5e3], rtol=0.01)
    np.testing.assert_allclose(g.rupture_m, [20e3, 10e3, 5e3], rtol=0.01)


def test_dipping_thrust_hanging_wall_and_width_cap():
    # M 6.5 thrust striking east, dipping 30 deg to the south, hypocentre at 15 km.
    src = Source(41.0, 84.0, 15e3, 6.5, T0, FiniteFault(90.0, 30.0, 90.0))
    length, width = wells_coppersmith_dimensions_m(6.5, 90.0)
    assert src.finite.length_m == pytest.approx(length) and src.finite.width_m == pytest.approx(width)
    top, bottom = src.rupture_corners()[0, 2], src.rupture_corners()[2, 2]
    assert bottom - top == pytest.approx(width * 0.5, rel=1e-6)
    assert top < 15e3 < bottom
    # Above the hypocentre: on the hanging wall -> Rjb = 0, Rrup = perpendicular distance to the plane.
    g = station_geometry(src, [41.0], [84.0])
    assert g.joyner_boore_m[0] == pytest.approx(0.0, abs=50.0)
    # hazardlib's PlanarSurface distances are approximate at the ~1 % level here.
    assert g.rupture_m[0] == pytest.approx(15e3 * math.cos(math.radians(30.0)), rel=0.02)
    # M 8 thrust, dip 30: W would be 46 km... capped to 25 km / sin(30) = 50 km only if larger; M 8.5 exceeds it.
    big = Source(41.0, 84.0, 15e3, 8.5, T0, FiniteFault(90.0, 30.0, 90.0))
    l0, w0 = wells_coppersmith_dimensions_m(8.5, 90.0)
    assert w0 > 50e3
    assert big.finite.width_m == pytest.approx(50e3)
    assert big.finite.length_m * big.finite.width_m == pytest.approx(l0 * w0, rel=1e-9)
    assert big.rupture_corners()[0, 2] >= 0.0 and big.rupture_corners()[2, 2] <= 25e3 + 1e-6
