"""One behavioural suite, run on the in-process bus and on NATS JetStream (``env`` fixture)."""

from __future__ import annotations

import asyncio

import pytest

from tianshan.core.errors import InputError


def _collector():
    got = []

    async def handler(msg):
        got.append((msg.subject, msg.json(), msg.seq, msg.delivery_count))

    return got, handler


def test_fan_out_in_order(env, waiter):
    async def scenario(env):
        bus = env.new()
        subject = env.subject("picks")
        got_a, ha = _collector()
        got_b, hb = _collector()
        await bus.subscribe(subject, ha)
        await bus.subscribe(subject, hb)
        for i in range(50):
            await bus.publish(subject, {"i": i})
        await waiter(lambda: len(got_a) == 50 and len(got_b) == 50, what="50 messages each")
        await asyncio.sleep(0.1)
        for got in (got_a, got_b):
            assert [p["i"] for _, p, _, _ in got] == list(range(50))
            seqs = [s for _, _, s, _ in got]
            assert seqs == sorted(seqs) and len(set(seqs)) == 50
        assert bus.counters.delivered == 100 and bus.counters.acked == 100

    env.run(scenario)


def test_wildcards(env, waiter):
    async def scenario(env):
        bus = env.new()
        star, tail, exact = _collector(), _collector(), _collector()
        await bus.subscribe(env.subject("packets", "*", "*"), star[1])
        await bus.subscribe(env.subject(">"), tail[1])
        await bus.subscribe(env.subject("packets", "XJ", "AKS"), exact[1])
        subjects = [env.subject("packets", "XJ", "AKS"), env.subject("packets", "XJ", "WUS"),
                    env.subject("picks"), env.subject("packets", "XJ", "AKS", "extra")]
        for i, s in enumerate(subjects):
            await bus.publish(s, {"i": i})
        await waiter(lambda: len(tail[0]) == 4 and len(star[0]) == 2 and len(exact[0]) == 1)
        await asyncio.sleep(0.2)
        assert [p["i"] for _, p, _, _ in star[0]] == [0, 1]
        assert [p["i"] for _, p, _, _ in exact[0]] == [0]
        assert sorted(p["i"] for _, p, _, _ in tail[0]) == [0, 1, 2, 3]

    env.run(scenario)


def test_queue_group_shares_work(env, waiter):
    async def scenario(env):
        bus = env.new(fetch_batch=1) if env.kind == "nats" else env.new()
        subject = env.subject("picks")
        seen: dict[str, list[int]] = {"a": [], "b": []}
        everyone = []

        def member(name):
            async def handler(msg):
                seen[name].append(msg.json()["i"])
                await asyncio.sleep(0.01)
            return handler

        await bus.subscribe(subject, member("a"), queue="pickers")
        await bus.subscribe(subject, member("b"), queue="pickers")
        await bus.subscribe(subject, lambda m: _append(everyone, m))  # a plain subscriber sees all
        for i in range(30):
            await bus.publish(subject, {"i": i})
        await waiter(lambda: len(seen["a"]) + len(seen["b"]) == 30 and len(everyone) == 30)
        await asyncio.sleep(0.3)
        assert sorted(seen["a"] + seen["b"]) == list(range(30))  # each exactly once
        assert seen["a"] and seen["b"]  # both members worked

    env.run(scenario)


async def _append(target, msg):
    target.append(msg.json())


def test_failed_handler_gets_message_again(env, waiter):
    async def scenario(env):
        bus = env.new()
        subject = env.subject("origins")
        attempts = []
        done = []

        async def flaky(msg):
            attempts.append(msg.delivery_count)
            if msg.delivery_count == 1:
                raise RuntimeError("transient failure")
            done.append(msg.json())

        sub = await bus.subscribe(subject, flaky, durable="flaky")
        await bus.publish(subject, {"x": 1})
        await waiter(lambda: done, what="redelivery")
        assert attempts == [1, 2] and done == [{"x": 1}]
        assert sub.counters.handler_errors == 1 and bus.counters.redelivered == 1
        assert sub.counters.acked == 1

    env.run(scenario)


def test_handler_may_ack_itself(env, waiter):
    async def scenario(env):
        bus = env.new()
        subject = env.subject("events")
        got = []

        async def handler(msg):
            await msg.ack()
            await msg.ack()  # idempotent
            got.append(msg.acked)

        sub = await bus.subscribe(subject, handler)
        await bus.publish(subject, b"raw bytes are fine")
        await waiter(lambda: got)
        assert got == [True] and sub.counters.acked == 1

    env.run(scenario)


def test_durable_consumer_resumes_without_loss_or_duplicates(env, waiter):
    async def scenario(env):
        subject = env.subject("magnitudes")
        got = []

        async def handler(msg):
            got.append(msg.json()["i"])

        bus = env.new()
        sub = await bus.subscribe(subject, handler, durable="mags")
        for i in range(5):
            await bus.publish(subject, {"i": i})
        await waiter(lambda: len(got) == 5)
        if env.kind == "nats":  # the process goes away; another one keeps publishing
            await bus.close()
            bus = env.new()
        else:
            await sub.unsubscribe()
        for i in range(5, 12):
            await bus.publish(subject, {"i": i})
        assert got == list(range(5))
        sub = await bus.subscribe(subject, handler, durable="mags")
        await waiter(lambda: len(got) >= 12, what="the messages published while away")
        await asyncio.sleep(0.3)
        assert got == list(range(12))
        assert await sub.lag() == 0

    env.run(scenario)


def test_bad_payloads_counted_not_fatal(env, waiter):
    from tianshan.bus import codec

    async def scenario(env):
        bus = env.new()
        subject = env.subject("picks")
        good = []

        async def handler(msg):
            good.append(codec.decode(msg.data))

        sub = await bus.subscribe(subject, handler)
        await bus.publish(subject, b"\xff\xfe not utf-8")
        await bus.publish(subject, b"{not json")
        await bus.publish(subject, {"type": "pick", "v": 1, "data": {"phase": "P"}})  # fields missing
        await bus.publish(subject, {"type": "bomb", "v": 1, "data": {}})
        await bus.publish(subject, codec.encode(_pick()))
        await waiter(lambda: good and sub.counters.bad_payloads == 4, what="4 bad + 1 good")
        await asyncio.sleep(0.2)
        assert len(good) == 1 and good[0].phase == "P"
        assert sub.counters.handler_errors == 0 and bus.counters.bad_payloads == 4
        assert sub.counters.redelivered == 0  # bad payloads are not redelivered

    env.run(scenario)


def test_publish_key_dedupes(env, waiter):
    async def scenario(env):
        bus = env.new()
        subject = env.subject("events")
        got, handler = _collector()
        await bus.subscribe(subject, handler)
        await bus.publish(subject, {"v": 1}, key="event-1-v1")
        await bus.publish(subject, {"v": 1}, key="event-1-v1")  # a retry after a crash
        await bus.publish(subject, {"v": 2}, key="event-1-v2")
        await waiter(lambda: len(got) == 2)
        await asyncio.sleep(0.3)
        assert [p["v"] for _, p, _, _ in got] == [1, 2]
        assert bus.counters.duplicates == 1 and bus.counters.published == 2

    env.run(scenario)


def test_invalid_subjects_and_names_raise_input_error(env):
    async def scenario(env):
        bus = env.new()

        async def handler(msg):
            pass

        for bad in ("", "a..b", "a.*", "a.>", "a b", " x"):
            with pytest.raises(InputError):
                await bus.publish(bad, {})
        for bad in ("", "a.>.b", "a..b"):
            with pytest.raises(InputError):
                await bus.subscribe(bad, handler)
        with pytest.raises(InputError):
            await bus.subscribe(env.subject("x"), handler, durable="has.dot")
        with pytest.raises(InputError):
            await bus.publish(env.subject("x"), {"t": object()})
        with pytest.raises(InputError):
            await bus.publish(env.subject("x"), {"nan": float("nan")})

    env.run(scenario)


def _pick():
    from datetime import datetime, timezone

    from tianshan.core import Pick, StreamID

    return Pick(StreamID("XJ", "AKS", "", "BHZ"), datetime(2024, 1, 22, 18, 9, 4, 250000, tzinfo=timezone.utc),
                "P", method="stalta-aic")
