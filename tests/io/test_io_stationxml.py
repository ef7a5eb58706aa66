"""StationXML adapter: lossless round trips, responses, foreign inventories, errors."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from tianshan.core import Channel, DomainError, InputError, InstrumentKind, Station, StationGain, StreamID
from tianshan.io.stationxml import inventory_to_stations, read_stationxml, stations_to_inventory, write_stationxml

UTC = timezone.utc


def stations() -> list[Station]:
    def ch(net, sta, loc, cha, **kw):
        base = dict(latitude_deg=43.8123456, longitude_deg=87.6012345, elevation_m=918.5, sample_rate_hz=100.0)
        base.update(kw)
        return Channel(StreamID(net, sta, loc, cha), **base)

    uru = Station("XJ", "URU", 43.8123456, 87.6012345, 918.5, name="Urumqi (乌鲁木齐)", simulated=True,
                  start=datetime(2010, 1, 1, tzinfo=UTC), end=None, channels=(
                      ch("XJ", "URU", "", "HHZ", gain=StationGain(1.5e9, 1.0, "M/S", response_ref="NRL:STS-2/Q330"),
                         start=datetime(2010, 1, 1, tzinfo=UTC)),
                      ch("XJ", "URU", "", "HHN", azimuth_deg=0.0, dip_deg=0.0, gain=StationGain(1.5e9, 1.0, "M/S")),
                      ch("XJ", "URU", "", "HHE", azimuth_deg=90.0, dip_deg=0.0,
                         start=datetime(2010, 1, 1, 0, 0, 0, 250000, tzinfo=UTC),
                         end=datetime(2030, 12, 31, 23, 59, 59, tzinfo=UTC)),
                      ch("XJ", "URU", "10", "HNZ", kind=InstrumentKind.STRONG_MOTION, sample_rate_hz=200.0,
                         depth_m=12.5, gain=StationGain(4.2e5, 5.0, "M/S**2", output_units="COUNTS")),
                  ))
    ksh = Station("XJ", "KSH", 39.47, 75.99, 1289.0, channels=(
        ch("XJ", "KSH", "", "ENZ", latitude_deg=39.47, longitude_deg=75.99, elevation_m=1289.0,
           kind=InstrumentKind.MEMS, sample_rate_hz=31.25, azimuth_deg=359.5, dip_deg=-90.0),
        ch("XJ", "KSH", "", "EHZ", latitude_deg=39.47, longitude_deg=75.99, elevation_m=1289.0,
           kind=InstrumentKind.SHORT_PERIOD, gain=StationGain(3.0e8, 10.0, "M/S", response_ref="stationxml")),
    ))
    other = Station("KZ", "MKAR", 46.79, 82.29, 600.0, name="Makanchi")  # no channels
    # networks interleaved: order must survive
    return [uru, other, ksh]


def test_round_trip_through_file_is_lossless(tmp_path):
    sts = stations()
    path = write_stationxml(sts, tmp_path / "inv" / "xj.xml")
    assert path.is_file() and not list(path.parent.glob("*.part"))
    assert read_stationxml(path) == sts
    assert inventory_to_stations(stations_to_inventory(sts)) == sts


def test_gain_only_response_and_tianshan_extras(tmp_path):
    inv = stations_to_inventory(stations(), source="unit test")
    assert inv.source == "unit test"
    assert [n.code for n in inv.networks] == ["XJ", "KZ", "XJ"]
    hhz = inv.select(station="URU", channel="HHZ")[0][0][0]
    sens = hhz.response.instrument_sensitivity
    assert (sens.value, sens.frequency, sens.input_units, sens.output_units) == (1.5e9, 1.0, "M/S", "COUNTS")
    assert hhz.response.response_stages == []
    assert inv.select(station="URU", channel="HHE")[0][0][0].response is None
    text = write_stationxml(stations(), tmp_path / "x.xml").read_text()
    assert "<tianshan:simulated>true</tianshan:simulated>" in text
    assert "<tianshan:kind>mems</tianshan:kind>" in text
    assert "<tianshan:responseRef>NRL:STS-2/Q330</tianshan:responseRef>" in text


def test_full_response_is_written_and_evaluates_like_the_original(tmp_path):
    from obspy import read_inventory

    ref = read_inventory()  # ObsPy's bundled example (GR.FUR with a full response)
    resp = ref.select(station="FUR", channel="HHZ")[0][0][0].response
    sid = StreamID("XJ", "URU", "", "HHZ")
    sts = stations()
    path = write_stationxml(sts, tmp_path / "full.xml", responses={sid: resp})
    back_resp = read_inventory(str(path)).select(station="URU", channel="HHZ")[0][0][0].response
    freqs = np.logspace(-2, 1.5, 30)
    a = resp.get_evalresp_response_for_frequencies(freqs, output="VEL")
    b = back_resp.get_evalresp_response_for_frequencies(freqs, output="VEL")
    np.testing.assert_allclose(b, a, rtol=1e-12)
    back = read_stationxml(path)
    gain = back[0].channels[0].gain
    assert gain.value == resp.instrument_sensitivity.value == 943680000.0
    assert gain.response_ref == "NRL:STS-2/Q330"  # ours: from the extra field, not guessed


def test_reads_obspy_example_inventory_and_infers_kinds(tmp_path):
    from obspy import read_inventory

    path = tmp_path / "example.xml"
    read_inventory().write(str(path), format="STATIONXML")  # foreign: no Tianshan fields
    sts = read_stationxml(path)
    assert [s.station_id for s in sts] == ["GR.FUR", "GR.WET", "BW.RJOB", "BW.RJOB", "BW.RJOB"]  # 3 RJOB epochs
    assert sum(len(s.channels) for s in sts) == 30
    fur = sts[0]
    assert fur.channels[0].stream_id == StreamID("GR", "FUR", "", "HHZ")
    assert fur.channels[0].kind is InstrumentKind.BROADBAND
    assert fur.channels[0].gain.value == 943680000.0 and fur.channels[0].gain.response_ref == "stationxml"
    assert fur.simulated is False
    rjob = [c for s in sts[2:] for c in s.channels]
    assert {c.kind for c in rjob} == {InstrumentKind.SHORT_PERIOD}  # EH?: short-period band
    assert len({c.start for c in rjob}) == 3  # three epochs kept apart
    assert sorted({c.gain.value for c in rjob}) == [400000000.0, 671140000.0, 2516800000.0]


def test_state_of_health_channel_without_sample_rate_is_skipped(caplog):
    from obspy import read_inventory

    import obspy

    soh = Path(obspy.__file__).parent / "io" / "stationxml" / "tests" / "data" / "only_soh.xml"
    if not soh.is_file():
        pytest.skip("ObsPy test data not installed")
    inv = read_inventory(str(soh))
    n_channels = sum(len(s.channels) for n in inv for s in n)
    with caplog.at_level(logging.WARNING):
        sts = inventory_to_stations(inv)
    assert sum(len(s.channels) for s in sts) == n_channels - 1
    assert "no sample rate" in caplog.text


def test_garbage_missing_and_impossible_files_raise_input_error(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("this is not xml")
    with pytest.raises(InputError) as err:
        read_stationxml(bad)
    assert err.value.source == str(bad)
    with pytest.raises(InputError, match="file not found"):
        read_stationxml(tmp_path / "nope.xml")
    path = write_stationxml(stations()[:1], tmp_path / "lat.xml")
    text = path.read_text()
    path.write_text(text.replace(">43.8123456<", ">123.8123456<", 1))  # ObsPy's own bounds check
    with pytest.raises(InputError, match="out of bounds") as err:
        read_stationxml(path)
    assert err.value.source == str(path)
    path.write_text(text.replace(">918.5<", ">12918.5<", 1))  # the domain model's check
    with pytest.raises(InputError, match="XJ.URU elevation") as err:
        read_stationxml(path)
    assert err.value.source == str(path)


def test_domain_objects_still_reject_impossible_stations():
    with pytest.raises(DomainError):
        Station("XJ", "URU", 95.0, 87.0, 900.0)


def test_written_stationxml_validates_against_the_schema():
    import io

    from tianshan.io._obspy import NSMAP

    buf = io.BytesIO()
    # ObsPy's validate=True checks against the bundled FDSN StationXML schema and raises if invalid
    stations_to_inventory(stations()).write(buf, format="STATIONXML", nsmap=dict(NSMAP), validate=True)
    assert b"tianshan:kind" in buf.getvalue()
