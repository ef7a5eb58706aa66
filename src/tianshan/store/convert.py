"""Conversion between the domain objects of :mod:`tianshan.core` and the ORM rows.

The only module that knows both sides. ``*_to_row`` builds new rows (the
caller assigns event ids and sequence numbers); ``*_from_row`` rebuilds the
frozen domain objects, so that ``from_row(to_row(x)) == x`` exactly
(floats are IEEE doubles on both backends, times exact to the microsecond).
"""

from __future__ import annotations

from tianshan.core.alert import Alert, AlertLevel, AlertTarget
from tianshan.core.event import Event, EventType
from tianshan.core.ids import StreamID
from tianshan.core.magnitude import Magnitude, StationMagnitude
from tianshan.core.origin import Arrival, ErrorEllipse, EvaluationStatus, Origin
from tianshan.core.pick import Amplitude, EvaluationMode, Pick, Polarity
from tianshan.core.product import Product
from tianshan.core.qc import QCKind, QCRecord
from tianshan.core.station import Channel, InstrumentKind, Station, StationGain
from tianshan.core.timeline import TimelineEntry
from tianshan.store.schema import (AlertRow, AlertTargetRow, AmplitudeRow, ArrivalRow, ChannelRow, EventRow,
                                   MagnitudeRow, OriginRow, PickRow, ProductRow, QCRecordRow,
                                   StationMagnitudeRow, StationRow, TimelineRow)


def _codes(sid: StreamID) -> dict[str, str]:
    return {"network": sid.network, "station": sid.station, "location": sid.location, "channel": sid.channel}


def _sid(row) -> StreamID:
    return StreamID(row.network, row.station, row.location, row.channel)


# --- event header -------------------------------------------------------------------------------

def event_header(event: Event) -> dict:
    """Mutable header columns of ``event``, including the ``pref_*`` query columns."""
    o = event.preferred_origin
    m = event.preferred_magnitude
    return {
        "type": None if event.type is None else event.type.value,
        "type_certainty": event.type_certainty,
        "preferred_origin_id": event.preferred_origin_id,
        "preferred_magnitude_id": event.preferred_magnitude_id,
        "region_name": event.region_name,
        **preferred_columns(o, m),
    }


def preferred_columns(o, m) -> dict:
    """The ``pref_*`` query columns from a preferred origin and magnitude (core objects or rows alike)."""
    return {
        "pref_time": None if o is None else o.time,
        "pref_latitude_deg": None if o is None else o.latitude_deg,
        "pref_longitude_deg": None if o is None else o.longitude_deg,
        "pref_depth_m": None if o is None else o.depth_m,
        "pref_magnitude": None if m is None else m.value,
        "pref_magnitude_type": None if m is None else m.type,
    }


def event_from_row(row: EventRow) -> Event:
    """The full event (origins, magnitudes, picks, amplitudes loaded on ``row``)."""
    return Event(
        type=None if row.type is None else EventType(row.type),
        type_certainty=row.type_certainty,
        origins=tuple(origin_from_row(o) for o in row.origins),
        magnitudes=tuple(magnitude_from_row(m) for m in row.magnitudes),
        picks=tuple(pick_from_row(link.pick) for link in row.pick_links),
        amplitudes=tuple(amplitude_from_row(link.amplitude) for link in row.amplitude_links),
        preferred_origin_id=row.preferred_origin_id,
        preferred_magnitude_id=row.preferred_magnitude_id,
        region_name=row.region_name,
        id=row.id,
        created_at=row.created_at,
    )


# --- origins ------------------------------------------------------------------------------------

def origin_to_row(origin: Origin, event_id: str, seq: int) -> OriginRow:
    e = origin.ellipse
    row = OriginRow(
        id=origin.id, event_id=event_id, seq=seq, version=int(origin.version), time=origin.time,
        latitude_deg=origin.latitude_deg, longitude_deg=origin.longitude_deg, depth_m=origin.depth_m,
        time_uncertainty_s=origin.time_uncertainty_s, horizontal_uncertainty_m=origin.horizontal_uncertainty_m,
        depth_uncertainty_m=origin.depth_uncertainty_m,
        ellipse_semi_major_m=None if e is None else e.semi_major_m,
        ellipse_semi_minor_m=None if e is None else e.semi_minor_m,
        ellipse_azimuth_deg=None if e is None else e.azimuth_deg,
        ellipse_confidence=None if e is None else e.confidence,
        rms_s=origin.rms_s, azimuthal_gap_deg=origin.azimuthal_gap_deg, phase_count=origin.phase_count,
        station_count=origin.station_count, minimum_distance_deg=origin.minimum_distance_deg,
        method=origin.method, earth_model=origin.earth_model, depth_fixed=bool(origin.depth_fixed),
        evaluation_mode=origin.evaluation_mode.value, evaluation_status=origin.evaluation_status.value,
        agency=origin.agency, created_at=origin.created_at,
    )
    row.arrivals = [
        ArrivalRow(origin_id=origin.id, position=i, pick_id=a.pick_id, phase=a.phase, distance_deg=a.distance_deg,
                   azimuth_deg=a.azimuth_deg, takeoff_angle_deg=a.takeoff_angle_deg,
                   time_residual_s=a.time_residual_s, time_weight=a.time_weight)
        for i, a in enumerate(origin.arrivals)
    ]
    return row


def origin_from_row(row: OriginRow) -> Origin:
    ellipse = None
    if row.ellipse_semi_major_m is not None:
        ellipse = ErrorEllipse(row.ellipse_semi_major_m, row.ellipse_semi_minor_m, row.ellipse_azimuth_deg,
                               row.ellipse_confidence)
    return Origin(
        time=row.time, latitude_deg=row.latitude_deg, longitude_deg=row.longitude_deg, depth_m=row.depth_m,
        time_uncertainty_s=row.time_uncertainty_s, horizontal_uncertainty_m=row.horizontal_uncertainty_m,
        depth_uncertainty_m=row.depth_uncertainty_m, ellipse=ellipse, rms_s=row.rms_s,
        azimuthal_gap_deg=row.azimuthal_gap_deg, phase_count=row.phase_count, station_count=row.station_count,
        minimum_distance_deg=row.minimum_distance_deg, method=row.method, earth_model=row.earth_model,
        depth_fixed=row.depth_fixed, evaluation_mode=EvaluationMode(row.evaluation_mode),
        evaluation_status=EvaluationStatus(row.evaluation_status),
        arrivals=tuple(Arrival(a.pick_id, a.phase, a.distance_deg, a.azimuth_deg, a.takeoff_angle_deg,
                               a.time_residual_s, a.time_weight) for a in row.arrivals),
        version=row.version, agency=row.agency, id=row.id, created_at=row.created_at,
    )


# --- magnitudes ---------------------------------------------------------------------------------

def magnitude_to_row(mag: Magnitude, event_id: str, seq: int) -> MagnitudeRow:
    row = MagnitudeRow(
        id=mag.id, event_id=event_id, seq=seq, type=mag.type, version=int(mag.version), value=mag.value,
        origin_id=mag.origin_id, uncertainty=mag.uncertainty, station_count=mag.station_count, method=mag.method,
        evaluation_mode=mag.evaluation_mode.value, evaluation_status=mag.evaluation_status.value,
        agency=mag.agency, created_at=mag.created_at,
    )
    row.station_magnitudes = [
        StationMagnitudeRow(magnitude_id=mag.id, position=i, id=sm.id, **_codes(sm.stream_id), type=sm.type,
                            value=sm.value, amplitude_id=sm.amplitude_id, residual=sm.residual, weight=sm.weight)
        for i, sm in enumerate(mag.station_magnitudes)
    ]
    return row


def magnitude_from_row(row: MagnitudeRow) -> Magnitude:
    return Magnitude(
        type=row.type, value=row.value, origin_id=row.origin_id, uncertainty=row.uncertainty,
        station_count=row.station_count, method=row.method, evaluation_mode=EvaluationMode(row.evaluation_mode),
        evaluation_status=EvaluationStatus(row.evaluation_status),
        station_magnitudes=tuple(
            StationMagnitude(_sid(s), s.type, s.value, s.amplitude_id, s.residual, s.weight, s.id)
            for s in row.station_magnitudes),
        version=row.version, agency=row.agency, id=row.id, created_at=row.created_at,
    )


# --- picks and amplitudes -----------------------------------------------------------------------

def pick_to_row(pick: Pick) -> PickRow:
    return PickRow(id=pick.id, **_codes(pick.stream_id), time=pick.time, phase=pick.phase,
                   time_uncertainty_s=pick.time_uncertainty_s,
                   polarity=None if pick.polarity is None else pick.polarity.value, method=pick.method,
                   probability=pick.probability, evaluation_mode=pick.evaluation_mode.value,
                   created_at=pick.created_at)


def pick_from_row(row: PickRow) -> Pick:
    return Pick(stream_id=_sid(row), time=row.time, phase=row.phase, time_uncertainty_s=row.time_uncertainty_s,
                polarity=None if row.polarity is None else Polarity(row.polarity), method=row.method,
                probability=row.probability, evaluation_mode=EvaluationMode(row.evaluation_mode), id=row.id,
                created_at=row.created_at)


def amplitude_to_row(amp: Amplitude) -> AmplitudeRow:
    return AmplitudeRow(id=amp.id, **_codes(amp.stream_id), type=amp.type, value=amp.value, unit=amp.unit,
                        time=amp.time, period_s=amp.period_s, snr=amp.snr, pick_id=amp.pick_id, method=amp.method,
                        evaluation_mode=amp.evaluation_mode.value, created_at=amp.created_at)


def amplitude_from_row(row: AmplitudeRow) -> Amplitude:
    return Amplitude(stream_id=_sid(row), type=row.type, value=row.value, unit=row.unit, time=row.time,
                     period_s=row.period_s, snr=row.snr, pick_id=row.pick_id, method=row.method,
                     evaluation_mode=EvaluationMode(row.evaluation_mode), id=row.id, created_at=row.created_at)


# --- stations -----------------------------------------------------------------------------------

def station_to_row(station: Station) -> StationRow:
    row = StationRow(network=station.network, code=station.code, latitude_deg=station.latitude_deg,
                     longitude_deg=station.longitude_deg, elevation_m=station.elevation_m, name=station.name,
                     start=station.start, end=station.end, simulated=bool(station.simulated))
    row.channels = [channel_to_row(ch, i) for i, ch in enumerate(station.channels)]
    return row


def channel_to_row(ch: Channel, position: int) -> ChannelRow:
    g = ch.gain
    return ChannelRow(
        position=position, location=ch.stream_id.location, channel=ch.stream_id.channel,
        latitude_deg=ch.latitude_deg, longitude_deg=ch.longitude_deg, elevation_m=ch.elevation_m,
        sample_rate_hz=ch.sample_rate_hz, depth_m=ch.depth_m, azimuth_deg=ch.azimuth_deg, dip_deg=ch.dip_deg,
        kind=ch.kind.value,
        gain_value=None if g is None else g.value, gain_frequency_hz=None if g is None else g.frequency_hz,
        gain_input_units=None if g is None else g.input_units,
        gain_output_units=None if g is None else g.output_units,
        gain_response_ref=None if g is None else g.response_ref,
        start=ch.start, end=ch.end,
    )


def station_from_row(row: StationRow) -> Station:
    channels = []
    for c in row.channels:
        gain = None
        if c.gain_value is not None:
            gain = StationGain(c.gain_value, c.gain_frequency_hz, c.gain_input_units, c.gain_output_units,
                               c.gain_response_ref)
        channels.append(Channel(
            StreamID(row.network, row.code, c.location, c.channel), c.latitude_deg, c.longitude_deg,
            c.elevation_m, c.sample_rate_hz, c.depth_m, c.azimuth_deg, c.dip_deg, InstrumentKind(c.kind), gain,
            c.start, c.end))
    return Station(row.network, row.code, row.latitude_deg, row.longitude_deg, row.elevation_m, row.name,
                   tuple(channels), row.start, row.end, row.simulated)


# --- products and alerts ------------------------------------------------------------------------

def product_to_row(p: Product) -> ProductRow:
    return ProductRow(id=p.id, kind=p.kind, uri=p.uri, content_type=p.content_type, event_id=p.event_id,
                      version=int(p.version), sha256=p.sha256, properties=dict(p.properties),
                      created_at=p.created_at)


def product_from_row(row: ProductRow) -> Product:
    return Product(kind=row.kind, uri=row.uri, content_type=row.content_type, event_id=row.event_id,
                   version=row.version, sha256=row.sha256, properties=dict(row.properties or {}), id=row.id,
                   created_at=row.created_at)


def alert_to_row(a: Alert) -> AlertRow:
    row = AlertRow(id=a.id, event_id=a.event_id, sequence=int(a.sequence), origin_time=a.origin_time,
                   latitude_deg=a.latitude_deg, longitude_deg=a.longitude_deg, depth_m=a.depth_m,
                   magnitude=a.magnitude, magnitude_uncertainty=a.magnitude_uncertainty, level=a.level.value,
                   message_zh=a.message_zh, message_en=a.message_en, cancelled=bool(a.cancelled),
                   test=bool(a.test), issued_at=a.issued_at)
    row.targets = [AlertTargetRow(alert_id=a.id, position=i, place=t.place, latitude_deg=t.latitude_deg,
                                  longitude_deg=t.longitude_deg, intensity=t.intensity,
                                  warning_time_s=t.warning_time_s)
                   for i, t in enumerate(a.targets)]
    return row


def alert_from_row(row: AlertRow) -> Alert:
    return Alert(event_id=row.event_id, sequence=row.sequence, origin_time=row.origin_time,
                 latitude_deg=row.latitude_deg, longitude_deg=row.longitude_deg, depth_m=row.depth_m,
                 magnitude=row.magnitude, level=AlertLevel(row.level),
                 targets=tuple(AlertTarget(t.place, t.latitude_deg, t.longitude_deg, t.intensity, t.warning_time_s)
                               for t in row.targets),
                 message_zh=row.message_zh, message_en=row.message_en, cancelled=row.cancelled, test=row.test,
                 magnitude_uncertainty=row.magnitude_uncertainty, id=row.id, issued_at=row.issued_at)


# --- QC records ---------------------------------------------------------------------------------

def qc_record_to_row(rec: QCRecord) -> QCRecordRow:
    return QCRecordRow(**_codes(rec.stream_id), kind=rec.kind.value, start=rec.start, end=rec.end,
                       value=rec.value, detail=rec.detail)


def qc_record_from_row(row: QCRecordRow) -> QCRecord:
    return QCRecord(stream_id=_sid(row), start=row.start, end=row.end, kind=QCKind(row.kind), value=row.value,
                    detail=row.detail)


# --- event timeline -----------------------------------------------------------------------------

def timeline_values(entry: TimelineEntry) -> dict:
    """Column values of a timeline row (for an ``INSERT ... ON CONFLICT DO NOTHING``)."""
    return {"event_id": entry.event_id, "step": entry.step, "wall_time": entry.wall_time,
            "data_time": entry.data_time, "detail": entry.detail}


def timeline_from_row(row: TimelineRow) -> TimelineEntry:
    return TimelineEntry(event_id=row.event_id, step=row.step, wall_time=row.wall_time, data_time=row.data_time,
                         detail=row.detail)
