"""Magnitudes (QuakeML 1.2 Magnitude / StationMagnitude)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tianshan.core._check import in_range, optional_nonneg
from tianshan.core.errors import DomainError
from tianshan.core.ids import StreamID, new_resource_id
from tianshan.core.pick import EvaluationMode
from tianshan.core.origin import EvaluationStatus
from tianshan.core.timeutil import as_utc, utc_now


@dataclass(frozen=True, slots=True)
class StationMagnitude:
    """A single station's magnitude estimate."""

    stream_id: StreamID
    type: str
    value: float
    amplitude_id: str | None = None
    residual: float | None = None
    weight: float | None = None
    id: str = field(default_factory=lambda: new_resource_id("stationmagnitude"))

    def __post_init__(self) -> None:
        in_range(f"station magnitude {self.type}", self.value, -3.0, 10.5)


@dataclass(frozen=True, slots=True)
class Magnitude:
    """A network magnitude of a given ``type`` (``ML``, ``Ms``, ``mB``, ``Mw``...).

    Like origins, magnitudes are versioned and never edited in place.
    """

    type: str
    value: float
    origin_id: str | None = None
    uncertainty: float | None = None
    station_count: int | None = None
    method: str = ""
    evaluation_mode: EvaluationMode = EvaluationMode.AUTOMATIC
    evaluation_status: EvaluationStatus = EvaluationStatus.PRELIMINARY
    station_magnitudes: tuple[StationMagnitude, ...] = ()
    version: int = 1
    agency: str = "TIANSHAN"
    id: str = field(default_factory=lambda: new_resource_id("magnitude"))
    created_at: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        if not self.type:
            raise DomainError("magnitude type: must not be empty")
        in_range(f"magnitude {self.type}", self.value, -3.0, 10.5)
        optional_nonneg("magnitude uncertainty", self.uncertainty)
        if self.station_count is not None and (int(self.station_count) != self.station_count
                                               or self.station_count < 0):
            raise DomainError(f"magnitude station_count: must be a non-negative integer, got {self.station_count!r}")
        if int(self.version) < 1:
            raise DomainError(f"magnitude version: must be >= 1, got {self.version!r}")
        object.__setattr__(self, "station_magnitudes", tuple(self.station_magnitudes))
        object.__setattr__(self, "evaluation_mode", EvaluationMode(self.evaluation_mode))
        object.__setattr__(self, "evaluation_status", EvaluationStatus(self.evaluation_status))
        object.__setattr__(self, "created_at", as_utc(self.created_at, "magnitude created_at"))
