"""Message bus: one interface, an in-process asyncio implementation (default) and NATS JetStream.

>>> bus = make_bus(None)            # in-process
>>> bus = make_bus("nats://127.0.0.1:4222")   # JetStream, stages in separate processes

Subjects are listed in :mod:`tianshan.bus.subjects`; domain objects travel as JSON
(:mod:`tianshan.bus.codec`). ``NatsBus`` (and nats-py) is imported only when asked for.
"""

from __future__ import annotations

from tianshan.bus.base import Bus, BusCounters, BusError, Handler, Message, Subscription
from tianshan.bus.memory import InProcessBus, Overflow
from tianshan.core.errors import InputError

__all__ = ["Bus", "BusCounters", "BusError", "Handler", "Message", "Subscription", "InProcessBus",
           "Overflow", "NatsBus", "make_bus"]


def make_bus(url: str | None = None, **options) -> Bus:
    """The bus for ``url``: in-process for ``None``, ``""`` or ``memory://``; NATS JetStream for
    ``nats://host:port`` (``tls://`` too). ``options`` go to the implementation's constructor
    (``stream=``, ``maxsize=``...). An unknown scheme raises :class:`InputError`."""
    if url is None or url == "" or url.startswith("memory://"):
        return InProcessBus(**options)
    if url.startswith(("nats://", "tls://")):
        from tianshan.bus.natsbus import NatsBus

        return NatsBus(url, **options)
    raise InputError(f"unknown bus URL {url!r} (expected memory:// or nats://host:port)", field="bus")


def __getattr__(name: str):
    if name == "NatsBus":
        from tianshan.bus.natsbus import NatsBus

        return NatsBus
    raise AttributeError(f"module 'tianshan.bus' has no attribute {name!r}")
