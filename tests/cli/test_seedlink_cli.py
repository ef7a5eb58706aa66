"""``tianshan seedlink serve``: serves an SDS archive over loopback; bad options exit 2 with one line."""

from __future__ import annotations

import json
import socket
import threading
import time

import numpy as np
import pytest

from tianshan.cli.main import main


@pytest.fixture(scope="module")
def sds(tmp_path_factory):
    from obspy import Stream, Trace, UTCDateTime

    from tianshan.io.sds import write_sds

    rng = np.random.default_rng(5)
    st = Stream([Trace(rng.integers(-5000, 5000, 3000).astype(np.int32),
                       header={"network": "XX", "station": "CL1", "location": "00", "channel": ch,
                               "sampling_rate": 100.0, "starttime": UTCDateTime("2024-03-01T08:00:00")})
                 for ch in ("HHZ", "HHN")])
    root = tmp_path_factory.mktemp("sds")
    write_sds(st, root)
    return root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_hello_and_reports_json(sds, capsys):
    port = _free_port()
    rc = {}
    th = threading.Thread(target=lambda: rc.setdefault("rc", main(
        ["seedlink", "serve", "--archive", str(sds), "--port", str(port), "--speed", "100",
         "--duration", "2", "--json"])))
    th.start()
    reply = b""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not reply:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(b"HELLO\r\nCAT\r\n")
                s.settimeout(1)
                while not reply.endswith(b"END"):
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
        except OSError:
            time.sleep(0.1)
    th.join(15)
    assert rc.get("rc") == 0
    assert reply.startswith(b"SeedLink v3.1 ") and b"XX CL1" in reply
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["stations"] == 1 and out["connections"] >= 1 and out["replay_complete"] is True


@pytest.mark.parametrize("args, message", [
    (["--archive", "/nonexistent/sds"], "SDS archive folder not found"),
    (["--speed", "0"], "--speed must be > 0"),
    (["--start", "not a time"], "--start"),
])
def test_bad_options_exit_2(sds, capsys, args, message):
    argv = ["seedlink", "serve", "--archive", str(sds), "--duration", "1"]
    argv += args
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_empty_archive_exit_2(tmp_path, capsys):
    assert main(["seedlink", "serve", "--archive", str(tmp_path), "--port", "0", "--duration", "1"]) == 2
    assert "no miniSEED day files" in capsys.readouterr().err
