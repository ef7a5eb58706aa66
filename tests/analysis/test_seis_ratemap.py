"""Declustered background rate maps, cell areas, Frankel smoothing, GeoTIFF and figures (analysis.ratemap)."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import pytest

from tianshan.analysis import decluster as dc
from tianshan.analysis import ratemap as rm
from tianshan.analysis import stats as st
from tianshan.analysis.catalog import SeismicCatalog
from tianshan.core.errors import InputError

DAY = 86400.0
T0 = datetime(2000, 1, 1, tzinfo=timezone.utc).timestamp()
BOX = (80.0, 40.0, 84.0, 43.0)


def make_cat(t_days, lat, lon, mag) -> SeismicCatalog:
    n = len(t_days)
    return SeismicCatalog(
        time_s=T0 + np.asarray(t_days, float) * DAY, latitude_deg=np.asarray(lat, float),
        longitude_deg=np.asarray(lon, float), depth_km=np.full(n, 10.0), magnitude=np.asarray(mag, float),
        magnitude_type=np.array(["M"] * n, dtype=object), event_id=np.array([f"e{k}" for k in range(n)], dtype=object),
        line=np.arange(1, n + 1))


@pytest.fixture(scope="module")
def clustered():
    """200 background events M3-4.5 spread over 10 years in BOX, plus an M6.5 at (41.55N, 82.55E) on day 2000
    with 60 aftershocks within 10 km and 20 days."""
    rng = np.random.default_rng(11)
    n_bg = 200
    t = np.sort(rng.uniform(0, 3652.5, n_bg))
    # Background events far from the mainshock's window (L(6.5) ~ 61 km, T(6.5) ~ 885 days) in space or time.
    lat = rng.uniform(40.0, 43.0, n_bg)
    lon = rng.uniform(80.0, 84.0, n_bg)
    near = (np.hypot((lat - 41.55) * 111.0, (lon - 82.55) * 84.0) < 120.0) & (np.abs(t - 2000.0) < 1000.0)
    t, lat, lon = t[~near], lat[~near], lon[~near]
    mag = np.round(rng.uniform(3.0, 4.5, t.size), 1)
    ta = 2000.0 + rng.uniform(0.01, 20.0, 60)
    lata = 41.55 + rng.uniform(-0.05, 0.05, 60)
    lona = 82.55 + rng.uniform(-0.05, 0.05, 60)
    ma = np.round(rng.uniform(3.0, 5.0, 60), 1)
    cat = make_cat(np.r_[t, 2000.0, ta], np.r_[lat, 41.55, lata], np.r_[lon, 82.55, lona], np.r_[mag, 6.5, ma])
    return cat.sorted(), int(t.size)


def test_cell_area_on_the_sphere():
    """A 1 x 1 degree cell at the equator is R^2 (pi/180) sin(1 deg) = 12,363.7 km^2; the whole sphere
    sums to 4 pi R^2 = 510,065,881 km^2 (R = 6371.0088 km, IUGG mean radius)."""
    assert rm.cell_area_km2(0.0, 1.0, 1.0) == pytest.approx(12363.7, abs=0.1)
    edges = np.arange(-90.0, 90.0 + 0.5, 0.5)
    total = 720 * rm.cell_area_km2(edges[:-1], edges[1:], 0.5).sum()
    assert total == pytest.approx(4 * math.pi * 6371.0088 ** 2, rel=1e-12)
    assert total == pytest.approx(510_065_881, rel=1e-8)
    # Area shrinks with cos(latitude): the 60-61N cell is about half the equatorial one.
    ratio = (math.sin(math.radians(61)) - math.sin(math.radians(60))) / math.sin(math.radians(1))
    assert rm.cell_area_km2(60.0, 61.0, 1.0) / rm.cell_area_km2(0.0, 1.0, 1.0) == pytest.approx(ratio, rel=1e-12)
    assert ratio == pytest.approx(0.4925, abs=1e-4)


def test_background_rate_counts_declustered_events(clustered):
    cat, n_bg = clustered
    decl = dc.gardner_knopoff(cat)
    grid = rm.background_rate_map(cat, bbox=BOX, spacing_deg=0.5, declustered=decl, years=10.0)
    assert (grid.nx, grid.ny) == (8, 6)
    # Every aftershock is in the mainshock's cluster and removed; the mainshock stays.
    main = int(np.flatnonzero(cat.magnitude == 6.5)[0])
    seq = decl.cluster_id == decl.cluster_id[main]
    assert decl.background[main] and seq.sum() == 61
    assert grid.n_background == decl.n_background and grid.n_events == len(cat)
    assert n_bg + 1 - decl.n_background == decl.n_clustered - 60  # the rest: small clusters of background events
    # rate x area x years gives back the counts, cell by cell.
    assert np.allclose(grid.rate * grid.area_km2[:, None] * 10.0, grid.count)
    assert grid.count.sum() == decl.n_background
    ix, iy = int((82.55 - 80.0) / 0.5), int((41.55 - 40.0) / 0.5)
    incell = (np.floor((cat.longitude_deg - 80) / 0.5) == ix) & (np.floor((cat.latitude_deg - 40) / 0.5) == iy)
    assert grid.count[iy, ix] == np.sum(incell & decl.background) >= 1
    # Without declustering the mainshock's cell holds the 61 events of the sequence as well.
    raw = rm.background_rate_map(cat, bbox=BOX, spacing_deg=0.5,
                                 declustered=dc.Declustered("none", np.zeros(len(cat), np.int64),
                                                            np.zeros(len(cat), bool), np.ones(len(cat), bool), {}),
                                 years=10.0)
    assert raw.count[iy, ix] - grid.count[iy, ix] == 60
    s = grid.summary()
    assert s["background_per_year"] == pytest.approx(decl.n_background / 10.0)
    assert s["total_area_km2"] == pytest.approx(float(np.sum(rm.cell_area_km2(40.0, 43.0, 4.0))), rel=1e-12)


def test_rate_map_magnitude_threshold_and_default_years(clustered):
    cat, _ = clustered
    decl = dc.gardner_knopoff(cat)
    grid = rm.background_rate_map(cat, bbox=BOX, spacing_deg=1.0, declustered=decl, min_magnitude=4.0)
    expected = int(np.sum(decl.background & (cat.magnitude >= 4.0 - 1e-9)))
    assert grid.n_background == expected
    assert grid.years == pytest.approx(np.ptp(cat.time_s) / (365.25 * DAY))
    with pytest.raises(InputError, match="unknown declustering"):
        rm.background_rate_map(cat, bbox=BOX, method="nope")
    with pytest.raises(InputError, match="bad grid"):
        rm.background_rate_map(cat, bbox=(84.0, 40.0, 80.0, 43.0))


def test_frankel_smoothing_matches_equation_1():
    """One event in the middle of a grid: n~_i = exp(-d_i0^2/c^2) / sum_j exp(-d_ij^2/c^2) (Frankel 1995, eq. 1)."""
    lon = 80.0 + (np.arange(21) + 0.5) * 0.2
    lat = 40.0 + (np.arange(21) + 0.5) * 0.2
    count = np.zeros((21, 21))
    count[10, 10] = 1.0
    c = 30.0
    out = rm.frankel_smooth(count, lon, lat, c)
    glon, glat = np.meshgrid(lon, lat)
    d0 = st.haversine_km(lon[10], lat[10], glon, glat)
    for iy, ix in ((10, 10), (10, 12), (13, 9)):
        dij = st.haversine_km(glon[iy, ix], glat[iy, ix], glon, glat)
        w = np.where(dij <= 3 * c, np.exp(-(dij / c) ** 2), 0.0)
        assert out[iy, ix] == pytest.approx(math.exp(-(d0[iy, ix] / c) ** 2) / w.sum(), rel=1e-12)
    # Far from the edges the smoothing keeps the number of events (to the grid's discreteness).
    assert out.sum() == pytest.approx(1.0, rel=0.02)
    assert np.array_equal(rm.frankel_smooth(count, lon, lat, 0.0), count)


def test_rate_geotiff_roundtrip(tmp_path, clustered):
    rasterio = pytest.importorskip("rasterio")
    cat, _ = clustered
    grid = rm.background_rate_map(cat, bbox=BOX, spacing_deg=0.5, method="gardner-knopoff", years=10.0)
    path = grid.write_geotiff(tmp_path / "rate.tif")
    with rasterio.open(path) as src:
        band = src.read(1)
        assert src.crs.to_epsg() == 4326
        t = src.transform
        assert (t.c, t.f, t.a, t.e) == pytest.approx((80.0, 43.0, 0.5, -0.5))
        tags = src.tags()
        # The row north of the pixel with the mainshock: GeoTIFF rows run north to south.
        row, col = src.index(82.55, 41.55)
    assert tags["UNITS"] == "events/yr/km2" and tags["DECLUSTERING"] == "gardner-knopoff"
    assert np.allclose(band, grid.rate[::-1].astype(np.float32))
    assert band[row, col] == pytest.approx(grid.rate[int((41.55 - 40) / 0.5), int((82.55 - 80) / 0.5)], rel=1e-6)


def test_b_map_geotiff_nodes_are_pixel_centres(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    rng = np.random.default_rng(3)
    n = 3000
    lon, lat = rng.uniform(80, 82, n), rng.uniform(40, 42, n)
    mags = np.round(1.95 - np.log10(rng.uniform(size=n)), 1)  # G-R with b = 1 binned to 0.1 from Mc 2.0
    bm = st.b_value_map(lon, lat, mags, 2.0, bbox=(80.0, 40.0, 82.0, 42.0), spacing_deg=0.5, radius_km=60.0)
    path = rm.write_b_map_geotiff(bm, tmp_path / "b.tif")
    with rasterio.open(path) as src:
        b, s = src.read(1), src.read(2)
        x, y = src.xy(0, 0)  # centre of the north-west pixel
    assert (x, y) == pytest.approx((80.0, 42.0))
    assert np.allclose(b, bm.b[::-1], equal_nan=True) and np.allclose(s, bm.std[::-1], equal_nan=True)
    assert np.nanmean(b) == pytest.approx(1.0, abs=0.1)


def test_rate_series_counts(clustered):
    cat, n_bg = clustered
    decl = dc.gardner_knopoff(cat)
    rs = rm.rate_series(cat, decl.background, bin_days=365.25, start_s=T0, end_s=T0 + 10 * 365.25 * DAY)
    assert rs.all.size == 10 and rs.all.sum() == len(cat) and rs.declustered.sum() == decl.n_background
    year5 = int(2000.0 // 365.25)
    removed = ~decl.background
    assert rs.all[year5] - rs.declustered[year5] == np.sum(removed & (np.floor((cat.time_s - T0) / (365.25 * DAY))
                                                                       == year5)) >= 60
    with pytest.raises(InputError):
        rm.rate_series(cat, bin_days=0.0)


def test_figures_are_written(tmp_path, clustered):
    cat, _ = clustered
    decl = dc.gardner_knopoff(cat)
    grid = rm.background_rate_map(cat, bbox=BOX, spacing_deg=0.5, declustered=decl, years=10.0, smoothing_km=30.0)
    bser = {"tinti": st.b_value_series(cat.time_s, cat.magnitude, 3.0, window=50),
            "positive": st.b_value_series(cat.time_s, cat.magnitude, 3.0, window=50, method="positive")}
    rs = rm.rate_series(cat, decl.background, bin_days=365.25)
    for labels in (rm.Labels(), rm.Labels(bilingual=False)):
        paths = [rm.plot_rate_map(grid, tmp_path / f"r{labels.zh}.png", lon=cat.longitude_deg, lat=cat.latitude_deg,
                                  polygon=((40, 80), (40, 84), (43, 84), (43, 80)), labels=labels),
                 rm.plot_b_series(bser, tmp_path / f"b{labels.zh}.png", shade=(cat.time_s[-50], cat.time_s[-1]),
                                  labels=labels),
                 rm.plot_rate_series(rs, tmp_path / f"s{labels.zh}.svg", labels=labels)]
        for p in paths:
            head = p.read_bytes()[:8]
            assert head.startswith(b"\x89PNG") or head.startswith(b"<?xml")
    assert rm.Labels(bilingual=False)("中", "en") == "en"
    if rm.cjk_font() is not None:
        assert rm.Labels()("中", "en") == "中 / en"


def test_events_on_the_east_and_north_edges_are_counted():
    cat = make_cat([0, 100, 200, 300], [43.0, 40.0, 41.2, 43.0], [81.0, 84.0, 82.2, 84.0], [3.0, 3.0, 3.0, 3.0])
    grid = rm.background_rate_map(cat, bbox=BOX, spacing_deg=1.0, method="uhrhammer", years=1.0)
    assert grid.count.sum() == 4 and grid.count[2, 3] == 1 and grid.count[0, 3] == 1 and grid.count[2, 1] == 1


def test_cli_ratemap_and_b_figures(tmp_path, clustered, capsys):
    import json

    from tianshan.analysis.catalog import posix_to_datetime
    from tianshan.cli.main import main

    cat, _ = clustered
    rows = ["time,latitude,longitude,depth,mag"]
    rows += [f"{posix_to_datetime(t).isoformat()},{la:.4f},{lo:.4f},10,{m:.1f}"
             for t, la, lo, m in zip(cat.time_s, cat.latitude_deg, cat.longitude_deg, cat.magnitude)]
    path = tmp_path / "cat.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "rm"
    rc = main(["seismicity", "ratemap", "--catalog", str(path), "--bbox", "80,40,84,43", "--out", str(out),
               "--spacing", "0.5", "--rate-min-magnitude", "3.0", "--json"])
    doc = json.loads(capsys.readouterr().out)
    decl = dc.gardner_knopoff(cat)
    assert rc == 0 and doc["n_background"] == decl.n_background and (doc["nx"], doc["ny"]) == (8, 6)
    assert all((out / f).is_file() for f in ("rate.tif", "rate.png", "rate.json"))
    rc = main(["seismicity", "stats", "--catalog", str(path), "--mc", "3.0", "--bootstrap", "0", "--series", "40",
               "--series-plot", str(tmp_path / "bs.png"), "--map-spacing", "1", "--map-radius", "150",
               "--map-out", str(tmp_path / "bm.tif"), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and (tmp_path / "bs.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "bm.tif").is_file()
    rc = main(["seismicity", "stats", "--catalog", str(path), "--series-plot", str(tmp_path / "x.png")])
    assert rc == 2 and "--series-plot" in capsys.readouterr().err
