"""Hypocentres (QuakeML 1.2 Origin, Arrival, OriginUncertainty)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from tianshan.core._check import finite, in_range, latitude, longitude, optional_nonneg
from tianshan.core.errors import DomainError
from tianshan.core.ids import new_resource_id
from tianshan.core.pick import EvaluationMode
from tianshan.core.timeutil import as_utc, utc_now


class EvaluationStatus(str, Enum):
    """QuakeML EvaluationStatus."""

    PRELIMINARY = "preliminary"
    CONFIRMED = "confirmed"
    REVIEWED = "reviewed"
    FINAL = "final"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class ErrorEllipse:
    """Horizontal confidence ellipse (QuakeML OriginUncertainty).

    Axes in metres; ``azimuth_deg`` of the major axis clockwise from north;
    ``confidence`` as a fraction (0.68, 0.90...).
    """

    semi_major_m: float
    semi_minor_m: float
    azimuth_deg: float
    confidence: float = 0.68

    def __post_init__(self) -> None:
        a = optional_nonneg("ellipse semi_major_m", self.semi_major_m)
        b = optional_nonneg("ellipse semi_minor_m", self.semi_minor_m)
        if b > a:
            raise DomainError(f"ellipse: semi-minor {b} m exceeds semi-major {a} m")
        in_range("ellipse azimuth_deg", self.azimuth_deg, 0.0, 360.0, " deg")
        in_range("ellipse confidence", self.confidence, 0.0, 1.0)


@dataclass(frozen=True, slots=True)
class Arrival:
    """Association of a pick with an origin, with its residual."""

    pick_id: str
    phase: str
    distance_deg: float | None = None
    azimuth_deg: float | None = None
    takeoff_angle_deg: float | None = None
    time_residual_s: float | None = None
    time_weight: float | None = None


@dataclass(frozen=True, slots=True)
class Origin:
    """One solution for an event's hypocentre and origin time.

    Origins are never edited: a relocation is a new Origin (new ``id``,
    ``version`` + 1) appended to the event's history.
    """

    time: datetime
    latitude_deg: float
    longitude_deg: float
    depth_m: float
    time_uncertainty_s: float | None = None
    horizontal_uncertainty_m: float | None = None
    depth_uncertainty_m: float | None = None
    ellipse: ErrorEllipse | None = None
    rms_s: float | None = None
    azimuthal_gap_deg: float | None = None
    phase_count: int | None = None
    station_count: int | None = None
    minimum_distance_deg: float | None = None
    method: str = ""
    earth_model: str = ""
    depth_fixed: bool = False
    evaluation_mode: EvaluationMode = EvaluationMode.AUTOMATIC
    evaluation_status: EvaluationStatus = EvaluationStatus.PRELIMINARY
    arrivals: tuple[Arrival, ...] = ()
    version: int = 1
    agency: str = "TIANSHAN"
    id: str = field(default_factory=lambda: new_resource_id("origin"))
    created_at: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        object.__setattr__(self, "time", as_utc(self.time, "origin time"))
        object.__setattr__(self, "created_at", as_utc(self.created_at, "origin created_at"))
        object.__setattr__(self, "latitude_deg", latitude("origin latitude", self.latitude_deg))
        object.__setattr__(self, "longitude_deg", longitude("origin longitude", self.longitude_deg))
        # Sources above the highest land (air blasts) to below the deepest slab (~800 km).
        object.__setattr__(self, "depth_m", in_range("origin depth", self.depth_m, -9_000.0, 800_000.0, " m"))
        for name in ("time_uncertainty_s", "horizontal_uncertainty_m", "depth_uncertainty_m", "rms_s",
                     "minimum_distance_deg"):
            optional_nonneg(f"origin {name}", getattr(self, name))
        if self.azimuthal_gap_deg is not None:
            in_range("origin azimuthal_gap_deg", self.azimuthal_gap_deg, 0.0, 360.0, " deg")
        for name in ("phase_count", "station_count"):
            v = getattr(self, name)
            if v is not None and (int(v) != v or v < 0):
                raise DomainError(f"origin {name}: must be a non-negative integer, got {v!r}")
        if int(self.version) < 1:
            raise DomainError(f"origin version: must be >= 1, got {self.version!r}")
        object.__setattr__(self, "arrivals", tuple(self.arrivals))
        object.__setattr__(self, "evaluation_mode", EvaluationMode(self.evaluation_mode))
        object.__setattr__(self, "evaluation_status", EvaluationStatus(self.evaluation_status))
        finite("origin version", self.version)
