"""Alert messages: JSON round trip and schema, sequence rules, areas and filters, texts."""

from __future__ import annotations

import json
import math
from datetime import timedelta

import pytest

from tianshan.core.alert import AlertTarget
from tianshan.core.errors import DomainError, InputError
from tianshan.products.alerts.area import (AlertArea, BBox, Circle, Polygon, area_from_alert, cell_name,
                                           intersects, merge_areas, parse_filter, region_cells)
from tianshan.products.alerts.message import (AlertIssuer, AlertMessage, MessageType, SequenceTracker,
                                              message_from_dict, message_from_json)
from tianshan.products.alerts.schema import load_schema, validation_errors
from tianshan.products.alerts.text import alert_text, intensity_degree, roman
from tianshan.regions.model import haversine_m


def _issue_three(make):
    iss = AlertIssuer("xj-eew")
    m1 = iss.issue(make(1, issued_s=5.0))
    m2 = iss.issue(make(2, mag=6.8, issued_s=7.0))
    m3 = iss.issue(make(3, cancelled=True, issued_s=9.0))
    return m1, m2, m3


# --------------------------------------------------------------------------- JSON and schema

def test_json_round_trip_all_types(alert_factory):
    for msg in _issue_three(alert_factory):
        data = msg.to_json()
        doc = json.loads(data)
        assert validation_errors(doc) == []
        back = message_from_json(data)
        assert back == msg
        assert back.to_json() == data


def test_json_fields_and_shaking_time(alert_factory):
    m1, m2, _ = _issue_three(alert_factory)
    doc = json.loads(m2.to_json())
    assert doc["format"] == "tianshan-eew-alert/1" and doc["msg_type"] == "update" and doc["sequence"] == 2
    assert doc["identifier"] == "xj-eew.ev-1.2"
    assert doc["references"] == [{"sender": "xj-eew", "identifier": "xj-eew.ev-1.1",
                                  "sent": "2024-06-01T08:00:05.000000Z"}]
    assert doc["sent"] == "2024-06-01T08:00:07.000000Z"
    kuqa = [t for t in doc["targets"] if t["place"] == "Kuqa"][0]
    assert kuqa["shaking_at"] == "2024-06-01T08:00:33.000000Z"  # sent + 26 s
    assert doc["text"]["zh-CN"] and doc["text"]["en-US"]


@pytest.mark.parametrize("mutate, where", [
    (lambda d: d.pop("sequence"), "sequence"),
    (lambda d: d.__setitem__("sequence", -1), "sequence"),
    (lambda d: d.__setitem__("sequence", "3"), "sequence"),
    (lambda d: d.__setitem__("msg_type", "ack"), "msg_type"),
    (lambda d: d.__setitem__("level", "panic"), "level"),
    (lambda d: d.__setitem__("extra", 1), "extra"),
    (lambda d: d.__setitem__("sent", "yesterday"), "sent"),
    (lambda d: d.__setitem__("identifier", "has space"), "identifier"),
    (lambda d: d["origin"].__setitem__("latitude_deg", 91.0), "latitude_deg"),
    (lambda d: d["origin"].__setitem__("magnitude", True), "magnitude"),
    (lambda d: d["area"]["circles"][0].__setitem__("radius_m", -5), "radius_m"),
    (lambda d: d["targets"][0].__setitem__("intensity", 13), "intensity"),
    (lambda d: d["text"].pop("en-US"), "en-US"),
])
def test_schema_refuses_bad_documents(alert_factory, mutate, where):
    msg = AlertIssuer().issue(alert_factory())
    doc = json.loads(msg.to_json())
    mutate(doc)
    errors = validation_errors(doc)
    assert errors and any(where in e for e in errors), errors
    with pytest.raises(InputError):
        message_from_dict(doc)


def test_from_json_refuses_non_json_and_nan(alert_factory):
    with pytest.raises(InputError, match="not JSON"):
        message_from_json(b"{not json")
    with pytest.raises(InputError, match="not JSON"):
        message_from_json(b"\xff\xfe")
    data = AlertIssuer().issue(alert_factory()).to_json().replace(b'"magnitude":6.5', b'"magnitude":NaN')
    with pytest.raises(InputError, match="not JSON"):
        message_from_json(data)
    with pytest.raises(InputError):
        message_from_json(b"[1, 2]")


def test_domain_inconsistencies_become_input_errors(alert_factory):
    doc = json.loads(AlertIssuer().issue(alert_factory()).to_json())
    doc["msg_type"] = "update"  # an update without references
    with pytest.raises(InputError, match="reference"):
        message_from_dict(doc)
    doc = json.loads(AlertIssuer().issue(alert_factory()).to_json())
    doc["area"] = {"circles": [], "polygons": []}
    with pytest.raises(InputError, match="area"):
        message_from_dict(doc)


def test_schema_file_is_package_data_with_supported_keywords():
    schema = load_schema()
    assert schema["properties"]["format"]["const"] == "tianshan-eew-alert/1"
    assert set(schema["required"]) >= {"sequence", "msg_type", "event_id", "area", "text"}


# --------------------------------------------------------------------------- sequence rules

def test_issuer_types_references_and_cancel_area(alert_factory):
    m1, m2, m3 = _issue_three(alert_factory)
    assert [m.msg_type for m in (m1, m2, m3)] == [MessageType.ALERT, MessageType.UPDATE, MessageType.CANCEL]
    assert m1.references == ()
    assert [r.identifier for r in m3.references] == ["xj-eew.ev-1.1", "xj-eew.ev-1.2"]
    # the cancel goes where the earlier messages went (no new circle of its own)
    assert m3.area == m2.area
    for c in m1.area.circles:
        assert intersects(c, m3.area)


def test_issuer_refuses_old_sequence_and_orphan_cancel(alert_factory):
    iss = AlertIssuer()
    iss.issue(alert_factory(2))
    with pytest.raises(DomainError, match="not above"):
        iss.issue(alert_factory(2))
    with pytest.raises(DomainError, match="not above"):
        iss.issue(alert_factory(1))
    with pytest.raises(DomainError, match="never alerted"):
        iss.issue(alert_factory(1, event_id="other", cancelled=True))


def test_sequence_tracker_drops_stale_and_duplicates():
    clock = [0.0]
    tr = SequenceTracker(max_events=3, ttl_s=100.0, clock=lambda: clock[0])
    assert tr.accept("a", 1) and tr.accept("a", 3)
    assert not tr.accept("a", 2) and not tr.accept("a", 3)
    assert tr.accept("a", 4) and tr.last("a") == 4
    assert tr.accept("b", 1)
    assert tr.stale == 2 and tr.accepted == 4
    # bounded memory: the oldest event is forgotten beyond max_events, and after ttl_s
    tr.accept("c", 1)
    tr.accept("d", 1)
    assert tr.last("a") is None and tr.last("d") == 1
    clock[0] = 500.0
    tr.accept("e", 1)
    assert tr.last("b") is None and tr.last("e") == 1


# --------------------------------------------------------------------------- areas and filters

def test_area_from_alert_reaches_strong_targets(alert_factory):
    a = alert_factory()
    area = area_from_alert(a, min_intensity=6.0, margin_m=10_000.0)
    c = area.circles[0]
    d_kuqa = haversine_m(a.latitude_deg, a.longitude_deg, 41.72, 82.96)
    assert c.radius_m == pytest.approx(d_kuqa + 10_000.0)  # Kuqa (6.4) is the farthest >= 6
    assert area_from_alert(a, min_intensity=9.0).circles[0].radius_m == 50_000.0


def test_filters_intersections():
    area = AlertArea(circles=(Circle(41.9, 84.3, 100_000.0),))
    assert intersects(None, area)
    assert intersects(BBox(84.0, 41.5, 85.0, 42.0), area)               # overlaps the centre
    assert intersects(BBox(85.3, 41.0, 86.0, 43.0), area)               # edge ~ 83 km east
    assert not intersects(BBox(86.0, 41.0, 87.0, 43.0), area)           # ~ 142 km east
    assert not intersects(BBox(100, 20, 110, 30), area)
    assert intersects(Circle(42.9, 84.3, 20_000.0), area)               # 111 km - 100 km < 20 km
    assert not intersects(Circle(42.9, 84.3, 5_000.0), area)
    poly = AlertArea(polygons=(Polygon(((41.0, 84.0), (41.0, 85.0), (42.0, 85.0), (42.0, 84.0))),))
    assert intersects(BBox(84.4, 41.4, 84.6, 41.6), poly)               # box inside polygon
    assert intersects(BBox(83.0, 40.0, 86.0, 43.0), poly)               # polygon inside box
    assert intersects(BBox(84.9, 40.5, 86.0, 41.5), poly)               # crossing edges
    assert not intersects(BBox(86.0, 41.0, 87.0, 42.0), poly)
    assert intersects(Circle(41.5, 84.5, 1.0), poly)                    # centre inside
    assert intersects(Circle(41.5, 85.2, 20_000.0), poly)               # ~ 16.7 km from the east edge
    assert not intersects(Circle(41.5, 85.3, 20_000.0), poly)           # ~ 25 km


def test_parse_filter_forms_and_errors():
    assert parse_filter({}) is None and parse_filter({"all": True}) is None
    assert parse_filter({"bbox": [80, 40, 90, 45]}) == BBox(80, 40, 90, 45)
    assert parse_filter({"circle": [41.0, 84.0, 30]}) == Circle(41.0, 84.0, 30_000.0)
    assert parse_filter({"circle": {"latitude_deg": 41, "longitude_deg": 84, "radius_m": 5}}) == Circle(41, 84, 5)
    for bad in ({"bbox": [1, 2, 3]}, {"bbox": [90, 40, 80, 45]}, {"bbox": "x"}, {"circle": [41, 84]},
                {"circle": [95, 84, 1]}, {"bbox": [1, 2, 3, 4], "circle": [1, 2, 3]}, {"all": False},
                {"bbox": [True, 1, 2, 3]}, [1, 2]):
        with pytest.raises(DomainError):
            parse_filter(bad)


def test_merge_areas_keeps_union_and_bounds_circle_count():
    a = AlertArea(circles=(Circle(41.0, 84.0, 50_000.0),))
    b = AlertArea(circles=(Circle(41.0, 84.0, 20_000.0),))   # inside a
    assert merge_areas([a, b]).circles == a.circles
    many = [AlertArea(circles=(Circle(41.0 + 0.1 * i, 84.0, 30_000.0),)) for i in range(8)]
    m = merge_areas(many, max_circles=4)
    assert len(m.circles) == 1
    for area in many:  # the enclosing circle contains every original circle
        c = area.circles[0]
        assert haversine_m(m.circles[0].latitude_deg, m.circles[0].longitude_deg,
                           c.latitude_deg, c.longitude_deg) + c.radius_m <= m.circles[0].radius_m + 1e-6


def test_region_cells_and_names():
    area = AlertArea(circles=(Circle(41.5, 84.5, 10_000.0),))
    assert region_cells(area) == ["N41E084"]
    big = AlertArea(circles=(Circle(41.5, 84.5, 120_000.0),))
    cells = region_cells(big)
    assert "N41E084" in cells and "N42E084" in cells and "N41E085" in cells and len(cells) <= 9
    assert cell_name(-33.4, -70.6) == "S34W071"
    assert cell_name(41.7, 84.6, 0.5) == "N41.5E084.5"


# --------------------------------------------------------------------------- texts

def test_texts_are_bilingual_and_name_strongest_targets(alert_factory):
    a = alert_factory()
    zh, en = alert_text(a, "alert", "新疆轮台", "Luntai, Xinjiang")
    assert "地震预警" in zh and "6.5级" in zh and "新疆轮台" in zh and "Luntai预计烈度VIII度" in zh
    assert "magnitude 6.5" in en and "Luntai: intensity VIII expected in about 3 s" in en
    assert zh.index("Luntai") < zh.index("Kuqa")  # strongest first
    zc, ec = alert_text(alert_factory(3, cancelled=True), "cancel")
    assert "取消" in zc and "CANCELLED" in ec
    assert [roman(x) for x in (0.2, 5.5, 6.49, 12.7)] == ["I", "VI", "VI", "XII"]
    assert intensity_degree(7.5) == 8


def test_alert_target_validation_is_the_core_objects(alert_factory):
    with pytest.raises(DomainError):
        AlertTarget("x", 41.0, 84.0, 14.0, 3.0)
    with pytest.raises(DomainError):
        AlertTarget("x", 41.0, 84.0, 5.0, math.nan)
    msg = AlertIssuer().issue(alert_factory())
    assert isinstance(msg, AlertMessage) and msg.sent - msg.alert.origin_time == timedelta(seconds=6)
