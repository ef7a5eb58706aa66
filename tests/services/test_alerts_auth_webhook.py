"""Publisher HMAC authentication and signed webhooks (real local HTTP receivers)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tianshan.core.errors import InputError
from tianshan.products.alerts.message import AlertIssuer
from tianshan.services.alerts.auth import (AuthError, PublisherKey, PublishVerifier, generate_key, load_keys,
                                           sign_request, write_keys)
from tianshan.services.alerts.client import Publisher
from tianshan.services.alerts.server import AlertServer, ServerConfig
from tianshan.services.alerts.webhook import (ID_HEADER, SIGNATURE_HEADER, WebhookEndpoint, WebhookSender,
                                              sign_webhook, verify_webhook)

SECRET = bytes(range(32))


# --------------------------------------------------------------------------- publisher auth

def test_verifier_accepts_signed_and_refuses_each_forgery():
    key = PublisherKey("eew1", SECRET)
    now = [1_700_000_000.0]
    v = PublishVerifier([key], max_skew_s=30, clock=lambda: now[0])
    body = b'{"x": 1}'
    h = sign_request(key, "POST", "/v1/alerts", body, timestamp=now[0])
    assert v.verify("POST", "/v1/alerts", h, body) == "eew1"
    with pytest.raises(AuthError) as e:
        v.verify("POST", "/v1/alerts", h, body)
    assert e.value.reason == "replay"
    for headers, b, reason in [
        ({**sign_request(key, "POST", "/v1/alerts", body, timestamp=now[0]), "X-Tianshan-Signature": "0" * 64}, body,
         "bad-signature"),
        (sign_request(key, "POST", "/v1/alerts", body, timestamp=now[0]), body + b" ", "bad-signature"),
        (sign_request(key, "POST", "/v1/alerts", body, timestamp=now[0] - 31), body, "stale"),
        (sign_request(key, "POST", "/v1/alerts", body, timestamp=now[0] + 31), body, "stale"),
        (sign_request(PublisherKey("eew2", SECRET), "POST", "/v1/alerts", body, timestamp=now[0]), body, "unknown-key"),
        ({**sign_request(key, "POST", "/v1/alerts", body, timestamp=now[0]), "X-Tianshan-Nonce": "short"}, body,
         "malformed"),
        ({}, body, "malformed"),
    ]:
        with pytest.raises(AuthError) as e:
            v.verify("POST", "/v1/alerts", headers, b)
        assert e.value.reason == reason
    # header names are case-insensitive (HTTP); the nonce expires after 2 x skew, then the timestamp refuses anyway
    lower = {k.lower(): val for k, val in sign_request(key, "POST", "/v1/alerts", body, timestamp=now[0]).items()}
    assert v.verify("POST", "/v1/alerts", lower, body) == "eew1"
    assert v.refused == {"replay": 1, "bad-signature": 2, "stale": 2, "unknown-key": 1, "malformed": 2}


def test_nonce_cache_fails_closed_when_full():
    key = PublisherKey("eew1", SECRET)
    v = PublishVerifier([key], nonce_capacity=3, clock=lambda: 1_700_000_000.0)
    for _ in range(3):
        v.verify("POST", "/p", sign_request(key, "POST", "/p", b"", timestamp=1_700_000_000), b"")
    with pytest.raises(AuthError) as e:
        v.verify("POST", "/p", sign_request(key, "POST", "/p", b"", timestamp=1_700_000_000), b"")
    assert e.value.reason == "busy"


def test_key_files_round_trip_and_errors(tmp_path):
    path = write_keys(tmp_path / "keys.json", [generate_key("a"), generate_key("b")])
    assert (path.stat().st_mode & 0o777) == 0o600
    keys = load_keys(path)
    assert [k.key_id for k in keys] == ["a", "b"] and all(len(k.secret) == 32 for k in keys)
    assert "secret=<32 bytes>" in repr(keys[0])
    (tmp_path / "bad.json").write_text('{"a": "zz"}')
    with pytest.raises(InputError, match="hex"):
        load_keys(tmp_path / "bad.json")
    (tmp_path / "short.json").write_text('{"a": "0011"}')
    with pytest.raises(InputError, match="shorter"):
        load_keys(tmp_path / "short.json")
    with pytest.raises(InputError, match="not found"):
        load_keys(tmp_path / "missing.json")
    with pytest.raises(InputError):
        PublishVerifier([])


# --------------------------------------------------------------------------- webhooks

def test_webhook_signature_verification():
    body = b'{"a":1}'
    header = sign_webhook(SECRET, body, timestamp=1_700_000_000)
    verify_webhook(SECRET, header, body, now=1_700_000_100)
    for h, b, now, reason in [(header, b'{"a":2}', 1_700_000_100, "bad-signature"),
                              (sign_webhook(b"y" * 32, body, 1_700_000_000), body, 1_700_000_100, "bad-signature"),
                              (header, body, 1_700_000_400, "stale"),
                              ("t=1,v1=abc", body, 1, "malformed"), ("", body, 1, "malformed")]:
        with pytest.raises(AuthError) as e:
            verify_webhook(SECRET, h, b, now=now)
        assert e.value.reason == reason


class _Receiver:
    """A real HTTP server; ``plan`` lists the status codes of the first answers (then 200)."""

    def __init__(self, plan=(), secret=SECRET) -> None:
        self.plan = list(plan)
        self.got: list[tuple[bytes, dict, bool]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    verify_webhook(secret, self.headers[SIGNATURE_HEADER], body)
                    ok = True
                except AuthError:
                    ok = False
                outer.got.append((body, dict(self.headers), ok))
                code = outer.plan.pop(0) if outer.plan else (200 if ok else 401)
                self.send_response(code)
                if code == 429:
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _closed_port_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/hook"


def test_webhook_retries_with_backoff_and_signs_every_attempt():
    flaky, refusing, wrong_secret = _Receiver([503, 429]), _Receiver([400]), _Receiver(secret=b"z" * 32)
    try:
        sender = WebhookSender([WebhookEndpoint(flaky.url, SECRET), WebhookEndpoint(refusing.url, SECRET),
                                WebhookEndpoint(_closed_port_url(), SECRET),
                                WebhookEndpoint(wrong_secret.url, SECRET)],
                               max_attempts=4, backoff_base_s=0.01, backoff_max_s=0.05, timeout_s=5)
        results = asyncio.run(sender.send(b'{"hello":"world"}', "msg-1"))
    finally:
        for r in (flaky, refusing, wrong_secret):
            r.close()
    ok, bad400, dead, unauth = results
    assert (ok.ok, ok.attempts, ok.status) == (True, 3, 200)            # 503, 429, then 200
    assert all(sig_ok for _, _, sig_ok in flaky.got) and len(flaky.got) == 3
    assert flaky.got[0][1][ID_HEADER] == "msg-1" and flaky.got[0][0] == b'{"hello":"world"}'
    assert (bad400.ok, bad400.attempts, bad400.status) == (False, 1, 400)  # 4xx is final
    assert (dead.ok, dead.attempts, dead.status) == (False, 4, None)      # connection refused, retried
    assert (unauth.ok, unauth.attempts, unauth.status) == (False, 1, 401)  # receiver refused our signature
    assert sender.stats.as_dict() == {"messages": 1, "delivered": 1, "failed": 3, "attempts": 9, "retries": 5}


def test_backoff_is_exponential_with_equal_jitter():
    s = WebhookSender([], backoff_base_s=0.5, backoff_max_s=8.0)
    for attempt, full in ((1, 0.5), (2, 1.0), (3, 2.0), (6, 8.0), (9, 8.0)):
        for _ in range(20):
            assert full / 2 <= s.backoff_s(attempt) <= full
    assert s.backoff_s(1, retry_after_s=3.0) == 3.0 and s.backoff_s(1, retry_after_s=60.0) == 8.0


def test_server_hands_accepted_messages_to_webhooks(alert_factory):
    recv = _Receiver()

    async def scenario():
        key = generate_key("eew1")
        hooks = WebhookSender([WebhookEndpoint(recv.url, SECRET)], backoff_base_s=0.01)
        server = AlertServer(PublishVerifier([key]), ServerConfig(port=0, publish_port=0, workers=0), sinks=[hooks])
        async with server:
            msg = AlertIssuer().issue(alert_factory())
            with Publisher(server.publish_url, key) as pub:
                status, _ = await asyncio.to_thread(pub.publish, msg.to_json())
                assert status == 202
                forged = await asyncio.to_thread(Publisher(server.publish_url, PublisherKey("eew1", b"f" * 32)).publish,
                                                 AlertIssuer().issue(alert_factory(5)).to_json())
                assert forged[0] == 401
            await asyncio.wait_for(hooks.drain(), 10)
        return msg

    try:
        msg = asyncio.run(scenario())
    finally:
        recv.close()
    assert len(recv.got) == 1  # the forged publish reached nobody
    body, headers, sig_ok = recv.got[0]
    assert sig_ok and body == msg.to_json() and headers[ID_HEADER] == msg.identifier
    assert json.loads(body)["sequence"] == 1
