"""Store fixtures: the same tests run on SQLite and on a real PostgreSQL server.

PostgreSQL: ``$TIANSHAN_TEST_PG_URL``, else ``postgresql+psycopg://postgres@127.0.0.1:5432/test``
(then user ``root``). Each test session works in a schema of its own
(``tianshan_test_<random>``), dropped at the end, so other users of the
database are not disturbed. When no server answers the PostgreSQL tests skip,
except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import uuid
from pathlib import Path
from typing import Iterator

import pytest

PG_CANDIDATES = ("postgresql+psycopg://postgres@127.0.0.1:5432/test",
                 "postgresql+psycopg://root@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")


def _load_objects():
    # Test modules are imported with --import-mode=importlib, so they cannot import a sibling
    # helper module by name; the builders reach them through the ``objects`` fixture.
    spec = importlib.util.spec_from_file_location("tianshan_store_test_objects",
                                                  Path(__file__).with_name("store_objects.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def objects():
    """The builders of rich test objects (``store_objects.py``): ``objects.rich_event(rng)``..."""
    return _load_objects()


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _with_search_path(url: str, schema: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)


def _reachable_pg_url() -> tuple[str | None, str]:
    from sqlalchemy import create_engine, text

    override = os.environ.get("TIANSHAN_TEST_PG_URL")
    candidates = (override,) if override else PG_CANDIDATES
    errors = []
    for url in candidates:
        engine = create_engine(url, connect_args={"connect_timeout": 5})
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return url, ""
        except Exception as err:  # noqa: BLE001 - any failure means "not usable"
            errors.append(f"{url}: {str(err).strip().splitlines()[0]}")
        finally:
            engine.dispose()
    return None, "; ".join(errors)


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """URL of a reachable PostgreSQL database (skip, or fail under CI=true, if none)."""
    url, why = _reachable_pg_url()
    if url is None:
        msg = f"PostgreSQL not reachable ({why}); set TIANSHAN_TEST_PG_URL"
        if _in_ci():
            pytest.fail(f"CI=true: PostgreSQL store tests must run, but {msg}")
        pytest.skip(msg)
    return url


class PgSchemas:
    """Creates throw-away schemas in the test database and drops them all at the end."""

    def __init__(self, server_url: str) -> None:
        from sqlalchemy import create_engine

        self.server_url = server_url
        self.engine = create_engine(server_url)
        self.created: list[str] = []

    def new(self) -> str:
        from sqlalchemy import text

        name = f"tianshan_test_{uuid.uuid4().hex[:12]}"
        with self.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
        self.created.append(name)
        return _with_search_path(self.server_url, name)

    def drop(self, url: str) -> None:
        from sqlalchemy import text
        from sqlalchemy.engine import make_url

        name = make_url(url).query["options"].split("=", 1)[1]
        with self.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        self.created.remove(name)

    def close(self) -> None:
        from sqlalchemy import text

        with self.engine.begin() as conn:
            for name in self.created:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        self.engine.dispose()


@pytest.fixture(scope="session")
def pg_schemas(pg_server_url) -> Iterator[PgSchemas]:
    schemas = PgSchemas(pg_server_url)
    yield schemas
    schemas.close()


@pytest.fixture(scope="session")
def pg_store_url(pg_schemas) -> str:
    """A schema migrated to head once per session (tests empty its tables)."""
    from tianshan.store import migrate
    from tianshan.store.database import make_engine

    url = pg_schemas.new()
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


def _empty_all_tables(url: str) -> None:
    from sqlalchemy import text

    from tianshan.store.database import make_engine
    from tianshan.store.schema import Base

    engine = make_engine(url)
    with engine.begin() as conn:  # DELETE is quicker than TRUNCATE on a few small tables
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(text(f'DELETE FROM "{table.name}"'))
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite store migrated to head once per session; tests get a copy."""
    from tianshan.store import migrate
    from tianshan.store.database import make_engine

    path = tmp_path_factory.mktemp("template") / "tianshan.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def store_url(backend, request, tmp_path) -> str:
    """URL of an empty store at the head revision, on each backend."""
    if backend == "sqlite":
        target = tmp_path / "store" / "tianshan.sqlite"
        target.parent.mkdir()
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url = request.getfixturevalue("pg_store_url")
    _empty_all_tables(url)
    return url


@pytest.fixture
def store(store_url):
    """An open :class:`EventStore` on an empty database (SQLite file or PostgreSQL schema)."""
    from tianshan.store import EventStore

    st = EventStore.open(store_url)
    yield st
    st.close()


@pytest.fixture
def empty_url(backend, request, tmp_path) -> Iterator[str]:
    """URL of a database with no schema at all (for migration tests)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty' / 'tianshan.sqlite'}"
        return
    schemas = request.getfixturevalue("pg_schemas")
    url = schemas.new()
    yield url
    schemas.drop(url)
