"""Event store: events with their full origin/magnitude history, stations, products, alerts.

SQLAlchemy 2 ORM over SQLite (default, ``<data_dir>/tianshan.sqlite``, WAL) or
PostgreSQL (``postgresql+psycopg://...``); schema migrations by Alembic,
shipped in ``tianshan/store/migrations``.

>>> from tianshan.store import EventStore
>>> with EventStore.open(data_dir="tianshan-data") as store:   # doctest: +SKIP
...     store.save_event(event)
"""

from tianshan.store.errors import EventNotFoundError, ImmutableRecordError, VersionConflictError
from tianshan.store.repository import UNSET, EventStore

__all__ = ["EventStore", "EventNotFoundError", "ImmutableRecordError", "UNSET", "VersionConflictError"]
