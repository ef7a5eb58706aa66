"""Bus fixtures: the same behavioural tests run on the in-process bus and on a real NATS server.

NATS: ``$TIANSHAN_TEST_NATS_URL``, else ``nats://127.0.0.1:4222``. Each test gets a JetStream
stream and a subject root of its own (``TST_<hex>`` / ``t<hex>.>``), deleted at the end, so
other users of the server are not disturbed. When no server answers, the NATS tests skip,
except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from urllib.parse import urlparse

import pytest

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
#: Every network wait in these tests is bounded by this (seconds).
WAIT_S = 8.0


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _reachable(url: str) -> str:
    u = urlparse(url)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or 4222), timeout=2.0) as s:
            s.settimeout(2.0)
            if not s.recv(4096).startswith(b"INFO"):
                return "not a NATS server"
            return ""
    except OSError as err:
        return str(err)


@pytest.fixture(scope="session")
def nats_url() -> str:
    """URL of a reachable NATS server (skip, or fail under CI=true, if none)."""
    url = os.environ.get("TIANSHAN_TEST_NATS_URL", DEFAULT_NATS_URL)
    why = _reachable(url)
    if why:
        msg = f"NATS not reachable at {url} ({why}); set TIANSHAN_TEST_NATS_URL"
        if _in_ci():
            pytest.fail(f"CI=true: NATS bus tests must run, but {msg}")
        pytest.skip(msg)
    return url


class BusEnv:
    """Makes buses of one kind for a test, all on one isolated subject root."""

    def __init__(self, kind: str, url: str | None) -> None:
        self.kind = kind
        self.url = url
        tag = uuid.uuid4().hex[:12]
        self.root = f"t{tag}"
        self.stream = f"TST_{tag}"
        self.opened: list = []

    def new(self, **options):
        from tianshan.bus import InProcessBus, NatsBus

        if self.kind == "memory":
            bus = InProcessBus(**options)
        else:
            options = {"fetch_timeout_s": 0.3, "ack_wait_s": 5.0, "publish_timeout_s": 5.0,
                       "connect_timeout_s": 3.0, **options}
            bus = NatsBus(self.url, stream=self.stream, subjects=(f"{self.root}.>",), **options)
        self.opened.append(bus)
        return bus

    def subject(self, *tokens: str) -> str:
        return ".".join((self.root,) + tokens)

    def run(self, scenario, timeout: float = 20.0):
        """Run ``scenario(self)`` in a fresh event loop, closing every bus it opened and the stream."""

        async def main():
            try:
                return await asyncio.wait_for(scenario(self), timeout)
            finally:
                await asyncio.wait_for(self.cleanup(), 15.0)

        return asyncio.run(main())

    async def cleanup(self) -> None:
        for bus in self.opened:
            await bus.close()
        self.opened.clear()
        if self.kind == "nats":
            from tianshan.bus import NatsBus

            admin = NatsBus(self.url, stream=self.stream, subjects=(f"{self.root}.>",), connect_timeout_s=3.0)
            try:
                await admin.delete_stream()
            finally:
                await admin.close()


@pytest.fixture(params=["memory", "nats"])
def env(request):
    """A :class:`BusEnv` for the in-process bus and for NATS JetStream."""
    url = request.getfixturevalue("nats_url") if request.param == "nats" else None
    return BusEnv(request.param, url)


async def wait_for(predicate, timeout: float = WAIT_S, what: str = "condition") -> None:
    """Poll ``predicate`` until true; fail the test after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


@pytest.fixture
def waiter():
    return wait_for
