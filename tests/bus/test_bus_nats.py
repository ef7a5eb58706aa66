"""NATS-only behaviour: unreachable server, and a server-restart drill on a private nats-server.

The drill starts its own ``nats-server`` (JetStream, a temporary store, a free loopback port),
kills it with SIGKILL while a durable consumer is live, starts it again on the same store,
and checks that publishing and consuming resume with nothing lost and nothing duplicated.
The shared server is never touched.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from tianshan.bus import BusError, NatsBus

NATS_SERVER = shutil.which("nats-server") or ("/usr/sbin/nats-server" if os.path.exists("/usr/sbin/nats-server")
                                             else None)


def test_unreachable_server_raises_bus_error():
    async def scenario():
        with socket.socket() as s:  # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        bus = NatsBus(f"nats://127.0.0.1:{port}", connect_timeout_s=1.0)
        with pytest.raises(BusError, match="cannot connect"):
            await bus.publish("tianshan.picks", {})
        await bus.close()

    asyncio.run(asyncio.wait_for(scenario(), 15))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(port: int, store) -> subprocess.Popen:
    proc = subprocess.Popen([NATS_SERVER, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    proc.kill()
    pytest.fail(f"private nats-server did not start on port {port}")


@pytest.fixture
def private_nats(tmp_path):
    if NATS_SERVER is None:
        msg = "nats-server binary not found"
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"CI=true: {msg}")
        pytest.skip(msg)
    port = _free_port()
    procs = [_start_server(port, tmp_path / "js")]

    class Server:
        url = f"nats://127.0.0.1:{port}"

        def kill(self):
            procs[-1].send_signal(signal.SIGKILL)
            procs[-1].wait(5)

        def start(self):
            procs.append(_start_server(port, tmp_path / "js"))

    yield Server()
    for p in procs:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()


def test_server_restart_drill(private_nats, waiter):
    async def scenario():
        got = []

        async def handler(msg):
            got.append(msg.json()["i"])

        bus = NatsBus(private_nats.url, stream="DRILL", fetch_timeout_s=0.3, publish_timeout_s=10.0)
        await bus.subscribe("tianshan.picks", handler, durable="drill")
        for i in range(10):
            await bus.publish("tianshan.picks", {"i": i}, key=f"p{i}")
        await waiter(lambda: len(got) == 10)
        private_nats.kill()
        await asyncio.sleep(0.5)
        private_nats.start()
        for i in range(10, 20):  # retried through the reconnect
            await bus.publish("tianshan.picks", {"i": i}, key=f"p{i}")
        await waiter(lambda: len(got) >= 20, timeout=12, what="messages after the restart")
        await asyncio.sleep(0.5)
        assert got == list(range(20))
        assert bus.counters.reconnects >= 1
        await bus.close()

    asyncio.run(asyncio.wait_for(scenario(), 30))
