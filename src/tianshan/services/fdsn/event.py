"""fdsnws-event 1.2 over the event store: selection in SQL, QuakeML 1.2 or text out.

Selection runs on the ``events`` table's ``pref_*`` columns (copies of the preferred
origin and magnitude kept by the store, see :mod:`tianshan.store.schema`) so a
catalogue query is one indexed scan: time window, box, depth, magnitude, event type,
update time, contributor (agency of the preferred origin) and, for ``magnitudetype``,
the latest version of a magnitude of that type (``EXISTS`` on ``magnitudes``).
A radius search is pre-selected with the cap's bounding box in SQL and decided
exactly in Python (:mod:`.geo`) while rows stream, so ``offset``/``limit`` count
only matching events. Only events with an origin are served.

The page of events is then loaded in a handful of queries (origins, magnitudes and,
with ``includearrivals``, picks and amplitudes, each for all events at once) and
trimmed as the request says: the preferred origin/magnitude only unless
``includeallorigins``/``includeallmagnitudes``; without ``includearrivals`` no picks,
amplitudes, arrivals or station magnitudes. QuakeML is written as strings
(:func:`_quakeml_direct`, the elements :mod:`tianshan.io.quakeml` gives ObsPy) or, with
``includearrivals``, by :mod:`tianshan.io.quakeml` through ObsPy; the text format is
built from the columns alone.

The service only reads: it opens the store without migrating it.
"""

from __future__ import annotations

import fnmatch
import io
from typing import Sequence

from tianshan.services.fdsn.errors import BadRequest, NoData, TooLarge
from tianshan.services.fdsn.geo import area_from_query
from tianshan.services.fdsn.params import Query
from tianshan.services.fdsn.spec import EVENT_TEXT_COLUMNS, QUAKEML_EVENT_TYPES

#: Name of the catalogue served (``catalog`` parameter, ``catalogs`` resource, text column).
DEFAULT_CATALOG = "TIANSHAN"
#: Rows fetched per round trip while a radius search streams candidates.
_STREAM_BATCH = 2000
#: A magnitude range matching fewer events than this is searched through the (magnitude, time)
#: index on SQLite (see :meth:`EventService._few_by_magnitude`).
_FEW_BY_MAGNITUDE = 5000


def _event_types(patterns: Sequence[str]) -> tuple[list[str], bool]:
    """QuakeML types matching ``patterns`` (wildcards, no case) and whether ``unknown`` (no type) is asked for."""
    types: list[str] = []
    unknown = False
    for pattern in patterns:
        low = pattern.lower()
        hits = [t for t in QUAKEML_EVENT_TYPES if fnmatch.fnmatchcase(t, low)]
        if not hits:
            raise BadRequest(f"eventtype: unknown QuakeML event type {pattern!r}")
        for t in hits:
            if t == "unknown":
                unknown = True
            elif t not in types:
                types.append(t)
    return types, unknown


def _text_field(value) -> str:
    """A text-format field: no separators or line breaks inside (fdsnws text formats are '|'-separated lines)."""
    if value is None:
        return ""
    return " ".join(str(value).replace("|", "/").split())


def _num(value: float | None, digits: int) -> str:
    return "" if value is None else repr(round(float(value), digits))


class EventService:
    """Answers fdsnws-event queries from an :class:`~tianshan.store.EventStore` database.

    ``max_events`` bounds one answer: a request that would return more (no ``limit``,
    or a larger one) is refused with 413, so that no query can exhaust the server.
    """

    def __init__(self, store_url: str, catalog: str = DEFAULT_CATALOG, max_events: int = 20_000) -> None:
        from sqlalchemy.orm import sessionmaker

        from tianshan.store import EventStore

        if max_events < 1:
            raise ValueError("max_events must be >= 1")
        self.store = EventStore.open(store_url, upgrade=False)
        self.catalog = catalog
        self.max_events = int(max_events)
        self._sessions = sessionmaker(bind=self.store.engine)

    def close(self) -> None:
        self.store.close()

    # --- resources ------------------------------------------------------------------------------

    def catalogs_xml(self) -> bytes:
        """The ``catalogs`` resource: ``<Catalogs><Catalog>NAME</Catalog></Catalogs>``."""
        return _simple_xml("Catalogs", "Catalog", [self.catalog])

    def contributors_xml(self) -> bytes:
        """The ``contributors`` resource: the agencies of the stored origins."""
        from sqlalchemy import select

        from tianshan.store.schema import OriginRow

        with self._sessions() as s:
            names = [a for a in s.scalars(select(OriginRow.agency).distinct().order_by(OriginRow.agency)) if a]
        return _simple_xml("Contributors", "Contributor", names)

    # --- query ----------------------------------------------------------------------------------

    def query(self, q: Query) -> tuple[bytes, str]:
        """Body and media type of the answer to ``q``; raises :class:`NoData`, 400 or 413 errors."""
        if q.get("catalog") is not None and q["catalog"].lower() != self.catalog.lower():
            raise NoData(f"this service has only the catalogue {self.catalog}")
        limit = q.get("limit")
        if limit is not None and limit > self.max_events:
            raise TooLarge(f"limit {limit} exceeds this service's maximum of {self.max_events} events")
        want = self.max_events + 1 if limit is None else limit
        with self._sessions() as s:
            rows = self._select(s, q, skip=q["offset"] - 1, want=want)
            if limit is None and len(rows) > self.max_events:
                raise TooLarge(f"more than {self.max_events} events match; narrow the selection or use "
                               "limit and offset")
            if not rows:
                raise NoData()
            if q["format"] == "text":
                return self._text(s, rows, q.get("magnitudetype")), "text/plain; charset=utf-8"
            events = self._load(s, rows, q["includeallorigins"], q["includeallmagnitudes"], q["includearrivals"])
        return _quakeml(events), "application/xml"

    def _select(self, s, q: Query, skip: int, want: int) -> list:
        from sqlalchemy import BigInteger, and_, exists, func, or_, select, type_coerce
        from sqlalchemy.orm import aliased

        from tianshan.core.ids import AUTHORITY
        from tianshan.store.schema import EventRow, MagnitudeRow, OriginRow

        e = EventRow
        stmt = select(e.id, e.pref_time, e.pref_latitude_deg, e.pref_longitude_deg, e.pref_depth_m,
                      e.pref_magnitude, e.pref_magnitude_type, e.type, e.region_name, e.preferred_origin_id,
                      e.preferred_magnitude_id).where(e.pref_time.is_not(None))
        if q.get("eventid") is not None:
            eid = q["eventid"]
            stmt = stmt.where(or_(e.id == eid, e.id == f"smi:{AUTHORITY}/event/{eid}"))
        if q.get("starttime") is not None:
            stmt = stmt.where(e.pref_time >= q["starttime"])
        if q.get("endtime") is not None:
            stmt = stmt.where(e.pref_time <= q["endtime"])
        area = area_from_query(q)
        boxes = [(area.south, area.north, area.west, area.east)] if area.has_box else []
        if area.has_radius:
            boxes.append(area.radius_box())
        for south, north, west, east in boxes:
            stmt = stmt.where(e.pref_latitude_deg.between(south, north))
            lon = e.pref_longitude_deg
            if (west, east) != (-180.0, 180.0):
                stmt = stmt.where(lon.between(west, east) if west <= east else or_(lon >= west, lon <= east))
        if q.get("mindepth") is not None:
            stmt = stmt.where(e.pref_depth_m >= q["mindepth"] * 1000.0)
        if q.get("maxdepth") is not None:
            stmt = stmt.where(e.pref_depth_m <= q["maxdepth"] * 1000.0)
        mag_type = q.get("magnitudetype")
        lo, hi = q.get("minmagnitude"), q.get("maxmagnitude")
        if mag_type is None:
            if lo is not None:
                stmt = stmt.where(e.pref_magnitude >= lo)
            if hi is not None:
                stmt = stmt.where(e.pref_magnitude <= hi)
        else:
            m, m2 = aliased(MagnitudeRow), aliased(MagnitudeRow)
            latest = (select(func.max(m2.version)).where(m2.event_id == m.event_id, m2.type == m.type)
                      .scalar_subquery())
            conds = [m.event_id == e.id, func.lower(m.type) == mag_type.lower(), m.version == latest]
            if lo is not None:
                conds.append(m.value >= lo)
            if hi is not None:
                conds.append(m.value <= hi)
            stmt = stmt.where(exists(select(m.id).where(and_(*conds))))
        if q.get("eventtype") is not None:
            types, unknown = _event_types(q["eventtype"])
            conds = [e.type.in_(types)] if types else []
            if unknown:
                conds.append(e.type.is_(None))
            stmt = stmt.where(or_(*conds))
        if q.get("updatedafter") is not None:
            stmt = stmt.where(e.updated_at > q["updatedafter"])
        if q.get("contributor") is not None:
            stmt = stmt.where(exists(select(OriginRow.id).where(
                OriginRow.id == e.preferred_origin_id, OriginRow.agency == q["contributor"])))
        time_key = e.pref_time
        if (q["orderby"] in ("time", "time-asc") and mag_type is None and lo is not None
                and s.get_bind().dialect.name == "sqlite" and self._few_by_magnitude(s, lo, hi)):
            # SQLite's planner (no histograms) walks the time index for any time order and tests
            # every row's magnitude; when few events are that large, an order term no index can
            # serve makes it select through ix_events_mag_time and sort the few rows instead.
            time_key = type_coerce(e.pref_time, BigInteger) + 0
        order = {"time": (time_key.desc(), e.id), "time-asc": (time_key.asc(), e.id),
                 "magnitude": (e.pref_magnitude.desc().nulls_last(), e.pref_time.desc(), e.id),
                 "magnitude-asc": (e.pref_magnitude.asc().nulls_last(), e.pref_time.asc(), e.id)}[q["orderby"]]
        stmt = stmt.order_by(*order)
        if not area.has_radius:
            return list(s.execute(stmt.offset(skip).limit(want)))
        out = []
        for row in s.execute(stmt.execution_options(yield_per=_STREAM_BATCH)):
            if area.contains(row.pref_latitude_deg, row.pref_longitude_deg):
                if skip:
                    skip -= 1
                    continue
                out.append(row)
                if len(out) >= want:
                    break
        return out

    @staticmethod
    def _few_by_magnitude(s, lo: float, hi: float | None) -> bool:
        """Whether fewer than :data:`_FEW_BY_MAGNITUDE` events have a magnitude in ``[lo, hi]``
        (an index-only count stopped at the threshold: under a millisecond)."""
        from sqlalchemy import func, literal, select

        from tianshan.store.schema import EventRow as e

        inner = select(literal(1)).where(e.pref_magnitude >= lo)
        if hi is not None:
            inner = inner.where(e.pref_magnitude <= hi)
        n = s.scalar(select(func.count()).select_from(inner.limit(_FEW_BY_MAGNITUDE).subquery()))
        return int(n or 0) < _FEW_BY_MAGNITUDE

    # --- output ---------------------------------------------------------------------------------

    def _text(self, s, rows: list, mag_type: str | None) -> bytes:
        """The text format (fdsnws-event 1.2): a ``#``-header line, then one '|'-separated line per event."""
        from sqlalchemy import select

        from tianshan.store.schema import MagnitudeRow, OriginRow

        ids = [r.id for r in rows]
        origins: dict[str, dict[str, tuple[int, str]]] = {}
        for event_id, oid, seq, agency in s.execute(select(OriginRow.event_id, OriginRow.id, OriginRow.seq,
                                                           OriginRow.agency).where(OriginRow.event_id.in_(ids))):
            origins.setdefault(event_id, {})[oid] = (seq, agency)
        mags: dict[str, list] = {}
        for m in s.execute(select(MagnitudeRow.event_id, MagnitudeRow.id, MagnitudeRow.seq, MagnitudeRow.type,
                                  MagnitudeRow.version, MagnitudeRow.value, MagnitudeRow.agency)
                           .where(MagnitudeRow.event_id.in_(ids))):
            mags.setdefault(m.event_id, []).append(m)
        lines = ["#" + "|".join(EVENT_TEXT_COLUMNS)]
        for r in rows:
            ors = origins.get(r.id, {})
            author = (ors.get(r.preferred_origin_id) or max(ors.values(), default=(0, ""), key=lambda x: x[0]))[1]
            m = _text_magnitude(mags.get(r.id, []), r.preferred_magnitude_id, mag_type)
            t = r.pref_time
            lines.append("|".join((
                _text_field(r.id), t.strftime("%Y-%m-%dT%H:%M:%S.%f"), _num(r.pref_latitude_deg, 6),
                _num(r.pref_longitude_deg, 6), _num(None if r.pref_depth_m is None else r.pref_depth_m / 1000.0, 4),
                _text_field(author), _text_field(self.catalog), _text_field(author), _text_field(r.id),
                _text_field(None if m is None else m.type), _num(None if m is None else m.value, 2),
                _text_field(None if m is None else m.agency), _text_field(r.region_name), _text_field(r.type))))
        return ("\n".join(lines) + "\n").encode("utf-8")

    def _load(self, s, rows: list, all_origins: bool, all_mags: bool, arrivals: bool) -> list:
        """Domain events of ``rows`` (in order), trimmed as the include* parameters say."""
        from sqlalchemy import or_, select
        from sqlalchemy.orm import joinedload, lazyload, selectinload
        from sqlalchemy.orm.attributes import set_committed_value

        from tianshan.core.event import Event, EventType
        from tianshan.store import convert
        from tianshan.store.schema import (EventAmplitudeRow, EventPickRow, EventRow, MagnitudeRow,
                                           OriginRow)

        ids = [r.id for r in rows]
        heads = {h.id: h for h in s.scalars(select(EventRow).where(EventRow.id.in_(ids)))}

        def versions(table, pref_attr: str, every: bool, children: str) -> dict[str, list]:
            # the child rows (arrivals, station magnitudes) are read only when they are sent; otherwise
            # the collection is set empty, so that converting the row issues no lazy query
            relation = getattr(table, children)
            stmt = select(table).options(selectinload(relation) if arrivals else lazyload(relation))
            stmt = stmt.where(table.event_id.in_(ids))
            if not every:
                prefs = [getattr(r, pref_attr) for r in rows if getattr(r, pref_attr)]
                fallback = [r.id for r in rows if not getattr(r, pref_attr)]
                stmt = stmt.where(or_(table.id.in_(prefs), table.event_id.in_(fallback)))
            out: dict[str, list] = {}
            for row in s.scalars(stmt.order_by(table.event_id, table.seq)):
                if not arrivals:
                    set_committed_value(row, children, [])
                out.setdefault(row.event_id, []).append(row)
            return out

        origin_rows = versions(OriginRow, "preferred_origin_id", all_origins, "arrivals")
        mag_rows = versions(MagnitudeRow, "preferred_magnitude_id", all_mags, "station_magnitudes")
        picks: dict[str, list] = {}
        amps: dict[str, list] = {}
        if arrivals:
            for link in s.scalars(select(EventPickRow).options(joinedload(EventPickRow.pick))
                                  .where(EventPickRow.event_id.in_(ids)).order_by(EventPickRow.position)):
                picks.setdefault(link.event_id, []).append(convert.pick_from_row(link.pick))
            for link in s.scalars(select(EventAmplitudeRow).options(joinedload(EventAmplitudeRow.amplitude))
                                  .where(EventAmplitudeRow.event_id.in_(ids)).order_by(EventAmplitudeRow.position)):
                amps.setdefault(link.event_id, []).append(convert.amplitude_from_row(link.amplitude))
        events = []
        for r in rows:
            head = heads[r.id]
            origins = [convert.origin_from_row(o) for o in origin_rows.get(r.id, [])]
            mags = [convert.magnitude_from_row(m) for m in mag_rows.get(r.id, [])]
            if not all_origins:
                origins = _keep_preferred(origins, head.preferred_origin_id)
            if not all_mags:
                mags = _keep_preferred(mags, head.preferred_magnitude_id)
            events.append(Event(
                type=None if head.type is None else EventType(head.type), type_certainty=head.type_certainty,
                origins=tuple(origins), magnitudes=tuple(mags), picks=tuple(picks.get(r.id, ())),
                amplitudes=tuple(amps.get(r.id, ())),
                preferred_origin_id=_preferred_id(origins, head.preferred_origin_id),
                preferred_magnitude_id=_preferred_id(mags, head.preferred_magnitude_id),
                region_name=head.region_name, id=head.id, created_at=head.created_at))
        return events


def _preferred_id(items: list, preferred_id: str | None) -> str | None:
    """The id QuakeML names as preferred: the stored preferred one, else the latest (as ``Event`` reads it)."""
    if any(x.id == preferred_id for x in items):
        return preferred_id
    return items[-1].id if items else None


def _keep_preferred(items: list, preferred_id: str | None) -> list:
    """The preferred item (by id), or the latest one when none is named."""
    for x in items:
        if x.id == preferred_id:
            return [x]
    return items[-1:]


def _text_magnitude(mags: list, preferred_id: str | None, mag_type: str | None):
    """The magnitude a text line shows: the latest of ``mag_type`` if given, else the preferred (or latest)."""
    if not mags:
        return None
    if mag_type is not None:
        typed = [m for m in mags if m.type.lower() == mag_type.lower()]
        if typed:
            return max(typed, key=lambda m: m.version)
    for m in mags:
        if m.id == preferred_id:
            return m
    return max(mags, key=lambda m: m.seq)


def _quakeml(events: list) -> bytes:
    """QuakeML 1.2 of ``events``: written directly when they hold no picks, amplitudes, arrivals or
    station magnitudes (the answer without ``includearrivals``), else through ObsPy's writer."""
    if not any(ev.picks or ev.amplitudes or any(o.arrivals for o in ev.origins)
               or any(m.station_magnitudes for m in ev.magnitudes) for ev in events):
        return _quakeml_direct(events)
    from tianshan.io._obspy import NSMAP
    from tianshan.io.quakeml import catalog_to_obspy

    buf = io.BytesIO()
    catalog_to_obspy(events).write(buf, format="QUAKEML", nsmap=dict(NSMAP))
    return buf.getvalue()


_Q_HEAD = ("<?xml version='1.0' encoding='utf-8'?>\n"
           '<q:quakeml xmlns:tianshan="{ns}" xmlns="http://quakeml.org/xmlns/bed/1.2" '
           'xmlns:q="http://quakeml.org/xmlns/quakeml/1.2">\n<eventParameters publicID="{pid}">\n')
_Q_TAIL = "</eventParameters>\n</q:quakeml>\n"


def _qtime(t) -> str:
    """A time as ObsPy writes it in QuakeML (``UTCDateTime`` string: microseconds, ``Z``)."""
    from tianshan.core.timeutil import UTC, as_utc

    return as_utc(t).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _qel(out: list, tag: str, value) -> None:
    """``<tag>value</tag>`` when ``value`` is not None (text as ObsPy writes it: ``"%s" % value``)."""
    if value is not None:
        out.append(f"<{tag}>{_xml_text(value)}</{tag}>")


def _qvalue(out: list, tag: str, value, uncertainty=None, always: bool = False) -> None:
    """A QuakeML RealQuantity/TimeQuantity: ``<tag><value/>[<uncertainty/>]</tag>``."""
    if value is None and not always:
        return
    out.append(f"<{tag}>")
    _qel(out, "value", value)
    _qel(out, "uncertainty", uncertainty)
    out.append(f"</{tag}>")


def _qcreation(out: list, created_at, agency: str | None = None, version: int | None = None) -> None:
    out.append("<creationInfo>")
    _qel(out, "agencyID", agency or None)
    out.append(f"<creationTime>{_qtime(created_at)}</creationTime>")
    _qel(out, "version", None if version is None else str(version))
    out.append("</creationInfo>")


def _xml_text(value) -> str:
    if not isinstance(value, str):
        return "%s" % (value,)  # numbers: nothing to escape
    from xml.sax.saxutils import escape

    return escape(value)


def _quakeml_direct(events: list) -> bytes:
    """QuakeML 1.2 of events without picks/amplitudes/arrivals/station magnitudes, as plain strings.

    The same elements, order and value texts as :func:`tianshan.io.quakeml.catalog_to_obspy`
    followed by ObsPy's QuakeML writer (QuakeML BED 1.2, Schorlemmer et al. 2011: event,
    origin with quality and originUncertainty, magnitude, creationInfo; the Tianshan
    ``depthFixed`` extra element), without building ObsPy objects: for 1000 events that
    was 80 % of the answer time. Tested by reading both outputs back.
    """
    import uuid
    from xml.sax.saxutils import quoteattr

    from tianshan.io._obspy import NS, id_to_uri, label_to_uri
    from tianshan.io.quakeml import _fraction_to_percent, metres_per_degree

    out = [_Q_HEAD.format(ns=NS, pid=f"smi:local/{uuid.uuid4()}")]
    for ev in events:
        out.append(f"<event publicID={quoteattr(id_to_uri(ev.id))}>")
        _qel(out, "preferredOriginID", None if ev.preferred_origin_id is None else id_to_uri(ev.preferred_origin_id))
        _qel(out, "preferredMagnitudeID",
             None if ev.preferred_magnitude_id is None else id_to_uri(ev.preferred_magnitude_id))
        _qel(out, "type", None if ev.type is None else ev.type.value)
        _qel(out, "typeCertainty", ev.type_certainty)
        if ev.region_name:
            out.append(f"<description><text>{_xml_text(ev.region_name)}</text><type>region name</type></description>")
        _qcreation(out, ev.created_at)
        for o in ev.origins:
            lat_err = lon_err = None
            if o.horizontal_uncertainty_m is not None:
                m_lat, m_lon = metres_per_degree(o.latitude_deg)
                lat_err = o.horizontal_uncertainty_m / m_lat
                lon_err = o.horizontal_uncertainty_m / m_lon if m_lon > 1e-6 else None
            out.append(f"<origin publicID={quoteattr(id_to_uri(o.id))}>")
            _qvalue(out, "time", _qtime(o.time), o.time_uncertainty_s, always=True)
            _qvalue(out, "latitude", o.latitude_deg, lat_err, always=True)
            _qvalue(out, "longitude", o.longitude_deg, lon_err, always=True)
            _qvalue(out, "depth", o.depth_m, o.depth_uncertainty_m)
            _qel(out, "depthType", "operator assigned" if o.depth_fixed else None)
            _qel(out, "methodID", label_to_uri("method", o.method))
            _qel(out, "earthModelID", label_to_uri("earthmodel", o.earth_model))
            quality = (("usedPhaseCount", o.phase_count), ("usedStationCount", o.station_count),
                       ("standardError", o.rms_s), ("azimuthalGap", o.azimuthal_gap_deg),
                       ("minimumDistance", o.minimum_distance_deg))
            if any(v is not None for _, v in quality):
                out.append("<quality>")
                for tag, v in quality:
                    _qel(out, tag, v)
                out.append("</quality>")
            _qel(out, "evaluationMode", o.evaluation_mode.value)
            _qel(out, "evaluationStatus", o.evaluation_status.value)
            _qcreation(out, o.created_at, o.agency, o.version)
            e = o.ellipse
            if o.horizontal_uncertainty_m is not None or e is not None:
                out.append("<originUncertainty>")
                _qel(out, "preferredDescription", "uncertainty ellipse" if e is not None else "horizontal uncertainty")
                _qel(out, "horizontalUncertainty", o.horizontal_uncertainty_m)
                if e is not None:
                    _qel(out, "minHorizontalUncertainty", e.semi_minor_m)
                    _qel(out, "maxHorizontalUncertainty", e.semi_major_m)
                    _qel(out, "azimuthMaxHorizontalUncertainty", e.azimuth_deg)
                    _qel(out, "confidenceLevel", _fraction_to_percent(e.confidence))
                out.append("</originUncertainty>")
            out.append(f"<tianshan:depthFixed>{'true' if o.depth_fixed else 'false'}</tianshan:depthFixed>")
            out.append("</origin>")
        for m in ev.magnitudes:
            out.append(f"<magnitude publicID={quoteattr(id_to_uri(m.id))}>")
            _qvalue(out, "mag", m.value, m.uncertainty, always=True)
            _qel(out, "type", m.type)
            _qel(out, "originID", None if m.origin_id is None else id_to_uri(m.origin_id))
            _qel(out, "methodID", label_to_uri("method", m.method))
            _qel(out, "stationCount", m.station_count)
            _qel(out, "evaluationMode", m.evaluation_mode.value)
            _qel(out, "evaluationStatus", m.evaluation_status.value)
            _qcreation(out, m.created_at, m.agency, m.version)
            out.append("</magnitude>")
        out.append("</event>\n")
    out.append(_Q_TAIL)
    return "".join(out).encode("utf-8")


def _simple_xml(root: str, child: str, names: Sequence[str]) -> bytes:
    """``<Roots><Root>a</Root>...</Roots>``, the form of the catalogs/contributors resources."""
    from xml.sax.saxutils import escape

    items = "".join(f"<{child}>{escape(n)}</{child}>" for n in names)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>{items}</{root}>\n'.encode("utf-8")
