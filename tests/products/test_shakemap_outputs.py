"""Intensity-map outputs: grids (GeoTIFF, NetCDF), contours, station GeoJSON, grid.xml, summary, map, versions.

A synthetic M 6.2 near Luntai (the demo region) with a handful of CSV station records, some of
them bad, on a small grid; everything is read back with independent readers (rasterio,
netCDF4, shapely, ElementTree through :func:`read_grid_xml`)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.groundmotion.conditioning.grid import GridSpec
from tianshan.groundmotion.intensity import gbt17742
from tianshan.products.shakemap import contours, grids, gridxml
from tianshan.products.shakemap.build import MapEvent, MapSettings, auto_grid, build_map, radius_km
from tianshan.products.shakemap.inputs import read_station_csv
from tianshan.products.shakemap.updates import MapBasis, MapVersioner, VersionRules

LAT, LON = 41.80, 84.30
G = 9.80665

CSV = """network,station,lat,lon,pga_pctg,pgv_cm_s,psa1.0_pctg,mmi
XJ,A01,41.85,84.35,35.0,30.0,20.0,
XJ,A02,41.60,84.10,12.0,9.0,6.0,
XJ,A03,42.10,84.70,6.0,4.0,2.5,
XJ,A04,41.50,84.80,4.0,3.0,1.5,
XJ,A05,42.20,83.90,3.0,2.0,1.2,
XJ,A02,41.61,84.11,11.0,8.0,5.0,
XJ,BAD1,41.70,84.50,9000.0,5.0,3.0,
XJ,BAD2,41.90,84.00,abc,5.0,,
DYFI,M01,41.95,84.45,,,,6.5
"""


@pytest.fixture(scope="module")
def demo_region():
    from tianshan.products.loss.scenario import load_context

    return load_context("demo")


@pytest.fixture(scope="module")
def built(tmp_path_factory, demo_region):
    folder = tmp_path_factory.mktemp("map")
    csv_path = folder.parent / "stations.csv"
    csv_path.write_text(CSV)
    records = read_station_csv(csv_path)
    event = MapEvent("ev1", LAT, LON, 12_000.0, 6.2, time="2026-01-02T03:04:05Z")
    spec = GridSpec.around(LAT, LON, 400.0, 300.0, spacing_deg=3.0 / 60.0)       # Korla is 150 km away
    return build_map(event, records, folder, settings=MapSettings(grid=spec), version=2, region=demo_region,
                     leave_one_out=True)


def test_every_output_written_with_products(built):
    names = {"intensity_cn.tif", "mmi.tif", "pga.tif", "pgv.tif", "psa0p3.tif", "psa1p0.tif", "psa3p0.tif",
             "intensity_map.nc", "contours_cn.geojson", "contours_mmi.geojson", "stations.geojson", "grid.xml",
             "summary.json", "map.png", "map.svg"}
    assert set(built.files) == names
    assert len(built.products) == len(names)
    import hashlib

    for p in built.products:
        path = built.folder / p.properties["name"]
        assert p.kind == "intensity_map" and p.version == 2 and p.event_id == "ev1"
        assert p.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert p.properties["bytes"] == path.stat().st_size > 0
    assert (built.folder / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (built.folder / "map.svg").read_bytes()[:2000]
    assert not list(built.folder.glob(".*.part"))          # atomic writes leave no temporaries


def test_geotiff_round_trip(built):
    spec = built.grids.spec
    for imt in ("pga", "pgv", "mmi", "cn"):
        name = "intensity_cn.tif" if imt == "cn" else f"{imt}.tif"
        b1, b2, tags, (west, north, dlon, dlat) = grids.read_geotiff(built.folder / name)
        lay = built.grids.layers[imt]
        assert b1.shape == (spec.ny, spec.nx)
        assert (west, north, dlon, dlat) == pytest.approx((spec.west_deg, spec.north_deg, spec.dlon_deg, spec.dlat_deg))
        expect = lay.mean if imt in ("mmi", "cn") else np.exp(lay.mean.astype(np.float64))
        np.testing.assert_allclose(b1, expect, rtol=1e-6)
        np.testing.assert_array_equal(b2, lay.sd)
        assert tags["IMT"] == imt and tags["EVENT_ID"] == "ev1"
    # the PGA band is m/s^2: at the grid cell of the station A01 it is near its record (0.35 g)
    b1, *_ = grids.read_geotiff(built.folder / "pga.tif")
    v = grids.sample(spec, b1, 41.85, 84.35)
    assert 0.2 * G < float(v) < 0.5 * G


def test_netcdf_round_trip(built):
    import netCDF4

    with netCDF4.Dataset(built.folder / "intensity_map.nc") as ds:
        assert ds.Conventions == "CF-1.8" and ds.event_id == "ev1"
        lat = ds["lat"][:]
        assert lat[0] > lat[-1]                                   # north-up like the grid
        np.testing.assert_allclose(ds["lon"][:], built.grids.spec.longitudes())
        for imt, lay in built.grids.layers.items():
            name = grids.netcdf_name(imt)
            np.testing.assert_array_equal(ds[f"{name}_mean"][:], lay.mean)
            np.testing.assert_array_equal(ds[f"{name}_sd"][:], lay.sd)
        assert ds["pga_mean"].units == "ln(m s-2)" and ds["cn_sd"].units == "intensity"


def test_grid_xml_layout(built):
    gx = gridxml.read_grid_xml(built.folder / "grid.xml")
    names = [n for n, _ in gx.fields]
    assert names == ["LON", "LAT", "MMI", "PGA", "PGV", "PSA03", "PSA10", "PSA30", "STDMMI", "STDPGA", "STDPGV",
                     "STDPSA03", "STDPSA10", "STDPSA30", "SVEL"]
    assert dict(gx.fields)["PGA"] == "pctg" and dict(gx.fields)["PGV"] == "cms"
    assert gx.attributes["shakemap_version"] == "2" and gx.attributes["event_id"] == "ev1"
    assert gx.event["event_timestamp"] == "2026-01-02T03:04:05Z" and float(gx.event["depth"]) == 12.0
    spec = built.grids.spec
    assert int(gx.specification["nlon"]) == spec.nx and int(gx.specification["nlat"]) == spec.ny
    assert gx.data["LAT"][0, 0] > gx.data["LAT"][-1, 0] and gx.data["LON"][0, 0] < gx.data["LON"][0, -1]
    assert float(gx.specification["lat_max"]) == pytest.approx(gx.data["LAT"][0, 0], abs=1e-4)
    pga = np.exp(built.grids.layers["pga"].mean.astype(np.float64)) * 100 / G
    np.testing.assert_allclose(gx.data["PGA"], pga, rtol=1e-3)
    np.testing.assert_allclose(gx.data["PGV"], np.exp(built.grids.layers["pgv"].mean.astype(np.float64)) * 100,
                               rtol=1e-3)
    np.testing.assert_allclose(gx.data["MMI"], built.grids.layers["mmi"].mean, atol=0.006)
    np.testing.assert_allclose(gx.data["STDPGA"], built.grids.layers["pga"].sd, atol=6e-4)


def test_station_geojson_flags_bad_records(built):
    doc = json.loads((built.folder / "stations.geojson").read_text())
    feats = {}
    for f in doc["features"]:
        feats.setdefault(f["properties"]["station_id"], []).append(f["properties"])
    assert len(doc["features"]) == 9                               # nothing dropped
    dup = feats["XJ.A02"][1]
    assert "duplicate" in dup["flags"] and dup["used"] == []
    bad1 = feats["XJ.BAD1"][0]
    assert "pga:absurd_amplitude" in bad1["flags"] and "pga" not in bad1["used"] and "pga_m_s2" not in bad1["observed"]
    bad2 = feats["XJ.BAD2"][0]
    assert "pga:not_a_number" in bad2["flags"]
    a01 = feats["XJ.A01"][0]
    assert a01["observed"]["pga_m_s2"] == pytest.approx(0.35 * G, rel=1e-4)
    assert a01["intensity_cn"] == float(gbt17742.instrumental_intensity(0.35 * G, 0.30))
    assert set(a01["used"]) >= {"pga", "pgv", "mmi"} and a01["predicted"]["pga_m_s2"] > 0
    assert a01["residual_ln"]["pga"] == pytest.approx(math.log(a01["observed"]["pga_m_s2"]
                                                               / a01["predicted"]["pga_m_s2"]), abs=1e-3)
    m01 = feats["DYFI.M01"][0]
    assert m01["kind"] == "macroseismic" and m01["observed"]["mmi"] == 6.5 and "mmi" in m01["used"]


def test_chinese_intensity_layer_matches_the_standard():
    rng = np.random.default_rng(1)
    ln_a = rng.uniform(np.log(0.01), np.log(20), (30, 40))
    ln_v = ln_a + rng.uniform(-3.5, -1.5, ln_a.shape)
    sd_a, sd_v = np.full(ln_a.shape, 0.6), np.full(ln_a.shape, 0.5)
    lay = grids.chinese_intensity_layer(grids.MapLayer("pga", ln_a, sd_a), grids.MapLayer("pgv", ln_v, sd_v))
    ref = gbt17742.instrumental_intensity(np.exp(ln_a), np.exp(ln_v), rounded=False)
    np.testing.assert_allclose(lay.mean, ref, atol=1e-5)
    both = (gbt17742.intensity_from_pga(np.exp(ln_a)) >= 6) & (gbt17742.intensity_from_pgv(np.exp(ln_v)) >= 6)
    np.testing.assert_allclose(lay.sd[both], 3.00 / math.log(10) * 0.5, rtol=1e-6)
    np.testing.assert_allclose(lay.sd[~both], (3.17 * 0.6 + 3.00 * 0.5) / (2 * math.log(10)), rtol=1e-6)
    # the sd is the derivative: a +1 sd shift of ln PGV (fully correlated with PGA) moves I by sd
    up = grids.chinese_intensity_layer(grids.MapLayer("pga", ln_a + 0.6e-3, sd_a),
                                       grids.MapLayer("pgv", ln_v + 0.5e-3, sd_v))
    inner = (np.abs(lay.mean - 6.0) > 0.1) & (lay.mean > 1.1) & (lay.mean < 11.9)
    np.testing.assert_allclose((up.mean - lay.mean)[inner] / 1e-3, lay.sd[inner], rtol=0.05, atol=3e-3)


def _cone(spec, top=9.3, per_km=0.04):
    from tianshan.groundmotion.prediction.distances import project

    la, lo = np.meshgrid(spec.latitudes(), spec.longitudes(), indexing="ij")
    x, y = project(LAT, LON, la, lo)
    return (top - per_km * np.hypot(x, y)).astype(np.float32)


def test_contours_tile_the_map_by_degree():
    import shapely
    from shapely.geometry import shape

    spec = GridSpec.around(LAT, LON, 300.0, spacing_deg=1.0 / 60.0)
    v = _cone(spec)
    doc = contours.contours_geojson(spec, v, "cn", min_degree=3)
    degs = [f["properties"]["degree"] for f in doc["features"]]
    assert degs == list(range(3, 10))
    polys = {f["properties"]["degree"]: shape(f["geometry"]) for f in doc["features"]}
    assert all(p.is_valid for p in polys.values())
    f9 = doc["features"][-1]["properties"]
    assert f9["roman"] == "IX" and f9["label_zh"] == "IX度" and f9["scale"] == "GB/T 17742-2020"
    assert f9["intensity_min"] == 8.5 and f9["intensity_max"] == 9.5
    # cell centres well inside a band lie in that degree's polygon, and in no other
    la, lo = np.meshgrid(spec.latitudes(), spec.longitudes(), indexing="ij")
    for n in (4, 6, 8):
        frac = np.abs(v - n) < 0.4
        pts = shapely.points(lo[frac], la[frac])
        assert shapely.contains(polys[n], pts).mean() > 0.995
        assert not shapely.contains(polys[n + 1], pts).any()
    # area of the VIII band: an annulus 20..45 km (cone 9.3 - 0.04 r; 8.5 at r = 20, 7.5 at r = 45)
    a8 = doc["features"][degs.index(8)]["properties"]["area_km2"]
    assert a8 == pytest.approx(math.pi * (45 ** 2 - 20 ** 2), rel=0.03)
    # exterior rings counter-clockwise (RFC 7946)
    ring = np.array(doc["features"][degs.index(6)]["geometry"]["coordinates"][0][0])
    assert 0.5 * np.sum(ring[:-1, 0] * ring[1:, 1] - ring[1:, 0] * ring[:-1, 1]) > 0


def test_summary_area_and_population(built, demo_region):
    s = built.summary
    cn = built.grids.layers["cn"].mean
    assert s["max_intensity_cn"]["value"] == pytest.approx(float(cn.max()), abs=0.006)
    assert s["max_intensity_cn"]["roman"] == gbt17742.roman(gbt17742.degree(float(cn.max())))
    rows = {r["degree"]: r for r in s["degrees"]}
    low = min(rows)
    cells = grids.cell_areas_km2(built.grids.spec)[:, None] * np.ones((1, built.grids.spec.nx))
    assert rows[low]["area_km2_at_least"] == pytest.approx(float(cells[cn >= low - 0.5].sum()), abs=0.06)
    assert rows[6]["area_km2_at_least"] == pytest.approx(float(cells[cn >= 5.5].sum()), abs=0.06)
    assert sum(r["area_km2"] for r in s["degrees"]) == pytest.approx(rows[low]["area_km2_at_least"], rel=1e-4)
    # population: the demo towns inside the grid, binned by the degree of their cell
    exp = demo_region.exposure
    at = grids.sample(built.grids.spec, cn, exp.latitudes_deg, exp.longitudes_deg)
    ok = np.isfinite(at)
    d = np.clip(np.floor(at[ok] + 0.5), 1, 12)
    for n, r in rows.items():
        assert r["population"] == pytest.approx(float(exp.population[ok][d == n].sum()), abs=1)
    assert sum(r["population"] for r in s["degrees"]) > 0                  # Luntai and Korla-area towns
    assert s["population_outside_map"] > 1e6                               # the rest of Xinjiang
    assert "最高烈度" in s["text_zh"] and "maximum intensity" in s["text_en"]
    assert s["stations"]["total"] == 9 and s["stations"]["flagged"] >= 3
    on_disk = json.loads((built.folder / "summary.json").read_text())
    assert on_disk["degrees"] == s["degrees"] and on_disk["loo"]["conditioned"]["n"] >= 6


def test_auto_grid_size_and_limits():
    ev = MapEvent("e", LAT, LON, 10_000.0, 6.0)
    spec = auto_grid(ev, max_cells=50_000)
    assert spec.size <= 50_000 and spec.dlat_deg * 3600 % 30 == pytest.approx(0, abs=1e-6)
    width = spec.nx * spec.dlon_deg * 111.2 * math.cos(math.radians(LAT))
    assert width == pytest.approx(2 * radius_km(6.0), rel=0.05)
    assert radius_km(4.0) == 50.0 and radius_km(8.5) == 500.0
    with pytest.raises(InputError):
        MapEvent("e", 95.0, LON, 10_000.0, 6.0)
    with pytest.raises(InputError):
        MapEvent("e", LAT, LON, -5.0, 6.0)


def test_station_csv_units(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("station,lat,lon,pga_gal,pgv_m_s\nS1,41,84,100,0.05\n")
    (rec,) = read_station_csv(p)
    amps = {a.imt: a.value_si for a in rec.components[0].amplitudes}
    assert amps == {"pga": pytest.approx(1.0), "pgv": pytest.approx(0.05)}
    p.write_text("station,lat,lon,pga_furlongs\nS1,41,84,100\n")
    with pytest.raises(InputError, match="unknown units"):
        read_station_csv(p)
    p.write_text("station,lat,lon,pgv_m_s2\nS1,41,84,1\n")
    with pytest.raises(InputError, match="unknown units"):
        read_station_csv(p)


def test_map_versioner_rules():
    v = MapVersioner(VersionRules(origin_shift_km=5.0, magnitude_change=0.2, new_records=5))
    base = MapBasis(LAT, LON, 10_000.0, 6.0, frozenset())
    d = v.decide(base)
    assert d.due and d.version == 1 and d.reasons == ("first version",)
    assert v.published(base) == 1
    km = 1.0 / 111.195                                                     # degrees of latitude per km
    assert not v.decide(MapBasis(LAT + 4.0 * km, LON, 10_000.0, 6.1)).due  # 4 km, 0.1 magnitude units
    d = v.decide(MapBasis(LAT + 6.0 * km, LON, 10_000.0, 6.0))
    assert d.due and d.version == 2 and "origin moved 6.0 km" in d.reasons[0]
    assert v.decide(MapBasis(LAT, LON, 16_000.0, 6.0)).due                 # 6 km deeper
    assert v.decide(MapBasis(LAT, LON, 10_000.0, 6.2)).due                 # magnitude +0.2
    assert v.decide(MapBasis(LAT, LON, 10_000.0, 5.8)).due
    four = frozenset(f"XJ.S{i}" for i in range(4))
    assert not v.decide(MapBasis(LAT, LON, 10_000.0, 6.0, four)).due
    v.published(MapBasis(LAT, LON, 10_000.0, 6.0, four))
    assert v.version == 2
    # revised records of stations already used do not count; five new ones do
    assert not v.decide(MapBasis(LAT, LON, 10_000.0, 6.0, four | {"xj.s0"})).due
    five = four | frozenset(f"XJ.N{i}" for i in range(5))
    d = v.decide(MapBasis(LAT, LON, 10_000.0, 6.0, five))
    assert d.due and d.version == 3 and d.reasons == ("5 new station records (>= 5)",)
    assert v.offer(LAT, LON, 10_000.0, 6.0, five).due and v.version == 3
    assert not v.offer(LAT, LON, 10_000.0, 6.0, five).due and v.version == 3
    with pytest.raises(InputError):
        VersionRules(origin_shift_km=0.0)
