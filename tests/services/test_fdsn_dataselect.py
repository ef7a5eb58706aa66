"""fdsnws-dataselect 1.1 over an SDS archive of a simulated scenario, driven by ObsPy's FDSN client.

The archive holds 60 s of a simulated Mw 4 near Luntai at the three nearest demo stations
(LUNT, XINH, XINC); the inventory is the demo region's with XINC restricted. Waveforms
coming back are compared sample by sample with the simulated stream that was archived.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import timedelta, timezone
from pathlib import Path

import numpy as np
import pytest


def _load_fixtures():
    name = "tianshan_fdsn_test_fixtures"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("fdsn_fixtures.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


ff = _load_fixtures()
UTC = timezone.utc
RESTRICTED = "XINC"
USERS = {"alice": "wonderland"}
TOKENS = {"tok-0123456789": "robot"}


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    arc = ff.simulated_archive(tmp_path_factory.mktemp("scenario"), n_stations=3, duration_s=60.0)
    assert RESTRICTED in arc.stations
    return arc


@pytest.fixture(scope="module")
def inventory_path(tmp_path_factory):
    return ff.demo_inventory(tmp_path_factory.mktemp("inventory") / "demo.xml", restricted=RESTRICTED)


@pytest.fixture(scope="module")
def server(archive, inventory_path):
    from tianshan.services.fdsn.app import create_app
    from tianshan.services.fdsn.auth import Credentials

    app = create_app(None, archive.root, str(inventory_path), rate_limit_per_s=None,
                     credentials=Credentials.from_passwords(USERS, TOKENS))
    with ff.LiveServer(app) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server):
    from obspy.clients.fdsn import Client

    return Client(server.url)


def _window(archive, start_s: float, end_s: float):
    from obspy import UTCDateTime

    return UTCDateTime(archive.start + timedelta(seconds=start_s)), UTCDateTime(archive.start + timedelta(seconds=end_s))


def _original(archive, trace_id: str, t1, t2) -> np.ndarray:
    tr = archive.stream.select(id=trace_id)[0].slice(t1, t2)
    return np.asarray(tr.data)


def test_discovery_and_version(client):
    assert {"dataselect", "station"} <= set(client.services) and "event" not in client.services
    assert client.get_webservice_version("dataselect") == [1, 1, 0]


def test_one_channel_comes_back_sample_exact(client, archive):
    t1, t2 = _window(archive, 10.0, 40.0)
    st = client.get_waveforms("TS", "LUNT", "00", "HHZ", t1, t2)
    assert len(st) == 1
    tr = st[0]
    assert tr.id == "TS.LUNT.00.HHZ" and tr.stats.sampling_rate == 100.0
    assert tr.stats.starttime == t1 and tr.stats.endtime == t2
    ref = _original(archive, "TS.LUNT.00.HHZ", t1, t2)
    assert len(tr.data) == len(ref) == 3001
    np.testing.assert_allclose(tr.data, ref, rtol=1e-6)


def test_lists_and_wildcards(client, archive):
    from obspy.clients.fdsn.header import FDSNNoDataException

    t1, t2 = _window(archive, 0.0, 20.0)
    st = client.get_waveforms("TS", "LUNT,XINH", "*", "HH?", t1, t2)
    assert sorted(tr.id for tr in st) == sorted(f"TS.{s}.00.HH{c}" for s in ("LUNT", "XINH") for c in "ENZ")
    for tr in st:
        np.testing.assert_allclose(tr.data, _original(archive, tr.id, t1, t2), rtol=1e-6)
    with pytest.raises(FDSNNoDataException):
        client.get_waveforms("TS", "LUNT", "", "HHZ", t1, t2)  # the archive has location 00 only
    with pytest.raises(FDSNNoDataException):
        client.get_waveforms("TS", "LUNT", "00", "HHZ", t1 - 86400 * 30, t2 - 86400 * 30)


def test_bulk_requests(client, archive, server):
    t1, t2 = _window(archive, 5.0, 15.0)
    t3, t4 = _window(archive, 30.0, 31.0)
    st = client.get_waveforms_bulk([("TS", "LUNT", "00", "HHZ", t1, t2), ("TS", "XINH", "00", "HN?", t3, t4),
                                    ("TS", "LUNT", "00", "HHZ", t1, t2)])  # a repeated line adds nothing
    assert sorted(tr.id for tr in st) == ["TS.LUNT.00.HHZ", "TS.XINH.00.HNE", "TS.XINH.00.HNN", "TS.XINH.00.HNZ"]
    for tr in st.select(station="XINH"):  # whole archive records covering the window (record granularity)
        assert tr.stats.starttime <= t3 and tr.stats.endtime >= t4
        assert len(tr.copy().trim(t3, t4)) == 101
    body = (f"quality=B\nminimumlength=0.0\nlongestonly=false\nTS LUNT -- HHZ {t1} {t2}\n").replace("Z\n", "\n")
    reply = ff.http(server.url + "/fdsnws/dataselect/1/query", data=body.encode())
    assert reply.status == 204  # '--' is the empty location code; the archive has only 00
    bad = ff.http(server.url + "/fdsnws/dataselect/1/query", data=b"TS LUNT 00 HHZ * *\n")
    assert "not a time" in ff.check_error_body(bad, 400, "1.1.0")


def test_segment_options(client, archive):
    from obspy.clients.fdsn.header import FDSNNoDataException

    t1, t2 = _window(archive, 0.0, 30.0)
    assert len(client.get_waveforms("TS", "LUNT", "00", "HHZ", t1, t2, quality="D", longestonly=True)) == 1
    with pytest.raises(FDSNNoDataException):
        client.get_waveforms("TS", "LUNT", "00", "HHZ", t1, t2, minimumlength=31.0)
    assert len(client.get_waveforms("TS", "LUNT", "00", "HHZ", t1, t2, minimumlength=29.0)) == 1
    with pytest.raises(FDSNNoDataException):
        client.get_waveforms("TS", "LUNT", "00", "HHZ", t1, t2, quality="R")


def test_restricted_channels_need_queryauth(server, client, archive):
    from obspy.clients.fdsn import Client
    from obspy.clients.fdsn.header import FDSNForbiddenException, FDSNUnauthorizedException

    t1, t2 = _window(archive, 0.0, 10.0)
    with pytest.raises(FDSNForbiddenException):
        client.get_waveforms("TS", RESTRICTED, "00", "HHZ", t1, t2)
    open_only = client.get_waveforms("TS", "*", "00", "HHZ", t1, t2)
    assert sorted(tr.stats.station for tr in open_only) == sorted(s for s in archive.stations if s != RESTRICTED)

    user, password = next(iter(USERS.items()))
    authed = Client(server.url, user=user, password=password)  # ObsPy switches to queryauth (HTTP Digest)
    st = authed.get_waveforms("TS", RESTRICTED, "00", "HHZ", t1, t2)
    np.testing.assert_allclose(st[0].data, _original(archive, f"TS.{RESTRICTED}.00.HHZ", t1, t2), rtol=1e-6)
    bulk = authed.get_waveforms_bulk([("TS", "*", "00", "HHZ", t1, t2)])
    assert sorted(tr.stats.station for tr in bulk) == sorted(archive.stations)

    with pytest.raises(FDSNUnauthorizedException):
        Client(server.url, user=user, password="wrong").get_waveforms("TS", RESTRICTED, "00", "HHZ", t1, t2)
    url = (f"{server.url}/fdsnws/dataselect/1/queryauth?net=TS&sta={RESTRICTED}&cha=HHZ"
           f"&start={str(t1)[:-1]}&end={str(t2)[:-1]}")
    challenge = ff.http(url)
    ff.check_error_body(challenge, 401, "1.1.0")
    assert challenge.headers["www-authenticate"].startswith("Digest ")
    token = next(iter(TOKENS))
    reply = ff.http(url, headers={"Authorization": f"Bearer {token}"})
    assert reply.status == 200 and reply.headers["content-type"] == "application/vnd.fdsn.mseed"
    assert ff.http(url, headers={"Authorization": "Bearer not-a-token"}).status == 401


def test_parameter_errors(server, archive):
    base = server.url + "/fdsnws/dataselect/1/query?net=TS&sta=LUNT&cha=HHZ"
    ff.check_error_body(ff.http(base + "&start=2024-05-01"), 400, "1.1.0")
    assert "quality" in ff.check_error_body(ff.http(base + "&start=2024-05-01&end=2024-05-02&quality=X"), 400,
                                            "1.1.0")
    assert "format" in ff.check_error_body(ff.http(base + "&start=2024-05-01&end=2024-05-02&format=sac"), 400,
                                           "1.1.0")
    reply = ff.http(base + "&start=2024-06-01&end=2024-06-02&nodata=404")
    ff.check_error_body(reply, 404, "1.1.0")


def test_request_too_large(archive, inventory_path):
    from obspy.clients.fdsn import Client
    from obspy.clients.fdsn.header import FDSNRequestTooLargeException

    from tianshan.services.fdsn.app import create_app

    t1, t2 = _window(archive, 0.0, 59.0)  # 5901 samples per channel
    for inventory in (str(inventory_path), None):  # estimate from the inventory / count after reading
        app = create_app(None, archive.root, inventory, max_samples=10_000, rate_limit_per_s=None)
        with ff.LiveServer(app) as srv:
            client = Client(srv.url)
            assert len(client.get_waveforms("TS", "LUNT", "00", "HHZ", t1, t2)) == 1
            with pytest.raises(FDSNRequestTooLargeException):
                client.get_waveforms("TS", "LUNT", "00", "HH?", t1, t2)
            assert app.state.fdsn.counts[413] == 1 and app.state.fdsn.counts[200] == 1


@pytest.mark.filterwarnings("ignore::UserWarning")  # ObsPy's complaints about the garbage file
def test_a_corrupt_archive_file_skips_one_channel_only(archive, tmp_path):
    import os
    import shutil

    from obspy.clients.fdsn import Client

    from tianshan.core import StreamID
    from tianshan.io.sds import sds_path
    from tianshan.services.fdsn.app import create_app

    root = tmp_path / "sds"
    shutil.copytree(archive.root, root)
    bad = sds_path(root, StreamID("TS", "LUNT", "00", "HHN"), archive.start.date())
    assert bad.is_file()
    bad.write_bytes(os.urandom(4096))
    app = create_app(None, root, None, rate_limit_per_s=None)
    t1, t2 = _window(archive, 0.0, 10.0)
    with ff.LiveServer(app) as srv:
        st = Client(srv.url).get_waveforms("TS", "LUNT", "00", "HH?", t1, t2)
    assert sorted(tr.id for tr in st) == ["TS.LUNT.00.HHE", "TS.LUNT.00.HHZ"]
    assert app.state.fdsn.dataselect.unreadable == 1 and app.state.fdsn.counts[200] == 1
