"""A tiny asyncio HTTP/1.1 responder for the daemon's operational endpoints.

The daemon needs three read-only GET endpoints (health, Prometheus metrics, an event's
timeline) on a loopback or operations network; a framework would add a dependency and a
second event-loop integration for that. This responder reads one request per connection
(request line and headers, RFC 9112 section 3, bounded in size and time), calls the route
function and answers with ``Content-Length`` and ``Connection: close``. Malformed requests
get 400, unknown paths 404, other methods than GET/HEAD on a known path 405 (with
``Allow``), a failing route 500 (logged); the server never stops on a bad client.

Routes: ``add(path, fn)`` for an exact path, ``add_prefix(prefix, fn)`` for a path family
(``fn`` gets the rest of the path); ``fn()`` / ``fn(rest)`` is a coroutine function
returning a :class:`Response`, or ``None`` for "not found".
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Awaitable, Callable
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

MAX_LINE_BYTES = 8192
MAX_HEADERS = 100
REQUEST_TIMEOUT_S = 10.0

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            500: "Internal Server Error", 503: "Service Unavailable"}


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, doc, status: int = 200) -> "Response":
        body = (json.dumps(doc, ensure_ascii=False, indent=1, default=str) + "\n").encode("utf-8")
        return cls(status, body, "application/json")

    @classmethod
    def text(cls, text: str, status: int = 200) -> "Response":
        return cls(status, text.encode("utf-8"))


Route = Callable[..., Awaitable["Response | None"]]


class HttpServer:
    """Serve GET routes on ``host:port`` (``port=0``: an ephemeral port, read back from :attr:`port`)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.requests = 0
        self.errors = 0
        self._exact: dict[str, Route] = {}
        self._prefix: list[tuple[str, Route]] = []
        self._server: asyncio.AbstractServer | None = None
        self._conns: set[asyncio.Task] = set()

    def add(self, path: str, fn: Route) -> None:
        self._exact[path] = fn

    def add_prefix(self, prefix: str, fn: Route) -> None:
        self._prefix.append((prefix, fn))

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, limit=MAX_LINE_BYTES)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for t in list(self._conns):
                t.cancel()
            await asyncio.gather(*self._conns, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    # ------------------------------------------------------------------ one connection

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._conns.add(task)
        try:
            try:
                method, target = await asyncio.wait_for(self._read_request(reader), REQUEST_TIMEOUT_S)
            except (ValueError, asyncio.LimitOverrunError, asyncio.IncompleteReadError):
                self.errors += 1
                await self._send(writer, Response.text("bad request\n", 400), head=False)
                return
            self.requests += 1
            resp = await self._dispatch(method, target)
            await self._send(writer, resp, head=method == "HEAD")
        except (asyncio.TimeoutError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._conns.discard(task)
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), 1.0)
            except (OSError, asyncio.TimeoutError, asyncio.CancelledError):
                pass

    async def _read_request(self, reader: asyncio.StreamReader) -> tuple[str, str]:
        line = await reader.readline()
        parts = line.decode("latin-1").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise ValueError(f"bad request line {line[:80]!r}")
        for _ in range(MAX_HEADERS):  # headers are read and ignored (GET has no body)
            h = await reader.readline()
            if h in (b"\r\n", b"\n"):
                return parts[0].upper(), parts[1]
            if not h:
                raise ValueError("connection closed inside the headers")
        raise ValueError("too many header lines")

    async def _dispatch(self, method: str, target: str) -> Response:
        path = unquote(urlsplit(target).path)
        fn, args = self._exact.get(path), ()
        if fn is None:
            for prefix, pfn in self._prefix:
                if path.startswith(prefix) and len(path) > len(prefix):
                    fn, args = pfn, (path[len(prefix):],)
                    break
        if fn is None:
            return Response.text("not found\n", 404)
        if method not in ("GET", "HEAD"):
            return Response(405, b"method not allowed\n", headers={"Allow": "GET, HEAD"})
        try:
            resp = await fn(*args)
        except Exception:  # noqa: BLE001 - a failing route answers 500; the server stays up
            self.errors += 1
            log.exception("http: %s %s failed", method, path)
            return Response.text("internal error\n", 500)
        return resp if resp is not None else Response.text("not found\n", 404)

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, resp: Response, head: bool) -> None:
        lines = [f"HTTP/1.1 {resp.status} {_REASONS.get(resp.status, 'Status')}",
                 f"Content-Type: {resp.content_type}", f"Content-Length: {len(resp.body)}",
                 "Cache-Control: no-store", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in resp.headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head else resp.body))
        await writer.drain()
