"""PNG and SVG map of an intensity map: degrees, contours, counties, faults, towns, epicentre, stations.

Drawn with matplotlib (Agg backend, no display) on a plate carree lon/lat frame with the
aspect ``1 / cos(latitude)`` at the map centre (lengths true along the central parallel):

* the Chinese intensity layer (GB/T 17742-2020) coloured by degree, II to XII, with the
  degree edges (``n +- 0.5``) as contour lines; colours: the USGS ShakeMap intensity palette
  (white I, blues II-IV, greens-yellows V-VI, orange VII-VIII, reds IX+), which Chinese
  rapid-report maps also use in spirit -- a legend gives the Roman numerals;
* county boundaries (the region's polygons, thin grey), active faults (the region's fault
  traces, dark red), the surface projection of the rupture's quadrilaterals when finite (black), towns (black dots, the 25
  most populous in the frame), the epicentre (star);
* stations: circles coloured by their observed Chinese intensity (stations with PGA and PGV),
  grey triangles for the other usable ones, black crosses for flagged (unused) stations.

Labels: a CJK-capable font is looked up in matplotlib's font list (names containing "CJK",
"Hei", "Song", "WenQuanYi", "Noto Sans SC"); without one -- the case on this machine
(``fc-list :lang=zh`` lists nothing) -- every label is English and towns carry their
romanised names (``Place.name``), since matplotlib would draw missing-glyph boxes otherwise.
:func:`cjk_font` tells which case applies; the choice is recorded in the map's metadata.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["cjk_font", "plot_map", "SHAKEMAP_COLOURS"]

#: USGS ShakeMap intensity colours for degrees I..X (XI, XII reuse X's darkest red).
SHAKEMAP_COLOURS = ("#ffffff", "#bfccff", "#a0e6ff", "#80ffff", "#7aff93", "#ffff00", "#ffc800", "#ff9100",
                    "#ff0000", "#c80000", "#a00000", "#800000")
_CJK_WORDS = ("cjk", "hei", "song", "wenquanyi", "noto sans sc", "source han", "ming", "kai")


def cjk_font() -> str | None:
    """Name of an installed font with Chinese glyphs (module docstring), or None."""
    from matplotlib import font_manager

    for f in font_manager.fontManager.ttflist:
        if any(w in f.name.lower() for w in _CJK_WORDS):
            return f.name
    return None


def _lines(ax, coords, **kw):
    xs = [c[0] for c in coords]
    ys = [c[1] for c in coords]
    ax.plot(xs, ys, **kw)


def _geom_lines(ax, geom, box, **kw):
    """Boundary lines of a shapely (multi)polygon clipped to ``box``."""
    g = geom.boundary.intersection(box)
    if g.is_empty:
        return
    parts = getattr(g, "geoms", [g])
    for p in parts:
        if hasattr(p, "coords") and len(p.coords) > 1:
            _lines(ax, list(p.coords), **kw)


def plot_map(paths, grids, event, *, rupture=None, exposure=None, faults=(), station_doc: dict | None = None,
             version: int = 1, dpi: int = 120) -> dict:
    """Draw the map (module docstring) and write it to each of ``paths`` (``.png``/``.svg``), atomically.

    ``exposure``: counties (``units`` with geometry) and towns (``settlements``); ``faults``:
    objects with ``coordinates`` (lon, lat); ``station_doc``: the station GeoJSON of
    :func:`.stations.station_features`. Returns ``{"font": ..., "labels": "zh"|"en"}``.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import math

    import matplotlib.pyplot as plt
    import numpy as np
    import shapely
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    from tianshan.groundmotion.intensity.gbt17742 import roman
    from tianshan.io.atomic import atomic_path

    spec = grids.spec
    cn = np.asarray(grids.layers["cn"].mean, dtype=np.float64)
    west, north = spec.west_deg, spec.north_deg
    east, south = west + spec.nx * spec.dlon_deg, north - spec.ny * spec.dlat_deg
    font = cjk_font()
    zh = font is not None
    if zh:  # before the figure exists: axes and texts created earlier keep the default font (missing glyphs)
        plt.rcParams["font.family"] = [font]
    fig, ax = plt.subplots(figsize=(9, 8))
    cmap = ListedColormap(SHAKEMAP_COLOURS)
    norm = BoundaryNorm(np.arange(0.5, 13.0, 1.0), cmap.N)
    ax.imshow(np.clip(cn, 1, 12), extent=(west, east, south, north), origin="upper", cmap=cmap, norm=norm,
              interpolation="nearest", alpha=0.85, zorder=1)
    levels = [n + 0.5 for n in range(1, 12) if np.nanmin(cn) < n + 0.5 < np.nanmax(cn)]
    if levels:
        cs = ax.contour(spec.longitudes(), spec.latitudes(), cn, levels=levels, colors="k", linewidths=0.6, zorder=2)
        ax.clabel(cs, fmt=lambda v: roman(int(round(v + 0.5))), fontsize=7)
    box = shapely.box(west, south, east, north)
    if exposure is not None:
        for u in exposure.units:
            if u.geometry is not None and u.geometry.intersects(box):
                _geom_lines(ax, u.geometry, box, color="0.35", linewidth=0.5, zorder=3)
        towns = [s for s in exposure.settlements if s.population and south <= s.latitude_deg <= north
                 and west <= s.longitude_deg <= east]
        for s in sorted(towns, key=lambda s: -s.population)[:25]:
            ax.plot(s.longitude_deg, s.latitude_deg, "o", ms=3, color="k", zorder=6)
            ax.annotate((s.name_zh or s.name) if zh else s.name, (s.longitude_deg, s.latitude_deg), fontsize=7,
                        xytext=(3, 3), textcoords="offset points", zorder=6)
    for f in faults:
        line = shapely.LineString(f.coordinates) if len(f.coordinates) > 1 else None
        if line is not None and line.intersects(box):
            _lines(ax, list(f.coordinates), color="#7a0000", linewidth=0.9, zorder=4)
    if rupture is not None and not rupture.is_point:
        for q in rupture.quads:                           # surface projection of each quad
            ring = [(c[0], c[1]) for c in q.corners]
            _lines(ax, ring + ring[:1], color="k", linewidth=1.2, zorder=5)
    if station_doc is not None:
        for feat in station_doc["features"]:
            if feat["geometry"] is None:
                continue
            x, y = feat["geometry"]["coordinates"]
            if not (west <= x <= east and south <= y <= north):
                continue
            p = feat["properties"]
            if p["flags"] and not p["used"]:
                ax.plot(x, y, "x", ms=4, color="k", zorder=7)
            elif p.get("intensity_cn") is not None:
                ax.scatter([x], [y], c=[p["intensity_cn"]], cmap=cmap, norm=norm, s=22, edgecolors="k",
                           linewidths=0.5, zorder=8)
            else:
                ax.plot(x, y, "^", ms=4, color="0.4", zorder=7)
    ax.plot(event.longitude_deg, event.latitude_deg, "*", ms=16, color="k", markerfacecolor="w", zorder=9)
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.set_aspect(1.0 / math.cos(math.radians(0.5 * (north + south))))
    ax.set_xlabel("经度 (°E)" if zh else "Longitude (deg E)")
    ax.set_ylabel("纬度 (°N)" if zh else "Latitude (deg N)")
    when = event.time.strftime("%Y-%m-%d %H:%M:%S UTC") if event.time else ""
    if zh:
        title = f"M{event.magnitude:.1f} {when} 烈度图 第{version}版 (GB/T 17742-2020)"
    else:
        title = f"M{event.magnitude:.1f} {when}  intensity map v{version} (GB/T 17742-2020)"
    ax.set_title(title, fontsize=10)
    present = sorted(set(int(v) for v in np.unique(np.clip(np.floor(cn[np.isfinite(cn)] + 0.5), 1, 12))))
    handles = [Patch(facecolor=SHAKEMAP_COLOURS[n - 1], edgecolor="k", label=f"{roman(n)}" + ("度" if zh else ""))
               for n in present if n >= 2]
    if handles:
        ax.legend(handles=handles[::-1], title="烈度" if zh else "Intensity", loc="lower right", fontsize=7,
                  title_fontsize=8, framealpha=0.85)
    ax.grid(True, linewidth=0.3, color="0.6")
    fig.tight_layout()
    for path in paths:
        target = Path(path)
        fmt = target.suffix.lstrip(".").lower()
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, metadata={"Title": title})
    plt.close(fig)
    return {"font": font, "labels": "zh" if zh else "en"}

