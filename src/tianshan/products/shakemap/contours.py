"""GeoJSON contours of an intensity grid: one (multi)polygon feature per intensity degree.

Degree ``n`` covers the intensities that round to it, half up: ``n - 0.5 <= I < n + 0.5``
(:func:`tianshan.groundmotion.intensity.gbt17742.degree`; degree XII -- X for MMI -- is
``I >= n - 0.5`` with no upper edge, degree I has no lower edge). The areas are the *filled* contours of the
grid between those edges, computed by contourpy (matplotlib's contour generator, marching
squares with linear interpolation between cell centres; skimage is not installed), so the
features of successive degrees tile the map without overlap.

Each feature: a GeoJSON ``MultiPolygon`` (RFC 7946: exterior rings counter-clockwise, holes
clockwise, rings closed, lon/lat WGS84) with properties ``degree`` (int), ``roman``
(``"VI"``), ``label_zh`` (``"VI度"``), ``label_en`` (``"Intensity VI"``), ``scale``
(``"GB/T 17742-2020"`` or ``"MMI"``), ``intensity_min``/``intensity_max`` (band edges) and
``area_km2`` (the cells whose value lies in the band, :func:`.grids.cell_areas_km2`).
Degrees below ``min_degree`` (default II) are not drawn.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tianshan.core.errors import InputError

__all__ = ["degree_polygons", "contours_geojson", "write_contours", "SCALES"]

#: scale key -> name written in the features.
SCALES = {"cn": "GB/T 17742-2020", "mmi": "MMI (Worden et al. 2012 / ShakeMap)"}


def _ring_area(ring) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float((x[:-1] * y[1:] - x[1:] * y[:-1]).sum())


def _closed(ring):
    import numpy as np

    ring = np.asarray(ring, dtype=np.float64)
    if len(ring) and not np.array_equal(ring[0], ring[-1]):
        ring = np.vstack([ring, ring[:1]])
    return ring


def degree_polygons(spec, values, lo: float, hi: float) -> list[list]:
    """Polygons (lists of rings of ``[lon, lat]``, exterior first) where ``lo <= value < hi``."""
    import contourpy
    import numpy as np

    z = np.asarray(values, dtype=np.float64)[::-1]          # south-up for contourpy
    x = spec.longitudes()
    y = spec.latitudes()[::-1]
    finite = z[np.isfinite(z)]
    if finite.size == 0:
        return []
    # edges beyond the data are clamped just outside its range (contourpy needs finite levels)
    span = float(finite.max() - finite.min()) + 1.0
    lo_c = max(lo, float(finite.min()) - span)
    hi_c = min(hi, float(finite.max()) + span)
    if lo_c >= hi_c:
        return []
    gen = contourpy.contour_generator(x, y, z, fill_type=contourpy.FillType.OuterOffset)
    points, offsets = gen.filled(lo_c, hi_c)
    polys = []
    for pts, offs in zip(points, offsets):
        rings = [_closed(pts[offs[i]:offs[i + 1]]) for i in range(len(offs) - 1)]
        rings = [r for r in rings if len(r) >= 4]
        if not rings:
            continue
        out = []
        for k, r in enumerate(rings):
            area = _ring_area(r)
            if (k == 0 and area < 0) or (k > 0 and area > 0):
                r = r[::-1]
            out.append(np.round(r, 6).tolist())
        polys.append(out)
    return polys


def contours_geojson(spec, values, scale: str = "cn", min_degree: int = 2) -> dict:
    """The FeatureCollection of the module docstring for an intensity grid (``scale``: ``cn`` or ``mmi``)."""
    import numpy as np

    from tianshan.groundmotion.intensity.gbt17742 import roman
    from tianshan.products.shakemap.grids import cell_areas_km2

    if scale not in SCALES:
        raise InputError(f"must be one of {', '.join(SCALES)}, got {scale!r}", field="scale")
    if not 1 <= int(min_degree) <= 12:
        raise InputError(f"must be 1-12, got {min_degree!r}", field="min_degree")
    v = np.asarray(values, dtype=np.float64)
    areas = cell_areas_km2(spec)[:, None] * np.ones((1, int(spec.nx)))
    top = 12 if scale == "cn" else 10
    features = []
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        return {"type": "FeatureCollection", "features": []}
    d_max = int(np.clip(np.floor(finite.max() + 0.5), 1, top))
    for n in range(int(min_degree), d_max + 1):
        lo = -np.inf if n == 1 else n - 0.5
        hi = np.inf if n == top else n + 0.5
        polys = degree_polygons(spec, v, lo, hi)
        if not polys:
            continue
        inside = (v >= lo) & (v < hi)
        r = roman(n)
        features.append({"type": "Feature", "geometry": {"type": "MultiPolygon", "coordinates": polys},
                         "properties": {"degree": n, "roman": r, "label_zh": f"{r}度", "label_en": f"Intensity {r}",
                                        "scale": SCALES[scale],
                                        "intensity_min": None if not np.isfinite(lo) else float(lo),
                                        "intensity_max": None if not np.isfinite(hi) else float(hi),
                                        "area_km2": round(float(areas[inside].sum()), 1)}})
    return {"type": "FeatureCollection", "features": features}


def write_contours(path: str | os.PathLike, spec, values, scale: str = "cn", min_degree: int = 2,
                   properties: dict | None = None) -> Path:
    """Write :func:`contours_geojson` (plus collection-level ``properties``) atomically."""
    from tianshan.io.atomic import atomic_write_text

    doc = contours_geojson(spec, values, scale, min_degree)
    if properties:
        doc["properties"] = dict(properties)
    return atomic_write_text(path, json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")
