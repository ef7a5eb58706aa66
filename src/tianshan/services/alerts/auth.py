"""Publisher authentication: HMAC-SHA256 signed publish requests with timestamp and nonce.

A publisher holds a key (``key_id`` + shared secret, at least 16 bytes). It signs each
request over the canonical string

    ``TIANSHAN-HMAC-SHA256 \\n method \\n path \\n timestamp \\n nonce \\n hex(SHA-256(body))``

with HMAC-SHA256 (RFC 2104; SHA-256 per FIPS 180-4) and sends the headers
``X-Tianshan-Key``, ``X-Tianshan-Timestamp`` (POSIX seconds), ``X-Tianshan-Nonce``
(16-64 characters of ``[A-Za-z0-9_-]``) and ``X-Tianshan-Signature`` (hex). The server
(:class:`PublishVerifier`) refuses, and says why:

* ``unknown-key`` -- no such key id; ``bad-signature`` -- HMAC mismatch (compared in
  constant time, :func:`hmac.compare_digest`); ``malformed`` -- a header missing or
  unparseable;
* ``stale`` -- timestamp more than ``max_skew_s`` (default 30 s) from the server clock;
* ``replay`` -- the (key, nonce) pair was already used; nonces are remembered for
  ``2 * max_skew_s`` (after which the timestamp check refuses the request anyway), and
  when ``nonce_capacity`` of them are live, further requests are refused (``busy``)
  rather than forgetting nonces early -- fail closed.

The signature is checked before the nonce is recorded, so forged requests cannot fill the
nonce cache. The same signing code signs webhooks (:mod:`.webhook`).

Key files are JSON ``{"key_id": "hex secret", ...}`` (``tianshan alerts keygen`` writes one).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from tianshan.core.errors import InputError

SCHEME = "TIANSHAN-HMAC-SHA256"
H_KEY, H_TIMESTAMP, H_NONCE, H_SIGNATURE = ("X-Tianshan-Key", "X-Tianshan-Timestamp", "X-Tianshan-Nonce",
                                            "X-Tianshan-Signature")
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MIN_SECRET_BYTES = 16


@dataclass(frozen=True, slots=True)
class PublisherKey:
    """A publisher's key id and shared secret."""

    key_id: str
    secret: bytes

    def __post_init__(self) -> None:
        if not _KEY_ID.match(self.key_id or ""):
            raise InputError(f"key id {self.key_id!r}: use 1-64 of A-Z a-z 0-9 _ . -", field="key_id")
        if len(self.secret) < MIN_SECRET_BYTES:
            raise InputError(f"key {self.key_id}: secret shorter than {MIN_SECRET_BYTES} bytes", field="secret")

    def __repr__(self) -> str:  # never print secrets
        return f"PublisherKey(key_id={self.key_id!r}, secret=<{len(self.secret)} bytes>)"


class AuthError(Exception):
    """A refused publish request; ``reason`` is one of the documented reason words."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def generate_key(key_id: str) -> PublisherKey:
    """A new random 32-byte key."""
    return PublisherKey(key_id, secrets.token_bytes(32))


def hmac_hex(secret: bytes, data: bytes) -> str:
    return hmac.new(secret, data, hashlib.sha256).hexdigest()


def canonical_request(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return "\n".join((SCHEME, method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest())).encode()


def sign_request(key: PublisherKey, method: str, path: str, body: bytes, timestamp: float | None = None,
                 nonce: str | None = None) -> dict[str, str]:
    """Headers that authenticate one request (a fresh nonce unless given)."""
    ts = str(int(time.time() if timestamp is None else timestamp))
    nonce = nonce or secrets.token_urlsafe(18)
    sig = hmac_hex(key.secret, canonical_request(method, path, ts, nonce, body))
    return {H_KEY: key.key_id, H_TIMESTAMP: ts, H_NONCE: nonce, H_SIGNATURE: sig}


class PublishVerifier:
    """Checks signed publish requests (see the module docstring); counts refusals by reason."""

    def __init__(self, keys: Iterable[PublisherKey] | Mapping[str, bytes], max_skew_s: float = 30.0,
                 nonce_capacity: int = 100_000, clock=time.time) -> None:
        if isinstance(keys, Mapping):
            keys = [PublisherKey(k, v) for k, v in keys.items()]
        self._keys = {k.key_id: k.secret for k in keys}
        if not self._keys:
            raise InputError("no publisher keys: the server would refuse every publish request", field="keys")
        self.max_skew_s = max_skew_s
        self.nonce_capacity = nonce_capacity
        self.clock = clock
        self._nonces: OrderedDict[tuple[str, str], float] = OrderedDict()
        self.refused: dict[str, int] = {}
        self.accepted = 0

    def _refuse(self, reason: str, detail: str = "") -> AuthError:
        self.refused[reason] = self.refused.get(reason, 0) + 1
        return AuthError(reason, detail)

    def verify(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> str:
        """The key id of a valid request; raises :class:`AuthError` otherwise.

        ``headers`` must be looked up case-insensitively: pass lower-case names (as
        :class:`~tianshan.services.alerts.protocol.HttpHead` stores them) or any mapping that has them.
        """
        get = {k.lower(): v for k, v in headers.items()}.get
        key_id, ts, nonce, sig = (get(h.lower(), "") for h in (H_KEY, H_TIMESTAMP, H_NONCE, H_SIGNATURE))
        if not (key_id and ts and nonce and sig):
            raise self._refuse("malformed", "missing authentication headers")
        if not _NONCE.match(nonce) or not ts.isdigit() or len(ts) > 12 or len(sig) != 64:
            raise self._refuse("malformed", "bad nonce, timestamp or signature format")
        secret = self._keys.get(key_id)
        if secret is None:
            raise self._refuse("unknown-key", f"key {key_id[:64]!r}")
        expected = hmac_hex(secret, canonical_request(method, path, ts, nonce, body))
        if not hmac.compare_digest(expected, sig.lower()):
            raise self._refuse("bad-signature")
        now = self.clock()
        if abs(now - int(ts)) > self.max_skew_s:
            raise self._refuse("stale", f"timestamp {ts} is {now - int(ts):+.0f} s from server time")
        self._expire(now)
        if (key_id, nonce) in self._nonces:
            raise self._refuse("replay", "nonce already used")
        if len(self._nonces) >= self.nonce_capacity:
            raise self._refuse("busy", "too many recent requests")
        self._nonces[(key_id, nonce)] = now + 2 * self.max_skew_s
        self.accepted += 1
        return key_id

    def _expire(self, now: float) -> None:
        while self._nonces:
            k, expires = next(iter(self._nonces.items()))
            if expires > now:
                break
            del self._nonces[k]


# --------------------------------------------------------------------------- key files

def load_keys(path: str | os.PathLike) -> list[PublisherKey]:
    """Keys from a JSON key file ``{"key_id": "hex secret"}`` (:class:`InputError` if unusable)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("key file not found", source=str(path)) from None
    except (ValueError, UnicodeDecodeError) as err:
        raise InputError(f"key file is not JSON ({err})", source=str(path)) from None
    if not isinstance(data, dict) or not data:
        raise InputError('key file must be a JSON object {"key_id": "hex secret"}', source=str(path))
    keys = []
    for key_id, secret in data.items():
        try:
            keys.append(PublisherKey(key_id, bytes.fromhex(secret)))
        except (TypeError, ValueError) as err:
            raise InputError(f"key {key_id!r}: secret must be hex ({err})", source=str(path)) from None
    return keys


def write_keys(path: str | os.PathLike, keys: Iterable[PublisherKey]) -> Path:
    """Write a key file atomically with mode 0600 (secrets are readable by the owner only)."""
    from tianshan.io.atomic import atomic_path

    text = json.dumps({k.key_id: k.secret.hex() for k in keys}, indent=2) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
        os.chmod(tmp, 0o600)
    return Path(path)
