"""Catalog CSV: one row per event with its preferred origin and magnitude.

Columns: ``event_id,time,latitude,longitude,depth_km,magnitude,magnitude_type,event_type,
evaluation_mode,evaluation_status,origin_version,phase_count,azimuthal_gap,rms``.
Times are ISO 8601 UTC with microseconds and a ``Z`` suffix; latitude/longitude in degrees,
depth in km, azimuthal gap in degrees, rms in seconds. Unknown values are empty cells.
"""

from __future__ import annotations

import csv
import os
from datetime import datetime
from pathlib import Path
from typing import Iterable

from tianshan.core.event import Event
from tianshan.io.atomic import atomic_open

COLUMNS = ("event_id", "time", "latitude", "longitude", "depth_km", "magnitude", "magnitude_type", "event_type",
           "evaluation_mode", "evaluation_status", "origin_version", "phase_count", "azimuthal_gap", "rms")


def iso_utc(t: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` of an aware UTC datetime."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _num(value) -> str:
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def catalog_row(event: Event) -> dict[str, str]:
    """The CSV cells of one event (preferred origin and magnitude; empty where unknown)."""
    o = event.preferred_origin
    m = event.preferred_magnitude
    return {
        "event_id": event.id,
        "time": "" if o is None else iso_utc(o.time),
        "latitude": "" if o is None else _num(o.latitude_deg),
        "longitude": "" if o is None else _num(o.longitude_deg),
        "depth_km": "" if o is None else _num(o.depth_m / 1000.0),
        "magnitude": "" if m is None else _num(m.value),
        "magnitude_type": "" if m is None else m.type,
        "event_type": "" if event.type is None else event.type.value,
        "evaluation_mode": "" if o is None else o.evaluation_mode.value,
        "evaluation_status": "" if o is None else o.evaluation_status.value,
        "origin_version": "" if o is None else str(o.version),
        "phase_count": "" if o is None else _num(o.phase_count),
        "azimuthal_gap": "" if o is None else _num(o.azimuthal_gap_deg),
        "rms": "" if o is None else _num(o.rms_s),
    }


def write_catalog_csv(events: Iterable[Event], path: str | os.PathLike) -> Path:
    """Write the catalog CSV atomically (header + one row per event, in the given order)."""
    path = Path(path)
    with atomic_open(path, "w") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for event in events:
            writer.writerow(catalog_row(event))
    return path
