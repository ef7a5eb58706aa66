"""Request and response bodies of the REST API (pydantic; they make the OpenAPI document).

Times are ISO 8601 UTC strings ending in ``Z``; latitudes and longitudes degrees; depths
km (the API's unit, converted from the store's metres); magnitudes dimensionless.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from tianshan.core.event import EventType

EventStatus = Literal["automatic", "reviewed", "final", "cancelled"]
ReviewAction = Literal["accept", "relocate", "set_type", "publish"]
EventTypeName = Literal[tuple(t.value for t in EventType)]  # type: ignore[valid-type]
TokenRole = Literal["analyst", "operator", "admin"]


def _utf8(text: str) -> str:
    """Refuse text that is not valid Unicode (JSON ``\\ud800`` escapes give lone surrogates) or holds NUL."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("not valid Unicode text (lone surrogate)") from None
    if "\x00" in text:
        raise ValueError("NUL characters are not allowed")
    return text


Text = Annotated[str, AfterValidator(_utf8)]


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class EventSummary(BaseModel):
    id: str
    time: str | None
    latitude: float | None
    longitude: float | None
    depth_km: float | None
    magnitude: float | None
    magnitude_type: str | None
    status: EventStatus
    event_type: str | None
    n_origins: int
    n_magnitudes: int
    region_name: str
    updated: str | None = None


class EventList(BaseModel):
    count: int = Field(description="events matching the filters (before limit/offset)")
    events: list[EventSummary]


class OriginVersion(BaseModel):
    id: str
    version: int
    time: str
    latitude: float
    longitude: float
    depth_km: float
    creation_time: str
    n_stations: int | None
    rms_s: float | None
    horizontal_error_km: float | None
    evaluation_mode: str
    evaluation_status: str
    method: str
    preferred: bool


class MagnitudeVersion(BaseModel):
    id: str
    version: int
    value: float
    type: str
    n_stations: int | None
    creation_time: str
    preferred: bool


class PickOut(BaseModel):
    station: str
    stream: str
    phase: str
    time: str
    probability: float | None


class ProductOut(BaseModel):
    name: str
    kind: str
    version: int
    created: str
    content_type: str
    url: str


class ReviewOut(BaseModel):
    action: ReviewAction
    user: str
    time: str
    comment: str
    origin_id: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class EventDetail(EventSummary):
    origins: list[OriginVersion]
    magnitudes: list[MagnitudeVersion]
    picks: list[PickOut]
    products: list[ProductOut]
    timeline: dict[str, str]
    reviews: list[ReviewOut]


class StationOut(BaseModel):
    network: str
    station: str
    name: str
    latitude: float
    longitude: float
    elevation_m: float
    latency_s: float | None
    qc: Literal["ok", "warn", "fail"] | None
    excluded: bool


class StationList(BaseModel):
    stations: list[StationOut]


class QCRow(BaseModel):
    stream: str
    kind: str
    start: str
    end: str
    value: float
    detail: str


class StationQC(BaseModel):
    station: str
    qc: Literal["ok", "warn", "fail"] | None
    count: int
    records: list[QCRow]


class AlertList(BaseModel):
    alerts: list[dict[str, Any]] = Field(description="alert messages (products/alerts/alert.schema.json), newest first")


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]]


class City(BaseModel):
    name: str
    name_zh: str
    latitude: float
    longitude: float
    population: int | None
    kind: str


class CityList(BaseModel):
    cities: list[City]


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: ReviewAction
    comment: Text = Field("", max_length=4000)
    event_type: EventTypeName | None = None
    latitude: float | None = Field(None, ge=-90.0, le=90.0, allow_inf_nan=False)
    longitude: float | None = Field(None, ge=-180.0, le=180.0, allow_inf_nan=False)
    depth_km: float | None = Field(None, ge=-9.0, le=800.0, allow_inf_nan=False)


class ReviewResponse(BaseModel):
    review: ReviewOut
    event: EventSummary


class AuditOut(BaseModel):
    id: int | None
    time: str
    user: str
    role: str
    method: str
    path: str
    status: int
    address: str
    details: dict[str, Any]


class AuditList(BaseModel):
    count: int
    entries: list[AuditOut]


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: Text = Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$")
    role: TokenRole
    expires: datetime | None = Field(None, description="expiry time, ISO 8601 (naive: UTC); none: never")


class TokenInfoOut(BaseModel):
    id: str
    user: str
    role: str
    created_at: str
    created_by: str
    expires_at: str | None
    revoked_at: str | None


class TokenCreated(BaseModel):
    token: str = Field(description="the secret; shown once, stored only as its SHA-256 digest")
    info: TokenInfoOut


class TokenList(BaseModel):
    tokens: list[TokenInfoOut]


class RestrictionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["event", "station"]
    key: Text = Field(min_length=1, max_length=200, description="event id, or NET.STA")
    reason: Text = Field("", max_length=4000)
    restricted: bool = True


class RestrictionOut(BaseModel):
    kind: str
    key: str
    restricted: bool
