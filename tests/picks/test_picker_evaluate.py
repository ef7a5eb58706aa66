"""Picker evaluation: window reading and the hit/false-positive/miss rules, with a scripted picker."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from obspy import UTCDateTime

from tianshan.core import InputError, Pick, StreamID
from tianshan.picks.base import Picker
from tianshan.picks.evaluate import _WINDOW_START, evaluate_picker, read_windows


def write_windows(folder, rows, seed: int = 3):
    """npz windows like PhaseNet's NCEDC sample: data (9001, 3), labels.csv fname,itp,its,channels."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["fname,itp,its,channels"]
    for fname, itp, its, channels in rows:
        data = rng.normal(0, 1, (9001, 3))
        if "_" not in channels:
            data[:, :2] = 0.0
        np.savez(folder / fname, data=data, itp=itp, its=its, channels=channels)
        lines.append(f"{fname},{itp},{its},{channels}")
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")
    return folder


class ScriptedPicker(Picker):
    """Returns picks at fixed offsets (s) from the window start, per station code."""

    name = "scripted"

    def __init__(self, script):
        super().__init__()
        self.script = script
        self.seen = []

    def pick(self, stream):
        tr = stream[0]
        self.seen.append(sorted(t.stats.channel for t in stream))
        t0 = UTCDateTime(_WINDOW_START).datetime
        sid = StreamID(tr.stats.network, tr.stats.station, "", tr.stats.channel)
        return [Pick(sid, t0 + timedelta(seconds=dt), phase) for phase, dt in self.script[tr.stats.station]]

    def pick_segment(self, segment):  # pragma: no cover - pick() is overridden
        return []


def test_evaluate_matching_rules(tmp_path):
    folder = write_windows(tmp_path / "w", [
        ("NC_AAA_1.npz", 3000, 3500, "HHE_HHN_HHZ"),
        ("NC_BBB_2.npz", 3000, 3200, "EHZ"),
        ("BK_CCC_3.npz", 3000, 4000, "HNE_HNN_HNZ"),
    ])
    picker = ScriptedPicker({
        # two P near the label: one hit (the closer, +0.1) and one false positive; S hit at -0.2
        "AAA": [("P", 30.1), ("P", 30.4), ("S", 34.8)],
        # P 0.6 s late: a miss and a false positive; S exactly on the label
        "BBB": [("P", 30.6), ("S", 32.0)],
        # nothing picked: two misses
        "CCC": [],
    })
    scores = evaluate_picker(picker, folder)
    assert set(scores) == {"P", "S"}
    assert set(scores["P"]) == {"precision", "recall", "f1", "residual_mean_s", "residual_std_s", "n"}
    p, s = scores["P"], scores["S"]
    assert p["n"] == 3 and s["n"] == 3
    assert p["precision"] == pytest.approx(1 / 3) and p["recall"] == pytest.approx(1 / 3)
    assert p["f1"] == pytest.approx(1 / 3)
    assert p["residual_mean_s"] == pytest.approx(0.1, abs=1e-6) and p["residual_std_s"] is None
    assert s["precision"] == pytest.approx(1.0) and s["recall"] == pytest.approx(2 / 3)
    assert s["f1"] == pytest.approx(0.8)
    assert s["residual_mean_s"] == pytest.approx(-0.1, abs=1e-6)
    assert s["residual_std_s"] == pytest.approx(np.std([-0.2, 0.0], ddof=1), abs=1e-6)
    # Single-channel windows give one trace (the zero columns are not passed on).
    assert picker.seen == [["HHE", "HHN", "HHZ"], ["EHZ"], ["HNE", "HNN", "HNZ"]]


def test_read_windows_skips_missing_and_bad_rows(tmp_path):
    folder = write_windows(tmp_path / "w", [("NC_AAA_1.npz", 3000, 3500, "HHE_HHN_HHZ")])
    with (folder / "labels.csv").open("a") as fh:
        fh.write("missing.npz,3000,3100,HHE_HHN_HHZ\n")
    (folder / "bad.npz").write_bytes(b"not an npz")
    with (folder / "labels.csv").open("a") as fh:
        fh.write("bad.npz,3000,3100,HHE_HHN_HHZ\n")
    windows, skipped = read_windows(folder)
    assert [w.name for w in windows] == ["NC_AAA_1.npz"] and skipped == 2
    assert (windows[0].network, windows[0].station) == ("NC", "AAA")
    assert windows[0].itp == 3000 and windows[0].its == 3500


def test_read_windows_bad_folder(tmp_path):
    with pytest.raises(InputError, match="not a folder"):
        read_windows(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="labels.csv not found"):
        read_windows(tmp_path / "empty")
    (tmp_path / "empty" / "labels.csv").write_text("name,p\n")
    with pytest.raises(InputError, match="missing column"):
        read_windows(tmp_path / "empty")


def test_real_windows_are_read(shared_data):
    windows, skipped = read_windows(shared_data / "picks" / "phasenet_ncedc")
    assert len(windows) == 62 and skipped == 0
    assert all(w.itp == 3000 for w in windows)
    assert sum(len(w.channels) == 1 for w in windows) == 20
    st = windows[0].to_stream()
    assert [tr.stats.channel for tr in st] == ["DPE", "DPN", "DPZ"] and st[0].stats.npts == 9001
