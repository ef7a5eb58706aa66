"""``tianshan intensity map``: event from options, QuakeML or event.xml; stations from CSV or ShakeMap XML;
``--leave-one-out`` JSON keys; bad input exits 2 with one line."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from tianshan.cli.main import main

CSV = """network,station,lat,lon,pga_pctg,pgv_cm_s
XJ,A01,41.85,84.35,35.0,30.0
XJ,A02,41.60,84.10,12.0,9.0
XJ,A03,42.10,84.70,6.0,4.0
XJ,A04,41.50,84.80,4.0,3.0
XJ,A05,42.20,83.90,3.0,2.0
XJ,A06,41.40,83.70,2.0,1.5
"""


def _run(capsys, args):
    rc = main(["intensity", "map", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_map_from_options_with_csv_and_loo(tmp_path, capsys):
    (tmp_path / "s.csv").write_text(CSV)
    out = tmp_path / "out"
    rc, text, err = _run(capsys, ["--lat", "41.8", "--lon", "84.3", "--depth", "12", "--mag", "6.0",
                                  "--stations", str(tmp_path / "s.csv"), "--leave-one-out", "--out", str(out),
                                  "--json", "--region", "none", "--max-cells", "4000", "--no-plot"])
    assert rc == 0, err
    doc = json.loads(text)
    loo = doc["loo"]
    for key in ("conditioned", "model_only"):
        assert {"rms_mmi", "bias_mmi", "rms_ln_pga", "bias_ln_pga", "n", "rms_cn", "bias_cn"} <= set(loo[key])
        assert loo[key]["n"] == 6 and loo[key]["n_ln_pga"] == 6
    names = {f["name"] for f in doc["files"]}
    assert {"grid.xml", "intensity_cn.tif", "contours_cn.geojson", "stations.geojson", "summary.json"} <= names
    assert "map.png" not in names and all((out / n).is_file() for n in names)
    assert doc["event"]["magnitude"] == 6.0 and doc["event"]["depth_km"] == 12.0 and doc["version"] == 1
    assert doc["summary"]["notes"][0].startswith("no population data")


def test_map_from_quakeml(tmp_path, capsys):
    from tianshan.core.event import Event
    from tianshan.core.magnitude import Magnitude
    from tianshan.core.origin import Origin
    from tianshan.io.quakeml import write_quakeml

    ev = Event().with_origin(Origin(time=datetime(2026, 3, 1, 2, 3, 4, tzinfo=timezone.utc), latitude_deg=41.8,
                                    longitude_deg=84.3, depth_m=10_000.0)).with_magnitude(Magnitude("Mw", 5.8))
    write_quakeml([ev], tmp_path / "ev.xml")
    rc, text, err = _run(capsys, ["--event", str(tmp_path / "ev.xml"), "--out", str(tmp_path / "o"), "--json",
                                  "--region", "none", "--max-cells", "3000", "--version", "3"])
    assert rc == 0, err
    doc = json.loads(text)
    assert doc["event"]["event_id"] == ev.id and doc["event"]["time"].startswith("2026-03-01T02:03:04")
    assert doc["version"] == 3 and "map.png" in {f["name"] for f in doc["files"]}
    assert "loo" not in doc
    grid = (tmp_path / "o" / "grid.xml").read_text()
    assert 'shakemap_version="3"' in grid and f'event_id="{ev.id}"' in grid


@pytest.mark.parametrize("args, message", [
    (["--lat", "41.8", "--lon", "84.3", "--depth", "12"], "missing --mag"),
    (["--event", "x.xml", "--lat", "41.8"], "not both"),
    (["--lat", "41.8", "--lon", "84.3", "--depth", "12", "--mag", "6", "--stations", "nope.csv"], "not found"),
    (["--lat", "95", "--lon", "84.3", "--depth", "12", "--mag", "6"], "not a coordinate"),
])
def test_bad_input_exits_2(tmp_path, capsys, args, message):
    rc, _, err = _run(capsys, [*args, "--out", str(tmp_path / "o"), "--region", "none"])
    assert rc == 2
    assert err.startswith("tianshan: error:") and message in err and "Traceback" not in err


def test_csv_with_unknown_units_exits_2(tmp_path, capsys):
    (tmp_path / "s.csv").write_text("station,lat,lon,pga_furlongs\nA,41,84,1\n")
    rc, _, err = _run(capsys, ["--lat", "41.8", "--lon", "84.3", "--depth", "12", "--mag", "6", "--stations",
                               str(tmp_path / "s.csv"), "--out", str(tmp_path / "o"), "--region", "none"])
    assert rc == 2 and "unknown units" in err


def test_northridge_leave_one_out(shared_data, tmp_path, capsys):
    d = shared_data / "shakemap" / "northridge"
    rc, text, err = _run(capsys, ["--event", str(d / "event.xml"), "--rupture", str(d / "northridge_fault.txt"),
                                  "--rake", "90", "--stations", str(d / "hist_dat.xml"), "--stations",
                                  str(d / "dyfi_dat.xml"), "--leave-one-out", "--out", str(tmp_path / "nr"),
                                  "--json", "--region", "none", "--max-cells", "6000", "--no-plot"])
    assert rc == 0, err
    doc = json.loads(text)
    mo, co = doc["loo"]["model_only"], doc["loo"]["conditioned"]
    assert co["n"] == mo["n"] == 732
    for key in ("ln_pga", "mmi", "cn"):
        assert co[f"rms_{key}"] < 0.6 * mo[f"rms_{key}"], key
    s = doc["summary"]
    assert s["max_intensity_cn"]["degree"] >= 8 and s["stations"]["total"] == 732
    props = json.loads((tmp_path / "nr" / "stations.geojson").read_text())["features"]
    assert sum(1 for f in props if f["properties"]["flags"]) == s["stations"]["flagged"] > 0
