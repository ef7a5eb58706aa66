"""Everything ``tianshan serve`` runs, as one ASGI application: :func:`create_server`.

* ``/fdsnws/...`` -> the FDSN web services (:func:`tianshan.services.fdsn.app.create_app`);
* ``/dashboard/...`` -> the dashboard's static files (``index.html`` for folders), when the
  folder exists (default: ``tianshan/services/dashboard/static`` in the package);
* ``/`` -> a redirect to ``/dashboard/`` (or to the API docs without a dashboard);
* everything else -> the REST API (:func:`tianshan.services.api.app.create_app`).

The ASGI lifespan of the combined application starts and stops both applications'
lifespans (the API's live-feed poller, the FDSN event service's store).
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from pathlib import Path

log = logging.getLogger(__name__)


def default_dashboard_dir() -> Path:
    """``tianshan/services/dashboard/static`` of the installed package."""
    return Path(__file__).resolve().parents[1] / "dashboard" / "static"


class CombinedApp:
    """ASGI dispatcher by path prefix (see the module docstring)."""

    def __init__(self, api, fdsn=None, dashboard_dir: str | Path | None = None) -> None:
        from starlette.staticfiles import StaticFiles

        self.api = api
        self.fdsn = fdsn
        self.dashboard_dir = Path(dashboard_dir) if dashboard_dir is not None else None
        self.static = (StaticFiles(directory=self.dashboard_dir, html=True)
                       if self.dashboard_dir is not None and self.dashboard_dir.is_dir() else None)

    async def __call__(self, scope, receive, send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        path = scope.get("path", "")
        if self.fdsn is not None and (path == "/fdsnws" or path.startswith("/fdsnws/")):
            await self.fdsn(scope, receive, send)
            return
        if kind == "http" and path in ("", "/", "/dashboard"):
            target = "/dashboard/" if self.static is not None else "/api/v1/docs"
            await _redirect(target, send)
            return
        if self.static is not None and kind == "http" and path.startswith("/dashboard/"):
            await self.static({**scope, "root_path": scope.get("root_path", "") + "/dashboard"}, receive, send)
            return
        await self.api(scope, receive, send)

    async def _lifespan(self, receive, send) -> None:
        stack = AsyncExitStack()
        await receive()  # lifespan.startup
        try:
            for app in (self.api, self.fdsn):
                if app is not None:
                    await stack.enter_async_context(app.router.lifespan_context(app))
        except BaseException as err:  # noqa: BLE001 - reported to the server, which stops
            log.exception("startup failed")
            await stack.aclose()
            await send({"type": "lifespan.startup.failed", "message": str(err)})
            return
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        await stack.aclose()
        await send({"type": "lifespan.shutdown.complete"})


async def _redirect(target: str, send) -> None:
    await send({"type": "http.response.start", "status": 307,
                "headers": [(b"location", target.encode()), (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


def create_server(store_url: str, *, archive: str | Path | None = None, inventory=None, region=None,
                  products_dir: str | Path | None = None, dashboard_dir: str | Path | None = None,
                  api_options: dict | None = None, fdsn_options: dict | None = None) -> CombinedApp:
    """The API over ``store_url`` with the FDSN services (event from the store, station from
    ``inventory`` or the store, dataselect from ``archive``) and the dashboard
    (``dashboard_dir``, default :func:`default_dashboard_dir`)."""
    from tianshan.services.api.app import create_app as create_api
    from tianshan.services.fdsn.app import create_app as create_fdsn

    api = create_api(store_url, region=region, products_dir=products_dir, **(api_options or {}))
    fdsn = create_fdsn(store_url, archive, inventory, **(fdsn_options or {}))
    return CombinedApp(api, fdsn, default_dashboard_dir() if dashboard_dir is None else dashboard_dir)
