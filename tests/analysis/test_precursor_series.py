"""Precursor series readers: gaps explicit, bad lines reported with line numbers and counted."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import numpy as np
import pytest

from tianshan.analysis.precursor.series import (MISSING_MARKER, SeriesMeta, meta_from_filename, read_csv_series,
                                                read_dat, read_meta, write_daily)
from tianshan.core.errors import InputError

BAD_DAT = """\
2020010100 1.0
2020010101 2.0
2020010101 2.5
2020010102 abc
2020010104 4.0
2020010105 999999
20200101 5.0
2020010125 7.0
2020010106 6.0 7.0
2020010103 3.0
2020010107 7.0
2020010107 7.0
"""


def test_dat_bad_input_is_reported_and_handled(tmp_path):
    path = tmp_path / "65015_2_2211.Dat"
    path.write_text(BAD_DAT)
    s = read_dat(path)
    rep = s.report
    # Grid 00..07 h: 8 samples; 02 (non-numeric), 05 (marker) and 06 (bad line) are missing.
    assert s.step_s == 3600 and len(s) == 8
    assert s.local_start == datetime(2020, 1, 1, 0) and s.start == datetime(2019, 12, 31, 16, tzinfo=timezone.utc)
    np.testing.assert_array_equal(np.isnan(s.values), [False, False, True, False, False, True, True, False])
    assert s.values[1] == 2.0 and s.values[3] == 3.0 and s.values[4] == 4.0  # first duplicate kept
    assert [ln for ln, _ in rep.bad_lines] == [4, 7, 8, 9]
    reasons = dict(rep.bad_lines)
    assert "'abc' is not a number" in reasons[4]
    assert "10-digit" in reasons[7] and "valid time" in reasons[8] and "2 fields" in reasons[9]
    assert [ln for ln, _ in rep.duplicates] == [3, 12]
    assert rep.n_conflicting_duplicates == 1 and "differs" in dict(rep.duplicates)[3]
    assert rep.n_missing_marker == 1
    assert rep.n_out_of_order == 1          # 03 h came after 04 h
    assert rep.n_absent == 2                # 02 h and 06 h have no usable line
    assert rep.n_missing == 3 and rep.n_valid == 5
    assert rep.gaps == ((2, 1), (5, 2))
    d = rep.as_dict()
    assert d["bad_lines"] == 4 and d["duplicates"] == 2 and d["first_bad_lines"][0][0] == 4
    assert s.meta.station_id == "65015" and s.meta.item == "2211"


def test_dat_strict_raises_with_line_number(tmp_path):
    path = tmp_path / "x.Dat"
    path.write_text(BAD_DAT)
    with pytest.raises(InputError) as err:
        read_dat(path, strict=True)
    assert err.value.line == 4 and ":4: " in str(err.value)
    path.write_text("2020010100 1\n2020010100 2\n")
    with pytest.raises(InputError, match="duplicate time"):
        read_dat(path, strict=True)


def test_dat_missing_hours_become_explicit_gaps(tmp_path):
    lines = [f"202001{d:02d}{h:02d} {d * 24 + h}" for d in (1, 2) for h in range(24) if not (d == 1 and 5 <= h < 9)]
    path = tmp_path / "g.Dat"
    path.write_text("\n".join(lines) + "\n")
    s = read_dat(path)
    assert len(s) == 48 and s.report.n_absent == 4 and s.report.gaps == ((5, 4),)
    assert np.isnan(s.values[5:9]).all() and s.values[9] == 33.0


def test_dat_nothing_usable_and_missing_file(tmp_path):
    path = tmp_path / "bad.Dat"
    path.write_text("hello world\nfoo bar\n")
    with pytest.raises(InputError, match="no usable sample"):
        read_dat(path)
    with pytest.raises(InputError, match="file not found"):
        read_dat(tmp_path / "none.Dat")


def test_day_rows_and_daily_stamps(tmp_path):
    row1 = "20200101 " + " ".join(str(h) for h in range(24))
    row2 = "20200102 " + " ".join(["999999"] + [str(100 + h) for h in range(1, 24)])
    path = tmp_path / "rows.Dat"
    path.write_text(row1 + "\n" + row2 + "\n20200103 1 2\n")
    s = read_dat(path)
    assert s.step_s == 3600 and len(s) == 48
    assert s.values[23] == 23.0 and np.isnan(s.values[24]) and s.values[25] == 101.0
    assert s.report.bad_lines[0][0] == 3
    daily = tmp_path / "ANA.txt"
    write_daily(daily, [date(2020, 1, 1), date(2020, 1, 2), date(2020, 1, 3)], np.array([0.1, np.nan, -0.25]))
    assert daily.read_text() == "20200101 0.10000\n20200102 999999.00000\n20200103 -0.25000\n"
    d = read_dat(daily)
    assert d.step_s == 86400 and d.local_dates()[-1] == date(2020, 1, 3) and np.isnan(d.values[1])
    assert d.report.n_missing_marker == 1 and MISSING_MARKER == 999999.0


def test_csv_series(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("time,wl,baro\n20.0,1.0,5.0\n21.0,NA,5.1\n22.0,1.2,oops\n24.0,1.4,5.4\n23,1.3\n")
    cols = read_csv_series(path)
    wl, baro = cols["wl"], cols["baro"]
    assert wl.step_s == 3600 and len(wl) == 5 and wl.local_start == datetime(1970, 1, 1, 20)
    assert np.isnan(wl.values[1]) and np.isnan(wl.values[3]) and wl.values[4] == 1.4
    assert baro.report.bad_lines == ((4, "column 'baro': value 'oops' is not a number"),
                                     (6, "expected 3 fields, got 2"))
    with pytest.raises(InputError, match="no time column"):
        read_csv_series(path, time_column="t")


def test_meta_record(tmp_path):
    p = tmp_path / "meta.json"
    p.write_text(json.dumps({"station_id": "65015", "item": "2211", "unit": "ms", "latitude_deg": 41.8,
                             "longitude_deg": 86.2}))
    m = read_meta(p)
    assert m == SeriesMeta(station_id="65015", item="2211", unit="ms", latitude_deg=41.8, longitude_deg=86.2)
    assert SeriesMeta.from_dict(m.as_dict()) == m
    p.write_text(json.dumps({"station": "x"}))
    with pytest.raises(InputError, match="unknown metadata keys"):
        read_meta(p)
    p.write_text(json.dumps({"latitude_deg": 95}))
    with pytest.raises(InputError, match="outside"):
        read_meta(p)
    assert meta_from_filename("65015_2_2211.Dat").code == "65015_2_2211"
    assert meta_from_filename("well.csv") == SeriesMeta(name="well")
