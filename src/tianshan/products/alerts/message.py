"""Alert, update and cancel messages for one event, their JSON form and sequence rules.

An :class:`AlertMessage` wraps a :class:`tianshan.core.alert.Alert` (composition: the
core object keeps the seismological content; the message adds what distribution
needs -- message type, sender, identifier, references to earlier messages, and the
affected :class:`~tianshan.products.alerts.area.AlertArea`).

Rules
-----
* Every message of an event carries ``alert.sequence``; it strictly increases from one
  message to the next. The first message of an event is ``alert``, later ones are
  ``update``; a message whose ``alert.cancelled`` is true is ``cancel`` (a cancel with
  no earlier message is refused). Update and cancel reference every earlier message of
  the event, as CAP 1.2 ``<references>`` does.
* Receivers keep the last accepted sequence per event (:class:`SequenceTracker`) and
  drop a message whose sequence is not above it (stale or duplicate: delivery paths
  may reorder or repeat messages; the newest estimate must win).
* The area of an update or a cancel is the union of the event's earlier areas and the
  new one (:func:`~tianshan.products.alerts.area.merge_areas`), so everyone who was
  alerted hears about the downgrade or cancellation.
* The identifier is ``<sender>.<event_id>.<sequence>`` with characters CAP forbids in
  identifiers (white space, comma, ``<``, ``&``) replaced by ``_``.
* The JSON form (:meth:`AlertMessage.to_json`) follows ``alert.schema.json``;
  :func:`message_from_json` validates against it before building objects, and turns
  every problem into :class:`~tianshan.core.errors.InputError`.
* Each target's ``shaking_at`` in JSON is ``sent + warning_time_s`` (the time the S
  wave is predicted to arrive); receivers count down to it, which stays right however
  late the message arrives.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

from tianshan.core.alert import Alert, AlertLevel, AlertTarget
from tianshan.core.errors import DomainError, InputError
from tianshan.core.timeutil import as_utc
from tianshan.products.alerts.area import AlertArea, area_from_alert, merge_areas
from tianshan.products.alerts.schema import parse_json, validate
from tianshan.products.alerts.text import alert_text

FORMAT = "tianshan-eew-alert/1"
_CAP_TOKEN = re.compile(r"^[^\s,<&]+$")


class MessageType(str, Enum):
    ALERT = "alert"
    UPDATE = "update"
    CANCEL = "cancel"


def iso_z(t: datetime) -> str:
    """UTC time as ISO 8601 with microseconds and ``Z``."""
    return as_utc(t).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def cap_token(text: str) -> str:
    """``text`` with the characters CAP 1.2 forbids in identifiers/senders replaced by ``_``."""
    return re.sub(r"[\s,<&]", "_", text)


@dataclass(frozen=True, slots=True)
class MessageRef:
    """An earlier message referred to (CAP ``references`` entry: sender, identifier, sent)."""

    sender: str
    identifier: str
    sent: datetime

    def __post_init__(self) -> None:
        for name in ("sender", "identifier"):
            if not _CAP_TOKEN.match(getattr(self, name) or ""):
                raise DomainError(f"message reference {name}: {getattr(self, name)!r} is empty or has "
                                  "white space, comma, '<' or '&'")
        object.__setattr__(self, "sent", as_utc(self.sent, "message reference sent"))


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """One alert/update/cancel message: an :class:`Alert` plus distribution metadata."""

    msg_type: MessageType
    alert: Alert
    area: AlertArea
    sender: str
    identifier: str
    references: tuple[MessageRef, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "msg_type", MessageType(self.msg_type))
        object.__setattr__(self, "references", tuple(self.references))
        for name in ("sender", "identifier"):
            if not _CAP_TOKEN.match(getattr(self, name) or ""):
                raise DomainError(f"alert message {name}: {getattr(self, name)!r} is empty or has "
                                  "white space, comma, '<' or '&'")
        if (self.msg_type is MessageType.CANCEL) != bool(self.alert.cancelled):
            raise DomainError(f"alert message: type {self.msg_type.value} but alert.cancelled={self.alert.cancelled}")
        if self.msg_type is not MessageType.ALERT and not self.references:
            raise DomainError(f"alert message: an {self.msg_type.value} must reference earlier messages")

    @property
    def event_id(self) -> str:
        return self.alert.event_id

    @property
    def sequence(self) -> int:
        return self.alert.sequence

    @property
    def sent(self) -> datetime:
        return self.alert.issued_at

    def to_dict(self) -> dict:
        """The JSON-ready dict (``alert.schema.json``)."""
        a = self.alert
        return {
            "format": FORMAT,
            "identifier": self.identifier,
            "sender": self.sender,
            "sent": iso_z(a.issued_at),
            "status": "test" if a.test else "actual",
            "msg_type": self.msg_type.value,
            "references": [{"sender": r.sender, "identifier": r.identifier, "sent": iso_z(r.sent)}
                           for r in self.references],
            "event_id": a.event_id,
            "sequence": a.sequence,
            "alert_id": a.id,
            "origin": {"time": iso_z(a.origin_time), "latitude_deg": a.latitude_deg,
                       "longitude_deg": a.longitude_deg, "depth_m": a.depth_m, "magnitude": a.magnitude,
                       "magnitude_uncertainty": a.magnitude_uncertainty},
            "level": a.level.value,
            "area": self.area.to_dict(),
            "targets": [{"place": t.place, "latitude_deg": t.latitude_deg, "longitude_deg": t.longitude_deg,
                         "intensity": t.intensity, "warning_time_s": t.warning_time_s,
                         "shaking_at": iso_z(a.issued_at + timedelta(seconds=t.warning_time_s))}
                        for t in a.targets],
            "text": {"zh-CN": a.message_zh, "en-US": a.message_en},
        }

    def to_json(self) -> bytes:
        """Compact UTF-8 JSON (the bytes sent on every channel)."""
        import json

        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def message_from_dict(doc, source: str = "alert message") -> AlertMessage:
    """Validate ``doc`` against the schema and build the message (:class:`InputError` if bad)."""
    validate(doc, source)
    try:
        o = doc["origin"]
        alert = Alert(
            event_id=doc["event_id"], sequence=int(doc["sequence"]), origin_time=as_utc(o["time"]),
            latitude_deg=o["latitude_deg"], longitude_deg=o["longitude_deg"], depth_m=o["depth_m"],
            magnitude=o["magnitude"], level=AlertLevel(doc["level"]),
            targets=tuple(AlertTarget(t["place"], t["latitude_deg"], t["longitude_deg"], t["intensity"],
                                      t["warning_time_s"]) for t in doc["targets"]),
            message_zh=doc["text"]["zh-CN"], message_en=doc["text"]["en-US"],
            cancelled=doc["msg_type"] == "cancel", test=doc["status"] == "test",
            magnitude_uncertainty=o["magnitude_uncertainty"], id=doc["alert_id"], issued_at=as_utc(doc["sent"]))
        return AlertMessage(
            msg_type=MessageType(doc["msg_type"]), alert=alert, area=AlertArea.from_dict(doc["area"]),
            sender=doc["sender"], identifier=doc["identifier"],
            references=tuple(MessageRef(r["sender"], r["identifier"], as_utc(r["sent"])) for r in doc["references"]))
    except DomainError as err:
        raise InputError(str(err), source=source) from None


def message_from_json(data: bytes | str, source: str = "alert message") -> AlertMessage:
    """Parse, validate and build a message from its JSON text."""
    return message_from_dict(parse_json(data, source), source)


# --------------------------------------------------------------------------- issuing

@dataclass
class _EventHistory:
    last_sequence: int
    refs: list[MessageRef]
    areas: list[AlertArea]
    cancelled: bool = False


class AlertIssuer:
    """Turns successive :class:`Alert` objects of events into messages (type, references, area, text).

    ``sender`` names the issuing system (CAP ``sender``). ``min_intensity`` is passed to
    :func:`area_from_alert` when an alert comes without an explicit area. Texts are filled
    from :func:`~tianshan.products.alerts.text.alert_text` when the alert has none.
    Not thread-safe; one issuer per publishing process.
    """

    def __init__(self, sender: str = "tianshan-eew", min_intensity: float = 4.0, max_events: int = 10_000) -> None:
        if not _CAP_TOKEN.match(sender):
            raise DomainError(f"alert sender: {sender!r} is empty or has white space, comma, '<' or '&'")
        self.sender = sender
        self.min_intensity = min_intensity
        self.max_events = max_events
        self._events: dict[str, _EventHistory] = {}

    def issue(self, alert: Alert, area: AlertArea | None = None, place_zh: str = "",
              place_en: str = "") -> AlertMessage:
        """The message for ``alert``; raises :class:`DomainError` if its sequence is not new."""
        hist = self._events.get(alert.event_id)
        if hist is not None and alert.sequence <= hist.last_sequence:
            raise DomainError(f"alert {alert.event_id}: sequence {alert.sequence} is not above the last issued "
                              f"({hist.last_sequence})")
        if alert.cancelled:
            if hist is None:
                raise DomainError(f"alert {alert.event_id}: cannot cancel an event never alerted")
            msg_type = MessageType.CANCEL
        else:
            msg_type = MessageType.ALERT if hist is None else MessageType.UPDATE
        if area is None and msg_type is MessageType.CANCEL:
            areas = list(hist.areas)  # a cancel goes exactly where the event's messages went
        else:
            areas = ([] if hist is None else hist.areas) + [area or area_from_alert(alert, self.min_intensity)]
        msg_area = merge_areas(areas) if len(areas) > 1 else areas[0]
        if not alert.message_zh or not alert.message_en:
            zh, en = alert_text(alert, msg_type.value, place_zh, place_en)
            alert = replace(alert, message_zh=alert.message_zh or zh, message_en=alert.message_en or en)
        identifier = cap_token(f"{self.sender}.{alert.event_id}.{alert.sequence}")
        msg = AlertMessage(msg_type, alert, msg_area, self.sender, identifier,
                           tuple(hist.refs) if hist is not None else ())
        ref = MessageRef(self.sender, identifier, alert.issued_at)
        if hist is None:
            if len(self._events) >= self.max_events:
                self._events.pop(next(iter(self._events)))
            self._events[alert.event_id] = _EventHistory(alert.sequence, [ref], [msg_area])
        else:
            hist.last_sequence = alert.sequence
            hist.refs.append(ref)
            hist.areas = [msg_area]
            hist.cancelled = alert.cancelled
        return msg


class SequenceTracker:
    """Last accepted sequence per event; :meth:`accept` is false for stale or repeated messages.

    Memory is bounded: events not heard of for ``ttl_s`` seconds (default 1 h, far longer
    than any early warning lasts) are forgotten first, then the oldest beyond
    ``max_events``. ``clock`` returns seconds (monotonic by default).
    """

    def __init__(self, max_events: int = 10_000, ttl_s: float = 3600.0, clock=time.monotonic) -> None:
        self.max_events = max_events
        self.ttl_s = ttl_s
        self.clock = clock
        self._last: dict[str, tuple[int, float]] = {}
        self.accepted = 0
        self.stale = 0

    def last(self, event_id: str) -> int | None:
        item = self._last.get(event_id)
        return None if item is None else item[0]

    def accept(self, event_id: str, sequence: int) -> bool:
        now = self.clock()
        item = self._last.get(event_id)
        if item is not None and sequence <= item[0]:
            self.stale += 1
            return False
        self._last.pop(event_id, None)
        self._last[event_id] = (sequence, now)  # re-inserted: dict order = last-heard order
        self.accepted += 1
        self._prune(now)
        return True

    def accept_message(self, msg: AlertMessage) -> bool:
        return self.accept(msg.event_id, msg.sequence)

    def _prune(self, now: float) -> None:
        while self._last:
            key, (_, t) = next(iter(self._last.items()))
            if now - t > self.ttl_s or len(self._last) > self.max_events:
                del self._last[key]
            else:
                break
