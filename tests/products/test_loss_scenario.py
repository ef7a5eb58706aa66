"""The full loss chain: ``tianshan scenario run`` (in process), bad input, and a given intensity field."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tianshan.cli.main import main
from tianshan.products.loss import pager
from tianshan.products.loss.exposure import load_exposure
from tianshan.products.loss.scenario import Scenario, assess, run_scenario
from tianshan.products.loss.shaking import ShakingGrid

CENSUS = ("adcode_map,name_census,prefecture,pop2020_census,lon_rep,lat_rep,area_km2,urban_share\n"
          "650001,甲县,P,100000,80.5,40.5,9000,0.4\n"
          "650002,乙县,P,50000,81.5,40.5,9000,0.2\n")


def _run(capsys, *args: str) -> tuple[int, str, str]:
    rc = main(["scenario", "run", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def _user_error(rc: int, err: str, needle: str) -> None:
    assert rc == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith("tianshan: error:") and needle in err, err


def test_cli_json_document_on_xinjiang(capsys, shared_data):
    rc, out, err = _run(capsys, "--lat", "39.61", "--lon", "77.23", "--depth", "11", "--mag", "6.3",
                        "--region", str(shared_data / "xinjiang"), "--fault", "nearest", "--json")
    assert rc == 0, err
    doc = json.loads(out)
    for key in ("fatalities", "economic_loss_usd", "pager_alert", "response_level", "exposure_by_intensity"):
        assert key in doc
    for key in ("median", "p10", "p90", "bin_probabilities"):
        assert key in doc["fatalities"] and key in doc["economic_loss_usd"]
    assert list(doc["fatalities"]["bin_probabilities"]) == ["0", "1-9", "10-99", "100-999", "1000+"]
    assert sum(doc["fatalities"]["bin_probabilities"].values()) == pytest.approx(1.0, abs=0.01)
    assert doc["fatalities"]["p10"] <= doc["fatalities"]["median"] <= doc["fatalities"]["p90"]
    assert doc["pager_alert"] in ("green", "yellow", "orange", "red")
    assert doc["response_level"] in ("I", "II", "III", "IV")
    assert list(doc["exposure_by_intensity"]) == ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"]
    assert doc["exposure"]["population"] == 25_852_345
    assert doc["counties"][0]["name"] == "伽师县"                       # the epicentral county
    assert doc["response"]["epicentral_unit"]["code"] == "653129"
    assert doc["historical"][0]["date"] == "2003-02-24" and doc["historical"][0]["deaths"] == 261
    # the nearest settlement is a real place (GeoNames Wolituogelake, 10 km), no longer the county's
    # census representative point (2 km; allocation.py puts the county point at the seat)
    assert doc["nearest_towns"][0]["name"] == "Wolituogelake" and doc["nearest_towns"][0]["distance_km"] < 15
    assert doc["scenario"]["strike_deg"] is not None                 # a trace lies within 30 km
    assert any("新星市" in w for w in doc["warnings"])


def test_cli_scenario_outside_the_exposure_area(capsys, shared_data):
    rc, _, err = _run(capsys, "--lat", "30", "--lon", "110", "--depth", "10", "--mag", "6",
                      "--region", str(shared_data / "xinjiang"))
    _user_error(rc, err, "outside the exposure area")


def test_cli_bad_regions(capsys, tmp_path, write_loss_region):
    bad = write_loss_region(tmp_path / "bad", CENSUS + "650099,丙县,P,1000,82.5,40.5,9000,0.2\n")
    rc, _, err = _run(capsys, "--lat", "40.5", "--lon", "80.5", "--depth", "10", "--mag", "6", "--region", str(bad))
    _user_error(rc, err, "missing county codes")
    rc, _, err = _run(capsys, "--lat", "40.5", "--lon", "80.5", "--depth", "10", "--mag", "6",
                      "--region", str(tmp_path / "nope"))
    _user_error(rc, err, "does not exist")
    zero = write_loss_region(tmp_path / "zero", CENSUS.replace("650002,乙县,P,50000", "650002,乙县,P,0"))
    rc, out, err = _run(capsys, "--lat", "40.5", "--lon", "80.5", "--depth", "10", "--mag", "6",
                        "--region", str(zero), "--json")
    assert rc == 0, err
    assert any("zero population: 650002" in w for w in json.loads(out)["warnings"])


def test_cli_bad_scenarios(capsys, tmp_path, write_loss_region):
    region = str(write_loss_region(tmp_path / "r", CENSUS))
    rc, _, err = _run(capsys, "--lat", "40.5", "--lon", "80.5", "--mag", "6", "--region", region)
    _user_error(rc, err, "missing --depth")
    rc, _, err = _run(capsys, "--lat", "40.5", "--lon", "80.5", "--depth", "10", "--mag", "11", "--region", region)
    _user_error(rc, err, "mag: must be within")
    rc, _, err = _run(capsys, "--lat", "40.5", "--lon", "80.5", "--depth", "10", "--mag", "6", "--region", region,
                      "--fault", "nearest")
    _user_error(rc, err, "no fault traces")


def test_cli_batch(capsys, tmp_path, write_loss_region):
    region = str(write_loss_region(tmp_path / "r", CENSUS))
    batch = tmp_path / "b.csv"
    batch.write_text("name,lat,lon,depth,mag,strike\nA,40.5,80.5,10,6.5,90\nB,40.5,81.5,15,5.5,\n", encoding="utf-8")
    rc, out, err = _run(capsys, "--batch", str(batch), "--region", region, "--json")
    assert rc == 0, err
    docs = json.loads(out)
    assert [d["scenario"]["name"] for d in docs] == ["A", "B"]
    assert docs[0]["scenario"]["strike_deg"] == 90.0 and docs[1]["scenario"]["strike_deg"] is None
    assert docs[0]["fatalities"]["median"] > docs[1]["fatalities"]["median"]
    batch.write_text("lat,lon,depth,mag\n40.5,80.5,10,6.5\n40.5,x,10,6\n", encoding="utf-8")
    rc, _, err = _run(capsys, "--batch", str(batch), "--region", region)
    _user_error(rc, err, "b.csv:3: lon: not a number")


def test_a_given_intensity_field_drives_the_chain(tmp_path, write_loss_region):
    ex = load_exposure(write_loss_region(tmp_path / "r", CENSUS))
    lats, lons = np.array([41.5, 39.5]), np.array([79.5, 82.5])
    field = ShakingGrid(lats, lons, np.full((2, 2), 8.2), 0.5, source="test field")
    res = assess(field, ex, latitude_deg=40.5, longitude_deg=80.5, magnitude=6.0)
    assert res.exposure.as_dict()["VIII"] == 150000
    assert res.fatalities.median == pytest.approx(150000 * pager.CHINA_FATALITY.rate(8.0))
    assert res.shelter.people == pytest.approx(0.10 * 150000)
    assert res.as_json()["intensity"]["source"] == "test field"
    # the same field passed to run_scenario is used as is (no prediction)
    res2 = run_scenario(Scenario(40.5, 80.5, 10.0, 6.0), ex, shaking=field)
    assert res2.fatalities.median == pytest.approx(res.fatalities.median)


def test_demo_region_default(capsys):
    rc, out, err = _run(capsys, "--lat", "41.76", "--lon", "86.15", "--depth", "10", "--mag", "6.5", "--json")
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["exposure"]["region"] == "demo" and doc["exposure"]["method"] == "points"
    assert doc["counties"][0]["kind"] == "town"
    assert doc["exposure_by_intensity"]["VII"] + doc["exposure_by_intensity"]["VIII"] > 0   # Korla is shaken
