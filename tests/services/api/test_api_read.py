"""Read endpoints of the REST API over a populated SQLite store: events, products, stations, QC, alerts, region.

Expected answers come from the domain objects saved (``populated.events``), not from the SQL.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest


def _eid(event_id: str) -> str:
    return quote(event_id, safe="")


def test_event_list_is_complete_ordered_and_hides_restricted_events(client, populated, helpers):
    body = client.get("/api/v1/events").json()
    expected = sorted(populated.events, key=lambda e: e.preferred_origin.time, reverse=True)
    assert body["count"] == 4 and [e["id"] for e in body["events"]] == [e.id for e in expected]
    assert populated.restricted_id not in {e["id"] for e in body["events"]}
    row = next(e for e in body["events"] if e["id"] == populated.events[1].id)
    ev = populated.events[1]
    assert row["time"] == ev.preferred_origin.time.isoformat().replace("+00:00", "Z")
    assert row["latitude"] == pytest.approx(ev.preferred_origin.latitude_deg)
    assert row["depth_km"] == pytest.approx(ev.preferred_origin.depth_m / 1000.0)
    assert (row["magnitude"], row["magnitude_type"]) == (ev.preferred_magnitude.value, ev.preferred_magnitude.type)
    assert (row["n_origins"], row["n_magnitudes"]) == (3, 6)
    assert row["status"] == "automatic" and row["event_type"] == "earthquake"
    analyst = client.get("/api/v1/events", headers=helpers.auth(populated.tokens["analyst"])).json()
    assert analyst["count"] == 5 and populated.restricted_id in {e["id"] for e in analyst["events"]}


@pytest.mark.parametrize("query, expected", [
    ("minmagnitude=3.5", {1, 3}),
    ("maxmagnitude=3.5", {0, 2}),
    ("starttime=2024-05-01T12:00:00&endtime=2024-05-02T12:00:00", {1}),
    ("starttime=2024-05-01T14:00:00%2B02:00", {1, 2, 3}),  # 12:00 UTC
    ("minlatitude=41&maxlatitude=43&minlongitude=84&maxlongitude=87", {1, 2}),
    ("minlongitude=170&maxlongitude=80", {3}),  # across the antimeridian: 170..180 and -180..80
])
def test_event_filters(client, populated, query, expected):
    body = client.get(f"/api/v1/events?{query}").json()
    assert {e["id"] for e in body["events"]} == {populated.events[i].id for i in expected}
    assert body["count"] == len(expected)


def test_paging_and_orderings(client, populated):
    by_mag = [e["id"] for e in client.get("/api/v1/events?orderby=magnitude").json()["events"]]
    mags = {e.id: e.preferred_magnitude.value for e in populated.events}
    assert [mags[i] for i in by_mag] == sorted(mags.values(), reverse=True)
    asc = [e["id"] for e in client.get("/api/v1/events?orderby=time-asc").json()["events"]]
    assert asc == [e.id for e in populated.events]
    page = client.get("/api/v1/events?orderby=time-asc&limit=2&offset=1").json()
    assert page["count"] == 4 and [e["id"] for e in page["events"]] == asc[1:3]


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "offset=-1", "minmagnitude=nan", "minlatitude=91",
                                   "orderby=depth", "starttime=yesterday", "minmagnitude=1e400"])
def test_bad_parameters_are_400_with_an_error_body(client, query):
    reply = client.get(f"/api/v1/events?{query}")
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "invalid_request" and reply.json()["error"]["message"]


def test_event_detail_has_every_version_picks_products_timeline(client, populated):
    ev = populated.events[1]
    body = client.get(f"/api/v1/events/{_eid(ev.id)}").json()
    assert [o["version"] for o in body["origins"]] == [1, 2, 3]
    assert [o["id"] for o in body["origins"]] == [o.id for o in ev.origins]
    assert [o["preferred"] for o in body["origins"]] == [False, False, True]
    assert [o["depth_km"] for o in body["origins"]] == pytest.approx([o.depth_m / 1000 for o in ev.origins])
    assert sorted((m["type"], m["version"]) for m in body["magnitudes"]) == sorted(
        (m.type, m.version) for m in ev.magnitudes)
    assert [p["station"] for p in body["picks"]] == ["TS.LUNT", "TS.XINH", "TS.XINC"]
    assert body["picks"][0]["stream"] == "TS.LUNT.00.HHZ" and body["picks"][2]["phase"] == "S"
    names = {p["name"]: p for p in body["products"]}
    assert set(names) == {"map.png", "contours_cn.geojson", "report.html"}  # gone.png: file missing
    assert names["contours_cn.geojson"]["content_type"] == "application/geo+json"
    assert names["map.png"]["kind"] == "intensity_map" and names["report.html"]["kind"] == "file"
    assert set(body["timeline"]) == {"first_pick", "first_origin"}
    assert body["reviews"] == []


def test_product_files_are_served_and_nothing_else(client, populated):
    ev = populated.events[1]
    products = {p["name"]: p for p in client.get(f"/api/v1/events/{_eid(ev.id)}").json()["products"]}
    png = client.get(products["map.png"]["url"])
    assert png.status_code == 200 and png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
    html = client.get(products["report.html"]["url"])
    assert html.status_code == 200 and "速报" in html.text
    base = f"/api/v1/events/{_eid(ev.id)}/products/"
    for bad in ("..%2F..%2F..%2Fetc%2Fpasswd", "files/1/..%2F..%2Ftianshan.sqlite", "intensity_map/1/gone.png",
                "files/1/%2Fetc%2Fpasswd", "nothing"):
        reply = client.get(base + bad)
        assert reply.status_code == 404, bad
        assert reply.json()["error"]["code"] == "not_found"


def test_unknown_and_restricted_events_are_404_for_the_public(client, populated, helpers):
    assert client.get("/api/v1/events/nope").status_code == 404
    secret = f"/api/v1/events/{_eid(populated.restricted_id)}"
    assert client.get(secret).status_code == 404
    assert client.get(secret, headers=helpers.auth(populated.tokens["analyst"])).status_code == 200


def test_stations_with_qc_status(client):
    rows = {s["station"]: s for s in client.get("/api/v1/stations").json()["stations"]}
    assert set(rows) == {"LUNT", "KORL", "SECR"}
    assert (rows["LUNT"]["qc"], rows["KORL"]["qc"], rows["SECR"]["qc"]) == ("fail", "warn", "ok")
    assert rows["LUNT"]["latency_s"] is None and rows["LUNT"]["excluded"] is False
    assert rows["KORL"]["elevation_m"] == 1000.0
    qc = client.get("/api/v1/stations/TS.KORL/qc").json()
    assert qc["qc"] == "warn" and qc["count"] == 1
    assert qc["records"][0] == {"stream": "TS.KORL.00.HHZ", "kind": "gap", "start": "2024-05-01T11:00:00Z",
                                "end": "2024-05-01T11:01:00Z", "value": 60.0, "detail": "gap of 60 s"}
    assert client.get("/api/v1/stations/TS.LUNT/qc?kind=gap").json()["count"] == 0
    assert client.get("/api/v1/stations/XX.NONE/qc").status_code == 404
    assert client.get("/api/v1/stations/TSLUNT/qc").status_code == 400


def test_alerts_are_schema_valid_messages_newest_first(client, populated, helpers):
    from tianshan.products.alerts.message import message_from_dict

    alerts = client.get("/api/v1/alerts").json()["alerts"]
    assert [(a["event_id"], a["sequence"], a["msg_type"]) for a in alerts] == [
        (populated.alert_event, 3, "cancel"), (populated.alert_event, 2, "update"),
        (populated.alert_event, 1, "alert")]
    for a in alerts:
        message_from_dict(a)  # validates against alert.schema.json
    assert alerts[1]["targets"][0]["place"] == "Luntai" and alerts[1]["origin"]["magnitude"] == 6.5
    assert len(client.get("/api/v1/alerts?limit=1").json()["alerts"]) == 1
    everyone = client.get("/api/v1/alerts", headers=helpers.auth(populated.tokens["analyst"])).json()["alerts"]
    assert populated.restricted_id in {a["event_id"] for a in everyone}


def test_region_basemap_and_cities(client):
    doc = client.get("/api/v1/region/basemap").json()
    layers = {}
    for f in doc["features"]:
        layers.setdefault(f["properties"]["layer"], []).append(f)
    assert {k: len(v) for k, v in layers.items()} == {"fault": 1, "county": 1, "town": 2, "station": 3}
    assert layers["fault"][0]["geometry"]["type"] == "LineString"
    assert layers["county"][0]["properties"]["name_zh"] == "轮台县"
    assert len(client.get("/api/v1/region/basemap").content) < 2_000_000
    cities = client.get("/api/v1/region/cities").json()["cities"]
    assert [c["name"] for c in cities] == ["Korla", "Luntai County", "Luntai"]
    assert cities[0] == {"name": "Korla", "name_zh": "库尔勒", "latitude": 41.76, "longitude": 86.15,
                         "population": 549324, "kind": "city"}


def test_errors_have_the_contract_shape(client):
    reply = client.get("/api/v1/no-such-thing")
    assert reply.status_code == 404 and set(reply.json()["error"]) == {"code", "message"}
    assert client.put("/api/v1/events").status_code in (401, 405)
