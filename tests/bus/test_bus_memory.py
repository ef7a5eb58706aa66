"""In-process bus specifics: bounded queues and their overflow policies, close, make_bus."""

from __future__ import annotations

import asyncio

import pytest

from tianshan.bus import BusError, InProcessBus, Overflow, make_bus
from tianshan.core.errors import InputError


async def _blocked_consumer(bus, n):
    """Subscribe a handler that waits on a gate, publish n messages, return (got, gate, sub)."""
    gate = asyncio.Event()
    got = []

    async def handler(msg):
        await gate.wait()
        got.append(msg.json()["i"])

    sub = await bus.subscribe("x.y", handler)
    await bus.publish("x.y", {"i": 0})
    await asyncio.sleep(0.01)  # the worker takes message 0 and waits on the gate
    for i in range(1, n):
        await bus.publish("x.y", {"i": i})
    return got, gate, sub


@pytest.mark.parametrize("policy, expected", [(Overflow.DROP_OLDEST, [0, 7, 8, 9]),
                                              (Overflow.DROP_NEWEST, [0, 1, 2, 3])])
def test_overflow_drops_are_counted(policy, expected, waiter):
    async def scenario():
        bus = InProcessBus(maxsize=3, overflow=policy)
        got, gate, sub = await _blocked_consumer(bus, 10)
        assert await sub.lag() == 3
        gate.set()
        await waiter(lambda: len(got) == 4)
        await bus.close()
        assert got == expected
        assert bus.counters.dropped == 6 and sub.counters.dropped == 6

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_block_policy_loses_nothing(waiter):
    async def scenario():
        bus = InProcessBus(maxsize=2, overflow="block")
        gate = asyncio.Event()
        got = []

        async def handler(msg):
            await gate.wait()
            got.append(msg.json()["i"])

        await bus.subscribe("x.y", handler)
        publisher = asyncio.create_task(_publish_many(bus, 20))
        await asyncio.sleep(0.05)
        assert not publisher.done()  # back-pressure: the publisher waits for room
        gate.set()
        await asyncio.wait_for(publisher, 5)
        await waiter(lambda: len(got) == 20)
        await bus.close()
        assert got == list(range(20)) and bus.counters.dropped == 0

    asyncio.run(asyncio.wait_for(scenario(), 10))


async def _publish_many(bus, n):
    for i in range(n):
        await bus.publish("x.y", {"i": i})


def test_close_handles_queued_messages_then_refuses(waiter):
    async def scenario():
        bus = InProcessBus()
        got = []

        async def slow(msg):
            await asyncio.sleep(0.001)
            got.append(msg.json()["i"])

        await bus.subscribe("a.>", slow)
        await _publish_many_to(bus, "a.b", 50)
        await bus.close()
        assert got == list(range(50))
        with pytest.raises(BusError):
            await bus.publish("a.b", {})
        await bus.close()  # idempotent

    asyncio.run(asyncio.wait_for(scenario(), 10))


async def _publish_many_to(bus, subject, n):
    for i in range(n):
        await bus.publish(subject, {"i": i})


def test_handler_failing_every_time_gives_up_after_max_deliver(waiter):
    async def scenario():
        bus = InProcessBus(max_deliver=3)
        calls = []
        after = []

        async def broken(msg):
            calls.append(msg.delivery_count)
            if msg.json()["i"] == 0:
                raise RuntimeError("always")
            after.append(msg.json()["i"])

        sub = await bus.subscribe("a.b", broken)
        await _publish_many_to(bus, "a.b", 2)
        await waiter(lambda: after == [1])
        await bus.close()
        assert calls == [1, 2, 3, 1] and sub.counters.handler_errors == 3

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_make_bus():
    assert isinstance(make_bus(None), InProcessBus)
    assert isinstance(make_bus("memory://"), InProcessBus)
    assert make_bus(None, maxsize=5).maxsize == 5
    from tianshan.bus import NatsBus

    bus = make_bus("nats://127.0.0.1:4222", stream="X1")
    assert isinstance(bus, NatsBus) and bus.stream == "X1"
    with pytest.raises(InputError):
        make_bus("kafka://host")


def test_subjects_helpers():
    from tianshan.bus import subjects

    assert subjects.packets("XJ", "AKS") == "tianshan.packets.XJ.AKS"
    assert subjects.matches("tianshan.packets.*.*", subjects.packets("XJ", "AKS"))
    assert subjects.matches("tianshan.>", "tianshan.picks")
    assert not subjects.matches("tianshan.>", "tianshan")
    assert not subjects.matches("tianshan.*", "tianshan.packets.XJ")
    assert not subjects.matches("tianshan.picks", "tianshan.picksx")
    with pytest.raises(InputError):
        subjects.packets("X.J", "AKS")
