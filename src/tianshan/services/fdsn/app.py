"""The FDSN web services as one ASGI application (FastAPI): :func:`create_app`.

Routes (each service only where its data source is given):

* ``/fdsnws/`` -- index of the services;
* ``/fdsnws/{event,station,dataselect}/1/`` -- HTML documentation from the spec tables;
  ``version`` (plain text), ``application.wadl``, ``query`` (GET; POST for station and
  dataselect bulk requests); ``dataselect/1/queryauth`` (GET/POST, HTTP Digest or bearer
  token); ``event/1/catalogs`` and ``event/1/contributors``.

Every ``query``/``queryauth`` request goes through the same steps: rate limit (429;
documentation, version, WADL and catalogue lists are not limited) -> authentication for
``queryauth`` (401 with a Digest challenge) -> validation against the spec tables
(400) -> the service's work in a worker thread (database and archive reads block)
-> the body, or the spec's error body (:mod:`.errors`). ``nodata=404`` turns an empty
answer into a 404 with a body; the default is 204 without one. Database errors are
503 (the store may be restarting); any other failure is a logged 500 -- nothing a
client sends stops the server. Answers are counted by status in ``app.state.fdsn.counts``.

Event data come from the event store (opened read-only, not migrated), waveforms from
an SDS archive, station metadata from an inventory: a StationXML file, a region folder
or ``demo`` (through :func:`tianshan.events.build.pipeline.resolve_network`), an ObsPy
``Inventory``, or else the stations saved in the store.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from tianshan.core.errors import InputError
from tianshan.core.timeutil import utc_now
from tianshan.services.fdsn import docs, wadl
from tianshan.services.fdsn.auth import Authenticator, Credentials, RateLimiter, retry_after_header
from tianshan.services.fdsn.errors import STATUS_TEXT, FDSNError, NoData, error_body
from tianshan.services.fdsn.params import parse_items, parse_post
from tianshan.services.fdsn.spec import DATASELECT, EVENT, STATION, Service

log = logging.getLogger(__name__)


@dataclass
class FDSNState:
    """What the routes share: the services, the limiter, the authenticator, the answer counts."""

    event: object | None = None
    station: object | None = None
    dataselect: object | None = None
    limiter: RateLimiter | None = None
    auth: Authenticator | None = None
    counts: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, code: int) -> None:
        with self.lock:
            self.counts[code] += 1


def _load_inventory(inventory, store_url: str | None):
    """(ObsPy inventory, its modification time or None) from the ``inventory`` argument or the store."""
    if inventory is None:
        if store_url is None:
            return None, None
        from tianshan.io.stationxml import stations_to_inventory
        from tianshan.store import EventStore

        with EventStore.open(store_url, upgrade=False) as store:
            stations = store.stations()
        return (stations_to_inventory(stations) if stations else None), None
    if hasattr(inventory, "networks"):
        return inventory, None
    from tianshan.events.build.pipeline import resolve_network

    network = resolve_network(inventory=inventory)
    path = Path(str(inventory))
    updated = None
    if path.is_file():
        from datetime import timezone

        updated = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    return network.inventory, updated


def create_app(store_url: str | None = None, archive: str | Path | None = None, inventory=None, *,
               credentials: Credentials | None = None, max_samples: int = 20_000_000, max_events: int = 20_000,
               rate_limit_per_s: float | None = 20.0, rate_burst: int = 100, catalog: str = "TIANSHAN",
               gzip: bool = True) -> FastAPI:
    """The FDSN web services application.

    ``store_url`` (event store URL) enables fdsnws-event; ``archive`` (SDS folder)
    fdsnws-dataselect; ``inventory`` (StationXML path, region folder, ``"demo"`` or an
    ObsPy ``Inventory``; default: the store's stations) fdsnws-station and the
    restricted channels. ``credentials`` are the users of ``queryauth``;
    ``max_samples`` / ``max_events`` the 413 limits; ``rate_limit_per_s`` and
    ``rate_burst`` the per-client token bucket (``None``: no limit). Raises
    :class:`InputError` for sources that cannot be used.
    """
    from tianshan.services.fdsn.dataselect import DataselectService
    from tianshan.services.fdsn.event import EventService
    from tianshan.services.fdsn.station import InventoryIndex, StationService

    state = FDSNState()
    if rate_limit_per_s is not None:
        state.limiter = RateLimiter(rate_limit_per_s, rate_burst)
    state.auth = Authenticator(credentials or Credentials())
    inv, updated = _load_inventory(inventory, store_url)
    index = None if inv is None else InventoryIndex(inv)
    if archive is not None:
        archive = Path(archive)
        if not archive.is_dir():
            raise InputError("SDS archive folder not found", source=str(archive), field="archive")
        state.dataselect = DataselectService(archive, index, max_samples)
    if index is not None:
        state.station = StationService(index, archive, updated)
    if store_url is not None:
        state.event = EventService(store_url, catalog=catalog, max_events=max_events)
    if not (state.event or state.station or state.dataselect):
        raise InputError("nothing to serve: give an event store, an SDS archive or an inventory")

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        try:
            yield
        finally:
            if state.event is not None:
                state.event.close()

    app = FastAPI(title="Tianshan FDSN web services", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.fdsn = state
    if gzip:
        from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

        from tianshan.services.fdsn.dataselect import MSEED_MEDIA_TYPE

        app.add_middleware(GZipMiddleware, minimum_size=4096, compresslevel=5,
                           exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, MSEED_MEDIA_TYPE))
    offered = [s for s, impl in ((EVENT, state.event), (STATION, state.station), (DATASELECT, state.dataselect))
               if impl is not None]

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        code = exc.status_code if exc.status_code in STATUS_TEXT else 404
        state.count(code)
        return _error(request, utc_now(), None, code, str(exc.detail or STATUS_TEXT[code]))

    @app.get("/fdsnws/", response_class=HTMLResponse)
    async def _index():
        return HTMLResponse(docs.index_page(offered))

    for service in offered:
        _add_routes(app, service, state)
    return app


def _error(request: Request, submitted: datetime, service: Service | None, code: int, detail: str,
           headers: dict | None = None) -> Response:
    base = str(request.base_url).rstrip("/")
    doc_url = base + (service.path if service is not None else "/fdsnws/")
    body = error_body(code, detail, str(request.url), submitted, service.version if service else "", doc_url)
    return PlainTextResponse(body, status_code=code, headers=headers)


def _request_target(request: Request) -> str:
    raw = request.scope.get("raw_path") or request.url.path.encode()
    qs = request.scope.get("query_string") or b""
    return raw.decode("latin-1") + ("?" + qs.decode("latin-1") if qs else "")


def _worker(service: Service, state: FDSNState, request: Request):
    """The blocking function answering a validated request of ``service`` (run in a thread)."""
    if service is EVENT:
        return lambda q, sel, user: state.event.query(q)
    if service is STATION:
        return lambda q, sel, user: state.station.query(q, sel, module_uri=str(request.url))
    from tianshan.services.fdsn.dataselect import MSEED_MEDIA_TYPE

    return lambda q, sel, user: (state.dataselect.query(q, sel, authorized=user is not None), MSEED_MEDIA_TYPE)


async def _answer(request: Request, service: Service, state: FDSNState, auth: bool) -> Response:
    submitted = utc_now()
    nodata = "204"
    try:
        if state.limiter is not None:
            client = request.client.host if request.client else "unknown"
            wait = state.limiter.take(client)
            if wait > 0:
                raise FDSNError(429, "too many requests from this client; slow down",
                                {"Retry-After": retry_after_header(wait)})
        user = None
        if auth:
            result = state.auth.check(request.headers.get("authorization"), request.method,
                                      _request_target(request))
            if result.user is None:
                raise FDSNError(401, "authentication required (HTTP Digest or a bearer token)",
                                {"WWW-Authenticate": state.auth.challenge(stale=result.stale)})
            user = result.user
        if request.method == "POST":
            q, selections = parse_post(service, await request.body(), open_times=service is STATION)
        else:
            q, selections = parse_items(service, request.query_params.multi_items()), None
        nodata = q["nodata"]
        body, media = await run_in_threadpool(_worker(service, state, request), q, selections, user)
        state.count(200)
        if not isinstance(body, (bytes, bytearray)):  # dataselect: archive records streamed in chunks
            return StreamingResponse(iter(body), media_type=media)
        return Response(body, media_type=media)
    except NoData as err:
        if nodata == "404":
            state.count(404)
            return _error(request, submitted, service, 404, err.detail)
        state.count(204)
        return Response(status_code=204)
    except FDSNError as err:
        state.count(err.code)
        return _error(request, submitted, service, err.code, err.detail, err.headers)
    except InputError as err:
        state.count(400)
        return _error(request, submitted, service, 400, str(err))
    except Exception as err:  # noqa: BLE001 - a request never takes the server down
        from sqlalchemy.exc import DBAPIError

        if isinstance(err, DBAPIError):
            log.warning("fdsnws-%s: database error: %s", service.name, str(err).splitlines()[0])
            state.count(503)
            return _error(request, submitted, service, 503, "the event database cannot be reached; try again later")
        log.exception("fdsnws-%s: internal error on %s", service.name, request.url)
        state.count(500)
        return _error(request, submitted, service, 500, f"internal error ({type(err).__name__})")


def _add_routes(app: FastAPI, service: Service, state: FDSNState) -> None:
    path = service.path

    async def page():
        return HTMLResponse(docs.service_page(service))

    async def version():
        return PlainTextResponse(service.version)

    async def application_wadl(request: Request):
        return Response(wadl.application_wadl(service, str(request.base_url)), media_type="application/xml")

    async def query(request: Request):
        return await _answer(request, service, state, auth=False)

    async def queryauth(request: Request):
        return await _answer(request, service, state, auth=True)

    methods = ["GET", "POST"] if service.post else ["GET"]
    app.add_api_route(path, page, methods=["GET"], include_in_schema=False)
    app.add_api_route(path.rstrip("/"), page, methods=["GET"], include_in_schema=False)
    app.add_api_route(path + "version", version, methods=["GET"], include_in_schema=False)
    app.add_api_route(path + "application.wadl", application_wadl, methods=["GET"], include_in_schema=False)
    app.add_api_route(path + "query", query, methods=methods, include_in_schema=False)
    if service.queryauth:
        app.add_api_route(path + "queryauth", queryauth, methods=methods, include_in_schema=False)
    if service is EVENT:
        async def catalogs():
            return Response(await run_in_threadpool(state.event.catalogs_xml), media_type="application/xml")

        async def contributors():
            return Response(await run_in_threadpool(state.event.contributors_xml), media_type="application/xml")

        app.add_api_route(path + "catalogs", catalogs, methods=["GET"], include_in_schema=False)
        app.add_api_route(path + "contributors", contributors, methods=["GET"], include_in_schema=False)
