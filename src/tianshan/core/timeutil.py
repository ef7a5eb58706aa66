"""Time handling: every time in the domain model is an aware UTC datetime."""

from __future__ import annotations

from datetime import datetime, timezone

from tianshan.core.errors import DomainError

UTC = timezone.utc


def as_utc(value: datetime | str | float | int, field: str = "time") -> datetime:
    """Return ``value`` as an aware UTC datetime.

    Accepts an aware or naive datetime (naive is taken as UTC, as in
    seismology), an ISO-8601 string, or POSIX seconds.
    """
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=UTC)
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            return as_utc(datetime.fromisoformat(text), field)
        except ValueError:
            raise DomainError(f"{field}: not an ISO-8601 time: {value!r}") from None
    # Anything with a .datetime (ObsPy UTCDateTime) without importing ObsPy here.
    dt = getattr(value, "datetime", None)
    if isinstance(dt, datetime):
        return as_utc(dt, field)
    raise DomainError(f"{field}: cannot interpret {value!r} as a time")


def utc_now() -> datetime:
    """Current time, aware UTC."""
    return datetime.now(UTC)


def optional_utc(value, field: str = "time") -> datetime | None:
    return None if value is None else as_utc(value, field)
