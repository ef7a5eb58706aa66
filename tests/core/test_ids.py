import pytest

from tianshan.core import DomainError, StreamID, new_resource_id


def test_parse_and_format_roundtrip():
    sid = StreamID.parse("XJ.LTA.00.BHZ")
    assert (sid.network, sid.station, sid.location, sid.channel) == ("XJ", "LTA", "00", "BHZ")
    assert str(sid) == "XJ.LTA.00.BHZ"
    assert sid.station_id == "XJ.LTA"
    assert sid.component == "Z"


@pytest.mark.parametrize("text", ["XJ.LTA..BHZ", "XJ.LTA.--.BHZ"])
def test_empty_location_forms(text):
    assert StreamID.parse(text).location == ""
    assert str(StreamID.parse(text)) == "XJ.LTA..BHZ"


@pytest.mark.parametrize("text, field", [
    ("XJ.LTA.BHZ", "NET.STA.LOC.CHA"),
    ("XJX.LTA..BHZ", "network"),
    ("XJ.TOOLONG..BHZ", "station"),
    ("XJ.LTA.000.BHZ", "location"),
    ("XJ.LTA..BH", "channel"),
    ("xj.LTA..BHZ", "network"),
])
def test_invalid_ids_name_the_field(text, field):
    with pytest.raises(DomainError, match=field):
        StreamID.parse(text)


def test_stream_ids_are_hashable_and_ordered():
    a, b = StreamID.parse("XJ.A..HHE"), StreamID.parse("XJ.A..HHZ")
    assert sorted([b, a]) == [a, b]
    assert len({a, b, StreamID.parse("XJ.A..HHE")}) == 2
    assert a.with_channel("HHN") == StreamID.parse("XJ.A..HHN")


def test_resource_ids_unique_and_quakeml_shaped():
    ids = {new_resource_id("origin") for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("smi:org.tianshan/origin/") for i in ids)
