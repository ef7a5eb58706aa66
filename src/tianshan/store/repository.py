"""The event store: a repository of domain objects over SQLAlchemy (SQLite or PostgreSQL).

Insert-only history: every origin and magnitude ever computed is a row of its
own, never overwritten; :meth:`EventStore.add_origin` appends version
``last + 1`` under a row lock (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite
``BEGIN IMMEDIATE``), and the unique constraints ``(event_id, version)`` and
``(event_id, type, version)`` make a duplicate version impossible even for
writers that race past the lock; a writer that loses such a race retries.
Only the event header (type, type certainty, preferred ids, region name) and
station metadata are updated in place.

Real-time writers: the associator grows an event with :meth:`EventStore.update_event`
(new picks, the next origin version, header fields) while the magnitude stage
appends magnitudes with :meth:`EventStore.add_magnitude`; both lock the event row,
and ``update_event`` never writes the magnitudes or ``preferred_magnitude_id``,
so neither writer can undo the other (a ``save_event`` of a stale copy would).
The event timeline (:meth:`EventStore.record_timeline`) keeps the first record
of each (event, step) with ``INSERT ... ON CONFLICT DO NOTHING``.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import replace
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Callable, Iterable, Sequence, TypeVar

from sqlalchemy import Select, delete, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, selectinload

from tianshan.core.alert import Alert
from tianshan.core.errors import InputError
from tianshan.core.event import Event, EventType
from tianshan.core.ids import StreamID
from tianshan.core.magnitude import Magnitude
from tianshan.core.origin import Origin
from tianshan.core.pick import Amplitude, Pick
from tianshan.core.product import Product
from tianshan.core.qc import QCKind, QCRecord
from tianshan.core.station import Station, check_unique_streams
from tianshan.core.timeline import STEPS, TimelineEntry
from tianshan.core.timeutil import as_utc, utc_now
from tianshan.store import convert, migrate
from tianshan.store.database import (WRITE_OPTION, check_connection, make_engine, redact, resolve_url,
                                    session_factory)
from tianshan.store.errors import EventNotFoundError, ImmutableRecordError, VersionConflictError
from tianshan.store.schema import (AlertRow, AmplitudeRow, ChannelRow, EventAmplitudeRow, EventPickRow, EventRow,
                                   MagnitudeRow, OriginRow, PickRow, ProductRow, QCRecordRow, StationRow,
                                   TimelineRow)

T = TypeVar("T")


class _Unset(Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


#: Default of the header arguments of :meth:`EventStore.update_event`: "leave this field as stored"
#: (``None`` is a value: it clears the type or type certainty).
UNSET = _Unset.UNSET

#: Loader options that bring a whole event (histories, arrivals, picks...) in a few queries.
_FULL_EVENT = (
    selectinload(EventRow.origins).selectinload(OriginRow.arrivals),
    selectinload(EventRow.magnitudes).selectinload(MagnitudeRow.station_magnitudes),
    selectinload(EventRow.pick_links).joinedload(EventPickRow.pick),
    selectinload(EventRow.amplitude_links).joinedload(EventAmplitudeRow.amplitude),
)
#: Bound on parameters per ``IN (...)`` list (SQLite allows 32766 in total).
_CHUNK = 500


def _chunks(items: Sequence[T], n: int = _CHUNK) -> Iterable[Sequence[T]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


class EventStore:
    """Persistent store of events, stations, products and alerts.

    Open with :meth:`open`; use as a context manager or call :meth:`close`.
    Thread-safe: each call uses its own session and transaction.
    """

    #: Attempts of a write transaction that loses a race (unique violation, deadlock, lock timeout).
    MAX_ATTEMPTS = 8

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._read_sessions = session_factory(
            engine.execution_options(isolation_level="REPEATABLE READ")
            if engine.dialect.name == "postgresql" else engine)
        self._write_sessions = session_factory(engine.execution_options(**{WRITE_OPTION: True}))
        self._rng = random.Random()

    # --- life cycle -----------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str | None = None, data_dir: str | Path | None = None, upgrade: bool = True) -> "EventStore":
        """Open the store at ``url``, or the SQLite file ``<data_dir>/tianshan.sqlite``.

        With ``upgrade`` the schema is created or migrated to the head revision;
        without it, a database not at the head revision is refused. Raises
        :class:`~tianshan.core.errors.InputError` for a URL that cannot be used.
        """
        resolved = resolve_url(url, data_dir)
        engine = make_engine(resolved)
        store = cls(engine)
        try:
            check_connection(engine)
            if upgrade:
                store.upgrade()
            else:
                rev, head = store.revision(), migrate.head_revision()
                if rev != head:
                    raise InputError(f"database schema is at revision {rev or '(empty)'}, this version needs "
                                     f"{head}; run `tianshan db upgrade`", source=redact(resolved), field="url")
        except BaseException:
            engine.dispose()
            raise
        return store

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    def upgrade(self) -> str:
        """Alembic upgrade to head; returns the head revision."""
        return migrate.upgrade(self.engine)

    def revision(self) -> str | None:
        """The schema revision of the database (``None`` when empty)."""
        return migrate.current_revision(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "EventStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- transactions ---------------------------------------------------------------------------

    def _write(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in a write transaction, retrying when it loses a race to another writer."""
        delay_s = 0.005
        for attempt in range(1, self.MAX_ATTEMPTS + 1):
            try:
                with self._write_sessions() as session, session.begin():
                    return work(session)
            except (IntegrityError, OperationalError) as err:
                if attempt == self.MAX_ATTEMPTS or not _retryable(err):
                    if isinstance(err, IntegrityError):
                        raise VersionConflictError(
                            f"write conflicts with stored records: {_first_line(err.orig)}") from err
                    raise
                time.sleep(delay_s * (1.0 + self._rng.random()))
                delay_s = min(delay_s * 2, 0.5)
        raise AssertionError("unreachable")  # pragma: no cover

    # --- events ---------------------------------------------------------------------------------

    def save_event(self, event: Event) -> None:
        """Store ``event``: insert it and its not-yet-stored origins, magnitudes, picks and amplitudes.

        Stored records are compared with the given ones and must be identical
        (:class:`ImmutableRecordError` otherwise); a new origin or magnitude
        whose version is taken by another record raises :class:`VersionConflictError`.
        Only the header (type, type certainty, preferred ids, region name) is updated.
        Records stored earlier and absent from ``event`` are kept.
        """
        self._write(lambda s: self._save_event(s, event))

    def _save_event(self, s: Session, event: Event) -> None:
        row = s.execute(select(EventRow).where(EventRow.id == event.id).with_for_update()).scalar_one_or_none()
        now = utc_now()
        header = convert.event_header(event)
        if row is None:
            row = EventRow(id=event.id, created_at=event.created_at, updated_at=now, **header)
            s.add(row)
            s.flush()
        else:
            for key, value in header.items():
                if getattr(row, key) != value:
                    setattr(row, key, value)
                    row.updated_at = now
        self._insert_new(s, event.id, event.origins, OriginRow, convert.origin_from_row, convert.origin_to_row,
                         version_key=lambda o: (o.version,), row_version_key=lambda r: (r.version,))
        self._insert_new(s, event.id, event.magnitudes, MagnitudeRow, convert.magnitude_from_row,
                         convert.magnitude_to_row, version_key=lambda m: (m.type, m.version),
                         row_version_key=lambda r: (r.type, r.version))
        self._link(s, event.id, event.picks, PickRow, EventPickRow, "pick_id", convert.pick_from_row,
                   convert.pick_to_row)
        self._link(s, event.id, event.amplitudes, AmplitudeRow, EventAmplitudeRow, "amplitude_id",
                   convert.amplitude_from_row, convert.amplitude_to_row)
        s.flush()
        self._refresh_preferred(s, row)

    def _insert_new(self, s: Session, event_id: str, items, row_cls, from_row, to_row, version_key,
                    row_version_key) -> None:
        """Insert the origins (or magnitudes) of an event that are not stored yet."""
        if not items:
            return
        loader = (selectinload(OriginRow.arrivals) if row_cls is OriginRow
                  else selectinload(MagnitudeRow.station_magnitudes))
        stored = {r.id: r for r in s.scalars(select(row_cls).where(row_cls.event_id == event_id).options(loader))}
        ids = [x.id for x in items if x.id not in stored]
        for chunk in _chunks(ids):
            for other in s.execute(select(row_cls.id, row_cls.event_id).where(row_cls.id.in_(chunk))):
                raise ImmutableRecordError(f"{row_cls.__tablename__[:-1]} {other.id} belongs to event {other.event_id}")
        taken = {row_version_key(r): r.id for r in stored.values()}
        seq = max((r.seq for r in stored.values()), default=0)
        for item in items:
            name = row_cls.__tablename__[:-1]
            if item.id in stored:
                if from_row(stored[item.id]) != item:
                    raise ImmutableRecordError(f"{name} {item.id} is stored with other values; "
                                               f"a new solution needs a new id and version")
                continue
            key = version_key(item)
            if key in taken:
                raise VersionConflictError(f"event {event_id}: {name} version {'/'.join(map(str, key))} "
                                           f"is already taken by {taken[key]}")
            seq += 1
            s.add(to_row(item, event_id, seq))
            taken[key] = item.id

    def _link(self, s: Session, event_id: str, items, row_cls, link_cls, link_col: str, from_row, to_row) -> int:
        """Insert the picks (or amplitudes) not stored yet and link all of them to the event; return new links."""
        if not items:
            return 0
        ids = [x.id for x in items]
        stored: dict[str, object] = {}
        for chunk in _chunks(ids):
            stored.update({r.id: r for r in s.scalars(select(row_cls).where(row_cls.id.in_(chunk)))})
        new_rows = []
        for item in items:
            if item.id in stored:
                if from_row(stored[item.id]) != item:
                    raise ImmutableRecordError(f"{row_cls.__tablename__[:-1]} {item.id} is stored with other values")
            else:
                new_rows.append(to_row(item))
        s.add_all(new_rows)
        s.flush()
        col = getattr(link_cls, link_col)
        linked = dict(s.execute(select(col, link_cls.position).where(link_cls.event_id == event_id)).all())
        position = max(linked.values(), default=-1)
        added = 0
        for item_id in ids:
            if item_id not in linked:
                position += 1
                s.add(link_cls(event_id=event_id, **{link_col: item_id}, position=position))
                linked[item_id] = position
                added += 1
        return added

    def _refresh_preferred(self, s: Session, row: EventRow) -> None:
        """Set the ``pref_*`` query columns from the stored preferred (or latest) origin and magnitude."""
        q = select(OriginRow).where(OriginRow.event_id == row.id)
        q = (q.where(OriginRow.id == row.preferred_origin_id) if row.preferred_origin_id
             else q.order_by(OriginRow.seq.desc()).limit(1))
        o = s.scalars(q).first()
        q = select(MagnitudeRow).where(MagnitudeRow.event_id == row.id)
        q = (q.where(MagnitudeRow.id == row.preferred_magnitude_id) if row.preferred_magnitude_id
             else q.order_by(MagnitudeRow.seq.desc()).limit(1))
        m = s.scalars(q).first()
        for key, value in convert.preferred_columns(o, m).items():
            if getattr(row, key) != value:
                setattr(row, key, value)

    def _lock_event(self, s: Session, event_id: str) -> EventRow:
        row = s.execute(select(EventRow).where(EventRow.id == event_id).with_for_update()).scalar_one_or_none()
        if row is None:
            raise EventNotFoundError(event_id)
        return row

    def add_origin(self, event_id: str, origin: Origin, preferred: bool = True) -> Origin:
        """Append ``origin`` to the event's history as version last + 1; return it with that version."""

        def work(s: Session) -> Origin:
            row = self._lock_event(s, event_id)
            if s.get(OriginRow, origin.id) is not None:
                raise ImmutableRecordError(f"origin {origin.id} is already stored; a relocation needs a new id")
            new = self._append_origin(s, row, origin, preferred)
            row.updated_at = utc_now()
            s.flush()
            self._refresh_preferred(s, row)
            return new

        return self._write(work)

    def _append_origin(self, s: Session, row: EventRow, origin: Origin, preferred: bool) -> Origin:
        """Insert ``origin`` as version last + 1 of the (locked) event ``row``; return it with that version."""
        last_version, last_seq = s.execute(select(func.max(OriginRow.version), func.max(OriginRow.seq))
                                           .where(OriginRow.event_id == row.id)).one()
        new = replace(origin, version=(last_version or 0) + 1)
        s.add(convert.origin_to_row(new, row.id, (last_seq or 0) + 1))
        if preferred:
            row.preferred_origin_id = new.id
        return new

    def update_event(self, event_id: str, *, origin: Origin | None = None, preferred_origin: bool = True,
                     picks: Iterable[Pick] = (), amplitudes: Iterable[Amplitude] = (),
                     type: EventType | str | None | _Unset = UNSET,  # noqa: A002 - the Event field's name
                     type_certainty: str | None | _Unset = UNSET,
                     region_name: str | _Unset = UNSET) -> Event:
        """Grow a stored event in one write transaction; return the event as stored by it.

        The incremental update of the real-time associator (``save_event`` only
        creates events). Under the event row lock, as :meth:`add_origin`:

        * ``picks`` / ``amplitudes`` not linked to the event yet are stored
          (a stored pick must be identical, :class:`ImmutableRecordError`
          otherwise) and linked after the ones already linked;
        * ``origin`` is appended as version last + 1 (its own ``version`` is
          ignored) and made preferred unless ``preferred_origin`` is false. An
          origin already stored in this event with the same values (any
          version) is not appended again, so a retried update is harmless;
          one stored elsewhere or with other values is an :class:`ImmutableRecordError`;
        * the header fields given (``type``, ``type_certainty``, ``region_name``;
          :data:`UNSET` = keep, ``None`` clears the type or certainty) are set.

        Magnitudes and ``preferred_magnitude_id`` are never written: the
        magnitude stage appends them concurrently with :meth:`add_magnitude`.
        The ``pref_*`` query columns are refreshed. Raises
        :class:`EventNotFoundError` for an unknown event and
        :class:`InputError` for arguments of the wrong kind.
        """
        if origin is not None and not isinstance(origin, Origin):
            raise InputError(f"expected an Origin, got {_type_name(origin)}", field="origin")
        picks = _typed(picks, Pick, "picks")
        amplitudes = _typed(amplitudes, Amplitude, "amplitudes")
        header = _header_fields(type, type_certainty, region_name)

        def work(s: Session) -> Event:
            row = self._lock_event(s, event_id)
            changed = self._link(s, event_id, picks, PickRow, EventPickRow, "pick_id", convert.pick_from_row,
                                 convert.pick_to_row) > 0
            changed |= self._link(s, event_id, amplitudes, AmplitudeRow, EventAmplitudeRow, "amplitude_id",
                                  convert.amplitude_from_row, convert.amplitude_to_row) > 0
            if origin is not None:
                stored = s.scalars(select(OriginRow).where(OriginRow.id == origin.id)
                                   .options(selectinload(OriginRow.arrivals))).one_or_none()
                if stored is None:
                    self._append_origin(s, row, origin, preferred_origin)
                    changed = True
                elif stored.event_id != event_id:
                    raise ImmutableRecordError(f"origin {origin.id} belongs to event {stored.event_id}")
                elif replace(origin, version=stored.version) != convert.origin_from_row(stored):
                    raise ImmutableRecordError(f"origin {origin.id} is stored with other values; "
                                               "a relocation needs a new id")
                elif preferred_origin and row.preferred_origin_id != origin.id:
                    row.preferred_origin_id = origin.id
                    changed = True
            for key, value in header.items():
                if getattr(row, key) != value:
                    setattr(row, key, value)
                    changed = True
            if changed:
                row.updated_at = utc_now()
            s.flush()
            self._refresh_preferred(s, row)
            s.flush()
            full = s.scalars(select(EventRow).where(EventRow.id == event_id).options(*_FULL_EVENT)
                             .execution_options(populate_existing=True)).one()
            return convert.event_from_row(full)

        return self._write(work)

    def add_magnitude(self, event_id: str, magnitude: Magnitude, preferred: bool = True) -> Magnitude:
        """Append ``magnitude`` as version last + 1 of its type; return it with that version."""

        def work(s: Session) -> Magnitude:
            row = self._lock_event(s, event_id)
            if s.get(MagnitudeRow, magnitude.id) is not None:
                raise ImmutableRecordError(f"magnitude {magnitude.id} is already stored; a new value needs a new id")
            last_version = s.scalar(select(func.max(MagnitudeRow.version)).where(
                MagnitudeRow.event_id == event_id, MagnitudeRow.type == magnitude.type))
            last_seq = s.scalar(select(func.max(MagnitudeRow.seq)).where(MagnitudeRow.event_id == event_id))
            new = replace(magnitude, version=(last_version or 0) + 1)
            s.add(convert.magnitude_to_row(new, event_id, (last_seq or 0) + 1))
            if preferred:
                row.preferred_magnitude_id = new.id
            row.updated_at = utc_now()
            s.flush()
            self._refresh_preferred(s, row)
            return new

        return self._write(work)

    def get_event(self, event_id: str) -> Event:
        """The stored event with its whole history; :class:`EventNotFoundError` (a KeyError) if absent."""
        with self._read_sessions() as s, s.begin():
            row = s.scalars(select(EventRow).where(EventRow.id == event_id).options(*_FULL_EVENT)).one_or_none()
            if row is None:
                raise EventNotFoundError(event_id)
            return convert.event_from_row(row)

    def events(self, start: datetime | str | None = None, end: datetime | str | None = None,
               min_magnitude: float | None = None,
               bbox: tuple[float, float, float, float] | None = None, limit: int | None = None) -> list[Event]:
        """Events ordered by preferred origin time (events without an origin last).

        ``start <= time < end`` (aware or naive-UTC datetimes, or ISO strings);
        ``min_magnitude`` against the preferred magnitude; ``bbox`` =
        ``(west_deg, south_deg, east_deg, north_deg)`` of the preferred epicentre,
        edges included, ``west > east`` crossing the antimeridian; ``limit``
        keeps the first ``limit`` events.
        """
        q: Select = select(EventRow).options(*_FULL_EVENT)
        if start is not None:
            q = q.where(EventRow.pref_time >= as_utc(start, "start"))
        if end is not None:
            q = q.where(EventRow.pref_time < as_utc(end, "end"))
        if min_magnitude is not None:
            q = q.where(EventRow.pref_magnitude >= _finite("min_magnitude", min_magnitude))
        if bbox is not None:
            west, south, east, north = _check_bbox(bbox)
            q = q.where(EventRow.pref_latitude_deg.between(south, north))
            lon = EventRow.pref_longitude_deg
            q = q.where(lon.between(west, east) if west <= east else ((lon >= west) | (lon <= east)))
        q = q.order_by(EventRow.pref_time.asc().nulls_last(), EventRow.id)
        if limit is not None:
            if int(limit) != limit or limit < 0:
                raise InputError(f"must be a non-negative integer, got {limit!r}", field="limit")
            q = q.limit(int(limit))
        with self._read_sessions() as s, s.begin():
            return [convert.event_from_row(r) for r in s.scalars(q)]

    def counts(self) -> dict[str, int]:
        """Number of stored events, origins, magnitudes, picks, stations, products, alerts and QC records."""
        tables = {"events": EventRow, "origins": OriginRow, "magnitudes": MagnitudeRow, "picks": PickRow,
                  "stations": StationRow, "products": ProductRow, "alerts": AlertRow, "qc_records": QCRecordRow}
        with self._read_sessions() as s, s.begin():
            return {name: s.scalar(select(func.count()).select_from(cls)) or 0 for name, cls in tables.items()}

    # --- event timeline -------------------------------------------------------------------------

    def record_timeline(self, entries: Iterable[TimelineEntry]) -> int:
        """Record timeline steps; return how many were new.

        Insert-if-absent per (event id, step): the first record of a step wins,
        later ones (and repeats within ``entries``) are ignored, so every stage
        may report a step each time it reaches it. Concurrent writers are safe:
        ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` (SQLite >= 3.35, PostgreSQL >= 9.5)
        never raises on a key another transaction took. The event need not be
        stored yet (no foreign key; see :class:`~tianshan.store.schema.TimelineRow`).
        """
        unique: dict[tuple[str, str], TimelineEntry] = {}
        for entry in entries:
            if not isinstance(entry, TimelineEntry):
                raise InputError(f"expected TimelineEntry objects, got {_type_name(entry)}", field="entries")
            unique.setdefault((entry.event_id, entry.step), entry)
        if not unique:
            return 0
        values = [convert.timeline_values(e) for e in unique.values()]
        table = TimelineRow.__table__
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert

        def work(s: Session) -> int:
            added = 0
            for chunk in _chunks(values, _CHUNK // 5):  # 5 parameters per row
                stmt = (insert(table).values(list(chunk))
                        .on_conflict_do_nothing(index_elements=["event_id", "step"]).returning(table.c.step))
                added += len(s.execute(stmt).all())  # rows inserted (rowcount is not reliable on every driver)
            return added

        return self._write(work)

    def timeline(self, event_id: str) -> list[TimelineEntry]:
        """The recorded steps of an event in :data:`~tianshan.core.timeline.STEPS` order ([] if none).

        Rows of steps this version does not know (written by a newer one) are left out.
        """
        order = {step: i for i, step in enumerate(STEPS)}
        with self._read_sessions() as s, s.begin():
            rows = [r for r in s.scalars(select(TimelineRow).where(TimelineRow.event_id == event_id))
                    if r.step in order]
            return [convert.timeline_from_row(r) for r in sorted(rows, key=lambda r: order[r.step])]

    # --- stations -------------------------------------------------------------------------------

    def save_stations(self, stations: Iterable[Station]) -> int:
        """Store station metadata, replacing any stored station with the same network, code and start.

        Returns the number of stations saved.
        """
        stations = list(stations)
        check_unique_streams(stations)

        def work(s: Session) -> int:
            for st in stations:
                same_start = StationRow.start.is_(None) if st.start is None else StationRow.start == st.start
                old = list(s.scalars(select(StationRow.pk).where(
                    StationRow.network == st.network, StationRow.code == st.code, same_start)))
                if old:
                    s.execute(delete(ChannelRow).where(ChannelRow.station_pk.in_(old)))
                    s.execute(delete(StationRow).where(StationRow.pk.in_(old)))
                s.add(convert.station_to_row(st))
            s.flush()
            return len(stations)

        return self._write(work)

    def stations(self) -> list[Station]:
        """All stored stations, by network, code and start."""
        q = (select(StationRow).options(selectinload(StationRow.channels))
             .order_by(StationRow.network, StationRow.code, StationRow.start.asc().nulls_first()))
        with self._read_sessions() as s, s.begin():
            return [convert.station_from_row(r) for r in s.scalars(q)]

    # --- products and alerts --------------------------------------------------------------------

    def save_product(self, product: Product) -> None:
        """Store ``product`` (insert-only; saving the identical product again is a no-op)."""

        def work(s: Session) -> None:
            old = s.get(ProductRow, product.id)
            if old is not None:
                as_stored = replace(product, properties=json.loads(json.dumps(dict(product.properties))))
                if convert.product_from_row(old) != as_stored:  # JSON turns tuples into lists
                    raise ImmutableRecordError(f"product {product.id} is stored with other values; "
                                               "a new version needs a new id")
                return
            s.add(convert.product_to_row(product))

        self._write(work)

    def products(self, event_id: str | None = None, kind: str | None = None) -> list[Product]:
        """Stored products, oldest first, optionally of one event and/or one kind."""
        q = select(ProductRow).order_by(ProductRow.created_at, ProductRow.version, ProductRow.id)
        if event_id is not None:
            q = q.where(ProductRow.event_id == event_id)
        if kind is not None:
            q = q.where(ProductRow.kind == kind)
        with self._read_sessions() as s, s.begin():
            return [convert.product_from_row(r) for r in s.scalars(q)]

    def save_alert(self, alert: Alert) -> None:
        """Store ``alert`` (insert-only; one alert per event and sequence number)."""

        def work(s: Session) -> None:
            old = s.scalars(select(AlertRow).options(selectinload(AlertRow.targets)).where(
                AlertRow.id == alert.id)).one_or_none()
            if old is not None:
                if convert.alert_from_row(old) != alert:
                    raise ImmutableRecordError(f"alert {alert.id} is stored with other values; "
                                               "an update needs a new id and sequence")
                return
            other = s.scalar(select(AlertRow.id).where(AlertRow.event_id == alert.event_id,
                                                       AlertRow.sequence == alert.sequence))
            if other is not None:
                raise VersionConflictError(f"event {alert.event_id}: alert sequence {alert.sequence} "
                                           f"is already taken by {other}")
            s.add(convert.alert_to_row(alert))

        self._write(work)

    def alerts(self, event_id: str | None = None) -> list[Alert]:
        """Stored alerts in order of issue, optionally of one event."""
        q = (select(AlertRow).options(selectinload(AlertRow.targets))
             .order_by(AlertRow.issued_at, AlertRow.sequence, AlertRow.id))
        if event_id is not None:
            q = q.where(AlertRow.event_id == event_id)
        with self._read_sessions() as s, s.begin():
            return [convert.alert_from_row(r) for r in s.scalars(q)]


    # --- QC records -----------------------------------------------------------------------------

    def save_qc_records(self, records: Iterable[QCRecord]) -> int:
        """Store QC findings; returns how many were new.

        A record is identified by its stream, kind, start and end: saving the
        same finding again (a re-run of a chunk) is a no-op; a stored finding
        with the same key but another value or detail raises
        :class:`ImmutableRecordError`.
        """
        unique: dict[tuple, QCRecord] = {}
        for rec in records:
            if not isinstance(rec, QCRecord):
                raise InputError(f"expected QCRecord objects, got {type(rec).__name__}", field="records")
            key = _qc_key(rec)
            if key in unique and unique[key] != rec:
                raise ImmutableRecordError(f"qc record {_qc_name(rec)} is given twice with different values")
            unique[key] = rec
        if not unique:
            return 0
        by_stream: dict[StreamID, list[QCRecord]] = {}
        for rec in unique.values():
            by_stream.setdefault(rec.stream_id, []).append(rec)

        def work(s: Session) -> int:
            added = 0
            for sid, recs in by_stream.items():
                lo = min(r.start for r in recs)
                hi = max(r.start for r in recs)
                stored = {
                    (r.network, r.station, r.location, r.channel, r.kind, r.start, r.end): r
                    for r in s.scalars(select(QCRecordRow).where(
                        QCRecordRow.network == sid.network, QCRecordRow.station == sid.station,
                        QCRecordRow.location == sid.location, QCRecordRow.channel == sid.channel,
                        QCRecordRow.start >= lo, QCRecordRow.start <= hi))}
                for rec in recs:
                    old = stored.get(_qc_key(rec))
                    if old is not None:
                        if convert.qc_record_from_row(old) != rec:
                            raise ImmutableRecordError(f"qc record {_qc_name(rec)} is stored with other values")
                        continue
                    s.add(convert.qc_record_to_row(rec))
                    added += 1
            s.flush()
            return added

        return self._write(work)

    def qc_records(self, stream_id: StreamID | str | None = None, start: datetime | str | None = None,
                   end: datetime | str | None = None, kind: QCKind | str | None = None) -> list[QCRecord]:
        """Stored QC findings ordered by start time, stream and kind.

        ``stream_id`` selects one stream (a :class:`StreamID` or ``NET.STA.LOC.CHA``);
        ``start``/``end`` keep the records whose span overlaps ``[start, end)``;
        ``kind`` one :class:`QCKind` (or its value).
        """
        q: Select = select(QCRecordRow)
        if stream_id is not None:
            sid = stream_id if isinstance(stream_id, StreamID) else _parse_stream_id(stream_id)
            q = q.where(QCRecordRow.network == sid.network, QCRecordRow.station == sid.station,
                        QCRecordRow.location == sid.location, QCRecordRow.channel == sid.channel)
        if start is not None:
            q = q.where(QCRecordRow.end >= as_utc(start, "start"))
        if end is not None:
            q = q.where(QCRecordRow.start < as_utc(end, "end"))
        if kind is not None:
            try:
                q = q.where(QCRecordRow.kind == QCKind(kind).value)
            except ValueError:
                raise InputError(f"unknown QC kind {kind!r} (expected one of "
                                 f"{', '.join(k.value for k in QCKind)})", field="kind") from None
        q = q.order_by(QCRecordRow.start, QCRecordRow.network, QCRecordRow.station, QCRecordRow.location,
                       QCRecordRow.channel, QCRecordRow.kind, QCRecordRow.end)
        with self._read_sessions() as s, s.begin():
            return [convert.qc_record_from_row(r) for r in s.scalars(q)]


def _type_name(obj: object) -> str:
    return type(obj).__name__


def _typed(items: Iterable, cls: type, field: str) -> tuple:
    """``items`` checked to be ``cls`` objects, each id once (a repeat must be identical)."""
    unique: dict[str, object] = {}
    for x in items:
        if not isinstance(x, cls):
            raise InputError(f"expected {cls.__name__} objects, got {_type_name(x)}", field=field)
        if unique.setdefault(x.id, x) != x:
            raise ImmutableRecordError(f"{field}: {x.id} is given twice with different values")
    return tuple(unique.values())


def _header_fields(type_, type_certainty, region_name) -> dict:
    """The event header columns given to :meth:`EventStore.update_event` (``UNSET`` ones left out), checked."""
    header: dict = {}
    if type_ is not UNSET:
        try:
            header["type"] = None if type_ is None else EventType(type_).value
        except ValueError:
            raise InputError(f"unknown event type {type_!r} (expected one of "
                             f"{', '.join(t.value for t in EventType)})", field="type") from None
    if type_certainty is not UNSET:
        if type_certainty not in (None, "known", "suspected"):
            raise InputError(f"expected known, suspected or None, got {type_certainty!r}", field="type_certainty")
        header["type_certainty"] = type_certainty
    if region_name is not UNSET:
        if not isinstance(region_name, str):
            raise InputError(f"expected text, got {region_name!r}", field="region_name")
        header["region_name"] = region_name
    return header


def _qc_key(rec: QCRecord) -> tuple:
    sid = rec.stream_id
    return (sid.network, sid.station, sid.location, sid.channel, rec.kind.value, rec.start, rec.end)


def _qc_name(rec: QCRecord) -> str:
    return f"{rec.stream_id} {rec.kind.value} {rec.start.isoformat()}..{rec.end.isoformat()}"


def _parse_stream_id(text: str) -> StreamID:
    from tianshan.core.errors import DomainError

    try:
        return StreamID.parse(text)
    except DomainError as err:
        raise InputError(str(err), field="stream_id") from None


def _first_line(err: object) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _retryable(err: DBAPIError) -> bool:
    if isinstance(err, IntegrityError):
        return True  # a unique key taken by a concurrent writer: the retry re-reads and decides
    code = getattr(err.orig, "sqlstate", None)
    if code in ("40001", "40P01", "55P03"):  # serialization failure, deadlock, lock not available
        return True
    return "database is locked" in str(err.orig) or "database is busy" in str(err.orig)


def _finite(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"not a number: {value!r}", field=name) from None
    if not math.isfinite(v):
        raise InputError(f"not finite: {value!r}", field=name)
    return v


def _check_bbox(bbox) -> tuple[float, float, float, float]:
    try:
        west, south, east, north = (_finite("bbox", v) for v in bbox)
    except (TypeError, ValueError):
        raise InputError(f"expected (west, south, east, north) in degrees, got {bbox!r}", field="bbox") from None
    if not (-90 <= south <= north <= 90 and -180 <= west <= 180 and -180 <= east <= 180):
        raise InputError(f"expected -180 <= west, east <= 180 and -90 <= south <= north <= 90, got {bbox!r}",
                         field="bbox")
    return west, south, east, north
