"""Phase picks and amplitudes (QuakeML 1.2 Pick / Amplitude concepts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from tianshan.core._check import finite, optional_nonneg
from tianshan.core.errors import DomainError
from tianshan.core.ids import StreamID, new_resource_id
from tianshan.core.timeutil import as_utc, optional_utc, utc_now


class EvaluationMode(str, Enum):
    """QuakeML EvaluationMode."""

    AUTOMATIC = "automatic"
    MANUAL = "manual"


class Polarity(str, Enum):
    """QuakeML PickPolarity (first-motion direction)."""

    POSITIVE = "positive"
    NEGATIVE = "negative"
    UNDECIDABLE = "undecidable"


@dataclass(frozen=True, slots=True)
class Pick:
    """An onset time of a phase on one stream.

    ``probability`` is an ML picker's peak probability (0-1), ``None`` for
    classical pickers; ``method`` names the picker (``"stalta-aic"``,
    ``"phasenet"``...).
    """

    stream_id: StreamID
    time: datetime
    phase: str
    time_uncertainty_s: float | None = None
    polarity: Polarity | None = None
    method: str = ""
    probability: float | None = None
    evaluation_mode: EvaluationMode = EvaluationMode.AUTOMATIC
    id: str = field(default_factory=lambda: new_resource_id("pick"))
    created_at: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        object.__setattr__(self, "time", as_utc(self.time, "pick time"))
        object.__setattr__(self, "created_at", as_utc(self.created_at, "pick created_at"))
        if not self.phase:
            raise DomainError("pick phase: must not be empty")
        optional_nonneg("pick time_uncertainty_s", self.time_uncertainty_s)
        if self.probability is not None and not 0.0 <= finite("pick probability", self.probability) <= 1.0:
            raise DomainError(f"pick probability: must be within [0, 1], got {self.probability!r}")
        if self.polarity is not None:
            object.__setattr__(self, "polarity", Polarity(self.polarity))
        object.__setattr__(self, "evaluation_mode", EvaluationMode(self.evaluation_mode))


@dataclass(frozen=True, slots=True)
class Amplitude:
    """A measured amplitude (e.g. Wood-Anderson ``AML``, ``PGA``, ``PGV``).

    ``value`` is in SI ``unit`` (``"m"``, ``"m/s"``, ``"m/s**2"``);
    ``period_s`` is the period at which it was measured, if any.
    """

    stream_id: StreamID
    type: str
    value: float
    unit: str
    time: datetime | None = None
    period_s: float | None = None
    snr: float | None = None
    pick_id: str | None = None
    method: str = ""
    evaluation_mode: EvaluationMode = EvaluationMode.AUTOMATIC
    id: str = field(default_factory=lambda: new_resource_id("amplitude"))
    created_at: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        finite(f"amplitude {self.type} value", self.value)
        if self.unit not in ("m", "m/s", "m/s**2", "s", "other"):
            raise DomainError(f"amplitude unit: expected m, m/s, m/s**2, s or other, got {self.unit!r}")
        object.__setattr__(self, "time", optional_utc(self.time, "amplitude time"))
        object.__setattr__(self, "created_at", as_utc(self.created_at, "amplitude created_at"))
        optional_nonneg("amplitude period_s", self.period_s)
        object.__setattr__(self, "evaluation_mode", EvaluationMode(self.evaluation_mode))
