"""In-process message bus on asyncio (the default of ``tianshan run``).

Each consumer (one per plain subscription, one shared per queue group or durable name)
has a bounded FIFO queue and one worker task per member subscription, so a subscription
sees messages in publish order, and a slow handler never blocks the publisher unless
asked to.

Overflow policy (``overflow=``), when a consumer's queue holds ``maxsize`` messages:

* ``Overflow.DROP_OLDEST`` (default): the oldest waiting message is discarded to make
  room. In real time the newest data matter most and acquisition must never stall
  behind a slow stage; the loss is counted (``counters.dropped``, per bus and per
  subscription) and shows in the metrics.
* ``Overflow.DROP_NEWEST``: the new message is discarded for that consumer (counted).
* ``Overflow.BLOCK``: ``publish`` waits until there is room (back-pressure, no loss; a
  handler that publishes into its own full queue would wait for ever, so use with care).

Durable consumers live as long as the bus: after ``unsubscribe`` they keep queueing
(bounded as above) and a new ``subscribe`` with the same ``durable`` name resumes where
the last one stopped. Nothing survives the process: that is what the NATS bus is for.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
from enum import Enum

from tianshan.bus.base import (Bus, BusError, Handler, Message, Outcome, run_handler,
                               Subscription, check_name, encode_payload)
from tianshan.core.errors import InputError
from tianshan.bus.subjects import check_pattern, check_subject, matches

log = logging.getLogger(__name__)


class Overflow(str, Enum):
    """What a full consumer queue does with one more message (see the module docstring)."""

    DROP_OLDEST = "drop_oldest"
    DROP_NEWEST = "drop_newest"
    BLOCK = "block"


class _Consumer:
    """A queue of messages for one subscription, queue group or durable name."""

    def __init__(self, bus: "InProcessBus", pattern: str, name: str | None, persistent: bool) -> None:
        self.bus = bus
        self.pattern = pattern
        self.name = name
        self.persistent = persistent
        self.items: collections.deque[tuple[str, bytes, int, dict[str, str]]] = collections.deque()
        self.cond = asyncio.Condition()
        self.members: list[InProcessSubscription] = []
        self.in_flight = 0

    async def put(self, item) -> None:
        bus = self.bus
        async with self.cond:
            if len(self.items) >= bus.maxsize:
                if bus.overflow is Overflow.BLOCK:
                    await self.cond.wait_for(lambda: len(self.items) < bus.maxsize or bus.closed)
                    if bus.closed:
                        return
                elif bus.overflow is Overflow.DROP_OLDEST:
                    self.items.popleft()
                    self._count_drop()
                else:
                    self._count_drop()
                    return
            self.items.append(item)
            self.cond.notify_all()

    def _count_drop(self) -> None:
        self.bus.counters.dropped += 1
        for m in self.members[:1]:
            m.counters.dropped += 1

    async def get(self, sub: "InProcessSubscription"):
        async with self.cond:
            await self.cond.wait_for(lambda: bool(self.items) or sub.stopping)
            if sub.stopping:
                return None
            item = self.items.popleft()
            self.in_flight += 1
            self.cond.notify_all()
            return item

    async def done(self) -> None:
        async with self.cond:
            self.in_flight -= 1
            self.cond.notify_all()


class InProcessSubscription(Subscription):
    def __init__(self, consumer: _Consumer, handler: Handler, durable: str | None, queue: str | None) -> None:
        super().__init__(consumer.pattern, durable, queue)
        self.consumer = consumer
        self.handler = handler
        self.stopping = False
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"bus:{self.subject}")

    async def _run(self) -> None:
        consumer = self.consumer
        while True:
            item = await consumer.get(self)
            if item is None:
                return
            try:
                await self._deliver(*item)
            finally:
                await consumer.done()

    async def _deliver(self, subject: str, data: bytes, seq: int, headers: dict[str, str]) -> None:
        bus = self.consumer.bus
        for attempt in range(1, bus.max_deliver + 1):
            msg = Message(subject, data, seq, headers, delivery_count=attempt, ack=self._on_ack)
            outcome = await run_handler(self.handler, msg, (bus.counters, self.counters), log, f"bus {subject}")
            if outcome is Outcome.FAILED:
                continue
            if outcome is Outcome.HANDLED:
                await msg.ack()
            return

    async def _on_ack(self) -> None:
        self.counters.acked += 1
        self.consumer.bus.counters.acked += 1

    async def unsubscribe(self) -> None:
        await self.consumer.bus._detach(self)

    async def lag(self) -> int:
        return len(self.consumer.items)


class InProcessBus(Bus):
    """Asyncio bus for one process. See the module docstring for queueing and overflow.

    ``maxsize``: messages a consumer may hold waiting; ``max_deliver``: attempts per message
    when a handler fails; ``duplicate_window``: how many recent publish keys are remembered
    for dedupe; ``drain_timeout_s``: how long :meth:`close` lets queued messages finish.
    """

    def __init__(self, *, maxsize: int = 10_000, overflow: Overflow | str = Overflow.DROP_OLDEST,
                 max_deliver: int = 3, duplicate_window: int = 100_000, drain_timeout_s: float = 5.0) -> None:
        super().__init__()
        if maxsize < 1 or max_deliver < 1 or duplicate_window < 0:
            raise ValueError("maxsize and max_deliver must be >= 1, duplicate_window >= 0")
        self.maxsize = int(maxsize)
        self.overflow = Overflow(overflow)
        self.max_deliver = int(max_deliver)
        self.duplicate_window = int(duplicate_window)
        self.drain_timeout_s = float(drain_timeout_s)
        self.closed = False
        self._closing = False
        self._seq = itertools.count(1)
        self._keys: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._consumers: list[_Consumer] = []
        self._named: dict[tuple[str, str], _Consumer] = {}  # ("durable"|"queue", name) -> consumer

    async def publish(self, subject: str, payload: dict | bytes, *, key: str | None = None) -> None:
        if self.closed:
            raise BusError("publish on a closed bus")
        check_subject(subject)
        data = encode_payload(payload)
        headers: dict[str, str] = {}
        if key is not None:
            if key in self._keys:
                self.counters.duplicates += 1
                return
            self._keys[key] = None
            if len(self._keys) > self.duplicate_window:
                self._keys.popitem(last=False)
            headers["Nats-Msg-Id"] = key
        seq = next(self._seq)
        self.counters.published += 1
        item = (subject, data, seq, headers)
        for consumer in list(self._consumers):
            if matches(consumer.pattern, subject):
                await consumer.put(item)

    async def subscribe(self, subject: str, handler: Handler, *, durable: str | None = None,
                        queue: str | None = None) -> Subscription:
        if self.closed:
            raise BusError("subscribe on a closed bus")
        check_pattern(subject)
        check_name("durable", durable)
        check_name("queue", queue)
        key = ("durable", durable) if durable else (("queue", f"{subject} {queue}") if queue else None)
        consumer = self._named.get(key) if key else None
        if consumer is None:
            consumer = _Consumer(self, subject, durable or queue, persistent=durable is not None)
            self._consumers.append(consumer)
            if key:
                self._named[key] = consumer
        elif consumer.pattern != subject:
            raise InputError(f"durable {durable!r} follows {consumer.pattern!r}, not {subject!r}", field="durable")
        sub = InProcessSubscription(consumer, handler, durable, queue)
        consumer.members.append(sub)
        sub.start()
        return sub

    async def _detach(self, sub: InProcessSubscription) -> None:
        consumer = sub.consumer
        if sub not in consumer.members:
            return
        async with consumer.cond:
            sub.stopping = True
            consumer.cond.notify_all()
        if sub.task is not None and sub.task is not asyncio.current_task():
            await asyncio.gather(sub.task, return_exceptions=True)
        consumer.members.remove(sub)
        if not consumer.members and not consumer.persistent:
            self._consumers.remove(consumer)
            self._named = {k: c for k, c in self._named.items() if c is not consumer}

    async def _drained(self) -> None:
        for consumer in list(self._consumers):
            if not consumer.members:
                continue
            async with consumer.cond:
                await consumer.cond.wait_for(lambda c=consumer: not c.items and c.in_flight == 0)

    async def close(self) -> None:
        """Let queued messages be handled (up to ``drain_timeout_s``), then stop every subscription."""
        if self._closing:
            return
        self._closing = True
        try:
            await asyncio.wait_for(self._drained(), self.drain_timeout_s)
        except asyncio.TimeoutError:
            log.warning("bus close: queued messages not handled within %.1f s", self.drain_timeout_s)
        self.closed = True
        for consumer in list(self._consumers):
            async with consumer.cond:
                for sub in consumer.members:
                    sub.stopping = True
                consumer.cond.notify_all()
            for sub in list(consumer.members):
                if sub.task is not None and sub.task is not asyncio.current_task():
                    try:
                        await asyncio.wait_for(asyncio.shield(sub.task), self.drain_timeout_s)
                    except (asyncio.TimeoutError, Exception):  # noqa: BLE001
                        sub.task.cancel()
        self._consumers.clear()
        self._named.clear()
