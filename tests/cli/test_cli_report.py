"""``tianshan report loss`` and ``tianshan scenario run --report``: the chain intensity -> loss -> report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tianshan.cli import main as cli_main

CENSUS = ("adcode_map,name_census,prefecture,pop2020_census,lon_rep,lat_rep,area_km2,urban_share\n"
          "650001,甲县,P,100000,80.5,40.5,9000,0.4\n"
          "650002,乙县,P,50000,81.5,40.5,9000,0.2\n")


@pytest.fixture()
def region(tmp_path) -> Path:
    folder = tmp_path / "region"
    folder.mkdir()
    (folder / "counties_census2020.csv").write_text(CENSUS, encoding="utf-8")
    feats = [{"type": "Feature", "properties": {"adcode": code},
              "geometry": {"type": "Polygon", "coordinates": [[[w, 40], [w + 1, 40], [w + 1, 41], [w, 41], [w, 40]]]}}
             for code, w in (("650001", 80.0), ("650002", 81.0))]
    (folder / "counties_wgs84.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": feats}),
                                                  encoding="utf-8")
    (folder / "cities_places.csv").write_text("name,latitude,longitude,population\nAlpha,40.2,80.2,30000\n",
                                              encoding="utf-8")
    return folder


@pytest.fixture(autouse=True)
def _report_group(monkeypatch):
    # the lead registers the group in cli/main.py COMMANDS; make sure it is there for these tests
    monkeypatch.setitem(cli_main.COMMANDS, "report",
                        ("tianshan.cli.report", "Bilingual HTML/PDF reports: loss (灾情评估) and consultation (会商)."))


def _run(capsys, *args: str) -> tuple[int, str, str]:
    rc = cli_main.main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_report_loss_and_scenario_report(capsys, region, tmp_path):
    out = tmp_path / "rep"
    rc, stdout, err = _run(capsys, "report", "loss", "--lat", "40.5", "--lon", "80.6", "--depth", "10", "--mag", "6.5",
                           "--strike", "90", "--region", str(region), "--out", str(out), "--format", "html",
                           "--label", "甲县 test", "--json")
    assert rc == 0, err
    doc = json.loads(stdout)
    assert doc["report"]["event_label"] == "甲县 test" and doc["report"]["files"]["html"] == "loss_report.html"
    html = (out / "loss_report.html").read_text(encoding="utf-8")
    assert "甲县 test" in html and "Earthquake Loss Assessment Report" in html
    assert (out / "loss_map.png").exists() and not (out / "loss_report.pdf").exists()

    rep = tmp_path / "scen"
    rc, stdout, err = _run(capsys, "scenario", "run", "--lat", "40.5", "--lon", "80.6", "--depth", "10", "--mag", "6.5",
                           "--strike", "90", "--region", str(region), "--report", str(rep))
    assert rc == 0, err
    assert "report:" in stdout and (rep / "loss_report.pdf").exists() and (rep / "loss_report.html").exists()
    same = json.loads((rep / "loss_report.json").read_text(encoding="utf-8"))
    assert same["fatalities"] == doc["fatalities"]            # one chain, whichever command runs it


def test_report_loss_bad_input(capsys, region, tmp_path):
    rc, _, err = _run(capsys, "report", "loss", "--lat", "40.5", "--lon", "80.6", "--depth", "10",
                      "--out", str(tmp_path / "x"))
    assert rc == 2 and err.startswith("tianshan: error:") and "--mag" in err and "Traceback" not in err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc, _, err = _run(capsys, "report", "loss", "--lat", "40.5", "--lon", "80.6", "--depth", "10", "--mag", "6.5",
                      "--region", str(region), "--out", str(blocker / "sub"))
    assert rc == 2 and str(blocker / "sub") in err and len(err.strip().splitlines()) == 1, err
    rc, _, err = _run(capsys, "report", "loss", "--lat", "40.5", "--lon", "80.6", "--depth", "10", "--mag", "6.5",
                      "--region", str(tmp_path / "nowhere"), "--out", str(tmp_path / "y"))
    assert rc == 2 and "nowhere" in err
