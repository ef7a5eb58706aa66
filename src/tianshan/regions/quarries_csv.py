"""Known quarries, mines and blasting sites of a region (``quarries.csv`` in a profile folder).

Columns ``latitude,longitude`` (WGS84 degrees) and optional ``name`` and
``radius_m`` (metres, default 3000: events within it count as "at the quarry"
for the event-type classifier). Lines starting with ``#`` are comments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from tianshan.core._check import latitude, longitude
from tianshan.core.errors import DomainError
from tianshan.regions._table import read_rows

#: File name of the quarry list inside a region profile folder.
QUARRIES_FILE = "quarries.csv"
DEFAULT_RADIUS_M = 3000.0


@dataclass(frozen=True, slots=True)
class Quarry:
    """A known quarry, mine or blasting site: events within ``radius_m`` are "at the quarry"."""

    latitude_deg: float
    longitude_deg: float
    radius_m: float = DEFAULT_RADIUS_M
    name: str = ""

    def __post_init__(self) -> None:
        latitude(f"quarry {self.name} latitude", self.latitude_deg)
        longitude(f"quarry {self.name} longitude", self.longitude_deg)
        if not (isinstance(self.radius_m, (int, float)) and math.isfinite(self.radius_m) and self.radius_m > 0):
            raise DomainError(f"quarry {self.name} radius_m: must be > 0, got {self.radius_m!r}")


def read_quarries_csv(path: str | Path) -> tuple[Quarry, ...]:
    """Quarries from a CSV file; a bad row raises :class:`~tianshan.core.errors.InputError` naming its line."""
    _, rows = read_rows(path, required=("latitude", "longitude"))
    out = []
    for row in rows:
        radius = row.number("radius_m", required=False)
        try:
            out.append(Quarry(row.number("latitude"), row.number("longitude"),
                              DEFAULT_RADIUS_M if radius is None else radius, row.text("name", required=False)))
        except DomainError as err:
            raise row.error(str(err)) from None
    return tuple(out)


def read_region_quarries(folder: str | Path) -> tuple[Quarry, ...]:
    """The quarries of a region profile folder (empty when it has no ``quarries.csv``)."""
    path = Path(folder) / QUARRIES_FILE
    return read_quarries_csv(path) if path.is_file() else ()
