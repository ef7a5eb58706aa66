"""Every kind of bad user input named in the foundation issue gives one clear line and exit code 2.

These run the installed ``tianshan`` console script in a subprocess, so the real
exit status and the absence of a traceback are what is checked.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

STATIONS = "network,station,latitude,longitude,elevation_m\nXJ,KOL,41.8899,85.81,1093\nXJ,LTA,41.78,84.27,980\n"
VELOCITY = "layer,top_km,bottom_km,vp_kms\nupper,0,26,6.10\nmantle,26,,8.0\n"


def _tianshan() -> list[str]:
    exe = Path(sys.executable).parent / "tianshan"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "tianshan.cli.main"]


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*_tianshan(), *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def _profile(folder: Path, stations: str = STATIONS, velocity: str = VELOCITY) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "stations.csv").write_text(stations, encoding="utf-8")
    (folder / "velocity.csv").write_text(velocity, encoding="utf-8")
    return folder


def _assert_user_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    err = proc.stderr.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    for n in needles:
        assert n in err, (n, err)


def test_good_profile_passes(tmp_path):
    proc = _run("region", "check", str(_profile(tmp_path / "ok")), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_malformed_toml(tmp_path):
    (tmp_path / "tianshan.toml").write_text('data_dir = "x"\nregion = [1, \n', encoding="utf-8")
    proc = _run("region", "check", cwd=tmp_path)
    _assert_user_error(proc, "tianshan.toml", "line")


def test_toml_wrong_type(tmp_path):
    (tmp_path / "tianshan.toml").write_text('[simulation]\nseed = "abc"\n', encoding="utf-8")
    proc = _run("region", "check", cwd=tmp_path)
    _assert_user_error(proc, "seed")


def test_missing_profile_folder(tmp_path):
    _assert_user_error(_run("region", "check", str(tmp_path / "absent"), cwd=tmp_path), "absent")


def test_missing_velocity_file(tmp_path):
    folder = _profile(tmp_path / "p")
    (folder / "velocity.csv").unlink()
    _assert_user_error(_run("region", "check", str(folder), cwd=tmp_path), "velocity")


@pytest.mark.parametrize("stations, needles", [
    ("network,station,lat\nXJ,KOL,41\n", ("stations.csv", "longitude")),               # wrong columns
    ("network,station,latitude,longitude,elevation_m\nXJ,KOL,forty,85.8,1093\n", ("stations.csv:2", "latitude")),
    ("\x00\x01\x02garbage\xff", ("stations.csv",)),                                        # binary garbage
])
def test_garbled_stations_csv(tmp_path, stations, needles):
    folder = _profile(tmp_path / "p", stations=stations)
    _assert_user_error(_run("region", "check", str(folder), cwd=tmp_path), *needles)


def test_garbled_velocity_csv(tmp_path):
    folder = _profile(tmp_path / "p", velocity="layer,top_km,bottom_km,vp_kms\nupper,0,26,fast\n")
    _assert_user_error(_run("region", "check", str(folder), cwd=tmp_path), "velocity.csv:2", "vp_kms")


@pytest.mark.parametrize("row, field", [
    ("XJ,BAD,123.0,85.0,1000", "latitude"),
    ("XJ,BAD,41.0,200.0,1000", "longitude"),
    ("XJ,BAD,41.0,85.0,99999", "elevation"),
])
def test_impossible_station_coordinates(tmp_path, row, field):
    folder = _profile(tmp_path / "p", stations=STATIONS + row + "\n")
    _assert_user_error(_run("region", "check", str(folder), cwd=tmp_path), "stations.csv:4", field)


def test_duplicate_station(tmp_path):
    folder = _profile(tmp_path / "p", stations=STATIONS + "XJ,KOL,41.9,85.8,1090\n")
    _assert_user_error(_run("region", "check", str(folder), cwd=tmp_path), "stations.csv:4", "duplicate", "XJ.KOL")


def test_duplicate_stream_ids_in_stationxml(tmp_path):
    """Two channel entries with the same NET.STA.LOC.CHA and start in a StationXML profile."""
    from tianshan.core import Channel, Station, StreamID
    from tianshan.io.stationxml import write_stationxml

    ch = Channel(StreamID("XJ", "KOL", "", "HHZ"), 41.89, 85.81, 1093.0, 100.0)
    folder = _profile(tmp_path / "p")
    (folder / "stations.csv").unlink()
    write_stationxml([Station("XJ", "KOL", 41.89, 85.81, 1093.0, channels=(ch,))], folder / "stations.xml")
    text = (folder / "stations.xml").read_text(encoding="utf-8")
    start, end = text.index("<Channel "), text.index("</Channel>") + len("</Channel>")
    (folder / "stations.xml").write_text(text[:end] + text[start:end] + text[end:], encoding="utf-8")
    _assert_user_error(_run("region", "check", str(folder), cwd=tmp_path), "duplicate", "XJ.KOL..HHZ")


def test_simulate_rejects_impossible_source(tmp_path):
    proc = _run("simulate", "--lat", "123", "--lon", "84", "--depth-km", "10", "--mw", "5",
                "--out", str(tmp_path / "out"), cwd=tmp_path)
    _assert_user_error(proc, "--lat")
    assert not (tmp_path / "out").exists()


def test_db_bad_url(tmp_path):
    _assert_user_error(_run("db", "upgrade", "--url", "nosuchdb://x", cwd=tmp_path), "nosuchdb")
