"""The message-bus interface shared by the in-process and the NATS implementations.

Stage code talks only to :class:`Bus`; which bus it gets is wiring
(:func:`tianshan.bus.make_bus`). Delivery contract, the same on both buses:

* **Fan-out**: every subscription whose pattern matches a subject gets each message;
  subscriptions that share a ``queue`` name (a queue group) share the work: each message
  goes to one member of the group.
* **Order**: one subscription sees messages in publish order (per subject, and across
  subjects for the in-process bus; per subject on NATS).
* **Acknowledgement**: a handler may ``await msg.ack()`` itself; if it returns without
  doing so, the bus acks for it. A message is acked once, at most.
* **Handler failure**: a handler that raises :class:`~tianshan.core.errors.InputError`,
  :class:`~tianshan.core.errors.DomainError` or a JSON / Unicode decoding error has got a
  bad payload: the message is dropped for good (NATS: ``term``) and counted in
  ``bad_payloads``; the subscription carries on. Any other exception is counted in
  ``handler_errors`` and the message is delivered again (at most ``max_deliver`` times in
  all), so a transient failure loses nothing.
* **Dedupe**: ``publish(..., key=K)`` with a key already published within the duplicate
  window is accepted but not delivered again (NATS ``Nats-Msg-Id``).
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Mapping

from tianshan.core.errors import DomainError, InputError

#: Errors that mean "this payload can never be handled": dropped, not redelivered.
BAD_PAYLOAD_ERRORS: tuple[type[BaseException], ...] = (InputError, DomainError, UnicodeDecodeError,
                                                       json.JSONDecodeError)


class Outcome(enum.Enum):
    """How a handler dealt with one delivery (see :func:`run_handler`)."""

    HANDLED = "handled"
    BAD_PAYLOAD = "bad_payload"
    FAILED = "failed"


async def run_handler(handler, msg, counters: "tuple[BusCounters, ...]", log: logging.Logger,
                      where: str) -> Outcome:
    """Deliver ``msg`` to ``handler`` once, counting the delivery and its outcome in each of ``counters``.

    The rules shared by every bus: a bad payload (:data:`BAD_PAYLOAD_ERRORS`) is dropped, never
    retried; any other handler error is logged and counted, and the caller decides on redelivery;
    cancellation propagates. Acking is left to the caller.
    """
    for c in counters:
        c.delivered += 1
        if msg.delivery_count > 1:
            c.redelivered += 1
    try:
        await handler(msg)
    except asyncio.CancelledError:
        raise
    except BAD_PAYLOAD_ERRORS as err:
        for c in counters:
            c.bad_payloads += 1
        log.warning("%s seq %s: bad payload dropped: %s", where, msg.seq, err)
        return Outcome.BAD_PAYLOAD
    except Exception:  # noqa: BLE001 - a failing handler must not stop the subscription
        for c in counters:
            c.handler_errors += 1
        log.exception("%s seq %s: handler failed (delivery %d)", where, msg.seq, msg.delivery_count)
        return Outcome.FAILED
    return Outcome.HANDLED


class BusError(RuntimeError):
    """The bus cannot do what was asked (server unreachable, publish not acknowledged, closed)."""


@dataclass
class BusCounters:
    """Running counts of one bus (or one subscription); read with :meth:`as_dict`.

    ``dropped`` counts messages discarded because a bounded queue was full;
    ``duplicates`` publishes skipped by key dedupe; ``redelivered`` deliveries after
    the first; ``bad_payloads`` messages dropped because the handler could not decode them.
    """

    published: int = 0
    delivered: int = 0
    acked: int = 0
    dropped: int = 0
    duplicates: int = 0
    redelivered: int = 0
    bad_payloads: int = 0
    handler_errors: int = 0
    reconnects: int = 0

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


class Message:
    """One delivered message. ``seq`` is the bus's sequence number (stream sequence on NATS)."""

    __slots__ = ("subject", "data", "seq", "headers", "delivery_count", "_ack", "_acked")

    def __init__(self, subject: str, data: bytes, seq: int | None = None,
                 headers: Mapping[str, str] | None = None, *, delivery_count: int = 1,
                 ack: Callable[[], Awaitable[None]] | None = None) -> None:
        self.subject = subject
        self.data = bytes(data)
        self.seq = seq
        self.headers: dict[str, str] = dict(headers or {})
        self.delivery_count = delivery_count
        self._ack = ack
        self._acked = False

    @property
    def acked(self) -> bool:
        return self._acked

    def json(self):
        """The payload parsed as JSON; a bad payload raises :class:`InputError` naming the subject."""
        try:
            return json.loads(self.data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise InputError(f"payload is not JSON: {err}", source=f"bus subject {self.subject}",
                             field="payload") from None

    async def ack(self) -> None:
        """Acknowledge the message (idempotent)."""
        if self._acked:
            return
        self._acked = True
        if self._ack is not None:
            await self._ack()

    def __repr__(self) -> str:
        return f"Message({self.subject!r}, {len(self.data)} bytes, seq={self.seq})"


Handler = Callable[[Message], Awaitable[None]]


class Subscription(ABC):
    """A live subscription; :meth:`unsubscribe` stops it (a durable one keeps its place)."""

    def __init__(self, subject: str, durable: str | None, queue: str | None) -> None:
        self.subject = subject
        self.durable = durable
        self.queue = queue
        self.counters = BusCounters()

    @abstractmethod
    async def unsubscribe(self) -> None:
        """Stop delivering; the handler running now finishes first."""

    @abstractmethod
    async def lag(self) -> int:
        """Messages waiting for this subscription (bus lag)."""


class Bus(ABC):
    """Publish/subscribe with at-least-once delivery (see the module docstring for the contract)."""

    def __init__(self) -> None:
        self.counters = BusCounters()

    @abstractmethod
    async def publish(self, subject: str, payload: dict | bytes, *, key: str | None = None) -> None:
        """Publish ``payload`` (a JSON-able dict, or raw bytes) on ``subject``.

        ``key`` identifies the message for dedupe: a re-publish of the same key (a retry
        after a crash) is not delivered twice.
        """

    @abstractmethod
    async def subscribe(self, subject: str, handler: Handler, *, durable: str | None = None,
                        queue: str | None = None) -> Subscription:
        """Call ``handler`` for every message matching ``subject`` (wildcards ``*`` and ``>``).

        ``durable`` names a consumer that keeps its place across unsubscribe/subscribe
        (and, on NATS, across processes and restarts). ``queue`` names a queue group.
        """

    @abstractmethod
    async def close(self) -> None:
        """Stop all subscriptions after their current message and release resources."""

    async def __aenter__(self) -> "Bus":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()


def encode_payload(payload: dict | bytes | bytearray | memoryview) -> bytes:
    """Payload bytes: raw bytes unchanged, a dict as compact UTF-8 JSON (no NaN/Infinity)."""
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    if isinstance(payload, dict):
        try:
            return json.dumps(payload, separators=(",", ":"), ensure_ascii=False,
                              allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as err:
            raise InputError(f"payload cannot be written as JSON: {err}", field="payload") from None
    raise InputError(f"payload must be a dict or bytes, got {type(payload).__name__}", field="payload")


def check_name(kind: str, name: str | None) -> str | None:
    """Validate a durable or queue name (NATS consumer-name rules: no ``.``, ``*``, ``>``, spaces)."""
    if name is None:
        return None
    if not isinstance(name, str) or not name or any(c in name for c in ".*>/\\") or any(
            c.isspace() for c in name):
        raise InputError(f"invalid {kind} name {name!r} (no '.', '*', '>', slashes or spaces)", field=kind)
    return name
