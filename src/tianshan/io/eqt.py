"""CENC EQT catalog format: fixed-width text, GBK encoded, one event per line.

EQT is the ASCII catalog format of the China Earthquake Networks Center's
CapSeis/MapSIS software (Li Shengqiang et al. 2004, *The EQ3 format of seismic
catalogue*, Earthquake 26(2), list it beside EQ2, WKF and SHK). No public
specification of the columns could be found; the layout below is derived from
the national catalog ``cenc_national_ms5.eqt`` (8,051 events, 23 BC-2022; from
Justin-147/EQSuite-EVA, whose MATLAB reader ``ReadEQT_lq.m`` reads the same
columns) and checked on every line of it:

=======  =====  ==========================================================
columns  width  field
=======  =====  ==========================================================
1-5      I5     year (right-aligned; column 1 is blank in every record)
6-15     5I2    month, day, hour, minute, second (**Beijing time**, UTC+8)
16-21    F6.2   latitude, degrees (north positive)
22-28    F7.2   longitude, degrees (east positive; values above 180 are
                read as the 0-360 convention)
29-31    F3.1   magnitude (0.0 where the catalog has none)
32-35    I4     focal depth, km (``-1`` = unknown)
36-38    A3     a code, ``000`` in every record of the reference file (its
                meaning is undocumented; kept verbatim)
39       1X     blank
40-      A      reference place name (GBK Chinese, free text to line end;
                historical records append notes such as ``BC23``)
=======  =====  ==========================================================

Lines end with CRLF. Epicentres given as 0.00/0.00 are unknown (aftershocks
listed without a location); they are kept as read. Records are read as
written: line 6523 of the national file gives 226.20 E for a "南海海域"
(South China Sea) event, an error in the source that the reader keeps (a
record accepts longitudes up to 360; :func:`event_from_record` maps them to
[-180, 180]).

:func:`read_eqt` returns :class:`EqtRecord` objects (skipping and counting
corrupt lines), :func:`write_eqt` writes records or :class:`~tianshan.core.Event`
objects atomically; :func:`event_from_record` / :func:`record_from_event`
convert between the two (times to and from UTC).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tianshan.core.errors import DomainError, InputError
from tianshan.core.event import Event
from tianshan.core.magnitude import Magnitude
from tianshan.core.origin import EvaluationStatus, Origin
from tianshan.core.pick import EvaluationMode
from tianshan.io.atomic import atomic_open

#: Character encoding of EQT files.
ENCODING = "gbk"
#: Offset of the times in an EQT file from UTC (CENC catalogs use Beijing time), hours.
BEIJING_UTC_OFFSET_H = 8.0
#: Magnitude type given to events read from EQT (CENC's unqualified "M").
EQT_MAGNITUDE_TYPE = "M"
#: Length of the fixed part of a record (columns 1-39).
FIXED_WIDTH = 39


@dataclass(frozen=True, slots=True)
class EqtRecord:
    """One EQT line, as written in the file (local time, km, degrees).

    ``time`` is naive local time of the file (Beijing time for CENC);
    ``depth_km`` is ``None`` when unknown (``-1`` in the file); ``code`` is the
    3-character field of columns 36-38; ``place`` the reference place name.
    """

    time: datetime
    latitude_deg: float
    longitude_deg: float
    magnitude: float
    depth_km: int | None
    place: str = ""
    code: str = "000"

    def __post_init__(self) -> None:
        if self.time.tzinfo is not None:
            raise DomainError("EQT record time: must be naive local time of the file")
        if not -90.0 <= self.latitude_deg <= 90.0:
            raise DomainError(f"EQT latitude: {self.latitude_deg!r} is outside [-90, 90]")
        if not -180.0 <= self.longitude_deg <= 360.0:
            raise DomainError(f"EQT longitude: {self.longitude_deg!r} is outside [-180, 360]")
        if not 0.0 <= self.magnitude <= 9.9:
            raise DomainError(f"EQT magnitude: {self.magnitude!r} does not fit F3.1 (0.0-9.9)")
        if self.depth_km is not None and not 0 <= self.depth_km <= 9999:
            raise DomainError(f"EQT depth_km: {self.depth_km!r} is outside [0, 9999]")
        if len(self.code) != 3:
            raise DomainError(f"EQT code: must be 3 characters, got {self.code!r}")
        if "\n" in self.place or "\r" in self.place:
            raise DomainError("EQT place: must be one line")


@dataclass(frozen=True, slots=True)
class EqtCatalog(Sequence):
    """Records read from an EQT file, with the corrupt lines that were skipped.

    Behaves as a sequence of :class:`EqtRecord`; ``skipped`` lists
    ``(line_number, reason)`` for each line left out.
    """

    records: tuple[EqtRecord, ...]
    skipped: tuple[tuple[int, str], ...] = field(default=())
    source: str = ""

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index):  # type: ignore[override]
        return self.records[index]

    def __iter__(self) -> Iterator[EqtRecord]:
        return iter(self.records)


def _int(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name}: not an integer: {text.strip()!r}") from None


def _float(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name}: not a number: {text.strip()!r}") from None


def parse_eqt_line(line: str) -> EqtRecord:
    """Parse one decoded EQT line (no line terminator). Raises ``ValueError`` naming the field."""
    if len(line) < FIXED_WIDTH - 1:
        raise ValueError(f"line too short ({len(line)} characters, the fixed part has {FIXED_WIDTH})")
    try:
        time = datetime(_int(line[0:5], "year"), _int(line[5:7], "month"), _int(line[7:9], "day"),
                        _int(line[9:11], "hour"), _int(line[11:13], "minute"), _int(line[13:15], "second"))
    except ValueError as err:
        raise ValueError(f"time {line[0:15].strip()!r}: {err}") from None
    depth = _int(line[31:35], "depth")
    try:
        return EqtRecord(time=time, latitude_deg=_float(line[15:21], "latitude"),
                         longitude_deg=_float(line[21:28], "longitude"),
                         magnitude=_float(line[28:31], "magnitude"),
                         depth_km=None if depth == -1 else depth, code=line[35:38],
                         place=line[39:].rstrip())
    except DomainError as err:
        raise ValueError(str(err)) from None


def format_eqt_record(record: EqtRecord) -> str:
    """The EQT line of ``record`` (no line terminator)."""
    t = record.time
    depth = -1 if record.depth_km is None else record.depth_km
    line = (f"{t.year:5d}{t.month:02d}{t.day:02d}{t.hour:02d}{t.minute:02d}{t.second:02d}"
            f"{record.latitude_deg:6.2f}{record.longitude_deg:7.2f}{record.magnitude:3.1f}"
            f"{depth:4d}{record.code} {record.place}")
    if len(line) < FIXED_WIDTH or line[FIXED_WIDTH - 1] != " ":
        raise DomainError(f"EQT record does not fit the fixed columns: {line!r}")
    return line


def read_eqt(path: str | os.PathLike, strict: bool = False) -> EqtCatalog:
    """Read an EQT file (GBK). Corrupt lines are skipped and listed in ``.skipped``
    (``strict=True`` raises :class:`InputError` naming the line instead); blank lines are ignored."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", str(path)) from None
    except IsADirectoryError:
        raise InputError("is a folder, expected an EQT file", str(path)) from None
    records: list[EqtRecord] = []
    skipped: list[tuple[int, str]] = []
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            line = raw.decode(ENCODING)
            records.append(parse_eqt_line(line))
        except (UnicodeDecodeError, ValueError) as err:
            reason = f"not GBK text ({err.reason})" if isinstance(err, UnicodeDecodeError) else str(err)
            if strict:
                raise InputError(reason, str(path), number) from None
            skipped.append((number, reason))
    if not records and skipped:
        raise InputError(f"no EQT record could be read ({len(skipped)} corrupt lines, first: "
                         f"line {skipped[0][0]}: {skipped[0][1]})", str(path))
    return EqtCatalog(tuple(records), tuple(skipped), str(path))


def _local_offset(utc_offset_h: float) -> timezone:
    return timezone(timedelta(hours=utc_offset_h))


def event_from_record(record: EqtRecord, utc_offset_h: float = BEIJING_UTC_OFFSET_H,
                      magnitude_type: str = EQT_MAGNITUDE_TYPE) -> Event:
    """A reviewed :class:`Event` from an EQT record (local time -> UTC; unknown depth -> 0 m, fixed)."""
    t = record.time.replace(tzinfo=_local_offset(utc_offset_h)).astimezone(timezone.utc)
    lon = record.longitude_deg - 360.0 if record.longitude_deg > 180.0 else record.longitude_deg
    origin = Origin(time=t, latitude_deg=record.latitude_deg, longitude_deg=lon,
                    depth_m=0.0 if record.depth_km is None else record.depth_km * 1000.0,
                    depth_fixed=record.depth_km is None, method="EQT", agency="CENC",
                    evaluation_mode=EvaluationMode.MANUAL, evaluation_status=EvaluationStatus.REVIEWED)
    mag = Magnitude(type=magnitude_type, value=record.magnitude, origin_id=origin.id, agency="CENC",
                    evaluation_mode=EvaluationMode.MANUAL, evaluation_status=EvaluationStatus.REVIEWED)
    return Event(origins=(origin,), magnitudes=(mag,), preferred_origin_id=origin.id,
                 preferred_magnitude_id=mag.id, region_name=record.place)


def record_from_event(event: Event, utc_offset_h: float = BEIJING_UTC_OFFSET_H) -> EqtRecord:
    """The EQT record of an event's preferred origin and magnitude (UTC -> local time, rounded to
    the second, 0.01 deg, 0.1 magnitude unit and 1 km, as the format holds). A fixed zero depth is
    written as unknown. Raises :class:`DomainError` for an event without origin."""
    o = event.preferred_origin
    if o is None:
        raise DomainError(f"event {event.id}: no origin, cannot write an EQT record")
    m = event.preferred_magnitude
    local = (o.time + timedelta(microseconds=500_000)).astimezone(_local_offset(utc_offset_h))
    local = local.replace(tzinfo=None, microsecond=0)
    depth = None if (o.depth_fixed and o.depth_m == 0.0) else max(0, round(o.depth_m / 1000.0))
    mag = 0.0 if m is None else min(9.9, max(0.0, round(m.value, 1)))
    return EqtRecord(time=local, latitude_deg=round(o.latitude_deg, 2), longitude_deg=round(o.longitude_deg, 2),
                     magnitude=mag, depth_km=depth, place=event.region_name.replace("\n", " "))


def write_eqt(items: Iterable[Event | EqtRecord], path: str | os.PathLike,
              utc_offset_h: float = BEIJING_UTC_OFFSET_H) -> Path:
    """Write events (their preferred origin/magnitude) or records as an EQT file, GBK, CRLF, atomically.

    Place names that GBK cannot encode raise :class:`DomainError` naming the event."""
    path = Path(path)
    lines: list[bytes] = []
    for item in items:
        rec = item if isinstance(item, EqtRecord) else record_from_event(item, utc_offset_h)
        text = format_eqt_record(rec)
        try:
            lines.append(text.encode(ENCODING) + b"\r\n")
        except UnicodeEncodeError:
            label = rec.place if isinstance(item, EqtRecord) else item.id
            raise DomainError(f"EQT: place name of {label!r} cannot be encoded as GBK") from None
    with atomic_open(path, "wb") as fh:
        fh.write(b"".join(lines))
    return path
