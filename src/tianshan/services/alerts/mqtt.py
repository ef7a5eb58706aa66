"""Publishing alert messages to an MQTT broker (terminals, sirens, displays) with paho-mqtt 2.x.

Topics (``topic_root`` default ``tianshan/alerts``):

* ``<root>/all`` -- every message;
* ``<root>/cell/<cell>`` -- one topic per ``cell_deg`` grid cell intersecting the message's area
  (:func:`tianshan.products.alerts.area.region_cells`; e.g. ``tianshan/alerts/cell/N41E084``).
  A terminal subscribes to the cell it stands in (:func:`topic_for_point`) and gets only the
  alerts that concern it; the broker does the filtering, so a message crosses each
  terminal's link once.

Messages are published with QoS 1 (at least once: the broker acknowledges with PUBACK and
paho resends until it does, MQTT 3.1.1 section 4.3.2); receivers de-duplicate by event and
sequence (:class:`~tianshan.products.alerts.message.SequenceTracker`). Not retained: a
terminal that connects later must not see an old alert as new. paho runs its network loop
in its own thread and reconnects with back-off; messages published while disconnected are
queued by paho and sent on reconnect. :meth:`MqttAlertPublisher.deliver` never blocks (the
hub calls it on its event loop).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import asdict, dataclass

from tianshan.core.errors import InputError
from tianshan.products.alerts.area import cell_name, region_cells

log = logging.getLogger(__name__)

DEFAULT_ROOT = "tianshan/alerts"


def topic_for_point(latitude_deg: float, longitude_deg: float, root: str = DEFAULT_ROOT, cell_deg: float = 1.0) -> str:
    """The cell topic a terminal at (latitude, longitude) subscribes to."""
    return f"{root}/cell/{cell_name(latitude_deg, longitude_deg, cell_deg)}"


def topics_for_message(msg, root: str = DEFAULT_ROOT, cell_deg: float = 1.0) -> list[str]:
    return [f"{root}/all"] + [f"{root}/cell/{c}" for c in region_cells(msg.area, cell_deg)]


@dataclass
class MqttStats:
    messages: int = 0       # alert messages handed over
    publishes: int = 0      # MQTT PUBLISH packets queued (one per topic)
    acked: int = 0          # PUBACKs received
    errors: int = 0         # publish calls paho refused
    connects: int = 0
    disconnects: int = 0


class MqttAlertPublisher:
    """QoS-1 publisher of alert JSON to per-region topics. ``start()`` connects (or raises InputError)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883, topic_root: str = DEFAULT_ROOT,
                 cell_deg: float = 1.0, qos: int = 1, client_id: str | None = None, username: str | None = None,
                 password: str | None = None, keepalive_s: int = 30, connect_timeout_s: float = 5.0) -> None:
        if qos not in (0, 1, 2):
            raise InputError(f"MQTT qos must be 0, 1 or 2, got {qos}", field="qos")
        self.host, self.port = host, port
        self.topic_root = topic_root.rstrip("/")
        self.cell_deg = cell_deg
        self.qos = qos
        self.client_id = client_id or f"tianshan-alerts-{uuid.uuid4().hex[:8]}"
        self.username, self.password = username, password
        self.keepalive_s = keepalive_s
        self.connect_timeout_s = connect_timeout_s
        self.stats = MqttStats()
        self._client = None
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self._pending: set[int] = set()

    # paho thread callbacks
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("MQTT connect to %s:%s refused: %s", self.host, self.port, reason_code)
            return
        with self._lock:
            self.stats.connects += 1
        self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._connected.clear()
        with self._lock:
            self.stats.disconnects += 1

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._lock:
            self._pending.discard(mid)
            self.stats.acked += 1

    def start(self) -> "MqttAlertPublisher":
        import paho.mqtt.client as mqtt

        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv311,
                        clean_session=True)
        if self.username:
            c.username_pw_set(self.username, self.password)
        c.on_connect, c.on_disconnect, c.on_publish = self._on_connect, self._on_disconnect, self._on_publish
        c.reconnect_delay_set(min_delay=1, max_delay=30)
        c.max_inflight_messages_set(1000)  # default 20 would queue the cell topics of a large alert
        self._client = c
        try:
            c.connect_async(self.host, self.port, keepalive=self.keepalive_s)
        except (OSError, ValueError) as err:
            raise InputError(f"MQTT broker {self.host}:{self.port}: {err}", field="mqtt") from None
        c.loop_start()
        if not self._connected.wait(self.connect_timeout_s):
            self.close()
            raise InputError(f"MQTT broker {self.host}:{self.port} did not accept a connection within "
                             f"{self.connect_timeout_s:g} s", field="mqtt")
        return self

    def deliver(self, message, payload: bytes) -> list[str]:
        """Publish ``payload`` (the message JSON) to ``<root>/all`` and every cell topic of its area."""
        if self._client is None:
            raise RuntimeError("MqttAlertPublisher.start() was not called")
        topics = topics_for_message(message, self.topic_root, self.cell_deg)
        self.stats.messages += 1
        for topic in topics:
            info = self._client.publish(topic, payload, qos=self.qos, retain=False)
            if info.rc != 0 and info.rc != 4:  # 4 = MQTT_ERR_NO_CONN: queued, sent on reconnect
                self.stats.errors += 1
                log.warning("MQTT publish to %s failed: rc=%s", topic, info.rc)
                continue
            with self._lock:
                self.stats.publishes += 1
                if self.qos > 0:
                    self._pending.add(info.mid)
        return topics

    def wait_acked(self, timeout_s: float = 5.0) -> bool:
        """True once every QoS>0 publish so far has been acknowledged by the broker."""
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            with self._lock:
                if not self._pending:
                    return True
            time.sleep(0.005)
        return False

    def stats_dict(self) -> dict:
        with self._lock:
            return {**asdict(self.stats), "pending": len(self._pending), "connected": self._connected.is_set()}

    def close(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    def __enter__(self) -> "MqttAlertPublisher":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
