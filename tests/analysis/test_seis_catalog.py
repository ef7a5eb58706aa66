"""Catalog I/O into one table (EQT, CSV variants, QuakeML, event store) and selection."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from tianshan.analysis.catalog import (XINJIANG_BOX, catalog_from_events, read_catalog, read_csv_catalog,
                                       read_eqt_catalog, select, store_catalog)
from tianshan.cli.main import main
from tianshan.core.errors import InputError
from tianshan.core.event import Event
from tianshan.core.magnitude import Magnitude
from tianshan.core.origin import Origin
from tianshan.io.eqt import EqtRecord, write_eqt

UTC = timezone.utc

HEADERLESS = """1970,1,5,1,2,3.5,40.1,80.2,4.5,10,0
1971,2,29,0,0,0,40.0,80.0,4.0,-1,0
1972,3,1,12,0,0,41.5,81.0,5.1,-1,0
1973,3,1,12,0,0,not_a_lat,81.0,5.1,-1,0
1974,6,30,23,59,59,38.0,95.5,3.9,15,0
"""


def test_headerless_china_mw_layout_skips_bad_lines_with_numbers(tmp_path):
    p = tmp_path / "cat.csv"
    p.write_text(HEADERLESS, encoding="utf-8")
    cat = read_csv_catalog(p)
    assert len(cat) == 3
    assert [ln for ln, _ in cat.skipped] == [2, 4]  # 29 Feb 1971 does not exist; bad latitude
    assert "day is out of range" in cat.skipped[0][1] and "latitude" in cat.skipped[1][1]
    assert cat.times[0] == datetime(1970, 1, 5, 1, 2, 3, 500000, tzinfo=UTC)
    assert np.isnan(cat.depth_km[1]) and cat.depth_km[0] == 10.0  # -1 = unknown depth
    assert list(cat.line) == [1, 3, 5]


def test_header_layouts_iso_datetime_and_fields(tmp_path):
    iso = tmp_path / "comcat.csv"
    iso.write_text("time,latitude,longitude,depth,mag,magType,id\n"
                   "2020-03-23T03:00:00.500Z,41.75,81.11,10.5,5.0,mb,us1\n"
                   "2020-07-13 01:00:00,44.42,80.82,,5.0,Ms,us2\n"
                   "yesterday,44.0,80.0,5,4,ml,us3\n", encoding="utf-8")
    c = read_csv_catalog(iso)
    assert list(c.event_id) == ["us1", "us2"] and list(c.magnitude_type) == ["mb", "Ms"]
    assert c.times[0] == datetime(2020, 3, 23, 3, 0, 0, 500000, tzinfo=UTC)
    assert np.isnan(c.depth_km[1]) and c.skipped[0][0] == 4
    r = tmp_path / "r.csv"
    r.write_text("date,time,long,lat,mag\n1991/01/02,03:04:05.5,52.0,30.0,4.6\n", encoding="utf-8")
    assert read_csv_catalog(r).times[0] == datetime(1991, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)
    f = tmp_path / "fields.csv"
    f.write_text("year,month,day,hour,minute,second,lat,lon,mag,depth\n2001,11,14,9,26,10,35.9,90.5,7.7,15\n",
                 encoding="utf-8")
    assert read_csv_catalog(f).times[0] == datetime(2001, 11, 14, 9, 26, 10, tzinfo=UTC)


def test_bad_files_raise_input_error(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("when,where\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="time column"):
        read_csv_catalog(p)
    p.write_text("garbage line\n", encoding="utf-8")
    with pytest.raises(InputError):
        read_csv_catalog(p)
    p.write_text("2000,1,1,0,0,0,99,80,4,1,0\n", encoding="utf-8")
    with pytest.raises(InputError, match="no readable event row.*line 1"):
        read_csv_catalog(p)
    with pytest.raises(InputError, match="no such file"):
        read_catalog(tmp_path / "missing.csv")


def test_eqt_beijing_time_to_utc_and_corrupt_line_numbers(tmp_path):
    recs = [EqtRecord(time=datetime(2020, 3, 23, 11, 0, 0), latitude_deg=41.75, longitude_deg=81.11, magnitude=5.0,
                      depth_km=16, place="新疆拜城"),
            EqtRecord(time=datetime(2020, 7, 13, 9, 0, 0), latitude_deg=44.42, longitude_deg=80.82, magnitude=5.0,
                      depth_km=None, place="新疆霍城")]
    path = write_eqt(recs, tmp_path / "x.eqt")
    data = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(data[0] + b" 2020XX13090000 44.42 80.825.0  -1000 bad\r\n" + data[1])
    cat = read_catalog(path)
    assert len(cat) == 2 and [ln for ln, _ in cat.skipped] == [2]
    assert cat.times[0] == datetime(2020, 3, 23, 3, 0, 0, tzinfo=UTC)  # Beijing time - 8 h
    assert list(cat.line) == [1, 3] and np.isnan(cat.depth_km[1])


def _event(t: datetime, lat: float, lon: float, mag: float, depth_km: float = 10.0) -> Event:
    o = Origin(time=t, latitude_deg=lat, longitude_deg=lon, depth_m=depth_km * 1000.0)
    m = Magnitude(type="Mw", value=mag, origin_id=o.id)
    return Event(origins=(o,), magnitudes=(m,), preferred_origin_id=o.id, preferred_magnitude_id=m.id)


def test_quakeml_and_events_and_store(tmp_path):
    from tianshan.io.quakeml import write_quakeml
    from tianshan.store.repository import EventStore

    t0 = datetime(2021, 5, 1, tzinfo=UTC)
    events = [_event(t0 + timedelta(days=k), 40 + 0.1 * k, 80.0, 3.0 + 0.5 * k) for k in range(4)]
    events.append(Event(origins=(), magnitudes=()))
    cat = catalog_from_events(events)
    assert len(cat) == 4 and any("without origin" in n for n in cat.notes)
    qml = write_quakeml(events[:4], tmp_path / "ev.xml")
    cq = read_catalog(qml)
    assert np.allclose(cq.magnitude, [3.0, 3.5, 4.0, 4.5]) and np.allclose(cq.depth_km, 10.0)
    assert cq.times[2] == t0 + timedelta(days=2)
    store = EventStore.open(data_dir=tmp_path / "store")
    try:
        for ev in events[:4]:
            store.save_event(ev)
    finally:
        store.close()
    cs = store_catalog(data_dir=tmp_path / "store", min_magnitude=3.5)
    assert sorted(cs.magnitude) == [3.5, 4.0, 4.5] and set(cs.event_id) == {e.id for e in events[1:4]}


def test_select_polygon_box_time_magnitude_depth_and_empty(tmp_path):
    p = tmp_path / "cat.csv"
    p.write_text(HEADERLESS, encoding="utf-8")
    cat = read_csv_catalog(p)
    assert len(select(cat, polygon="39,79;42,79;42,82;39,82")) == 2
    assert len(select(cat, bbox=(90, 30, 100, 40))) == 1
    assert len(select(cat, start="1972-01-01")) == 2
    assert len(select(cat, end="1972-03-01 12:00:00")) == 1  # end is exclusive
    assert len(select(cat, min_magnitude=4.5, max_magnitude=5.1)) == 2
    assert len(select(cat, max_depth_km=12)) == 1  # unknown depths fail depth filters
    with pytest.raises(InputError, match=r"empty selection: none of the 3 events matches M >= 8"):
        select(cat, min_magnitude=8)


def test_real_catalogs_read_completely(shared_data):
    china = read_catalog(shared_data / "catalogs" / "china_mw_1900_2016.csv")
    assert len(china) == 39907 and not china.skipped
    xj = select(china, bbox=XINJIANG_BOX, start="1970-01-01")
    assert len(xj) == 9884
    eqt = read_eqt_catalog(shared_data / "catalogs" / "cenc_national_ms5.eqt")
    assert len(eqt) == 8051 and not eqt.skipped


def test_cli_reports_bad_lines_and_empty_selection(tmp_path, capsys):
    p = tmp_path / "cat.csv"
    p.write_text(HEADERLESS, encoding="utf-8")
    rc = main(["seismicity", "decluster", "--catalog", str(p), "--method", "gardner-knopoff", "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert f"{p}:2: skipped:" in out.err and f"{p}:4: skipped:" in out.err
    doc = json.loads(out.out)
    assert doc["selection"]["skipped_lines"] == [2, 4] and doc["selection"]["n_selected"] == 3
    rc = main(["seismicity", "stats", "--catalog", str(p), "--min-magnitude", "9"])
    err = capsys.readouterr().err
    assert rc == 2 and "tianshan: error:" in err and "empty selection" in err and "Traceback" not in err
