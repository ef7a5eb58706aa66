"""Clients of the alert server: a WebSocket receiver and a signed publisher.

:class:`ReceiverProtocol` is an asyncio protocol (no per-message task or stream object), so
one process can hold thousands of receivers (the fan-out benchmark runs 2,500 per
process). :func:`connect_receiver` opens one and waits for the server's ``hello``.
:class:`Publisher` signs and POSTs messages over a kept-alive HTTP/1.1 connection (the EEW
engine keeps it warm, so a publish costs one round trip, no TCP handshake).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import time
from typing import Callable
from urllib.parse import urlsplit

from tianshan.core.errors import InputError
from tianshan.services.alerts import protocol as wsp
from tianshan.services.alerts.auth import PublisherKey, sign_request


class ReceiverProtocol(asyncio.Protocol):
    """Client side of the WebSocket: handshake, masked sends, unmasked frames in.

    ``on_message(payload: bytes, t_received: float)`` is called for every text message with the
    wall-clock time (``time.time()``) at which its last byte was read. Control replies (pong,
    close) are handled here.
    """

    def __init__(self, host: str, target: str, on_message: Callable[[bytes, float], None] | None = None,
                 max_message_bytes: int = 4 * 1024 * 1024) -> None:
        self.host, self.target = host, target
        self.on_message = on_message
        self.request, self.expect_accept = wsp.client_handshake(host, target)
        self.parser = wsp.FrameParser(expect_masked=False, max_message_bytes=max_message_bytes)
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.opened: asyncio.Future = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future = asyncio.get_running_loop().create_future()
        self.close_code: int | None = None
        self.messages = 0

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"connection closed during handshake ({exc})"))
        if not self.closed.done():
            self.closed.set_result(self.close_code if self.close_code is not None else 1006)

    def data_received(self, data: bytes) -> None:
        t = time.time()
        try:
            if not self.opened.done():
                self.buf += data
                parsed = wsp.split_head(self.buf)
                if parsed is None:
                    return
                head, used = parsed
                data = bytes(self.buf[used:])
                self.buf = bytearray()
                if head.first[1] != "101" or head.header("sec-websocket-accept") != self.expect_accept:
                    raise wsp.ProtocolError(f"handshake refused: {head.first[1]} {head.first[2]}")
                self.opened.set_result(True)
            for opcode, payload in self.parser.feed(data):
                if opcode == wsp.OP_TEXT:
                    self.messages += 1
                    if self.on_message is not None:
                        self.on_message(payload, t)
                elif opcode == wsp.OP_PING:
                    self.transport.write(wsp.encode_frame(wsp.OP_PONG, payload, mask=True))
                elif opcode == wsp.OP_CLOSE:
                    self.close_code = wsp.parse_close(payload)[0]
                    self.transport.write(wsp.close_frame(wsp.CLOSE_NORMAL, mask=True))
                    self.transport.close()
        except wsp.ProtocolError as err:
            if not self.opened.done():
                self.opened.set_exception(ConnectionError(str(err)))
            self.transport.abort()

    def send_json(self, obj) -> None:
        self.send_text(json.dumps(obj, separators=(",", ":")).encode())

    def send_text(self, payload: bytes) -> None:
        self.transport.write(wsp.encode_frame(wsp.OP_TEXT, payload, mask=True))

    def send_raw(self, data: bytes) -> None:
        """Write bytes as they are (tests use it to send broken frames)."""
        self.transport.write(data)

    def close(self, code: int = wsp.CLOSE_NORMAL) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(wsp.close_frame(code, mask=True))
            self.transport.close()


def split_ws_url(url: str) -> tuple[str, int, str]:
    u = urlsplit(url)
    if u.scheme != "ws" or not u.hostname:
        raise InputError(f"not a ws:// URL: {url!r} (wss:// needs a TLS-terminating proxy in front)", field="url")
    target = (u.path or "/") + (f"?{u.query}" if u.query else "")
    return u.hostname, u.port or 80, target


async def connect_receiver(url: str, on_message: Callable[[bytes, float], None] | None = None,
                           timeout_s: float = 10.0, rcvbuf_bytes: int | None = None) -> ReceiverProtocol:
    """Open a WebSocket receiver on ``url`` (``ws://host:port/alerts?bbox=...``); wait for the handshake."""
    host, port, target = split_ws_url(url)
    loop = asyncio.get_running_loop()
    sock = None
    if rcvbuf_bytes:
        import socket

        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf_bytes)
        sock.setblocking(False)
        await asyncio.wait_for(loop.sock_connect(sock, (host, port)), timeout_s)
        _, proto = await loop.create_connection(lambda: ReceiverProtocol(f"{host}:{port}", target, on_message),
                                                sock=sock)
    else:
        _, proto = await asyncio.wait_for(
            loop.create_connection(lambda: ReceiverProtocol(f"{host}:{port}", target, on_message), host, port),
            timeout_s)
    await asyncio.wait_for(proto.opened, timeout_s)
    return proto


class Publisher:
    """Signs and POSTs alert messages to the hub's publish endpoint (blocking; keep-alive)."""

    def __init__(self, url: str, key: PublisherKey, timeout_s: float = 5.0) -> None:
        u = urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise InputError(f"not an http(s):// URL: {url!r}", field="url")
        self.key = key
        self.path = u.path or "/v1/alerts"
        cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
        self._conn = cls(u.hostname, u.port or (443 if u.scheme == "https" else 80), timeout=timeout_s)

    def publish(self, body: bytes) -> tuple[int, dict]:
        """POST one message (JSON bytes); ``(HTTP status, reply JSON)``. Retries once on a stale connection."""
        for attempt in (0, 1):
            headers = {"Content-Type": "application/json", **sign_request(self.key, "POST", self.path, body)}
            try:
                self._conn.request("POST", self.path, body=body, headers=headers)
                resp = self._conn.getresponse()
                data = resp.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._conn.close()
                if attempt:
                    raise
        try:
            reply = json.loads(data) if data else {}
        except ValueError:
            reply = {"error": data[:200].decode("utf-8", "replace")}
        return resp.status, reply

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "Publisher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
