"""Events: the versioned history of origins and magnitudes of one physical event."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum

from tianshan.core.errors import DomainError
from tianshan.core.ids import new_resource_id
from tianshan.core.magnitude import Magnitude
from tianshan.core.origin import Origin
from tianshan.core.pick import Amplitude, Pick
from tianshan.core.timeutil import as_utc, utc_now


class EventType(str, Enum):
    """Event type; values are QuakeML 1.2 EventType strings."""

    EARTHQUAKE = "earthquake"
    EXPLOSION = "explosion"
    QUARRY_BLAST = "quarry blast"
    COLLAPSE = "collapse"
    LANDSLIDE = "landslide"
    OTHER = "other event"
    NOT_EXISTING = "not existing"

    @classmethod
    def from_quakeml(cls, value: str | None) -> "EventType | None":
        """Map a QuakeML type to ours; unknown specialised types fall back to a family."""
        if value is None:
            return None
        try:
            return cls(value)
        except ValueError:
            pass
        v = value.lower()
        if "explosion" in v or "blast" in v:
            return cls.EXPLOSION
        if "collapse" in v:
            return cls.COLLAPSE
        if "slide" in v or "avalanche" in v:
            return cls.LANDSLIDE
        if v in ("induced or triggered event", "rock burst", "ice quake"):
            return cls.EARTHQUAKE
        return cls.OTHER


@dataclass(frozen=True, slots=True)
class Event:
    """One event with every origin and magnitude ever computed for it.

    ``origins`` and ``magnitudes`` are append-only histories (oldest first);
    the preferred ones are named by id. Use :meth:`with_origin` /
    :meth:`with_magnitude` to get a new Event with one more version.
    """

    type: EventType | None = EventType.EARTHQUAKE
    type_certainty: str | None = None  # QuakeML: "known" / "suspected"
    origins: tuple[Origin, ...] = ()
    magnitudes: tuple[Magnitude, ...] = ()
    picks: tuple[Pick, ...] = ()
    amplitudes: tuple[Amplitude, ...] = ()
    preferred_origin_id: str | None = None
    preferred_magnitude_id: str | None = None
    region_name: str = ""
    id: str = field(default_factory=lambda: new_resource_id("event"))
    created_at: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        if self.type is not None:
            object.__setattr__(self, "type", EventType(self.type))
        if self.type_certainty not in (None, "known", "suspected"):
            raise DomainError(f"event type_certainty: expected known or suspected, got {self.type_certainty!r}")
        for name in ("origins", "magnitudes", "picks", "amplitudes"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "created_at", as_utc(self.created_at, "event created_at"))
        for name, items in (("origin", self.origins), ("magnitude", self.magnitudes),
                            ("pick", self.picks), ("amplitude", self.amplitudes)):
            ids = [x.id for x in items]
            if len(set(ids)) != len(ids):
                raise DomainError(f"event {self.id}: duplicate {name} id")
        if self.preferred_origin_id is not None and self.preferred_origin_id not in {o.id for o in self.origins}:
            raise DomainError(f"event {self.id}: preferred origin {self.preferred_origin_id} is not among its origins")
        if (self.preferred_magnitude_id is not None
                and self.preferred_magnitude_id not in {m.id for m in self.magnitudes}):
            raise DomainError(
                f"event {self.id}: preferred magnitude {self.preferred_magnitude_id} is not among its magnitudes")

    @property
    def preferred_origin(self) -> Origin | None:
        for o in self.origins:
            if o.id == self.preferred_origin_id:
                return o
        return self.origins[-1] if self.origins else None

    @property
    def preferred_magnitude(self) -> Magnitude | None:
        for m in self.magnitudes:
            if m.id == self.preferred_magnitude_id:
                return m
        return self.magnitudes[-1] if self.magnitudes else None

    def with_origin(self, origin: Origin, preferred: bool = True) -> "Event":
        """A new Event with ``origin`` appended; its version follows the last one."""
        version = max((o.version for o in self.origins), default=0) + 1
        if origin.version != version:
            origin = replace(origin, version=version)
        return replace(self, origins=self.origins + (origin,),
                       preferred_origin_id=origin.id if preferred else self.preferred_origin_id)

    def with_magnitude(self, magnitude: Magnitude, preferred: bool = True) -> "Event":
        """A new Event with ``magnitude`` appended (version = previous of its type + 1)."""
        version = max((m.version for m in self.magnitudes if m.type == magnitude.type), default=0) + 1
        if magnitude.version != version:
            magnitude = replace(magnitude, version=version)
        return replace(self, magnitudes=self.magnitudes + (magnitude,),
                       preferred_magnitude_id=magnitude.id if preferred else self.preferred_magnitude_id)
