"""QC records in the event store: round trip, idempotent saves, queries, migration 0002."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tianshan.core import DomainError, InputError, QCKind, QCRecord, StreamID
from tianshan.store import ImmutableRecordError, migrate
from tianshan.store.database import make_engine

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
HHZ = StreamID("XJ", "WMQ", "00", "HHZ")
BHN = StreamID("XJ", "KOL", "", "BHN")


def _records():
    return [
        QCRecord(HHZ, T0, T0 + timedelta(seconds=25.5), QCKind.GAP, 25.5, "between records"),
        QCRecord(HHZ, T0 + timedelta(seconds=60), T0 + timedelta(seconds=60), "spike", -2246467.0, "hampel 41"),
        QCRecord(BHN, T0 + timedelta(hours=1), T0 + timedelta(hours=2), QCKind.FLAT, 3600.0),
        QCRecord(BHN, T0, T0 + timedelta(hours=3), QCKind.AVAILABILITY, 85.62),
    ]


def test_qc_record_validation():
    with pytest.raises(DomainError, match="before start"):
        QCRecord(HHZ, T0, T0 - timedelta(seconds=1), QCKind.GAP, 1.0)
    with pytest.raises(DomainError, match="unknown 'bogus'"):
        QCRecord(HHZ, T0, T0, "bogus", 1.0)
    with pytest.raises(DomainError, match="not finite"):
        QCRecord(HHZ, T0, T0, QCKind.SPIKE, float("nan"))
    rec = QCRecord(HHZ, "2024-05-01T12:00:00Z", T0.replace(tzinfo=None), "gap", 1)
    assert rec.kind is QCKind.GAP and rec.start.tzinfo is not None and rec.value == 1.0


def test_save_and_query_qc_records(store):
    recs = _records()
    assert store.save_qc_records(recs) == 4
    assert store.save_qc_records(recs) == 0  # a re-run of the same chunk adds nothing
    assert store.save_qc_records(recs[:1] + recs[:1]) == 0
    got = store.qc_records()
    assert sorted(got, key=repr) == sorted(recs, key=repr)  # exact round trip (microseconds, floats)
    assert [r.kind for r in store.qc_records(stream_id="XJ.WMQ.00.HHZ")] == [QCKind.GAP, QCKind.SPIKE]
    assert store.qc_records(stream_id=BHN, kind="flat") == [recs[2]]
    # overlap with [start, end)
    window = store.qc_records(start=T0 + timedelta(seconds=30), end=T0 + timedelta(minutes=61))
    assert set(window) == {recs[1], recs[2], recs[3]}
    assert store.qc_records(kind=QCKind.TIME_TEAR) == []
    assert store.counts()["qc_records"] == 4


def test_conflicting_qc_record_is_refused(store):
    rec = _records()[0]
    store.save_qc_records([rec])
    changed = QCRecord(rec.stream_id, rec.start, rec.end, rec.kind, 99.0)
    with pytest.raises(ImmutableRecordError):
        store.save_qc_records([changed])
    with pytest.raises(ImmutableRecordError):
        store.save_qc_records([changed, QCRecord(rec.stream_id, rec.start, rec.end, rec.kind, 98.0)])
    with pytest.raises(InputError, match="kind"):
        store.qc_records(kind="nonsense")
    with pytest.raises(InputError, match="stream_id"):
        store.qc_records(stream_id="not-an-id")
    assert store.qc_records() == [rec]


def test_migration_0002_adds_and_drops_the_qc_table(empty_url):
    from sqlalchemy import inspect

    engine = make_engine(empty_url)
    try:
        migrate.upgrade(engine, "0001")
        assert "qc_records" not in inspect(engine).get_table_names()
        migrate.upgrade(engine, "0002")
        assert migrate.current_revision(engine) == "0002"
        assert "qc_records" in inspect(engine).get_table_names()
        migrate.upgrade(engine)
        assert migrate.schema_diffs(engine) == []
        migrate.downgrade(engine, "0001")
        assert "qc_records" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
