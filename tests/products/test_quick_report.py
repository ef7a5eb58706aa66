"""The automatic quick report (自动速报), Chinese and English."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tianshan.core import DomainError, Event, EventType, Magnitude, Origin
from tianshan.products.reports import quick_report
from tianshan.products.reports.quick import short_prefecture
from tianshan.regions.model import Place

T = datetime(2024, 7, 15, 8, 30, 12, tzinfo=timezone.utc)  # 16:30 Beijing time


def _event(t=T, lat=41.95, lon=84.30, depth_m=12_000.0, mag=6.46, mode="automatic", etype=EventType.EARTHQUAKE):
    ev = Event(type=etype).with_origin(Origin(t, lat, lon, depth_m, evaluation_mode=mode))
    return ev if mag is None else ev.with_magnitude(Magnitude("ML", mag))


@pytest.fixture(scope="module")
def census_places(shared_data):
    from tianshan.regions.places_csv import read_places_csv

    return read_places_csv(shared_data / "xinjiang" / "counties_census2020.csv")


def test_luntai_census_counties(census_places, shared_data):
    r = quick_report(_event(), census_places)
    assert r.text_zh == ("中国地震台网自动测定：07月15日16时30分在新疆巴音郭楞州轮台县附近（北纬41.95度，东经84.30度）"
                         "发生6.5级左右地震，震源深度12千米。最终结果以正式速报为准。")
    assert "轮台县" in r.text_zh and "巴音郭楞蒙古自治州" in r.place_zh_full
    assert r.place_zh_full == "新疆维吾尔自治区巴音郭楞蒙古自治州轮台县" and r.automatic
    assert r.nearest.name_zh == "轮台县" and 20 < r.distance_km < 40
    assert r.text_en.startswith("CENC automatic determination: an M6.5 earthquake struck in Bayingolin, Xinjiang "
                                "(41.95°N, 84.30°E) at 16:30 on July 15 (Beijing time); focal depth 12 km.")
    assert r.text_en.endswith("Automatic solution, subject to revision.")
    # With GeoNames towns too, the English text names the nearest town.
    from tianshan.regions.places_csv import read_places_csv

    towns = read_places_csv(shared_data / "xinjiang" / "cities_geonames.csv")
    both = quick_report(_event(), census_places + towns)
    assert both.text_zh == r.text_zh and "near Luntai, Bayingolin, Xinjiang" in both.text_en


def test_reviewed_report_next_day_in_beijing(census_places):
    ev = _event(t=datetime(2024, 1, 22, 18, 9, 4, tzinfo=timezone.utc), lat=41.26, lon=78.63, depth_m=22_000.0,
                mag=7.1, mode="manual")
    r = quick_report(ev, census_places)
    assert r.text_zh == ("中国地震台网正式测定：01月23日02时09分在新疆阿克苏地区乌什县（北纬41.26度，东经78.63度）"
                         "发生7.1级地震，震源深度22千米。")
    assert not r.automatic and "official" in r.text_en and "Aksu" in r.text_en
    assert r.time_beijing == datetime(2024, 1, 23, 2, 9, tzinfo=r.time_beijing.tzinfo)


def test_far_from_places_gives_direction_and_distance():
    places = [Place("轮台县", 41.8161, 84.6065, 137327, "county", admin="巴音郭楞蒙古自治州", name_zh="轮台县")]
    r = quick_report(_event(lat=41.0, lon=84.6065), places)
    assert "新疆巴音郭楞州轮台县南91千米（" in r.text_zh


def test_english_only_places_and_no_places():
    towns = [Place("Luntai", 41.77953, 84.27049, None), Place("Korla", 41.76055, 86.15231, 549324)]
    r = quick_report(_event(), towns)
    assert "在新疆Luntai附近（北纬41.95度" in r.text_zh and "near Luntai, Xinjiang" in r.text_en
    bare = quick_report(_event(mag=None), ())
    assert "在新疆（北纬41.95度，东经84.30度）发生地震，" in bare.text_zh
    assert "an earthquake struck in Xinjiang" in bare.text_en


def test_hemispheres_event_types_and_errors():
    r = quick_report(_event(lat=-22.65, lon=-66.25, etype=EventType.QUARRY_BLAST), (), region_zh="", region_en="")
    assert "南纬22.65度，西经66.25度" in r.text_zh and "（疑爆）" in r.text_zh
    assert "22.65°S, 66.25°W" in r.text_en and "suspected quarry blast" in r.text_en
    with pytest.raises(DomainError, match="no origin"):
        quick_report(Event())


def test_short_prefecture_names():
    assert short_prefecture("巴音郭楞蒙古自治州") == "巴音郭楞州"
    assert short_prefecture("克孜勒苏柯尔克孜自治州") == "克孜勒苏州"
    assert short_prefecture("伊犁哈萨克自治州") == "伊犁州"
    assert short_prefecture("昌吉回族自治州") == "昌吉州"
    assert short_prefecture("阿克苏地区") == "阿克苏地区"
