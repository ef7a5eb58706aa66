"""Writes and security of the REST API: reviews, roles, tokens, audit, restrictions, rate limit, SQL injection."""

from __future__ import annotations

from urllib.parse import quote

import pytest

#: Classic injection strings (quotes, comments, stacked statements, UNION, boolean tautologies, NUL).
INJECTIONS = ["' OR '1'='1", "\" OR \"\"=\"", "1; DROP TABLE events; --", "x' UNION SELECT digest FROM api_tokens --",
              "'); DELETE FROM api_audit; --", "%' OR 1=1 --", "\\'; SELECT pg_sleep(1); --", "a\x00b"]


def _eid(event_id: str) -> str:
    return quote(event_id, safe="")


def _review(client, event_id, token=None, **body):
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return client.post(f"/api/v1/events/{_eid(event_id)}/review", json=body, headers=headers)


def test_writes_without_a_token_are_refused_and_audited(client, populated, helpers):
    ev = populated.events[0].id
    for reply in (_review(client, ev, action="accept"),
                  client.post("/api/v1/tokens", json={"user": "x", "role": "admin"}),
                  client.post("/api/v1/restrictions", json={"kind": "event", "key": ev}),
                  _review(client, ev, action="bogus")):  # refused before the body is even looked at
        assert reply.status_code == 401 and reply.json()["error"]["code"] == "authentication_required"
        assert reply.headers["www-authenticate"].startswith("Bearer")
    audit = client.get("/api/v1/audit?user=anonymous", headers=helpers.auth(populated.tokens["admin"])).json()
    assert audit["count"] >= 4 and {e["status"] for e in audit["entries"]} == {401}
    assert all(e["address"] == "testclient" and e["role"] == "public" for e in audit["entries"])


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 5000])
def test_bad_tokens_are_401_even_for_reads(client, header):
    reply = client.get("/api/v1/events", headers={"Authorization": header})
    assert reply.status_code == 401 and reply.json()["error"]["code"] == "invalid_token"


def test_expired_and_revoked_tokens_are_refused(client, populated, helpers):
    for name in ("expired", "revoked"):
        assert client.get("/api/v1/audit", headers=helpers.auth(populated.tokens[name])).status_code == 401


def test_role_checks(client, populated, helpers):
    analyst, operator = helpers.auth(populated.tokens["analyst"]), helpers.auth(populated.tokens["operator"])
    assert client.get("/api/v1/audit").status_code == 401
    assert client.get("/api/v1/audit", headers=analyst).status_code == 403
    assert client.get("/api/v1/audit", headers=operator).status_code == 403
    assert client.post("/api/v1/tokens", json={"user": "x", "role": "admin"}, headers=operator).status_code == 403
    assert client.get("/api/v1/tokens", headers=analyst).status_code == 403
    reply = client.post("/api/v1/restrictions", json={"kind": "station", "key": "TS.LUNT"}, headers=analyst)
    assert reply.status_code == 403 and reply.json()["error"]["code"] == "forbidden"


def test_review_actions_make_versions_and_are_recorded(client, populated, helpers):
    ev = populated.events[2]
    tok = populated.tokens["analyst"]
    reply = _review(client, ev.id, tok, action="accept", comment="looks right 看过了")
    assert reply.status_code == 200
    body = reply.json()
    assert body["event"]["status"] == "reviewed" and body["event"]["n_origins"] == 2
    assert body["review"]["user"] == "analyst-user" and body["review"]["comment"] == "looks right 看过了"
    reply = _review(client, ev.id, tok, action="relocate", latitude=42.6, depth_km=12.5)
    assert reply.status_code == 200
    row = reply.json()["event"]
    assert (row["latitude"], row["longitude"], row["depth_km"]) == (42.6, 86.0, 12.5)
    assert _review(client, ev.id, tok, action="set_type", event_type="explosion").json()["event"]["event_type"] == \
        "explosion"
    assert _review(client, ev.id, tok, action="publish").json()["event"]["status"] == "final"
    refused = _review(client, ev.id, tok, action="accept")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "already_final"
    detail = client.get(f"/api/v1/events/{_eid(ev.id)}").json()
    assert [r["action"] for r in detail["reviews"]] == ["accept", "relocate", "set_type", "publish"]
    assert {r["user"] for r in detail["reviews"]} == {"analyst-user"}
    assert [(o["version"], o["evaluation_mode"], o["evaluation_status"]) for o in detail["origins"]] == [
        (1, "automatic", "preliminary"), (2, "manual", "reviewed"), (3, "manual", "reviewed"),
        (4, "manual", "final")]
    assert detail["origins"][0]["latitude"] == ev.origins[0].latitude_deg  # history kept as it was
    audit = client.get("/api/v1/audit?user=analyst-user", headers=helpers.auth(populated.tokens["admin"])).json()
    assert [e["status"] for e in audit["entries"]][:5] == [409, 200, 200, 200, 200]
    assert audit["entries"][1]["details"]["request"]["action"] == "publish"
    assert audit["entries"][1]["details"]["event_id"] == ev.id and audit["entries"][1]["method"] == "POST"


@pytest.mark.parametrize("body, status", [
    ({"action": "relocate"}, 400), ({"action": "set_type"}, 400), ({"action": "set_type", "event_type": "ufo"}, 400),
    ({"action": "relocate", "latitude": 95}, 400), ({"action": "accept", "extra": 1}, 400),
    ({"action": "accept", "comment": "x" * 5000}, 400), ({"action": "delete"}, 400)])
def test_bad_review_requests(client, populated, body, status):
    reply = _review(client, populated.events[0].id, populated.tokens["analyst"], **body)
    assert reply.status_code == status and reply.json()["error"]["code"] == "invalid_request"


def test_review_of_unknown_or_hidden_event_is_404(client, populated):
    assert _review(client, "nope", populated.tokens["analyst"], action="accept").status_code == 404


def test_tokens_created_listed_revoked_and_stored_hashed(client, populated, helpers):
    from sqlalchemy import create_engine, text

    admin = helpers.auth(populated.tokens["admin"])
    made = client.post("/api/v1/tokens", json={"user": "wang.fang", "role": "operator"}, headers=admin)
    assert made.status_code == 200
    token, info = made.json()["token"], made.json()["info"]
    assert info["role"] == "operator" and info["created_by"] == "admin-user"
    assert client.post("/api/v1/restrictions", json={"kind": "station", "key": "TS.SECR"},
                       headers=helpers.auth(token)).status_code == 200
    assert "SECR" not in {s["station"] for s in client.get("/api/v1/stations").json()["stations"]}
    assert "SECR" in {s["station"] for s in client.get("/api/v1/stations", headers=admin).json()["stations"]}
    listed = client.get("/api/v1/tokens", headers=admin).json()["tokens"]
    assert info["id"] in {t["id"] for t in listed} and all("token" not in t for t in listed)
    engine = create_engine(populated.url)
    with engine.connect() as conn:
        cells = [str(v) for row in conn.execute(text("SELECT * FROM api_tokens")) for v in row]
        audit_cells = [str(v) for row in conn.execute(text("SELECT * FROM api_audit")) for v in row]
    engine.dispose()
    assert token not in " ".join(cells) and token not in " ".join(audit_cells)
    assert client.delete(f"/api/v1/tokens/{info['id']}", headers=admin).json()["revoked_at"] is not None
    assert client.get("/api/v1/events", headers=helpers.auth(token)).status_code == 401
    assert client.delete("/api/v1/tokens/tok-none", headers=admin).status_code == 404


def test_sql_injection_strings_are_harmless(client, populated, helpers):
    from tianshan.store import EventStore

    admin, analyst = helpers.auth(populated.tokens["admin"]), populated.tokens["analyst"]
    before = client.get("/api/v1/events", headers=admin).json()["count"]
    for s in INJECTIONS:
        q = quote(s, safe="")
        nul = "\x00" in s  # NUL: refused (400) everywhere, as PostgreSQL text cannot hold it
        assert client.get(f"/api/v1/events/{q}").status_code == (400 if nul else 404)
        assert client.get(f"/api/v1/events/{q}/products/{q}").status_code == (400 if nul else 404)
        assert client.get(f"/api/v1/stations/{q}/qc").status_code in (400, 404)
        assert client.get(f"/api/v1/events?starttime={q}").status_code == 400
        assert client.get(f"/api/v1/events?orderby={q}").status_code == 400
        assert client.get(f"/api/v1/audit?user={q}", headers=admin).status_code == (400 if nul else 200)
        assert client.get(f"/api/v1/audit?user={q}", headers=admin).json().get("count", 0) == 0
        assert client.delete(f"/api/v1/tokens/{q}", headers=admin).status_code == (400 if nul else 404)
        assert _review(client, s, analyst, action="accept").status_code == (400 if nul else 404)
        ok = 400 if nul else 200
        assert _review(client, populated.events[3].id, analyst, action="set_type", event_type="earthquake",
                       comment=s).status_code == ok
        assert client.post("/api/v1/tokens", json={"user": s, "role": "analyst"}, headers=admin).status_code == ok
        assert client.post("/api/v1/restrictions", json={"kind": "event", "key": s, "reason": s},
                           headers=admin).status_code == ok
        assert client.get("/api/v1/events", headers={"Authorization": f"Bearer {s}"}).status_code == 401
    assert client.get("/api/v1/events", headers=admin).json()["count"] == before
    comments = [r["comment"] for r in client.get(f"/api/v1/events/{_eid(populated.events[3].id)}").json()["reviews"]]
    assert comments == [s for s in INJECTIONS if "\x00" not in s]  # stored verbatim, as data
    with EventStore.open(populated.url) as store:
        assert store.counts()["events"] == 5
        from tianshan.store.access import AccessStore

        assert AccessStore(store).audit(limit=1)[0] > 0


def test_rate_limit_per_client_with_retry_after(populated, helpers):
    from fastapi.testclient import TestClient

    from tianshan.services.api.app import create_app

    app = create_app(populated.url, rate_limit_per_s=0.01, rate_burst=3, poll_s=None)
    with TestClient(app) as c:
        codes = [c.get("/api/v1/events?limit=1").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = c.get("/api/v1/events")
        assert limited.json()["error"]["code"] == "rate_limited" and int(limited.headers["retry-after"]) >= 1
        # a token has a bucket of its own
        assert c.get("/api/v1/events", headers=helpers.auth(populated.tokens["analyst"])).status_code == 200
        # refused writes are still audited
        assert c.post("/api/v1/tokens", json={"user": "x", "role": "admin"}).status_code == 429
    with TestClient(create_app(populated.url, rate_limit_per_s=None, poll_s=None)) as c:
        last = c.get("/api/v1/audit?limit=1", headers=helpers.auth(populated.tokens["admin"])).json()["entries"][0]
        assert (last["method"], last["path"], last["status"]) == ("POST", "/api/v1/tokens", 429)
