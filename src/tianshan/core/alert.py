"""Earthquake early-warning alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from tianshan.core._check import finite, in_range, latitude, longitude, optional_nonneg
from tianshan.core.errors import DomainError
from tianshan.core.ids import new_resource_id
from tianshan.core.timeutil import as_utc, utc_now


class AlertLevel(str, Enum):
    """Alert severity, from expected intensity (GB/T 17742-2020 scale)."""

    INFO = "info"          # felt weakly or not at all (intensity < IV)
    ADVISORY = "advisory"  # IV-V
    WARNING = "warning"    # VI-VII
    SEVERE = "severe"      # >= VIII


@dataclass(frozen=True, slots=True)
class AlertTarget:
    """Predicted shaking and warning time at one place."""

    place: str
    latitude_deg: float
    longitude_deg: float
    intensity: float
    warning_time_s: float

    def __post_init__(self) -> None:
        latitude(f"alert target {self.place} latitude", self.latitude_deg)
        longitude(f"alert target {self.place} longitude", self.longitude_deg)
        in_range(f"alert target {self.place} intensity", self.intensity, 0.0, 12.0)
        finite(f"alert target {self.place} warning_time_s", self.warning_time_s)


@dataclass(frozen=True, slots=True)
class Alert:
    """One issue (``sequence``) of an alert for an event; updates increase ``sequence``.

    ``message_zh`` / ``message_en`` are the human-readable texts.
    """

    event_id: str
    sequence: int
    origin_time: datetime
    latitude_deg: float
    longitude_deg: float
    depth_m: float
    magnitude: float
    level: AlertLevel
    targets: tuple[AlertTarget, ...] = ()
    message_zh: str = ""
    message_en: str = ""
    cancelled: bool = False
    test: bool = False
    magnitude_uncertainty: float | None = None
    id: str = field(default_factory=lambda: new_resource_id("alert"))
    issued_at: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        if int(self.sequence) != self.sequence or self.sequence < 0:
            raise DomainError(f"alert sequence: must be a non-negative integer, got {self.sequence!r}")
        object.__setattr__(self, "origin_time", as_utc(self.origin_time, "alert origin_time"))
        object.__setattr__(self, "issued_at", as_utc(self.issued_at, "alert issued_at"))
        latitude("alert latitude", self.latitude_deg)
        longitude("alert longitude", self.longitude_deg)
        in_range("alert depth", self.depth_m, -9_000.0, 800_000.0, " m")
        in_range("alert magnitude", self.magnitude, -3.0, 10.5)
        optional_nonneg("alert magnitude_uncertainty", self.magnitude_uncertainty)
        object.__setattr__(self, "level", AlertLevel(self.level))
        object.__setattr__(self, "targets", tuple(self.targets))
