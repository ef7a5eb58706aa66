"""Schema migrations (Alembic), run programmatically.

The migration scripts ship inside the package (``tianshan/store/migrations``);
:func:`alembic_config` builds an Alembic ``Config`` pointing there, so no
``alembic.ini`` is needed.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from tianshan.store.database import WRITE_OPTION

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for the packaged migrations, bound to ``connection`` if given."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest revision shipped with this package."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # the package always ships the initial revision
    return head


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Bring the database to ``revision`` (default the head); return the revision reached."""
    with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        command.upgrade(alembic_config(conn), revision)
    return current_revision(engine)


def downgrade(engine: Engine, revision: str) -> str | None:
    with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        command.downgrade(alembic_config(conn), revision)
    return current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None`` for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def schema_diffs(engine: Engine) -> list:
    """Differences between the database schema and the ORM metadata (Alembic autogenerate compare).

    An empty list means the migrated schema is exactly what :mod:`tianshan.store.schema` declares.
    """
    from alembic.autogenerate import compare_metadata

    from tianshan.store.schema import Base

    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True,
                                                     "include_object": _include_object})
        return compare_metadata(ctx, Base.metadata)


def _include_object(obj, name, type_, reflected, compare_to) -> bool:
    from tianshan.store.schema import Base

    if type_ == "table" and reflected and compare_to is None:
        return name in Base.metadata.tables  # other applications' tables in a shared database
    return True
