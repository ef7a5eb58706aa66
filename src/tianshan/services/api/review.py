"""Analyst review actions on an event: accept, relocate, set type, publish.

Each action changes the event through the insert-only history of the store
(:meth:`tianshan.store.EventStore.update_event`, under the event row lock) and is then
recorded in ``event_reviews`` with who and when:

* ``accept``: a new origin version equal to the preferred one, evaluation mode
  ``manual``, status ``reviewed`` (QuakeML 1.2 EvaluationMode/EvaluationStatus);
  refused (409) on an event already ``final``;
* ``relocate``: a new origin version at the given latitude, longitude and/or depth (the
  others kept), same origin time, mode ``manual``, status ``reviewed``; arrivals,
  residuals and uncertainties are dropped, since they belonged to the old hypocentre;
* ``set_type``: the event type (QuakeML EventType; ``not existing`` cancels the event);
* ``publish``: a new origin version equal to the preferred one with status ``final``.

An event without an origin can only have its type set (409 otherwise).
"""

from __future__ import annotations

from dataclasses import replace

from tianshan.core.ids import new_resource_id
from tianshan.core.origin import EvaluationStatus
from tianshan.core.pick import EvaluationMode
from tianshan.core.timeutil import utc_now
from tianshan.services.api.auth import ApiError, Principal
from tianshan.services.api.queries import event_rows, iso, status_of
from tianshan.store.access import AccessStore, Review


def _new_origin(origin, status: EvaluationStatus, **changes):
    return replace(origin, id=new_resource_id("origin"), evaluation_mode=EvaluationMode.MANUAL,
                   evaluation_status=status, created_at=utc_now(), **changes)


def apply_review(store, event_id: str, req, who: Principal) -> tuple[Review, dict]:
    """Apply the review request ``req`` (:class:`~tianshan.services.api.models.ReviewRequest`) to the
    event; return the stored review and the event's list row afterwards. Raises :class:`ApiError`
    (400 missing field, 404 no such event, 409 not possible on this event)."""
    from tianshan.store import EventNotFoundError

    try:
        event = store.get_event(event_id)
    except EventNotFoundError:
        raise ApiError(404, "not_found", "no such event") from None
    pref = event.preferred_origin
    details: dict = {}
    origin = None
    if req.action != "set_type" and pref is None:
        raise ApiError(409, "no_origin", f"the event has no origin to {req.action}")
    current = status_of(event.type.value if event.type else None,
                        pref.evaluation_mode.value if pref else None, pref.evaluation_status.value if pref else None)
    if req.action == "accept":
        if current == "final":
            raise ApiError(409, "already_final", "the event is final; relocate or set its type instead")
        origin = _new_origin(pref, EvaluationStatus.REVIEWED)
    elif req.action == "publish":
        origin = _new_origin(pref, EvaluationStatus.FINAL)
    elif req.action == "relocate":
        if req.latitude is None and req.longitude is None and req.depth_km is None:
            raise ApiError(400, "invalid_request", "relocate needs latitude, longitude and/or depth_km")
        lat = pref.latitude_deg if req.latitude is None else req.latitude
        lon = pref.longitude_deg if req.longitude is None else req.longitude
        depth_m = pref.depth_m if req.depth_km is None else req.depth_km * 1000.0
        origin = _new_origin(pref, EvaluationStatus.REVIEWED, latitude_deg=lat, longitude_deg=lon,
                             depth_m=depth_m, arrivals=(), rms_s=None, time_uncertainty_s=None,
                             horizontal_uncertainty_m=None, depth_uncertainty_m=None, ellipse=None,
                             azimuthal_gap_deg=None, minimum_distance_deg=None,
                             method=f"manual relocation ({who.user})")
        details = {"latitude": lat, "longitude": lon, "depth_km": depth_m / 1000.0,
                   "previous": {"latitude": pref.latitude_deg, "longitude": pref.longitude_deg,
                                "depth_km": pref.depth_m / 1000.0}}
    else:  # set_type
        if req.event_type is None:
            raise ApiError(400, "invalid_request", "set_type needs event_type")
        details = {"event_type": req.event_type, "previous": event.type.value if event.type else None}
    if origin is not None:
        stored = store.update_event(event_id, origin=origin)
        new = stored.preferred_origin
        details.update({"origin_version": new.version, "previous_origin_id": pref.id})
        origin_id = new.id
    else:
        store.update_event(event_id, type=req.event_type)
        origin_id = None
    review = Review(event_id, req.action, who.user, utc_now(), req.comment, origin_id, details)
    AccessStore(store).add_review(review)
    rows = event_rows(store, [event_id])
    return review, rows[0]


def review_dict(r: Review) -> dict:
    return {"action": r.action, "user": r.user, "time": iso(r.time), "comment": r.comment,
            "origin_id": r.origin_id, "details": dict(r.details)}
