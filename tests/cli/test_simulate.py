"""``tianshan simulate`` through tianshan.cli.main.main."""

import json

import pytest

from tianshan.cli.main import main


@pytest.fixture()
def files(tmp_path):
    from tianshan.core.velocity import VelocityModel
    from tianshan.regions.velocity_csv import write_velocity_csv

    stations = tmp_path / "stations.csv"
    stations.write_text("network,station,latitude,longitude,elevation_m,channels\n"
                        "XX,AAA,41.85,84.30,1000,HH HN\n"
                        "XX,BBB,42.10,84.90,1100,HH\n", encoding="utf-8")
    velocity = tmp_path / "velocity.csv"
    write_velocity_csv(VelocityModel.from_vp("test", [0.0, 26e3, 54e3], [6100.0, 6700.0, 8200.0], moho_m=54e3),
                       velocity)
    return stations, velocity


def _args(files, out, *extra):
    stations, velocity = files
    return ["simulate", "--lat", "41.78", "--lon", "84.27", "--depth-km", "10", "--mw", "5.5",
            "--time", "2024-05-01T10:00:00", "--duration", "40", "--pre-event", "5",
            "--stations", str(stations), "--velocity", str(velocity), "--seed", "7", "--out", str(out), *extra]


def test_simulate_json(files, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(_args(files, out, "--json", "--faults")) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["stations"] == 2 and report["traces"] >= 9 and report["stations_with_signal"] == 2
    assert report["samples"] <= 9 * 4000 and report["seed"] == 7
    assert report["source"]["origin_time"] == "2024-05-01T10:00:00Z"
    for name in ("stations.xml", "truth.xml", "truth_arrivals.csv"):
        assert (out / name).is_file()
    assert (out / "sds" / "2024" / "XX" / "AAA" / "HNZ.D").is_dir()


def test_simulate_finite_fault_text(files, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(_args(files, out, "--strike", "80", "--dip", "45", "--rake", "90", "--no-noise")) == 0
    text = capsys.readouterr().out
    assert "Simulated Mw 5.5" in text and "Wrote" in text


@pytest.mark.parametrize("extra,message", [
    (["--lat", "123"], "--lat"),
    (["--duration", "-5"], "--duration"),
    (["--depth-km", "-3"], "--depth-km"),
    (["--strike", "10"], "--strike, --dip and --rake"),
    (["--time", "yesterday"], "--time"),
])
def test_bad_input_exit_2(files, tmp_path, capsys, extra, message):
    assert main(_args(files, tmp_path / "x", *extra)) == 2
    err = capsys.readouterr().err
    assert err.startswith("tianshan: error:") and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_unreadable_stations(files, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"network,station\n\xff\xfe\x00garbage\n")
    _, velocity = files
    args = ["simulate", "--lat", "41", "--lon", "84", "--depth-km", "10", "--mw", "5", "--stations", str(bad),
            "--velocity", str(velocity), "--out", str(tmp_path / "x")]
    assert main(args) == 2
    assert str(bad) in capsys.readouterr().err
    args[args.index(str(bad))] = str(tmp_path / "missing.csv")
    assert main(args) == 2
    assert "not found" in capsys.readouterr().err
