"""Identifiers: SEED stream IDs and QuakeML resource identifiers."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from tianshan.core.errors import DomainError

_NET = re.compile(r"^[A-Z0-9]{1,2}$")
_STA = re.compile(r"^[A-Z0-9]{1,5}$")
_LOC = re.compile(r"^[A-Z0-9]{0,2}$")
_CHA = re.compile(r"^[A-Z0-9]{3}$")

#: Authority used in resource identifiers created by Tianshan.
AUTHORITY = "org.tianshan"


@dataclass(frozen=True, slots=True, order=True)
class StreamID:
    """A SEED stream identifier ``NET.STA.LOC.CHA`` (SEED 2.4 manual, ch. 8).

    Network 1-2, station 1-5, location 0-2 and channel exactly 3 characters,
    upper-case letters and digits. An empty location is written ``""``
    (``--`` is accepted on input, as in FDSN web services).
    """

    network: str
    station: str
    location: str
    channel: str

    def __post_init__(self) -> None:
        loc = "" if self.location == "--" else self.location
        object.__setattr__(self, "location", loc)
        for name, rx, value in (
            ("network", _NET, self.network),
            ("station", _STA, self.station),
            ("location", _LOC, loc),
            ("channel", _CHA, self.channel),
        ):
            if not isinstance(value, str) or not rx.match(value):
                raise DomainError(f"stream id {name}: invalid code {value!r}")

    @classmethod
    def parse(cls, text: str) -> "StreamID":
        """Parse ``NET.STA.LOC.CHA`` (location may be empty or ``--``)."""
        parts = str(text).strip().split(".")
        if len(parts) != 4:
            raise DomainError(f"stream id: expected NET.STA.LOC.CHA, got {text!r}")
        return cls(*parts)

    @property
    def station_id(self) -> str:
        """``NET.STA``."""
        return f"{self.network}.{self.station}"

    @property
    def component(self) -> str:
        """Orientation code (last channel letter: Z, N, E, 1, 2...)."""
        return self.channel[2]

    def with_channel(self, channel: str) -> "StreamID":
        return StreamID(self.network, self.station, self.location, channel)

    def __str__(self) -> str:
        return f"{self.network}.{self.station}.{self.location}.{self.channel}"


def new_resource_id(kind: str) -> str:
    """A new QuakeML resource identifier ``smi:org.tianshan/<kind>/<uuid>``.

    QuakeML 1.2 (Schorlemmer et al. 2011) requires ``smi:`` URIs with an
    authority; a random UUID makes them unique across processes.
    """
    return f"smi:{AUTHORITY}/{kind}/{uuid.uuid4().hex}"
