"""Products: files made for an event (intensity maps, reports, QuakeML...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Mapping

from tianshan.core.errors import DomainError
from tianshan.core.ids import new_resource_id
from tianshan.core.timeutil import as_utc, utc_now


@dataclass(frozen=True, slots=True)
class Product:
    """A versioned product of ``kind`` (``"quakeml"``, ``"shakemap"``, ``"report"``...).

    ``uri`` locates the content (a path under the data directory or a URL);
    ``sha256`` fingerprints it; ``properties`` holds small JSON-able facts.
    """

    kind: str
    uri: str
    content_type: str
    event_id: str | None = None
    version: int = 1
    sha256: str | None = None
    properties: Mapping[str, object] = field(default_factory=dict)
    id: str = field(default_factory=lambda: new_resource_id("product"))
    created_at: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        if not self.kind:
            raise DomainError("product kind: must not be empty")
        if int(self.version) < 1:
            raise DomainError(f"product version: must be >= 1, got {self.version!r}")
        if self.sha256 is not None and (len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256)):
            raise DomainError(f"product sha256: expected 64 lower-case hex digits, got {self.sha256!r}")
        object.__setattr__(self, "properties", MappingProxyType(dict(self.properties)))
        object.__setattr__(self, "created_at", as_utc(self.created_at, "product created_at"))

    def __hash__(self) -> int:
        return hash(self.id)
