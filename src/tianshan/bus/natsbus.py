"""Message bus over NATS JetStream (nats-py), for stages running as separate processes.

* One JetStream stream (default ``TIANSHAN``, file storage) holds every subject under
  ``tianshan.>``; it is created if missing and widened if it lacks a subject
  (https://docs.nats.io/nats-concepts/jetstream/streams).
* ``publish`` waits for the stream's acknowledgement (the message is stored) and retries
  through disconnects for up to ``publish_timeout_s``; ``key`` becomes the
  ``Nats-Msg-Id`` header, so a retried publish is stored once within the stream's
  duplicate window (JetStream message deduplication).
* Each subscription is a pull consumer with explicit acks, ``ack_wait_s`` and
  ``max_deliver``: a plain subscription gets an ephemeral consumer (deleted on
  unsubscribe, or by the server after ``inactive_threshold``); ``durable=`` gives a named
  consumer that survives unsubscribe, process restarts and server restarts; ``queue=``
  members bind to one shared consumer, so each message goes to one of them. New
  consumers start with the messages published after they were created (``DeliverPolicy.NEW``);
  an existing durable resumes after its last acknowledged message.
* Acks are synchronous (``ack_sync``): once a handler's message is acked, a restart does
  not deliver it again. A fetch in progress when a subscription stops is handled before it
  stops, so no message is left waiting for its ack timeout.
* A server killed with SIGKILL may lose the last acks (JetStream writes consumer state
  asynchronously) and redeliver messages already handled: each subscription remembers the
  last ``remember_handled`` stream sequences it handled, acks such redeliveries and skips
  them (``counters.duplicates``). Across a restart of *both* the server and the consumer
  process a redelivery can still reach a handler: at-least-once, so handlers must be
  idempotent (the store keys everything by resource id).
* The connection reconnects for ever (``max_reconnect_attempts=-1``); fetch loops ride
  through the outage and resume; ``counters.reconnects`` counts the reconnections.

Handler failures follow :mod:`tianshan.bus.base`: bad payload -> ``term`` (no redelivery),
other error -> ``nak`` (redelivered, ``max_deliver`` attempts in all).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time

from tianshan.bus.base import (Bus, BusError, Handler, Message, Outcome, Subscription, run_handler,
                               check_name, encode_payload)
from tianshan.bus.subjects import ALL, check_pattern, check_subject
from tianshan.core.errors import InputError

log = logging.getLogger(__name__)


class NatsSubscription(Subscription):
    def __init__(self, bus: "NatsBus", subject: str, handler: Handler, durable: str | None,
                 queue: str | None, psub, consumer: str, ephemeral: bool) -> None:
        super().__init__(subject, durable, queue)
        self.bus = bus
        self.handler = handler
        self.consumer = consumer
        self.ephemeral = ephemeral
        self._psub = psub
        self._stopping = False
        self._task: asyncio.Task | None = None
        # Stream sequences this subscription has handled: a server killed before it saved the
        # consumer's ack state redelivers them; they are acked again and skipped, not handled twice.
        self._handled: collections.OrderedDict[int, None] = collections.OrderedDict()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"natsbus:{self.subject}")

    def _remember(self, seq: int) -> None:
        self._handled[seq] = None
        if len(self._handled) > self.bus.remember_handled:
            self._handled.popitem(last=False)

    async def _run(self) -> None:
        import nats.errors

        bus = self.bus
        backoff = 0.1
        while not self._stopping:
            try:
                msgs = await self._psub.fetch(bus.fetch_batch, timeout=bus.fetch_timeout_s)
            except (nats.errors.TimeoutError, asyncio.TimeoutError):
                backoff = 0.1
                continue
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - disconnected, server restarting...: retry
                log.warning("natsbus %s: fetch failed (%s); retrying in %.1f s", self.subject, err, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            backoff = 0.1
            for m in msgs:
                await self._deliver(m)

    async def _deliver(self, m) -> None:
        bus = self.bus
        try:
            md = m.metadata
            seq, count = md.sequence.stream, md.num_delivered
        except Exception:  # noqa: BLE001 - not a JetStream message (status)
            return

        if seq in self._handled:  # after a server crash even num_delivered may be reset
            for c in (bus.counters, self.counters):
                c.duplicates += 1
            await self._safe(m.ack_sync(timeout=bus.ack_timeout_s))
            return

        async def ack() -> None:
            self._remember(seq)
            await self._ack(m)

        msg = Message(m.subject, m.data, seq, m.headers or {}, delivery_count=count, ack=ack)
        outcome = await run_handler(self.handler, msg, (bus.counters, self.counters), log, f"natsbus {m.subject}")
        if outcome is Outcome.BAD_PAYLOAD and not msg.acked:
            await self._safe(m.term())
        elif outcome is Outcome.FAILED and not msg.acked:
            await self._safe(m.nak(delay=bus.nak_delay_s))
        elif outcome is Outcome.HANDLED:
            await msg.ack()

    async def _ack(self, m) -> None:
        bus = self.bus
        try:
            await m.ack_sync(timeout=bus.ack_timeout_s)
        except Exception as err:  # noqa: BLE001 - the server will redeliver: at-least-once
            log.warning("natsbus %s: ack not confirmed (%s); message may be redelivered", m.subject, err)
            return
        bus.counters.acked += 1
        self.counters.acked += 1

    @staticmethod
    async def _safe(coro) -> None:
        try:
            await coro
        except Exception as err:  # noqa: BLE001
            log.warning("natsbus: ack/nak/term not sent: %s", err)

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task),
                                       self.bus.fetch_timeout_s + self.bus.stop_timeout_s)
            except (asyncio.TimeoutError, Exception):  # noqa: BLE001
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        try:
            await self._psub.unsubscribe()
        except Exception:  # noqa: BLE001 - connection already gone
            pass

    async def unsubscribe(self) -> None:
        if self in self.bus._subs:
            self.bus._subs.remove(self)
        await self.stop()
        if self.ephemeral:
            await self.bus._delete_consumer(self.consumer)

    async def lag(self) -> int:
        info = await self._psub.consumer_info()
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)


class NatsBus(Bus):
    """JetStream bus (see the module docstring). Connects on first use, or ``await bus.connect()``.

    ``subjects``: the stream's subjects (default ``tianshan.>``); ``max_age_s`` and
    ``duplicate_window_s``: the stream's retention and dedupe window; ``ack_wait_s`` and
    ``max_deliver``: redelivery of unacknowledged messages.
    """

    def __init__(self, url: str = "nats://127.0.0.1:4222", *, stream: str = "TIANSHAN",
                 subjects: tuple[str, ...] | list[str] = (ALL,), storage: str = "file",
                 max_age_s: float = 7 * 86400.0, duplicate_window_s: float = 120.0,
                 ack_wait_s: float = 30.0, max_deliver: int = 5, nak_delay_s: float = 0.0,
                 fetch_batch: int = 64, fetch_timeout_s: float = 1.0, publish_timeout_s: float = 10.0,
                 connect_timeout_s: float = 5.0, ack_timeout_s: float = 2.0, stop_timeout_s: float = 5.0,
                 remember_handled: int = 100_000, client_name: str = "tianshan") -> None:
        super().__init__()
        check_name("stream", stream)
        for s in subjects:
            check_pattern(s)
        if storage not in ("file", "memory"):
            raise InputError(f"storage must be file or memory, got {storage!r}", field="storage")
        self.url = url
        self.stream = stream
        self.subjects = tuple(subjects)
        self.storage = storage
        self.max_age_s = float(max_age_s)
        self.duplicate_window_s = float(duplicate_window_s)
        self.ack_wait_s = float(ack_wait_s)
        self.max_deliver = int(max_deliver)
        self.nak_delay_s = float(nak_delay_s)
        self.fetch_batch = int(fetch_batch)
        self.fetch_timeout_s = float(fetch_timeout_s)
        self.publish_timeout_s = float(publish_timeout_s)
        self.connect_timeout_s = float(connect_timeout_s)
        self.ack_timeout_s = float(ack_timeout_s)
        self.stop_timeout_s = float(stop_timeout_s)
        self.client_name = client_name
        self.remember_handled = int(remember_handled)
        self.closed = False
        self._nc = None
        self._js = None
        self._lock: asyncio.Lock | None = None
        self._subs: list[NatsSubscription] = []

    # -- connection -------------------------------------------------------------------------
    async def connect(self) -> "NatsBus":
        """Connect and make sure the stream exists; raises :class:`BusError` if the server is unreachable."""
        if self.closed:
            raise BusError("NATS bus is closed")
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._nc is not None:
                return self
            import nats

            async def on_disconnect() -> None:
                log.warning("natsbus: disconnected from %s", self.url)

            async def on_reconnect() -> None:
                self.counters.reconnects += 1
                log.warning("natsbus: reconnected to %s", self.url)

            async def on_error(err: Exception) -> None:
                if not isinstance(err, OSError):  # refused connections are logged once per disconnect
                    log.warning("natsbus: %s", err)

            try:
                # nats-py keeps retrying a first connection when reconnects are unlimited: bound it.
                nc = await asyncio.wait_for(nats.connect(servers=[self.url], name=self.client_name,
                                        connect_timeout=self.connect_timeout_s, allow_reconnect=True,
                                        max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                                        ping_interval=5, max_outstanding_pings=3,
                                        disconnected_cb=on_disconnect, reconnected_cb=on_reconnect,
                                        error_cb=on_error), self.connect_timeout_s + 1.0)
            except Exception as err:  # noqa: BLE001 - any failure: the server is not usable
                why = str(err) or type(err).__name__
                raise BusError(f"cannot connect to NATS at {self.url}: {why}") from None
            self._nc = nc
            self._js = nc.jetstream(timeout=self.connect_timeout_s)
            try:
                await self._ensure_stream()
            except Exception as err:  # noqa: BLE001
                await nc.close()
                self._nc = None
                raise BusError(f"NATS at {self.url}: cannot set up JetStream stream {self.stream}: {err}") from None
        return self

    async def _ensure_stream(self) -> None:
        from nats.js.api import RetentionPolicy, StorageType, StreamConfig
        from nats.js.errors import BadRequestError, NotFoundError

        for attempt in range(3):
            try:
                info = await self._js.stream_info(self.stream)
                break
            except NotFoundError:
                pass
            try:
                await self._js.add_stream(StreamConfig(
                    name=self.stream, subjects=list(self.subjects), retention=RetentionPolicy.LIMITS,
                    storage=StorageType.FILE if self.storage == "file" else StorageType.MEMORY,
                    max_age=self.max_age_s, duplicate_window=self.duplicate_window_s))
                return
            except BadRequestError:
                # several roles starting together: another one created the stream between our
                # lookup and our create ("subjects overlap" / "name already in use"); look again
                if attempt == 2:
                    raise
        have = list(info.config.subjects or [])
        missing = [s for s in self.subjects if s not in have]
        if missing:
            info.config.subjects = have + missing
            await self._js.update_stream(info.config)

    async def delete_stream(self) -> None:
        """Delete the stream and everything in it (tests, decommissioning)."""
        await self.connect()
        from nats.js.errors import NotFoundError

        try:
            await self._js.delete_stream(self.stream)
        except NotFoundError:
            pass

    async def _delete_consumer(self, name: str) -> None:
        if self._js is None:
            return
        try:
            await self._js.delete_consumer(self.stream, name)
        except Exception:  # noqa: BLE001 - already gone (ephemeral expired) or server down
            pass

    # -- bus ----------------------------------------------------------------------------------
    async def publish(self, subject: str, payload: dict | bytes, *, key: str | None = None) -> None:
        check_subject(subject)
        data = encode_payload(payload)
        await self.connect()
        import nats.errors

        headers = {"Nats-Msg-Id": key} if key is not None else None
        deadline = time.monotonic() + self.publish_timeout_s
        delay = 0.05
        while True:
            left = deadline - time.monotonic()
            try:
                ack = await self._js.publish(subject, data, timeout=max(0.2, min(2.0, left)),
                                             stream=self.stream, headers=headers)
                break
            except (nats.errors.TimeoutError, nats.errors.ConnectionClosedError, nats.errors.NoRespondersError,
                    nats.errors.OutboundBufferLimitError, nats.errors.StaleConnectionError,
                    nats.errors.ConnectionReconnectingError, asyncio.TimeoutError) as err:
                if self.closed or time.monotonic() + delay > deadline:
                    raise BusError(f"publish on {subject}: not acknowledged by NATS within "
                                   f"{self.publish_timeout_s:.0f} s ({type(err).__name__})") from None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
            except nats.errors.Error as err:
                raise BusError(f"publish on {subject}: {err}") from None
        if ack.duplicate:
            self.counters.duplicates += 1
        else:
            self.counters.published += 1

    async def subscribe(self, subject: str, handler: Handler, *, durable: str | None = None,
                        queue: str | None = None) -> Subscription:
        check_pattern(subject)
        check_name("durable", durable)
        check_name("queue", queue)
        await self.connect()
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
        from nats.js.errors import NotFoundError

        name = durable or queue
        config = ConsumerConfig(deliver_policy=DeliverPolicy.NEW, ack_policy=AckPolicy.EXPLICIT,
                                ack_wait=self.ack_wait_s, max_deliver=self.max_deliver,
                                max_ack_pending=max(1000, 4 * self.fetch_batch))
        if durable is None:
            # Plain subscriptions and queue groups without a durable name vanish when unused.
            config.inactive_threshold = 300.0 if queue else 30.0
        if name is not None:
            try:
                info = await self._js.consumer_info(self.stream, name)
            except NotFoundError:
                info = None
            if info is not None and info.config.filter_subject not in (None, subject):
                raise InputError(f"consumer {name!r} follows {info.config.filter_subject!r}, not {subject!r}",
                                 field="durable" if durable else "queue")
            psub = await self._js.pull_subscribe(subject, durable=name, stream=self.stream, config=config)
            consumer = name
        else:
            psub = await self._js.pull_subscribe(subject, stream=self.stream, config=config)
            consumer = psub._consumer
        sub = NatsSubscription(self, subject, handler, durable, queue, psub, consumer, ephemeral=name is None)
        self._subs.append(sub)
        sub.start()
        return sub

    async def close(self) -> None:
        """Finish the messages being handled, stop every subscription, drain and close the connection."""
        if self.closed:
            return
        self.closed = True
        subs, self._subs = self._subs, []
        await asyncio.gather(*(s.stop() for s in subs), return_exceptions=True)
        for s in subs:
            if s.ephemeral:
                await s.bus._delete_consumer(s.consumer)
        if self._nc is not None:
            try:
                await asyncio.wait_for(self._nc.drain(), self.stop_timeout_s)
            except Exception:  # noqa: BLE001
                pass
            try:
                await self._nc.close()
            except Exception:  # noqa: BLE001
                pass
            self._nc = None
