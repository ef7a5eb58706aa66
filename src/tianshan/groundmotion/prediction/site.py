"""Site conditions: Vs30 from a default value, a raster, or the topographic-slope proxy; generic amplification.

Vs30 sources (all give ``vs30_at(latitude_deg, longitude_deg) -> array`` in m/s):

* :class:`ConstantVs30` -- one value everywhere (ShakeMap's ``vs30default``, 760 m/s here:
  the BSSA14 reference rock).
* :class:`RasterLayer` -- values on a regular longitude/latitude grid, **north-up**: row 0 is
  the northern edge (GeoTIFF/ESRI convention), column 0 the western edge; cell-centre
  registration. Sampling is bilinear between cell centres (nearest at the edges); points
  outside the grid get ``outside`` (default NaN -> the caller's default). The orientation is
  checked by the ShakeMap verification test 11 analogue (``tests/groundmotion/test_mvn_worden_cases.py``).
* :func:`vs30_from_slope` / :func:`slope_vs30_layer` -- the topographic-slope proxy of Wald &
  Allen (2007, BSSA 97(5), 1379-1395) for stable cratons and Allen & Wald (2009, BSSA 99(2A),
  935-943) for active tectonic regions. The class tables are **read at run time** from a CSV
  (``regime,vs30_min,vs30_max,slope_min,slope_max`` with ``#`` comments; the project's copy of
  USGS's ``grad2vs30.c`` tables is ``../shared/data/xinjiang/vs30_slope_tables.csv``). Within
  a row Vs30 is interpolated linearly in log(slope)-log(Vs30) (as ``grad2vs30.c`` does); below
  the first row's ``slope_min`` the first row's ``vs30_min``; above the last row the last
  row's log-log line is extended and Vs30 clipped to [180, 900] m/s (the table's comment).
  Slope is the magnitude of the topographic gradient in m/m (:func:`slope_from_dem`, central
  differences on a north-up DEM with cell sizes from a spherical Earth).

Site amplification of a ground-motion model is the model's own Vs30 term; models without one
(Yu et al. 2013) get the BSSA14 (Seyhan & Stewart 2014) term through hazardlib:
:class:`tianshan.groundmotion.prediction.gmpe.GroundMotionModel` with ``site_term="bssa14"``,
exposed here as :func:`bssa14_site_term_ln`.

Generic amplification (:class:`GenericAmplification`): additive ln-amplification layers
(ShakeMap's "generic amplification factors"); the sum of the layers is added to ln
predictions. Outside a layer its contribution is 0.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

from tianshan.core.errors import InputError

__all__ = ["ConstantVs30", "RasterLayer", "SlopeTable", "read_slope_tables", "vs30_from_slope", "slope_from_dem",
           "slope_vs30_layer", "GenericAmplification", "bssa14_site_term_ln", "VS30_CLIP"]

#: Clip of the slope-proxy Vs30 (m/s), from the tables' documentation.
VS30_CLIP = (180.0, 900.0)
_R_M = 6_371_008.8


@dataclass(frozen=True, slots=True)
class ConstantVs30:
    """The same Vs30 (m/s) everywhere."""

    value_m_s: float = 760.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.value_m_s) and self.value_m_s > 0):
            raise InputError(f"must be > 0 m/s, got {self.value_m_s!r}", field="value_m_s")

    def vs30_at(self, latitude_deg, longitude_deg):
        import numpy as np

        return np.full(np.shape(np.atleast_1d(latitude_deg)), float(self.value_m_s))


class RasterLayer:
    """Values on a regular north-up lon/lat grid (module docstring); ``vs30_at``/``sample`` interpolate.

    ``west_deg``/``north_deg``: the outer edges of the first column/row; ``dlon_deg``/``dlat_deg``:
    cell sizes (> 0); ``values``: 2-D array, shape (rows, columns), row 0 = north.
    """

    def __init__(self, values, west_deg: float, north_deg: float, dlon_deg: float, dlat_deg: float,
                 outside: float = math.nan) -> None:
        import numpy as np

        v = np.asarray(values, dtype=np.float64)
        if v.ndim != 2 or v.shape[0] < 1 or v.shape[1] < 1:
            raise InputError(f"need a 2-D grid, got shape {v.shape}", field="values")
        for name, x in (("west_deg", west_deg), ("north_deg", north_deg), ("dlon_deg", dlon_deg),
                        ("dlat_deg", dlat_deg)):
            if not math.isfinite(float(x)):
                raise InputError(f"must be finite, got {x!r}", field=name)
        if not (dlon_deg > 0 and dlat_deg > 0):
            raise InputError("cell sizes must be > 0", field="dlon_deg, dlat_deg")
        self.values = v
        self.west_deg, self.north_deg = float(west_deg), float(north_deg)
        self.dlon_deg, self.dlat_deg = float(dlon_deg), float(dlat_deg)
        self.outside = float(outside)

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape

    def sample(self, latitude_deg, longitude_deg):
        """Bilinear interpolation between cell centres; ``outside`` beyond the grid's outer edges."""
        import numpy as np

        lat = np.asarray(latitude_deg, dtype=np.float64)
        lon = np.asarray(longitude_deg, dtype=np.float64)
        rows, cols = self.values.shape
        fr = (self.north_deg - lat) / self.dlat_deg - 0.5      # fractional row of cell centres
        fc = (lon - self.west_deg) / self.dlon_deg - 0.5
        inside = (fr >= -0.5) & (fr <= rows - 0.5) & (fc >= -0.5) & (fc <= cols - 0.5)
        fr = np.clip(fr, 0.0, rows - 1.0)
        fc = np.clip(fc, 0.0, cols - 1.0)
        r0 = np.minimum(np.floor(fr).astype(np.int64), max(rows - 2, 0))
        c0 = np.minimum(np.floor(fc).astype(np.int64), max(cols - 2, 0))
        r1 = np.minimum(r0 + 1, rows - 1)
        c1 = np.minimum(c0 + 1, cols - 1)
        tr, tc = fr - r0, fc - c0
        v = self.values
        out = ((1 - tr) * (1 - tc) * v[r0, c0] + (1 - tr) * tc * v[r0, c1]
               + tr * (1 - tc) * v[r1, c0] + tr * tc * v[r1, c1])
        return np.where(inside, out, self.outside)

    def vs30_at(self, latitude_deg, longitude_deg, default: float = 760.0):
        """Vs30 (m/s) at points; ``default`` outside the raster or where it holds no value."""
        import numpy as np

        v = self.sample(latitude_deg, longitude_deg)
        return np.where(np.isfinite(v) & (v > 0), v, float(default))


@dataclass(frozen=True, slots=True)
class SlopeTable:
    """One regime's slope classes: rows ``(vs30_min, vs30_max, slope_min, slope_max)``, ascending."""

    regime: str
    rows: tuple[tuple[float, float, float, float], ...]


def read_slope_tables(path: str | os.PathLike) -> dict[str, SlopeTable]:
    """Read the slope -> Vs30 class tables (module docstring) keyed by regime (``active``, ``craton``)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", source=str(p)) from None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    need = {"regime", "vs30_min", "vs30_max", "slope_min", "slope_max"}
    if not reader.fieldnames or not need <= set(reader.fieldnames):
        raise InputError(f"need columns {', '.join(sorted(need))}", source=str(p))
    acc: dict[str, list[tuple[float, float, float, float]]] = {}
    for i, row in enumerate(reader, start=2):
        try:
            vals = tuple(float(row[k]) for k in ("vs30_min", "vs30_max", "slope_min", "slope_max"))
        except (TypeError, ValueError):
            raise InputError("not numbers", source=str(p), line=i) from None
        if not (all(math.isfinite(x) and x > 0 for x in vals) and vals[0] < vals[1] and vals[2] < vals[3]):
            raise InputError("need 0 < vs30_min < vs30_max and 0 < slope_min < slope_max", source=str(p), line=i)
        acc.setdefault(row["regime"].strip().lower(), []).append(vals)
    if not acc:
        raise InputError("no table rows", source=str(p))
    return {k: SlopeTable(k, tuple(sorted(v, key=lambda r: r[2]))) for k, v in acc.items()}


def vs30_from_slope(slope, table: SlopeTable):
    """Vs30 (m/s) from topographic slope (m/m) with one regime's table (module docstring)."""
    import numpy as np

    s = np.asarray(slope, dtype=np.float64)
    if np.any(~np.isfinite(s)) or np.any(s < 0):
        raise InputError("slopes must be finite and >= 0", field="slope")
    out = np.full(s.shape, table.rows[0][0])
    ls = np.log(np.maximum(s, 1e-12))
    for k, (v0, v1, s0, s1) in enumerate(table.rows):
        last = k == len(table.rows) - 1
        sel = (s >= s0) & ((s < s1) | last)
        t = (ls[sel] - math.log(s0)) / (math.log(s1) - math.log(s0))
        out[sel] = np.exp(math.log(v0) + t * (math.log(v1) - math.log(v0)))
    return np.clip(out, *VS30_CLIP)


def slope_from_dem(elevation_m, north_deg: float, dlat_deg: float, dlon_deg: float):
    """Gradient magnitude (m/m) of a north-up DEM (row 0 = north), spherical cell sizes at each row."""
    import numpy as np

    z = np.asarray(elevation_m, dtype=np.float64)
    if z.ndim != 2 or min(z.shape) < 2:
        raise InputError(f"need a 2-D DEM of at least 2 x 2, got {z.shape}", field="elevation_m")
    lat_c = north_deg - (np.arange(z.shape[0]) + 0.5) * dlat_deg
    dy = _R_M * math.radians(dlat_deg)
    dx = _R_M * math.radians(dlon_deg) * np.cos(np.radians(lat_c))[:, None]
    gy, gx = np.gradient(z)
    return np.hypot(gx / dx, gy / dy)


def slope_vs30_layer(elevation_m, west_deg: float, north_deg: float, dlon_deg: float, dlat_deg: float,
                     tables: dict[str, SlopeTable], regime: str = "active") -> RasterLayer:
    """A Vs30 :class:`RasterLayer` from a DEM by the slope proxy (``regime``: ``active`` or ``craton``)."""
    if regime not in tables:
        raise InputError(f"no slope table for regime {regime!r}; have {', '.join(sorted(tables))}", field="regime")
    slope = slope_from_dem(elevation_m, north_deg, dlat_deg, dlon_deg)
    return RasterLayer(vs30_from_slope(slope, tables[regime]), west_deg, north_deg, dlon_deg, dlat_deg)


class GenericAmplification:
    """Additive ln-amplification layers (module docstring)."""

    def __init__(self, layers: list[RasterLayer] | tuple[RasterLayer, ...]) -> None:
        self.layers = tuple(layers)

    def ln_factor(self, latitude_deg, longitude_deg):
        import numpy as np

        total = np.zeros(np.shape(np.asarray(latitude_deg, dtype=np.float64)))
        for layer in self.layers:
            v = layer.sample(latitude_deg, longitude_deg)
            total = total + np.where(np.isfinite(v), v, 0.0)
        return total


def bssa14_site_term_ln(rupture, latitude_deg, longitude_deg, vs30, imts, reference_vs30: float = 760.0):
    """BSSA14 (Seyhan & Stewart 2014) ln amplification of Vs30 relative to ``reference_vs30``, per IMT.

    Computed by hazardlib's BooreEtAl2014 for the rupture's magnitude, mechanism and Rjb
    (its nonlinear term depends on the rock PGA there). Returns ``{imt: array}``.
    """
    import numpy as np

    from tianshan.groundmotion.prediction.distances import site_distances
    from tianshan.groundmotion.prediction.gmpe import GroundMotionModel

    model = GroundMotionModel("BooreEtAl2014", component="model", site_term=None)
    d = site_distances(rupture, latitude_deg, longitude_deg)
    at = model.predict(rupture, latitude_deg, longitude_deg, imts, vs30=vs30, distances=d)
    n = np.size(np.atleast_1d(latitude_deg))
    ref = model.predict(rupture, latitude_deg, longitude_deg, imts, vs30=np.full(n, float(reference_vs30)),
                        distances=d)
    return {k: np.asarray(at[k].mean_ln) - np.asarray(ref[k].mean_ln) for k in at}
