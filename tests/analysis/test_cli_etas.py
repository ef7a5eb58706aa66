"""`tianshan etas fit` through tianshan.cli.main.main: JSON shape, text table, bad input exits 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tianshan.cli.main import main

PARAM0 = "0.5,0.2,0.05,1.0,1.3,0.01,2.0,0.5"


def _fit_args(csv: Path, polygon: str, *extra: str) -> list[str]:
    return ["etas", "fit", "--catalog", str(csv), "--study-start", "2001-01-01", "--mag-threshold", "3",
            "--polygon", polygon, "--param0", PARAM0, "--max-iter", "3", *extra]


def test_fit_json_shape(small_catalog_csv, small_polygon, capsys):
    rc = main(_fit_args(small_catalog_csv, small_polygon, "--json"))
    out = capsys.readouterr()
    assert rc == 0, out.err
    doc = json.loads(out.out)
    assert set(doc) == {"params", "stderr", "loglik", "aic", "n_target", "n_complementary", "runtime_s"}
    names = {"beta", "mu", "A", "c", "alpha", "p", "D", "q", "gamma"}
    assert set(doc["params"]) == names and set(doc["stderr"]) == names
    assert all(isinstance(v, float) and v > 0 for v in doc["params"].values())
    assert doc["n_target"] > 100 and doc["n_complementary"] > 100
    assert doc["aic"] == pytest.approx(-2 * doc["loglik"] + 16)
    assert doc["runtime_s"] > 0


def test_fit_text_table_and_skipped_rows_warned(small_catalog_csv, small_polygon, tmp_path, capsys):
    text = small_catalog_csv.read_text(encoding="utf-8").splitlines()
    text.insert(5, "2000-01-05,99:00:00,51,31,3.5")  # becomes line 6
    bad = tmp_path / "with_bad_row.csv"
    bad.write_text("\n".join(text) + "\n", encoding="utf-8")
    rc = main(_fit_args(bad, small_polygon))
    out = capsys.readouterr()
    assert rc == 0
    assert f"{bad}:6: skipped" in out.err
    assert "log-likelihood" in out.out and "gamma" in out.out and "target" in out.out


@pytest.mark.parametrize("args,needle", [
    (["--polygon", "30,50;31"], "polygon: vertex 2"),
    (["--param0", "1,2,3"], "--param0: needs 8"),
    (["--param0", "0.5,0.2,0.05,1.0,0.9,0.01,2.0,0.5"], "p must be > 1"),
    (["--study-start", "2001-02-30"], "study_start"),
    (["--mag-threshold", "9"], "empty selection"),
])
def test_bad_input_exits_2_with_one_line(small_catalog_csv, small_polygon, capsys, args, needle):
    base = _fit_args(small_catalog_csv, small_polygon)
    for i in range(0, len(args), 2):  # replace the option's value
        base[base.index(args[i]) + 1] = args[i + 1]
    assert main(base) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tianshan: error:") and needle in err and len(err.splitlines()) == 1


def test_missing_and_unreadable_catalog_exit_2(tmp_path, small_polygon, capsys):
    assert main(_fit_args(tmp_path / "nope.csv", small_polygon)) == 2
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("when,where\n1,2\n", encoding="utf-8")
    assert main(_fit_args(bad, small_polygon)) == 2
    assert "bad.csv:1: header lacks column(s) date, time, long, lat, mag" in capsys.readouterr().err


def test_console_script_exit_status(tmp_path, small_polygon):
    """The real process: exit status 2 and no traceback."""
    exe = Path(sys.executable).parent / "tianshan"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "tianshan.cli.main"]
    bad = tmp_path / "bad.csv"
    bad.write_text("date,time,long,lat,mag\n", encoding="utf-8")
    proc = subprocess.run([*cmd, *_fit_args(bad, small_polygon)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no readable event rows" in proc.stderr
