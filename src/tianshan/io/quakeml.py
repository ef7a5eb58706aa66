"""QuakeML 1.2 <-> domain events, through ObsPy's event classes.

Mapping (QuakeML BED 1.2, Schorlemmer et al. 2011; ObsPy ``obspy.core.event``):

* Event: ``type``, ``typeCertainty``, ``description`` (region name),
  ``creationInfo.creationTime``, preferred origin/magnitude ids.
* Origin: ``time``/``latitude``/``longitude``/``depth`` with their
  uncertainties (depth in m, latitude/longitude uncertainty in degrees,
  converted from metres by :func:`metres_per_degree`), ``originUncertainty``
  (horizontal uncertainty and ellipse, metres; confidence in percent),
  ``quality`` (rms, gap, used phase/station counts, minimum distance),
  ``methodID``, ``earthModelID``, ``depthType`` (``operator assigned`` when
  fixed), evaluation mode/status, ``creationInfo`` (version, agencyID,
  creationTime) and arrivals.
* Magnitude + StationMagnitude + StationMagnitudeContribution (residual, weight).
* Pick (``waveformID``, ``phaseHint``, ``polarity``, ``methodID``...) and
  Amplitude (``genericAmplitude``, ``unit``, ``period``, ``snr``,
  ``timeWindow.reference`` as the measurement time...).

Fields QuakeML has no element for are ``extra`` elements in the Tianshan
namespace ``https://tianshan.org/xmlns/1.0``: ``tianshan:probability`` on
picks, ``tianshan:depthFixed`` on origins.

Foreign files (QuakeML from other agencies, SeisComP SCML, which ObsPy
converts to QuakeML on reading) may omit fields the domain model needs:
picks/amplitudes/station magnitudes without a usable stream id and origins
or magnitudes without a value are skipped, and counted in a logged warning.
"""

from __future__ import annotations

import logging
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterable

from tianshan.core.errors import DomainError, InputError
from tianshan.core.event import Event, EventType
from tianshan.core.ids import StreamID
from tianshan.core.magnitude import Magnitude, StationMagnitude
from tianshan.core.origin import Arrival, ErrorEllipse, EvaluationStatus, Origin
from tianshan.core.pick import Amplitude, EvaluationMode, Pick, Polarity
from tianshan.core.timeutil import utc_now
from tianshan.io._obspy import (NSMAP, extra_bool, from_utc_datetime, get_extra, id_from_uri, id_to_uri,
                                label_from_uri, label_to_uri, set_extra, to_utc_datetime)
from tianshan.io.atomic import atomic_path

log = logging.getLogger(__name__)

#: WGS84 semi-major axis (m) and flattening (NIMA TR8350.2, 3rd ed. 2000, table 3.1).
WGS84_A_M = 6_378_137.0
WGS84_F = 1.0 / 298.257223563

# Domain amplitude units <-> QuakeML AmplitudeUnit enumeration.
_UNIT_TO_QML = {"m": "m", "m/s": "m/s", "m/s**2": "m/(s*s)", "s": "s", "other": "other"}
_UNIT_FROM_QML = {v: k for k, v in _UNIT_TO_QML.items()}


def metres_per_degree(latitude_deg: float) -> tuple[float, float]:
    """Length (m) of one degree of latitude and of longitude at ``latitude_deg`` on the WGS84 ellipsoid.

    Meridian radius of curvature M = a(1 - e^2) / (1 - e^2 sin^2 phi)^(3/2) and prime-vertical
    radius N = a / (1 - e^2 sin^2 phi)^(1/2) (Snyder 1987, *Map Projections - A Working
    Manual*, USGS PP 1395, eqs. 4-18 and 4-20); a degree of latitude is M pi/180, a degree
    of longitude N cos(phi) pi/180. Used to express QuakeML latitude/longitude uncertainties
    (degrees, QuakeML BED 1.2 RealQuantity of ``Origin.latitude``) from metres and back.
    """
    phi = math.radians(latitude_deg)
    e2 = WGS84_F * (2.0 - WGS84_F)
    w2 = 1.0 - e2 * math.sin(phi) ** 2
    m = WGS84_A_M * (1.0 - e2) / w2**1.5
    n = WGS84_A_M / math.sqrt(w2)
    return m * math.pi / 180.0, n * math.cos(phi) * math.pi / 180.0


# --------------------------------------------------------------------------- domain -> ObsPy

def _quantity_errors(uncertainty: float | None):
    from obspy.core.event import QuantityError

    return QuantityError(uncertainty=uncertainty)


def _creation_info(created_at: datetime, agency: str | None = None, version: int | None = None):
    from obspy.core.event import CreationInfo

    return CreationInfo(creation_time=to_utc_datetime(created_at), agency_id=agency or None,
                        version=None if version is None else str(version))


def _rid(resource_id: str | None):
    from obspy.core.event import ResourceIdentifier

    return None if resource_id is None else ResourceIdentifier(id_to_uri(resource_id))


def _label(kind: str, label: str):
    from obspy.core.event import ResourceIdentifier

    uri = label_to_uri(kind, label)
    return None if uri is None else ResourceIdentifier(uri)


def _waveform_id(sid: StreamID):
    from obspy.core.event import WaveformStreamID

    return WaveformStreamID(network_code=sid.network, station_code=sid.station,
                            location_code=sid.location, channel_code=sid.channel)


def _pick_to_obspy(p: Pick):
    from obspy.core.event import Pick as QPick

    q = QPick(resource_id=_rid(p.id), time=to_utc_datetime(p.time),
              time_errors=_quantity_errors(p.time_uncertainty_s), waveform_id=_waveform_id(p.stream_id),
              method_id=_label("method", p.method), phase_hint=p.phase,
              polarity=None if p.polarity is None else p.polarity.value,
              evaluation_mode=p.evaluation_mode.value, creation_info=_creation_info(p.created_at))
    if p.probability is not None:
        set_extra(q, "probability", float(p.probability))
    return q


def _amplitude_to_obspy(a: Amplitude):
    from obspy.core.event import Amplitude as QAmplitude
    from obspy.core.event import TimeWindow

    return QAmplitude(
        resource_id=_rid(a.id), generic_amplitude=a.value, type=a.type, unit=_UNIT_TO_QML[a.unit],
        method_id=_label("method", a.method), period=a.period_s, snr=a.snr,
        time_window=None if a.time is None else TimeWindow(begin=0.0, end=0.0, reference=to_utc_datetime(a.time)),
        pick_id=_rid(a.pick_id), waveform_id=_waveform_id(a.stream_id), evaluation_mode=a.evaluation_mode.value,
        creation_info=_creation_info(a.created_at))


def _origin_to_obspy(o: Origin):
    from obspy.core.event import Arrival as QArrival
    from obspy.core.event import Origin as QOrigin
    from obspy.core.event import OriginQuality, OriginUncertainty

    lat_err = lon_err = None
    if o.horizontal_uncertainty_m is not None:
        m_lat, m_lon = metres_per_degree(o.latitude_deg)
        lat_err = o.horizontal_uncertainty_m / m_lat
        lon_err = o.horizontal_uncertainty_m / m_lon if m_lon > 1e-6 else None
    unc = None
    if o.horizontal_uncertainty_m is not None or o.ellipse is not None:
        e = o.ellipse
        unc = OriginUncertainty(
            horizontal_uncertainty=o.horizontal_uncertainty_m,
            min_horizontal_uncertainty=None if e is None else e.semi_minor_m,
            max_horizontal_uncertainty=None if e is None else e.semi_major_m,
            azimuth_max_horizontal_uncertainty=None if e is None else e.azimuth_deg,
            confidence_level=None if e is None else _fraction_to_percent(e.confidence),
            preferred_description="uncertainty ellipse" if e is not None else "horizontal uncertainty")
    quality = OriginQuality(standard_error=o.rms_s, azimuthal_gap=o.azimuthal_gap_deg,
                            used_phase_count=o.phase_count, used_station_count=o.station_count,
                            minimum_distance=o.minimum_distance_deg)
    arrivals = [QArrival(resource_id=_rid(f"{o.id}#arrival{i}"), pick_id=_rid(a.pick_id), phase=a.phase,
                         distance=a.distance_deg, azimuth=a.azimuth_deg, takeoff_angle=a.takeoff_angle_deg,
                         time_residual=a.time_residual_s, time_weight=a.time_weight)
                for i, a in enumerate(o.arrivals)]
    q = QOrigin(resource_id=_rid(o.id), time=to_utc_datetime(o.time),
                time_errors=_quantity_errors(o.time_uncertainty_s),
                latitude=o.latitude_deg, latitude_errors=_quantity_errors(lat_err),
                longitude=o.longitude_deg, longitude_errors=_quantity_errors(lon_err),
                depth=o.depth_m, depth_errors=_quantity_errors(o.depth_uncertainty_m),
                depth_type="operator assigned" if o.depth_fixed else None,
                method_id=_label("method", o.method), earth_model_id=_label("earthmodel", o.earth_model),
                quality=quality, origin_uncertainty=unc, arrivals=arrivals,
                evaluation_mode=o.evaluation_mode.value, evaluation_status=o.evaluation_status.value,
                creation_info=_creation_info(o.created_at, o.agency, o.version))
    set_extra(q, "depthFixed", bool(o.depth_fixed))
    return q


def _fraction_to_percent(fraction: float) -> float:
    # Decimal shift through the shortest repr, so 0.68 -> 68.0 -> 0.68 exactly.
    from decimal import Decimal

    return float(Decimal(repr(float(fraction))).scaleb(2))


def _percent_to_fraction(percent: float) -> float:
    from decimal import Decimal

    return float(Decimal(repr(float(percent))).scaleb(-2))


def _magnitude_to_obspy(m: Magnitude):
    from obspy.core.event import Magnitude as QMagnitude
    from obspy.core.event import StationMagnitudeContribution

    contributions = [StationMagnitudeContribution(station_magnitude_id=_rid(s.id), residual=s.residual,
                                                  weight=s.weight) for s in m.station_magnitudes]
    return QMagnitude(resource_id=_rid(m.id), mag=m.value, mag_errors=_quantity_errors(m.uncertainty),
                      magnitude_type=m.type, origin_id=_rid(m.origin_id), method_id=_label("method", m.method),
                      station_count=m.station_count, evaluation_mode=m.evaluation_mode.value,
                      evaluation_status=m.evaluation_status.value,
                      station_magnitude_contributions=contributions,
                      creation_info=_creation_info(m.created_at, m.agency, m.version))


def _station_magnitude_to_obspy(s: StationMagnitude, origin_id: str | None):
    from obspy.core.event import StationMagnitude as QStationMagnitude

    return QStationMagnitude(resource_id=_rid(s.id), mag=s.value, station_magnitude_type=s.type,
                             origin_id=_rid(origin_id), amplitude_id=_rid(s.amplitude_id),
                             waveform_id=_waveform_id(s.stream_id))


def event_to_obspy(event: Event):
    """A domain :class:`Event` as an ``obspy.core.event.Event`` (see the module doc for the mapping)."""
    from obspy.core.event import Event as QEvent
    from obspy.core.event import EventDescription

    station_mags = {}
    for m in event.magnitudes:
        for s in m.station_magnitudes:
            station_mags.setdefault(s.id, _station_magnitude_to_obspy(s, m.origin_id))
    return QEvent(
        resource_id=_rid(event.id), event_type=None if event.type is None else event.type.value,
        event_type_certainty=event.type_certainty,
        event_descriptions=[EventDescription(text=event.region_name, type="region name")] if event.region_name else [],
        preferred_origin_id=_rid(event.preferred_origin_id),
        preferred_magnitude_id=_rid(event.preferred_magnitude_id),
        picks=[_pick_to_obspy(p) for p in event.picks],
        amplitudes=[_amplitude_to_obspy(a) for a in event.amplitudes],
        origins=[_origin_to_obspy(o) for o in event.origins],
        magnitudes=[_magnitude_to_obspy(m) for m in event.magnitudes],
        station_magnitudes=list(station_mags.values()),
        creation_info=_creation_info(event.created_at))


def catalog_to_obspy(events: Iterable[Event]):
    """Domain events as an ``obspy.Catalog``."""
    from obspy import Catalog

    return Catalog(events=[event_to_obspy(e) for e in events], creator_info=None)


# --------------------------------------------------------------------------- ObsPy -> domain

@dataclass
class _Context:
    """Options and bookkeeping of one conversion from ObsPy."""

    fallback_time: datetime = field(default_factory=utc_now)
    latlon_errors: bool = True  # SCML stores them in km, not degrees: don't trust them
    skipped: Counter = field(default_factory=Counter)

    def time(self, creation_info) -> datetime:
        t = None if creation_info is None else creation_info.creation_time
        return self.fallback_time if t is None else from_utc_datetime(t)


def _stream_id(wid) -> StreamID | None:
    if wid is None:
        return None
    try:
        return StreamID(wid.network_code or "", wid.station_code or "", wid.location_code or "",
                        wid.channel_code or "")
    except DomainError:
        return None


def _uncertainty(errors) -> float | None:
    return None if errors is None else errors.uncertainty


def _float(value) -> float | None:
    return None if value is None else float(value)


def _version(creation_info) -> int:
    text = None if creation_info is None else creation_info.version
    try:
        v = int(str(text).strip())
    except (TypeError, ValueError):
        return 1
    return v if v >= 1 else 1


def _agency(creation_info) -> str:
    return "" if creation_info is None or creation_info.agency_id is None else str(creation_info.agency_id)


def _mode(value) -> EvaluationMode:
    return EvaluationMode.AUTOMATIC if value is None else EvaluationMode(str(value))


def _status(value) -> EvaluationStatus:
    return EvaluationStatus.PRELIMINARY if value is None else EvaluationStatus(str(value))


def _pick_from_obspy(q, phases: dict[str, str], ctx: _Context) -> Pick | None:
    sid = _stream_id(q.waveform_id)
    pid = id_from_uri(q.resource_id)
    phase = q.phase_hint or phases.get(pid)
    if sid is None or q.time is None or not phase:
        ctx.skipped["pick"] += 1
        return None
    probability = get_extra(q, "probability")
    return Pick(stream_id=sid, time=from_utc_datetime(q.time), phase=str(phase),
                time_uncertainty_s=_uncertainty(q.time_errors),
                polarity=None if q.polarity is None else Polarity(str(q.polarity)),
                method=label_from_uri("method", q.method_id),
                probability=None if probability is None else float(probability),
                evaluation_mode=_mode(q.evaluation_mode), id=pid, created_at=ctx.time(q.creation_info))


def _amplitude_from_obspy(q, ctx: _Context) -> Amplitude | None:
    sid = _stream_id(q.waveform_id)
    if sid is None or q.generic_amplitude is None:
        ctx.skipped["amplitude"] += 1
        return None
    tw = q.time_window
    return Amplitude(stream_id=sid, type=q.type or "", value=float(q.generic_amplitude),
                     unit=_UNIT_FROM_QML.get(str(q.unit), "other") if q.unit is not None else "other",
                     time=None if tw is None or tw.reference is None else from_utc_datetime(tw.reference),
                     period_s=_float(q.period), snr=_float(q.snr), pick_id=id_from_uri(q.pick_id),
                     method=label_from_uri("method", q.method_id), evaluation_mode=_mode(q.evaluation_mode),
                     id=id_from_uri(q.resource_id), created_at=ctx.time(q.creation_info))


def _horizontal_uncertainty(q, ctx: _Context) -> float | None:
    unc = q.origin_uncertainty
    if unc is not None and unc.horizontal_uncertainty is not None:
        return float(unc.horizontal_uncertainty)
    if not ctx.latlon_errors:
        return None
    m_lat, m_lon = metres_per_degree(q.latitude)
    values = []
    if _uncertainty(q.latitude_errors) is not None:
        values.append(q.latitude_errors.uncertainty * m_lat)
    if _uncertainty(q.longitude_errors) is not None:
        values.append(q.longitude_errors.uncertainty * m_lon)
    # A circle enclosing both one-sigma axes: the larger of the two, in metres.
    return max(values) if values else None


def _ellipse(q) -> ErrorEllipse | None:
    unc = q.origin_uncertainty
    if unc is None or unc.max_horizontal_uncertainty is None or unc.min_horizontal_uncertainty is None:
        return None
    conf = unc.confidence_level
    azimuth = float(unc.azimuth_max_horizontal_uncertainty or 0.0)
    if not 0.0 <= azimuth <= 360.0:
        azimuth %= 360.0  # QuakeML allows any angle; the domain model wants [0, 360]
    return ErrorEllipse(semi_major_m=float(unc.max_horizontal_uncertainty),
                        semi_minor_m=float(unc.min_horizontal_uncertainty),
                        azimuth_deg=azimuth,
                        confidence=0.68 if conf is None else _percent_to_fraction(conf))


def _origin_from_obspy(q, ctx: _Context) -> Origin | None:
    if q.time is None or q.latitude is None or q.longitude is None or q.depth is None:
        ctx.skipped["origin"] += 1
        return None
    quality = q.quality
    arrivals = []
    for a in q.arrivals:
        if a.pick_id is None or not a.phase:
            ctx.skipped["arrival"] += 1
            continue
        arrivals.append(Arrival(pick_id=id_from_uri(a.pick_id), phase=str(a.phase), distance_deg=_float(a.distance),
                                azimuth_deg=_float(a.azimuth), takeoff_angle_deg=_float(a.takeoff_angle),
                                time_residual_s=_float(a.time_residual), time_weight=_float(a.time_weight)))
    fixed = extra_bool(q, "depthFixed")
    if fixed is None:
        fixed = q.depth_type == "operator assigned"

    def qual(name_used, name_assoc=None):
        if quality is None:
            return None
        v = getattr(quality, name_used)
        if v is None and name_assoc:
            v = getattr(quality, name_assoc)
        return v

    return Origin(
        time=from_utc_datetime(q.time), latitude_deg=float(q.latitude), longitude_deg=float(q.longitude),
        depth_m=float(q.depth), time_uncertainty_s=_uncertainty(q.time_errors),
        horizontal_uncertainty_m=_horizontal_uncertainty(q, ctx), depth_uncertainty_m=_uncertainty(q.depth_errors),
        ellipse=_ellipse(q), rms_s=_float(qual("standard_error")), azimuthal_gap_deg=_float(qual("azimuthal_gap")),
        phase_count=qual("used_phase_count", "associated_phase_count"),
        station_count=qual("used_station_count", "associated_station_count"),
        minimum_distance_deg=_float(qual("minimum_distance")),
        method=label_from_uri("method", q.method_id), earth_model=label_from_uri("earthmodel", q.earth_model_id),
        depth_fixed=bool(fixed), evaluation_mode=_mode(q.evaluation_mode),
        evaluation_status=_status(q.evaluation_status), arrivals=tuple(arrivals),
        version=_version(q.creation_info), agency=_agency(q.creation_info), id=id_from_uri(q.resource_id),
        created_at=ctx.time(q.creation_info))


def _magnitude_from_obspy(q, station_mags: dict, ctx: _Context) -> Magnitude | None:
    if q.mag is None:
        ctx.skipped["magnitude"] += 1
        return None
    contributions = []
    for c in q.station_magnitude_contributions:
        s = station_mags.get(id_from_uri(c.station_magnitude_id))
        sid = None if s is None else _stream_id(s.waveform_id)
        if sid is None or s.mag is None:
            ctx.skipped["station magnitude"] += 1
            continue
        contributions.append(StationMagnitude(
            stream_id=sid, type=s.station_magnitude_type or q.magnitude_type or "", value=float(s.mag),
            amplitude_id=id_from_uri(s.amplitude_id), residual=_float(c.residual), weight=_float(c.weight),
            id=id_from_uri(s.resource_id)))
    return Magnitude(type=q.magnitude_type or "M", value=float(q.mag), origin_id=id_from_uri(q.origin_id),
                     uncertainty=_uncertainty(q.mag_errors), station_count=q.station_count,
                     method=label_from_uri("method", q.method_id), evaluation_mode=_mode(q.evaluation_mode),
                     evaluation_status=_status(q.evaluation_status), station_magnitudes=tuple(contributions),
                     version=_version(q.creation_info), agency=_agency(q.creation_info),
                     id=id_from_uri(q.resource_id), created_at=ctx.time(q.creation_info))


def _unique(items: list, kind: str, ctx: _Context) -> list:
    """Drop Nones and repeated ids (ObsPy's SCML conversion repeats amplitudes referenced twice)."""
    out, seen = [], set()
    for x in items:
        if x is None:
            continue
        if x.id in seen:
            ctx.skipped[f"duplicate {kind}"] += 1
            continue
        seen.add(x.id)
        out.append(x)
    return out


def _event_from_obspy(ev, ctx: _Context) -> Event:
    phases = {id_from_uri(a.pick_id): a.phase for o in ev.origins for a in o.arrivals if a.pick_id and a.phase}
    picks = _unique([_pick_from_obspy(q, phases, ctx) for q in ev.picks], "pick", ctx)
    amplitudes = _unique([_amplitude_from_obspy(q, ctx) for q in ev.amplitudes], "amplitude", ctx)
    origins = _unique([_origin_from_obspy(q, ctx) for q in ev.origins], "origin", ctx)
    station_mags = {}
    for s in ev.station_magnitudes:
        station_mags.setdefault(id_from_uri(s.resource_id), s)
    magnitudes = _unique([_magnitude_from_obspy(q, station_mags, ctx) for q in ev.magnitudes], "magnitude", ctx)
    pref_o = id_from_uri(ev.preferred_origin_id)
    pref_m = id_from_uri(ev.preferred_magnitude_id)
    region = next((d.text for d in ev.event_descriptions if d.type == "region name" and d.text), "")
    return Event(type=EventType.from_quakeml(ev.event_type), type_certainty=ev.event_type_certainty,
                 origins=tuple(origins), magnitudes=tuple(magnitudes), picks=tuple(picks),
                 amplitudes=tuple(amplitudes),
                 preferred_origin_id=pref_o if pref_o in {o.id for o in origins} else None,
                 preferred_magnitude_id=pref_m if pref_m in {m.id for m in magnitudes} else None,
                 region_name=region, id=id_from_uri(ev.resource_id), created_at=ctx.time(ev.creation_info))


def _log_skipped(ctx: _Context, source: str) -> None:
    if ctx.skipped:
        detail = ", ".join(f"{n} {kind}(s)" for kind, n in sorted(ctx.skipped.items()))
        log.warning("%s: skipped %s (repeated ids, or missing stream id, value or phase)", source, detail)


def event_from_obspy(ev) -> Event:
    """An ``obspy.core.event.Event`` as a domain :class:`Event` (inverse of :func:`event_to_obspy`).

    Missing creation times become the conversion time; objects that cannot be represented
    (e.g. a pick without channel code) are skipped with a logged warning.
    """
    ctx = _Context()
    event = _event_from_obspy(ev, ctx)
    _log_skipped(ctx, "event")
    return event


def catalog_from_obspy(cat, *, _latlon_errors: bool = True, _source: str = "catalog") -> list[Event]:
    """An ``obspy.Catalog`` (or any iterable of ObsPy events) as domain events."""
    ctx = _Context(latlon_errors=_latlon_errors)
    events = [_event_from_obspy(ev, ctx) for ev in cat]
    _log_skipped(ctx, _source)
    return events


# --------------------------------------------------------------------------- files

def write_quakeml(events: Iterable[Event], path: str | os.PathLike) -> Path:
    """Write events as QuakeML 1.2 (via ObsPy), atomically. Returns the path."""
    cat = catalog_to_obspy(events)
    path = Path(path)
    with atomic_path(path) as tmp:
        cat.write(str(tmp), format="QUAKEML", nsmap=dict(NSMAP))  # ObsPy adds keys to the dict it gets
    return path


def _is_seiscomp_xml(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(4096)
    return b"<seiscomp" in head


def read_quakeml(path: str | os.PathLike) -> list[Event]:
    """Read QuakeML 1.2 (or SeisComP SCML, converted by ObsPy) into domain events.

    Raises :class:`InputError` naming the file when it is missing, unreadable or holds
    values the domain model rejects. In SCML, origin latitude/longitude uncertainties are
    not used (SeisComP writes them in km, QuakeML wants degrees and ObsPy's conversion
    keeps the numbers); the horizontal uncertainty comes from ``originUncertainty`` only.
    """
    from obspy import read_events

    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", source=str(path))
    try:
        scml = _is_seiscomp_xml(path)
        cat = read_events(str(path))
    except Exception as err:  # ObsPy raises many types (lxml, TypeError for unknown format...)
        raise InputError(f"not a readable QuakeML/SCML file ({type(err).__name__}: {err})",
                         source=str(path)) from None
    try:
        return catalog_from_obspy(cat, _latlon_errors=not scml, _source=str(path))
    except (DomainError, ValueError) as err:
        raise InputError(str(err), source=str(path)) from None
