"""load_region / write_region: discovery, manifest, errors, round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tianshan.core.errors import InputError
from tianshan.core.station import Channel, InstrumentKind, Station, StationGain
from tianshan.core.ids import StreamID
from tianshan.core.velocity import VelocityModel
from tianshan.regions import Bounds, Fault, Place, RegionProfile, load_region, write_region

STATIONS = "network,station,latitude,longitude,elevation_m\nXJ,KOL,41.8899,85.81,1093\nXJ,LTA,41.78,84.27,990\n"
VELOCITY = "layer,top_km,bottom_km,vp_kms\nupper,0,26,6.10\nlower,26,54,6.70\nupper_mantle,54,,8.20\n"


def _folder(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "region"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("__", ".")).write_text(text, encoding="utf-8")
    return folder


def test_shared_xinjiang_folder_loads(shared_data):
    p = load_region(shared_data / "xinjiang")
    s = p.summary()
    assert p.name == "xinjiang"
    assert s["stations"] == 69 and s["networks"] == ["XJ"] and s["simulated_stations"] == 0
    assert {st.code for st in p.stations} >= {"KOL", "LTA", "BLT", "QMO", "RUQ"}
    assert s["places_by_kind"] == {"county": 106, "city": 422}
    assert s["population_by_kind"]["county"] == 25_852_345 == s["total_population"]
    assert s["faults"] == 338 and s["skipped"] == {}
    assert [lay.vp_m_s for lay in p.velocity_model.layers] == [6100.0, 6700.0, 8200.0]
    assert p.velocity_model.moho_m == 54_000.0
    json.dumps(s)  # serialisable


def test_discovery_and_default_name(tmp_path):
    folder = _folder(tmp_path, stations_xj__csv=STATIONS, velocity_model__csv=VELOCITY,
                     places__csv="name,latitude,longitude,population\nLuntai,41.78,84.27,116000\n",
                     unrelated__csv="a,b\n1,2\n")
    p = load_region(folder)
    assert p.name == "region" and len(p.stations) == 2 and len(p.places) == 1 and p.faults == ()
    assert p.bounds == Bounds(84.27, 41.78, 85.81, 41.8899)
    assert p.source == str(folder)


def test_missing_required_files(tmp_path):
    folder = _folder(tmp_path, velocity__csv=VELOCITY)
    with pytest.raises(InputError, match="missing required file: no stations") as info:
        load_region(folder)
    assert info.value.source == str(folder)
    folder = _folder(tmp_path, stations__csv=STATIONS)
    (folder / "velocity.csv").unlink()
    with pytest.raises(InputError, match="no velocity"):
        load_region(folder)
    with pytest.raises(InputError, match="does not exist"):
        load_region(tmp_path / "nowhere")


def test_errors_inside_files_name_file_and_line(tmp_path):
    folder = _folder(tmp_path, stations__csv=STATIONS + "XJ,BAD,123,85,10\n", velocity__csv=VELOCITY)
    with pytest.raises(InputError) as info:
        load_region(folder)
    assert (info.value.source, info.value.line, info.value.field) == (str(folder / "stations.csv"), 4, "latitude")


def test_duplicate_station_across_files(tmp_path):
    folder = _folder(tmp_path, stations_a__csv=STATIONS, stations_b__csv=STATIONS.replace("LTA", "XYZ"),
                     velocity__csv=VELOCITY)
    with pytest.raises(InputError, match="duplicate station XJ.KOL.*stations_a.csv") as info:
        load_region(folder)
    assert info.value.source == str(folder / "stations_b.csv")


def test_corrupt_fault_features_are_skipped_and_counted(tmp_path):
    good = {"type": "Feature", "properties": {"name": "F1", "slip_type": "Reverse"},
            "geometry": {"type": "LineString", "coordinates": [[84, 42], [85, 42]]}}
    bad = {"type": "Feature", "properties": {"name": "F2"}, "geometry": None}
    folder = _folder(tmp_path, stations__csv=STATIONS, velocity__csv=VELOCITY,
                     faults__geojson=json.dumps({"type": "FeatureCollection", "features": [good, bad]}))
    p = load_region(folder)
    assert len(p.faults) == 1 and p.summary()["skipped"] == {"faults": 1}
    (folder / "faults.geojson").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="invalid GeoJSON"):
        load_region(folder)


def test_manifest(tmp_path):
    folder = _folder(tmp_path, net__csv=STATIONS, model__csv=VELOCITY, vs30__tif="not really a tiff",
                     region__toml='name = "xj-test"\nstations = "net.csv"\nsimulated_stations = ["XJ.LTA"]\n'
                                  'velocity = "model.csv"\nvelocity_name = "m1"\nmoho_km = 26\nvs30 = "vs30.tif"\n'
                                  'bounds = [80, 40, 90, 45]\n')
    p = load_region(folder / "region.toml")
    assert p.name == "xj-test" and p.velocity_model.name == "m1" and p.velocity_model.moho_m == 26_000.0
    assert [s.simulated for s in p.stations] == [False, True]
    assert p.vs30_path == folder / "vs30.tif" and p.exposure_path is None
    assert p.bounds == Bounds(80, 40, 90, 45)


@pytest.mark.parametrize("manifest, msg, line", [
    ('stations = "net.csv"\nvelocity = "model.csv"\nfautls = []\n', "unknown key 'fautls'", 3),
    ('stations = "net.csv"\n', "missing required key 'velocity'", None),
    ('stations = "net.csv"\nvelocity = "model.csv"\nmoho_km = "deep"\n', "moho_km.*'deep'", 3),
    ('stations = "net.csv"\nvelocity = "model.csv"\nexposure = "exp.tif"\n', "exposure raster 'exp.tif' not found",
     None),
    ('stations = ["net.csv", "more.csv"]\nvelocity = "model.csv"\n', "station file 'more.csv' not found", None),
    ('stations = "net.csv"\nvelocity = "model.csv"\nsimulated_stations = ["XJ.NONE"]\n', "unknown station", None),
    ('stations = "net.csv"\nvelocity = [model.csv]\n', "malformed TOML", 2),
])
def test_manifest_errors(tmp_path, manifest, msg, line):
    folder = _folder(tmp_path, net__csv=STATIONS, model__csv=VELOCITY, region__toml=manifest)
    with pytest.raises(InputError, match=msg) as info:
        load_region(folder)
    assert info.value.line == line


def _small_profile(tmp_path: Path) -> RegionProfile:
    gain = StationGain(6.29145e8, 1.0, "M/S", response_ref="nominal")
    chans = tuple(Channel(StreamID("TS", "AB1", "00", c), 41.5, 84.5, 1200.5, 100.0, azimuth_deg=az, dip_deg=dip,
                          kind=InstrumentKind.BROADBAND, gain=gain)
                  for c, az, dip in (("HHZ", 0, -90), ("HHN", 0, 0), ("HHE", 90, 0)))
    sts = (Station("TS", "AB1", 41.5, 84.5, 1200.5, name="Somewhere", channels=chans, simulated=True),
           Station("XJ", "KOL", 41.8899, 85.81, 1093.0))
    vm = VelocityModel.from_vp("m", (0.0, 12_345.6, 40_000.0), (5900.0, 6400.0, 8100.0), moho_m=40_000.0,
                               reference="a test")
    places = (Place("轮台县", 41.78, 84.25, 116000, "county", "巴州", "轮台县", "652822"),
              Place("Luntai", 41.7768, 84.27, None, "town"))
    faults = (Fault("F", "Reverse", ((84.0, 41.9), (84.5, 42.0)), 45.0, 90.0), Fault("", "", ((80, 40), (81, 41))))
    raster = tmp_path / "exposure.tif"
    raster.write_bytes(b"II*\x00")
    return RegionProfile("small", sts, vm, places, faults, exposure_path=raster, source="test")


def test_write_then_load_reproduces_profile(tmp_path):
    p = _small_profile(tmp_path)
    folder = write_region(p, tmp_path / "out")
    assert {f.name for f in folder.iterdir()} >= {"region.toml", "stations.xml", "stations.csv", "velocity.csv",
                                                   "places.csv", "faults.geojson"}
    q = load_region(folder)
    assert q == p
    assert q.stations[0].channels[0].gain == p.stations[0].channels[0].gain and q.stations[0].simulated
    assert q.exposure_path == p.exposure_path and q.source == str(folder)
    # the CSV copy holds the same stations apart from gains
    from tianshan.regions.stations_csv import read_stations_csv
    csv_sts = read_stations_csv(folder / "stations.csv")
    assert [s.station_id for s in csv_sts] == [s.station_id for s in p.stations]
    assert [c.stream_id for c in csv_sts[0].channels] == [c.stream_id for c in p.stations[0].channels]


def test_region_profile_rejects_duplicate_streams():
    from tianshan.core.errors import DomainError
    vm = VelocityModel.from_vp("m", (0.0,), (6000.0,))
    st = Station("XJ", "KOL", 41.0, 85.0, 0.0)
    with pytest.raises(DomainError, match="duplicate station"):
        RegionProfile("r", (st, st), vm)
    with pytest.raises(DomainError, match="no stations"):
        RegionProfile("r", (), vm)


def test_shared_folder_round_trip(shared_data, tmp_path):
    p = load_region(shared_data / "xinjiang")
    assert load_region(write_region(p, tmp_path / "xj")) == p


def test_haversine_against_pyproj():
    from pyproj import Geod

    from tianshan.regions.model import haversine_m
    geod = Geod(ellps="WGS84")
    for lat1, lon1, lat2, lon2 in ((41.78, 84.27, 41.76, 86.15), (43.8, 87.6, 39.47, 75.99), (36.0, 79.9, 47.9, 88.1)):
        _, _, ref = geod.inv(lon1, lat1, lon2, lat2)
        assert haversine_m(lat1, lon1, lat2, lon2) == pytest.approx(ref, rel=5e-3)


def test_garbled_stationxml_names_file(tmp_path):
    folder = _folder(tmp_path, stations__xml="<FDSNStationXML><Network", velocity__csv=VELOCITY)
    with pytest.raises(InputError, match="StationXML") as info:
        load_region(folder)
    assert info.value.source == str(folder / "stations.xml")
