"""Opening the store: default SQLite file and its settings, URL errors, time encoding."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from tianshan.core import Event, Origin
from tianshan.core.errors import InputError
from tianshan.store import EventStore
from tianshan.store.database import SQLITE_BUSY_TIMEOUT_S, resolve_url
from tianshan.store.types import from_microseconds, to_microseconds

UTC = timezone.utc


def test_default_is_sqlite_in_data_dir_with_wal_foreign_keys_and_busy_timeout(tmp_path):
    with EventStore.open(data_dir=tmp_path / "data") as store:
        assert (tmp_path / "data" / "tianshan.sqlite").is_file()
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == int(SQLITE_BUSY_TIMEOUT_S * 1000)


def test_url_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("TIANSHAN_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("TIANSHAN_DATA_DIR", str(tmp_path / "env"))
    assert resolve_url("sqlite:///x.sqlite", tmp_path) == "sqlite:///x.sqlite"
    assert resolve_url(None, tmp_path) == f"sqlite:///{tmp_path.resolve() / 'tianshan.sqlite'}"
    assert resolve_url() == "postgresql+psycopg://u@h/db"
    monkeypatch.delenv("TIANSHAN_DATABASE_URL")
    assert resolve_url() == f"sqlite:///{(tmp_path / 'env').resolve() / 'tianshan.sqlite'}"


@pytest.mark.parametrize("url, message", [
    ("not a url", "not a database URL"),
    ("mysql://u@h/db", "unsupported database"),
    ("sqlite://", "in-memory"),
    ("postgresql+nosuchdriver://u@h/db", "cannot use database URL"),
    ("postgresql+psycopg://nobody:secret@127.0.0.1:1/none", "cannot connect"),
])
def test_bad_urls_are_input_errors_without_passwords(url, message):
    with pytest.raises(InputError, match=message) as info:
        EventStore.open(url)
    assert info.value.field == "url"
    assert "secret" not in str(info.value)


def test_sqlite_times_are_integer_microseconds(tmp_path):
    t = datetime(1906, 12, 23, 2, 21, 0, 7, tzinfo=UTC)
    with EventStore.open(data_dir=tmp_path) as store:
        ev = Event().with_origin(Origin(t, 44.0, 85.0, 20_000.0))
        store.save_event(ev)
        with store.engine.connect() as conn:
            raw = conn.execute(text("SELECT time, typeof(time) FROM origins")).one()
    assert raw[1] == "integer" and raw[0] == to_microseconds(t)


@pytest.mark.parametrize("t", [datetime(1, 1, 1, tzinfo=UTC), datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
                               datetime(2024, 2, 29, 12, 0, 0, 1, tzinfo=UTC),
                               datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)])
def test_microsecond_encoding_is_exact_and_ordered(t):
    us = to_microseconds(t)
    assert from_microseconds(us) == t
    step = timedelta(microseconds=1) if t.year < 9999 else -timedelta(microseconds=1)
    assert to_microseconds(t + step) - us == step // timedelta(microseconds=1)
    assert to_microseconds(t.replace(tzinfo=None)) == us  # naive = UTC
