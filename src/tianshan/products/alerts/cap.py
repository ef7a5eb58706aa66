"""CAP 1.2 XML for alert messages (OASIS Common Alerting Protocol v1.2, 1 July 2010).

Reference: http://docs.oasis-open.org/emergency/cap/v1.2/CAP-v1.2-os.html. Elements are
written in the order the CAP 1.2 XML schema's sequences require:

``alert``: identifier, sender, sent, status, msgType, source, scope, [note], [references],
incidents, info (one per language: zh-CN then en-US).

``info``: language, category (Geo), event, responseType, urgency, severity, certainty,
eventCode, effective, onset, expires, senderName, headline, description, instruction,
parameter..., area.

``area``: areaDesc, polygon..., circle....

Value rules from the specification:

* times (``sent``, ``effective``, ``onset``, ``expires``) are ``YYYY-MM-DDThh:mm:ss-00:00``:
  CAP forbids ``Z`` and UTC is written ``-00:00`` (section 3.3.2); no fractions of a second;
* ``references`` is space-separated ``sender,identifier,sent`` triples (section 3.2.1);
* ``polygon`` is space-separated ``lat,lon`` pairs, first == last, at least 4 pairs;
  ``circle`` is ``lat,lon radius`` with the radius in km (section 3.2.4);
* ``msgType`` Alert / Update / Cancel from our ``msg_type``; ``status`` Actual or Test.

Mappings (ours, documented here): urgency is ``Immediate`` (shaking within seconds) except a
cancel (``Past``); certainty ``Likely`` (EEW estimates; probability > ~50 %) or ``Unlikely``
for a cancel; severity from the alert level (severe -> Extreme, warning -> Severe,
advisory -> Moderate, info -> Minor); responseType ``Shelter`` (drop, cover, hold on) for
warning/severe, ``Monitor`` below, ``AllClear`` for a cancel. Parameters carry the source
estimate and, per target, the predicted intensity and warning time:
``EEW.PredictedIntensity`` = ``place;lat,lon;intensity;roman`` and
``EEW.WarningTimeSeconds`` = ``place;seconds``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from xml.etree import ElementTree as ET

from tianshan.core.timeutil import as_utc
from tianshan.products.alerts.message import AlertMessage, MessageType, iso_z
from tianshan.products.alerts.text import roman

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
#: How long after the last predicted S arrival a message stays valid (CAP ``expires``).
EXPIRES_AFTER_S = 600.0

_SEVERITY = {"severe": "Extreme", "warning": "Severe", "advisory": "Moderate", "info": "Minor"}
_EVENT = {"zh-CN": "地震预警", "en-US": "Earthquake early warning"}
_SENDER_NAME = {"zh-CN": "天山地震预警系统", "en-US": "Tianshan earthquake early warning system"}
_AREA_DESC = {"zh-CN": "预警区域", "en-US": "Warning area"}
_HEADLINE = {
    ("zh-CN", "alert"): "地震预警：约{m:.1f}级地震", ("en-US", "alert"): "Earthquake early warning: M{m:.1f}",
    ("zh-CN", "update"): "地震预警更新：约{m:.1f}级地震", ("en-US", "update"): "Earthquake early warning update: M{m:.1f}",
    ("zh-CN", "cancel"): "地震预警取消", ("en-US", "cancel"): "Earthquake early warning cancelled",
}


def cap_time(t: datetime) -> str:
    """CAP 1.2 date-time: whole seconds, UTC written as ``-00:00`` (CAP 1.2 section 3.3.2)."""
    return as_utc(t).strftime("%Y-%m-%dT%H:%M:%S") + "-00:00"


def _num(v: float, nd: int = 4) -> str:
    """Decimal text with at most ``nd`` decimals and no trailing zeros."""
    s = f"{v:.{nd}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def _info(root: ET.Element, msg: AlertMessage, lang: str) -> None:
    a = msg.alert
    kind = msg.msg_type.value
    cancel = msg.msg_type is MessageType.CANCEL
    info = _sub(root, "info")
    _sub(info, "language", lang)
    _sub(info, "category", "Geo")
    _sub(info, "event", _EVENT[lang])
    level = a.level.value
    _sub(info, "responseType", "AllClear" if cancel else ("Shelter" if level in ("warning", "severe") else "Monitor"))
    _sub(info, "urgency", "Past" if cancel else "Immediate")
    _sub(info, "severity", "Minor" if cancel else _SEVERITY[level])
    _sub(info, "certainty", "Unlikely" if cancel else "Likely")
    code = _sub(info, "eventCode")
    _sub(code, "valueName", "tianshan:event_id")
    _sub(code, "value", a.event_id)
    _sub(info, "effective", cap_time(a.issued_at))
    _sub(info, "onset", cap_time(a.origin_time))
    last = max([t.warning_time_s for t in a.targets] + [0.0])
    _sub(info, "expires", cap_time(a.issued_at + timedelta(seconds=max(0.0, last) + EXPIRES_AFTER_S)))
    _sub(info, "senderName", _SENDER_NAME[lang])
    _sub(info, "headline", _HEADLINE[(lang, kind)].format(m=a.magnitude))
    text = a.message_zh if lang == "zh-CN" else a.message_en
    if text:
        _sub(info, "description", text)
    params = [("EEW.Sequence", str(a.sequence)),
              ("EEW.OriginTime", iso_z(a.origin_time)),
              ("EEW.Epicenter", f"{_num(a.latitude_deg)},{_num(a.longitude_deg)}"),
              ("EEW.DepthKm", _num(a.depth_m / 1000.0, 1)),
              ("EEW.Magnitude", _num(a.magnitude, 1))]
    if a.magnitude_uncertainty is not None:
        params.append(("EEW.MagnitudeUncertainty", _num(a.magnitude_uncertainty, 2)))
    if a.targets:
        params.append(("EEW.MaxPredictedIntensity", roman(max(t.intensity for t in a.targets))))
    for t in a.targets:
        params.append(("EEW.PredictedIntensity",
                       f"{t.place};{_num(t.latitude_deg)},{_num(t.longitude_deg)};"
                       f"{_num(t.intensity, 1)};{roman(t.intensity)}"))
        params.append(("EEW.WarningTimeSeconds", f"{t.place};{_num(t.warning_time_s, 1)}"))
    for name, value in params:
        p = _sub(info, "parameter")
        _sub(p, "valueName", name)
        _sub(p, "value", value)
    area = _sub(info, "area")
    _sub(area, "areaDesc", _AREA_DESC[lang])
    for poly in msg.area.polygons:
        _sub(area, "polygon", " ".join(f"{_num(lat)},{_num(lon)}" for lat, lon in poly.points))
    for c in msg.area.circles:
        _sub(area, "circle", f"{_num(c.latitude_deg)},{_num(c.longitude_deg)} {_num(c.radius_m / 1000.0, 3)}")


def to_cap_xml(msg: AlertMessage, source: str = "tianshan EEW") -> bytes:
    """The CAP 1.2 XML document (UTF-8 bytes, with declaration) for one message."""
    ET.register_namespace("", CAP_NS)
    a = msg.alert
    root = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(root, "identifier", msg.identifier)
    _sub(root, "sender", msg.sender)
    _sub(root, "sent", cap_time(a.issued_at))
    _sub(root, "status", "Test" if a.test else "Actual")
    _sub(root, "msgType", {"alert": "Alert", "update": "Update", "cancel": "Cancel"}[msg.msg_type.value])
    _sub(root, "source", source)
    _sub(root, "scope", "Public")
    if msg.msg_type is MessageType.CANCEL:
        _sub(root, "note", "Earlier messages for this event are cancelled.")
    if msg.references:
        _sub(root, "references", " ".join(f"{r.sender},{r.identifier},{cap_time(r.sent)}" for r in msg.references))
    _sub(root, "incidents", a.event_id.replace(" ", "_").replace(",", "_"))
    for lang in ("zh-CN", "en-US"):
        _info(root, msg, lang)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
