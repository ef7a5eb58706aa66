"""One event -> every intensity-map output in a folder, and the product records of that version.

:func:`build_map` runs the chain of issue 6:

1. **Prior**: the rupture (the event's finite rupture, else a point source at the hypocentre)
   and a ground-motion model (``MapSettings.gmm``, default BSSA14 through hazardlib, larger
   horizontal component, Vs30 ``MapSettings.vs30``) --
   :class:`tianshan.groundmotion.conditioning.pipeline.EventModel`.
2. **Stations**: records (ShakeMap station lists, CSV, the store) through the quality rules
   of :func:`tianshan.groundmotion.conditioning.stations.prepare_stations`; flagged stations
   stay in the station output.
3. **Conditioning**: ShakeMap v4 MVN conditioning per output IMT
   (:class:`~tianshan.groundmotion.conditioning.pipeline.ConditionedEvent`), grids by
   :func:`~tianshan.groundmotion.conditioning.grid.condition_grid`: MMI, PGA, PGV, PSA(0.3,
   1.0, 3.0 s) where the model defines them; the Chinese intensity (GB/T 17742-2020) from the
   conditioned PGA and PGV (:func:`.grids.chinese_intensity_layer`).
4. **Outputs** (file names fixed, so that a version's folder is self-describing):
   ``intensity_cn.tif``, ``mmi.tif``, ``pga.tif``, ``pgv.tif``, ``psa0p3.tif``...,
   ``intensity_map.nc``, ``contours_cn.geojson``, ``contours_mmi.geojson``,
   ``stations.geojson``, ``grid.xml``, ``summary.json``, ``map.png``, ``map.svg``.
5. **Products**: one :class:`tianshan.core.product.Product` per file, kind
   ``"intensity_map"``, the event id, the version, the file's SHA-256 and properties
   (``name``, ``role``, ``bytes``); saved in the store when one is given (insert-only: a new
   version is a new set of products, the old ones stay -- the history).

Grid (:func:`auto_grid`, unless ``MapSettings.grid`` is given): the box holding the epicentre
and the rupture, widened on every side by ``radius_km = clip(25 * 10^(0.35 (M - 4)), 50, 500)``
km (M 5: 56 km, M 6: 125 km, M 7: 280 km, M 7.9: 500 km -- roughly where a BSSA14 median
PGA falls below 1-2 %g, ShakeMap's own extent rule is a magnitude table of the same
order), at ShakeMap's 30 arc-second spacing, coarsened by whole multiples of 30" until at most
``max_cells`` cells remain (the map must be out within a minute on 2 cores; the Wenchuan
extent at 30" is 2.3 M cells).

Leave-one-out (``leave_one_out=True``): :func:`tianshan.groundmotion.conditioning.loo.loo_metrics`
(``{"loo": {"conditioned": {...}, "model_only": {...}}}``; intensity on the MMI scale,
``..._cn`` keys for GB/T 17742, ``ln_pga``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time as _time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterable

from tianshan.core.errors import InputError

__all__ = ["MapEvent", "MapSettings", "MapBuild", "auto_grid", "build_map", "radius_km", "PRODUCT_KIND", "LAYERS"]

PRODUCT_KIND = "intensity_map"
#: Output IMTs conditioned on the data, in order (``mmi`` first: ShakeMap's main product).
LAYERS = ("mmi", "pga", "pgv", "psa0.3", "psa1.0", "psa3.0")
_R_KM = 6371.0088
_SPACING = 30.0 / 3600.0


@dataclass(frozen=True, slots=True)
class MapEvent:
    """The event a map is for: hypocentre (SI), moment magnitude, origin time, optional finite rupture."""

    event_id: str
    latitude_deg: float
    longitude_deg: float
    depth_m: float
    magnitude: float
    time: datetime | None = None
    rupture: object = None
    rake_deg: float = 0.0
    network: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        for name in ("latitude_deg", "longitude_deg", "depth_m", "magnitude"):
            v = getattr(self, name)
            if v is None or not math.isfinite(float(v)):
                raise InputError(f"must be a finite number, got {v!r}", field=name)
        if not (-90 <= self.latitude_deg <= 90 and -180 <= self.longitude_deg <= 180):
            raise InputError(f"epicentre {self.latitude_deg}, {self.longitude_deg} is not a coordinate",
                             field="latitude_deg, longitude_deg")
        if self.depth_m < 0:
            raise InputError(f"depth must be >= 0, got {self.depth_m} m", field="depth_m")
        if not 0.0 < self.magnitude < 10.0:
            raise InputError(f"magnitude must lie in (0, 10), got {self.magnitude}", field="magnitude")
        if self.time is not None:
            from tianshan.core.timeutil import as_utc

            object.__setattr__(self, "time", as_utc(self.time, "time"))

    def to_rupture(self):
        """The finite rupture if any (magnitude and hypocentre of this event), else a point source."""
        from dataclasses import replace

        from tianshan.groundmotion.prediction.distances import Rupture

        if self.rupture is not None:
            return replace(self.rupture, magnitude=self.magnitude)
        return Rupture(magnitude=self.magnitude, latitude_deg=self.latitude_deg, longitude_deg=self.longitude_deg,
                       depth_m=self.depth_m, rake_deg=self.rake_deg)

    @classmethod
    def from_event(cls, event, rupture=None) -> "MapEvent":
        """From a :class:`tianshan.core.event.Event` (preferred origin and magnitude)."""
        o, m = event.preferred_origin, event.preferred_magnitude
        if o is None or m is None:
            raise InputError(f"event {event.id} has no preferred origin and magnitude", field="event")
        return cls(event_id=event.id, latitude_deg=o.latitude_deg, longitude_deg=o.longitude_deg, depth_m=o.depth_m,
                   magnitude=m.value, time=o.time, rupture=rupture, description=event.region_name)


@dataclass(frozen=True, slots=True)
class MapSettings:
    """How a map is built (module docstring). ``grid``: a ``GridSpec`` to use instead of :func:`auto_grid`."""

    gmm: str = "BooreEtAl2014"
    vs30: float = 760.0
    max_distance_km: float | None = None
    grid: object = None
    max_cells: int = 200_000
    min_degree: int = 2
    plot: bool = True
    layers: tuple[str, ...] = LAYERS


@dataclass(frozen=True, slots=True, eq=False)
class MapBuild:
    """The result of :func:`build_map`: files (name -> path), products, summary, LOO metrics, timings (s)."""

    event: MapEvent
    version: int
    folder: Path
    files: dict
    products: tuple
    summary: dict
    grids: object
    conditioned: object
    loo: dict | None = None
    timings: dict = field(default_factory=dict)
    plot_info: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        """JSON document of the build (the CLI's ``--json``)."""
        return _jsonable({"event": {"event_id": self.event.event_id, "latitude_deg": self.event.latitude_deg,
                          "longitude_deg": self.event.longitude_deg, "depth_km": self.event.depth_m / 1000.0,
                          "magnitude": self.event.magnitude,
                          "time": self.event.time.isoformat() if self.event.time else None,
                          "finite_rupture": self.event.rupture is not None},
                "version": self.version, "folder": str(self.folder),
                "files": [{"name": p.properties["name"], "role": p.properties["role"], "bytes": p.properties["bytes"],
                           "sha256": p.sha256, "product_id": p.id} for p in self.products],
                "summary": self.summary, **(self.loo or {}), "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
                "map_labels": self.plot_info.get("labels")})


def radius_km(magnitude: float) -> float:
    """Margin of the map around the rupture (module docstring)."""
    return float(min(max(25.0 * 10.0 ** (0.35 * (magnitude - 4.0)), 50.0), 500.0))


def auto_grid(event: MapEvent, rupture=None, max_cells: int = 200_000):
    """The grid of the module docstring for ``event`` (and its rupture)."""
    from tianshan.groundmotion.conditioning.grid import GridSpec

    pts = [(event.longitude_deg, event.latitude_deg)]
    if rupture is not None and not rupture.is_point:
        pts += [(c[0], c[1]) for q in rupture.quads for c in q.corners]
    lons, lats = [p[0] for p in pts], [p[1] for p in pts]
    r = radius_km(event.magnitude)
    dlat = math.degrees(r / _R_KM)
    south, north = max(-89.0, min(lats) - dlat), min(89.0, max(lats) + dlat)
    coslat = max(0.05, min(math.cos(math.radians(south)), math.cos(math.radians(north))))
    dlon = math.degrees(r / (_R_KM * coslat))
    west, east = min(lons) - dlon, max(lons) + dlon
    step = 1
    while True:
        sp = _SPACING * step
        nx, ny = int(math.ceil((east - west) / sp)), int(math.ceil((north - south) / sp))
        if nx * ny <= max_cells:
            break
        step += 1
    return GridSpec(west_deg=west, north_deg=north, dlon_deg=sp, dlat_deg=sp, nx=nx, ny=ny)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_ROLES = {".tif": ("grid", "image/tiff; application=geotiff"), ".nc": ("grid", "application/x-netcdf"),
          ".geojson": ("vector", "application/geo+json"), ".xml": ("grid", "application/xml"),
          ".json": ("summary", "application/json"), ".png": ("map", "image/png"), ".svg": ("map", "image/svg+xml")}


def build_map(event: MapEvent, records: Iterable = (), out_dir: str | os.PathLike = ".", *,
              settings: MapSettings = MapSettings(), version: int = 1, region=None, leave_one_out: bool = False,
              store=None) -> MapBuild:
    """Build every output of the module docstring for ``event`` and station ``records`` into ``out_dir``.

    ``records``: station records (:class:`tianshan.io.shakemap_xml.StationRecord` or the same
    fields); ``region``: a :class:`tianshan.products.loss.scenario.RegionContext` (population,
    counties, towns, faults) or None; ``store``: an ``EventStore`` to save the products in.
    """
    from tianshan.core.product import Product
    from tianshan.groundmotion.conditioning.pipeline import ConditionedEvent, EventModel, Settings
    from tianshan.groundmotion.conditioning.stations import prepare_stations
    from tianshan.groundmotion.prediction.gmpe import GroundMotionModel
    from tianshan.products.shakemap import contours, gridxml, grids, stations, summary

    if int(version) < 1:
        raise InputError(f"version must be >= 1, got {version!r}", field="version")
    timings: dict[str, float] = {}
    t0 = t = _time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = _time.perf_counter()
        timings[name] = now - t
        t = now

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    rupture = event.to_rupture()
    obs = prepare_stations(list(records))
    gmm = GroundMotionModel(settings.gmm)
    model = EventModel(rupture, gmm, vs30=float(settings.vs30))
    ev = ConditionedEvent(model, obs, Settings(max_distance_km=settings.max_distance_km))
    lap("stations")
    spec = settings.grid if settings.grid is not None else auto_grid(event, rupture, settings.max_cells)
    layers = {}
    numsta = {}
    for imt in settings.layers:
        if imt != "mmi" and not gmm.supports(imt):
            continue
        if imt == "mmi" and not gmm.supports("pgv"):
            continue
        res = ev.grid(spec, imt)
        layers[imt] = grids.MapLayer(imt, res.mean, res.sd, res.prior_mean, res.prior_sd)
        numsta[imt] = len(set(int(i) for i in ev.observations(imt)[1]))
    if "pga" not in layers or "pgv" not in layers:
        raise InputError(f"{gmm.name} must define PGA and PGV for the Chinese intensity map", field="gmm")
    layers = {"cn": grids.chinese_intensity_layer(layers["pga"], layers["pgv"]), **layers}
    mg = grids.MapGrids(spec, layers)
    lap("conditioning")

    files: dict[str, Path] = {}
    tags = {"event_id": event.event_id, "version": version, "model": gmm.name}
    for imt, layer in layers.items():
        name = "intensity_cn.tif" if imt == "cn" else f"{grids.netcdf_name(imt)}.tif"
        files[name] = grids.write_geotiff(folder / name, spec, layer, tags)
    files["intensity_map.nc"] = grids.write_netcdf(folder / "intensity_map.nc", mg,
                                                   {"event_id": event.event_id, "version": version,
                                                    "model": gmm.name, "magnitude": event.magnitude})
    lap("grids")
    meta = {"event_id": event.event_id, "version": version}
    files["contours_cn.geojson"] = contours.write_contours(folder / "contours_cn.geojson", spec, layers["cn"].mean,
                                                           "cn", settings.min_degree, meta)
    if "mmi" in layers:
        files["contours_mmi.geojson"] = contours.write_contours(folder / "contours_mmi.geojson", spec,
                                                                layers["mmi"].mean, "mmi", settings.min_degree, meta)
    cond_at = stations.conditioned_at_stations(ev, [k for k in layers if k != "cn"])
    station_doc = stations.station_features(ev, cond_at)
    station_doc["properties"] = meta
    from tianshan.io.atomic import atomic_write_text

    files["stations.geojson"] = atomic_write_text(folder / "stations.geojson",
                                                  json.dumps(station_doc, ensure_ascii=False,
                                                             separators=(",", ":")) + "\n")
    files["grid.xml"] = gridxml.write_grid_xml(folder / "grid.xml", mg, event, version=version, vs30=settings.vs30,
                                               numsta=numsta)
    lap("vectors_xml")
    rows = station_doc["features"]
    counts = {"total": len(rows), "used": sum(1 for f in rows if f["properties"]["used"]),
              "flagged": sum(1 for f in rows if f["properties"]["flags"])}
    exposure = getattr(region, "exposure", None)
    doc = summary.map_summary(mg, event, exposure, counts, version)
    doc["model"] = {"gmm": gmm.name, "vs30_m_s": settings.vs30, "rupture": "finite" if not rupture.is_point else "point",
                    "max_distance_km": settings.max_distance_km}
    loo = None
    if leave_one_out:
        from tianshan.groundmotion.conditioning.loo import loo_metrics

        loo = loo_metrics(ev)
        doc.update(loo)
        lap("leave_one_out")
    plot_info: dict = {}
    if settings.plot:
        from tianshan.products.shakemap.mapplot import plot_map

        plot_info = plot_map([folder / "map.png", folder / "map.svg"], mg, event, rupture=rupture, exposure=exposure,
                             faults=getattr(region, "faults", ()), station_doc=station_doc, version=version)
        files["map.png"], files["map.svg"] = folder / "map.png", folder / "map.svg"
        doc["map_labels"] = plot_info["labels"]
        if plot_info["labels"] == "en":
            doc["notes"].append("no CJK font installed: the map image has English labels")
        lap("plot")
    files["summary.json"] = atomic_write_text(folder / "summary.json",
                                              json.dumps(_jsonable(doc), ensure_ascii=False, indent=1) + "\n")
    products = []
    for name, path in files.items():
        role, ctype = _ROLES[path.suffix.lower()]
        products.append(Product(kind=PRODUCT_KIND, uri=str(path.resolve()), content_type=ctype,
                                event_id=event.event_id or None, version=int(version), sha256=_sha256(path),
                                properties={"name": name, "role": role, "bytes": path.stat().st_size}))
    if store is not None:
        for p in products:
            store.save_product(p)
    timings["total"] = _time.perf_counter() - t0
    return MapBuild(event=event, version=int(version), folder=folder, files=files, products=tuple(products),
                    summary=doc, grids=mg, conditioned=ev, loo=loo, timings=timings, plot_info=plot_info)


def _jsonable(x):
    """NaN -> None (JSON has no NaN), recursively."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x
