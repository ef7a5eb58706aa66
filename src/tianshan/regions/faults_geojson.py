"""Active faults as GeoJSON (RFC 7946), in the GEM Global Active Faults shape.

A ``FeatureCollection`` of ``LineString`` / ``MultiLineString`` features with
properties ``name``, ``slip_type``, ``average_dip``, ``average_rake``
(GEM GAF, Styron & Pagani 2020, Earthquake Spectra 36(1_suppl):160-180; the
dip/rake values are strings such as ``"65.0"``, or null). Each part of a
``MultiLineString`` becomes one :class:`~tianshan.regions.model.Fault` with
the feature's properties. ``dip_deg``/``rake_deg`` properties (what
:func:`write_faults_geojson` writes) are accepted too.

A file that is not JSON, not a FeatureCollection, or has no feature list is an
:class:`~tianshan.core.errors.InputError`. A single feature that cannot be used
(no geometry, another geometry type, too few or impossible coordinates,
non-numeric dip/rake) is skipped and counted: :func:`read_faults_geojson`
returns the faults and the number of skipped features.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tianshan.core.errors import DomainError, InputError
from tianshan.io.atomic import atomic_write_text
from tianshan.regions._table import read_text
from tianshan.regions.model import Fault


def _angle(props: dict[str, Any], *keys: str) -> float | None:
    for key in keys:
        value = props.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if isinstance(value, bool):
            raise ValueError(f"{key}: not a number: {value!r}")
        v = float(value)  # ValueError for garbage text
        if not math.isfinite(v):
            raise ValueError(f"{key}: not finite: {value!r}")
        return v
    return None


def _text(props: dict[str, Any], key: str) -> str:
    value = props.get(key)
    return "" if value is None else str(value)


def _faults_of(feature: Any) -> list[Fault]:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ValueError("not a GeoJSON Feature")
    geom = feature.get("geometry")
    props = feature.get("properties") or {}
    if not isinstance(geom, dict) or not isinstance(props, dict):
        raise ValueError("no geometry")
    kind, coords = geom.get("type"), geom.get("coordinates")
    if kind == "LineString":
        parts = [coords]
    elif kind == "MultiLineString" and isinstance(coords, list):
        parts = coords
    else:
        raise ValueError(f"geometry type {kind!r} is not a line")
    dip = _angle(props, "dip_deg", "average_dip")
    rake = _angle(props, "rake_deg", "average_rake")
    out = []
    for part in parts:
        if not isinstance(part, list):
            raise ValueError("coordinates are not a list of positions")
        pts = tuple((float(p[0]), float(p[1])) for p in part)
        out.append(Fault(_text(props, "name"), _text(props, "slip_type"), pts, dip, rake))
    return out


def read_faults_geojson(path: str | Path) -> tuple[tuple[Fault, ...], int]:
    """Faults of a GeoJSON file and the number of unusable features skipped."""
    source = str(path)
    text = read_text(Path(path))
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"invalid GeoJSON: {err.msg} (line {err.lineno}, column {err.colno})",
                         source, err.lineno) from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        got = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        raise InputError(f"invalid GeoJSON: expected a FeatureCollection, got {got!r}", source, None, "type")
    features = doc.get("features")
    if not isinstance(features, list):
        raise InputError("invalid GeoJSON: 'features' is not a list", source, None, "features")
    faults: list[Fault] = []
    skipped = 0
    for feature in features:
        try:
            faults.extend(_faults_of(feature))
        except (ValueError, TypeError, IndexError, DomainError):
            skipped += 1
    return tuple(faults), skipped


def faults_geojson_text(faults: tuple[Fault, ...] | list[Fault]) -> str:
    """GeoJSON FeatureCollection of ``faults`` (one LineString feature each)."""
    features = [{
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [list(c) for c in f.coordinates]},
        "properties": {"name": f.name or None, "slip_type": f.slip_type or None,
                       "dip_deg": f.dip_deg, "rake_deg": f.rake_deg},
    } for f in faults]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=1) + "\n"


def write_faults_geojson(faults: tuple[Fault, ...] | list[Fault], path: str | Path) -> Path:
    """Write ``faults`` as GeoJSON atomically; returns the path."""
    return atomic_write_text(path, faults_geojson_text(faults))
