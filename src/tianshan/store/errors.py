"""Errors raised by the event store."""

from __future__ import annotations

from tianshan.core.errors import DomainError


class EventNotFoundError(KeyError):
    """No event with this id is stored (a :class:`KeyError` with a readable message)."""

    def __init__(self, event_id: str) -> None:
        super().__init__(event_id)
        self.event_id = event_id

    def __str__(self) -> str:
        return f"event {self.event_id!r} is not in the store"


class ImmutableRecordError(DomainError):
    """An attempt to change a stored insert-only record (origin, magnitude, pick, ...).

    Origins, magnitudes, picks, amplitudes, products and alerts are never
    edited: a new solution is a new record with a new id (and version).
    """


class VersionConflictError(ImmutableRecordError):
    """A record's version (or alert sequence) is already taken by another record."""
