"""``tianshan picks evaluate``: JSON scores, table output and bad input (exit 2, one line)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from tianshan.cli.main import main


def _windows(folder: Path) -> Path:
    """Two synthetic 3-C windows with a clear P at 30 s and S at 34 s (analyst labels)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "picks"))
    try:
        from test_classic_picker import synthetic_event
    finally:
        sys.path.pop(0)
    folder.mkdir()
    lines = ["fname,itp,its,channels"]
    for i, sta in enumerate(("AKS", "WUS")):
        st = synthetic_event(40 + i, station=sta)
        data = np.zeros((9001, 3))
        for col, comp in enumerate("ENZ"):
            data[:9000, col] = st.select(component=comp)[0].data
        data[9000] = data[8999]
        np.savez(folder / f"XJ_{sta}_{i}.npz", data=data, itp=3000, its=3400, channels="HHE_HHN_HHZ")
        lines.append(f"XJ_{sta}_{i}.npz,3000,3400,HHE_HHN_HHZ")
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")
    return folder


def test_picks_evaluate_json(tmp_path, capsys):
    folder = _windows(tmp_path / "w")
    assert main(["picks", "evaluate", "--windows", str(folder), "--picker", "classic", "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert set(scores) == {"P", "S"}
    for phase in ("P", "S"):
        assert set(scores[phase]) == {"precision", "recall", "f1", "residual_mean_s", "residual_std_s", "n"}
        assert scores[phase]["n"] == 2
        assert scores[phase]["f1"] == 1.0
    assert abs(scores["P"]["residual_mean_s"]) < 0.05


def test_picks_evaluate_table(tmp_path, capsys):
    folder = _windows(tmp_path / "w")
    assert main(["picks", "evaluate", "--windows", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "precision" in out and "stalta-aic" in out


def test_picks_evaluate_bad_input(tmp_path, capsys):
    cases = [
        (["--windows", str(tmp_path / "missing")], "folder not found"),
        (["--windows", str(tmp_path), "--picker", "ml"], "needs --model"),
        (["--windows", str(tmp_path), "--model", "x"], "only for --picker ml"),
        (["--windows", str(tmp_path)], "labels.csv not found"),
    ]
    for args, message in cases:
        assert main(["picks", "evaluate", *args]) == 2, args
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
