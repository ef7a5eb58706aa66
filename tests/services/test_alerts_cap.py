"""CAP 1.2 XML of alert messages: structure (XSD), element order, value formats."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tianshan.products.alerts.area import AlertArea, Circle, Polygon
from tianshan.products.alerts.cap import CAP_NS, cap_time, to_cap_xml
from tianshan.products.alerts.message import AlertIssuer

NS = {"cap": CAP_NS}
XSD = Path(__file__).parent / "data" / "cap-v1.2-structure.xsd"
ALERT_ORDER = ["identifier", "sender", "sent", "status", "msgType", "source", "scope", "restriction", "addresses",
               "code", "note", "references", "incidents", "info"]
INFO_ORDER = ["language", "category", "event", "responseType", "urgency", "severity", "certainty", "audience",
              "eventCode", "effective", "onset", "expires", "senderName", "headline", "description",
              "instruction", "web", "contact", "parameter", "resource", "area"]
CAP_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$")


def _messages(make):
    iss = AlertIssuer("xj-eew")
    poly = Polygon(((41.0, 83.0), (41.0, 85.5), (42.6, 85.5), (42.6, 83.0)))
    m1 = iss.issue(make(1, issued_s=5.0))
    m2 = iss.issue(make(2, mag=6.8, issued_s=7.0), area=AlertArea(circles=(Circle(41.9, 84.3, 150_000.0),),
                                                                      polygons=(poly,)))
    m3 = iss.issue(make(3, cancelled=True, issued_s=9.0))
    return m1, m2, m3


def _local(tag: str) -> str:
    return tag.split("}", 1)[1]


def _in_order(names: list[str], order: list[str]) -> bool:
    idx = [order.index(n) for n in names]
    return idx == sorted(idx)


def test_cap_validates_against_cap12_structure(alert_factory):
    etree = pytest.importorskip("lxml.etree")
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    for msg in _messages(alert_factory):
        doc = etree.fromstring(to_cap_xml(msg))
        assert schema.validate(doc), f"{msg.msg_type}: {schema.error_log}"
    # the schema can fail: a broken document is refused
    bad = to_cap_xml(_messages(alert_factory)[0]).replace(b"<urgency>Immediate</urgency>", b"<urgency>Now</urgency>")
    assert not schema.validate(etree.fromstring(bad))


def test_cap_required_elements_and_order(alert_factory):
    m1, m2, m3 = _messages(alert_factory)
    for msg, kind in ((m1, "Alert"), (m2, "Update"), (m3, "Cancel")):
        root = ET.fromstring(to_cap_xml(msg))
        assert root.tag == f"{{{CAP_NS}}}alert"
        names = [_local(el.tag) for el in root]
        assert names[:5] == ["identifier", "sender", "sent", "status", "msgType"]
        assert _in_order(names, ALERT_ORDER), names
        assert root.findtext("cap:msgType", namespaces=NS) == kind
        assert root.findtext("cap:identifier", namespaces=NS) == msg.identifier
        assert root.findtext("cap:scope", namespaces=NS) == "Public"
        assert root.findtext("cap:status", namespaces=NS) == "Actual"
        assert CAP_TIME.match(root.findtext("cap:sent", namespaces=NS))
        infos = root.findall("cap:info", NS)
        assert [i.findtext("cap:language", namespaces=NS) for i in infos] == ["zh-CN", "en-US"]
        for info in infos:
            inames = [_local(el.tag) for el in info]
            assert _in_order(inames, INFO_ORDER), inames
            for req in ("category", "event", "urgency", "severity", "certainty"):
                assert info.find(f"cap:{req}", NS) is not None
            for t in ("effective", "onset", "expires"):
                assert CAP_TIME.match(info.findtext(f"cap:{t}", namespaces=NS))
            area = info.find("cap:area", NS)
            assert area is not None and area.findtext("cap:areaDesc", namespaces=NS)
        assert infos[0].findtext("cap:description", namespaces=NS) == msg.alert.message_zh
        assert infos[1].findtext("cap:description", namespaces=NS) == msg.alert.message_en


def test_cap_values_urgency_references_parameters(alert_factory):
    m1, m2, m3 = _messages(alert_factory)
    r1 = ET.fromstring(to_cap_xml(m1))
    info = r1.find("cap:info", NS)
    assert info.findtext("cap:urgency", namespaces=NS) == "Immediate"
    assert info.findtext("cap:severity", namespaces=NS) == "Severe"        # level warning
    assert info.findtext("cap:responseType", namespaces=NS) == "Shelter"
    assert r1.find("cap:references", NS) is None
    params = [(p.findtext("cap:valueName", namespaces=NS), p.findtext("cap:value", namespaces=NS))
              for p in info.findall("cap:parameter", NS)]
    assert ("EEW.Magnitude", "6.5") in params and ("EEW.Sequence", "1") in params
    assert ("EEW.PredictedIntensity", "Luntai;41.78,84.25;7.6;VIII") in params
    assert ("EEW.WarningTimeSeconds", "Kuqa;26") in params
    assert ("EEW.MaxPredictedIntensity", "VIII") in params
    circle = info.find("cap:area/cap:circle", NS).text
    lat, lon, r_km = re.match(r"^([-\d.]+),([-\d.]+) ([\d.]+)$", circle).groups()
    assert (float(lat), float(lon)) == (41.9, 84.3)
    assert float(r_km) == pytest.approx(m1.area.circles[0].radius_m / 1000, abs=1e-3)

    r2 = ET.fromstring(to_cap_xml(m2))
    assert r2.findtext("cap:references", namespaces=NS) == "xj-eew,xj-eew.ev-1.1,2024-06-01T08:00:05-00:00"
    poly = r2.find("cap:info/cap:area/cap:polygon", NS).text.split(" ")
    assert len(poly) == 5 and poly[0] == poly[-1] == "41,83"

    r3 = ET.fromstring(to_cap_xml(m3))
    assert r3.findtext("cap:references", namespaces=NS).split(" ") == [
        "xj-eew,xj-eew.ev-1.1,2024-06-01T08:00:05-00:00", "xj-eew,xj-eew.ev-1.2,2024-06-01T08:00:07-00:00"]
    i3 = r3.find("cap:info", NS)
    assert i3.findtext("cap:urgency", namespaces=NS) == "Past"
    assert i3.findtext("cap:responseType", namespaces=NS) == "AllClear"
    assert r3.findtext("cap:incidents", namespaces=NS) == "ev-1"


def test_cap_time_is_utc_minus_zero_and_whole_seconds(alert_factory):
    from dataclasses import replace
    from datetime import datetime, timedelta, timezone

    assert cap_time(datetime(2024, 6, 1, 8, 0, 5, 999_000, tzinfo=timezone.utc)) == "2024-06-01T08:00:05-00:00"
    assert cap_time(datetime(2024, 6, 1, 16, 0, 5, tzinfo=timezone(timedelta(hours=8)))) == "2024-06-01T08:00:05-00:00"
    test_msg = AlertIssuer().issue(replace(alert_factory(), test=True))
    assert ET.fromstring(to_cap_xml(test_msg)).findtext("cap:status", namespaces=NS) == "Test"
