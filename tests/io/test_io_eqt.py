"""CENC EQT reader/writer: the real national catalog, round trips, corrupt lines."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tianshan.core import DomainError, Event, InputError, Magnitude, Origin
from tianshan.io.eqt import (EqtRecord, event_from_record, format_eqt_record, parse_eqt_line, read_eqt,
                             record_from_event, write_eqt)

WENCHUAN_LINE = " 20080512142804 30.95 103.408.0  14000 四川汶川县"


def test_parse_and_format_one_line():
    rec = parse_eqt_line(WENCHUAN_LINE)
    assert rec == EqtRecord(datetime(2008, 5, 12, 14, 28, 4), 30.95, 103.40, 8.0, 14, "四川汶川县", "000")
    assert format_eqt_record(rec) == WENCHUAN_LINE
    unknown = parse_eqt_line("  1280222000000 34.70 105.406.5  -1000 甘肃甘谷")
    assert unknown.depth_km is None and unknown.time == datetime(128, 2, 22)
    south = parse_eqt_line(" 20220222141249-22.65 -66.256.0 230000 阿根廷")
    assert (south.latitude_deg, south.longitude_deg, south.depth_km) == (-22.65, -66.25, 230)


@pytest.fixture(scope="module")
def national(shared_data):
    path = shared_data / "catalogs" / "cenc_national_ms5.eqt"
    return path, read_eqt(path)


def test_read_national_catalog(national):
    _, cat = national
    assert len(cat) == 8051 and cat.skipped == ()
    by_time = {r.time: r for r in cat}
    wenchuan = by_time[datetime(2008, 5, 12, 14, 28, 4)]
    assert (wenchuan.latitude_deg, wenchuan.longitude_deg, wenchuan.magnitude, wenchuan.depth_km) == \
        (30.95, 103.40, 8.0, 14)
    assert wenchuan.place == "四川汶川县"
    tangshan = by_time[datetime(1976, 7, 28, 3, 42, 54)]
    assert (tangshan.magnitude, tangshan.depth_km, tangshan.place) == (7.8, 22, "河北唐山")
    last = cat[-1]
    assert last.time == datetime(2022, 2, 24, 12, 58, 52) and last.place == "河北唐山市丰南区"
    assert cat[0].place == "山西永济、蒲州BC23世纪"
    assert max(r.magnitude for r in cat) == 8.6
    assert sum(r.place.startswith("新疆") for r in cat) > 1000


def test_national_catalog_round_trip_is_byte_identical(national, tmp_path):
    path, cat = national
    out = write_eqt(cat, tmp_path / "copy.eqt")
    assert out.read_bytes().rstrip(b"\r\n") == path.read_bytes().rstrip(b"\r\n")
    assert read_eqt(out).records == cat.records


def test_event_conversion_is_beijing_time():
    ev = event_from_record(parse_eqt_line(WENCHUAN_LINE))
    o, m = ev.preferred_origin, ev.preferred_magnitude
    assert o.time == datetime(2008, 5, 12, 6, 28, 4, tzinfo=timezone.utc)
    assert (o.depth_m, m.value, m.type, ev.region_name) == (14_000.0, 8.0, "M", "四川汶川县")
    assert record_from_event(ev) == parse_eqt_line(WENCHUAN_LINE)
    unknown = event_from_record(parse_eqt_line("  1280222000000 34.70 105.406.5  -1000 甘肃甘谷"))
    assert unknown.preferred_origin.depth_fixed and record_from_event(unknown).depth_km is None
    assert event_from_record(EqtRecord(datetime(2019, 9, 5), 14.8, 226.2, 5.2, None)).preferred_origin \
        .longitude_deg == pytest.approx(-133.8)


def test_write_events_rounds_to_the_format(tmp_path):
    t = datetime(2024, 1, 22, 18, 9, 4, 600000, tzinfo=timezone.utc)
    ev = Event(region_name="新疆阿克苏地区乌什县").with_origin(Origin(t, 41.2607, 78.6549, 22_400.0))
    ev = ev.with_magnitude(Magnitude("Ms", 7.14))
    path = write_eqt([ev], tmp_path / "one.eqt")
    raw = path.read_bytes()
    assert raw.endswith(b"\r\n")
    assert raw.decode("gbk") == " 20240123020905 41.26  78.657.1  22000 新疆阿克苏地区乌什县\r\n"
    with pytest.raises(DomainError, match="no origin"):
        write_eqt([Event()], tmp_path / "bad.eqt")
    assert not (tmp_path / "bad.eqt").exists()


def test_corrupt_lines_are_skipped_and_counted(tmp_path):
    good = WENCHUAN_LINE.encode("gbk")
    path = tmp_path / "mixed.eqt"
    path.write_bytes(b"\r\n".join([good, b" 2008051X142804 30.95 103.408.0  14000 x", b"short",
                                   b"", b" 20080512142804 95.00 103.408.0  14000 x", b"\xff\xff" * 30, good]))
    cat = read_eqt(path)
    assert len(cat) == 2 and [n for n, _ in cat.skipped] == [2, 3, 5, 6]
    assert "day: not an integer" in cat.skipped[0][1] and "latitude" in cat.skipped[2][1]
    with pytest.raises(InputError, match=r"mixed.eqt:2: "):
        read_eqt(path, strict=True)
    (tmp_path / "junk.eqt").write_bytes(b"not a catalog at all\r\n")
    with pytest.raises(InputError, match="no EQT record"):
        read_eqt(tmp_path / "junk.eqt")
    with pytest.raises(InputError, match="file not found"):
        read_eqt(tmp_path / "absent.eqt")
