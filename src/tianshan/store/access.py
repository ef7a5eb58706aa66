"""Access control and review records of the REST API, kept in the event store.

* **Tokens** (``api_tokens``): bearer tokens with a user name and a role. Only the
  SHA-256 digest of a token is stored (as the FDSN token file does); the token
  itself is shown once, when it is created. A token is valid until revoked or
  past its ``expires_at``.
* **Restrictions** (``api_restrictions``): events (by id) and stations
  (``NET.STA``) hidden from the public role.
* **Reviews** (``event_reviews``, insert-only): what an analyst did to an event,
  who and when; the event's own history (new origin versions, type) is changed
  through :class:`~tianshan.store.EventStore` by the caller.
* **Audit** (``api_audit``, insert-only): every write request to the API, accepted
  or refused, with user, role, method, path, status and client address.

>>> access = AccessStore(store)                                  # doctest: +SKIP
>>> token, info = access.create_token("li.wei", "analyst", created_by="admin")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping

from sqlalchemy import delete, func, select

from tianshan.core.errors import InputError
from tianshan.core.timeutil import as_utc, optional_utc, utc_now
from tianshan.store.schema import ApiTokenRow, AuditRow, RestrictionRow, ReviewRow

#: Roles in increasing order of rights: each role may do what the ones before it may.
ROLES: tuple[str, ...] = ("public", "analyst", "operator", "admin")
#: Roles a token may carry (``public`` is the absence of a token).
TOKEN_ROLES: tuple[str, ...] = ROLES[1:]
#: What may be restricted.
RESTRICTION_KINDS: tuple[str, ...] = ("event", "station")
#: Review actions.
REVIEW_ACTIONS: tuple[str, ...] = ("accept", "relocate", "set_type", "publish")
#: Longest user name, comment and path kept (characters).
MAX_USER = 100
MAX_TEXT = 4000


def role_rank(role: str) -> int:
    """Position of ``role`` in :data:`ROLES` (:class:`InputError` for an unknown role)."""
    try:
        return ROLES.index(role)
    except ValueError:
        raise InputError(f"unknown role {role!r} (expected one of {', '.join(ROLES)})", field="role") from None


def token_digest(token: str) -> str:
    """SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _user(user: str, name: str = "user") -> str:
    if not isinstance(user, str) or not user.strip() or len(user) > MAX_USER or any(c < " " for c in user):
        raise InputError(f"expected a non-empty name of at most {MAX_USER} printable characters, got {user!r}",
                         field=name)
    return user.strip()


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A stored token, without its secret."""

    id: str
    user: str
    role: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def valid(self, now: datetime | None = None) -> bool:
        now = now or utc_now()
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    def as_dict(self) -> dict:
        iso = (lambda t: None if t is None else t.isoformat().replace("+00:00", "Z"))
        return {"id": self.id, "user": self.user, "role": self.role, "created_at": iso(self.created_at),
                "created_by": self.created_by, "expires_at": iso(self.expires_at), "revoked_at": iso(self.revoked_at)}


@dataclass(frozen=True, slots=True)
class Review:
    event_id: str
    action: str
    user: str
    time: datetime
    comment: str = ""
    origin_id: str | None = None
    details: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    time: datetime
    user: str
    role: str
    method: str
    path: str
    status: int
    address: str
    details: Mapping[str, object] = field(default_factory=dict)
    id: int | None = None


def _token_info(r: ApiTokenRow) -> TokenInfo:
    return TokenInfo(r.id, r.user, r.role, r.created_at, r.created_by, r.expires_at, r.revoked_at)


class AccessStore:
    """Tokens, restrictions, reviews and audit entries of an open :class:`~tianshan.store.EventStore`.

    Each call is one transaction of the event store (same retry rules).
    """

    def __init__(self, store) -> None:
        self.store = store

    def _read(self):
        return self.store._read_sessions()

    # --- tokens -----------------------------------------------------------------------------------

    def create_token(self, user: str, role: str, created_by: str = "cli",
                     expires_at: datetime | str | None = None) -> tuple[str, TokenInfo]:
        """A new token for ``user`` with ``role`` (one of :data:`TOKEN_ROLES`): ``(token, info)``.

        The token (``ts_`` + 43 URL-safe characters, 256 random bits from :mod:`secrets`)
        is returned once and never stored.
        """
        user = _user(user)
        created_by = _user(created_by, "created_by")
        if role not in TOKEN_ROLES:
            raise InputError(f"a token role must be one of {', '.join(TOKEN_ROLES)}, got {role!r}", field="role")
        expires = optional_utc(expires_at, "expires_at")
        token = "ts_" + secrets.token_urlsafe(32)
        info = TokenInfo("tok-" + secrets.token_hex(8), user, role, utc_now(), created_by, expires)

        def work(s) -> None:
            s.add(ApiTokenRow(id=info.id, digest=token_digest(token), user=info.user, role=info.role,
                              created_at=info.created_at, created_by=info.created_by, expires_at=info.expires_at,
                              revoked_at=None))

        self.store._write(work)
        return token, info

    def lookup_token(self, token: str, now: datetime | None = None) -> TokenInfo | None:
        """The valid (not revoked, not expired) token with this secret, else ``None``."""
        if not token or len(token) > 512:
            return None
        with self._read() as s, s.begin():
            row = s.scalars(select(ApiTokenRow).where(ApiTokenRow.digest == token_digest(token))).one_or_none()
            info = None if row is None else _token_info(row)
        return info if info is not None and info.valid(now) else None

    def tokens(self) -> list[TokenInfo]:
        with self._read() as s, s.begin():
            return [_token_info(r) for r in s.scalars(select(ApiTokenRow).order_by(ApiTokenRow.created_at,
                                                                                  ApiTokenRow.id))]

    def revoke_token(self, token_id: str) -> TokenInfo:
        """Revoke a token by its id (idempotent); :class:`KeyError` when there is none."""

        def work(s) -> TokenInfo:
            row = s.get(ApiTokenRow, token_id)
            if row is None:
                raise KeyError(token_id)
            if row.revoked_at is None:
                row.revoked_at = utc_now()
            s.flush()
            return _token_info(row)

        return self.store._write(work)

    def count_tokens(self) -> int:
        with self._read() as s, s.begin():
            return s.scalar(select(func.count()).select_from(ApiTokenRow)) or 0

    # --- restrictions -----------------------------------------------------------------------------

    def restrict(self, kind: str, key: str, reason: str = "", created_by: str = "cli") -> None:
        """Hide an event (``kind="event"``) or a station (``"station"``, ``NET.STA``) from the public role."""
        if kind not in RESTRICTION_KINDS:
            raise InputError(f"expected one of {', '.join(RESTRICTION_KINDS)}, got {kind!r}", field="kind")
        if not isinstance(key, str) or not key or len(key) > 200:
            raise InputError(f"expected an id of 1-200 characters, got {key!r}", field="key")
        created_by = _user(created_by, "created_by")

        def work(s) -> None:
            row = s.get(RestrictionRow, (kind, key))
            if row is None:
                s.add(RestrictionRow(kind=kind, key=key, reason=str(reason)[:MAX_TEXT], created_at=utc_now(),
                                     created_by=created_by))
            else:
                row.reason = str(reason)[:MAX_TEXT]

        self.store._write(work)

    def unrestrict(self, kind: str, key: str) -> bool:
        """Lift a restriction; ``False`` if there was none."""
        return bool(self.store._write(lambda s: s.execute(delete(RestrictionRow).where(
            RestrictionRow.kind == kind, RestrictionRow.key == key)).rowcount))

    def restricted(self, kind: str) -> set[str]:
        """Keys restricted of ``kind``."""
        with self._read() as s, s.begin():
            return set(s.scalars(select(RestrictionRow.key).where(RestrictionRow.kind == kind)))

    # --- reviews ----------------------------------------------------------------------------------

    def add_review(self, review: Review) -> Review:
        if review.action not in REVIEW_ACTIONS:
            raise InputError(f"unknown review action {review.action!r} (expected one of "
                             f"{', '.join(REVIEW_ACTIONS)})", field="action")
        row = ReviewRow(event_id=review.event_id, action=review.action, user=_user(review.user),
                        time=as_utc(review.time, "review time"), comment=str(review.comment)[:MAX_TEXT],
                        origin_id=review.origin_id, details=dict(review.details))
        self.store._write(lambda s: s.add(row))
        return review

    def reviews(self, event_id: str) -> list[Review]:
        """The reviews of an event, oldest first."""
        q = select(ReviewRow).where(ReviewRow.event_id == event_id).order_by(ReviewRow.time, ReviewRow.pk)
        with self._read() as s, s.begin():
            return [Review(r.event_id, r.action, r.user, r.time, r.comment, r.origin_id, dict(r.details))
                    for r in s.scalars(q)]

    # --- audit ------------------------------------------------------------------------------------

    def record_audit(self, entry: AuditEntry) -> None:
        row = AuditRow(time=as_utc(entry.time, "audit time"), user=str(entry.user)[:MAX_USER],
                       role=entry.role, method=entry.method[:16], path=entry.path[:MAX_TEXT],
                       status=int(entry.status), address=str(entry.address)[:200], details=dict(entry.details))
        self.store._write(lambda s: s.add(row))

    def audit(self, limit: int = 100, offset: int = 0, user: str | None = None) -> tuple[int, list[AuditEntry]]:
        """``(total, entries)``: audit entries, newest first, optionally of one user."""
        q = select(AuditRow)
        n = select(func.count()).select_from(AuditRow)
        if user is not None:
            q, n = q.where(AuditRow.user == user), n.where(AuditRow.user == user)
        q = q.order_by(AuditRow.time.desc(), AuditRow.pk.desc()).limit(int(limit)).offset(int(offset))
        with self._read() as s, s.begin():
            total = s.scalar(n) or 0
            return total, [AuditEntry(r.time, r.user, r.role, r.method, r.path, r.status, r.address,
                                      dict(r.details), r.pk) for r in s.scalars(q)]

