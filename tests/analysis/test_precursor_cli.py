"""``tianshan precursor extract`` / ``evaluate``: outputs, layouts and bad input."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pytest

from tianshan.cli.main import main
from tianshan.io.eqt import EqtRecord, write_eqt


def _write_hourly(path, years: float = 3.2):
    start = datetime(2015, 1, 1)
    n = int(years * 365 * 24)
    t = np.arange(n)
    x = 50 * np.sin(2 * np.pi * t / (365.25 * 24)) + 0.001 * t
    x[int(1.5 * 365 * 24):int(1.5 * 365 * 24) + 24 * 40] += 30 * np.sin(np.arange(24 * 40) * 2 * np.pi / (24 * 20))
    lines = []
    for i in range(n):
        if 1000 <= i < 1010:                # ten missing hours, across day 42's 00:00 sample
            continue
        stamp = (start + timedelta(hours=i)).strftime("%Y%m%d%H")
        lines.append(f"{stamp} {x[i]:.3f}")
    lines.insert(500, lines[499])           # a duplicate stamp
    lines.insert(700, "2015012904 n/a")     # a non-numeric value
    lines.append("2015 13")                 # a malformed line
    path.write_text("\n".join(lines) + "\n")
    return n


def test_extract_writes_daily_files_and_reports_bad_lines(tmp_path, capsys):
    dat = tmp_path / "65001_1_4112.Dat"
    n = _write_hourly(dat)
    out = tmp_path / "out"
    assert main(["precursor", "extract", str(dat), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["read"]["bad_lines"] == 2 and summary["read"]["duplicates"] == 1
    assert summary["read"]["absent"] == 10 and summary["meta"]["station_id"] == "65001"
    assert summary["missing_days"] == 1                   # day 42 has no 00:00 sample
    days = n // 24
    assert summary["days"] == days and summary["first_day"] == "2015-01-01" and summary["annual_ratio"] > 1
    ana = (out / "ANA.txt").read_text().splitlines()
    ona = (out / "ONA.txt").read_text().splitlines()
    assert len(ana) == len(ona) == days
    assert ana[0].split()[0] == "20150101" and ana[-1].split()[0] == (datetime(2015, 1, 1) + timedelta(days=days - 1)).strftime("%Y%m%d")
    for line in ana[:3] + ona[:3]:
        stamp, value = line.split()
        assert len(stamp) == 8 and len(value.split(".")[1]) == 5
    assert json.loads((out / "extract.json").read_text())["corrections"]["gap_fill"] >= 1
    # The plain-text form and a re-run over the same folder.
    assert main(["precursor", "extract", str(dat), "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out


def test_extract_bad_input_one_line_exit_2(tmp_path, capsys):
    short = tmp_path / "short.Dat"
    short.write_text("".join(f"202001{d:02d}00 {d}\n" for d in range(1, 29)))
    assert main(["precursor", "extract", str(short), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tianshan: error:") and "at least 2 years" in err and len(err.splitlines()) == 1
    junk = tmp_path / "junk.Dat"
    junk.write_text("no data here\n")
    assert main(["precursor", "extract", str(junk), "--out", str(tmp_path / "o")]) == 2
    assert "no usable sample" in capsys.readouterr().err
    assert main(["precursor", "extract", str(tmp_path / "none.Dat"), "--out", str(tmp_path / "o")]) == 2
    assert "file not found" in capsys.readouterr().err


def _index_and_catalog(tmp_path):
    first = datetime(2015, 1, 1)
    n = 1200
    x = np.zeros(n)
    quakes = [150, 400, 700, 1000]
    for d in quakes:
        x[d - 6:d - 3] = -2.0
    x[300] = np.nan
    idx = tmp_path / "ONA.txt"
    idx.write_text("".join(f"{first + timedelta(days=i):%Y%m%d} {'999999.00000' if np.isnan(v) else f'{v:.5f}'}\n"
                           for i, v in enumerate(x)))
    recs = [EqtRecord(first + timedelta(days=d, hours=10), 41.9, 86.3, 5.4, 10, "新疆库尔勒") for d in quakes]
    recs.append(EqtRecord(first + timedelta(days=600), 30.0, 100.0, 6.1, 10, "far away"))
    cat = write_eqt(recs, tmp_path / "cat.eqt")
    return idx, cat


def test_evaluate_search_and_single_setting(tmp_path, capsys):
    idx, cat = _index_and_catalog(tmp_path)
    out = tmp_path / "ev"
    args = ["precursor", "evaluate", str(idx), "--catalog", str(cat), "--lat", "41.8", "--lon", "86.2",
            "--radii", "50,100", "--windows", "7,30", "--thresholds", "20"]
    assert main(args + ["--out", str(out), "--plot", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    best = res["best"]["M>=5"]
    assert best["hits"] == 4 and best["targets"] == 4 and best["window_days"] == 7 and best["max_radius_km"] == 50
    assert best["significant"] is True and res["best"]["M>=6"] is None and res["missing_days"] == 1
    assert [t["hit"] for t in best["target_list"]] == [True] * 4
    assert (out / "report.md").read_text().startswith("### ONA 预测效能评估 / Prediction efficacy of ONA")
    assert (out / "ONA_molchan_M5.png").stat().st_size > 1000
    assert json.loads((out / "efficacy.json").read_text())["grid"]["R"][0][0][0] == pytest.approx(best["R"])
    single = ["precursor", "evaluate", str(idx), "--catalog", str(cat), "--lat", "41.8", "--lon", "86.2",
              "--low", "-1", "--high", "1", "--window", "7", "--radius", "50", "--magnitude", "5", "--json"]
    assert main(single) == 0
    one = json.loads(capsys.readouterr().out)
    # Alarm days 3 per quake, each covering 7 days (overlapping): days d-5 .. d+3 -> 9 per quake.
    assert one["hits"] == 4 and one["alarm_fraction"] == pytest.approx(4 * 9 / 1199)
    assert main(single[:-3] + ["--json"]) == 2          # incomplete single setting
    assert "needs all of" in capsys.readouterr().err


def test_station_65015_cli_matches_reference(tmp_path, shared_data, capsys):
    pre = shared_data / "precursor"
    out = tmp_path / "o"
    assert main(["precursor", "extract", str(pre / "65015_2_2211.Dat"), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["missing_days"] == 19 and summary["annual_ratio"] == pytest.approx(2.02, abs=0.005)
    # ANA is written byte for byte as EQSuite-EVA wrote it (5 decimals, 999999.00000 on missing days).
    assert (out / "ANA.txt").read_bytes() == (pre / "reference" / "65015_2_2211_ST_ANA.txt").read_bytes()
    ours = np.loadtxt(out / "ONA.txt")[:, 1]
    ref = np.loadtxt(pre / "reference" / "65015_2_2211_ST_ONA.txt")[:, 1]
    ok = ref != 999999.0
    assert np.array_equal(ours == 999999.0, ~ok)
    assert np.corrcoef(ours[ok], ref[ok])[0, 1] > 0.9999 and np.sqrt(np.mean((ours[ok] - ref[ok]) ** 2)) < 2e-3
