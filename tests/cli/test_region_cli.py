"""`tianshan region check|show|write-demo` through tianshan.cli.main.main."""

from __future__ import annotations

import json

from tianshan.cli.main import main

STATIONS = "network,station,latitude,longitude,elevation_m\nXJ,KOL,41.8899,85.81,1093\n"
VELOCITY = "layer,top_km,bottom_km,vp_kms\nupper,0,26,6.10\nmantle,26,,8.0\n"


def _folder(tmp_path, stations=STATIONS):
    (tmp_path / "stations.csv").write_text(stations, encoding="utf-8")
    (tmp_path / "velocity.csv").write_text(VELOCITY, encoding="utf-8")
    return tmp_path


def test_check_folder_table(tmp_path, capsys):
    assert main(["region", "check", str(_folder(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "stations" in out and "XJ" in out


def test_check_folder_json(tmp_path, capsys):
    assert main(["region", "check", "--json", str(_folder(tmp_path))]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True and data["stations"] == 1 and data["channels"] == 3 and data["moho_km"] == 26.0


def test_check_bad_input_is_one_line_exit_2(tmp_path, capsys):
    folder = _folder(tmp_path, STATIONS + "XJ,BAD,123,85,10\n")
    assert main(["region", "check", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("tianshan: error:") and "stations.csv:3" in err and "latitude" in err


def test_check_missing_folder(tmp_path, capsys):
    assert main(["region", "check", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_check_and_show_demo(capsys):
    assert main(["region", "check", "demo", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "demo" and data["stations"] == data["simulated_stations"] >= 60
    assert main(["region", "show", "demo", "--stations", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert len(shown["station_list"]) == data["stations"]
    assert any("TS.KORL.00.HHZ" in s["channels"] for s in shown["station_list"])
    assert main(["region", "show", "demo", "--stations"]) == 0
    out = capsys.readouterr().out
    assert "TS.LUNT" in out and "simulated" in out


def test_write_demo_then_check(tmp_path, capsys):
    target = tmp_path / "demo-region"
    assert main(["region", "write-demo", str(target), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "region.toml" in data["files"] and "stations.xml" in data["files"]
    assert main(["region", "check", "--json", str(target)]) == 0
    checked = json.loads(capsys.readouterr().out)
    assert checked["stations"] == data["stations"] and checked["channels_with_gain"] == checked["channels"]
    assert main(["region", "write-demo", str(target)]) == 0
    assert "wrote demo region" in capsys.readouterr().out


def test_check_defaults_to_configured_region(tmp_path, monkeypatch, capsys):
    (tmp_path / "r").mkdir()
    folder = _folder(tmp_path / "r")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TIANSHAN_CONFIG", raising=False)
    (tmp_path / "tianshan.toml").write_text('region = "r"\n', encoding="utf-8")
    monkeypatch.delenv("TIANSHAN_REGION", raising=False)
    assert main(["region", "check", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["source"] == str(folder)
    (tmp_path / "tianshan.toml").write_text('region = 5\n', encoding="utf-8")
    assert main(["region", "check"]) == 2
    assert "tianshan.toml:1: region" in capsys.readouterr().err
