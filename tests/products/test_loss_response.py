"""Response level (国家地震应急预案 2012), casualties, needs, rankings and historical earthquakes."""

from __future__ import annotations

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.products.loss import casualties, pager, response
from tianshan.products.loss.exposure import expose, exposure_from_places
from tianshan.products.loss.shaking import ShakingGrid
from tianshan.regions.model import Place


def _rec(**kw) -> str:
    r = response.response_level(**kw)["recommended"]
    return r["response"] if r else "none"


@pytest.mark.parametrize("mag,deaths,density,expected", [
    (7.0, 0.0, 50.0, "I"),      # 人口较密集 7.0 以上 -> 特别重大
    (6.9, 0.0, 50.0, "II"),     # 6.0-7.0 -> 重大
    (6.0, 0.0, 250.0, "I"),     # 人口密集 6.0 以上 -> 特别重大
    (5.5, 0.0, 250.0, "II"),    # 人口密集 5.0-6.0 -> 重大
    (4.5, 0.0, 250.0, "III"),   # 人口密集 4.0-5.0 -> 较大
    (5.2, 0.0, None, "III"),    # unknown density: 人口较密集 column
    (4.2, 0.0, 10.0, "IV"),
    (3.5, 0.0, 10.0, "none"),
    (3.5, 300.0, 10.0, "I"),    # 300 人以上死亡
    (3.5, 299.0, 10.0, "II"),
    (3.5, 50.0, 10.0, "II"),
    (3.5, 49.9, 10.0, "III"),
    (3.5, 10.0, 10.0, "III"),
    (3.5, 9.0, 10.0, "IV"),
    (5.5, 60.0, 10.0, "II"),    # the more severe of magnitude (III) and deaths (II)
])
def test_response_level_follows_the_plan(mag, deaths, density, expected):
    assert _rec(magnitude=mag, deaths_median=deaths, density_per_km2=density) == expected


def test_economic_criterion_and_sparse_option():
    lv = response.response_level(4.0, 0.0, 5.0, economic_loss_usd=3e9, provincial_gdp_usd=2e11)
    assert lv["by_economic_loss"]["grade_zh"] == "特别重大" and lv["recommended"]["response"] == "I"
    lv = response.response_level(4.0, 0.0, 5.0, economic_loss_usd=1e9, provincial_gdp_usd=2e11)
    assert lv["by_economic_loss"] is None and "0.5 %" in lv["economic_criterion"]
    assert "not applied" in response.response_level(4.0, 0.0, 5.0)["economic_criterion"]
    assert _rec(magnitude=7.2, deaths_median=0.0, density_per_km2=0.5, sparse_below_per_km2=1.0) == "none"


def test_injured_and_shelter():
    est = pager.estimate_fatalities([0] * 7 + [1e5, 0, 0])
    inj = casualties.estimate_injured(est)
    assert inj.median == pytest.approx(est.median * 10 / 3)
    sh = casualties.estimate_shelter([0] * 6 + [1000, 1000, 1000, 1000], "C")
    assert sh.people == pytest.approx(0 + 100 + 450 + 1000)
    assert casualties.estimate_shelter([0] * 6 + [1000, 0, 0, 0], "A").people == pytest.approx(450)
    with pytest.raises(InputError, match="vulnerability class"):
        casualties.estimate_shelter([0] * 10, "Z")


def test_injury_ratio_is_recomputed_from_the_record(shared_data):
    ratio, n = casualties.injury_ratio_from_catalog(shared_data / "xinjiang" / "historical_significant_noaa.csv")
    assert n == 11 and ratio == pytest.approx(casualties.INJURED_PER_DEATH)


def test_ranking_towns_and_needs():
    places = [Place("Near", 40.0, 80.0, 20000, "city"), Place("Mid", 40.0, 80.3, 90000, "city"),
              Place("Far", 40.0, 81.0, 500000, "city")]
    ex = exposure_from_places(places)
    lats, lons = np.array([40.5, 39.5]), np.array([79.5, 80.15, 80.6, 81.5])
    mmi = np.array([[9.0, 9.0, 7.0, 5.0], [9.0, 9.0, 7.0, 5.0]])
    g = ShakingGrid(lats, lons, mmi, 0.5)
    r = expose(ex, g)
    rows = response.rank_units(r)
    assert [row["name"] for row in rows] == ["Far", "Mid", "Near"]          # by people at VI+
    assert [row["exposed_vi_plus"] for row in rows] == [500000, 90000, 20000]
    assert [row["exposed_viii_plus"] for row in rows] == [0, 90000, 20000]
    assert rows[2]["max_mmi"] == 9.0
    towns = response.nearest_towns(ex, g, 40.0, 80.0, n=2)
    assert [t["name"] for t in towns] == ["Near", "Mid"] and towns[0]["mmi"] == 9.0 and towns[0]["distance_km"] == 0.0
    nd = response.needs(1001.0, ex, g)
    assert nd["tents"] == 201 and nd["water_litres_per_day"] == 15015
    assert nd["usar_work_sites"] == 2 + 1            # Near at IX (two sites), Mid at VIII (one)
    assert nd["usar_heavy_teams"] == 2


def test_historical_near_bachu(shared_data, tmp_path):
    events, skipped = response.read_historical_csv(shared_data / "xinjiang" / "historical_significant_noaa.csv")
    assert len(events) + skipped == 81
    near = response.historical_near(events, 39.61, 77.23, radius_km=50)
    assert near[0]["date"] == "2003-02-24" and near[0]["deaths"] == 261 and near[0]["distance_km"] == 0.0
    assert all(h["distance_km"] <= 50 for h in near)
    bad = tmp_path / "h.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a NOAA"):
        response.read_historical_csv(bad)
