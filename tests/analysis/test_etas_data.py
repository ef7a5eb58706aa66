"""ETAS input: the R ETAS layout reader (bad rows with line numbers), polygons, projection, target split."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import pytest

from tianshan.analysis.etas.data import (EtasCsv, Projection, make_catalog, parse_polygon, parse_time,
                                         points_in_polygon, polygon_area_centroid, read_etas_csv)
from tianshan.core.errors import InputError

GOOD = """date,time,long,lat,mag,depth
2000-01-02,00:00:00.50,51.0,31.0,4.6,10
2000/01/03,12:00,51.5,31.5,5.0,
"""


def _csv(tmp_path, text, name="cat.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_reads_r_layout_with_fractional_seconds_slashes_and_depth(tmp_path):
    d = read_etas_csv(_csv(tmp_path, GOOD))
    assert isinstance(d, EtasCsv) and len(d) == 2 and d.skipped == ()
    assert d.time_s[0] == datetime(2000, 1, 2, tzinfo=timezone.utc).timestamp() + 0.5
    assert d.time_s[1] - d.time_s[0] == pytest.approx(1.5 * 86400 - 0.5)
    assert d.depth_km[0] == 10.0 and math.isnan(d.depth_km[1])
    assert list(d.line) == [2, 3]
    np.testing.assert_allclose(d.magnitude, [4.6, 5.0])


def test_aliases_and_bom(tmp_path):
    d = read_etas_csv(_csv(tmp_path, "\ufeffDate,Time,Longitude,Latitude,Magnitude\n2001-05-05,01:02:03,80,40,3\n"))
    assert len(d) == 1 and d.longitude_deg[0] == 80.0


def test_bad_rows_are_skipped_with_line_numbers(tmp_path):
    text = ("date,time,long,lat,mag\n"
            "2000-01-01,00:00:00,51,31,4.5\n"
            "\n"                                   # line 3: blank, ignored
            "2000-13-01,00:00:00,51,31,4.5\n"      # line 4: month 13
            "2000-01-02,25:00:00,51,31,4.5\n"      # line 5: hour 25
            "2000-01-03,00:00:00,abc,31,4.5\n"     # line 6: longitude not a number
            "2000-01-04,00:00:00,51,95,4.5\n"      # line 7: latitude out of range
            "2000-01-05,00:00:00,51\n"             # line 8: short row
            "2000-01-06,00:00:00,52,32,nan\n"      # line 9: magnitude NaN
            "2000-01-07,00:00:00,52,32,5.1\n")
    d = read_etas_csv(_csv(tmp_path, text))
    assert len(d) == 2 and list(d.line) == [2, 10]
    assert [line for line, _ in d.skipped] == [4, 5, 6, 7, 8, 9]
    reasons = dict(d.skipped)
    assert "abc" in reasons[6] and "lat" in reasons[7] and "fields" in reasons[8]


def test_unusable_files_raise_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_etas_csv(tmp_path / "missing.csv")
    with pytest.raises(InputError, match=r"cat.csv:1: header lacks column\(s\) mag"):
        read_etas_csv(_csv(tmp_path, "date,time,long,lat\n2000-01-01,00:00,1,2\n"))
    with pytest.raises(InputError, match="no readable event rows.*first bad line 2"):
        read_etas_csv(_csv(tmp_path, "date,time,long,lat,mag\nx,y,z,w,v\n"))
    with pytest.raises(InputError, match="empty file"):
        read_etas_csv(_csv(tmp_path, "\n\n"))


def test_parse_polygon_and_time():
    assert parse_polygon("26,52; 25,59;29,58;26,52") == ((26.0, 52.0), (25.0, 59.0), (29.0, 58.0))
    for bad, needle in (("26,52;25", "vertex 2"), ("26,52;25,x;1,1", "not numeric"), ("26,52;27,53", "at least 3"),
                        ("95,52;25,59;29,58", "out of range")):
        with pytest.raises(InputError, match=needle):
            parse_polygon(bad)
    assert parse_time("1991-01-01") == datetime(1991, 1, 1, tzinfo=timezone.utc)
    assert parse_time("1991/01/01 06:30") == datetime(1991, 1, 1, 6, 30, tzinfo=timezone.utc)
    with pytest.raises(InputError, match="study_start"):
        parse_time("1991-02-30", "study_start")


def test_polygon_geometry():
    area, cx, cy = polygon_area_centroid(np.array([0, 4, 4, 0.0]), np.array([0, 0, 2, 2.0]))
    assert (area, cx, cy) == (8.0, 2.0, 1.0)
    assert polygon_area_centroid(np.array([0, 0, 4, 4.0]), np.array([0, 2, 2, 0.0]))[0] == -8.0
    inside = points_in_polygon(np.array([1.0, 5.0, 3.9, -0.1]), np.array([1.0, 1.0, 1.9, 1.0]),
                               np.array([0, 4, 4, 0.0]), np.array([0, 0, 2, 2.0]))
    assert inside.tolist() == [True, False, True, False]


def _catalog_text():
    # lon, lat chosen inside/outside the square 30-32N x 50-52E.
    rows = [("1999-06-01", "51.0", "31.0", "5.0"),   # pre-study, inside  -> -2
            ("2000-01-01 00:00:00", "51.0", "31.0", "4.0"),   # below threshold -> dropped
            ("2000-02-01", "51.5", "31.5", "4.5"),   # target
            ("2000-01-15", "55.0", "31.0", "4.7"),   # outside (unsorted on purpose)
            ("2000-03-01", "50.5", "30.5", "6.0"),   # target
            ("2001-06-01", "51.0", "31.0", "5.5")]   # after study end -> dropped
    lines = ["date,time,long,lat,mag"]
    for d, lon, lat, m in rows:
        date, _, clock = d.partition(" ")
        lines.append(f"{date},{clock or '12:00:00'},{lon},{lat},{m}")
    return "\n".join(lines) + "\n"


def test_target_and_complementary_split(tmp_path):
    data = read_etas_csv(_csv(tmp_path, _catalog_text()))
    cat = make_catalog(data, study_start="2000-01-01", study_end="2001-01-01", mag_threshold=4.5,
                       polygon="30,50;30,52;32,52;32,50")
    assert cat.flag.tolist() == [-2, 0, 1, 1]
    assert (cat.n_target, cat.n_complementary) == (2, 2)
    assert "sorted" in cat.notes[0]
    np.testing.assert_allclose(cat.m, [0.5, 0.2, 0.0, 1.5])
    assert cat.t[0] == 0.0  # time_begin defaults to the first event (any magnitude)
    assert cat.t_start == pytest.approx((datetime(2000, 1, 1) - datetime(1999, 6, 1, 12)).total_seconds() / 86400)
    assert cat.study_length == pytest.approx(366.0)
    # degree projection about the polygon's centroid (51E, 31N)
    assert cat.projection == Projection("degree", 51.0, 31.0)
    assert cat.x[2] == pytest.approx(0.5 * math.cos(math.radians(31.0))) and cat.y[2] == pytest.approx(0.5)
    assert cat.region_area == pytest.approx(4.0 * math.cos(math.radians(31.0)))
    assert cat.line.tolist() == [2, 5, 4, 6]


def test_clockwise_polygon_is_stored_anticlockwise_and_km_projection(tmp_path):
    data = read_etas_csv(_csv(tmp_path, _catalog_text()))
    cw = make_catalog(data, study_start="2000-01-01", study_end="2001-01-01", mag_threshold=4.5,
                      polygon="30,50;32,50;32,52;30,52", dist_unit="km")
    assert cw.flag.tolist() == [-2, 0, 1, 1]
    assert cw.region_area > 0
    assert cw.x[2] == pytest.approx(111.320 * math.cos(math.radians(31.5)) * 51.5)
    assert cw.y[2] == pytest.approx(110.574 * 31.5)
    lon, lat = cw.projection.inverse(cw.x, cw.y)
    np.testing.assert_allclose(lon, cw.longitude_deg)
    np.testing.assert_allclose(lat, cw.latitude_deg)


def test_bad_study_setups_give_clear_messages(tmp_path):
    data = read_etas_csv(_csv(tmp_path, _catalog_text()))
    with pytest.raises(InputError, match="empty selection: no target event"):
        make_catalog(data, study_start="2000-01-01", study_end="2001-01-01", mag_threshold=4.5,
                     polygon="10,10;10,11;11,11")
    with pytest.raises(InputError, match="empty selection: no event with magnitude >= 7"):
        make_catalog(data, mag_threshold=7.0)
    with pytest.raises(InputError, match="before study start"):
        make_catalog(data, study_start="2000-06-01", study_end="2000-01-01")
    with pytest.raises(InputError, match="before time_begin"):
        make_catalog(data, time_begin="2000-01-01", study_start="1999-01-01")
    with pytest.raises(InputError, match="zero area"):
        make_catalog(data, polygon="30,50;31,51;32,52")
    with pytest.raises(InputError, match="dist_unit"):
        make_catalog(data, dist_unit="mile")


def test_default_region_is_the_data_range_widened_by_one_percent(tmp_path):
    data = read_etas_csv(_csv(tmp_path, _catalog_text()))
    cat = make_catalog(data)
    lats = [v[0] for v in cat.polygon_latlon]
    lons = [v[1] for v in cat.polygon_latlon]
    assert min(lats) == pytest.approx(30.5 - 0.01 * 1.0) and max(lons) == pytest.approx(55.0 + 0.01 * 4.5)
    assert cat.n_target == cat.n_events  # all events inside, study period = whole catalog


def test_iran_catalogue_split_matches_r(shared_data):
    data = read_etas_csv(shared_data / "catalogs" / "etas" / "iran_quakes.csv")
    assert len(data) == 5970 and not data.skipped
    cat = make_catalog(data, study_start="1991-01-01", study_end="2011-01-01", mag_threshold=4.5,
                       polygon="26,52;25,59;29,58;38,45;35,43")
    assert (cat.n_target, cat.n_complementary) == (695, 1805)
    assert ((cat.flag == -2).sum(), (cat.flag == 0).sum()) == (1367, 438)
    assert cat.projection.center_lon_deg == pytest.approx(51.0667, abs=1e-4)
    assert cat.projection.center_lat_deg == pytest.approx(30.8364, abs=1e-4)
    assert cat.study_length == pytest.approx(7305.0)
