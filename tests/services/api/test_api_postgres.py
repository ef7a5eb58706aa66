"""The REST API over a real PostgreSQL store (a throw-away schema): reads, review, tokens, audit, injection.

Skips when no server answers on 127.0.0.1:5432 (or ``$TIANSHAN_TEST_PG_URL``), except under ``CI=true``.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

pytestmark = pytest.mark.service


@pytest.fixture(scope="module")
def pg(helpers, tmp_path_factory):
    ff = helpers.fdsn()
    with ff.PgSchema(ff.pg_server_url()) as schema:
        yield helpers.populate(schema.url, tmp_path_factory.mktemp("api_pg"))


@pytest.fixture(scope="module")
def pg_client(pg, helpers):
    from fastapi.testclient import TestClient

    from tianshan.services.api.app import create_app

    with TestClient(create_app(pg.url, region=helpers.small_region(), rate_limit_per_s=None, poll_s=None)) as c:
        yield c


def test_postgres_reads(pg_client, pg):
    body = pg_client.get("/api/v1/events?minlatitude=41&maxlatitude=43&minlongitude=84&maxlongitude=87").json()
    assert {e["id"] for e in body["events"]} == {pg.events[1].id, pg.events[2].id}
    detail = pg_client.get(f"/api/v1/events/{quote(pg.events[1].id, safe='')}").json()
    assert [o["version"] for o in detail["origins"]] == [1, 2, 3]
    qc = {s["station"]: s["qc"] for s in pg_client.get("/api/v1/stations").json()["stations"]}
    assert qc == {"LUNT": "fail", "KORL": "warn", "SECR": "ok"}
    assert [a["sequence"] for a in pg_client.get("/api/v1/alerts").json()["alerts"]] == [3, 2, 1]


def test_postgres_review_tokens_audit_and_injection(pg_client, pg, helpers):
    ev = pg.events[0].id
    analyst, admin = helpers.auth(pg.tokens["analyst"]), helpers.auth(pg.tokens["admin"])
    url = f"/api/v1/events/{quote(ev, safe='')}/review"
    assert pg_client.post(url, json={"action": "accept"}).status_code == 401
    reply = pg_client.post(url, json={"action": "relocate", "depth_km": 7.5, "comment": "' OR 1=1; --"},
                           headers=analyst)
    assert reply.status_code == 200 and reply.json()["event"]["depth_km"] == 7.5
    made = pg_client.post("/api/v1/tokens", json={"user": "pg'); DROP TABLE events; --", "role": "analyst"},
                          headers=admin).json()
    assert pg_client.get("/api/v1/events", headers=helpers.auth(made["token"])).json()["count"] == 5
    for bad in ("' OR '1'='1", "x\x00y"):
        q = quote(bad, safe="")
        assert pg_client.get(f"/api/v1/events/{q}").status_code in (400, 404)
        assert pg_client.get(f"/api/v1/audit?user={q}", headers=admin).status_code in (200, 400)
    assert pg_client.post(url, json={"action": "accept", "comment": "a\x00b"}, headers=analyst).status_code == 400
    entries = pg_client.get("/api/v1/audit", headers=admin).json()["entries"]
    assert [(e["user"], e["status"]) for e in entries[:4]] == [
        ("analyst-user", 400), ("admin-user", 200), ("analyst-user", 200), ("anonymous", 401)]
