"""Features of an event that a network uses to tell earthquakes from explosions.

Catalog features (from the origin and magnitude alone): focal depth, magnitude,
local time of day and day of week, distance to the nearest known quarry or mine.
Blasting is done in working hours on working days, at the surface, at a handful
of known sites; earthquakes happen at any hour, mostly at depth. These are the
features of the PNSN discrimination practice (Wiemer & Baer 2000, *Mapping and
removing quarry blast events from seismicity catalogs*, BSSA 90(2), 525-530,
day/night rate ratio; Horasan et al. 2009, SRL 80(5), 735-743) and of the
hour/weekday/depth screens of regional networks.

Waveform features, when a stream and picks are available, are computed in
:mod:`tianshan.events.classify.waveform` and carried in the same
:class:`EventFeatures`.

Quarries come from the region profile's ``quarries.csv``
(:func:`tianshan.regions.quarries_csv.read_region_quarries`) or the caller.

Time of day is *local*: the time zone is a parameter (an IANA name such as
``"Asia/Urumqi"`` (UTC+6, close to local solar time in Xinjiang; the working
day there runs about two hours later on Beijing time than in eastern China),
``"Asia/Shanghai"`` (Beijing time, UTC+8), ``"America/Los_Angeles"`` for the
PNSN training catalog, or a fixed offset in hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Sequence

from tianshan.core.errors import DomainError
from tianshan.core.event import Event
from tianshan.core.timeutil import as_utc
from tianshan.regions.model import haversine_m
from tianshan.regions.quarries_csv import Quarry

#: Default time zone for Xinjiang events (local solar-ish time, UTC+6).
XINJIANG_TIMEZONE = "Asia/Urumqi"


def as_quarries(items: Sequence) -> tuple[Quarry, ...]:
    """Quarries from :class:`Quarry` objects or ``(lat_deg, lon_deg, radius_m)`` tuples."""
    out = []
    for q in items:
        if isinstance(q, Quarry):
            out.append(q)
            continue
        try:
            out.append(Quarry(*q))
        except TypeError:
            raise DomainError(f"quarry: expected (lat_deg, lon_deg[, radius_m[, name]]), got {q!r}") from None
    return tuple(out)


def resolve_timezone(tz: str | float | int | tzinfo) -> tzinfo:
    """A tzinfo from an IANA name, a fixed UTC offset in hours, or a tzinfo."""
    if isinstance(tz, tzinfo):
        return tz
    if isinstance(tz, (int, float)) and not isinstance(tz, bool):
        if not -14 <= tz <= 14:
            raise DomainError(f"time zone offset: {tz!r} h is outside [-14, 14]")
        return timezone(timedelta(hours=float(tz)))
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(f"time zone {tz!r}: unknown IANA name (or give a UTC offset in hours)") from None


@dataclass(frozen=True, slots=True)
class EventFeatures:
    """Discrimination features of one event; ``None`` = not available.

    ``depth_km`` below sea level (negative above), ``local_hour`` in [0, 24)
    (fractional), ``weekday`` 0 = Monday ... 6 = Sunday, ``quarry_distance_km``
    to the nearest known quarry's centre, ``at_quarry`` within its radius;
    ``sp_amplitude_log10`` is the network median of log10(S/P) peak amplitude
    ratios and ``spectral_ratio_log10`` of log10(high/low frequency) P-wave
    spectral ratios (see :mod:`tianshan.events.classify.waveform`).
    """

    depth_km: float | None = None
    magnitude: float | None = None
    local_hour: float | None = None
    weekday: int | None = None
    quarry_distance_km: float | None = None
    at_quarry: bool | None = None
    sp_amplitude_log10: float | None = None
    spectral_ratio_log10: float | None = None
    station_count: int = 0

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}


def local_time(t: datetime, tz: str | float | tzinfo = XINJIANG_TIMEZONE) -> datetime:
    """``t`` (UTC) in the given time zone."""
    return as_utc(t).astimezone(resolve_timezone(tz))


def catalog_features(event: Event, quarries: Sequence = (), tz: str | float | tzinfo = XINJIANG_TIMEZONE,
                     ) -> EventFeatures:
    """Catalog features of an event's preferred origin and magnitude."""
    o = event.preferred_origin
    m = event.preferred_magnitude
    if o is None:
        return EventFeatures(magnitude=None if m is None else m.value)
    lt = local_time(o.time, tz)
    dist = at = None
    qs = as_quarries(quarries)
    if qs:
        d = [haversine_m(o.latitude_deg, o.longitude_deg, q.latitude_deg, q.longitude_deg) for q in qs]
        k = min(range(len(d)), key=d.__getitem__)
        dist = d[k] / 1000.0
        at = any(di <= q.radius_m for di, q in zip(d, qs))
    return EventFeatures(depth_km=o.depth_m / 1000.0, magnitude=None if m is None else m.value,
                         local_hour=lt.hour + lt.minute / 60.0 + lt.second / 3600.0, weekday=lt.weekday(),
                         quarry_distance_km=dist, at_quarry=at)
