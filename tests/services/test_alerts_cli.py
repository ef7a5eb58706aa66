"""``tianshan alerts``: keygen, cap, publish and listen against a served instance; bad input exits 2."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tianshan.cli.main import main
from tianshan.products.alerts.message import AlertIssuer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tianshan(*args: str, **kw) -> subprocess.Popen:
    code = "import sys; from tianshan.cli.main import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def test_keygen_and_cap(tmp_path, capsys, alert_factory):
    assert main(["alerts", "keygen", "--out", str(tmp_path / "k.json"), "--key-id", "pub1"]) == 0
    assert list(json.loads((tmp_path / "k.json").read_text())) == ["pub1"]
    msg_file = tmp_path / "m.json"
    msg_file.write_bytes(AlertIssuer().issue(alert_factory()).to_json())
    capsys.readouterr()
    assert main(["alerts", "cap", str(msg_file)]) == 0
    out = capsys.readouterr().out
    assert "<msgType>Alert</msgType>" in out and "urn:oasis:names:tc:emergency:cap:1.2" in out
    assert main(["alerts", "cap", str(msg_file), "--out", str(tmp_path / "m.xml")]) == 0
    assert (tmp_path / "m.xml").read_bytes().startswith(b"<?xml")


@pytest.mark.parametrize("argv, needle", [
    (["alerts", "cap", "missing.json"], "not found"),
    (["alerts", "cap", "{bad}"], "not found"),
    (["alerts", "publish", "--key-file", "KEYS"], "MESSAGE_FILE or --example"),
    (["alerts", "publish", "BADMSG", "--key-file", "KEYS"], "not JSON"),
    (["alerts", "publish", "--example", "--key-file", "KEYS", "--url", "http://127.0.0.1:9/v1/alerts"],
     "cannot reach"),
    (["alerts", "publish", "--example", "--key-file", "missing-keys.json"], "key file not found"),
    (["alerts", "publish", "--example", "--key-file", "KEYS", "--key-id", "nobody"], "no key 'nobody'"),
    (["alerts", "listen", "--lat", "41"], "both --lat and --lon"),
    (["alerts", "listen", "--bbox", "1,2,3"], "4 comma-separated"),
    (["alerts", "listen", "--url", "http://x"], "not a ws://"),
    (["alerts", "serve", "--key-file", "BADKEYS"], "hex"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, monkeypatch, argv, needle):
    from tianshan.services.alerts.auth import generate_key, write_keys

    monkeypatch.chdir(tmp_path)
    write_keys(tmp_path / "KEYS", [generate_key("k")])
    (tmp_path / "BADKEYS").write_text('{"k": "not hex"}')
    (tmp_path / "BADMSG").write_text("{nope")
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tianshan: error:") and needle in err[0], err


def test_serve_publish_listen_end_to_end(tmp_path, capsys):
    keys = tmp_path / "keys.json"
    assert main(["alerts", "keygen", "--out", str(keys)]) == 0
    ws_port, pub_port = _free_port(), _free_port()
    server = _tianshan("alerts", "serve", "--key-file", str(keys), "--port", str(ws_port), "--publish-port",
                       str(pub_port), "--workers", "1", "--json")
    listener = None
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{pub_port}/healthz", timeout=2) as r:
                    assert json.loads(r.read())["ok"]
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(f"server did not start: {server.stderr.read().decode()[-2000:]}")
                time.sleep(0.2)
        listener = _tianshan("alerts", "listen", "--url", f"ws://127.0.0.1:{ws_port}/alerts", "--lat", "41.7",
                             "--lon", "83.0", "--radius-km", "50", "--count", "2", "--timeout", "30", "--json")
        deadline = time.monotonic() + 20
        while True:  # wait until the listener is connected
            with urllib.request.urlopen(f"http://127.0.0.1:{pub_port}/v1/stats", timeout=2) as r:
                if json.loads(r.read())["fanout"]["clients"] == 1:
                    break
            if time.monotonic() > deadline:
                pytest.fail("listener did not connect")
            time.sleep(0.1)
        url = f"http://127.0.0.1:{pub_port}/v1/alerts"
        capsys.readouterr()
        assert main(["alerts", "publish", "--example", "--key-file", str(keys), "--url", url,
                     "--cap-out", str(tmp_path / "a.xml")]) == 0
        assert json.loads(capsys.readouterr().out)["status"] == 202
        assert (tmp_path / "a.xml").exists()
        assert main(["alerts", "publish", "--example", "--key-file", str(keys), "--url", url]) == 2  # stale
        assert "409" in capsys.readouterr().err
        assert main(["alerts", "publish", "--example", "--sequence", "2", "--cancel", "--key-file", str(keys),
                     "--url", url]) == 0
        out, err = listener.communicate(timeout=40)
        assert listener.returncode == 0, err.decode()
        lines = [json.loads(x) for x in out.decode().splitlines()]
        assert [x["msg_type"] for x in lines] == ["alert", "cancel"]
        first = lines[0]
        # Kuqa (4 km away) is the nearest target; S wave from the example's origin 6 s before issue
        assert first["place"] == "库车市 Kuqa" and first["intensity_roman"] == "VI"
        assert 10.0 < first["countdown_s"] < 40.0 and 0.0 <= first["latency_s"] < 30.0
        assert lines[1]["countdown_s"] is None
    finally:
        if listener is not None and listener.poll() is None:
            listener.kill()
            listener.communicate()
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err.decode()[-2000:]
    stats = json.loads(out.decode().strip().splitlines()[-1])
    assert stats["hub"]["published"] == 2 and stats["hub"]["refused_stale"] == 1
    assert stats["fanout"]["subscriptions"] == 1
