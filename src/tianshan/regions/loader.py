"""Load a region profile folder.

A profile folder holds station lists, a 1-D velocity model, places, faults and
optionally raster paths. An optional manifest ``region.toml`` names them
(paths relative to the folder)::

    name = "xinjiang"
    stations = ["stations.xml"]          # StationXML (.xml) or CSV (.csv); a string or a list
    simulated_stations = true            # optional: all stations simulated, or a list ["TS.LUNT", ...]
    velocity = "velocity.csv"
    velocity_name = "xinjiang-2018"      # optional, default from the file
    moho_km = 54.0                       # optional, default from the file
    places = ["counties_census2020.csv", "cities_geonames.csv"]   # optional
    faults = ["faults.geojson"]          # optional
    vs30 = "vs30.tif"                    # optional GeoTIFF, must exist
    exposure = "exposure.tif"            # optional GeoTIFF, must exist
    bounds = [73.0, 34.0, 97.0, 50.0]    # optional west, south, east, north (deg)

Without a manifest, files are found by name (case-insensitive):
``stations*.xml`` (or, when there is none, ``stations*.csv``) - required;
``velocity*.csv`` - exactly one, required; ``counties*census*.csv``,
``cities*.csv``, ``places*.csv`` - places; ``faults*.geojson`` - faults;
``vs30*.tif[f]``, ``exposure*.tif[f]`` - rasters. The region's name is the
folder's name.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from tianshan.config.tomlfile import find_key_line, read_toml
from tianshan.core.errors import DomainError, InputError
from tianshan.core.station import Station
from tianshan.regions.faults_geojson import read_faults_geojson
from tianshan.regions.model import Bounds, Fault, Place, RegionProfile
from tianshan.regions.places_csv import read_places_csv
from tianshan.regions.stations_csv import read_stations_csv
from tianshan.regions.velocity_csv import read_velocity_csv

MANIFEST_NAME = "region.toml"

PATTERNS: dict[str, tuple[str, ...]] = {
    "stations_xml": ("stations*.xml",),
    "stations_csv": ("stations*.csv",),
    "velocity": ("velocity*.csv",),
    "places": ("counties*census*.csv", "cities*.csv", "places*.csv"),
    "faults": ("faults*.geojson",),
    "vs30": ("vs30*.tif", "vs30*.tiff"),
    "exposure": ("exposure*.tif", "exposure*.tiff"),
}


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class Manifest(BaseModel):
    """Schema of ``region.toml`` (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    description: str = ""
    stations: list[str]
    simulated_stations: bool | list[str] = False
    velocity: str
    velocity_name: str | None = None
    moho_km: float | None = None
    places: list[str] = []
    faults: list[str] = []
    vs30: str | None = None
    exposure: str | None = None
    bounds: tuple[float, float, float, float] | None = None

    @field_validator("stations", "places", "faults", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return _as_list(value)


def _matches(folder: Path, patterns: tuple[str, ...]) -> list[Path]:
    found = [p for p in sorted(folder.iterdir())
             if p.is_file() and any(fnmatch.fnmatch(p.name.lower(), pat) for pat in patterns)]
    return found


def discover(folder: Path) -> Manifest:
    """A manifest built from the conventional file names in ``folder``."""
    stations = _matches(folder, PATTERNS["stations_xml"]) or _matches(folder, PATTERNS["stations_csv"])
    if not stations:
        raise InputError("missing required file: no stations*.xml or stations*.csv (and no region.toml)",
                         str(folder))
    velocity = _matches(folder, PATTERNS["velocity"])
    if not velocity:
        raise InputError("missing required file: no velocity*.csv (and no region.toml)", str(folder))
    if len(velocity) > 1:
        raise InputError(f"ambiguous velocity model: {', '.join(p.name for p in velocity)}; "
                         "name one in region.toml", str(folder))
    places = _matches(folder, PATTERNS["places"])
    faults = _matches(folder, PATTERNS["faults"])
    rasters = {}
    for key in ("vs30", "exposure"):
        hits = _matches(folder, PATTERNS[key])
        if len(hits) > 1:
            raise InputError(f"ambiguous {key} raster: {', '.join(p.name for p in hits)}", str(folder))
        rasters[key] = hits[0].name if hits else None
    return Manifest(name=folder.resolve().name, stations=[p.name for p in stations], velocity=velocity[0].name,
                    places=[p.name for p in places], faults=[p.name for p in faults], **rasters)


def read_manifest(path: Path) -> Manifest:
    """Parse and check ``region.toml``; errors name the key and its line."""
    data = read_toml(path)
    try:
        return Manifest.model_validate(data)
    except ValidationError as err:
        e = err.errors(include_url=False)[0]
        loc = tuple(str(p) for p in e["loc"])
        text = path.read_text(encoding="utf-8")
        line = find_key_line(text, loc[:1])
        if e["type"] == "extra_forbidden":
            msg = f"unknown key {loc[0]!r} (known: {', '.join(Manifest.model_fields)})"
        elif e["type"] == "missing":
            msg = f"missing required key {loc[0]!r}"
        else:
            msg = f"{e['msg']}, got {e.get('input')!r}"
        raise InputError(msg, str(path), line, ".".join(loc)) from None


def _existing(folder: Path, name: str, what: str, manifest: Path | None) -> Path:
    path = Path(name).expanduser()
    path = path if path.is_absolute() else folder / path
    if not path.is_file():
        where = f" (named in {manifest.name})" if manifest else ""
        raise InputError(f"missing required file: {what} {name!r} not found{where}", str(path))
    return path


def read_station_file(path: Path) -> tuple[Station, ...]:
    """Stations from a StationXML (``.xml``) or CSV file."""
    if path.suffix.lower() == ".xml":
        from tianshan.io.stationxml import read_stationxml  # ObsPy behind it: import on use

        try:
            return tuple(read_stationxml(path))
        except DomainError as err:
            raise InputError(str(err), str(path)) from None
    return read_stations_csv(path)


def _stations(folder: Path, m: Manifest, manifest: Path | None) -> tuple[Station, ...]:
    out: list[Station] = []
    seen: dict[str, str] = {}
    streams: dict[tuple, str] = {}
    for name in m.stations:
        path = _existing(folder, name, "station file", manifest)
        for st in read_station_file(path):
            if st.station_id in seen:
                raise InputError(f"duplicate station {st.station_id} (also in {seen[st.station_id]})",
                                 str(path), None, "station")
            seen[st.station_id] = path.name
            for ch in st.channels:
                key = (ch.stream_id, ch.start)
                if key in streams:
                    raise InputError(f"duplicate stream id {ch.stream_id}", str(path), None, "channel")
                streams[key] = path.name
            out.append(st)
    if m.simulated_stations is True:
        out = [dataclasses.replace(st, simulated=True) for st in out]
    elif m.simulated_stations:
        wanted = set(m.simulated_stations)
        unknown = wanted - set(seen)
        if unknown:
            raise InputError(f"simulated_stations names unknown station(s) {', '.join(sorted(unknown))}",
                             str(manifest), None, "simulated_stations")
        out = [dataclasses.replace(st, simulated=True) if st.station_id in wanted else st for st in out]
    return tuple(out)


def load_region(path: str | Path) -> RegionProfile:
    """Read a region profile folder (or its ``region.toml``) into a :class:`RegionProfile`.

    Every problem is an :class:`~tianshan.core.errors.InputError` naming the
    file, line and field; unusable fault features are skipped and counted in
    ``profile.skipped`` (``summary()["skipped"]``).
    """
    path = Path(path)
    if path.is_file() and path.name == MANIFEST_NAME:
        folder = path.parent
    elif path.is_dir():
        folder = path
    elif path.exists():
        raise InputError("not a region folder or region.toml", str(path))
    else:
        raise InputError("region folder does not exist", str(path))
    manifest_path = folder / MANIFEST_NAME
    if manifest_path.is_file():
        m = read_manifest(manifest_path)
        manifest: Path | None = manifest_path
    else:
        m = discover(folder)
        manifest = None
    stations = _stations(folder, m, manifest)
    velocity = read_velocity_csv(_existing(folder, m.velocity, "velocity model", manifest),
                                 name=m.velocity_name, moho_km=m.moho_km)
    places: list[Place] = []
    for name in m.places:
        places.extend(read_places_csv(_existing(folder, name, "places file", manifest)))
    faults: list[Fault] = []
    skipped_faults = 0
    for name in m.faults:
        got, skipped = read_faults_geojson(_existing(folder, name, "faults file", manifest))
        faults.extend(got)
        skipped_faults += skipped
    rasters = {key: None if getattr(m, key) is None else
               _existing(folder, getattr(m, key), f"{key} raster", manifest)
               for key in ("vs30", "exposure")}
    try:
        bounds = None if m.bounds is None else Bounds(*m.bounds)
        return RegionProfile(
            name=m.name or folder.resolve().name, stations=stations, velocity_model=velocity,
            places=tuple(places), faults=tuple(faults), vs30_path=rasters["vs30"],
            exposure_path=rasters["exposure"], source=str(folder), bounds=bounds,
            skipped=(("faults", skipped_faults),) if skipped_faults else ())
    except DomainError as err:
        raise InputError(str(err), str(manifest or folder)) from None
