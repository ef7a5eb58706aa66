"""Alembic migrations shipped in the package build exactly the ORM schema, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

import tianshan.store
from tianshan.store import EventStore, migrate
from tianshan.store.database import make_engine
from tianshan.store.schema import Base


def test_migrations_ship_inside_the_package():
    assert migrate.MIGRATIONS_DIR.parent == Path(tianshan.store.__file__).parent
    assert (migrate.MIGRATIONS_DIR / "env.py").is_file()
    assert (migrate.MIGRATIONS_DIR / "script.py.mako").is_file()
    assert migrate.head_revision() == "0005"


def test_upgrade_builds_the_orm_schema_exactly(empty_url):
    engine = make_engine(empty_url)
    try:
        assert migrate.current_revision(engine) is None
        assert migrate.schema_diffs(engine)  # empty database: every table is missing
        assert migrate.upgrade(engine) == migrate.head_revision()
        assert migrate.schema_diffs(engine) == []
        assert migrate.upgrade(engine) == migrate.head_revision()  # idempotent
        assert migrate.downgrade(engine, "base") is None
        from sqlalchemy import inspect

        assert not set(inspect(engine).get_table_names()) & set(Base.metadata.tables)
        migrate.upgrade(engine)
        assert migrate.schema_diffs(engine) == []
    finally:
        engine.dispose()


def test_store_open_upgrades_and_reports_revision(empty_url):
    with EventStore.open(empty_url) as store:
        assert store.revision() == migrate.head_revision()
        assert store.upgrade() == migrate.head_revision()
        assert store.events() == []


def test_open_without_upgrade_refuses_an_unmigrated_database(empty_url):
    from tianshan.core.errors import InputError

    with pytest.raises(InputError, match="tianshan db upgrade"):
        EventStore.open(empty_url, upgrade=False)
