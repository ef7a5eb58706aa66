"""Reads of the REST API over the event store: event list and detail, QC status, alert messages.

Everything here blocks (database reads) and runs in a worker thread. Every value a
client sends reaches SQL as a bound parameter (SQLAlchemy Core), never as SQL text.

Event **status** is derived from the preferred origin (QuakeML 1.2 evaluation mode
and status): ``cancelled`` when the event type is ``not existing`` or the origin is
``rejected``; ``final`` when the origin is ``final``; ``reviewed`` when it is
``manual``, ``reviewed`` or ``confirmed``; otherwise ``automatic``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import and_, func, select

from tianshan.core.event import Event
from tianshan.core.timeutil import as_utc
from tianshan.store.schema import AlertRow, EventRow, MagnitudeRow, OriginRow, QCRecordRow

UTC = timezone.utc
#: QC kinds that make a station "fail" (dead or unusable data); any other finding is a "warn".
FAIL_KINDS = frozenset({"flat", "invalid"})
#: Availability (percent) below which a station fails / warns.
FAIL_AVAILABILITY_PCT = 50.0
WARN_AVAILABILITY_PCT = 95.0
#: Span of QC records judged: this long before the newest record in the store.
QC_WINDOW = timedelta(days=1)

ORDER = {"time": (EventRow.pref_time.desc().nulls_last(), EventRow.id),
         "time-asc": (EventRow.pref_time.asc().nulls_last(), EventRow.id),
         "magnitude": (EventRow.pref_magnitude.desc().nulls_last(), EventRow.id),
         "magnitude-asc": (EventRow.pref_magnitude.asc().nulls_last(), EventRow.id)}


def iso(t: datetime | None) -> str | None:
    """ISO 8601 UTC with ``Z`` (microseconds kept when present)."""
    if t is None:
        return None
    return as_utc(t).isoformat().replace("+00:00", "Z")


def status_of(event_type: str | None, mode: str | None, status: str | None) -> str:
    """The API status of an event (see the module docstring)."""
    if event_type == "not existing" or status == "rejected":
        return "cancelled"
    if status == "final":
        return "final"
    if mode == "manual" or status in ("reviewed", "confirmed"):
        return "reviewed"
    return "automatic"


def _km(m: float | None) -> float | None:
    return None if m is None else m / 1000.0


def _list_query():
    n_origins = (select(func.count()).select_from(OriginRow).where(OriginRow.event_id == EventRow.id)
                 .correlate(EventRow).scalar_subquery())
    n_mags = (select(func.count()).select_from(MagnitudeRow).where(MagnitudeRow.event_id == EventRow.id)
              .correlate(EventRow).scalar_subquery())
    return (select(EventRow.id, EventRow.pref_time, EventRow.pref_latitude_deg, EventRow.pref_longitude_deg,
                   EventRow.pref_depth_m, EventRow.pref_magnitude, EventRow.pref_magnitude_type, EventRow.type,
                   EventRow.region_name, EventRow.updated_at, OriginRow.evaluation_mode,
                   OriginRow.evaluation_status, n_origins.label("n_origins"), n_mags.label("n_magnitudes"))
            .outerjoin(OriginRow, OriginRow.id == EventRow.preferred_origin_id))


def _row_dict(r) -> dict:
    return {"id": r.id, "time": iso(r.pref_time), "latitude": r.pref_latitude_deg,
            "longitude": r.pref_longitude_deg, "depth_km": _km(r.pref_depth_m), "magnitude": r.pref_magnitude,
            "magnitude_type": r.pref_magnitude_type,
            "status": status_of(r.type, r.evaluation_mode, r.evaluation_status), "event_type": r.type,
            "n_origins": int(r.n_origins or 0), "n_magnitudes": int(r.n_magnitudes or 0),
            "region_name": r.region_name or "", "updated": iso(r.updated_at)}


def list_events(store, *, start=None, end=None, min_mag=None, max_mag=None, min_lat=None, max_lat=None,
                min_lon=None, max_lon=None, limit: int = 100, offset: int = 0, orderby: str = "time",
                hidden: set[str] | frozenset = frozenset()) -> tuple[int, list[dict]]:
    """``(count, rows)`` of the events matching the filters, in ``orderby`` order; ``hidden`` ids left out.

    ``start <= time < end``; magnitudes against the preferred magnitude; the box on the
    preferred epicentre, edges included (``min_lon > max_lon`` crosses the antimeridian).
    """
    cond = []
    if start is not None:
        cond.append(EventRow.pref_time >= start)
    if end is not None:
        cond.append(EventRow.pref_time < end)
    if min_mag is not None:
        cond.append(EventRow.pref_magnitude >= min_mag)
    if max_mag is not None:
        cond.append(EventRow.pref_magnitude <= max_mag)
    if min_lat is not None:
        cond.append(EventRow.pref_latitude_deg >= min_lat)
    if max_lat is not None:
        cond.append(EventRow.pref_latitude_deg <= max_lat)
    lon = EventRow.pref_longitude_deg
    if min_lon is not None and max_lon is not None and min_lon > max_lon:
        cond.append((lon >= min_lon) | (lon <= max_lon))
    else:
        if min_lon is not None:
            cond.append(lon >= min_lon)
        if max_lon is not None:
            cond.append(lon <= max_lon)
    if hidden:
        cond.append(EventRow.id.not_in(sorted(hidden)))
    where = and_(True, *cond)
    q = _list_query().where(where).order_by(*ORDER[orderby]).limit(limit).offset(offset)
    with store._read_sessions() as s, s.begin():
        total = s.scalar(select(func.count()).select_from(EventRow).where(where)) or 0
        return total, [_row_dict(r) for r in s.execute(q)]


def event_rows(store, ids: list[str]) -> list[dict]:
    """List rows of the events ``ids`` (those that exist)."""
    if not ids:
        return []
    with store._read_sessions() as s, s.begin():
        return [_row_dict(r) for r in s.execute(_list_query().where(EventRow.id.in_(ids)))]


def changed_events(store, since: datetime | None, limit: int = 200) -> list[dict]:
    """Rows of the events changed at or after ``since`` (all when ``None``), oldest change first."""
    q = _list_query()
    if since is not None:
        q = q.where(EventRow.updated_at >= since)
    q = q.order_by(EventRow.updated_at, EventRow.id).limit(limit)
    with store._read_sessions() as s, s.begin():
        return [_row_dict(r) for r in s.execute(q)]


def last_update(store) -> datetime | None:
    with store._read_sessions() as s, s.begin():
        return s.scalar(select(func.max(EventRow.updated_at)))


def event_detail(event: Event, summary: dict) -> dict:
    """The detail fields of a stored event (origins, magnitudes, picks) added to its list row."""
    pref_o = event.preferred_origin.id if event.preferred_origin else None
    pref_m = event.preferred_magnitude.id if event.preferred_magnitude else None
    origins = []
    for o in event.origins:
        h = o.horizontal_uncertainty_m
        if h is None and o.ellipse is not None:
            h = o.ellipse.semi_major_m
        origins.append({"id": o.id, "version": o.version, "time": iso(o.time), "latitude": o.latitude_deg,
                        "longitude": o.longitude_deg, "depth_km": o.depth_m / 1000.0,
                        "creation_time": iso(o.created_at), "n_stations": o.station_count, "rms_s": o.rms_s,
                        "horizontal_error_km": _km(h), "evaluation_mode": o.evaluation_mode.value,
                        "evaluation_status": o.evaluation_status.value, "method": o.method,
                        "preferred": o.id == pref_o})
    mags = [{"id": m.id, "version": m.version, "value": m.value, "type": m.type, "n_stations": m.station_count,
             "creation_time": iso(m.created_at), "preferred": m.id == pref_m} for m in event.magnitudes]
    picks = [{"station": f"{p.stream_id.network}.{p.stream_id.station}", "stream": str(p.stream_id),
              "phase": p.phase, "time": iso(p.time), "probability": p.probability}
             for p in sorted(event.picks, key=lambda p: p.time)]
    return {**summary, "origins": origins, "magnitudes": mags, "picks": picks}


def product_entries(event_id: str, products, products_dir: Path | None) -> tuple[list[dict], dict[str, Path]]:
    """``(list entries, {url path: file})`` of an event's products: the store's, then files of
    ``products_dir/<event id>/`` not already listed. Only these files are ever served."""
    from urllib.parse import quote

    entries: list[dict] = []
    files: dict[str, Path] = {}
    seen: set[Path] = set()
    for p in products:
        path = Path(p.uri)
        if p.uri.startswith(("http://", "https://")) or not path.is_file():
            continue
        name = str(p.properties.get("name") or path.name)
        rel = f"{p.kind}/{p.version}/{path.name}"
        files[rel] = path
        seen.add(path.resolve())
        entries.append({"name": name, "kind": p.kind, "version": p.version, "created": iso(p.created_at),
                        "content_type": p.content_type,
                        "url": f"/api/v1/events/{quote(event_id, safe='')}/products/{quote(rel)}"})
    if products_dir is not None:
        root = (Path(products_dir) / event_id).resolve()
        base = Path(products_dir).resolve()
        if root.is_dir() and root.is_relative_to(base) and root != base:
            for path in sorted(root.rglob("*")):
                real = path.resolve()
                if not path.is_file() or real in seen or not real.is_relative_to(root):
                    continue
                rel = "files/1/" + path.relative_to(root).as_posix()
                files[rel] = real
                mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
                entries.append({"name": path.name, "kind": "file", "version": 1, "created": iso(mtime),
                                "content_type": _content_type(path),
                                "url": f"/api/v1/events/{quote(event_id, safe='')}/products/{quote(rel)}"})
    return entries, files


def _content_type(path: Path) -> str:
    import mimetypes

    suffix = path.suffix.lower()
    if suffix == ".geojson":
        return "application/geo+json"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _level(kind: str, low: float) -> str:
    if kind == "availability":
        return "fail" if low < FAIL_AVAILABILITY_PCT else "warn" if low < WARN_AVAILABILITY_PCT else "ok"
    return "fail" if kind in FAIL_KINDS else "warn"


_RANK = {"ok": 0, "warn": 1, "fail": 2}


def _worse(out: dict, key, level: str) -> None:
    prev = out.get(key)
    if prev is None or _RANK[level] > _RANK[prev]:
        out[key] = level


def _live_detail():
    """The live QC's detail prefixes (exclusion, inclusion) and SQL conditions telling its records apart."""
    from tianshan.stages.qc import EXCLUDED, INCLUDED

    live = QCRecordRow.detail.startswith(EXCLUDED, autoescape=True) | \
        QCRecordRow.detail.startswith(INCLUDED, autoescape=True)
    return EXCLUDED, INCLUDED, live


def qc_status(store) -> dict[tuple[str, str], str]:
    """``{(net, sta): "ok"|"warn"|"fail"}`` over the :data:`QC_WINDOW` before the newest QC finding.

    ``fail``: a flat (dead) or invalid-data finding, or availability below
    :data:`FAIL_AVAILABILITY_PCT`; ``warn``: any other finding (gap, spike, clipping...)
    or availability below :data:`WARN_AVAILABILITY_PCT`; ``ok``: records in the window and
    none of these. Stations without a record in the window are absent (unknown).

    The live QC's records (:mod:`tianshan.stages.qc`) count by the stream's latest state: an
    exclusion the stream is still under is judged as a finding of its kind; once the stream
    is included again it is a ``warn`` (it had a problem in the window). Latency snapshots are
    not findings: a station whose only records in the window are snapshots (or inclusions) is
    ``ok``.
    """
    excluded_prefix, _, live = _live_detail()
    latency = QCRecordRow.kind == "latency"
    with store._read_sessions() as s, s.begin():
        newest = s.scalar(select(func.max(QCRecordRow.end)).where(~latency))
        newest_latency = s.scalar(select(func.max(QCRecordRow.end)).where(latency))
        out: dict[tuple[str, str], str] = {}
        if newest_latency is not None:
            for net, sta in s.execute(select(QCRecordRow.network, QCRecordRow.station)
                                      .where(latency, QCRecordRow.end >= newest_latency - QC_WINDOW).distinct()):
                out[(net, sta)] = "ok"
        if newest is None:
            return out
        since = newest - QC_WINDOW
        q = (select(QCRecordRow.network, QCRecordRow.station, QCRecordRow.kind, func.min(QCRecordRow.value))
             .where(QCRecordRow.end >= since, ~latency, ~live)
             .group_by(QCRecordRow.network, QCRecordRow.station, QCRecordRow.kind))
        rows = s.execute(q).all()
        states = _live_states(s, since, live)
    for net, sta, kind, low in rows:
        _worse(out, (net, sta), _level(kind, low))
    for (net, sta, _loc, _cha), (kind, value, detail) in states.items():
        level = _level(kind, value) if detail.startswith(excluded_prefix) else "warn"
        _worse(out, (net, sta), level)
    return out


def _live_states(s, since, live) -> dict[tuple, tuple[str, float, str]]:
    """``{(net, sta, loc, cha): (kind, value, detail)}``: each stream's newest live QC record ending after ``since``."""
    cols = (QCRecordRow.network, QCRecordRow.station, QCRecordRow.location, QCRecordRow.channel)
    q = (select(*cols, QCRecordRow.kind, QCRecordRow.value, QCRecordRow.detail)
         .where(QCRecordRow.end >= since, live).order_by(QCRecordRow.end, QCRecordRow.pk))
    out: dict[tuple, tuple[str, float, str]] = {}
    for net, sta, loc, cha, kind, value, detail in s.execute(q):
        out[(net, sta, loc, cha)] = (kind, value, detail)  # later rows (newer ends) win
    return out


#: A station's latency snapshot older than this (wall time) no longer stands for its latency: the
#: latency is then the age of its newest sample (the daemon that wrote the snapshots has stopped).
LATENCY_STALE = timedelta(minutes=10)


def station_live(store, now: datetime | None = None) -> dict[tuple[str, str], dict]:
    """``{(net, sta): {"latency_s", "excluded", "reasons"}}`` from the live QC's records in the store.

    ``latency_s``: the station's newest latency snapshot (kind ``latency``) -- its value while the
    snapshot is younger than :data:`LATENCY_STALE` at ``now``, else ``now`` minus the newest sample
    it saw; ``excluded``: a stream of the station is under a live exclusion (its newest live record,
    within :data:`QC_WINDOW` of the newest one, is an exclusion); ``reasons``: the details of those
    exclusions.
    """
    now = as_utc(now) if now is not None else datetime.now(UTC)
    excluded_prefix, _, live = _live_detail()
    out: dict[tuple[str, str], dict] = {}
    with store._read_sessions() as s, s.begin():
        newest_latency = s.scalar(select(func.max(QCRecordRow.end)).where(QCRecordRow.kind == "latency"))
        if newest_latency is not None:
            recent = (QCRecordRow.kind == "latency", QCRecordRow.end >= newest_latency - QC_WINDOW)
            last = (select(QCRecordRow.network, QCRecordRow.station, func.max(QCRecordRow.end).label("end"))
                    .where(*recent).group_by(QCRecordRow.network, QCRecordRow.station).subquery())
            q = (select(QCRecordRow.network, QCRecordRow.station, QCRecordRow.start, QCRecordRow.end,
                        QCRecordRow.value)
                 .join(last, and_(QCRecordRow.network == last.c.network, QCRecordRow.station == last.c.station,
                                  QCRecordRow.end == last.c.end))
                 .where(*recent))
            for net, sta, start, end, value in s.execute(q):
                start, end = as_utc(start), as_utc(end)
                lat = float(value) if now - end <= LATENCY_STALE else max(float(value), (now - start).total_seconds())
                out[(net, sta)] = {"latency_s": round(lat, 3), "excluded": False, "reasons": []}
        newest_live = s.scalar(select(func.max(QCRecordRow.end)).where(live))
        states = {} if newest_live is None else _live_states(s, newest_live - QC_WINDOW, live)
    for (net, sta, loc, cha), (_kind, _value, detail) in sorted(states.items()):
        if detail.startswith(excluded_prefix):
            row = out.setdefault((net, sta), {"latency_s": None, "excluded": False, "reasons": []})
            row["excluded"] = True
            row["reasons"].append(f"{net}.{sta}.{loc}.{cha}: {detail[len(excluded_prefix):]}")
    return out


def station_qc(store, network: str, station: str, start=None, end=None, kind: str | None = None,
               limit: int = 1000) -> tuple[int, list[dict]]:
    """``(count, rows)``: QC records of one station, newest first."""
    cond = [QCRecordRow.network == network, QCRecordRow.station == station]
    if start is not None:
        cond.append(QCRecordRow.end >= start)
    if end is not None:
        cond.append(QCRecordRow.start < end)
    if kind is not None:
        cond.append(QCRecordRow.kind == kind)
    q = select(QCRecordRow).where(*cond).order_by(QCRecordRow.start.desc(), QCRecordRow.pk.desc()).limit(limit)
    with store._read_sessions() as s, s.begin():
        total = s.scalar(select(func.count()).select_from(QCRecordRow).where(*cond)) or 0
        rows = [{"stream": f"{r.network}.{r.station}.{r.location}.{r.channel}", "kind": r.kind,
                 "start": iso(r.start), "end": iso(r.end), "value": r.value, "detail": r.detail}
                for r in s.scalars(q)]
    return total, rows


def alert_ids(store) -> set[str]:
    with store._read_sessions() as s, s.begin():
        return set(s.scalars(select(AlertRow.id)))


def alert_messages(store, hidden: set[str] | frozenset = frozenset()) -> list[dict]:
    """Every stored alert as its message JSON (``alert.schema.json``), newest first.

    The messages are rebuilt in issue order per event by
    :class:`~tianshan.products.alerts.message.AlertIssuer` (message type, references and
    merged areas follow from the sequence); an alert the issuer refuses (a cancel never
    preceded by an alert) is left out. Alerts of ``hidden`` event ids are left out.
    """
    from tianshan.core.errors import DomainError
    from tianshan.products.alerts.message import AlertIssuer

    alerts = [a for a in store.alerts() if a.event_id not in hidden]
    issuer = AlertIssuer(sender="tianshan-eew")
    out = []
    for a in sorted(alerts, key=lambda a: (a.event_id, a.sequence)):
        try:
            out.append(issuer.issue(a).to_dict())
        except DomainError:
            continue
    out.sort(key=lambda m: (m["sent"], m["sequence"]), reverse=True)
    return out
