"""Database URLs, engines and sessions of the event store.

Default: a SQLite file ``<data_dir>/tianshan.sqlite`` in WAL mode (readers
never wait for the writer), foreign keys on, a busy timeout, and write
transactions opened with ``BEGIN IMMEDIATE`` so that two writers queue on the
database lock instead of failing when a read transaction tries to upgrade
(SQLite docs, "Write-Ahead Logging" and "BEGIN TRANSACTION";
SQLAlchemy docs, "Serializable isolation / Savepoints / Transactional DDL" for pysqlite).
PostgreSQL by URL, ``postgresql+psycopg://user@host:5432/db``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from tianshan.core.errors import InputError
from tianshan.store.errors import ImmutableRecordError
from tianshan.store.schema import InsertOnly

#: File name of the SQLite store inside the data directory.
SQLITE_FILE = "tianshan.sqlite"
#: How long a SQLite connection waits for the write lock before giving up.
SQLITE_BUSY_TIMEOUT_S = 30.0
#: Execution option marking a connection whose transactions will write.
WRITE_OPTION = "tianshan_write"


def resolve_url(url: str | None = None, data_dir: str | os.PathLike | None = None) -> str:
    """The database URL to use.

    Order: ``url``; else SQLite in ``data_dir``; else ``$TIANSHAN_DATABASE_URL``;
    else SQLite in ``$TIANSHAN_DATA_DIR`` or ``./tianshan-data``.
    """
    if url:
        return str(url)
    if data_dir is None:
        env_url = os.environ.get("TIANSHAN_DATABASE_URL")
        if env_url:
            return env_url
        data_dir = os.environ.get("TIANSHAN_DATA_DIR", "tianshan-data")
    path = Path(data_dir).expanduser().resolve() / SQLITE_FILE
    return f"sqlite:///{path}"


def redact(url: str) -> str:
    """The URL with any password hidden (for messages)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return str(url)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; raises :class:`InputError` for a URL that cannot be used."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as err:
        raise InputError(f"not a database URL: {err}", source=redact(url), field="url") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise InputError(f"unsupported database {backend!r} (use sqlite:/// or postgresql+psycopg://)",
                         source=redact(url), field="url")
    try:
        if backend == "sqlite":
            if not parsed.database or parsed.database == ":memory:":
                raise InputError("an in-memory SQLite database cannot be shared; give a file path",
                                 source=redact(url), field="url")
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S,
                                                         "check_same_thread": False})
            _sqlite_setup(engine)
        else:
            if parsed.drivername == "postgresql":
                parsed = parsed.set(drivername="postgresql+psycopg")
            engine = create_engine(parsed, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError) as err:
        raise InputError(f"cannot use database URL: {err}", source=redact(url), field="url") from None
    return engine


def check_connection(engine: Engine) -> None:
    """Connect once; raise :class:`InputError` (one line, password hidden) if the database cannot be reached."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            with engine.connect():
                return
        except DBAPIError as err:
            # SQLite answers "database is locked" at once, whatever the busy timeout, while another
            # process switches the file to WAL or recovers it (several roles starting together):
            # retry for the busy timeout before giving up.
            if "database is locked" in str(err.orig) and time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            text = str(err.orig).strip()
            first = text.splitlines()[0] if text else type(err.orig).__name__
            raise InputError(f"cannot connect to the database: {first}",
                             source=engine.url.render_as_string(hide_password=True), field="url") from None


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (``None`` for other databases)."""
    parsed = make_url(url)
    return Path(parsed.database) if parsed.get_backend_name() == "sqlite" and parsed.database else None


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # the driver's own BEGIN handling is off; see _on_begin
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")  # safe in WAL mode: no corruption, last commit may roll back
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN")


def forbid_changes(session: Session, _flush_context, _instances) -> None:
    """``before_flush`` hook: refuse UPDATE/DELETE of insert-only rows."""
    for obj in session.dirty:
        if isinstance(obj, InsertOnly) and session.is_modified(obj, include_collections=False):
            raise ImmutableRecordError(f"{type(obj).__tablename__}: stored rows are never updated "
                                       f"({getattr(obj, 'id', '')})")
    for obj in session.deleted:
        if isinstance(obj, InsertOnly):
            raise ImmutableRecordError(f"{type(obj).__tablename__}: stored rows are never deleted "
                                       f"({getattr(obj, 'id', '')})")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
    event.listen(factory, "before_flush", forbid_changes)
    return factory
