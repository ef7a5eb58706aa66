"""Populated places as CSV, in three recognised shapes (chosen by the header).

``census`` (as ``xinjiang/counties_census2020.csv``, 2020 census by county)
    columns ``name_census`` (or ``name_map``), ``pop2020_census``, ``lon_rep``,
    ``lat_rep``, optional ``adcode_census``, ``prefecture``. Each row becomes a
    ``county`` place at its representative point, with the Chinese name as
    both ``name`` and ``name_zh``, the adcode as ``code`` and the prefecture as
    ``admin``.
``geonames`` (as ``xinjiang/cities_geonames.csv``, GeoNames cities500)
    columns ``geonameid,name,latitude,longitude,population``. Rows become
    ``city`` places; a population of 0 means *unknown* in GeoNames and is read
    as ``None``.
``places`` (what :func:`write_places_csv` writes)
    columns ``name,latitude,longitude`` and optional ``population,kind,admin,
    name_zh,code`` (kind defaults to ``city``; empty population = unknown).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tianshan.core.errors import DomainError, InputError
from tianshan.io.atomic import atomic_write_text
from tianshan.regions._table import Row, read_rows
from tianshan.regions.model import Place

CENSUS_COLUMNS = ("pop2020_census", "lon_rep", "lat_rep")
GEONAMES_COLUMNS = ("geonameid", "name", "latitude", "longitude", "population")
PLACES_COLUMNS = ("name", "latitude", "longitude", "population", "kind", "admin", "name_zh", "code")


def places_shape(header: list[str]) -> str:
    """``"census"``, ``"geonames"`` or ``"places"`` for a CSV header; ``""`` if none fits."""
    cols = set(header)
    if set(CENSUS_COLUMNS) <= cols and ({"name_census", "name_map"} & cols):
        return "census"
    if set(GEONAMES_COLUMNS) <= cols:
        return "geonames"
    if set(PLACES_COLUMNS[:3]) <= cols:
        return "places"
    return ""


def _coords(row: Row, lat_col: str, lon_col: str) -> tuple[float, float]:
    lat, lon = row.number(lat_col), row.number(lon_col)
    if not -90 <= lat <= 90:
        raise row.error(f"{lat!r} is outside [-90, 90]", lat_col)
    if not -180 <= lon <= 180:
        raise row.error(f"{lon!r} is outside [-180, 180]", lon_col)
    return lat, lon


def _population(row: Row, column: str, required: bool, zero_is_unknown: bool = False) -> int | None:
    pop = row.integer(column, required)
    if pop is not None and pop < 0:
        raise row.error(f"population must be >= 0, got {pop}", column)
    if zero_is_unknown and pop == 0:
        return None
    return pop


def _place(row: Row, shape: str) -> Place:
    if shape == "census":
        name = row.text("name_census", required=False) or row.text("name_map")
        lat, lon = _coords(row, "lat_rep", "lon_rep")
        return Place(name, lat, lon, _population(row, "pop2020_census", True), "county",
                     admin=row.text("prefecture", required=False), name_zh=name,
                     code=row.text("adcode_census", required=False) or row.text("adcode_map", required=False))
    if shape == "geonames":
        lat, lon = _coords(row, "latitude", "longitude")
        return Place(row.text("name"), lat, lon, _population(row, "population", False, zero_is_unknown=True),
                     "city", code=row.text("geonameid", required=False))
    lat, lon = _coords(row, "latitude", "longitude")
    return Place(row.text("name"), lat, lon, _population(row, "population", False),
                 row.text("kind", required=False) or "city", admin=row.text("admin", required=False),
                 name_zh=row.text("name_zh", required=False), code=row.text("code", required=False))


def read_places_csv(path: str | Path) -> tuple[Place, ...]:
    """Places from a census, GeoNames or Tianshan places CSV (shape chosen from the header)."""
    header, rows = read_rows(path)
    shape = places_shape(header)
    if not shape:
        raise InputError(f"unrecognised places header {','.join(header)!r}: expected a census table "
                         f"({','.join(CENSUS_COLUMNS)},name_census), GeoNames ({','.join(GEONAMES_COLUMNS)}) "
                         f"or places ({','.join(PLACES_COLUMNS[:3])},...)", str(path), None)
    out: list[Place] = []
    for row in rows:
        try:
            out.append(_place(row, shape))
        except DomainError as err:
            raise row.error(str(err), "kind" if "kind" in str(err) else None) from None
    return tuple(out)


def places_csv_text(places: tuple[Place, ...] | list[Place]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(PLACES_COLUMNS)
    for p in places:
        w.writerow([p.name, repr(p.latitude_deg), repr(p.longitude_deg),
                    "" if p.population is None else p.population, p.kind, p.admin, p.name_zh, p.code])
    return buf.getvalue()


def write_places_csv(places: tuple[Place, ...] | list[Place], path: str | Path) -> Path:
    """Write ``places`` in the ``places`` shape, atomically; returns the path."""
    return atomic_write_text(path, places_csv_text(places))
