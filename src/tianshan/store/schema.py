"""Relational schema of the event store (SQLAlchemy 2 typed ORM).

One table per domain object of :mod:`tianshan.core`; the column names keep the
units of the domain fields (``depth_m``, ``time_uncertainty_s``). Times use
:class:`~tianshan.store.types.UTCDateTime` (exact microseconds on every
backend). Enumerations are stored as their string values (QuakeML words), not
as database enum types, so that adding a value needs no migration.

Insert-only tables (:class:`InsertOnly`): origins, arrivals, magnitudes,
station magnitudes, picks, amplitudes, their event links, products, alerts,
alert targets, QC records, the event timeline, event reviews and the API
audit log. A relocation is a new origin row with ``version`` + 1; the
session refuses to flush an UPDATE or DELETE of such a row
(:func:`tianshan.store.database.forbid_changes`). Only the event header,
station metadata, API tokens (revocation) and restrictions are updated in place.

``events.pref_*`` columns copy the preferred origin's time and position and the
preferred magnitude: they exist so catalogue queries (time, box, magnitude)
are one indexed table scan; the repository keeps them in step with the header.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (Boolean, Double, ForeignKey, Index, Integer, JSON, MetaData,
                        String, Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from tianshan.store.types import UTCDateTime

#: Deterministic constraint names (needed by migrations and PostgreSQL).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), float: Double(), str: String()}


class InsertOnly:
    """Marker: rows of this table are written once and never updated or deleted."""


class EventRow(Base):
    __tablename__ = "events"
    # catalogue queries (migration 0005): time-ordered scans filter magnitude and box inside the index
    __table_args__ = (Index("ix_events_time_mag_box", "pref_time", "pref_magnitude", "pref_latitude_deg",
                            "pref_longitude_deg"),
                      Index("ix_events_mag_time", "pref_magnitude", "pref_time"))

    id: Mapped[str] = mapped_column(primary_key=True)
    type: Mapped[str | None]
    type_certainty: Mapped[str | None]
    preferred_origin_id: Mapped[str | None]
    preferred_magnitude_id: Mapped[str | None]
    region_name: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(index=True)  # the API's live feed polls changes by it
    # Query columns: copies of the preferred origin / magnitude (see module docstring).
    pref_time: Mapped[datetime | None]
    pref_latitude_deg: Mapped[float | None]
    pref_longitude_deg: Mapped[float | None]
    pref_depth_m: Mapped[float | None]
    pref_magnitude: Mapped[float | None]
    pref_magnitude_type: Mapped[str | None]

    origins: Mapped[list["OriginRow"]] = relationship(
        back_populates="event", order_by="OriginRow.seq", lazy="raise")
    magnitudes: Mapped[list["MagnitudeRow"]] = relationship(
        back_populates="event", order_by="MagnitudeRow.seq", lazy="raise")
    pick_links: Mapped[list["EventPickRow"]] = relationship(order_by="EventPickRow.position", lazy="raise")
    amplitude_links: Mapped[list["EventAmplitudeRow"]] = relationship(
        order_by="EventAmplitudeRow.position", lazy="raise")


class OriginRow(InsertOnly, Base):
    __tablename__ = "origins"
    __table_args__ = (UniqueConstraint("event_id", "version"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"))
    seq: Mapped[int]  # position in the event's history (insertion order)
    version: Mapped[int]
    time: Mapped[datetime]
    latitude_deg: Mapped[float]
    longitude_deg: Mapped[float]
    depth_m: Mapped[float]
    time_uncertainty_s: Mapped[float | None]
    horizontal_uncertainty_m: Mapped[float | None]
    depth_uncertainty_m: Mapped[float | None]
    ellipse_semi_major_m: Mapped[float | None]
    ellipse_semi_minor_m: Mapped[float | None]
    ellipse_azimuth_deg: Mapped[float | None]
    ellipse_confidence: Mapped[float | None]
    rms_s: Mapped[float | None]
    azimuthal_gap_deg: Mapped[float | None]
    phase_count: Mapped[int | None]
    station_count: Mapped[int | None]
    minimum_distance_deg: Mapped[float | None]
    method: Mapped[str] = mapped_column(Text)
    earth_model: Mapped[str] = mapped_column(Text)
    depth_fixed: Mapped[bool] = mapped_column(Boolean)
    evaluation_mode: Mapped[str]
    evaluation_status: Mapped[str]
    agency: Mapped[str]
    created_at: Mapped[datetime]

    event: Mapped[EventRow] = relationship(back_populates="origins", lazy="raise")
    arrivals: Mapped[list["ArrivalRow"]] = relationship(order_by="ArrivalRow.position", lazy="raise")


class ArrivalRow(InsertOnly, Base):
    __tablename__ = "arrivals"

    origin_id: Mapped[str] = mapped_column(ForeignKey("origins.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    pick_id: Mapped[str] = mapped_column(index=True)
    phase: Mapped[str]
    distance_deg: Mapped[float | None]
    azimuth_deg: Mapped[float | None]
    takeoff_angle_deg: Mapped[float | None]
    time_residual_s: Mapped[float | None]
    time_weight: Mapped[float | None]


class MagnitudeRow(InsertOnly, Base):
    __tablename__ = "magnitudes"
    __table_args__ = (UniqueConstraint("event_id", "type", "version"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"))
    seq: Mapped[int]
    type: Mapped[str]
    version: Mapped[int]
    value: Mapped[float]
    origin_id: Mapped[str | None]
    uncertainty: Mapped[float | None]
    station_count: Mapped[int | None]
    method: Mapped[str] = mapped_column(Text)
    evaluation_mode: Mapped[str]
    evaluation_status: Mapped[str]
    agency: Mapped[str]
    created_at: Mapped[datetime]

    event: Mapped[EventRow] = relationship(back_populates="magnitudes", lazy="raise")
    station_magnitudes: Mapped[list["StationMagnitudeRow"]] = relationship(
        order_by="StationMagnitudeRow.position", lazy="raise")


class StationMagnitudeRow(InsertOnly, Base):
    __tablename__ = "station_magnitudes"

    magnitude_id: Mapped[str] = mapped_column(ForeignKey("magnitudes.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(index=True)  # may repeat across magnitude versions
    network: Mapped[str]
    station: Mapped[str]
    location: Mapped[str]
    channel: Mapped[str]
    type: Mapped[str]
    value: Mapped[float]
    amplitude_id: Mapped[str | None]
    residual: Mapped[float | None]
    weight: Mapped[float | None]


class PickRow(InsertOnly, Base):
    __tablename__ = "picks"
    __table_args__ = (Index("ix_picks_station_time", "network", "station", "time"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    network: Mapped[str]
    station: Mapped[str]
    location: Mapped[str]
    channel: Mapped[str]
    time: Mapped[datetime]
    phase: Mapped[str]
    time_uncertainty_s: Mapped[float | None]
    polarity: Mapped[str | None]
    method: Mapped[str] = mapped_column(Text)
    probability: Mapped[float | None]
    evaluation_mode: Mapped[str]
    created_at: Mapped[datetime]


class EventPickRow(InsertOnly, Base):
    """A pick used by an event (a pick may belong to several events)."""

    __tablename__ = "event_picks"

    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"), primary_key=True)
    pick_id: Mapped[str] = mapped_column(ForeignKey("picks.id"), primary_key=True, index=True)
    position: Mapped[int]

    pick: Mapped[PickRow] = relationship(lazy="raise")


class AmplitudeRow(InsertOnly, Base):
    __tablename__ = "amplitudes"

    id: Mapped[str] = mapped_column(primary_key=True)
    network: Mapped[str]
    station: Mapped[str]
    location: Mapped[str]
    channel: Mapped[str]
    type: Mapped[str]
    value: Mapped[float]
    unit: Mapped[str]
    time: Mapped[datetime | None]
    period_s: Mapped[float | None]
    snr: Mapped[float | None]
    pick_id: Mapped[str | None]
    method: Mapped[str] = mapped_column(Text)
    evaluation_mode: Mapped[str]
    created_at: Mapped[datetime]


class EventAmplitudeRow(InsertOnly, Base):
    __tablename__ = "event_amplitudes"

    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"), primary_key=True)
    amplitude_id: Mapped[str] = mapped_column(ForeignKey("amplitudes.id"), primary_key=True, index=True)
    position: Mapped[int]

    amplitude: Mapped[AmplitudeRow] = relationship(lazy="raise")


class StationRow(Base):
    """Station metadata (replaced as a whole when saved again: not event data)."""

    __tablename__ = "stations"
    __table_args__ = (Index("ix_stations_network_code", "network", "code"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    network: Mapped[str]
    code: Mapped[str]
    latitude_deg: Mapped[float]
    longitude_deg: Mapped[float]
    elevation_m: Mapped[float]
    name: Mapped[str] = mapped_column(Text)
    start: Mapped[datetime | None]
    end: Mapped[datetime | None]
    simulated: Mapped[bool] = mapped_column(Boolean)

    channels: Mapped[list["ChannelRow"]] = relationship(
        order_by="ChannelRow.position", cascade="all, delete-orphan", lazy="raise")


class ChannelRow(Base):
    __tablename__ = "channels"

    station_pk: Mapped[int] = mapped_column(ForeignKey("stations.pk", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    location: Mapped[str]
    channel: Mapped[str]
    latitude_deg: Mapped[float]
    longitude_deg: Mapped[float]
    elevation_m: Mapped[float]
    sample_rate_hz: Mapped[float]
    depth_m: Mapped[float]
    azimuth_deg: Mapped[float]
    dip_deg: Mapped[float]
    kind: Mapped[str]
    # StationGain (all NULL when the channel has no gain)
    gain_value: Mapped[float | None]
    gain_frequency_hz: Mapped[float | None]
    gain_input_units: Mapped[str | None]
    gain_output_units: Mapped[str | None]
    gain_response_ref: Mapped[str | None]
    start: Mapped[datetime | None]
    end: Mapped[datetime | None]


class ProductRow(InsertOnly, Base):
    __tablename__ = "products"
    __table_args__ = (Index("ix_products_event_kind", "event_id", "kind"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    kind: Mapped[str]
    uri: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str]
    event_id: Mapped[str | None]  # no foreign key: a product may precede its event's storage
    version: Mapped[int]
    sha256: Mapped[str | None]
    properties: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime]


class AlertRow(InsertOnly, Base):
    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("event_id", "sequence"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    event_id: Mapped[str]  # no foreign key: an early-warning alert precedes the catalogued event
    sequence: Mapped[int]
    origin_time: Mapped[datetime]
    latitude_deg: Mapped[float]
    longitude_deg: Mapped[float]
    depth_m: Mapped[float]
    magnitude: Mapped[float]
    magnitude_uncertainty: Mapped[float | None]
    level: Mapped[str]
    message_zh: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text)
    cancelled: Mapped[bool] = mapped_column(Boolean)
    test: Mapped[bool] = mapped_column(Boolean)
    issued_at: Mapped[datetime] = mapped_column(index=True)

    targets: Mapped[list["AlertTargetRow"]] = relationship(order_by="AlertTargetRow.position", lazy="raise")


class AlertTargetRow(InsertOnly, Base):
    __tablename__ = "alert_targets"

    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    place: Mapped[str] = mapped_column(Text)
    latitude_deg: Mapped[float]
    longitude_deg: Mapped[float]
    intensity: Mapped[float]
    warning_time_s: Mapped[float]


class QCRecordRow(InsertOnly, Base):
    """A waveform QC finding (:class:`tianshan.core.qc.QCRecord`); one row per stream, kind and span."""

    __tablename__ = "qc_records"
    __table_args__ = (
        UniqueConstraint("network", "station", "location", "channel", "kind", "start", "end"),
        Index("ix_qc_records_start", "start"),
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    network: Mapped[str]
    station: Mapped[str]
    location: Mapped[str]
    channel: Mapped[str]
    kind: Mapped[str]
    start: Mapped[datetime]
    end: Mapped[datetime]
    value: Mapped[float]
    detail: Mapped[str] = mapped_column(Text)


class TimelineRow(InsertOnly, Base):
    """One step of an event's timeline (:class:`tianshan.core.timeline.TimelineEntry`); the first record wins.

    ``event_id`` is deliberately not a foreign key: the associator records the
    ``first_pick`` step as the pick arrives, which may be a few milliseconds
    before the event row is committed (or the event may be stored by another
    process), so a timeline row may precede its event.
    """

    __tablename__ = "event_timeline"

    event_id: Mapped[str] = mapped_column(primary_key=True)
    step: Mapped[str] = mapped_column(primary_key=True)
    wall_time: Mapped[datetime]
    data_time: Mapped[datetime | None]
    detail: Mapped[str] = mapped_column(Text)


# --- REST API access control (tokens, restrictions) and its records (reviews, audit) ---------------

class ApiTokenRow(Base):
    """A bearer token of the REST API: only its SHA-256 digest is stored; revocation sets ``revoked_at``."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(primary_key=True)  # public handle ("tok-..."), not the secret
    digest: Mapped[str] = mapped_column(unique=True)  # SHA-256 hex of the token
    user: Mapped[str] = mapped_column(Text)
    role: Mapped[str]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class RestrictionRow(Base):
    """An event (``kind="event"``, key = event id) or station (``"station"``, key ``NET.STA``) hidden from public."""

    __tablename__ = "api_restrictions"

    kind: Mapped[str] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(Text)


class ReviewRow(InsertOnly, Base):
    """An analyst's review action on an event (accept, relocate, set type, publish): who, when, what."""

    __tablename__ = "event_reviews"
    __table_args__ = (Index("ix_event_reviews_event_time", "event_id", "time"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str]  # no foreign key, as the timeline: the review outlives nothing it refers to
    action: Mapped[str]
    user: Mapped[str] = mapped_column(Text)
    time: Mapped[datetime]
    comment: Mapped[str] = mapped_column(Text)
    origin_id: Mapped[str | None]  # the origin version the action created, if any
    details: Mapped[dict] = mapped_column(JSON)


class AuditRow(InsertOnly, Base):
    """One write request to the REST API (accepted or refused): who, when, what, from which address."""

    __tablename__ = "api_audit"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(index=True)
    user: Mapped[str] = mapped_column(Text)
    role: Mapped[str]
    method: Mapped[str]
    path: Mapped[str] = mapped_column(Text)
    status: Mapped[int]
    address: Mapped[str] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSON)
