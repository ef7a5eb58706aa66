"""QuakeML adapter: lossless round trips, field mapping, units, foreign files, errors."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest

from tianshan.core import (Amplitude, Arrival, ErrorEllipse, Event, EventType, InputError, Magnitude, Origin, Pick,
                           StationMagnitude, StreamID)
from tianshan.io.quakeml import (catalog_from_obspy, catalog_to_obspy, event_from_obspy, event_to_obspy,
                                 metres_per_degree, read_quakeml, write_quakeml)

UTC = timezone.utc


def t(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def full_event() -> Event:
    """An event with every field populated (and some awkward values)."""
    z = StreamID("XJ", "URU", "", "HHZ")
    e = StreamID("XJ", "KSH", "00", "HNE")
    p1 = Pick(z, t(2024, 3, 1, 12, 0, 5, 123456), "Pg", time_uncertainty_s=0.05, polarity="positive",
              method="phasenet", probability=0.9312345678901234, evaluation_mode="automatic",
              created_at=t(2024, 3, 1, 12, 0, 9, 1))
    p2 = Pick(e, t(2024, 3, 1, 12, 0, 9, 999999), "Sg", time_uncertainty_s=0.2, polarity="undecidable",
              method="stalta aic (v2)", evaluation_mode="manual", id="pick-2",  # non-URI id, spaces in method
              created_at=t(2024, 3, 1, 12, 1, 0, 500000))
    a1 = Amplitude(z, "AML", 1.25e-6, "m", time=t(2024, 3, 1, 12, 0, 6, 250000), period_s=0.4, snr=12.5,
                   pick_id=p1.id, method="wood-anderson", created_at=t(2024, 3, 1, 12, 0, 20))
    a2 = Amplitude(e, "PGA", 0.0314, "m/s**2", time=None, period_s=None, snr=None, pick_id=None,
                   evaluation_mode="manual", created_at=t(2024, 3, 1, 12, 0, 21))
    o1 = Origin(t(2024, 3, 1, 12, 0, 0, 654321), 43.8123456789, 87.5987654321, 12_345.6,
                time_uncertainty_s=0.31, horizontal_uncertainty_m=2_500.0, depth_uncertainty_m=4_000.0,
                ellipse=ErrorEllipse(3_100.0, 1_700.5, 123.4, 0.9), rms_s=0.42, azimuthal_gap_deg=97.5,
                phase_count=2, station_count=2, minimum_distance_deg=0.123, method="grid-search",
                earth_model="xinjiang-1d", depth_fixed=False, evaluation_mode="automatic",
                evaluation_status="preliminary",
                arrivals=(Arrival(p1.id, "Pg", 0.3, 45.0, 95.5, -0.12, 1.0),
                          Arrival(p2.id, "Sg", 0.7, 271.25, None, 0.3, 0.5)),
                version=1, agency="TIANSHAN", created_at=t(2024, 3, 1, 12, 0, 30, 7))
    o2 = Origin(t(2024, 3, 1, 12, 0, 0, 700000), 43.80, 87.61, 10_000.0, depth_fixed=True,
                ellipse=ErrorEllipse(900.0, 900.0, 0.0, 0.68), evaluation_mode="manual",
                evaluation_status="reviewed", arrivals=(Arrival(p2.id, "S"),), version=2, agency="",
                method="", earth_model="", created_at=t(2024, 3, 1, 13, 0))
    sm1 = StationMagnitude(z, "ML", 3.1, amplitude_id=a1.id, residual=-0.05, weight=1.0)
    sm2 = StationMagnitude(e, "ML", 3.25, amplitude_id=None, residual=None, weight=None)
    m1 = Magnitude("ML", 3.17, origin_id=o1.id, uncertainty=0.21, station_count=2, method="mean",
                   evaluation_status="confirmed", station_magnitudes=(sm1, sm2), version=1,
                   created_at=t(2024, 3, 1, 12, 0, 31))
    m2 = Magnitude("ML", 3.2, origin_id=o2.id, station_magnitudes=(sm1,), version=2, agency="CENC",
                   evaluation_mode="manual", evaluation_status="final", created_at=t(2024, 3, 1, 13, 0, 1))
    m3 = Magnitude("Mw", 3.05, origin_id=None, created_at=t(2024, 3, 1, 13, 5))
    return Event(type=EventType.QUARRY_BLAST, type_certainty="suspected", origins=(o1, o2),
                 magnitudes=(m1, m2, m3), picks=(p1, p2), amplitudes=(a1, a2), preferred_origin_id=o2.id,
                 preferred_magnitude_id=m2.id, region_name="Southern Xinjiang, China",
                 created_at=t(2024, 3, 1, 12, 0, 10, 42))


def test_round_trip_through_file_is_lossless(tmp_path):
    ev = full_event()
    bare = Event(type=None, origins=(Origin(t(2020, 1, 1), 0.0, 0.0, 0.0, version=1),), id="local-id-7",
                 created_at=t(2020, 1, 1, 0, 0, 1))
    path = write_quakeml([ev, bare], tmp_path / "out" / "cat.xml")
    assert path.is_file() and not list(path.parent.glob("*.part"))
    back = read_quakeml(path)
    assert back == [ev, bare]
    # and in memory (no file) as well
    assert catalog_from_obspy(catalog_to_obspy([ev])) == [ev]
    assert event_from_obspy(event_to_obspy(ev)) == ev


def test_maps_to_natural_quakeml_fields(tmp_path):
    ev = full_event()
    q = event_to_obspy(ev)
    o1 = q.origins[0]
    assert q.event_type == "quarry blast" and q.event_type_certainty == "suspected"
    assert str(q.preferred_origin_id) == ev.preferred_origin_id
    assert o1.depth == 12_345.6 and o1.depth_errors.uncertainty == 4_000.0  # metres
    assert o1.origin_uncertainty.horizontal_uncertainty == 2_500.0
    assert o1.origin_uncertainty.max_horizontal_uncertainty == 3_100.0
    assert o1.origin_uncertainty.confidence_level == 90.0  # percent in QuakeML
    assert o1.quality.standard_error == 0.42 and o1.quality.used_phase_count == 2
    assert o1.creation_info.version == "1" and o1.creation_info.agency_id == "TIANSHAN"
    assert str(o1.method_id) == "smi:org.tianshan/method/grid-search"
    assert str(o1.earth_model_id) == "smi:org.tianshan/earthmodel/xinjiang-1d"
    assert q.origins[1].depth_type == "operator assigned"
    # 2.5 km at 43.8 N is ~0.0225 deg of latitude and ~0.0311 deg of longitude
    assert o1.latitude_errors.uncertainty == pytest.approx(2_500.0 / 111_100.0, rel=2e-3)
    assert o1.longitude_errors.uncertainty == pytest.approx(2_500.0 / (111_320.0 * 0.72176), rel=3e-3)
    assert q.picks[0].waveform_id.get_seed_string() == "XJ.URU..HHZ"
    assert q.amplitudes[1].unit == "m/(s*s)"
    assert q.magnitudes[0].station_magnitude_contributions[0].residual == -0.05
    assert {str(s.resource_id) for s in q.station_magnitudes} == {
        s.id for m in ev.magnitudes for s in m.station_magnitudes}
    text = write_quakeml([ev], tmp_path / "e.xml").read_text()
    assert 'xmlns:tianshan="https://tianshan.org/xmlns/1.0"' in text
    assert "<tianshan:probability>0.9312345678901234</tianshan:probability>" in text
    assert "<value>2024-03-01T12:00:05.123456Z</value>" in text


@pytest.mark.parametrize("lat, m_lat, m_lon", [
    # Published WGS84 lengths of a degree (e.g. NGA/NIMA tables): equator and pole.
    (0.0, 110_574.3, 111_319.5),
    (90.0, 111_693.9, 0.0),
])
def test_metres_per_degree_matches_published_wgs84_values(lat, m_lat, m_lon):
    a, b = metres_per_degree(lat)
    assert a == pytest.approx(m_lat, abs=0.1)
    assert b == pytest.approx(m_lon, abs=0.1)


@pytest.mark.parametrize("lat", [0.0, 23.5, 43.8, 60.0, 85.0])
def test_metres_per_degree_matches_pyproj_geodesics(lat):
    from pyproj import Geod

    g = Geod(ellps="WGS84")
    d = 1e-3  # degrees; short enough for the local radius of curvature
    _, _, along_meridian = g.inv(87.0, lat - d / 2, 87.0, lat + d / 2)
    # Along a parallel the geodesic is shorter than the parallel's arc by O(d^3): negligible at 1e-3 deg.
    _, _, along_parallel = g.inv(87.0 - d / 2, lat, 87.0 + d / 2, lat)
    m_lat, m_lon = metres_per_degree(lat)
    assert m_lat == pytest.approx(along_meridian / d, rel=1e-7)
    assert m_lon == pytest.approx(along_parallel / d, rel=1e-7)


def test_reads_seiscomp_scml_solution(shared_data, caplog):
    path = shared_data / "waveforms" / "ga2017qxlpiu" / "ga2017qxlpiu.scml.xml"
    with caplog.at_level(logging.WARNING):
        events = read_quakeml(path)
    assert len(events) == 1
    ev = events[0]
    # Counts of the file's elements (14 <pick>, 3 <origin>, 17 <magnitude>, 16 <amplitude>,
    # 34 <stationMagnitude>, 33 <arrival>); ObsPy's SCML conversion repeats amplitudes, we drop repeats.
    assert len(ev.picks) == 14
    assert len(ev.origins) == 3
    assert len(ev.magnitudes) == 17
    assert len(ev.amplitudes) == 16
    assert sum(len(m.station_magnitudes) for m in ev.magnitudes) == 34
    assert sum(len(o.arrivals) for o in ev.origins) == 33
    assert "18 duplicate amplitude" in caplog.text
    o = ev.preferred_origin
    assert o.id == "smi:org.gfz.de/geofon/Origin#20170828094054.024666.7764"
    assert o.time == t(2017, 8, 28, 9, 34, 25, 399790)
    assert (o.latitude_deg, o.longitude_deg, o.depth_m) == (-4.100033283, 147.4675598, 10_000.0)  # km -> m
    assert o.rms_s == 1.76706852 and o.azimuthal_gap_deg == 212.2859573 and o.phase_count == 9
    assert o.evaluation_status.value == "confirmed" and o.agency == "NA"
    assert o.horizontal_uncertainty_m is None  # SCML lat/lon uncertainties are km, not trusted as degrees
    m = ev.preferred_magnitude
    assert (m.type, m.value) == ("M", 4.596117437)
    assert ev.region_name == "Bismarck Sea"
    pick_ids = {p.id for p in ev.picks}
    assert all(a.pick_id in pick_ids for org in ev.origins for a in org.arrivals)


def test_scml_solution_survives_quakeml_round_trip(shared_data, tmp_path):
    events = read_quakeml(shared_data / "waveforms" / "ga2017qxlpiu" / "ga2017qxlpiu.scml.xml")
    assert read_quakeml(write_quakeml(events, tmp_path / "ga.xml")) == events


def test_foreign_objects_are_mapped_or_skipped(caplog):
    from obspy import UTCDateTime
    from obspy.core.event import Arrival as QArrival
    from obspy.core.event import Event as QEvent
    from obspy.core.event import Origin as QOrigin
    from obspy.core.event import Pick as QPick
    from obspy.core.event import QuantityError, WaveformStreamID

    good = QPick(time=UTCDateTime(2021, 5, 1), waveform_id=WaveformStreamID("IU", "ANMO", "00", "BHZ"))
    no_channel = QPick(time=UTCDateTime(2021, 5, 1), waveform_id=WaveformStreamID("IU", "ANMO", "", ""),
                       phase_hint="P")
    o = QOrigin(time=UTCDateTime(2021, 5, 1), latitude=34.9, longitude=-106.5, depth=5_000.0,
                latitude_errors=QuantityError(uncertainty=0.01), longitude_errors=QuantityError(uncertainty=0.02),
                arrivals=[QArrival(pick_id=good.resource_id, phase="Pn")])
    no_depth = QOrigin(time=UTCDateTime(2021, 5, 1), latitude=1.0, longitude=1.0)
    q = QEvent(picks=[good, no_channel], origins=[o, no_depth], event_type="induced or triggered event",
               preferred_origin_id=no_depth.resource_id)
    with caplog.at_level(logging.WARNING):
        ev = event_from_obspy(q)
    assert len(ev.picks) == 1 and ev.picks[0].phase == "Pn"  # phase from the arrival
    assert ev.picks[0].stream_id == StreamID("IU", "ANMO", "00", "BHZ")
    assert len(ev.origins) == 1 and ev.preferred_origin_id is None
    assert ev.type is EventType.EARTHQUAKE
    # degrees -> metres: the larger of 0.01 deg latitude and 0.02 deg longitude at 34.9 N
    m_lat, m_lon = metres_per_degree(34.9)
    assert ev.origins[0].horizontal_uncertainty_m == pytest.approx(max(0.01 * m_lat, 0.02 * m_lon))
    # by hand: N(34.9 deg) cos(34.9 deg) pi/180 = 91 399 m per degree of longitude -> 1828.0 m
    assert ev.origins[0].horizontal_uncertainty_m == pytest.approx(1828.0, abs=0.5)
    assert "1 origin" in caplog.text and "1 pick" in caplog.text


def test_garbage_and_missing_files_raise_input_error(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<quakeml><event>not closed")
    with pytest.raises(InputError) as err:
        read_quakeml(bad)
    assert err.value.source == str(bad) and "bad.xml" in str(err.value)
    with pytest.raises(InputError, match="file not found"):
        read_quakeml(tmp_path / "missing.xml")
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    with pytest.raises(InputError):
        read_quakeml(empty)


def test_impossible_values_raise_input_error_naming_file(tmp_path):
    path = write_quakeml([full_event()], tmp_path / "e.xml")
    text = path.read_text().replace("<value>43.8123456789</value>", "<value>123.5</value>")
    path.write_text(text)
    with pytest.raises(InputError, match="latitude") as err:
        read_quakeml(path)
    assert err.value.source == str(path)


def test_written_quakeml_validates_against_the_schema():
    import io

    from tianshan.io._obspy import NSMAP

    buf = io.BytesIO()
    # ObsPy's validate=True checks against the bundled QuakeML 1.2 BED schema and raises if invalid
    catalog_to_obspy([full_event()]).write(buf, format="QUAKEML", nsmap=dict(NSMAP), validate=True)
    assert b"tianshan:depthFixed" in buf.getvalue()
