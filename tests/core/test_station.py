import pytest

from tianshan.core import Channel, DomainError, InstrumentKind, Station, StationGain, StreamID
from tianshan.core.station import check_unique_streams


def _ch(code="HHZ", sta="LTA", **kw):
    args = dict(stream_id=StreamID("XJ", sta, "", code), latitude_deg=41.78, longitude_deg=84.27,
                elevation_m=980.0, sample_rate_hz=100.0)
    args.update(kw)
    return Channel(**args)


def test_station_with_channels():
    st = Station("XJ", "LTA", 41.78, 84.27, 980.0, channels=(_ch("HHZ"), _ch("HHN", azimuth_deg=0, dip_deg=0)))
    assert st.station_id == "XJ.LTA"
    assert [str(s) for s in st.stream_ids] == ["XJ.LTA..HHZ", "XJ.LTA..HHN"]
    assert st.channels[0].kind is InstrumentKind.BROADBAND
    assert InstrumentKind.STRONG_MOTION.input_units == "M/S**2"
    assert InstrumentKind.BROADBAND.input_units == "M/S"


@pytest.mark.parametrize("kw, field", [
    ({"latitude_deg": 123.0}, "latitude"),
    ({"longitude_deg": -181.0}, "longitude"),
    ({"elevation_m": 12_000.0}, "elevation"),
    ({"latitude_deg": float("nan")}, "latitude"),
])
def test_impossible_coordinates_rejected(kw, field):
    args = dict(network="XJ", code="LTA", latitude_deg=41.78, longitude_deg=84.27, elevation_m=980.0)
    args.update(kw)
    with pytest.raises(DomainError, match=f"XJ.LTA {field}"):
        Station(**args)


def test_channel_checks():
    with pytest.raises(DomainError, match="sample_rate_hz"):
        _ch(sample_rate_hz=0)
    with pytest.raises(DomainError, match="dip"):
        _ch(dip_deg=-91)
    with pytest.raises(DomainError, match="gain.value"):
        StationGain(0.0, 1.0, "M/S")


def test_duplicate_stream_ids_rejected():
    with pytest.raises(DomainError, match="duplicate stream id XJ.LTA..HHZ"):
        Station("XJ", "LTA", 41.78, 84.27, 980.0, channels=(_ch(), _ch()))
    with pytest.raises(DomainError, match="belongs to another station"):
        Station("XJ", "LTA", 41.78, 84.27, 980.0, channels=(_ch(sta="KOL"),))
    a = Station("XJ", "LTA", 41.78, 84.27, 980.0)
    with pytest.raises(DomainError, match="duplicate station XJ.LTA"):
        check_unique_streams([a, Station("XJ", "LTA", 41.0, 84.0, 900.0)])
    check_unique_streams([a, Station("XJ", "KOL", 41.7, 86.1, 900.0)])


def test_frozen():
    st = Station("XJ", "LTA", 41.78, 84.27, 980.0)
    with pytest.raises(AttributeError):
        st.latitude_deg = 0.0
