"""The routes of the REST API under ``/api/v1`` (see :mod:`tianshan.services.api` for the list)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from tianshan.services.api import models as m
from tianshan.services.api.auth import ApiError, Principal, current, require
from tianshan.services.api.queries import iso

UTC = timezone.utc
#: Documented error answers of every route (the error body of :class:`ApiError`).
ERRORS = {code: {"model": m.ErrorBody} for code in (400, 401, 429, 503)}
E404 = {404: {"model": m.ErrorBody}}
E403 = {403: {"model": m.ErrorBody}}
E409 = {409: {"model": m.ErrorBody}}
#: Station codes: ``NET.STA`` (FDSN codes: letters, digits, ``_``/``-``; up to 8 characters each).
STATION_ID = r"^[A-Za-z0-9_\-]{1,8}\.[A-Za-z0-9_\-]{1,8}$"
MAX_OFFSET = 10_000_000


def utc(t: datetime | None, name: str) -> datetime | None:
    """An aware UTC datetime (naive input is UTC); 400 for a time that cannot be represented."""
    if t is None:
        return None
    try:
        return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ApiError(400, "invalid_request", f"{name}: time out of range") from None


def _hidden(state, who: Principal, kind: str) -> set[str]:
    return set() if who.at_least("analyst") else state.access.restricted(kind)


def build_router(state) -> APIRouter:
    r = APIRouter(prefix="/api/v1", responses=ERRORS)

    # --- events ---------------------------------------------------------------------------------

    @r.get("/events", response_model=m.EventList, tags=["events"], summary="List events")
    async def list_events(
            request: Request,
            starttime: datetime | None = Query(None, description="origin time >= (ISO 8601, UTC)"),
            endtime: datetime | None = Query(None, description="origin time < (ISO 8601, UTC)"),
            minmagnitude: float | None = Query(None, ge=-10, le=12, allow_inf_nan=False),
            maxmagnitude: float | None = Query(None, ge=-10, le=12, allow_inf_nan=False),
            minlatitude: float | None = Query(None, ge=-90, le=90, allow_inf_nan=False),
            maxlatitude: float | None = Query(None, ge=-90, le=90, allow_inf_nan=False),
            minlongitude: float | None = Query(None, ge=-180, le=180, allow_inf_nan=False),
            maxlongitude: float | None = Query(None, ge=-180, le=180, allow_inf_nan=False),
            limit: int = Query(100, ge=1, le=1000),
            offset: int = Query(0, ge=0, le=MAX_OFFSET),
            orderby: Literal["time", "time-asc", "magnitude", "magnitude-asc"] = "time"):
        from tianshan.services.api.queries import list_events as query

        who = current(request)
        start, end = utc(starttime, "starttime"), utc(endtime, "endtime")

        def work():
            return query(state.store, start=start, end=end, min_mag=minmagnitude, max_mag=maxmagnitude,
                         min_lat=minlatitude, max_lat=maxlatitude, min_lon=minlongitude, max_lon=maxlongitude,
                         limit=limit, offset=offset, orderby=orderby, hidden=_hidden(state, who, "event"))

        total, rows = await run_in_threadpool(work)
        return {"count": total, "events": rows}

    def _event_files(event_id: str, who: Principal):
        """(detail dict, product files) of a visible event; 404 otherwise."""
        from tianshan.services.api.queries import event_detail, event_rows, product_entries
        from tianshan.services.api.review import review_dict
        from tianshan.store import EventNotFoundError

        if event_id in _hidden(state, who, "event"):
            raise ApiError(404, "not_found", "no such event")
        try:
            event = state.store.get_event(event_id)
        except EventNotFoundError:
            raise ApiError(404, "not_found", "no such event") from None
        rows = event_rows(state.store, [event_id])
        detail = event_detail(event, rows[0])
        products, files = product_entries(event_id, state.store.products(event_id), state.products_dir)
        detail["products"] = products
        detail["timeline"] = {e.step: iso(e.wall_time) for e in state.store.timeline(event_id)}
        detail["reviews"] = [review_dict(x) for x in state.access.reviews(event_id)]
        return detail, files

    @r.post("/events/{event_id:eventid}/review", response_model=m.ReviewResponse, tags=["review"],
            summary="Review an event (analyst or higher)", responses={**E403, **E404, **E409})
    async def review_event(request: Request, body: m.ReviewRequest,
                           event_id: str = Path(min_length=1, max_length=300),
                           who: Principal = Depends(require("analyst"))):
        from tianshan.services.api.review import apply_review, review_dict

        request.state.audit = {"event_id": event_id, "request": body.model_dump(mode="json")}
        if event_id in await run_in_threadpool(_hidden, state, who, "event"):
            raise ApiError(404, "not_found", "no such event")
        review, row = await run_in_threadpool(apply_review, state.store, event_id, body, who)
        request.state.audit["origin_id"] = review.origin_id
        state.hub.publish("event", row, event_id in await run_in_threadpool(state.access.restricted, "event"))
        return {"review": review_dict(review), "event": row}

    @r.get("/events/{event_id:eventid}/products/{path:path}", tags=["events"], summary="A product file",
           responses={**E404, 200: {"content": {"application/octet-stream": {}}}}, response_class=FileResponse)
    async def product_file(request: Request, event_id: str = Path(min_length=1, max_length=300),
                           path: str = Path(min_length=1, max_length=1000)):
        _, files = await run_in_threadpool(_event_files, event_id, current(request))
        target = files.get(path)
        if target is None or not target.is_file():
            raise ApiError(404, "not_found", "no such product file")
        from tianshan.services.api.queries import _content_type

        return FileResponse(target, media_type=_content_type(target))

    @r.get("/events/{event_id:eventid}", response_model=m.EventDetail, tags=["events"],
           summary="One event with all its versions", responses=E404)
    async def get_event(request: Request, event_id: str = Path(min_length=1, max_length=300)):
        detail, _ = await run_in_threadpool(_event_files, event_id, current(request))
        return detail

    # --- stations -------------------------------------------------------------------------------

    @r.get("/stations", response_model=m.StationList, tags=["stations"], summary="Stations with latency and QC")
    async def stations(request: Request):
        return {"stations": await run_in_threadpool(state.station_rows, current(request))}

    @r.get("/stations/{station_id}/qc", response_model=m.StationQC, tags=["stations"],
           summary="QC findings of one station", responses=E404)
    async def station_qc(request: Request, station_id: str = Path(pattern=STATION_ID, max_length=17),
                         starttime: datetime | None = Query(None), endtime: datetime | None = Query(None),
                         kind: Literal["gap", "overlap", "spike", "clipping", "offset", "flat", "sample_rate",
                                       "time_tear", "availability", "invalid", "latency"] | None = None,
                         limit: int = Query(1000, ge=1, le=10000)):
        from tianshan.services.api.queries import station_qc as query

        start, end = utc(starttime, "starttime"), utc(endtime, "endtime")
        net, sta = station_id.split(".")

        def work():
            row = next((s for s in state.station_rows(current(request))
                        if s["network"] == net and s["station"] == sta), None)
            if row is None:
                raise ApiError(404, "not_found", "no such station")
            total, rows = query(state.store, net, sta, start, end, kind, limit)
            return {"station": station_id, "qc": row["qc"], "count": total, "records": rows}

        return await run_in_threadpool(work)

    # --- alerts, region -------------------------------------------------------------------------

    @r.get("/alerts", response_model=m.AlertList, tags=["alerts"], summary="Alert messages, newest first")
    async def alerts(request: Request, limit: int = Query(50, ge=1, le=1000)):
        from tianshan.services.api.queries import alert_messages

        who = current(request)
        msgs = await run_in_threadpool(lambda: alert_messages(state.store, _hidden(state, who, "event")))
        return {"alerts": msgs[:limit]}

    @r.get("/region/basemap", response_model=m.FeatureCollection, tags=["region"],
           summary="Map layers of the region (counties, faults, towns, stations)")
    async def basemap():
        return await run_in_threadpool(state.region.basemap)

    @r.get("/region/cities", response_model=m.CityList, tags=["region"], summary="Populated places")
    async def cities():
        return {"cities": await run_in_threadpool(state.region.cities)}

    # --- administration -------------------------------------------------------------------------

    @r.get("/audit", response_model=m.AuditList, tags=["admin"], summary="Audit log (admin)", responses=E403)
    async def audit(limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_OFFSET),
                    user: str | None = Query(None, max_length=100),
                    who: Principal = Depends(require("admin"))):
        total, entries = await run_in_threadpool(state.access.audit, limit, offset, user)
        return {"count": total, "entries": [
            {"id": e.id, "time": iso(e.time), "user": e.user, "role": e.role, "method": e.method, "path": e.path,
             "status": e.status, "address": e.address, "details": dict(e.details)} for e in entries]}

    @r.post("/tokens", response_model=m.TokenCreated, tags=["admin"], summary="Create a token (admin)",
            responses=E403)
    async def create_token(request: Request, body: m.TokenRequest, who: Principal = Depends(require("admin"))):
        request.state.audit = {"request": body.model_dump(mode="json")}
        expires = utc(body.expires, "expires")
        token, info = await run_in_threadpool(state.access.create_token, body.user, body.role, who.user, expires)
        request.state.audit["token_id"] = info.id
        return {"token": token, "info": info.as_dict()}

    @r.get("/tokens", response_model=m.TokenList, tags=["admin"], summary="Tokens, without secrets (admin)",
           responses=E403)
    async def list_tokens(who: Principal = Depends(require("admin"))):
        return {"tokens": [t.as_dict() for t in await run_in_threadpool(state.access.tokens)]}

    @r.delete("/tokens/{token_id}", response_model=m.TokenInfoOut, tags=["admin"], summary="Revoke a token (admin)",
              responses={**E403, **E404})
    async def revoke_token(request: Request, token_id: str = Path(min_length=1, max_length=100),
                           who: Principal = Depends(require("admin"))):
        request.state.audit = {"token_id": token_id}
        try:
            info = await run_in_threadpool(state.access.revoke_token, token_id)
        except KeyError:
            raise ApiError(404, "not_found", "no such token") from None
        state.auth.forget()
        return info.as_dict()

    @r.post("/restrictions", response_model=m.RestrictionOut, tags=["admin"],
            summary="Restrict or release an event or station (operator or higher)", responses=E403)
    async def restrict(request: Request, body: m.RestrictionRequest, who: Principal = Depends(require("operator"))):
        request.state.audit = {"request": body.model_dump(mode="json")}
        if body.restricted:
            await run_in_threadpool(state.access.restrict, body.kind, body.key, body.reason, who.user)
        else:
            await run_in_threadpool(state.access.unrestrict, body.kind, body.key)
        return {"kind": body.kind, "key": body.key, "restricted": body.restricted}

    return r
