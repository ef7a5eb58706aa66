"""Summary of an intensity map (速报摘要): maximum intensity, area and population per degree, bilingual.

Degrees are those of the Chinese intensity layer (GB/T 17742-2020, ``cn``): a cell or a
person belongs to degree ``n`` when the *mean* intensity there rounds to ``n`` (half up,
:func:`tianshan.groundmotion.intensity.gbt17742.degree`), as PAGER bins population by mean
MMI (:mod:`tianshan.products.loss.exposure`). The MMI layer gets the same maximum.

* **Area** per degree: the sum of the grid cells' areas on the sphere
  (:func:`.grids.cell_areas_km2`), and cumulatively for "degree n and above".
* **Population** per degree: the region's population points
  (:class:`tianshan.products.loss.exposure.Exposure`: county census distributed to towns and
  settlements, or the demo region's GeoNames towns) each take the intensity of the grid cell
  holding it (:func:`.grids.sample`); points outside the map are counted in
  ``population_outside_map``. Without an exposure, or when no populated point lies in the map
  (e.g. a Californian event with the Xinjiang region), populations are ``None`` and a note
  says why -- never a silent zero.
* **Counties**: the exposure's units with the highest intensity (max degree over their
  population points) and their population at VI and above.
* **Text**: one paragraph in Chinese (``text_zh``) and English (``text_en``).
"""

from __future__ import annotations

__all__ = ["map_summary", "MIN_DEGREE"]

#: Lowest degree listed in the per-degree table.
MIN_DEGREE = 2


def _degrees(values):
    import numpy as np

    v = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(v), np.clip(np.floor(np.round(v, 9) + 0.5), 1, 12), 0).astype(np.int64)


def _max_point(spec, values) -> dict:
    import numpy as np

    from tianshan.groundmotion.intensity.gbt17742 import degree, roman

    v = np.asarray(values, dtype=np.float64)
    i, j = np.unravel_index(int(np.nanargmax(v)), v.shape)
    val = float(v[i, j])
    d = degree(min(max(val, 1.0), 12.0))
    return {"value": round(val, 2), "degree": d, "roman": roman(d), "latitude_deg": round(float(spec.latitudes()[i]), 4),
            "longitude_deg": round(float(spec.longitudes()[j]), 4)}


def map_summary(grids, event, exposure=None, stations: dict | None = None, version: int = 1) -> dict:
    """The summary document of the module docstring.

    ``grids``: :class:`.grids.MapGrids` with a ``cn`` layer (and ``mmi``); ``event``:
    :class:`.build.MapEvent`; ``exposure``: an ``Exposure`` or None; ``stations``: counts to
    report (``{"total", "used", "flagged"}``).
    """
    import numpy as np

    from tianshan.groundmotion.intensity.gbt17742 import roman
    from tianshan.products.shakemap.grids import cell_areas_km2, sample

    spec = grids.spec
    cn = np.asarray(grids.layers["cn"].mean, dtype=np.float64)
    deg = _degrees(cn)
    area = cell_areas_km2(spec)[:, None] * np.ones((1, int(spec.nx)))
    notes: list[str] = []
    pop_by_deg = None
    outside = None
    counties: list[dict] = []
    if exposure is None:
        notes.append("no population data (no region given): populations are not estimated")
    else:
        pi = sample(spec, cn, exposure.latitudes_deg, exposure.longitudes_deg)
        inside = np.isfinite(pi) & (exposure.population > 0)
        if not inside.any():
            notes.append(f"no populated place of the region {exposure.name!r} lies in the map: populations are "
                         "not estimated")
        else:
            pdeg = _degrees(pi)
            pop_by_deg = np.bincount(pdeg[inside], weights=exposure.population[inside], minlength=13)
            outside = float(exposure.population[~np.isfinite(pi)].sum())
            units = np.asarray(exposure.unit_index)
            rows = []
            for u in np.unique(units[inside]):
                m = inside & (units == u)
                unit = exposure.units[int(u)]
                dmax = int(pdeg[m].max())
                rows.append({"name": unit.name, "name_zh": unit.name_zh, "max_degree": dmax, "roman": roman(dmax),
                             "population_vi_plus": int(round(float(exposure.population[m & (pdeg >= 6)].sum())))})
            counties = sorted(rows, key=lambda r: (-r["max_degree"], -r["population_vi_plus"], r["name"]))[:10]
    top = int(deg.max())
    table = []
    for n in range(top, MIN_DEGREE - 1, -1):
        a = float(area[deg == n].sum())
        a_plus = float(area[deg >= n].sum())
        row = {"degree": n, "roman": roman(n), "label_zh": f"{roman(n)}度", "area_km2": round(a, 1),
               "area_km2_at_least": round(a_plus, 1), "population": None, "population_at_least": None}
        if pop_by_deg is not None:
            row["population"] = int(round(float(pop_by_deg[n])))
            row["population_at_least"] = int(round(float(pop_by_deg[n:].sum())))
        table.append(row)
    mx = _max_point(spec, cn)
    mmi = _max_point(spec, grids.layers["mmi"].mean) if "mmi" in grids.layers else None
    t = event.time.strftime("%Y-%m-%d %H:%M:%S UTC") if event.time else "time unknown"
    t_zh = event.time.strftime("%Y年%m月%d日%H时%M分%S秒（UTC）") if event.time else "时间未知"
    depth_km = event.depth_m / 1000.0
    six = next((r for r in table if r["degree"] == 6), None)
    lat, lon = event.latitude_deg, event.longitude_deg
    where_zh = f"{'北纬' if lat >= 0 else '南纬'}{abs(lat):.2f}度、{'东经' if lon >= 0 else '西经'}{abs(lon):.2f}度"
    where_en = f"{abs(lat):.2f}{'N' if lat >= 0 else 'S'} {abs(lon):.2f}{'E' if lon >= 0 else 'W'}"
    text_zh = (f"{t_zh}，{where_zh}发生{event.magnitude:.1f}级地震，"
               f"震源深度{depth_km:.0f}千米。第{version}版烈度图（GB/T 17742-2020）估计最高烈度为{mx['roman']}度"
               f"（{mx['value']:.1f}）")
    text_en = (f"M{event.magnitude:.1f} earthquake at {where_en}, depth "
               f"{depth_km:.0f} km, {t}. Intensity map version {version} (GB/T 17742-2020): maximum intensity "
               f"{mx['roman']} ({mx['value']:.1f})")
    if six is not None:
        text_zh += f"，VI度及以上区域面积约{six['area_km2_at_least']:,.0f}平方千米"
        text_en += f"; intensity VI and above over about {six['area_km2_at_least']:,.0f} km2"
        if six["population_at_least"] is not None:
            text_zh += f"，涉及人口约{six['population_at_least']:,}人"
            text_en += f", about {six['population_at_least']:,} people"
    text_zh += "。"
    text_en += "."
    if stations:
        text_zh += f"使用{stations.get('used', 0)}个台站资料（共{stations.get('total', 0)}个，{stations.get('flagged', 0)}个被标记）。"
        text_en += (f" Conditioned on {stations.get('used', 0)} of {stations.get('total', 0)} stations "
                    f"({stations.get('flagged', 0)} flagged).")
    return {"event_id": event.event_id, "version": int(version), "scale": "GB/T 17742-2020",
            "max_intensity_cn": mx, "max_mmi": mmi, "degrees": table, "counties": counties,
            "population_source": getattr(exposure, "name", None), "population_outside_map":
                None if outside is None else int(round(outside)),
            "stations": dict(stations or {}), "text_zh": text_zh, "text_en": text_en, "notes": notes,
            "grid": {"west_deg": spec.west_deg, "north_deg": spec.north_deg, "dlon_deg": spec.dlon_deg,
                     "dlat_deg": spec.dlat_deg, "nx": int(spec.nx), "ny": int(spec.ny),
                     "area_km2": round(float(area.sum()), 1)}}

