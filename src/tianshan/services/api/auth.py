"""Who is asking: bearer tokens to principals, role checks, the per-client rate limit, JSON errors.

* ``Authorization: Bearer <token>`` (or, for the WebSocket, where browsers cannot set
  headers, ``?token=<token>``) names a token stored hashed in the event store
  (:class:`~tianshan.store.access.AccessStore`); no token is the ``public`` role. A token
  that is unknown, revoked or expired is refused (401), not silently downgraded.
* Roles are ordered ``public < analyst < operator < admin``
  (:data:`~tianshan.store.access.ROLES`); :func:`require` makes a route need at least one.
* Rate limit: one token bucket (:class:`tianshan.services.fdsn.auth.RateLimiter`,
  Tanenbaum & Wetherall, *Computer Networks* 5th ed., section 5.4.2) per token, or per
  client address for public requests; an empty bucket answers 429 with ``Retry-After``.
* Errors are ``{"error": {"code": ..., "message": ...}}`` (:class:`ApiError`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from fastapi import Request

from tianshan.store.access import AccessStore, role_rank

#: Seconds a token lookup is cached (a revoked token stops working at most this long after).
TOKEN_CACHE_S = 5.0


class ApiError(Exception):
    """An answer other than 2xx: HTTP ``status``, a machine ``code`` and a human ``message``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: user name, role and the id of the token used (``None`` for public)."""

    user: str
    role: str
    token_id: str | None = None

    def at_least(self, role: str) -> bool:
        return role_rank(self.role) >= role_rank(role)


PUBLIC = Principal("anonymous", "public")


class Authenticator:
    """Turns a token into a :class:`Principal` through the store, caching lookups for :data:`TOKEN_CACHE_S`."""

    def __init__(self, access: AccessStore, cache_s: float = TOKEN_CACHE_S) -> None:
        self.access = access
        self.cache_s = cache_s
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def principal(self, token: str | None) -> Principal:
        """The principal of ``token`` (:data:`PUBLIC` for none); :class:`ApiError` 401 for a bad token."""
        if token is None or token == "":
            return PUBLIC
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(token)
        if hit is not None and now - hit[0] < self.cache_s:
            found = hit[1]
        else:
            info = self.access.lookup_token(token)
            found = None if info is None else Principal(info.user, info.role, info.id)
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[token] = (now, found)
        if found is None:
            raise ApiError(401, "invalid_token", "the token is unknown, revoked or expired",
                           {"WWW-Authenticate": 'Bearer realm="tianshan", error="invalid_token"'})
        return found

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header; :class:`ApiError` 401 for another scheme."""
    if not authorization:
        return None
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not rest.strip():
        raise ApiError(401, "invalid_token", "expected 'Authorization: Bearer <token>'",
                       {"WWW-Authenticate": 'Bearer realm="tianshan"'})
    return rest.strip()


def client_address(request) -> str:
    return request.client.host if request.client else "unknown"


def current(request: Request) -> Principal:
    """The principal the middleware attached to the request (FastAPI dependency)."""
    return getattr(request.state, "principal", PUBLIC)


def require(role: str):
    """A FastAPI dependency refusing callers below ``role`` (401 without a token, 403 with one)."""
    role_rank(role)

    def check(request: Request) -> Principal:
        who = current(request)
        if who.at_least(role):
            return who
        if who.role == "public":
            raise ApiError(401, "authentication_required", f"this needs a token with role {role} or higher",
                           {"WWW-Authenticate": 'Bearer realm="tianshan"'})
        raise ApiError(403, "forbidden", f"role {who.role} may not do this; it needs {role} or higher")

    return check
