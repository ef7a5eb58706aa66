"""Column types of the store.

:class:`UTCDateTime` keeps aware UTC datetimes exact to the microsecond on
every backend: PostgreSQL ``timestamptz`` (microsecond resolution), and on
SQLite a 64-bit integer count of microseconds since 1970-01-01T00:00:00Z, so
that ordering and range queries are numeric and no precision is lost to text
formats or floats.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from tianshan.core.timeutil import as_utc

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def to_microseconds(value: datetime) -> int:
    """Exact integer microseconds since the POSIX epoch (no float rounding)."""
    return (as_utc(value) - EPOCH) // _ONE_US


def from_microseconds(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(value))


class UTCDateTime(TypeDecorator):
    """Aware UTC datetime; naive input is taken as UTC (as in :func:`tianshan.core.timeutil.as_utc`)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value, dialect: Dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return to_microseconds(value)
        return as_utc(value)

    def process_result_value(self, value, dialect: Dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return from_microseconds(value)
        return as_utc(value)

    def __repr__(self) -> str:  # as alembic renders it in migration scripts
        return "UTCDateTime()"
