"""The Xinjiang intensity option of the loss chain (Yu et al. 2013 elliptical attenuation -> MMI)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.groundmotion.intensity.mmi import mmi_from_cn
from tianshan.groundmotion.prediction.gmpe import ms_from_mw
from tianshan.groundmotion.prediction.site import ConstantVs30, read_slope_tables, slope_vs30_layer
from tianshan.products.loss import xinjiang_intensity as xi
from tianshan.products.loss.exposure import load_exposure
from tianshan.products.loss.scenario import LIMITATIONS, XINJIANG_INTENSITY_LIMITATION, Scenario, run_scenario

from .test_loss_scenario import CENSUS, _run

# Yu, Li & Xiao (2013), Xinjiang region: long axis A, C, R0; short axis A, C, R0; B (the published table)
A_L, C_L, R0_L, A_S, C_S, R0_S, B = 5.6018, -4.4899, 25.0, 3.6113, -3.8477, 13.0, 1.4347
KM_PER_DEG = math.radians(1.0) * 6371.0088


def _at(grid, lat, lon):
    m, s = grid.sample([lat], [lon])
    return float(m[0]), float(s[0])


def test_epicentre_and_axes_follow_the_published_relation():
    ms, lat0, lon0 = 6.0, 40.0, 80.0
    g = xi.predict_shaking(lat0, lon0, 10.0, 6.2, ms=ms, strike_deg=90.0, spacing_deg=0.01)
    i0_long = A_L + B * ms + C_L * math.log10(R0_L)
    i0_short = A_S + B * ms + C_S * math.log10(R0_S)
    assert abs(i0_long - i0_short) < 0.01                              # the two axes agree at R = 0
    assert _at(g, lat0, lon0)[0] == pytest.approx(i0_long, abs=0.01)
    r = 40.0
    east = _at(g, lat0, lon0 + r / (KM_PER_DEG * math.cos(math.radians(lat0))))[0]
    north = _at(g, lat0 + r / KM_PER_DEG, lon0)[0]
    # on the long axis (strike 90 = east) I = A_a + B Ms + C_a lg(R + R0_a); across it the short-axis line
    assert east == pytest.approx(A_L + B * ms + C_L * math.log10(r + R0_L), abs=0.03)
    assert north == pytest.approx(A_S + B * ms + C_S * math.log10(r + R0_S), abs=0.03)
    assert east > north + 0.3
    assert _at(g, lat0, lon0)[1] == pytest.approx(0.5924)              # Yu et al.'s sigma, in intensity units
    assert g.source.startswith("Yu et al. (2013)") and "90 deg" in g.source


def test_no_strike_gives_circles_and_mw_is_converted_to_ms():
    lat0, lon0, mw = 40.0, 80.0, 6.0
    g = xi.predict_shaking(lat0, lon0, 10.0, mw, spacing_deg=0.01)
    r = 30.0
    east = _at(g, lat0, lon0 + r / (KM_PER_DEG * math.cos(math.radians(lat0))))[0]
    north = _at(g, lat0 + r / KM_PER_DEG, lon0)[0]
    assert east == pytest.approx(north, abs=0.02)
    ms = float(ms_from_mw(mw))
    assert ms == pytest.approx((6.0 - 0.59) / 0.86)                     # Cheng et al. (2017), below Mw 6.58
    same = xi.predict_shaking(lat0, lon0, 10.0, mw, ms=ms, spacing_deg=0.01)
    np.testing.assert_allclose(g.mmi, same.mmi)
    assert "circular" in g.source


def test_pgv_conversion_is_the_projects_cn_to_mmi_relation():
    a = xi.predict_shaking(40.0, 80.0, 10.0, 6.5, ms=6.5, strike_deg=60.0, radius_km=80.0)
    b = xi.predict_shaking(40.0, 80.0, 10.0, 6.5, ms=6.5, strike_deg=60.0, radius_km=80.0, to_mmi="pgv")
    np.testing.assert_allclose(b.mmi, mmi_from_cn(a.mmi, via="pgv"), atol=1e-9)
    top = a.mmi >= 8.0
    assert top.any() and np.all(b.mmi[top] < a.mmi[top] - 0.4)          # instrumental CN is ~0.6 above MMI
    assert "(pgv)" in b.source


def test_site_term_from_the_slope_proxy(shared_data, tmp_path):
    tables = read_slope_tables(shared_data / "xinjiang" / "vs30_slope_tables.csv")
    dlat = dlon = 0.01
    north, west = 41.0, 79.0
    rows, cols = 200, 200
    dy_m = math.radians(dlat) * 6_371_008.8
    slope = 0.01                                                        # m/m, the lower edge of the 300-360 class
    dem = (slope * dy_m * (rows - np.arange(rows)))[:, None] * np.ones((1, cols))
    layer = slope_vs30_layer(dem, west, north, dlon, dlat, tables, regime="active")
    assert float(layer.vs30_at(40.0, 80.0)) == pytest.approx(300.0, rel=1e-3)
    base = xi.predict_shaking(40.0, 80.0, 10.0, 6.0, ms=6.0, radius_km=50.0)
    sited = xi.predict_shaking(40.0, 80.0, 10.0, 6.0, ms=6.0, radius_km=50.0, vs30=layer)
    # BSSA14 linear PGV term c = -0.84 (Seyhan & Stewart 2014) times the GB/T 17742 slope 3.00 per decade
    expected = 3.00 * -0.84 * math.log10(300.0 / 400.0)
    assert _at(sited, 40.0, 80.0)[0] - _at(base, 40.0, 80.0)[0] == pytest.approx(expected, abs=1e-3)
    ref = xi.predict_shaking(40.0, 80.0, 10.0, 6.0, ms=6.0, radius_km=50.0, vs30=ConstantVs30(400.0))
    np.testing.assert_allclose(ref.mmi, base.mmi)
    assert xi.site_intensity_correction(1500.0) == pytest.approx(3.00 * -0.84 * math.log10(1300.0 / 400.0))


@pytest.mark.parametrize("kwargs, field", [({"to_mmi": "jma"}, "to_mmi"), ({"region": "mars"}, "region"),
                                           ({"ms": 12.0}, "ms"), ({"strike_deg": float("nan")}, "strike_deg")])
def test_bad_options_are_input_errors(kwargs, field):
    with pytest.raises(InputError) as err:
        xi.predict_shaking(40.0, 80.0, 10.0, 6.0, **kwargs)
    assert err.value.field == field


def test_run_scenario_by_name_and_limitations(tmp_path, write_loss_region):
    ex = load_exposure(write_loss_region(tmp_path / "r", CENSUS))
    sc = Scenario(40.5, 80.5, 10.0, 6.5, strike_deg=90.0)
    simple = run_scenario(sc, ex).as_json()
    xj = run_scenario(sc, ex, intensity="xinjiang").as_json()
    assert simple["intensity"]["source"].startswith("BSSA14")
    assert xj["intensity"]["source"].startswith("Yu et al. (2013)")
    assert simple["limitations"] == list(LIMITATIONS)
    assert xj["limitations"][1] == XINJIANG_INTENSITY_LIMITATION and len(xj["limitations"]) == len(LIMITATIONS)
    with pytest.raises(InputError, match="unknown intensity model"):
        run_scenario(sc, ex, intensity="nga-west")


def test_cli_gmm_option(capsys, tmp_path, write_loss_region):
    region = str(write_loss_region(tmp_path / "r", CENSUS))
    base = ("--lat", "40.5", "--lon", "80.5", "--depth", "10", "--mag", "6.5", "--region", region, "--json")
    rc, out, err = _run(capsys, *base, "--gmm", "xinjiang")
    assert rc == 0, err
    assert json.loads(out)["intensity"]["source"].startswith("Yu et al. (2013)")
    rc, out, err = _run(capsys, *base)
    assert rc == 0, err
    assert json.loads(out)["intensity"]["source"].startswith("BSSA14")
    rc, _, err = _run(capsys, *base, "--gmm", "bogus")
    assert rc == 2 and "Traceback" not in err and "bogus" in err
