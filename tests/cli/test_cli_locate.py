"""`tianshan locate` through tianshan.cli.main.main: JSON rows, text table, bad input exits 2."""

from __future__ import annotations

import json
from datetime import timedelta

from tianshan.cli.main import main
from tianshan.core import VelocityModel
from tianshan.events.locate.geometry import great_circle_m
from tianshan.traveltime.layered import LayeredTravelTime

STATIONS = [("XJ", "A01", 41.9, 83.8), ("XJ", "A02", 42.3, 84.4), ("XJ", "A03", 41.5, 84.6),
            ("XJ", "A04", 42.0, 85.0), ("XJ", "A05", 41.4, 83.6), ("XJ", "A06", 42.5, 83.7)]
SRC = (41.95, 84.25, 12_000.0)
VELOCITY = "layer,top_km,bottom_km,vp_kms\nupper,0,20,6.0\nlower,20,40,6.6\nmantle,40,,8.0\n"


def _files(tmp_path):
    model = VelocityModel.from_vp("m", [0.0, 20_000.0, 40_000.0], [6000.0, 6600.0, 8000.0])
    solver = LayeredTravelTime(model)
    st_lines, obs_lines = [], []
    from datetime import datetime, timezone

    t0 = datetime(2024, 3, 1, 10, 20, 0, tzinfo=timezone.utc)
    for net, sta, lat, lon in STATIONS:
        st_lines.append(f"GTSRCE {net}_{sta} LATLON {lat} {lon} 0 0.0")
        d = float(great_circle_m(SRC[0], SRC[1], lat, lon))
        for ph in ("P", "S"):
            t = t0 + timedelta(seconds=float(solver.first_arrival(ph, SRC[2], [d])[0][0]))
            sec = t.second + t.microsecond / 1e6
            obs_lines.append(f"{net}_{sta} ? BHZ ? {ph} ? {t:%Y%m%d} {t:%H%M} {sec:.4f} GAU 0.05 0 0 0 1")
    (tmp_path / "st.txt").write_text("\n".join(st_lines) + "\n")
    (tmp_path / "ev.obs").write_text("\n".join(obs_lines) + "\n\n" + "\n".join(obs_lines[:3]) + "\n")
    (tmp_path / "v.csv").write_text(VELOCITY)
    return tmp_path


def test_locate_json(tmp_path, capsys):
    d = _files(tmp_path)
    rc = main(["locate", "--obs", str(d / "ev.obs"), "--stations", str(d / "st.txt"), "--velocity",
               str(d / "v.csv"), "--json"])
    out = capsys.readouterr()
    assert rc == 0
    rows = json.loads(out.out)
    assert len(rows) == 1 and "event 2: not located" in out.err      # second event: 3 phases only
    r = rows[0]
    assert {"time", "latitude", "longitude", "depth_km", "rms_s", "gap_deg", "n_phases", "ellipse"} <= set(r)
    assert r["time"].startswith("2024-03-01T10:20:0") and r["n_phases"] == 12
    assert great_circle_m(r["latitude"], r["longitude"], SRC[0], SRC[1]) < 1000.0
    assert abs(r["depth_km"] - 12.0) < 2.0 and r["rms_s"] < 0.1
    assert r["ellipse"]["semi_major_km"] >= r["ellipse"]["semi_minor_km"] > 0


def test_locate_table(tmp_path, capsys):
    d = _files(tmp_path)
    assert main(["locate", "--obs", str(d / "ev.obs"), "--stations", str(d / "st.txt"), "--velocity",
                 str(d / "v.csv")]) == 0
    assert "depth km" in capsys.readouterr().out


def test_locate_bad_input_exit_2(tmp_path, capsys):
    d = _files(tmp_path)
    cases = [
        ["--obs", str(d / "ev.obs"), "--stations", str(d / "st.txt")],                    # no model
        ["--obs", str(d / "nope.obs"), "--stations", str(d / "st.txt"), "--velocity", str(d / "v.csv")],
        ["--obs", str(d / "ev.obs"), "--stations", str(d / "st.txt"), "--nlloc-control", str(d / "v.csv")],
        ["--obs", str(d / "v.csv"), "--stations", str(d / "st.txt"), "--velocity", str(d / "v.csv")],
    ]
    for args in cases:
        assert main(["locate", *args]) == 2, args
        err = capsys.readouterr().err.strip()
        assert err.startswith("tianshan: error:") and len(err.splitlines()) == 1 and "Traceback" not in err
