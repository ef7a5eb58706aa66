"""MQTT publishing of alerts through the real Mosquitto broker (QoS 1, topics per region cell).

Each test uses a topic root of its own (``tianshan-test/<hex>/alerts``) so other users of the
broker are not disturbed. Skips when no broker answers, fails under ``CI=true``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid

import pytest

from tianshan.products.alerts.message import AlertIssuer, message_from_json
from tianshan.services.alerts.auth import generate_key, PublishVerifier
from tianshan.services.alerts.client import Publisher
from tianshan.services.alerts.mqtt import MqttAlertPublisher, topic_for_point, topics_for_message
from tianshan.services.alerts.server import AlertServer, ServerConfig

WAIT_S = 10.0


class Subscriber:
    """A paho subscriber (QoS 1) collecting (topic, payload)."""

    def __init__(self, host: str, port: int, topics: list[str]) -> None:
        import paho.mqtt.client as mqtt

        self.got: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.subscribed = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sub-{uuid.uuid4().hex[:8]}",
                        protocol=mqtt.MQTTv311)

        def on_connect(client, userdata, flags, rc, props):
            client.subscribe([(t, 1) for t in topics])

        def on_subscribe(client, userdata, mid, rcs, props):
            self.subscribed.set()

        def on_message(client, userdata, msg):
            with self.lock:
                self.got.append((msg.topic, msg.payload))

        c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
        c.connect(host, port)
        c.loop_start()
        self.client = c
        assert self.subscribed.wait(WAIT_S), "subscription not acknowledged"

    def wait_for(self, n: int) -> list[tuple[str, bytes]]:
        import time

        end = time.monotonic() + WAIT_S
        while time.monotonic() < end:
            with self.lock:
                if len(self.got) >= n:
                    return list(self.got)
            time.sleep(0.01)
        pytest.fail(f"expected {n} MQTT messages, got {len(self.got)}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _root() -> str:
    return f"tianshan-test/{uuid.uuid4().hex}/alerts"


def test_topics_per_region_cell(alert_factory):
    msg = AlertIssuer().issue(alert_factory())
    topics = topics_for_message(msg, "r")
    assert topics[0] == "r/all"
    assert topic_for_point(41.72, 82.96, "r") in topics       # Kuqa is inside the area
    assert topic_for_point(41.9, 84.3, "r") in topics         # the epicentre's cell
    assert topic_for_point(25.0, 105.0, "r") not in topics


def test_publish_qos1_to_cells_through_mosquitto(mqtt_broker, alert_factory):
    host, port = mqtt_broker
    root = _root()
    kuqa = Subscriber(host, port, [topic_for_point(41.72, 82.96, root)])
    far = Subscriber(host, port, [topic_for_point(25.0, 105.0, root)])
    every = Subscriber(host, port, [f"{root}/all"])
    try:
        with MqttAlertPublisher(host, port, topic_root=root) as pub:
            iss = AlertIssuer()
            m1, m2 = iss.issue(alert_factory(1)), iss.issue(alert_factory(2, mag=6.9))
            for m in (m1, m2):
                topics = pub.deliver(m, m.to_json())
                assert len(topics) >= 2
            assert pub.wait_acked(WAIT_S)  # QoS 1: the broker acknowledged every PUBLISH
            got = kuqa.wait_for(2)
            assert [message_from_json(p) for _, p in got] == [m1, m2]
            assert every.wait_for(2)[1][1] == m2.to_json()
            stats = pub.stats_dict()
            assert stats["messages"] == 2 and stats["acked"] == stats["publishes"] == 2 * len(topics)
            assert stats["pending"] == 0 and stats["errors"] == 0
            # the far terminal's cell is not in the area. A marker published afterwards by the same
            # client on its topic arrives after anything misrouted there (MQTT 3.1.1 section 4.6 order).
            far_topic = topic_for_point(25.0, 105.0, root)
            pub._client.publish(far_topic, b"marker", qos=1)
            assert far.wait_for(1) == [(far_topic, b"marker")]
    finally:
        for s in (kuqa, far, every):
            s.close()


def test_alert_server_forwards_to_mqtt(mqtt_broker, alert_factory):
    host, port = mqtt_broker
    root = _root()
    sub = Subscriber(host, port, [f"{root}/cell/#"])

    async def scenario():
        key = generate_key("eew1")
        mqtt = MqttAlertPublisher(host, port, topic_root=root).start()
        server = AlertServer(PublishVerifier([key]), ServerConfig(port=0, publish_port=0, workers=0), sinks=[mqtt])
        try:
            async with server:
                msg = AlertIssuer().issue(alert_factory())
                with Publisher(server.publish_url, key) as p:
                    status, _ = await asyncio.to_thread(p.publish, msg.to_json())
                assert status == 202
                assert await asyncio.to_thread(mqtt.wait_acked, WAIT_S)
                return msg, len(topics_for_message(msg, root)) - 1
        finally:
            mqtt.close()

    try:
        msg, n_cells = asyncio.run(scenario())
        got = sub.wait_for(n_cells)
        assert {t.rsplit("/", 1)[1] for t, _ in got} == {t.rsplit("/", 1)[1] for t in topics_for_message(msg, root)[1:]}
        assert all(json.loads(p)["identifier"] == msg.identifier for _, p in got)
    finally:
        sub.close()


def test_unreachable_broker_is_an_input_error():
    import socket

    from tianshan.core.errors import InputError

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(InputError, match="MQTT broker"):
        MqttAlertPublisher("127.0.0.1", port, connect_timeout_s=1.0).start()
