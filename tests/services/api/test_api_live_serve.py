"""The live WebSocket feed, the combined ``tianshan serve`` application and the token commands."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

UTC = timezone.utc


def _next_of(ws, kind: str, limit: int = 20) -> dict:
    for _ in range(limit):
        msg = ws.receive_json()
        if msg["type"] == kind:
            return msg
    raise AssertionError(f"no {kind} message")


def test_live_feed_pushes_new_events_and_alerts_from_the_store(client, populated):
    from tianshan.core import Event, Magnitude, Origin
    from tianshan.core.alert import Alert, AlertLevel
    from tianshan.store import EventStore
    from tianshan.store.access import AccessStore

    with client.websocket_connect("/api/v1/live") as ws:
        hello = ws.receive_json()
        assert hello["type"] == "hello" and hello["data"]["role"] == "public"
        hidden = Event()
        o = Origin(datetime(2024, 6, 1, tzinfo=UTC), 41.5, 84.0, 8000.0)
        hidden = hidden.with_origin(o).with_magnitude(Magnitude("ML", 3.3, o.id))
        ev = Event(region_name="Luntai")
        o = Origin(datetime(2024, 6, 2, tzinfo=UTC), 41.8, 84.2, 9000.0)
        ev = ev.with_origin(o).with_magnitude(Magnitude("ML", 4.4, o.id))
        with EventStore.open(populated.url) as store:
            store.save_event(hidden)
            AccessStore(store).restrict("event", hidden.id, created_by="test")
            store.save_event(ev)
            store.save_alert(Alert(ev.id, 1, o.time, 41.8, 84.2, 9000.0, 4.4, AlertLevel.ADVISORY,
                                   issued_at=o.time + timedelta(seconds=4)))
        msg = _next_of(ws, "event")
        # the restricted event may or may not have been polled before its restriction, so skip it
        while msg["data"]["id"] == hidden.id:
            msg = _next_of(ws, "event")
        assert msg["data"]["id"] == ev.id and msg["data"]["magnitude"] == 4.4 and msg["data"]["n_origins"] == 1
        alert = _next_of(ws, "alert")
        assert alert["data"]["event_id"] == ev.id and alert["data"]["msg_type"] == "alert"
        client.app.state.api.hub.publish("station", {"network": "TS", "station": "LUNT", "latency_s": 1.5})
        assert _next_of(ws, "station")["data"]["latency_s"] == 1.5


def test_live_feed_keeps_restricted_events_from_the_public(client, populated, helpers):
    hub = client.app.state.api.hub
    with client.websocket_connect("/api/v1/live") as public, \
            client.websocket_connect(f"/api/v1/live?token={populated.tokens['analyst']}") as analyst:
        assert public.receive_json()["type"] == analyst.receive_json()["type"] == "hello"
        hub.publish("event", {"id": "secret"}, restricted=True)
        hub.publish("event", {"id": "open"})
        assert _next_of(analyst, "event")["data"]["id"] == "secret"
        assert _next_of(public, "event")["data"]["id"] == "open"


def test_live_feed_refuses_bad_tokens(client):
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/api/v1/live?token=wrong") as ws:
            ws.receive_json()


def test_combined_server_routes_api_fdsn_and_dashboard(populated, tmp_path, helpers):
    from fastapi.testclient import TestClient

    from tianshan.services.api.server import create_server

    (tmp_path / "index.html").write_text("<!doctype html><title>天山 dashboard</title>", "utf-8")
    app = create_server(populated.url, region=helpers.small_region(), dashboard_dir=tmp_path,
                        api_options={"rate_limit_per_s": None, "poll_s": None})
    with TestClient(app) as c:
        root = c.get("/", follow_redirects=False)
        assert root.status_code == 307 and root.headers["location"] == "/dashboard/"
        assert "天山 dashboard" in c.get("/dashboard/").text
        assert c.get("/api/v1/events").json()["count"] >= 4
        fdsn = c.get("/fdsnws/event/1/query?format=text&minmagnitude=5")
        assert fdsn.status_code == 200 and populated.events[3].id in fdsn.text
        assert c.get("/api/v1/openapi.json").json()["info"]["title"] == "Tianshan REST API"
        assert c.get("/dashboard/../../etc/passwd").status_code == 404
    bare = create_server(populated.url, dashboard_dir=tmp_path / "none", api_options={"poll_s": None})
    with TestClient(bare) as c:
        assert c.get("/", follow_redirects=False).headers["location"] == "/api/v1/docs"


def test_token_commands(populated, tmp_path):
    from click.testing import CliRunner

    from tianshan.cli.serve import command

    runner = CliRunner()
    made = runner.invoke(command, ["token", "create", "--user", "zhao", "--role", "operator", "--json",
                                   "--store", populated.url])
    assert made.exit_code == 0, made.output
    doc = json.loads(made.stdout)
    assert doc["token"].startswith("ts_") and doc["info"]["role"] == "operator"
    listed = runner.invoke(command, ["token", "list", "--store", populated.url])
    assert doc["info"]["id"] in listed.stdout and doc["token"] not in listed.stdout
    assert runner.invoke(command, ["token", "revoke", doc["info"]["id"], "--store", populated.url]).exit_code == 0
    bad = runner.invoke(command, ["token", "create", "--user", "zhao", "--role", "root", "--store", populated.url])
    assert bad.exit_code == 2
