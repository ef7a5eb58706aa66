"""Exposure: census + polygons distributed by towns or a raster; population per MMI; bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.products.loss.exposure import (build_exposure, expose, exposure_from_places, join_counties,
                                             load_exposure, read_census_csv, read_county_polygons)
from tianshan.products.loss.population_raster import (PopulationRaster, read_population_geotiff,
                                                      write_population_geotiff)
from tianshan.products.loss.shaking import ShakingGrid
from tianshan.regions.model import Place

CENSUS_HEADER = "adcode_map,name_census,prefecture,pop2020_census,lon_rep,lat_rep,area_km2,urban_share\n"


def _square(w: float, s: float, size: float = 1.0) -> dict:
    return {"type": "Polygon", "coordinates": [[[w, s], [w + size, s], [w + size, s + size], [w, s + size], [w, s]]]}


def _region(folder: Path, census_rows: str, features: list[dict] | None = None, towns: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "counties_census2020.csv").write_text(CENSUS_HEADER + census_rows, encoding="utf-8")
    if features is None:
        features = [{"type": "Feature", "properties": {"adcode": "650001", "name": "甲县"}, "geometry": _square(80, 40)},
                    {"type": "Feature", "properties": {"adcode": "650002", "name": "乙县"}, "geometry": _square(81, 40)}]
    (folder / "counties_wgs84.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                                                  encoding="utf-8")
    if towns is not None:
        (folder / "cities_places.csv").write_text("name,latitude,longitude,population\n" + towns, encoding="utf-8")
    return folder


GOOD_CENSUS = ("650001,甲县,P,100000,80.5,40.5,9000,0.4\n"
               "650002,乙县,P,50000,81.5,40.5,9000,0.2\n")
TOWNS = "Alpha,40.2,80.2,30000\nBeta,40.8,80.8,10000\nGamma,40.6,81.3,\n"


def test_towns_allocation_keeps_census_totals_and_urban_share(tmp_path):
    ex = load_exposure(_region(tmp_path / "r", GOOD_CENSUS, towns=TOWNS))
    assert ex.method == "towns"
    assert ex.total_population == pytest.approx(150000)
    per_unit = np.bincount(ex.unit_index, weights=ex.population)
    codes = [u.code for u in ex.units]
    assert per_unit[codes.index("650001")] == pytest.approx(100000)
    assert per_unit[codes.index("650002")] == pytest.approx(50000)
    # county 甲: urban 40 % = 40000 to Alpha/Beta by 30000:10000, on top of nothing else at those points
    at = {(round(a, 3), round(b, 3)): p for a, b, p in zip(ex.latitudes_deg, ex.longitudes_deg, ex.population)}
    assert at[(40.2, 80.2)] == pytest.approx(30000.0)
    assert at[(40.8, 80.8)] == pytest.approx(10000.0)
    # rural people sit on the grid inside the polygon (allocation.py; test_loss_exposure_allocation.py)
    a = ex.unit_index == codes.index("650001")
    assert np.all((ex.longitudes_deg[a] >= 80) & (ex.longitudes_deg[a] <= 81))
    assert ex.population.size > 10


def test_missing_county_codes_are_input_errors(tmp_path):
    bad = _region(tmp_path / "a", GOOD_CENSUS + "650099,丙县,P,1000,82.5,40.5,9000,0.2\n")
    with pytest.raises(InputError, match=r"missing county codes: 1 census row.*650099"):
        load_exposure(bad)
    blank = _region(tmp_path / "b", GOOD_CENSUS + ",丙县,P,1000,82.5,40.5,9000,0.2\n")
    with pytest.raises(InputError, match=r"counties_census2020.csv:4: adcode_map: missing county code"):
        load_exposure(blank)
    nocol = tmp_path / "c.csv"
    nocol.write_text("name,pop2020_census\nA,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="missing county codes: no county-code column"):
        read_census_csv(nocol)
    feats = [{"type": "Feature", "properties": {"name": "x"}, "geometry": _square(80, 40)}]
    with pytest.raises(InputError, match=r"feature 0: missing county code"):
        load_exposure(_region(tmp_path / "d", GOOD_CENSUS, feats))


def test_zero_population_polygons_are_reported_or_refused(tmp_path):
    ex = load_exposure(_region(tmp_path / "a", "650001,甲县,P,100000,80.5,40.5,9000,0.4\n"
                                               "650002,乙县,P,0,81.5,40.5,9000,0.2\n"))
    assert any("zero population: 650002" in w for w in ex.warnings)
    ex2 = load_exposure(_region(tmp_path / "b", "650001,甲县,P,100000,80.5,40.5,9000,0.4\n"))
    assert any("have no census row and get population 0: 650002" in w for w in ex2.warnings)
    with pytest.raises(InputError, match="zero population in every county"):
        load_exposure(_region(tmp_path / "c", "650001,甲县,P,0,80.5,40.5,9000,0.4\n"
                                              "650002,乙县,P,0,81.5,40.5,9000,0.2\n"))
    flat = [{"type": "Feature", "properties": {"adcode": "650001"},
             "geometry": {"type": "Polygon", "coordinates": [[[80, 40], [81, 40], [80, 40]]]}}]
    path = tmp_path / "flat.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": flat}), encoding="utf-8")
    with pytest.raises(InputError, match="zero-area polygon"):
        read_county_polygons(path)


def test_geotiff_round_trip_and_raster_allocation(tmp_path):
    vals = np.zeros((20, 40))
    vals[2:5, 3:6] = 10.0          # people in county 甲 (80..81 E), north-west corner
    vals[10, 30] = 5.0             # and one pixel in 乙 (81..82 E)
    r = PopulationRaster(80.0, 41.0, 0.05, 0.05, vals)
    tif = write_population_geotiff(r, tmp_path / "r" / "population.tif")
    back = read_population_geotiff(tif)
    assert (back.west_deg, back.north_deg, back.dlon_deg, back.dlat_deg) == pytest.approx((80, 41, 0.05, 0.05))
    assert np.allclose(back.values, vals)
    ex = load_exposure(_region(tmp_path / "r", GOOD_CENSUS, towns=TOWNS))
    assert ex.method == "raster"
    assert ex.total_population == pytest.approx(150000)
    b = ex.unit_index == [u.code for u in ex.units].index("650002")
    assert b.sum() == 1 and ex.population[b][0] == pytest.approx(50000)
    assert ex.latitudes_deg[b][0] == pytest.approx(41.0 - 10.5 * 0.05)
    a = ~b
    assert np.allclose(ex.population[a], 100000 / 9)     # nine equal pixels share 甲's census


def test_projected_raster_is_refused(tmp_path):
    from PIL import Image, TiffImagePlugin

    ifd = TiffImagePlugin.ImageFileDirectory_v2()
    ifd[33550] = (100.0, 100.0, 0.0)
    ifd.tagtype[33550] = 12
    ifd[33922] = (0.0, 0.0, 0.0, 500000.0, 4400000.0, 0.0)
    ifd.tagtype[33922] = 12
    ifd[34735] = (1, 1, 0, 1, 1024, 0, 1, 1)     # GTModelTypeGeoKey = 1 (projected)
    ifd.tagtype[34735] = 3
    path = tmp_path / "utm.tif"
    Image.fromarray(np.ones((3, 3), dtype=np.float32), mode="F").save(path, tiffinfo=ifd)
    with pytest.raises(InputError, match="reproject"):
        read_population_geotiff(path)
    (tmp_path / "junk.tif").write_bytes(b"not a tiff")
    with pytest.raises(InputError, match="cannot read"):
        read_population_geotiff(tmp_path / "junk.tif")


def test_expose_bins_population_by_mean_mmi(tmp_path):
    ex = exposure_from_places([Place("A", 40.0, 79.9, 1000, "city"), Place("B", 40.0, 80.5, 500, "city"),
                               Place("C", 45.0, 80.0, 7, "city")])
    lats, lons = np.array([40.2, 39.8]), np.array([79.8, 80.2, 80.6])
    mmi = np.array([[7.4, 7.6, 8.6], [7.4, 7.6, 8.6]])
    r = expose(ex, ShakingGrid(lats, lons, mmi, 0.8))
    assert r.point_mmi[0] == pytest.approx(7.45) and r.point_mmi[1] == pytest.approx(8.35)
    assert r.as_dict() == {"I": 0, "II": 0, "III": 0, "IV": 0, "V": 0, "VI": 0, "VII": 1000, "VIII": 500,
                           "IX": 0, "X": 0}
    assert r.unexposed == pytest.approx(7)          # C is outside the grid
    assert r.population_at_least(8) == pytest.approx(sum(r.by_mmi[7:]))
    far = ShakingGrid(np.array([10.0, 11.0]), np.array([10.0, 11.0]), np.full((2, 2), 8.0))
    with pytest.raises(InputError, match="outside the exposure area"):
        expose(ex, far)


def test_join_without_polygons_uses_representative_points():
    rows = [{"code": "1", "name": "a", "prefecture": "", "population": 10, "lon": 80.0, "lat": 40.0,
             "area_km2": 5.0, "urban_share": None, "line": 2}]
    units, warnings = join_counties(rows, None)
    ex = build_exposure(units)
    assert ex.total_population == 10 and units[0].density_per_km2 == 2.0
    assert any("no county polygons" in w for w in ex.warnings)


def test_real_xinjiang_exposure(shared_data):
    ex = load_exposure(shared_data / "xinjiang")
    assert len(ex.units) == 108
    assert round(ex.total_population) == 25_852_345          # the official 2020 census total
    assert any("新星市" in w and "白杨市" in w for w in ex.warnings)
    jiashi = next(u for u in ex.units if u.code == "653129")
    assert jiashi.name == "伽师县" and jiashi.density_per_km2 == pytest.approx(424821 / jiashi.area_km2)
    assert ex.unit_of(39.61, 77.23).code == "653129"
