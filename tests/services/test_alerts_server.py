"""The alert server for real: WebSocket clients on TCP, signed HTTP publishes, worker processes.

Each test starts its own server on free ports (inline fan-out unless the test is about
worker processes) and real clients: this package's receiver, raw sockets for hostile
clients, and tornado's independent WebSocket client for interoperability. ~50 clients.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import socket
import time
from dataclasses import replace

import pytest

from tianshan.core.alert import AlertTarget
from tianshan.products.alerts.message import AlertIssuer
from tianshan.services.alerts import protocol as wsp
from tianshan.services.alerts.auth import PublisherKey, PublishVerifier, generate_key, sign_request
from tianshan.services.alerts.client import Publisher, connect_receiver
from tianshan.services.alerts.server import AlertServer, ServerConfig
from tianshan.services.alerts.worker import FanoutOptions

WAIT_S = 10.0
NEAR = "?bbox=83,41,86,43"          # around the epicentre (41.9 N, 84.3 E)
FAR = "?bbox=100,20,110,30"
FAR_EVENT = dict(lat=25.0, lon=105.0)


class Inbox:
    """Messages one receiver got (parsed JSON), alerts separately."""

    def __init__(self) -> None:
        self.all: list[dict] = []

    def __call__(self, payload: bytes, t: float) -> None:
        self.all.append(json.loads(payload))

    @property
    def alerts(self) -> list[dict]:
        return [m for m in self.all if "format" in m]

    def of_type(self, kind: str) -> list[dict]:
        return [m for m in self.all if m.get("type") == kind]


async def wait_until(pred, what: str, timeout: float = WAIT_S) -> None:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


def run(coro_fn, timeout: float = 45.0):
    async def main():
        return await asyncio.wait_for(coro_fn(), timeout)

    return asyncio.run(main())


async def publish(url: str, key: PublisherKey, body: bytes) -> tuple[int, dict]:
    def go():
        with Publisher(url, key) as p:
            return p.publish(body)

    return await asyncio.to_thread(go)


async def raw_post(server: AlertServer, body: bytes, headers: dict, path: str = "/v1/alerts") -> tuple[int, dict]:
    def go():
        c = http.client.HTTPConnection("127.0.0.1", server.publish_port, timeout=10)
        try:
            c.request("POST", path, body=body, headers=headers)
            r = c.getresponse()
            data = r.read()
            return r.status, (json.loads(data) if data else {})
        finally:
            c.close()

    return await asyncio.to_thread(go)


def _server(workers: int = 0, **fanout) -> tuple[AlertServer, PublisherKey]:
    key = generate_key("eew-test")
    cfg = ServerConfig(port=0, publish_port=0, workers=workers, fanout=FanoutOptions(**fanout))
    return AlertServer(PublishVerifier([key]), cfg), key


# --------------------------------------------------------------------------- fan-out and filters

def test_fanout_region_filters_50_clients(alert_factory):
    async def scenario():
        server, key = _server()
        async with server:
            near, far, every, circle = ([Inbox() for _ in range(n)] for n in (20, 15, 10, 5))
            protos = []
            for box in near:
                protos.append(await connect_receiver(server.ws_url + NEAR, box))
            for box in far:
                protos.append(await connect_receiver(server.ws_url + FAR, box))
            for box in every:
                protos.append(await connect_receiver(server.ws_url, box))
            for box in circle:  # filter set by a subscribe message instead of the URL
                p = await connect_receiver(server.ws_url, box)
                p.send_json({"type": "subscribe", "circle": [41.7, 83.0, 30]})
                protos.append(p)
            await wait_until(lambda: all(b.of_type("subscribed") for b in circle), "subscriptions")
            iss = AlertIssuer("xj-eew")
            status, reply = await publish(server.publish_url, key, iss.issue(alert_factory(1)).to_json())
            assert status == 202 and reply["accepted"] and reply["clients"] == 35
            marker = iss.issue(alert_factory(1, event_id="far-event", targets=(), **FAR_EVENT)).to_json()
            status, _ = await publish(server.publish_url, key, marker)
            assert status == 202
            await wait_until(lambda: all(len(b.alerts) == 1 for b in near + circle), "near alerts")
            await wait_until(lambda: all(len(b.alerts) == 1 for b in far), "far marker")
            # per connection order is kept: far clients saw the marker and never the first alert
            assert all(b.alerts[0]["event_id"] == "far-event" for b in far)
            assert all(b.alerts[0]["event_id"] == "ev-1" for b in near + circle)
            assert all(len(b.alerts) == 1 for b in near + circle)
            await wait_until(lambda: all(len(b.alerts) == 2 for b in every), "unfiltered clients get both")
            hello = near[0].of_type("hello")[0]
            assert hello["filter"] == {"bbox": [83.0, 41.0, 86.0, 43.0]}
            stats = await server.collect_stats()
            assert stats["fanout"]["clients"] == 50 and stats["fanout"]["filtered_out"] == 15 + 25
            assert stats["fanout"]["frames_sent"] == 35 + 25 and stats["hub"]["published"] == 2
            for p in protos:
                p.close()

    run(scenario)


def test_frames_are_encoded_once_per_message(alert_factory, monkeypatch):
    """The hub frames each message once, whatever the number of clients."""
    from tianshan.services.alerts import server as server_mod

    calls = []
    real = server_mod.wsp.encode_frame

    def counting(opcode, payload, mask=False):
        if opcode == wsp.OP_TEXT and b"tianshan-eew-alert/1" in payload:
            calls.append(len(payload))
        return real(opcode, payload, mask)

    monkeypatch.setattr(server_mod.wsp, "encode_frame", counting)

    async def scenario():
        server, key = _server()
        async with server:
            boxes = [Inbox() for _ in range(30)]
            protos = [await connect_receiver(server.ws_url, b) for b in boxes]
            status, _ = await publish(server.publish_url, key, AlertIssuer().issue(alert_factory()).to_json())
            assert status == 202
            await wait_until(lambda: all(b.alerts for b in boxes), "alerts")
            for p in protos:
                p.close()

    run(scenario)
    assert len(calls) == 1


# --------------------------------------------------------------------------- publishers

def test_forged_and_malformed_publish_requests_are_refused(alert_factory):
    async def scenario():
        server, key = _server()
        async with server:
            inbox = Inbox()
            proto = await connect_receiver(server.ws_url, inbox)
            iss = AlertIssuer()
            body = iss.issue(alert_factory(1)).to_json()
            path = "/v1/alerts"
            h = sign_request(key, "POST", path, body)
            cases = [
                ("wrong secret", body, sign_request(PublisherKey("eew-test", b"x" * 32), "POST", path, body), 401,
                 "bad-signature"),
                ("unknown key", body, sign_request(PublisherKey("intruder", key.secret), "POST", path, body), 401,
                 "unknown-key"),
                ("tampered body", body.replace(b'"magnitude":6.5', b'"magnitude":7.5'), h, 401, "bad-signature"),
                ("no headers", body, {}, 401, "malformed"),
                ("old timestamp", body, sign_request(key, "POST", path, body, timestamp=time.time() - 600), 401,
                 "stale"),
                ("other path", body, sign_request(key, "POST", "/v1/other", body), 401, "bad-signature"),
            ]
            for what, b, headers, status, reason in cases:
                st, reply = await raw_post(server, b, headers)
                assert (st, reply.get("reason")) == (status, reason), what
            st, reply = await raw_post(server, body, h)            # the genuine request
            assert st == 202, reply
            st, reply = await raw_post(server, body, h)            # replayed byte for byte
            assert (st, reply["reason"]) == (401, "replay")
            for bad in (b"{not json", b'{"format": "tianshan-eew-alert/1"}', b"\xff" * 10):
                st, reply = await raw_post(server, bad, sign_request(key, "POST", path, bad))
                assert (st, reply["reason"]) == (400, "malformed")
            big = b" " * (server.config.max_publish_bytes + 1)
            st, _ = await raw_post(server, big, sign_request(key, "POST", path, big))
            assert st == 413
            stale_seq = iss.issue(alert_factory(2)).to_json()
            older = json.loads(stale_seq)
            older["sequence"] = 1
            older_body = json.dumps(older).encode()
            st, _ = await publish(server.publish_url, key, stale_seq)
            assert st == 202
            st, reply = await publish(server.publish_url, key, older_body)
            assert (st, reply["reason"]) == (409, "stale-sequence")
            await wait_until(lambda: len(inbox.alerts) == 2, "the two accepted alerts")
            await asyncio.sleep(0.2)
            assert [m["sequence"] for m in inbox.alerts] == [1, 2]
            stats = await server.collect_stats()
            assert stats["hub"]["published"] == 2 and stats["hub"]["refused_auth"] == 7
            assert stats["hub"]["refused_malformed"] == 3 and stats["hub"]["refused_stale"] == 1
            assert stats["hub"]["refused_too_large"] == 1
            assert stats["auth"]["refused"] == {"bad-signature": 3, "unknown-key": 1, "malformed": 1, "stale": 1,
                                                "replay": 1}
            proto.close()

    run(scenario)


# --------------------------------------------------------------------------- subscribers

def _raw_ws(port: int, target: str = "/alerts", rcvbuf: int | None = None) -> socket.socket:
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    req, accept = wsp.client_handshake(f"127.0.0.1:{port}", target)
    s.sendall(req)
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert b" 101 " in head and accept.encode() in head
    return s


def test_slow_client_is_dropped_others_keep_receiving(alert_factory):
    targets = tuple(AlertTarget(f"place-{i:04d}", 41.0 + i * 0.001, 84.0, 5.0, 10.0) for i in range(300))

    async def scenario():
        server, key = _server(queue_max=4, write_limit_bytes=16 * 1024, sndbuf_bytes=8192)
        async with server:
            fast = Inbox()
            proto = await connect_receiver(server.ws_url, fast)
            slow = await asyncio.to_thread(_raw_ws, server.port, "/alerts", 4096)  # never reads again
            iss = AlertIssuer()
            n = 40
            with Publisher(server.publish_url, key) as pub:
                for seq in range(1, n + 1):
                    body = iss.issue(replace(alert_factory(seq), targets=targets)).to_json()
                    assert len(body) > 30_000
                    status, _ = await asyncio.to_thread(pub.publish, body)
                    assert status == 202
            await wait_until(lambda: len(fast.alerts) == n, "all alerts at the fast client", 20.0)
            assert [m["sequence"] for m in fast.alerts] == list(range(1, n + 1))
            stats = await server.collect_stats()
            assert stats["fanout"]["dropped_slow"] == 1
            assert stats["fanout"]["clients"] == 1
            slow.close()
            proto.close()

    run(scenario)


def test_malformed_subscriber_messages_do_not_disturb_others(alert_factory):
    async def scenario():
        server, key = _server(max_malformed=5, max_message_bytes=1024)
        async with server:
            good = [Inbox() for _ in range(10)]
            goods = [await connect_receiver(server.ws_url + NEAR, b) for b in good]
            # 1. bad application messages: error replies, connection kept
            chatty_box = Inbox()
            chatty = await connect_receiver(server.ws_url, chatty_box)
            for text in (b"{not json", b"[1,2,3]", b'{"type":"dance"}', b'{"type":"subscribe","bbox":[1,2]}',
                         b'{"type":"subscribe","circle":[99,0,1]}'):
                chatty.send_text(text)
            chatty.send_raw(wsp.encode_frame(wsp.OP_BINARY, b"\x00\x01", mask=True))
            await wait_until(lambda: len(chatty_box.of_type("error")) == 5, "error replies")
            # 2. too many malformed messages: closed with 1008 (policy)
            assert await asyncio.wait_for(chatty.closed, WAIT_S) == wsp.CLOSE_POLICY
            # 2b. a flood of well-formed messages is rate limited, then closed
            flood_box = Inbox()
            flood = await connect_receiver(server.ws_url, flood_box)
            for _ in range(200):  # normally sent within milliseconds; a loaded machine may spread them
                flood.send_json({"type": "ping"})
            assert await asyncio.wait_for(flood.closed, WAIT_S) == wsp.CLOSE_POLICY
            # at most 20 pongs per one-second window, and the 6th excess message closes the connection
            assert 1 <= len(flood_box.of_type("pong")) <= 20 * 10
            # 3. protocol violations close only the offender
            offenders = []
            unmasked = await connect_receiver(server.ws_url, Inbox())
            unmasked.send_raw(wsp.encode_frame(wsp.OP_TEXT, b'{"type":"ping"}', mask=False))
            offenders.append((unmasked, wsp.CLOSE_PROTOCOL))
            huge = await connect_receiver(server.ws_url, Inbox())
            huge.send_text(b"x" * 5000)
            offenders.append((huge, wsp.CLOSE_TOO_BIG))
            badop = await connect_receiver(server.ws_url, Inbox())
            badop.send_raw(bytes([0x83, 0x80]) + b"\x00\x00\x00\x00")  # opcode 3 (reserved)
            offenders.append((badop, wsp.CLOSE_PROTOCOL))
            notutf8 = await connect_receiver(server.ws_url, Inbox())
            notutf8.send_text(b"\xc3\x28")
            offenders.append((notutf8, wsp.CLOSE_BAD_DATA))
            for p, code in offenders:
                assert await asyncio.wait_for(p.closed, WAIT_S) == code
            # 4. not a WebSocket at all, and a handshake cut short
            def junk():
                with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
                    s.sendall(b"HELLO THERE\r\nfoo\r\n\r\n")
                    return s.recv(200)
            assert b"400" in await asyncio.to_thread(junk)
            def bad_query():
                with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
                    req, _ = wsp.client_handshake("x", "/alerts?bbox=1,2,oops,4")
                    s.sendall(req)
                    return s.recv(200)
            assert b"400" in await asyncio.to_thread(bad_query)
            # the good clients are unaffected
            status, _ = await publish(server.publish_url, key, AlertIssuer().issue(alert_factory()).to_json())
            assert status == 202
            await wait_until(lambda: all(len(b.alerts) == 1 for b in good), "alerts at good clients")
            # and a well-formed ping still gets its pong
            goods[0].send_json({"type": "ping"})
            await wait_until(lambda: good[0].of_type("pong"), "pong")
            stats = (await server.collect_stats())["fanout"]
            assert stats["malformed_messages"] >= 6 + 6  # five texts + one binary; >= 6 from the flood
            assert stats["protocol_errors"] == 4 and stats["handshake_failed"] == 2
            assert stats["clients"] == 10
            for p in goods:
                p.close()

    run(scenario)


def test_tornado_websocket_client_interoperates(alert_factory):
    pytest.importorskip("tornado")
    from tornado.websocket import websocket_connect

    async def scenario():
        server, key = _server()
        async with server:
            conn = await websocket_connect(server.ws_url + "?circle=41.7,83.0,30", ping_interval=None)
            hello = json.loads(await conn.read_message())
            assert hello["type"] == "hello" and hello["filter"] == {"circle": [41.7, 83.0, 30.0]}
            conn.write_message(json.dumps({"type": "ping"}))
            assert json.loads(await conn.read_message()) == {"type": "pong"}
            msg = AlertIssuer().issue(alert_factory())
            status, _ = await publish(server.publish_url, key, msg.to_json())
            assert status == 202
            got = await asyncio.wait_for(conn.read_message(), WAIT_S)
            assert got.encode() == msg.to_json()
            conn.close()

    run(scenario)


# --------------------------------------------------------------------------- worker processes

def test_worker_processes_share_the_port_and_restart(alert_factory):
    async def scenario():
        server, key = _server(workers=2)
        async with server:
            boxes = [Inbox() for _ in range(50)]
            protos = [await connect_receiver(server.ws_url, b) for b in boxes]
            await wait_until(lambda: all(b.of_type("hello") for b in boxes), "hellos")
            workers_seen = {b.of_type("hello")[0]["worker"] for b in boxes}
            assert workers_seen == {0, 1}  # SO_REUSEPORT spread the connections
            iss = AlertIssuer()
            status, reply = await publish(server.publish_url, key, iss.issue(alert_factory(1)).to_json())
            assert status == 202 and reply["workers"] == 2
            await wait_until(lambda: all(len(b.alerts) == 1 for b in boxes), "alerts at 50 clients")

            def get_stats():
                c = http.client.HTTPConnection("127.0.0.1", server.publish_port, timeout=10)
                c.request("GET", "/v1/stats")
                return json.loads(c.getresponse().read())

            stats = await asyncio.to_thread(get_stats)
            assert stats["workers"] == 2 and stats["fanout"]["clients"] == 50
            assert all(w["clients"] > 0 for w in stats["per_worker"])
            # kill worker 0: its clients are cut off, the hub starts a new one, the rest carry on
            pid = server.worker_pids[0]
            os.kill(pid, signal.SIGKILL)
            victims = [b for b in boxes if b.of_type("hello")[0]["worker"] == 0]
            survivors = [b for b in boxes if b.of_type("hello")[0]["worker"] == 1]
            await wait_until(lambda: server.worker_pids[0] not in (None, pid), "worker restart", 30.0)
            newbox = Inbox()
            newp = await connect_receiver(server.ws_url, newbox)
            status, reply = await publish(server.publish_url, key, iss.issue(alert_factory(2)).to_json())
            assert status == 202 and reply["workers"] == 2
            await wait_until(lambda: all(len(b.alerts) == 2 for b in survivors) and newbox.alerts, "after restart")
            assert all(len(b.alerts) == 1 for b in victims)
            assert server.stats.worker_restarts == 1
            for p in protos + [newp]:
                p.close()

    run(scenario, timeout=90.0)
