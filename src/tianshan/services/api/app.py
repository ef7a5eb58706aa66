"""The REST API application (FastAPI): :func:`create_app`.

Every HTTP request goes through one gate (:func:`_gate`): the bearer token is turned
into a principal (401 for a bad one) -> the rate limit of that token, or of the client
address for public requests (429 with ``Retry-After``) -> writes (any method but GET,
HEAD, OPTIONS) need a token (401) -> the route (role checks: 403) -> for writes, an audit
entry (user, role, method, path, status, address, what), whether the write was accepted
or refused. Errors are ``{"error": {"code", "message"}}``: invalid parameters 400, an
unreachable database 503, anything unexpected a logged 500 (nothing a client sends
should produce one: the schemathesis test fuzzes the whole OpenAPI document).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from tianshan.core.errors import InputError
from tianshan.core.timeutil import utc_now
from tianshan.services.api.auth import PUBLIC, ApiError, Authenticator, Principal, bearer_token, client_address
from tianshan.services.api.live import LiveHub, StorePoller
from tianshan.services.api.region import RegionSource
from tianshan.store.access import AccessStore, AuditEntry

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class ApiState:
    """What the routes share (``app.state.api``)."""

    store: object
    access: AccessStore
    auth: Authenticator
    region: RegionSource
    hub: LiveHub
    products_dir: Path | None = None
    limiter: object | None = None
    exclusions: object | None = None
    poller: StorePoller | None = None
    counts: dict = field(default_factory=dict)

    def station_rows(self, who: Principal) -> list[dict]:
        """Rows of ``GET /stations``: the region's stations (else the store's), latency, QC, exclusion.

        Latency and live exclusion: the live hub's (a daemon in this process), else the live QC's
        records in the store (:func:`~tianshan.services.api.queries.station_live`)."""
        from tianshan.core.timeutil import utc_now
        from tianshan.services.api.queries import qc_status, station_live

        stations = self.region.stations()
        if stations is None:
            stations = self.store.stations()
        hidden = set() if who.at_least("analyst") else self.access.restricted("station")
        qc = qc_status(self.store)
        now = utc_now()
        live = station_live(self.store, now)
        rows, seen = [], set()
        for s in stations:
            key = f"{s.network}.{s.code}"
            if key in hidden or key in seen:
                continue
            seen.add(key)
            stored = live.get((s.network, s.code), {})
            excluded = bool(self.exclusions is not None and any(self.exclusions.excluded(c.stream_id, now)
                                                                for c in s.channels)) or bool(stored.get("excluded"))
            latency = self.hub.latency.get((s.network, s.code), stored.get("latency_s"))
            rows.append({"network": s.network, "station": s.code, "name": s.name, "latitude": s.latitude_deg,
                         "longitude": s.longitude_deg, "elevation_m": s.elevation_m,
                         "latency_s": latency, "qc": qc.get((s.network, s.code)), "excluded": excluded})
        return rows


def _register_event_id_convertor() -> None:
    """``{x:eventid}``: one or more characters, slashes included, matched lazily (event ids are
    ``smi:org.tianshan/event/<hex>``, so ``/events/{id}/review`` must still find its suffix)."""
    from starlette.convertors import CONVERTOR_TYPES, PathConvertor, register_url_convertor

    if "eventid" not in CONVERTOR_TYPES:
        class EventIdConvertor(PathConvertor):
            regex = ".+?"

        register_url_convertor("eventid", EventIdConvertor())


def create_app(store_url: str | None = None, archive: str | Path | None = None, region=None,
               products_dir: str | Path | None = None, *, store=None, rate_limit_per_s: float | None = 20.0,
               rate_burst: int = 100, poll_s: float | None = 2.0, exclusions: str | Path | None = None,
               upgrade: bool = True, bus=None) -> FastAPI:
    """The REST API application.

    ``store_url`` (or an open ``store``) is the event store (migrated to the head revision
    unless ``upgrade`` is false, when a store not at the head is refused). ``region``: a
    region folder, ``"demo"`` or a :class:`~tianshan.regions.RegionProfile` (map layers,
    cities, the station list; default: the store's stations and no map).
    ``products_dir``: a folder whose ``<event id>/`` subfolders hold extra product files.
    ``rate_limit_per_s``/``rate_burst``: the token bucket per client (``None``: no limit).
    ``poll_s``: how often the live feed polls the store (``None``: never). ``exclusions``:
    a QC exclusion list (JSON of :class:`~tianshan.qc.metrics.ExclusionList`) for the
    stations' ``excluded`` flag. ``bus``: a message bus feeding the live feed.
    ``archive`` is accepted for symmetry with the FDSN app and not used here.
    Raises :class:`InputError` for sources that cannot be used.
    """
    from tianshan.services.fdsn.auth import RateLimiter
    from tianshan.store import EventStore

    del archive
    _register_event_id_convertor()
    own_store = store is None
    if store is None:
        if store_url is None:
            raise InputError("the API needs an event store (store_url)", field="store_url")
        store = EventStore.open(store_url, upgrade=upgrade)
    access = AccessStore(store)
    excl = None
    if exclusions is not None:
        from tianshan.qc.metrics import ExclusionList

        excl = ExclusionList.load(exclusions)
    if products_dir is not None and not Path(products_dir).is_dir():
        raise InputError("products folder not found", source=str(products_dir), field="products_dir")
    state = ApiState(store=store, access=access, auth=Authenticator(access), region=RegionSource(region),
                     hub=LiveHub(), products_dir=None if products_dir is None else Path(products_dir).resolve(),
                     limiter=None if rate_limit_per_s is None else RateLimiter(rate_limit_per_s, rate_burst),
                     exclusions=excl)
    if poll_s is not None:
        admin = Principal("live-feed", "admin")
        state.poller = StorePoller(store, state.hub, lambda: access.restricted("event"), poll_s,
                                   station_rows=lambda: state.station_rows(admin),
                                   hidden_stations=lambda: access.restricted("station"))

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        state.hub.bind(asyncio.get_running_loop())
        tasks = []
        subs = []
        if state.poller is not None:
            await asyncio.to_thread(state.poller.start_state)
            tasks.append(asyncio.create_task(state.poller.run()))
        if bus is not None:
            subs = await state.hub.attach_bus(bus, _summary)
        try:
            yield
        finally:
            for t in tasks:
                t.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await t
            for s in subs:
                with contextlib.suppress(Exception):
                    await s.unsubscribe()
            if own_store:
                store.close()

    app = FastAPI(title="Tianshan REST API", version="1", lifespan=lifespan, openapi_url=f"{API_PREFIX}/openapi.json",
                  docs_url=f"{API_PREFIX}/docs", redoc_url=None,
                  description="Events with all their versions, products, alerts, station status and QC; "
                              "review actions; tokens with roles (public < analyst < operator < admin).")
    app.state.api = state
    _install_handlers(app)
    app.middleware("http")(_gate)

    from tianshan.services.api.routes import build_router

    app.include_router(build_router(state))

    @app.websocket(f"{API_PREFIX}/live")
    async def live(ws: WebSocket):
        await state.hub.serve(ws, state.auth.principal)

    return app


def _summary(event) -> dict:
    """A list row from an :class:`~tianshan.core.Event` (bus messages: no database read)."""
    from tianshan.services.api.queries import iso, status_of

    o, mag = event.preferred_origin, event.preferred_magnitude
    return {"id": event.id, "time": iso(o.time) if o else None, "latitude": o.latitude_deg if o else None,
            "longitude": o.longitude_deg if o else None, "depth_km": o.depth_m / 1000.0 if o else None,
            "magnitude": mag.value if mag else None, "magnitude_type": mag.type if mag else None,
            "status": status_of(event.type.value if event.type else None, o.evaluation_mode.value if o else None,
                                o.evaluation_status.value if o else None),
            "event_type": event.type.value if event.type else None, "n_origins": len(event.origins),
            "n_magnitudes": len(event.magnitudes), "region_name": event.region_name, "updated": iso(utc_now())}


def _json_error(err: ApiError) -> JSONResponse:
    return JSONResponse(err.body(), status_code=err.status, headers=err.headers)


def _install_handlers(app: FastAPI) -> None:
    from sqlalchemy.exc import DBAPIError

    from tianshan.core.errors import DomainError

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, err: ApiError):
        return _json_error(err)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, err: RequestValidationError):
        parts = []
        for e in err.errors()[:5]:
            where = ".".join(str(x) for x in e.get("loc", ()) if x != "body") or "request"
            parts.append(f"{where}: {e.get('msg', 'invalid')}")
        return _json_error(ApiError(400, "invalid_request", "; ".join(parts) or "invalid request"))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, err: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(err.status_code, "http_error")
        return _json_error(ApiError(err.status_code, code, str(err.detail), getattr(err, "headers", None)))

    @app.exception_handler(InputError)
    async def _input(_request: Request, err: InputError):
        return _json_error(ApiError(400, "invalid_request", str(err)))

    @app.exception_handler(DomainError)
    async def _domain(_request: Request, err: DomainError):
        return _json_error(ApiError(409, "conflict", str(err)))

    @app.exception_handler(DBAPIError)
    async def _db(_request: Request, err: DBAPIError):
        log.warning("api: database error: %s", str(err).splitlines()[0])
        return _json_error(ApiError(503, "unavailable", "the event database cannot be reached; try again later"))

    @app.exception_handler(Exception)
    async def _internal(request: Request, err: Exception):
        log.exception("api: internal error on %s %s", request.method, request.url.path)
        return _json_error(ApiError(500, "internal", f"internal error ({type(err).__name__})"))


async def _gate(request: Request, call_next):
    """Authentication, rate limit, write rule and audit (see the module docstring)."""
    from sqlalchemy.exc import DBAPIError

    state: ApiState = request.app.state.api
    write = request.method not in READ_METHODS
    who = PUBLIC
    request.state.principal = PUBLIC
    try:
        token = bearer_token(request.headers.get("authorization"))
        if token is not None:
            who = await run_in_threadpool(state.auth.principal, token)
            request.state.principal = who
        if state.limiter is not None:
            key = f"token:{who.token_id}" if who.token_id else f"ip:{client_address(request)}"
            wait = state.limiter.take(key)
            if wait > 0:
                from tianshan.services.fdsn.auth import retry_after_header

                raise ApiError(429, "rate_limited", "too many requests; slow down",
                               {"Retry-After": retry_after_header(wait)})
        if "\x00" in request.scope.get("path", "") or b"%00" in request.scope.get("query_string", b"").lower():
            raise ApiError(400, "invalid_request", "NUL characters are not allowed")  # PostgreSQL text refuses them
        if write and who.role == "public" and request.url.path.startswith(API_PREFIX):
            raise ApiError(401, "authentication_required", "writes need a token",
                           {"WWW-Authenticate": 'Bearer realm="tianshan"'})
        response = await call_next(request)
    except ApiError as err:
        response = _json_error(err)
    except DBAPIError as err:
        log.warning("api: database error: %s", str(err).splitlines()[0])
        response = _json_error(ApiError(503, "unavailable", "the event database cannot be reached; try again later"))
    except Exception as err:  # noqa: BLE001 - a request never takes the server down
        log.exception("api: internal error on %s %s", request.method, request.url.path)
        response = _json_error(ApiError(500, "internal", f"internal error ({type(err).__name__})"))
    state.counts[response.status_code] = state.counts.get(response.status_code, 0) + 1
    if write:
        entry = AuditEntry(utc_now(), who.user, who.role, request.method, request.url.path, response.status_code,
                           client_address(request), getattr(request.state, "audit", None) or {})
        try:
            await run_in_threadpool(state.access.record_audit, entry)
        except Exception:  # noqa: BLE001 - the answer is already decided; the failure is logged loudly
            log.exception("api: AUDIT ENTRY NOT WRITTEN: %s", entry)
    return response
