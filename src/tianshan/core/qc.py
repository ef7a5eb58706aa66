"""Waveform quality-control findings (pre-pick QC, station health).

A :class:`QCRecord` says that one stream had one kind of problem over a time
span. The meaning and unit of ``value`` depend on the kind (see
:class:`QCKind`); ``detail`` is a short human-readable note.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from tianshan.core._check import finite
from tianshan.core.errors import DomainError
from tianshan.core.ids import StreamID
from tianshan.core.timeutil import as_utc


class QCKind(str, Enum):
    """What a :class:`QCRecord` reports, and the unit of its ``value``.

    * ``gap``: samples missing over [start, end]; value = duration in s.
    * ``overlap``: two records cover [start, end]; value = duration in s.
    * ``spike``: a short glitch; value = sample value minus the local median (raw units, counts).
    * ``clipping``: samples flat-topped at a level; value = the level (raw units, counts).
    * ``offset``: a long one-sided excursion from the record's level (a step, mass
      re-centring, a sensor recovering after power-up); value = the extreme sample (counts).
    * ``flat``: constant samples (dead or stuck channel); value = duration in s.
    * ``sample_rate``: a record with a wrong or changed sample rate; value = its rate in Hz.
    * ``time_tear``: a timing discontinuity between records; value = the jump in s
      (positive: later than continuous, negative: earlier).
    * ``availability``: share of the window with data; value = percent (MUSTANG
      ``percent_availability``).
    * ``invalid``: unusable samples (not finite); value = number of samples.
    * ``latency``: a live station's data latency snapshot (not a finding): start = time of the
      newest sample, end = wall time of the snapshot; value = end - start in s.
    """

    GAP = "gap"
    OVERLAP = "overlap"
    SPIKE = "spike"
    CLIPPING = "clipping"
    OFFSET = "offset"
    FLAT = "flat"
    SAMPLE_RATE = "sample_rate"
    TIME_TEAR = "time_tear"
    AVAILABILITY = "availability"
    INVALID = "invalid"
    LATENCY = "latency"


@dataclass(frozen=True, slots=True)
class QCRecord:
    """One QC finding on one stream over ``[start, end]`` (aware UTC, ``start <= end``)."""

    stream_id: StreamID
    start: datetime
    end: datetime
    kind: QCKind
    value: float
    detail: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.stream_id, StreamID):
            raise DomainError(f"qc record stream_id: expected a StreamID, got {self.stream_id!r}")
        object.__setattr__(self, "start", as_utc(self.start, "qc record start"))
        object.__setattr__(self, "end", as_utc(self.end, "qc record end"))
        if self.end < self.start:
            raise DomainError(f"qc record: end {self.end.isoformat()} is before start {self.start.isoformat()}")
        try:
            object.__setattr__(self, "kind", QCKind(self.kind))
        except ValueError:
            raise DomainError(f"qc record kind: unknown {self.kind!r} "
                              f"(expected one of {', '.join(k.value for k in QCKind)})") from None
        object.__setattr__(self, "value", finite(f"qc record {self.kind.value} value", self.value))
        if not isinstance(self.detail, str):
            raise DomainError(f"qc record detail: expected text, got {self.detail!r}")

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()
