"""Region file readers: stations CSV, velocity CSV, places CSV, faults GeoJSON; errors name file/line/field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tianshan.core.errors import InputError
from tianshan.core.station import InstrumentKind
from tianshan.core.velocity import brocher_density
from tianshan.regions.faults_geojson import read_faults_geojson, write_faults_geojson
from tianshan.regions.model import Fault, Place
from tianshan.regions.places_csv import read_places_csv, write_places_csv
from tianshan.regions.stations_csv import read_stations_csv, write_stations_csv
from tianshan.regions.velocity_csv import km_to_m, m_to_km_text, read_velocity_csv, write_velocity_csv

HEADER = "network,station,latitude,longitude,elevation_m\n"


def _w(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# --- stations CSV -----------------------------------------------------------------------------

def test_stations_csv_default_channel_set(tmp_path):
    p = _w(tmp_path, "stations.csv", HEADER + "XJ,KOL,41.8899,85.81,1093\nxj,lta,41.78,84.27,990\n")
    sts = read_stations_csv(p)
    assert [s.station_id for s in sts] == ["XJ.KOL", "XJ.LTA"]
    kol = sts[0]
    assert [str(c.stream_id) for c in kol.channels] == ["XJ.KOL..HHZ", "XJ.KOL..HHN", "XJ.KOL..HHE"]
    assert all(c.sample_rate_hz == 100.0 and c.kind is InstrumentKind.BROADBAND and c.gain is None
               for c in kol.channels)
    z, n, e = kol.channels
    assert (z.dip_deg, n.azimuth_deg, n.dip_deg, e.azimuth_deg) == (-90.0, 0.0, 0.0, 90.0)
    assert kol.elevation_m == 1093.0 and not kol.simulated


def test_stations_csv_channels_column(tmp_path):
    p = _w(tmp_path, "stations.csv", HEADER.strip() + ",channels,location,sample_rate,simulated,name\n"
           'TS,AAA,40,80,100,"HH HN",00,200,true,Town A\n'
           "TS,BBB,40,81,100,EHZ;10.HNZ@50,,100,false,\n")
    a, b = read_stations_csv(p)
    assert [c.stream_id.channel for c in a.channels] == ["HHZ", "HHN", "HHE", "HNZ", "HNN", "HNE"]
    assert {c.stream_id.location for c in a.channels} == {"00"} and a.simulated and a.name == "Town A"
    assert {c.sample_rate_hz for c in a.channels} == {200.0}
    assert a.channels[3].kind is InstrumentKind.STRONG_MOTION
    assert [str(c.stream_id) for c in b.channels] == ["TS.BBB..EHZ", "TS.BBB.10.HNZ"]
    assert b.channels[0].kind is InstrumentKind.SHORT_PERIOD and b.channels[1].sample_rate_hz == 50.0


def test_stations_csv_round_trip(tmp_path):
    p = _w(tmp_path, "stations.csv", HEADER.strip() + ",channels\nTS,AAA,40.123456789,80.5,-12.5,"
           '"00.HHZ 00.HHN 00.HHE --.HNZ@200"\nXJ,B,-10,170,0,\n')
    sts = read_stations_csv(p)
    out = write_stations_csv(sts, tmp_path / "again.csv")
    assert read_stations_csv(out) == sts


def test_station_impossible_latitude_names_file_line_field(tmp_path):
    p = _w(tmp_path, "stations.csv", "# comment line\n" + HEADER + "XJ,KOL,41.9,85.8,1093\nXJ,BAD,123,85,10\n")
    with pytest.raises(InputError) as info:
        read_stations_csv(p)
    err = info.value
    assert (err.source, err.line, err.field) == (str(p), 4, "latitude")
    assert str(p) in str(err) and ":4:" in str(err) and "latitude" in str(err) and "123" in str(err)


@pytest.mark.parametrize("row, line_field, text", [
    ("XJ,KOL,north,85,10", "latitude", "not a number"),
    ("XJ,KOL,41,85", "elevation_m", "missing value"),
    ("XJ,KOL,41,85,10,extra", None, "6 fields"),
    ("XJ,TOOLONG,41,85,10", "station", "invalid code"),
    ("XJ,KOL,41,185,10", "longitude", "outside"),
    ("XJ,KOL,41,85,9999", "elevation_m", "outside"),
])
def test_garbled_station_rows(tmp_path, row, line_field, text):
    p = _w(tmp_path, "stations.csv", HEADER + row + "\n")
    with pytest.raises(InputError, match=text) as info:
        read_stations_csv(p)
    assert info.value.line == 2 and info.value.field == line_field


def test_station_csv_wrong_columns(tmp_path):
    p = _w(tmp_path, "stations.csv", "net,sta,lat,lon\nXJ,KOL,41,85\n")
    with pytest.raises(InputError, match="missing column.*network") as info:
        read_stations_csv(p)
    assert info.value.line == 1


def test_duplicate_station_and_duplicate_stream(tmp_path):
    p = _w(tmp_path, "stations.csv", HEADER + "XJ,KOL,41,85,10\nXJ,LTA,41,84,10\nXJ,KOL,41.1,85,10\n")
    with pytest.raises(InputError, match="duplicate station XJ.KOL.*line 2") as info:
        read_stations_csv(p)
    assert (info.value.line, info.value.field) == (4, "station")
    p2 = _w(tmp_path, "s2.csv", HEADER.strip() + ",channels\nXJ,KOL,41,85,10,HHZ HHZ\n")
    with pytest.raises(InputError, match="duplicate stream id XJ.KOL..HHZ") as info:
        read_stations_csv(p2)
    assert (info.value.line, info.value.field) == (2, "channels")


def test_empty_and_missing_station_files(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_stations_csv(tmp_path / "none.csv")
    with pytest.raises(InputError, match="empty"):
        read_stations_csv(_w(tmp_path, "e.csv", "# only a comment\n"))
    with pytest.raises(InputError, match="no stations"):
        read_stations_csv(_w(tmp_path, "h.csv", HEADER))


# --- velocity CSV -----------------------------------------------------------------------------

def test_xinjiang_velocity_file(shared_data):
    m = read_velocity_csv(shared_data / "xinjiang" / "velocity_1d_xinjiang_2018.csv")
    assert [lay.top_m for lay in m.layers] == [0.0, 26_000.0, 54_000.0]
    assert [lay.vp_m_s for lay in m.layers] == [6100.0, 6700.0, 8200.0]
    # Vs from Vp/Vs = 1.73, density Brocher (2005) eq. 1 (as published figures, tolerance 1e-9 relative)
    for lay in m.layers:
        assert lay.vs_m_s == pytest.approx(lay.vp_m_s / 1.73, rel=1e-12)
        assert lay.density_kg_m3 == pytest.approx(brocher_density(lay.vp_m_s), rel=1e-12)
    assert m.moho_m == 54_000.0
    assert "新疆地区一维地壳速度模型研究" in m.reference


def test_velocity_with_vs_and_density_columns(tmp_path):
    p = _w(tmp_path, "velocity.csv", "# name: test model\n# moho_km: 35\nlayer,top_km,bottom_km,vp_kms,vs_kms,"
           "rho_kgm3\na,0,20,6.0,3.5,2700\nb,20,35,6.6,3.8,\nc,35,,8.0,4.5,3300\n")
    m = read_velocity_csv(p)
    assert m.name == "test model" and m.moho_m == 35_000.0
    assert m.layers[0].vs_m_s == 3500.0 and m.layers[0].density_kg_m3 == 2700.0
    assert m.layers[1].density_kg_m3 == pytest.approx(brocher_density(6600.0))


def test_velocity_round_trip_is_exact(tmp_path):
    p = _w(tmp_path, "velocity.csv", "layer,top_km,bottom_km,vp_kms\nx,0,1.2345678,5.1\ny,1.2345678,33.3,6.43\n"
           "z,33.3,,7.99\n")
    m = read_velocity_csv(p, moho_km=33.3)
    again = read_velocity_csv(write_velocity_csv(m, tmp_path / "out.csv"))
    assert again == m
    assert m_to_km_text(1234.5678) == "1.2345678" and km_to_m("1.2345678") == 1234.5678


@pytest.mark.parametrize("body, line, field, text", [
    ("a,0,26,6.1\nb,20,54,6.7\n", 3, "top_km", "does not meet"),
    ("a,0,26,6.1\nb,26,54,6.7\nc,10,,8.2\n", 4, "top_km", "out of order"),
    ("a,0,26,6.1\nb,26,,6.7\nc,54,,8.2\n", 4, "top_km", "half-space"),
    ("a,5,26,6.1\n", 2, "top_km", "start at 0"),
    ("a,0,26,fast\n", 2, "vp_kms", "not a number"),
    ("a,0,26,61\n", 2, "vp_kms", "not a rock P velocity"),
    ("a,0,26,6.1\nb,26,20,6.7\n", 3, "bottom_km", "not below"),
])
def test_bad_velocity_files(tmp_path, body, line, field, text):
    p = _w(tmp_path, "velocity.csv", "layer,top_km,bottom_km,vp_kms\n" + body)
    with pytest.raises(InputError, match=text) as info:
        read_velocity_csv(p)
    assert (info.value.source, info.value.line, info.value.field) == (str(p), line, field)


def test_velocity_vs_above_vp(tmp_path):
    p = _w(tmp_path, "velocity.csv", "layer,top_km,bottom_km,vp_kms,vs_kms\na,0,,6.0,6.5\n")
    with pytest.raises(InputError, match="Vs") as info:
        read_velocity_csv(p)
    assert (info.value.line, info.value.field) == (2, "vs_kms")


# --- places CSV -------------------------------------------------------------------------------

CENSUS = ("adcode_census,adcode_map,name_map,name_census,prefecture,prefecture_adcode,pop2020_census,lon_rep,lat_rep\n"
          "650102,650102,天山区,天山区,乌鲁木齐市,650100,652792,87.6189,43.7182\n"
          "652822,652822,轮台县,轮台县,巴音郭楞蒙古自治州,652800,116000,84.25,41.78\n")


def test_census_places(tmp_path):
    places = read_places_csv(_w(tmp_path, "counties_census2020.csv", CENSUS))
    assert places[0] == Place("天山区", 43.7182, 87.6189, 652792, "county", admin="乌鲁木齐市", name_zh="天山区",
                              code="650102")
    assert sum(p.population for p in places) == 768792


def test_geonames_places_zero_population_is_unknown(tmp_path):
    p = _w(tmp_path, "cities.csv", "geonameid,name,latitude,longitude,population,timezone\n"
           "1529376,Korla,41.76055,86.15231,549324,Asia/Urumqi\n1,Nowhere,40,80,0,Asia/Urumqi\n")
    korla, nowhere = read_places_csv(p)
    assert (korla.name, korla.population, korla.kind, korla.code) == ("Korla", 549324, "city", "1529376")
    assert nowhere.population is None


def test_places_round_trip(tmp_path):
    places = (Place("轮台县", 41.78, 84.25, 116000, "county", "巴音郭楞", "轮台县", "652822"),
              Place("Luntai, town", 41.7768, 84.27, None, "town"))
    assert read_places_csv(write_places_csv(places, tmp_path / "places.csv")) == places


@pytest.mark.parametrize("text, line, field, msg", [
    ("name,latitude,longitude,population\nA,40,80,many\n", 2, "population", "not an integer"),
    ("name,latitude,longitude,population\nA,95,80,1\n", 2, "latitude", "outside"),
    ("name,latitude,longitude,population\nA,40,80,-5\n", 2, "population", ">= 0"),
    ("name,latitude,longitude,kind\nA,40,80,castle\n", 2, "kind", "not one of"),
    ("town,lat,lon\nA,40,80\n", None, None, "unrecognised places header"),
])
def test_bad_places(tmp_path, text, line, field, msg):
    p = _w(tmp_path, "places.csv", text)
    with pytest.raises(InputError, match=msg) as info:
        read_places_csv(p)
    assert (info.value.source, info.value.line, info.value.field) == (str(p), line, field)


def test_shared_places(shared_data):
    xj = shared_data / "xinjiang"
    counties = read_places_csv(xj / "counties_census2020.csv")
    assert len(counties) == 106 and sum(p.population for p in counties) == 25_852_345
    assert all(p.kind == "county" and p.name_zh for p in counties)
    cities = read_places_csv(xj / "cities_geonames.csv")
    assert len(cities) == 422 and sum(p.population is not None for p in cities) == 167


# --- faults GeoJSON ---------------------------------------------------------------------------

def _feature(geometry, **props):
    base = {"name": None, "slip_type": "Reverse", "average_dip": None, "average_rake": None}
    base.update(props)
    return {"type": "Feature", "geometry": geometry, "properties": base}


def test_gem_gaf_shape_and_skipped_features(tmp_path):
    line = {"type": "LineString", "coordinates": [[84.0, 41.9], [84.5, 42.0], [85.0, 42.1]]}
    multi = {"type": "MultiLineString", "coordinates": [[[80, 40], [80.5, 40.2]], [[81, 40], [81.4, 40.1, 0.0]]]}
    doc = {"type": "FeatureCollection", "features": [
        _feature(line, name="Luntai thrust", average_dip="45.0", average_rake="90.0"),
        _feature(multi, slip_type="Dextral"),
        _feature(None),                                                    # no geometry
        _feature({"type": "Point", "coordinates": [80, 40]}),              # not a line
        _feature({"type": "LineString", "coordinates": [[80, 40]]}),       # one point
        _feature({"type": "LineString", "coordinates": [[80, 95], [80, 40]]}),  # impossible latitude
        _feature(line, average_dip="steep"),                               # garbled dip
    ]}
    p = _w(tmp_path, "faults.geojson", json.dumps(doc))
    faults, skipped = read_faults_geojson(p)
    assert skipped == 5 and len(faults) == 3
    f = faults[0]
    assert (f.name, f.slip_type, f.dip_deg, f.rake_deg) == ("Luntai thrust", "Reverse", 45.0, 90.0)
    assert f.coordinates == ((84.0, 41.9), (84.5, 42.0), (85.0, 42.1))
    assert faults[1].slip_type == faults[2].slip_type == "Dextral" and faults[2].dip_deg is None
    again, n = read_faults_geojson(write_faults_geojson(faults, tmp_path / "out.geojson"))
    assert again == faults and n == 0


@pytest.mark.parametrize("text, msg, line", [
    ('{"type": "FeatureCollection",\n "features": [,]}', "invalid GeoJSON", 2),
    ('{"type": "Feature", "geometry": null}', "expected a FeatureCollection", None),
    ('{"type": "FeatureCollection", "features": 3}', "not a list", None),
    ("[1, 2]", "expected a FeatureCollection", None),
])
def test_invalid_geojson(tmp_path, text, msg, line):
    p = _w(tmp_path, "faults.geojson", text)
    with pytest.raises(InputError, match=msg) as info:
        read_faults_geojson(p)
    assert info.value.source == str(p) and info.value.line == line


def test_shared_faults(shared_data):
    faults, skipped = read_faults_geojson(shared_data / "xinjiang" / "faults_gem_gaf_2017.geojson")
    assert len(faults) == 338 and skipped == 0
    assert sum(f.dip_deg is not None for f in faults) == 17
    assert {f.slip_type for f in faults} >= {"Reverse", "Dextral", "Sinistral", "Normal"}


def test_fault_and_place_validation():
    from tianshan.core.errors import DomainError
    with pytest.raises(DomainError, match="dip_deg"):
        Fault("x", "Reverse", ((80, 40), (81, 40)), dip_deg=120)
    with pytest.raises(DomainError, match="population"):
        Place("x", 40, 80, -1)
