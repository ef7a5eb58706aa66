"""The wire protocols the alert services speak: WebSocket (RFC 6455) and a little HTTP/1.1.

Written here rather than taken from a library so that the fan-out server can encode a
frame **once** and hand the same ``bytes`` object to every client's transport (libraries
frame per connection), and so that parsing is incremental, bounded and never raises on
hostile input except :class:`ProtocolError`.

RFC 6455 rules implemented (section numbers of the RFC):

* opening handshake (4.2): ``GET`` with ``Upgrade: websocket``, ``Connection: Upgrade``,
  ``Sec-WebSocket-Version: 13`` and a 16-byte base64 ``Sec-WebSocket-Key``; the answer's
  ``Sec-WebSocket-Accept`` is base64(SHA-1(key + the RFC's GUID)) (4.2.2 item 5.4);
* framing (5.2): FIN, RSV1-3 (must be 0: no extensions negotiated), opcode, MASK, 7/16/64-bit
  length; frames from a client MUST be masked, from a server MUST NOT be (5.1); masking is
  XOR with the 4-byte key repeated (5.3);
* control frames (5.5) are at most 125 bytes and never fragmented; data messages may be
  fragmented (5.4) and are reassembled up to ``max_message_bytes``; text must be UTF-8 (8.1);
* close codes (7.4.1): 1000 normal, 1001 going away, 1002 protocol error, 1007 bad data,
  1008 policy violation, 1009 too big.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from dataclasses import dataclass

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
CLOSE_NORMAL, CLOSE_GOING_AWAY, CLOSE_PROTOCOL, CLOSE_BAD_DATA, CLOSE_POLICY, CLOSE_TOO_BIG = (
    1000, 1001, 1002, 1007, 1008, 1009)

#: Largest HTTP request/response head accepted (bytes).
MAX_HEAD_BYTES = 8192


class ProtocolError(Exception):
    """The peer broke the protocol; ``code`` is the WebSocket close code to answer with."""

    def __init__(self, message: str, code: int = CLOSE_PROTOCOL) -> None:
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------- HTTP

@dataclass(frozen=True, slots=True)
class HttpHead:
    """A parsed request or response head: the start line's three parts and the headers."""

    first: tuple[str, str, str]
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


def split_head(buf: bytearray | bytes, limit: int = MAX_HEAD_BYTES) -> tuple[HttpHead, int] | None:
    """Parse an HTTP head at the start of ``buf``: ``(head, bytes used)``, or None if incomplete.

    Raises :class:`ProtocolError` when the head is too long or malformed.
    """
    end = bytes(buf[: limit + 4]).find(b"\r\n\r\n")
    if end < 0:
        if len(buf) > limit:
            raise ProtocolError("HTTP head too long", CLOSE_TOO_BIG)
        return None
    try:
        text = bytes(buf[:end]).decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes anything
        raise ProtocolError("HTTP head not text") from None
    lines = text.split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) != 3 or not all(parts):
        raise ProtocolError(f"bad HTTP start line {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip() or len(headers) > 100:
            raise ProtocolError(f"bad HTTP header line {line[:80]!r}")
        key = name.lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return HttpHead((parts[0], parts[1], parts[2]), headers), end + 4


def http_response(status: int, reason: str, body: bytes = b"", content_type: str = "application/json",
                  extra: dict[str, str] | None = None, keep_alive: bool = True) -> bytes:
    head = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {content_type}", f"Content-Length: {len(body)}",
            f"Connection: {'keep-alive' if keep_alive else 'close'}"]
    for k, v in (extra or {}).items():
        head.append(f"{k}: {v}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


# --------------------------------------------------------------------------- handshake

def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a client's ``Sec-WebSocket-Key`` (RFC 6455 section 4.2.2)."""
    return base64.b64encode(hashlib.sha1(key.encode("latin-1") + WS_GUID).digest()).decode("ascii")


def check_upgrade(head: HttpHead) -> str:
    """Validate a client's opening handshake; return its key (ProtocolError if not a WebSocket upgrade)."""
    method, _target, version = head.first
    if method != "GET" or not version.startswith("HTTP/1."):
        raise ProtocolError("WebSocket handshake must be GET over HTTP/1.1")
    if "websocket" not in head.header("upgrade").lower():
        raise ProtocolError("missing 'Upgrade: websocket'")
    if "upgrade" not in [t.strip() for t in head.header("connection").lower().split(",")]:
        raise ProtocolError("missing 'Connection: Upgrade'")
    if head.header("sec-websocket-version") != "13":
        raise ProtocolError("Sec-WebSocket-Version must be 13")
    key = head.header("sec-websocket-key")
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            raise ValueError
    except ValueError:
        raise ProtocolError("bad Sec-WebSocket-Key") from None
    return key


def upgrade_response(key: str) -> bytes:
    return ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n").encode("latin-1")


def client_handshake(host: str, target: str) -> tuple[bytes, str]:
    """The client's opening request and the ``Sec-WebSocket-Accept`` value to expect."""
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    req = (f"GET {target} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode("latin-1")
    return req, accept_key(key)


# --------------------------------------------------------------------------- frames

def _mask(payload: bytes, key: bytes) -> bytes:
    """XOR ``payload`` with the repeated 4-byte ``key`` (RFC 6455 section 5.3), via big integers."""
    n = len(payload)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def encode_frame(opcode: int, payload: bytes, mask: bool = False) -> bytes:
    """One final (FIN) frame. Servers send unmasked frames; clients must mask (``mask=True``)."""
    n = len(payload)
    b0 = 0x80 | opcode
    m = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, m | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", b0, m | 126, n)
    else:
        head = struct.pack("!BBQ", b0, m | 127, n)
    if mask:
        key = os.urandom(4)
        return head + key + _mask(payload, key)
    return head + payload


def close_frame(code: int, reason: str = "", mask: bool = False) -> bytes:
    return encode_frame(OP_CLOSE, struct.pack("!H", code) + reason.encode()[:120], mask=mask)


class FrameParser:
    """Incremental frame decoder yielding whole messages ``(opcode, payload)``.

    ``expect_masked``: True on a server (client frames must be masked), False on a client.
    Continuation frames are reassembled; control frames are returned as they come.
    """

    def __init__(self, expect_masked: bool, max_message_bytes: int = 65536) -> None:
        self.expect_masked = expect_masked
        self.max_message_bytes = max_message_bytes
        self._buf = bytearray()
        self._frag_op: int | None = None
        self._frag = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buf += data
        out: list[tuple[int, bytes]] = []
        while True:
            msg = self._one()
            if msg is None:
                return out
            if msg[0] >= 0:
                out.append(msg)

    def _one(self) -> tuple[int, bytes] | None:
        buf = self._buf
        if len(buf) < 2:
            return None
        b0, b1 = buf[0], buf[1]
        fin, rsv, opcode = b0 & 0x80, b0 & 0x70, b0 & 0x0F
        masked, n = b1 & 0x80, b1 & 0x7F
        if rsv:
            raise ProtocolError("reserved bits set (no extension negotiated)")
        if bool(masked) != self.expect_masked:
            raise ProtocolError("client frames must be masked" if self.expect_masked else "server frame masked")
        pos = 2
        if n == 126:
            if len(buf) < 4:
                return None
            n = struct.unpack_from("!H", buf, 2)[0]
            pos = 4
        elif n == 127:
            if len(buf) < 10:
                return None
            n = struct.unpack_from("!Q", buf, 2)[0]
            pos = 10
        control = opcode >= 0x8
        if control and (n > 125 or not fin):
            raise ProtocolError("control frame too long or fragmented")
        if opcode not in (OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG):
            raise ProtocolError(f"unknown opcode {opcode:#x}")
        if n + len(self._frag) > self.max_message_bytes:
            raise ProtocolError(f"message longer than {self.max_message_bytes} bytes", CLOSE_TOO_BIG)
        need = pos + (4 if masked else 0) + n
        if len(buf) < need:
            return None
        if masked:
            key = bytes(buf[pos:pos + 4])
            payload = _mask(bytes(buf[pos + 4:need]), key)
        else:
            payload = bytes(buf[pos:need])
        del buf[:need]
        if control:
            return opcode, payload
        if opcode == OP_CONT:
            if self._frag_op is None:
                raise ProtocolError("continuation frame without a message")
        elif self._frag_op is not None:
            raise ProtocolError("new message before the previous one ended")
        else:
            self._frag_op = opcode
        self._frag += payload
        if not fin:
            return -1, b""
        op, data = self._frag_op, bytes(self._frag)
        self._frag_op, self._frag = None, bytearray()
        if op == OP_TEXT:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                raise ProtocolError("text message is not UTF-8", CLOSE_BAD_DATA) from None
        return op, data


def parse_close(payload: bytes) -> tuple[int, str]:
    """``(code, reason)`` of a close frame's payload (1005 'no status' when empty)."""
    if len(payload) < 2:
        return 1005, ""
    return struct.unpack("!H", payload[:2])[0], payload[2:].decode("utf-8", "replace")
