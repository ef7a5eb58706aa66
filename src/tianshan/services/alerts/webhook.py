"""Signed webhooks: POST each alert message to subscribers' HTTPS endpoints, retrying with back-off.

Signature (header ``X-Tianshan-Webhook-Signature: t=<POSIX seconds>,v1=<hex>``): HMAC-SHA256
(RFC 2104) with the endpoint's secret over ``"<t>." + body``. The receiver recomputes it
(:func:`verify_webhook`), compares in constant time and refuses timestamps older than its
tolerance (default 300 s), which defeats replays of captured requests. The message
identifier is sent as ``X-Tianshan-Webhook-Id`` so receivers can discard the duplicates that
retries may cause.

Retries: connection errors, timeouts, HTTP 408, 429 and 5xx are retried up to
``max_attempts`` in all; other 4xx are final (the receiver refuses the request as such).
The wait before attempt k+1 is "equal jitter" exponential back-off (Brooker 2015, AWS
Architecture Blog, "Exponential Backoff and Jitter"): d = min(max, base * 2^(k-1)),
wait uniformly in [d/2, d]; a ``Retry-After`` in seconds raises the wait (capped at max).
Endpoints are served concurrently (at most ``concurrency`` at once); each attempt is a
blocking ``urllib`` request in a worker thread (HTTPS handled by the standard library).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import random
import re
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field

from tianshan.core.errors import InputError
from tianshan.services.alerts.auth import MIN_SECRET_BYTES, AuthError, hmac_hex

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Tianshan-Webhook-Signature"
ID_HEADER = "X-Tianshan-Webhook-Id"
_SIG = re.compile(r"^t=(\d{1,12}),v1=([0-9a-fA-F]{64})$")


def sign_webhook(secret: bytes, body: bytes, timestamp: float | None = None) -> str:
    """Header value ``t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>." + body)>``."""
    ts = str(int(time.time() if timestamp is None else timestamp))
    return f"t={ts},v1={hmac_hex(secret, ts.encode() + b'.' + body)}"


def verify_webhook(secret: bytes, header: str, body: bytes, tolerance_s: float = 300.0,
                   now: float | None = None) -> None:
    """Raise :class:`~tianshan.services.alerts.auth.AuthError` unless ``header`` signs ``body``."""
    m = _SIG.match((header or "").strip())
    if not m:
        raise AuthError("malformed", "bad signature header")
    ts, sig = m.group(1), m.group(2).lower()
    if not hmac.compare_digest(hmac_hex(secret, ts.encode() + b"." + body), sig):
        raise AuthError("bad-signature")
    now = time.time() if now is None else now
    if abs(now - int(ts)) > tolerance_s:
        raise AuthError("stale", f"signed {now - int(ts):+.0f} s ago")


@dataclass(frozen=True)
class WebhookEndpoint:
    url: str
    secret: bytes

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise InputError(f"webhook URL must be http(s)://, got {self.url!r}", field="webhook")
        if len(self.secret) < MIN_SECRET_BYTES:
            raise InputError(f"webhook secret shorter than {MIN_SECRET_BYTES} bytes", field="webhook")

    def __repr__(self) -> str:
        return f"WebhookEndpoint(url={self.url!r}, secret=<{len(self.secret)} bytes>)"


@dataclass
class DeliveryResult:
    url: str
    ok: bool
    attempts: int
    status: int | None = None
    error: str = ""


@dataclass
class WebhookStats:
    messages: int = 0
    delivered: int = 0
    failed: int = 0
    attempts: int = 0
    retries: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def _retryable(status: int | None) -> bool:
    return status is None or status in (408, 429) or status >= 500


@dataclass
class WebhookSender:
    """Delivers message bodies to every endpoint (see the module docstring)."""

    endpoints: list[WebhookEndpoint]
    max_attempts: int = 5
    backoff_base_s: float = 0.5
    backoff_max_s: float = 8.0
    timeout_s: float = 5.0
    concurrency: int = 16
    stats: WebhookStats = field(default_factory=WebhookStats)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise InputError("webhook max_attempts must be >= 1", field="max_attempts")
        self._sem: asyncio.Semaphore | None = None
        self._tasks: set[asyncio.Task] = set()

    def _post(self, ep: WebhookEndpoint, body: bytes, message_id: str) -> tuple[int | None, str, float | None]:
        req = urllib.request.Request(ep.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": "tianshan-alerts",
            SIGNATURE_HEADER: sign_webhook(ep.secret, body), ID_HEADER: message_id})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                resp.read(65536)
                return resp.status, "", None
        except urllib.error.HTTPError as err:
            retry_after = err.headers.get("Retry-After") if err.headers else None
            ra = float(retry_after) if retry_after and retry_after.strip().isdigit() else None
            return err.code, f"HTTP {err.code}", ra
        except (urllib.error.URLError, OSError, ValueError) as err:
            return None, str(getattr(err, "reason", err))[:200], None

    def backoff_s(self, attempt: int, retry_after_s: float | None = None) -> float:
        d = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))
        wait = random.uniform(d / 2, d)
        if retry_after_s is not None:
            wait = max(wait, min(self.backoff_max_s, retry_after_s))
        return wait

    async def _one(self, ep: WebhookEndpoint, body: bytes, message_id: str) -> DeliveryResult:
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.concurrency)
        status, error = None, ""
        async with self._sem:
            for attempt in range(1, self.max_attempts + 1):
                self.stats.attempts += 1
                status, error, retry_after = await asyncio.to_thread(self._post, ep, body, message_id)
                if status is not None and 200 <= status < 300:
                    self.stats.delivered += 1
                    return DeliveryResult(ep.url, True, attempt, status)
                if not _retryable(status) or attempt == self.max_attempts:
                    break
                self.stats.retries += 1
                await asyncio.sleep(self.backoff_s(attempt, retry_after))
        self.stats.failed += 1
        log.warning("webhook %s failed after %d attempts: %s", ep.url, attempt, error or status)
        return DeliveryResult(ep.url, False, attempt, status, error or f"HTTP {status}")

    async def send(self, body: bytes, message_id: str = "") -> list[DeliveryResult]:
        """Deliver ``body`` to every endpoint; results in endpoint order."""
        self.stats.messages += 1
        return list(await asyncio.gather(*(self._one(ep, body, message_id) for ep in self.endpoints)))

    def deliver(self, message, payload: bytes) -> None:
        """:class:`~tianshan.services.alerts.server.AlertSink` hook: schedule :meth:`send` on the running loop."""
        task = asyncio.get_running_loop().create_task(self.send(payload, message.identifier))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for deliveries scheduled by :meth:`deliver`."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
