"""Access to restricted data (``queryauth``) and the per-client rate limit of the FDSN services.

**Credentials.** The FDSN specifications name HTTP Digest authentication for
``queryauth`` (fdsnws-dataselect 1.1, "queryauth"); that is what ObsPy's client
sends when given a user and password. Implemented per RFC 7616 with the MD5
algorithm and ``qop=auth`` (what every FDSN client speaks):
``HA1 = MD5(user:realm:password)``, ``HA2 = MD5(method:uri)``,
``response = MD5(HA1:nonce:nc:cnonce:qop:HA2)`` (RFC 7616 section 3.4.1; without
``qop``, RFC 2069 ``MD5(HA1:nonce:HA2)``). Only HA1 is kept (an Apache ``htdigest``
file holds exactly ``user:realm:HA1``). Nonces are stateless: ``<time>.<HMAC-SHA256
(secret, time)>``, valid for ``nonce_ttl_s``; an expired one is answered with
``stale=true`` so the client retries without asking the user. The ``uri`` of the
header must be the request target. Replays within the nonce lifetime are not
tracked (the nonce count is not kept): a deliberate simplification; deploy behind TLS.

A **bearer token** (``Authorization: Bearer <token>``) is the alternative for scripts;
tokens are stored as SHA-256 hex digests (``user:sha256`` lines), compared in constant time.

**Rate limit.** A token bucket per client address (rate ``r`` per second, capacity
``burst``; Tanenbaum & Wetherall, *Computer Networks* 5th ed., section 5.4.2): each
request takes one token; an empty bucket answers 429 with ``Retry-After`` (seconds
until a token is back). At most ``max_clients`` buckets are kept; the fullest
(idle) ones are dropped first when that bound is reached.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from tianshan.core.errors import InputError

DEFAULT_REALM = "FDSN"
_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def ha1(user: str, realm: str, password: str) -> str:
    """``MD5(user:realm:password)``, the stored secret of a Digest user (RFC 7616 section 3.4.2)."""
    return _md5(f"{user}:{realm}:{password}")


def token_digest(token: str) -> str:
    """SHA-256 hex digest under which a bearer token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Credentials:
    """Who may read restricted data: Digest users (HA1 per user) and bearer tokens (digest -> user)."""

    realm: str = DEFAULT_REALM
    ha1_by_user: Mapping[str, str] = field(default_factory=dict)
    user_by_token_digest: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_passwords(cls, users: Mapping[str, str], tokens: Mapping[str, str] | None = None,
                       realm: str = DEFAULT_REALM) -> "Credentials":
        """From plain ``user -> password`` and ``token -> user`` maps (tests, programs)."""
        return cls(realm, {u: ha1(u, realm, p) for u, p in users.items()},
                   {token_digest(t): u for t, u in (tokens or {}).items()})

    @classmethod
    def from_files(cls, htdigest: Path | None = None, tokens: Path | None = None,
                   realm: str = DEFAULT_REALM) -> "Credentials":
        """From an Apache ``htdigest`` file (``user:realm:HA1``; other realms ignored) and a token file
        (``user:sha256-hex`` lines); ``#`` comments and blank lines skipped."""
        users: dict[str, str] = {}
        for number, parts in _lines(htdigest, 3):
            user, file_realm, secret = parts
            if not re.fullmatch(r"[0-9a-fA-F]{32}", secret):
                raise InputError("expected user:realm:md5-hex (htdigest format)", source=str(htdigest), line=number)
            if file_realm == realm:
                users[user] = secret.lower()
        by_token: dict[str, str] = {}
        for number, parts in _lines(tokens, 2):
            user, digest = parts
            if not re.fullmatch(r"[0-9a-fA-F]{64}", digest):
                raise InputError("expected user:sha256-hex", source=str(tokens), line=number)
            by_token[digest.lower()] = user
        return cls(realm, users, by_token)

    @property
    def empty(self) -> bool:
        return not self.ha1_by_user and not self.user_by_token_digest


def _lines(path: Path | None, n: int):
    if path is None:
        return
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", source=str(path))
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) != n or not all(parts):
            raise InputError(f"expected {n} ':'-separated fields", source=str(path), line=number)
        yield number, parts


@dataclass(frozen=True)
class AuthResult:
    user: str | None
    stale: bool = False


class Authenticator:
    """Checks ``Authorization`` headers against :class:`Credentials` and issues Digest challenges."""

    def __init__(self, credentials: Credentials, nonce_ttl_s: float = 300.0, secret: bytes | None = None) -> None:
        self.credentials = credentials
        self.nonce_ttl_s = float(nonce_ttl_s)
        self._secret = secret or os.urandom(32)

    def _sign(self, stamp: str) -> str:
        return hmac.new(self._secret, stamp.encode("ascii"), hashlib.sha256).hexdigest()[:32]

    def new_nonce(self, now: float | None = None) -> str:
        stamp = f"{(time.time() if now is None else now):.6f}"
        return f"{stamp}.{self._sign(stamp)}"

    def challenge(self, stale: bool = False) -> str:
        """The ``WWW-Authenticate`` value of a 401 answer."""
        realm = self.credentials.realm.replace('"', "")
        value = (f'Digest realm="{realm}", qop="auth", algorithm=MD5, nonce="{self.new_nonce()}", '
                 f'opaque="{self._sign("opaque")}"')
        return value + (", stale=true" if stale else "")

    def _nonce_state(self, nonce: str, now: float) -> str:
        stamp, _, sig = nonce.rpartition(".")
        if not stamp or not hmac.compare_digest(sig, self._sign(stamp)):
            return "invalid"
        try:
            issued = float(stamp)
        except ValueError:
            return "invalid"
        return "ok" if 0.0 <= now - issued <= self.nonce_ttl_s else "stale"

    def check(self, header: str | None, method: str, target: str, now: float | None = None) -> AuthResult:
        """The user an ``Authorization`` header proves, or ``AuthResult(None)`` (``stale`` for an old nonce).

        ``target`` is the request target (path and query) the Digest ``uri`` must name.
        """
        if not header:
            return AuthResult(None)
        scheme, _, rest = header.strip().partition(" ")
        if scheme.lower() == "bearer":
            user = self.credentials.user_by_token_digest.get(token_digest(rest.strip()))
            return AuthResult(user)
        if scheme.lower() != "digest":
            return AuthResult(None)
        fields = {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
                  for m in _PARAM.finditer(rest)}
        user = fields.get("username")
        secret = self.credentials.ha1_by_user.get(user or "")
        nonce, uri, response = fields.get("nonce"), fields.get("uri"), fields.get("response")
        if secret is None or not nonce or uri is None or not response:
            return AuthResult(None)
        if fields.get("realm") != self.credentials.realm or not _same_target(uri, target):
            return AuthResult(None)
        if fields.get("algorithm", "MD5").upper() != "MD5":
            return AuthResult(None)
        ha2 = _md5(f"{method}:{uri}")
        qop = fields.get("qop")
        if qop:
            if qop != "auth" or not fields.get("nc") or not fields.get("cnonce"):
                return AuthResult(None)
            expected = _md5(f"{secret}:{nonce}:{fields['nc']}:{fields['cnonce']}:{qop}:{ha2}")
        else:
            expected = _md5(f"{secret}:{nonce}:{ha2}")
        if not hmac.compare_digest(expected, response.lower()):
            return AuthResult(None)
        state = self._nonce_state(nonce, time.time() if now is None else now)
        if state != "ok":
            return AuthResult(None, stale=state == "stale")
        return AuthResult(user)


def _same_target(uri: str, target: str) -> bool:
    from urllib.parse import unquote

    if uri == target:
        return True
    if "://" in uri:  # absolute-form request target (RFC 9112 section 3.2.2)
        uri = "/" + uri.split("://", 1)[1].partition("/")[2]
    return unquote(uri) == unquote(target)


class RateLimiter:
    """Token bucket per client key (see the module doc); thread-safe."""

    def __init__(self, rate_per_s: float, burst: int, max_clients: int = 10_000) -> None:
        if not rate_per_s > 0 or burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        self.rate = float(rate_per_s)
        self.burst = float(burst)
        self.max_clients = int(max_clients)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, time of last update)
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """Take one token for ``key``: 0.0 when allowed, else the seconds to wait (for ``Retry-After``)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._store(key, tokens - 1.0, now)
                return 0.0
            self._store(key, tokens, now)
            return (1.0 - tokens) / self.rate

    def _store(self, key: str, tokens: float, now: float) -> None:
        if key not in self._buckets and len(self._buckets) >= self.max_clients:
            fullest = sorted(self._buckets, key=lambda k: -(self._buckets[k][0] + (now - self._buckets[k][1])
                                                            * self.rate))
            for k in fullest[: max(1, self.max_clients // 10)]:
                del self._buckets[k]
        self._buckets[key] = (tokens, now)


def retry_after_header(wait_s: float) -> str:
    """``Retry-After`` value (whole seconds, at least 1; RFC 9110 section 10.2.3)."""
    return str(max(1, math.ceil(wait_s)))
