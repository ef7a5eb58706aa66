"""Earthquake early-warning messages: alert / update / cancel with sequence numbers.

* :mod:`~tianshan.products.alerts.message` -- :class:`AlertMessage` (wraps the core
  :class:`~tianshan.core.alert.Alert`), :class:`AlertIssuer` (types, references, areas,
  texts), :class:`SequenceTracker` (receivers drop stale messages), JSON round trip;
* :mod:`~tianshan.products.alerts.schema` -- ``alert.schema.json`` and its validation;
* :mod:`~tianshan.products.alerts.cap` -- CAP 1.2 XML;
* :mod:`~tianshan.products.alerts.area` -- affected areas, receivers' region filters, MQTT cells;
* :mod:`~tianshan.products.alerts.text` -- Chinese and English text.

Distribution (WebSocket, MQTT, webhooks) is in :mod:`tianshan.services.alerts`.
"""

from tianshan.products.alerts.area import AlertArea, BBox, Circle, Polygon, intersects
from tianshan.products.alerts.message import (AlertIssuer, AlertMessage, MessageRef, MessageType,
                                              SequenceTracker, message_from_dict, message_from_json)

__all__ = ["AlertArea", "AlertIssuer", "AlertMessage", "BBox", "Circle", "MessageRef", "MessageType",
           "Polygon", "SequenceTracker", "intersects", "message_from_dict", "message_from_json"]
