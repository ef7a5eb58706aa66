"""Small pieces the daemon wires between its roles: the tracking bus and the activity clock.

:class:`TrackingBus` wraps the real bus (in-process or NATS) that every stage of the process
gets: it forwards every call unchanged and remembers the subscriptions made through it, so
the daemon can report bus lag per subscription (``/metrics``), wait until the stages have
handled everything queued (graceful shutdown, ``--until-idle``) and note when messages were
last handled -- without the stages exposing their subscriptions.

:class:`Activity` records when data last arrived (wall and monotonic clocks).
"""

from __future__ import annotations

import asyncio
import logging
import time

from tianshan.bus.base import Bus, Handler, Subscription

log = logging.getLogger(__name__)


class TrackingBus(Bus):
    """A :class:`~tianshan.bus.base.Bus` forwarding to ``inner``, remembering its subscriptions."""

    def __init__(self, inner: Bus) -> None:
        super().__init__()
        self.inner = inner
        self.counters = inner.counters
        self.subscriptions: list[Subscription] = []
        self.last_handled_mono: float | None = None
        self._busy = 0

    @property
    def kind(self) -> str:
        return "memory" if type(self.inner).__name__ == "InProcessBus" else "nats"

    @property
    def connected(self) -> bool:
        """In-process: not closed. NATS: the client is connected (reconnecting counts as not)."""
        if getattr(self.inner, "closed", False):
            return False
        if self.kind == "memory":
            return True
        nc = getattr(self.inner, "_nc", None)
        return bool(nc is not None and getattr(nc, "is_connected", False))

    async def publish(self, subject: str, payload, *, key: str | None = None) -> None:
        await self.inner.publish(subject, payload, key=key)

    async def subscribe(self, subject: str, handler: Handler, *, durable: str | None = None,
                        queue: str | None = None) -> Subscription:
        async def tracked(msg) -> None:
            self._busy += 1
            try:
                await handler(msg)
            finally:
                self._busy -= 1
                self.last_handled_mono = time.monotonic()

        sub = _TrackedSubscription(self, await self.inner.subscribe(subject, tracked, durable=durable, queue=queue))
        self.subscriptions.append(sub)
        return sub

    async def close(self) -> None:
        await self.inner.close()

    async def lags(self) -> dict[tuple[str, str], int]:
        """``(subject, durable or "")`` -> messages waiting, for every subscription still answering."""
        out: dict[tuple[str, str], int] = {}
        for sub in list(self.subscriptions):
            try:
                n = await asyncio.wait_for(sub.lag(), 2.0)
            except Exception:  # noqa: BLE001 - unsubscribed, server down: no figure
                continue
            key = (sub.subject, sub.durable or sub.queue or "")
            out[key] = out.get(key, 0) + int(n)
        return out

    async def quiesce(self, timeout_s: float = 30.0, settle: int = 3, poll_s: float = 0.05) -> bool:
        """Wait until no subscription has messages waiting or in hand, ``settle`` polls in a row.

        Returns False when ``timeout_s`` passed first (the caller goes on: shutdown must end).
        """
        deadline = time.monotonic() + timeout_s
        quiet = 0
        while time.monotonic() < deadline:
            lag = sum((await self.lags()).values())
            quiet = quiet + 1 if (lag == 0 and self._busy == 0) else 0
            if quiet >= settle:
                return True
            await asyncio.sleep(poll_s)
        log.warning("bus not quiet after %.0f s", timeout_s)
        return False


class _TrackedSubscription(Subscription):
    """A subscription made through :class:`TrackingBus`; leaves its list when unsubscribed
    (an in-process durable consumer keeps queueing after that: its lag is nobody's to wait for)."""

    def __init__(self, bus: TrackingBus, inner: Subscription) -> None:
        super().__init__(inner.subject, inner.durable, inner.queue)
        self.bus = bus
        self.inner = inner
        self.counters = inner.counters

    async def unsubscribe(self) -> None:
        if self in self.bus.subscriptions:
            self.bus.subscriptions.remove(self)
        await self.inner.unsubscribe()

    async def lag(self) -> int:
        return await self.inner.lag()


class Activity:
    """When data last arrived (packets from a source or from the bus)."""

    def __init__(self) -> None:
        self.started_mono = time.monotonic()
        self.last_packet_mono: float | None = None
        self.last_packet_wall: float | None = None
        self.packets = 0

    def packet(self) -> None:
        self.packets += 1
        self.last_packet_mono = time.monotonic()
        self.last_packet_wall = time.time()

    def packet_age_s(self) -> float | None:
        return None if self.last_packet_mono is None else time.monotonic() - self.last_packet_mono

    def idle_s(self, also: float | None = None) -> float:
        """Seconds since the last packet (or since start), or since ``also`` (monotonic) if later."""
        last = max(x for x in (self.started_mono, self.last_packet_mono, also) if x is not None)
        return time.monotonic() - last
