"""fdsnws-station 1.1 over the demo region's inventory, driven by ObsPy's FDSN client over HTTP.

The inventory is the demo region's (``resolve_network("demo")``) with KORL restricted and
URUM given an epoch 2010-2020; a small SDS archive holds a few minutes of LUNT HHZ/HHN.
Expected answers come from the inventory file read back with ObsPy and filtered in Python.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import datetime, timedelta, timezone
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
RESTRICTED, ENDED = "KORL", "URUM"
ARCHIVE_START = datetime(2024, 5, 1, 11, 58, tzinfo=UTC)


@pytest.fixture(scope="module")
def inventory_path(tmp_path_factory):
    return ff.demo_inventory(tmp_path_factory.mktemp("inventory") / "demo.xml", restricted=RESTRICTED, ended=ENDED)


@pytest.fixture(scope="module")
def inventory(inventory_path):
    from obspy import read_inventory

    return read_inventory(str(inventory_path))


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    from obspy import Stream, Trace, UTCDateTime

    from tianshan.io.sds import write_sds

    rng = np.random.default_rng(5)
    traces = [Trace(rng.integers(-1000, 1000, 30_000).astype(np.int32),
                    header={"network": "TS", "station": "LUNT", "location": "00", "channel": cha,
                            "sampling_rate": 100.0, "starttime": UTCDateTime(ARCHIVE_START)})
              for cha in ("HHZ", "HHN")]
    root = tmp_path_factory.mktemp("archive") / "sds"
    write_sds(Stream(traces), root)
    return root


@pytest.fixture(scope="module")
def server(inventory_path, archive):
    from tianshan.services.fdsn.app import create_app

    app = create_app(None, archive, str(inventory_path), rate_limit_per_s=None)
    with ff.LiveServer(app) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server):
    from obspy.clients.fdsn import Client

    return Client(server.url)


def _stations(inv) -> list[str]:
    return [s.code for n in inv for s in n]


def _channels(inv) -> list[str]:
    return [f"{n.code}.{s.code}.{c.location_code}.{c.code}" for n in inv for s in n for c in s]


def test_discovery_and_version(client):
    assert "station" in client.services and "event" not in client.services
    assert client.get_webservice_version("station") == [1, 1, 0]


def test_every_level(client, inventory):
    all_stations, all_channels = _stations(inventory), _channels(inventory)
    net = client.get_stations(level="network")
    assert [n.code for n in net] == ["TS"] and _stations(net) == []
    assert net[0].selected_number_of_stations == len(all_stations)
    sta = client.get_stations()  # level=station is the default
    assert _stations(sta) == all_stations and _channels(sta) == []
    assert sta[0][0].total_number_of_channels == len(inventory[0][0].channels)
    cha = client.get_stations(level="channel")
    assert _channels(cha) == all_channels
    assert all(c.response is None for n in cha for s in n for c in s)
    resp = client.get_stations(level="response", station="LUNT")
    want = inventory.select(station="LUNT")
    assert _channels(resp) == _channels(want)
    for got, ref in zip([c for n in resp for s in n for c in s], [c for n in want for s in n for c in s]):
        assert got.response.instrument_sensitivity.value == pytest.approx(ref.response.instrument_sensitivity.value)
        assert got.response.instrument_sensitivity.input_units == ref.response.instrument_sensitivity.input_units
        assert got.sample_rate == ref.sample_rate and got.dip == ref.dip and got.azimuth == ref.azimuth


def test_codes_and_wildcards(client, inventory):
    from obspy.clients.fdsn.header import FDSNNoDataException

    got = client.get_stations(station="LUN*,XIN?", channel="HH?", level="channel")
    want = [c for c in _channels(inventory) if c.split(".")[1] in ("LUNT", "XINC", "XINH", "XINY")
            and c.split(".")[3].startswith("HH")]
    assert _channels(got) == want and len(want) == 12
    assert _stations(client.get_stations(channel="HNZ")) == _stations(inventory)
    with pytest.raises(FDSNNoDataException):
        client.get_stations(location="", level="channel")  # every demo channel has location 00
    with pytest.raises(FDSNNoDataException):
        client.get_stations(network="XX")


def test_box_and_radius_test_station_coordinates(client, inventory):
    from tianshan.services.fdsn.geo import distance_deg

    got = client.get_stations(minlatitude=41, maxlatitude=43, minlongitude=82, maxlongitude=87)
    want = [s.code for n in inventory for s in n if 41 <= s.latitude <= 43 and 82 <= s.longitude <= 87]
    assert _stations(got) == want and 0 < len(want) < len(_stations(inventory))
    got = client.get_stations(latitude=41.95, longitude=84.3, minradius=1.0, maxradius=3.0)
    want = [s.code for n in inventory for s in n if 1.0 <= distance_deg(41.95, 84.3, s.latitude, s.longitude) <= 3]
    assert _stations(got) == want and 0 < len(want) < len(_stations(inventory))


def test_epoch_time_parameters(client, inventory):
    everyone = _stations(inventory)
    others = [s for s in everyone if s != ENDED]
    assert _stations(client.get_stations(endbefore="2021-01-01")) == [ENDED]
    assert _stations(client.get_stations(startafter="2000-01-01")) == [ENDED]
    assert _stations(client.get_stations(starttime="2021-01-01")) == others
    assert _stations(client.get_stations(endtime="2005-01-01")) == others
    assert _stations(client.get_stations(endafter="2021-01-01")) == others
    assert _stations(client.get_stations(startbefore="2011-01-01")) == everyone
    assert _stations(client.get_stations(starttime="2015-01-01", endtime="2016-01-01")) == everyone


def test_restricted_stations_can_be_left_out(client, inventory):
    assert RESTRICTED in _stations(client.get_stations())
    got = _stations(client.get_stations(includerestricted=False))
    assert got == [s for s in _stations(inventory) if s != RESTRICTED]


def test_text_formats_per_level(server, inventory):
    base = server.url + "/fdsnws/station/1/query?format=text"
    net = ff.http(base + "&level=network").text.splitlines()
    assert net == ["#Network|Description|StartTime|EndTime|TotalStations",
                   f"TS|{inventory[0].description or ''}|||{len(inventory[0].stations)}"]
    sta = ff.http(base + "&station=URUM,LUNT").text.splitlines()
    assert sta[0] == "#Network|Station|Latitude|Longitude|Elevation|SiteName|StartTime|EndTime"
    rows = {r.split("|")[1]: r.split("|") for r in sta[1:]}
    assert set(rows) == {"URUM", "LUNT"}
    ref = inventory.select(station="URUM")[0][0]
    assert float(rows["URUM"][2]) == ref.latitude and rows["URUM"][5] == ref.site.name
    assert rows["URUM"][6:] == ["2010-01-01T00:00:00", "2020-01-01T00:00:00"] and rows["LUNT"][6:] == ["", ""]
    cha = ff.http(base + "&level=channel&station=LUNT&channel=HNZ").text.splitlines()
    assert cha[0] == ("#Network|Station|Location|Channel|Latitude|Longitude|Elevation|Depth|Azimuth|Dip|"
                      "SensorDescription|Scale|ScaleFreq|ScaleUnits|SampleRate|StartTime|EndTime")
    row = cha[1].split("|")
    ref = inventory.select(station="LUNT", channel="HNZ")[0][0][0]
    assert row[:4] == ["TS", "LUNT", "00", "HNZ"] and len(cha) == 2
    assert float(row[9]) == ref.dip and float(row[11]) == pytest.approx(ref.response.instrument_sensitivity.value)
    assert row[13] == ref.response.instrument_sensitivity.input_units and float(row[14]) == ref.sample_rate
    assert "no response level" in ff.check_error_body(ff.http(base + "&level=response"), 400, "1.1.0")


def test_bulk_post(client, server):
    from obspy import UTCDateTime

    t1, t2 = UTCDateTime(2024, 5, 1), UTCDateTime(2024, 5, 2)
    got = client.get_stations_bulk([("TS", "LUNT", "00", "HHZ", t1, t2), ("TS", "KORL", "*", "HN?", t1, t2),
                                    ("TS", "URUM", "*", "*", t1, t2)], level="channel")
    assert _channels(got) == ["TS.KORL.00.HNZ", "TS.KORL.00.HNN", "TS.KORL.00.HNE", "TS.LUNT.00.HHZ"]  # URUM ended
    body = b"level=station\nformat=text\nTS LUNT * * * *\nTS URUM * * 2015-01-01 *\n"
    reply = ff.http(server.url + "/fdsnws/station/1/query", data=body)
    assert [r.split("|")[1] for r in reply.text.splitlines()[1:]] == ["URUM", "LUNT"]
    bad = ff.http(server.url + "/fdsnws/station/1/query", data=b"level=station\nTS LUNT * *\n")
    assert "NET STA LOC CHA START END" in ff.check_error_body(bad, 400, "1.1.0")


def test_matchtimeseries_and_availability(client):
    from obspy.clients.fdsn.header import FDSNNoDataException

    got = client.get_stations(matchtimeseries=True, level="channel")
    assert _channels(got) == ["TS.LUNT.00.HHZ", "TS.LUNT.00.HHN"]
    assert _stations(client.get_stations(matchtimeseries=True)) == ["LUNT"]
    with pytest.raises(FDSNNoDataException):
        client.get_stations(matchtimeseries=True, starttime="2024-06-01", endtime="2024-06-02")
    avail = client.get_stations(station="LUNT", channel="HHZ", level="channel", includeavailability=True)
    da = avail[0][0][0].data_availability
    assert da.start.datetime.replace(tzinfo=UTC) == ARCHIVE_START
    assert da.end.datetime.replace(tzinfo=UTC) == ARCHIVE_START + timedelta(seconds=299.99)


def test_updatedafter_and_nodata(server, client):
    from obspy.clients.fdsn.header import FDSNNoDataException

    assert len(_stations(client.get_stations(updatedafter="2000-01-01"))) > 0
    with pytest.raises(FDSNNoDataException):
        client.get_stations(updatedafter=datetime.now(UTC) + timedelta(days=1))
    reply = ff.http(server.url + "/fdsnws/station/1/query?network=XX&nodata=404")
    ff.check_error_body(reply, 404, "1.1.0")
    assert ff.http(server.url + "/fdsnws/station/1/query?network=XX").status == 204
    assert "level" in ff.check_error_body(ff.http(server.url + "/fdsnws/station/1/query?level=site"), 400, "1.1.0")


def test_serve_command_runs_the_services(inventory_path, archive, tmp_path):
    import socket
    import subprocess
    import time

    from obspy.clients.fdsn import Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "tianshan.cli.main", "serve", "--no-store", "--inventory",
                             str(inventory_path), "--archive", str(archive), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90.0
        while True:
            try:
                if ff.http(url + "/fdsnws/station/1/version").text == "1.1.0":
                    break
            except OSError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.monotonic() < deadline, "tianshan serve did not answer"
            time.sleep(0.2)
        client = Client(url)
        assert {"station", "dataselect"} <= set(client.services) and "event" not in client.services
        assert [n.code for n in client.get_stations(level="network")] == ["TS"]
    finally:
        proc.terminate()
        proc.wait(30)


def test_serve_command_refuses_unusable_sources(tmp_path, capsys):
    from tianshan.cli.main import main

    assert main(["serve", "--no-store"]) == 2
    assert "nothing to serve" in capsys.readouterr().err
    assert main(["serve", "--no-store", "--archive", str(tmp_path / "missing")]) == 2
    assert "SDS archive folder not found" in capsys.readouterr().err
    (tmp_path / "users").write_text("alice:FDSN:nothex\n")
    assert main(["serve", "--no-store", "--inventory", "demo", "--htdigest", str(tmp_path / "users")]) == 2
    assert "htdigest" in capsys.readouterr().err
