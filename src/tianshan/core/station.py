"""Stations and channels (FDSN StationXML 1.2 concepts, SI units)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from tianshan.core._check import finite, in_range, latitude, longitude
from tianshan.core.errors import DomainError
from tianshan.core.ids import StreamID
from tianshan.core.timeutil import optional_utc

#: Elevation bounds for a station on Earth (Dead Sea shore to Everest summit,
#: with margin for borehole/ocean-bottom sensors).
MIN_ELEVATION_M = -11_000.0
MAX_ELEVATION_M = 8_900.0


class InstrumentKind(str, Enum):
    """What a channel's sensor measures, which fixes its physical input unit."""

    BROADBAND = "broadband"          # velocity, m/s
    SHORT_PERIOD = "short_period"    # velocity, m/s
    STRONG_MOTION = "strong_motion"  # acceleration, m/s**2
    MEMS = "mems"                    # low-cost acceleration, m/s**2

    @property
    def input_units(self) -> str:
        return "M/S" if self in (InstrumentKind.BROADBAND, InstrumentKind.SHORT_PERIOD) else "M/S**2"


@dataclass(frozen=True, slots=True)
class StationGain:
    """Overall sensitivity of a channel (StationXML ``InstrumentSensitivity``).

    ``value`` counts per input unit (e.g. counts/(m/s)) at ``frequency_hz``.
    ``response_ref`` names where the full response lives (e.g. an NRL key,
    ``"stationxml"`` for an inline response, or a file path).
    """

    value: float
    frequency_hz: float
    input_units: str
    output_units: str = "COUNTS"
    response_ref: str | None = None

    def __post_init__(self) -> None:
        if finite("gain.value", self.value) <= 0:
            raise DomainError(f"gain.value: must be > 0, got {self.value!r}")
        if finite("gain.frequency_hz", self.frequency_hz) <= 0:
            raise DomainError(f"gain.frequency_hz: must be > 0, got {self.frequency_hz!r}")


@dataclass(frozen=True, slots=True)
class Channel:
    """One recorded component at a station."""

    stream_id: StreamID
    latitude_deg: float
    longitude_deg: float
    elevation_m: float
    sample_rate_hz: float
    depth_m: float = 0.0
    azimuth_deg: float = 0.0
    dip_deg: float = -90.0
    kind: InstrumentKind = InstrumentKind.BROADBAND
    gain: StationGain | None = None
    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        sid = str(self.stream_id)
        object.__setattr__(self, "latitude_deg", latitude(f"{sid} latitude", self.latitude_deg))
        object.__setattr__(self, "longitude_deg", longitude(f"{sid} longitude", self.longitude_deg))
        object.__setattr__(self, "elevation_m", in_range(
            f"{sid} elevation", self.elevation_m, MIN_ELEVATION_M, MAX_ELEVATION_M, " m"))
        if finite(f"{sid} sample_rate_hz", self.sample_rate_hz) <= 0:
            raise DomainError(f"{sid} sample_rate_hz: must be > 0, got {self.sample_rate_hz!r}")
        in_range(f"{sid} azimuth", self.azimuth_deg, 0.0, 360.0, " deg")
        in_range(f"{sid} dip", self.dip_deg, -90.0, 90.0, " deg")
        finite(f"{sid} depth_m", self.depth_m)
        object.__setattr__(self, "kind", InstrumentKind(self.kind))
        object.__setattr__(self, "start", optional_utc(self.start, f"{sid} start"))
        object.__setattr__(self, "end", optional_utc(self.end, f"{sid} end"))


@dataclass(frozen=True, slots=True)
class Station:
    """A station: a site with coordinates and its channels.

    ``simulated`` marks stations that do not exist in the real network
    (e.g. the built-in demo region's stations placed at real towns).
    """

    network: str
    code: str
    latitude_deg: float
    longitude_deg: float
    elevation_m: float
    name: str = ""
    channels: tuple[Channel, ...] = field(default_factory=tuple)
    start: datetime | None = None
    end: datetime | None = None
    simulated: bool = False

    def __post_init__(self) -> None:
        # Validate codes through StreamID's rules.
        StreamID(self.network, self.code, "", "XXX")
        sid = f"{self.network}.{self.code}"
        object.__setattr__(self, "latitude_deg", latitude(f"{sid} latitude", self.latitude_deg))
        object.__setattr__(self, "longitude_deg", longitude(f"{sid} longitude", self.longitude_deg))
        object.__setattr__(self, "elevation_m", in_range(
            f"{sid} elevation", self.elevation_m, MIN_ELEVATION_M, MAX_ELEVATION_M, " m"))
        object.__setattr__(self, "channels", tuple(self.channels))
        object.__setattr__(self, "start", optional_utc(self.start, f"{sid} start"))
        object.__setattr__(self, "end", optional_utc(self.end, f"{sid} end"))
        seen: set[tuple[StreamID, datetime | None]] = set()
        for ch in self.channels:
            if ch.stream_id.station_id != sid:
                raise DomainError(f"{sid}: channel {ch.stream_id} belongs to another station")
            key = (ch.stream_id, ch.start)
            if key in seen:
                raise DomainError(f"{sid}: duplicate stream id {ch.stream_id}")
            seen.add(key)

    @property
    def station_id(self) -> str:
        return f"{self.network}.{self.code}"

    @property
    def stream_ids(self) -> tuple[StreamID, ...]:
        return tuple(ch.stream_id for ch in self.channels)


def check_unique_streams(stations: "list[Station] | tuple[Station, ...]") -> None:
    """Raise :class:`DomainError` if two stations share a stream ID (same start)."""
    seen: dict[tuple[StreamID, datetime | None], str] = {}
    station_ids: dict[tuple[str, datetime | None], int] = {}
    for i, st in enumerate(stations):
        key_st = (st.station_id, st.start)
        if key_st in station_ids:
            raise DomainError(f"duplicate station {st.station_id} (entries {station_ids[key_st] + 1} and {i + 1})")
        station_ids[key_st] = i
        for ch in st.channels:
            key = (ch.stream_id, ch.start)
            if key in seen:
                raise DomainError(f"duplicate stream id {ch.stream_id}")
            seen[key] = st.station_id
