"""The loss report's map: intensity, counties, faults, towns and epicentre, bilingual labels, PNG bytes.

The field is drawn on the scale it carries (:class:`IntensityField`): an intensity map
(:class:`tianshan.products.shakemap.grids.MapGrids`) on the Chinese scale (GB/T 17742-2020,
its ``cn`` layer), a loss-chain grid (:class:`tianshan.products.loss.shaking.ShakingGrid`) on
MMI, scattered points (:class:`~tianshan.products.loss.shaking.ShakingPoints`) as coloured
dots. Degrees are the cells' mean intensity rounded half up, coloured with the USGS ShakeMap
intensity palette (:data:`tianshan.products.shakemap.mapplot.SHAKEMAP_COLOURS`), with the
degree edges ``n +- 0.5`` as contour lines.

Projection, as the intensity map (:mod:`tianshan.products.shakemap.mapplot`): plate carree with
aspect ``1 / cos(latitude)`` at the map centre. Counties (polygon boundaries, grey), active
faults (dark red), up to 20 towns in the frame, most populous first, none closer to a shown one
than 4 % of the frame (dots; ``中文名 Name`` labels),
the epicentre (star). Every label is bilingual when a CJK font is installed
(:func:`tianshan.products.reports.render.cjk_font_family`), English only otherwise (logged).
"""

from __future__ import annotations

import io
import logging
import math
from dataclasses import dataclass

from tianshan.core.errors import InputError

__all__ = ["IntensityField", "intensity_field", "plot_loss_map"]

log = logging.getLogger(__name__)

SCALE_NAMES = {"cn": ("中国地震烈度 (GB/T 17742-2020)", "Chinese intensity (GB/T 17742-2020)"),
               "mmi": ("修订麦加利烈度 (MMI)", "Modified Mercalli intensity (MMI)")}
MAX_TOWN_LABELS = 20


@dataclass(frozen=True, slots=True, eq=False)
class IntensityField:
    """An intensity field ready to draw: 1-D ``longitudes_deg`` (ascending), ``latitudes_deg``, 2-D
    ``values`` (ny, nx) on ``scale`` ``"cn"`` or ``"mmi"``; or points (``values`` 1-D, ``gridded`` False)."""

    longitudes_deg: object
    latitudes_deg: object
    values: object
    scale: str
    gridded: bool = True
    source: str = ""

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        lon, lat = self.longitudes_deg, self.latitudes_deg
        return float(min(lon)), float(min(lat)), float(max(lon)), float(max(lat))

    @property
    def max_value(self) -> float:
        import numpy as np

        v = np.asarray(self.values, dtype=np.float64)
        return float(np.nanmax(v)) if np.any(np.isfinite(v)) else float("nan")


def intensity_field(shaking) -> IntensityField:
    """The :class:`IntensityField` of a ``MapGrids``, ``ShakingGrid`` or ``ShakingPoints``."""
    import numpy as np

    from tianshan.products.loss.shaking import ShakingGrid, ShakingPoints

    if isinstance(shaking, ShakingGrid):
        return IntensityField(shaking.longitudes_deg, shaking.latitudes_deg, shaking.mmi, "mmi", True, shaking.source)
    if isinstance(shaking, ShakingPoints):
        return IntensityField(shaking.longitudes_deg, shaking.latitudes_deg, shaking.mmi, "mmi", False, shaking.source)
    spec, layers = getattr(shaking, "spec", None), getattr(shaking, "layers", None)
    if spec is not None and isinstance(layers, dict) and ("cn" in layers or "mmi" in layers):
        scale = "cn" if "cn" in layers else "mmi"
        return IntensityField(np.asarray(spec.longitudes()), np.asarray(spec.latitudes()),
                              np.asarray(layers[scale].mean, dtype=np.float64), scale, True, "intensity map")
    raise InputError(f"expected an intensity map (MapGrids) or a ShakingGrid/ShakingPoints, got "
                     f"{type(shaking).__name__}", field="shaking")


def _degrees(values):
    """Degree of each value: nearest integer, half up, clipped to 1..12 (GB/T 17742-2020 rounding,
    :func:`tianshan.groundmotion.intensity.gbt17742.degree`); 0 where NaN."""
    import numpy as np

    v = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(v), np.clip(np.floor(np.round(np.where(np.isfinite(v), v, 0.0), 9) + 0.5), 1, 12),
                    0).astype(np.int64)


def _lines(ax, coords, **kw) -> None:
    ax.plot([c[0] for c in coords], [c[1] for c in coords], **kw)


def plot_loss_map(field: IntensityField, *, epicentre: tuple[float, float], exposure=None, faults=(),
                  title: tuple[str, str] = ("", ""), dpi: int = 130) -> tuple[bytes, dict]:
    """PNG bytes of the map (module docstring) and ``{"font", "labels": "zh+en"|"en", "scale"}``.

    ``epicentre``: (latitude, longitude) degrees; ``exposure``: an ``Exposure`` (counties
    with geometry, settlements); ``faults``: objects with ``coordinates`` (lon, lat);
    ``title``: (中文, English).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    from tianshan.products.reports.render import cjk_font_family
    from tianshan.products.shakemap.mapplot import SHAKEMAP_COLOURS

    roman = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
    font = cjk_font_family()
    zh = font is not None
    if not zh:
        log.warning("no CJK font installed (fonts-noto-cjk): the loss map has English labels only")
    lat0, lon0 = epicentre
    west, south, east, north = field.bounds
    cmap = ListedColormap(SHAKEMAP_COLOURS)
    norm = BoundaryNorm(np.arange(0.5, 13.0, 1.0), cmap.N)
    vals = np.asarray(field.values, dtype=np.float64)
    rc = {"font.family": [font, "DejaVu Sans"] if zh else ["DejaVu Sans"], "axes.unicode_minus": False}
    with plt.rc_context(rc):
        fig, ax = plt.subplots(figsize=(7.0, 6.2))
        lons = np.asarray(field.longitudes_deg, dtype=np.float64)
        lats = np.asarray(field.latitudes_deg, dtype=np.float64)
        if field.gridded:
            grid = vals
            if lats[0] < lats[-1]:                      # imshow wants the northern row first
                grid, lats = grid[::-1], lats[::-1]
            dx = (lons[-1] - lons[0]) / max(len(lons) - 1, 1)
            dy = (lats[0] - lats[-1]) / max(len(lats) - 1, 1)
            west, east = lons[0] - dx / 2, lons[-1] + dx / 2
            north, south = lats[0] + dy / 2, lats[-1] - dy / 2
            shown = np.where(np.isfinite(grid), np.clip(grid, 1, 12), np.nan)
            ax.imshow(shown, extent=(west, east, south, north), origin="upper", cmap=cmap, norm=norm,
                      interpolation="nearest", alpha=0.85, zorder=1)
            finite = grid[np.isfinite(grid)]
            levels = [n + 0.5 for n in range(1, 12) if finite.size and finite.min() < n + 0.5 < finite.max()]
            if levels:
                cs = ax.contour(lons, lats, grid, levels=levels, colors="k", linewidths=0.6, zorder=2)
                ax.clabel(cs, fmt=lambda v: roman[int(round(v + 0.5)) - 1], fontsize=7)
        else:
            ok = np.isfinite(vals)
            ax.scatter(lons[ok], lats[ok], c=np.clip(vals[ok], 1, 12), cmap=cmap, norm=norm, s=18,
                       edgecolors="k", linewidths=0.3, zorder=2)
            pad = 0.2
            west, east, south, north = west - pad, east + pad, south - pad, north + pad
        if exposure is not None:
            import shapely

            box = shapely.box(west, south, east, north)
            for u in exposure.units:
                g = u.geometry
                if g is None or not g.intersects(box):
                    continue
                b = g.boundary.intersection(box)
                for part in getattr(b, "geoms", [b]):
                    if hasattr(part, "coords") and len(part.coords) > 1:
                        _lines(ax, list(part.coords), color="0.35", linewidth=0.5, zorder=3)
            towns = [s for s in exposure.settlements if s.population and south <= s.latitude_deg <= north
                     and west <= s.longitude_deg <= east]
            towns.sort(key=lambda s: (-s.population, s.name))
            sep = 0.04 * max(east - west, north - south)    # labels closer than this would overlap
            shown_towns: list = []
            for s in towns:
                if len(shown_towns) >= MAX_TOWN_LABELS:
                    break
                if any(abs(s.longitude_deg - o.longitude_deg) < sep and abs(s.latitude_deg - o.latitude_deg) < sep
                       for o in shown_towns):
                    continue
                shown_towns.append(s)
            for s in shown_towns:
                ax.plot(s.longitude_deg, s.latitude_deg, "o", ms=3, color="k", zorder=6)
                label = f"{s.name_zh} {s.name}".strip() if zh and s.name_zh and s.name_zh != s.name else s.name
                ax.annotate(label, (s.longitude_deg, s.latitude_deg), fontsize=6.5, xytext=(3, 3),
                            textcoords="offset points", zorder=6)
        for f in faults:
            coords = list(getattr(f, "coordinates", ()) or ())
            if len(coords) > 1 and any(west <= c[0] <= east and south <= c[1] <= north for c in coords):
                _lines(ax, coords, color="#7a0000", linewidth=0.9, zorder=4)
        ax.plot(lon0, lat0, "*", ms=16, color="k", markerfacecolor="w", zorder=9)
        ax.set_xlim(west, east)
        ax.set_ylim(south, north)
        ax.set_aspect(1.0 / max(0.05, math.cos(math.radians(0.5 * (north + south)))))
        ax.set_xlabel("经度 Longitude (°E)" if zh else "Longitude (°E)")
        ax.set_ylabel("纬度 Latitude (°N)" if zh else "Latitude (°N)")
        t_zh, t_en = title
        ax.set_title(f"{t_zh}\n{t_en}" if zh and t_zh else t_en, fontsize=10)
        present = sorted(set(int(d) for d in np.unique(_degrees(vals)) if d >= 2))
        scale_zh, scale_en = SCALE_NAMES[field.scale]
        handles = [Patch(facecolor=SHAKEMAP_COLOURS[n - 1], edgecolor="k", label=roman[n - 1] + (" 度" if zh else ""))
                   for n in present]
        handles.append(plt.Line2D([], [], marker="*", ms=11, color="k", markerfacecolor="w", linestyle="none",
                                  label="震中 Epicentre" if zh else "Epicentre"))
        if any(len(getattr(f, "coordinates", ()) or ()) > 1 for f in faults):
            handles.append(plt.Line2D([], [], color="#7a0000", label="活动断层 Active fault" if zh else "Active fault"))
        legend_title = f"{scale_zh}\n{scale_en}" if zh else scale_en
        ax.legend(handles=handles[::-1], title=legend_title, loc="lower right", fontsize=7, title_fontsize=7.5,
                  framealpha=0.85)
        ax.grid(True, linewidth=0.3, color="0.6")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
        plt.close(fig)
    return buf.getvalue(), {"font": font, "labels": "zh+en" if zh else "en", "scale": field.scale}
