"""The daemon's HTTP endpoints over a real socket (urllib): routes, errors, health, metrics, timeline."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tianshan.runtime.http import HttpServer, Response


def _get(url: str, method: str = "GET", timeout: float = 10.0):
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        out = b""
        while chunk := s.recv(4096):
            out += chunk
    return out


def test_http_server_routes_and_errors():
    async def main():
        srv = HttpServer("127.0.0.1", 0)

        async def hello():
            return Response.json({"hello": "世界"})

        async def item(rest):
            return Response.text(f"item {rest}\n") if rest.isdigit() else None

        async def broken():
            raise RuntimeError("boom")

        srv.add("/hello", hello)
        srv.add("/broken", broken)
        srv.add_prefix("/items/", item)
        port = await srv.start()
        base = f"http://127.0.0.1:{port}"
        try:
            got = {}
            got["hello"] = await asyncio.to_thread(_get, base + "/hello?x=1")
            got["head"] = await asyncio.to_thread(_get, base + "/hello", "HEAD")
            got["item"] = await asyncio.to_thread(_get, base + "/items/42")
            got["noitem"] = await asyncio.to_thread(_get, base + "/items/abc")
            got["missing"] = await asyncio.to_thread(_get, base + "/nope")
            got["post"] = await asyncio.to_thread(_get, base + "/hello", "POST")
            got["broken"] = await asyncio.to_thread(_get, base + "/broken")
            got["garbage"] = await asyncio.to_thread(_raw, port, b"\x00\x01 not http\r\n\r\n")
            got["after"] = await asyncio.to_thread(_get, base + "/hello")  # still serving
        finally:
            await srv.close()
        return got, srv

    got, srv = asyncio.run(main())
    status, headers, body = got["hello"]
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"hello": "世界"} and int(headers["Content-Length"]) == len(body)
    assert got["head"][0] == 200 and got["head"][2] == b""
    assert got["item"][:1] == (200,) and got["item"][2] == b"item 42\n"
    assert got["noitem"][0] == 404 and got["missing"][0] == 404
    assert got["post"][0] == 405 and got["post"][1]["Allow"] == "GET, HEAD"
    assert got["broken"][0] == 500
    assert got["garbage"].startswith(b"HTTP/1.1 400 ")
    assert got["after"][0] == 200
    assert srv.errors == 2  # the garbage request and the broken route


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(tmp_path: Path, roles, extra: str = ""):
    from tianshan.runtime.config import load_run_config

    cfg = tmp_path / "tianshan.toml"
    cfg.write_text(f'data_dir = "data"\nregion = "demo"\n[run]\nlog_format = "text"\n{extra}\n'
                   '[run.http]\nport = 0\n', encoding="utf-8")
    return load_run_config(cfg, roles=roles, env={})


def _run_daemon(cfg, probe):
    """Start a daemon, run ``probe(daemon, base_url)`` in a thread, stop it; returns (exit code, probe result)."""
    from tianshan.runtime.daemon import Daemon

    async def main():
        d = Daemon(cfg)
        task = asyncio.create_task(d.run(install_signals=False))
        async with asyncio.timeout(60):
            while d.http_port is None or d.started_mono is None or not d.roles:
                if task.done():
                    await task
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)
            info = json.loads(cfg.http_json.read_text())
            assert info["port"] == d.http_port
            try:
                result = await asyncio.to_thread(probe, d, info["url"])
            finally:
                d.request_stop()
            rc = await task
        return rc, result, d

    return asyncio.run(main())


def test_daemon_health_metrics_and_timeline(tmp_path):
    from tianshan.core.timeline import TimelineEntry

    cfg = _config(tmp_path, ["picker", "products"])
    t0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)

    def probe(d, base):
        out = {"health": _get(base + "/health"), "metrics": _get(base + "/metrics"),
               "no_timeline": _get(base + "/events/nope/timeline"), "bad_path": _get(base + "/events/x/other"),
               "post": _get(base + "/metrics", "POST")}
        d.store.record_timeline([TimelineEntry("ev1", "origin_time", t0 + timedelta(seconds=9), t0),
                                 TimelineEntry("ev1", "first_origin", t0 + timedelta(seconds=12))])
        out["timeline"] = _get(base + "/events/ev1/timeline")
        return out

    rc, got, d = _run_daemon(cfg, probe)
    assert rc == 0
    status, _, body = got["health"]
    doc = json.loads(body)
    assert status == 200 and doc["status"] == "ok", doc
    assert doc["role"] == ["picker", "products"] and doc["bus"] == {"kind": "memory", "connected": True}
    assert set(doc["components"]) == {"picker", "products"} and doc["uptime_s"] >= 0
    assert doc["last_packet_age_s"] is None  # no data yet
    status, headers, body = got["metrics"]
    text = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    for name in ("tianshan_up{", "tianshan_picks_published_total 0.0", "tianshan_picks_per_minute",
                 "tianshan_packet_to_pick_latency_seconds_bucket", "tianshan_records_total{outcome=\"received\"}",
                 "tianshan_bus_lag{", "tianshan_buffer_total{counter=\"gaps\"}", "tianshan_stage_total{",
                 "tianshan_bus_connected 1.0"):
        assert name in text, name
    assert 'consumer="picker-packets"' in text  # the packet intake of a picker without acquisition
    assert got["no_timeline"][0] == 404 and got["bad_path"][0] == 404 and got["post"][0] == 405
    status, _, body = got["timeline"]
    tl = json.loads(body)
    assert status == 200 and [s["step"] for s in tl["steps"]] == ["origin_time", "first_origin"]
    assert tl["latencies_s"]["origin_time_to_first_origin_s"] == pytest.approx(12.0)
    assert not cfg.http_json.exists()  # removed at a clean stop


def test_health_is_degraded_while_a_source_is_down(tmp_path):
    port = _free_port()  # nothing listens there
    cfg = _config(tmp_path, ["acquisition"], f'[[run.seedlink]]\nport = {port}\nselectors = ["TS_*"]\n')

    def probe(d, base):
        return _get(base + "/health")

    rc, (status, _, body), d = _run_daemon(cfg, probe)
    doc = json.loads(body)
    assert rc == 0 and status == 503 and doc["status"] == "degraded"
    src = doc["components"]["acquisition"]["sources"][0]
    assert src == {"kind": "seedlink", "server": f"127.0.0.1:{port}", "connected": False,
                   "reconnects": src["reconnects"]}
