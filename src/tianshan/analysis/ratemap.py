"""Declustered background rate maps, b-value maps and series as files: grids, GeoTIFF and PNG figures.

Background rate map (:func:`background_rate_map`)
    The catalogue is declustered (:mod:`tianshan.analysis.decluster`; Gardner-Knopoff windows by
    default) and the **background** events (events in no cluster plus the largest event of each
    cluster) at or above ``min_magnitude`` are counted in the cells of a regular longitude/latitude
    grid. The rate density of a cell is

        rate = n / (T A)          events per year per km^2

    with ``T`` the catalogue duration in years (365.25-day years) and ``A`` the area of the cell on
    a sphere of radius R = 6371.0088 km (the IUGG mean radius), exact for a latitude/longitude
    quadrangle (the Lambert cylindrical equal-area projection ``y = R sin(phi)``; Snyder 1987, Map
    Projections -- A Working Manual, USGS Prof. Paper 1395, eqs. 10-1 and 10-2):

        A = R^2 (lambda_2 - lambda_1) (sin(phi_2) - sin(phi_1)).

    Optionally the counts are smoothed with the Gaussian kernel of Frankel (1995, Seismol. Res.
    Lett. 66(4) 8-21, eq. 1): ``n~_i = sum_j n_j exp(-d_ij^2 / c^2) / sum_j exp(-d_ij^2 / c^2)``,
    ``d_ij`` the great-circle distance between the cell centres and ``c`` the correlation distance
    (``smoothing_km``; Frankel used 50-75 km), the sums running over the cells of the grid
    within 3c; the smoothed counts are then divided by ``T A``.

GeoTIFF (:func:`write_geotiff`, rasterio)
    float32, EPSG:4326, north-up, one pixel per cell (rate map) or per grid node (b-value map,
    whose nodes are pixel centres), NaN for no data, units and parameters in the tags.

Figures (PNG/SVG by extension, written atomically, matplotlib without a display)
    :func:`plot_rate_map` (log10 of the rate, epicentres and the region outline),
    :func:`plot_b_map` (b-value map of :func:`tianshan.analysis.stats.b_value_map`),
    :func:`plot_b_series` (b-value time series of :func:`tianshan.analysis.stats.b_value_series`,
    one curve per estimator with its Shi-Bolt band), :func:`plot_rate_series` (events per month,
    all and declustered, and their cumulative numbers; :func:`rate_series`). Labels are bilingual
    (中文 / English) when a CJK font is installed (:func:`cjk_font`, preferring Noto Sans CJK SC
    of Debian's fonts-noto-cjk), else English only with a warning in the log.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tianshan.analysis.catalog import SeismicCatalog
from tianshan.analysis.stats import EARTH_RADIUS_KM, BMap, BSeries, haversine_km
from tianshan.core.errors import InputError

log = logging.getLogger(__name__)

YEAR_S = 365.25 * 86400.0
#: Preferred CJK families, in order (Debian fonts-noto-cjk, then common others).
_CJK_PREFERRED = ("Noto Sans CJK SC", "Noto Serif CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
                  "WenQuanYi Micro Hei", "SimHei", "Noto Sans CJK TC", "Noto Sans CJK JP")


# ------------------------------------------------------------------------------------- grid

def cell_area_km2(south_deg, north_deg, dlon_deg) -> np.ndarray:
    """Area (km^2) of latitude/longitude quadrangles on the sphere (module docstring; Snyder 1987)."""
    s, n = np.radians(np.asarray(south_deg, float)), np.radians(np.asarray(north_deg, float))
    return EARTH_RADIUS_KM ** 2 * np.radians(np.asarray(dlon_deg, float)) * np.abs(np.sin(n) - np.sin(s))


@dataclass(frozen=True)
class RateGrid:
    """Background rate on a grid. Cell (iy, ix) spans ``[west + ix step, west + (ix+1) step)`` x
    ``[south + iy step, south + (iy+1) step)`` (row 0 is the southernmost; the last column/row also holds
    the events on the grid's east/north edge). ``count`` (ny, nx):
    background events per cell (smoothed when ``smoothing_km`` > 0); ``area_km2`` (ny,) per row;
    ``years`` the duration; ``min_magnitude`` the magnitude threshold; ``n_events`` and
    ``n_background`` the totals in the grid before/after declustering."""

    west_deg: float
    south_deg: float
    step_deg: float
    nx: int
    ny: int
    count: np.ndarray
    area_km2: np.ndarray
    years: float
    min_magnitude: float
    method: str
    smoothing_km: float
    n_events: int
    n_background: int

    @property
    def east_deg(self) -> float:
        return self.west_deg + self.nx * self.step_deg

    @property
    def north_deg(self) -> float:
        return self.south_deg + self.ny * self.step_deg

    @property
    def rate(self) -> np.ndarray:
        """Events per year per km^2, shape (ny, nx)."""
        return self.count / (self.years * self.area_km2[:, None])

    @property
    def rate_per_year(self) -> np.ndarray:
        """Events per year per cell, shape (ny, nx)."""
        return self.count / self.years

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell-centre longitudes (nx) and latitudes (ny)."""
        return (self.west_deg + (np.arange(self.nx) + 0.5) * self.step_deg,
                self.south_deg + (np.arange(self.ny) + 0.5) * self.step_deg)

    def summary(self) -> dict:
        r = self.rate
        k = np.unravel_index(int(np.argmax(r)), r.shape)
        lon, lat = self.centres()
        return {"bbox": [self.west_deg, self.south_deg, self.east_deg, self.north_deg], "step_deg": self.step_deg,
                "nx": self.nx, "ny": self.ny, "years": self.years, "min_magnitude": self.min_magnitude,
                "declustering": self.method, "smoothing_km": self.smoothing_km, "n_events": self.n_events,
                "n_background": self.n_background, "background_per_year": self.n_background / self.years,
                "total_area_km2": float(self.area_km2.sum() * self.nx),
                "mean_rate_per_year_km2": float(self.n_background / self.years / (self.area_km2.sum() * self.nx)),
                "max_rate_per_year_km2": float(r[k]), "max_cell_lon_deg": float(lon[k[1]]),
                "max_cell_lat_deg": float(lat[k[0]]), "cells_with_events": int(np.sum(self.count > 0))}

    def write_geotiff(self, path: str | os.PathLike) -> Path:
        """The rate density (events/yr/km^2) as a one-band GeoTIFF (module docstring)."""
        return write_geotiff(path, self.rate[::-1], west_deg=self.west_deg, north_deg=self.north_deg,
                             dlon_deg=self.step_deg, dlat_deg=self.step_deg,
                             descriptions=("background rate (events/yr/km2)",),
                             tags={"UNITS": "events/yr/km2", "YEARS": f"{self.years:.6g}",
                                   "MIN_MAGNITUDE": f"{self.min_magnitude:g}", "DECLUSTERING": self.method,
                                   "SMOOTHING_KM": f"{self.smoothing_km:g}", "N_BACKGROUND": str(self.n_background)})


def _grid_shape(bbox, step_deg: float) -> tuple[float, float, int, int]:
    west, south, east, north = (float(v) for v in bbox)
    if not (step_deg > 0 and east > west and north > south):
        raise InputError(f"bad grid: box {tuple(bbox)}, step {step_deg} (need west < east, south < north, step > 0)",
                         field="grid")
    nx = max(1, int(math.ceil((east - west) / step_deg - 1e-9)))
    ny = max(1, int(math.ceil((north - south) / step_deg - 1e-9)))
    return west, south, nx, ny


def frankel_smooth(count: np.ndarray, lon_c: np.ndarray, lat_c: np.ndarray, c_km: float) -> np.ndarray:
    """Gaussian smoothing of gridded counts (Frankel 1995, eq. 1; module docstring)."""
    if c_km <= 0:
        return count.astype(float)
    glon, glat = np.meshgrid(lon_c, lat_c)
    flon, flat, n = glon.ravel(), glat.ravel(), count.ravel().astype(float)
    out = np.zeros_like(n)
    src = np.flatnonzero(n > 0)
    for i in range(n.size):
        d = haversine_km(flon[i], flat[i], flon, flat)
        w = np.exp(-(d / c_km) ** 2)
        w[d > 3.0 * c_km] = 0.0
        out[i] = float(np.sum(w[src] * n[src]) / np.sum(w))
    return out.reshape(count.shape)


def background_rate_map(cat: SeismicCatalog, *, bbox: tuple[float, float, float, float], spacing_deg: float = 0.5,
                        declustered=None, method: str = "gardner-knopoff", min_magnitude: float | None = None,
                        years: float | None = None, smoothing_km: float = 0.0) -> RateGrid:
    """Declustered background rate map (module docstring).

    ``declustered``: a :class:`~tianshan.analysis.decluster.Declustered` of ``cat`` (default: decluster
    ``cat`` with ``method``, a window variant, ``"reasenberg"`` or ``"zaliapin"``); ``min_magnitude``
    (default: the smallest magnitude) selects the events counted *after* declustering the whole
    catalogue; ``years`` the duration (default: from the first to the last event of ``cat``).
    """
    from tianshan.analysis import decluster as dc

    if len(cat) == 0:
        raise InputError("empty catalogue", source=cat.source or None)
    if declustered is None:
        if method in dc.WINDOWS:
            declustered = dc.gardner_knopoff(cat, method)
        elif method == "reasenberg":
            declustered = dc.reasenberg(cat)
        elif method == "zaliapin":
            declustered = dc.zaliapin_ben_zion(cat)
        else:
            raise InputError(f"unknown declustering method {method!r} ({', '.join(dc.METHODS)})", field="method")
    elif declustered.n_events != len(cat):
        raise InputError(f"the declustering has {declustered.n_events} events, the catalogue {len(cat)}",
                         field="declustered")
    if years is None:
        years = float(np.ptp(cat.time_s)) / YEAR_S
    if not years > 0:
        raise InputError(f"the duration must be > 0 years, not {years!r}", field="years")
    west, south, nx, ny = _grid_shape(bbox, spacing_deg)
    mmin = float(np.min(cat.magnitude)) if min_magnitude is None else float(min_magnitude)
    big = cat.magnitude >= mmin - 1e-9
    ix = np.floor((cat.longitude_deg - west) / spacing_deg).astype(np.int64)
    iy = np.floor((cat.latitude_deg - south) / spacing_deg).astype(np.int64)
    # Events on the grid's east/north edge belong to the last cell (a box selection includes its edges).
    ix[np.isclose(cat.longitude_deg, west + nx * spacing_deg)] = nx - 1
    iy[np.isclose(cat.latitude_deg, south + ny * spacing_deg)] = ny - 1
    inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    sel = inside & big & declustered.background
    count = np.bincount(iy[sel] * nx + ix[sel], minlength=nx * ny).reshape(ny, nx).astype(float)
    lat_edges = south + np.arange(ny + 1) * spacing_deg
    area = cell_area_km2(lat_edges[:-1], lat_edges[1:], spacing_deg)
    if smoothing_km > 0:
        lon_c = west + (np.arange(nx) + 0.5) * spacing_deg
        lat_c = south + (np.arange(ny) + 0.5) * spacing_deg
        count = frankel_smooth(count, lon_c, lat_c, float(smoothing_km))
    return RateGrid(west_deg=west, south_deg=south, step_deg=float(spacing_deg), nx=nx, ny=ny, count=count,
                    area_km2=area, years=float(years), min_magnitude=mmin, method=declustered.method,
                    smoothing_km=float(smoothing_km), n_events=int(np.sum(inside & big)), n_background=int(sel.sum()))


# ------------------------------------------------------------------------------------- GeoTIFF

def write_geotiff(path: str | os.PathLike, bands, *, west_deg: float, north_deg: float, dlon_deg: float,
                  dlat_deg: float, descriptions=(), tags: dict | None = None) -> Path:
    """Write 2-D arrays (rows north to south) as a float32 EPSG:4326 GeoTIFF, atomically.

    ``bands``: one (ny, nx) array or a sequence of them; ``west_deg``/``north_deg`` the outer
    edges of the first pixel.
    """
    import rasterio
    from affine import Affine

    from tianshan.io.atomic import atomic_path

    arrays = [np.asarray(bands, float)] if np.asarray(bands).ndim == 2 else [np.asarray(b, float) for b in bands]
    ny, nx = arrays[0].shape
    profile = dict(driver="GTiff", width=int(nx), height=int(ny), count=len(arrays), dtype="float32",
                   crs="EPSG:4326", transform=Affine(float(dlon_deg), 0.0, float(west_deg), 0.0, -float(dlat_deg),
                                                     float(north_deg)),
                   nodata=np.nan, compress="deflate", predictor=3)
    target = Path(path)
    with atomic_path(target) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            for k, a in enumerate(arrays, start=1):
                dst.write(a.astype(np.float32), k)
                if k <= len(descriptions):
                    dst.set_band_description(k, descriptions[k - 1])
            dst.update_tags(AREA_OR_POINT="Area", **{str(k).upper(): str(v) for k, v in (tags or {}).items()})
    return target


def write_b_map_geotiff(bmap: BMap, path: str | os.PathLike) -> Path:
    """A b-value map as a two-band GeoTIFF (b, Shi-Bolt std); grid nodes are pixel centres."""
    lon, lat = bmap.longitude_deg, bmap.latitude_deg
    dlon = float(lon[1] - lon[0]) if lon.size > 1 else 1.0
    dlat = float(lat[1] - lat[0]) if lat.size > 1 else dlon
    return write_geotiff(path, [bmap.b[::-1], bmap.std[::-1]], west_deg=float(lon[0]) - dlon / 2,
                         north_deg=float(lat[-1]) + dlat / 2, dlon_deg=dlon, dlat_deg=dlat,
                         descriptions=("b-value", "b-value standard deviation (Shi-Bolt)"),
                         tags={"METHOD": bmap.method, "MC": f"{bmap.mc:g}", "RADIUS_KM": f"{bmap.radius_km:g}"})


# ------------------------------------------------------------------------------------- rate series

@dataclass(frozen=True)
class RateSeries:
    """Events per time bin: ``edges_s`` (k+1 POSIX seconds), ``all``/``declustered`` counts (k) of events
    ``>= min_magnitude``; ``bin_days`` the bin width."""

    edges_s: np.ndarray
    all: np.ndarray
    declustered: np.ndarray
    min_magnitude: float
    bin_days: float

    def as_dict(self) -> dict:
        return {"edges_s": self.edges_s.tolist(), "all": self.all.tolist(), "declustered": self.declustered.tolist(),
                "min_magnitude": self.min_magnitude, "bin_days": self.bin_days}


def rate_series(cat: SeismicCatalog, background: np.ndarray | None = None, *, min_magnitude: float | None = None,
                bin_days: float = 365.25 / 12, start_s: float | None = None, end_s: float | None = None) -> RateSeries:
    """Counts per ``bin_days`` bin of the events ``>= min_magnitude`` (all, and the ``background`` ones)."""
    if len(cat) == 0:
        raise InputError("empty catalogue", source=cat.source or None)
    if not bin_days > 0:
        raise InputError("bin_days must be > 0", field="bin_days")
    mmin = float(np.min(cat.magnitude)) if min_magnitude is None else float(min_magnitude)
    t0 = float(cat.time_s.min()) if start_s is None else float(start_s)
    t1 = float(cat.time_s.max()) + 1.0 if end_s is None else float(end_s)
    width = bin_days * 86400.0
    k = max(1, int(math.ceil((t1 - t0) / width - 1e-9)))
    edges = t0 + np.arange(k + 1) * width
    big = cat.magnitude >= mmin - 1e-9
    all_c = np.histogram(cat.time_s[big], edges)[0]
    bg = np.ones(len(cat), bool) if background is None else np.asarray(background, bool)
    dec_c = np.histogram(cat.time_s[big & bg], edges)[0]
    return RateSeries(edges_s=edges, all=all_c, declustered=dec_c, min_magnitude=mmin, bin_days=float(bin_days))


# ------------------------------------------------------------------------------------- figures

def cjk_font() -> str | None:
    """An installed font family with Chinese glyphs (Noto Sans CJK SC preferred), or None."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in _CJK_PREFERRED:
        if name in names:
            return name
    for name in sorted(names):
        if "cjk" in name.lower() or "hei" in name.lower():
            return name
    return None


class Labels:
    """Figure text in Chinese and English (``"中文 / English"``) with a CJK font, else English only."""

    def __init__(self, bilingual: bool | None = None) -> None:
        font = cjk_font() if bilingual is not False else None
        if bilingual and font is None:
            log.warning("no CJK font installed (Debian: fonts-noto-cjk): figure labels are English only")
        elif bilingual is None and font is None:
            log.warning("no CJK font installed (Debian: fonts-noto-cjk): figure labels are English only")
        self.font = font
        self.zh = font is not None

    def __call__(self, zh: str, en: str) -> str:
        return f"{zh} / {en}" if self.zh else en

    def rc(self) -> dict:
        fam = [self.font, "DejaVu Sans"] if self.font else ["DejaVu Sans"]
        return {"font.family": fam, "axes.unicode_minus": False}


def _save(fig, path: str | os.PathLike, dpi: int = 120) -> Path:
    from tianshan.io.atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".").lower() or "png", dpi=dpi, bbox_inches="tight")
    return path


def figure(labels: Labels, size=(7.0, 5.0)):
    """A new (figure, axes) drawn without a display; create and save it inside ``style(labels)``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    return fig, fig.add_subplot(1, 1, 1)


def style(labels: Labels):
    """Context in which figures get the labels' font (fonts are fixed when a text is created)."""
    import matplotlib

    return matplotlib.rc_context(labels.rc())


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Write ``fig`` atomically as PNG/SVG/PDF (by extension)."""
    return _save(fig, path, dpi)


def _outline(ax, polygon, faults=()) -> None:
    for f in faults:
        xs, ys = zip(*f.coordinates)
        ax.plot(xs, ys, color="#7a0000", lw=0.7, zorder=4)
    if polygon is not None:
        lat = [v[0] for v in polygon] + [polygon[0][0]]
        lon = [v[1] for v in polygon] + [polygon[0][1]]
        ax.plot(lon, lat, color="k", lw=1.0, zorder=5)


def _geo_axes(ax, bbox, labels: Labels) -> None:
    west, south, east, north = bbox
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.set_aspect(1.0 / math.cos(math.radians(0.5 * (south + north))))
    ax.set_xlabel(labels("经度 (°E)", "Longitude (°E)"))
    ax.set_ylabel(labels("纬度 (°N)", "Latitude (°N)"))


def plot_rate_map(grid: RateGrid, path: str | os.PathLike, *, lon=None, lat=None, polygon=None, faults=(),
                  title: str = "", labels: Labels | None = None) -> Path:
    """log10 background rate (events/yr/km^2) with optional epicentres, region outline and faults."""
    from matplotlib.colors import Normalize

    labels = labels or Labels()
    with style(labels):
        fig, ax = figure(labels, (7.5, 5.5))
        r = grid.rate
        pos = r[r > 0]
        with np.errstate(divide="ignore"):
            lr = np.where(r > 0, np.log10(np.where(r > 0, r, 1.0)), np.nan)
        vmax = float(np.ceil(np.log10(pos.max()))) if pos.size else -3.0
        vmin = max(float(np.floor(np.log10(pos.min()))), vmax - 3.0) if pos.size else -6.0
        im = ax.imshow(lr, origin="lower", extent=(grid.west_deg, grid.east_deg, grid.south_deg, grid.north_deg),
                       cmap="viridis", norm=Normalize(vmin, max(vmax, vmin + 1)), interpolation="nearest", zorder=1)
        cb = fig.colorbar(im, ax=ax, shrink=0.8)
        cb.set_label(labels("log10 背景地震率 (次/年/km²)", "log10 background rate (events/yr/km²)"))
        if lon is not None and lat is not None:
            ax.plot(lon, lat, ".", ms=1.5, color="w", alpha=0.5, zorder=3)
        _outline(ax, polygon, faults)
        _geo_axes(ax, (grid.west_deg, grid.south_deg, grid.east_deg, grid.north_deg), labels)
        ax.set_title(title or labels(f"去丛背景地震率 M≥{grid.min_magnitude:.1f}",
                                     f"Declustered background rate, M≥{grid.min_magnitude:.1f}") + f" ({grid.method})",
                     fontsize=10)
        return _save(fig, path)



def plot_b_map(bmap: BMap, path: str | os.PathLike, *, polygon=None, faults=(), title: str = "",
               labels: Labels | None = None) -> Path:
    """b-value map (nodes with too few events left blank)."""
    labels = labels or Labels()
    with style(labels):
        fig, ax = figure(labels, (7.5, 5.5))
        lon, lat = bmap.longitude_deg, bmap.latitude_deg
        dlon = float(lon[1] - lon[0]) if lon.size > 1 else 1.0
        dlat = float(lat[1] - lat[0]) if lat.size > 1 else dlon
        extent = (lon[0] - dlon / 2, lon[-1] + dlon / 2, lat[0] - dlat / 2, lat[-1] + dlat / 2)
        finite = bmap.b[np.isfinite(bmap.b)]
        lo, hi = (float(np.percentile(finite, 2)), float(np.percentile(finite, 98))) if finite.size else (0.6, 1.4)
        im = ax.imshow(bmap.b, origin="lower", extent=extent, cmap="RdYlBu_r", vmin=lo, vmax=max(hi, lo + 0.05),
                       interpolation="nearest", zorder=1)
        cb = fig.colorbar(im, ax=ax, shrink=0.8)
        cb.set_label(labels("b 值", "b-value") + f" ({bmap.method})")
        _outline(ax, polygon, faults)
        _geo_axes(ax, extent[:1] + extent[2:3] + extent[1:2] + extent[3:], labels)
        ax.set_title(title or labels(f"b 值分布 (Mc {bmap.mc:.1f}, 半径 {bmap.radius_km:g} km)",
                                     f"b-value map (Mc {bmap.mc:.1f}, radius {bmap.radius_km:g} km)"), fontsize=10)
        return _save(fig, path)



def _dates(t_s):
    from tianshan.analysis.catalog import posix_to_datetime

    return [posix_to_datetime(t).replace(tzinfo=None) for t in np.asarray(t_s, float)]


def plot_b_series(series: dict[str, BSeries], path: str | os.PathLike, *, title: str = "", shade=None,
                  labels: Labels | None = None) -> Path:
    """b-value time series, one curve (with its ±1 sigma band) per estimator; ``shade`` = (t0_s, t1_s)."""
    labels = labels or Labels()
    with style(labels):
        fig, ax = figure(labels, (8.0, 3.8))
        colours = {"tinti": "tab:blue", "utsu": "tab:green", "positive": "tab:red"}
        names = {"tinti": labels("最大似然", "MLE (Tinti-Mulargia)"), "utsu": "MLE (Utsu)",
                 "positive": "b-positive"}
        for name, s in series.items():
            if s.b.size == 0:
                continue
            d = _dates(s.time_s)
            c = colours.get(name, None)
            label = f"{names.get(name, name)} ({s.window} {labels('个事件', 'events')})"
            ax.plot(d, s.b, "-", color=c, lw=1.2, label=label)
            ax.fill_between(d, s.b - s.std, s.b + s.std, color=c, alpha=0.2, lw=0)
        if shade is not None:
            ax.axvspan(*_dates(shade), color="0.85", zorder=0)
        ax.set_ylabel(labels("b 值", "b-value"))
        ax.set_xlabel(labels("时间 (UTC)", "Time (UTC)"))
        ax.legend(fontsize=8)
        ax.set_title(title or labels("b 值时间序列", "b-value time series"), fontsize=10)
        return _save(fig, path)



def plot_rate_series(rs: RateSeries, path: str | os.PathLike, *, title: str = "", shade=None,
                     labels: Labels | None = None) -> Path:
    """Events per bin (bars: all; line: declustered) and cumulative numbers on a second axis."""
    labels = labels or Labels()
    with style(labels):
        fig, ax = figure(labels, (8.0, 3.8))
        left = _dates(rs.edges_s[:-1])
        mid = _dates(0.5 * (rs.edges_s[:-1] + rs.edges_s[1:]))
        width = rs.bin_days * 0.9
        ax.bar(left, rs.all, width=width, align="edge", color="0.6", label=labels("全部", "all"))
        ax.step(mid, rs.declustered, where="mid", color="tab:blue", lw=1.0, label=labels("去丛", "declustered"))
        ax.set_ylabel(labels(f"每{rs.bin_days:.0f}天地震数", f"events per {rs.bin_days:.0f} days")
                      + f" (M≥{rs.min_magnitude:.1f})")
        ax2 = ax.twinx()
        ax2.plot(mid, np.cumsum(rs.all), color="k", lw=1.2, label=labels("累计(全部)", "cumulative (all)"))
        ax2.plot(mid, np.cumsum(rs.declustered), color="tab:blue", lw=1.2, ls="--",
                 label=labels("累计(去丛)", "cumulative (declustered)"))
        ax2.set_ylabel(labels("累计次数", "cumulative number"))
        if shade is not None:
            ax.axvspan(*_dates(shade), color="#fde0c5", zorder=0)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="upper left")
        ax.set_xlabel(labels("时间 (UTC)", "Time (UTC)"))
        ax.set_title(title or labels("地震频次", "Seismicity rate"), fontsize=10)
        return _save(fig, path)
