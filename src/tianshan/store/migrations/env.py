"""Alembic environment of the event store.

Run programmatically by :mod:`tianshan.store.migrate`, which passes an open
connection in ``config.attributes["connection"]``; no alembic.ini is needed.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from tianshan.store.schema import Base

#: Arbitrary constant key of the PostgreSQL advisory lock that serialises concurrent upgrades.
_PG_LOCK_KEY = 0x7469616E  # "tian"

config = context.config
target_metadata = Base.metadata


def _include_object(obj, name, type_, reflected, compare_to) -> bool:
    # Tables of other applications sharing the database are not ours to compare.
    if type_ == "table" and reflected and compare_to is None:
        return name in target_metadata.tables
    return True


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True, compare_type=True,
                      include_object=_include_object)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes["connection"]
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True,
                      include_object=_include_object)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
