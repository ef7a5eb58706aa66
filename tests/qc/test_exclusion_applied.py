"""QC exclusions applied in the batch catalog build: excluded channel-days are not picked, counted.

A simulated Mw 4 recorded at two demo stations is cut into one chunk and processed by the real
chunk worker (:func:`tianshan.events.build.chunks.process_chunk`, classic picker) with and without
an exclusion of one station's channels for the day.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tianshan.core.ids import StreamID
from tianshan.qc.metrics.exclusion import Exclusion, ExclusionList

UTC = timezone.utc
ORIGIN = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
DAY = datetime(2024, 5, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    from tianshan.regions.demo import demo_region
    from tianshan.sim.scenario import simulate_scenario
    from tianshan.sim.source import Source

    region = demo_region()
    lat, lon = 41.95, 84.30
    stations = sorted(region.stations, key=lambda s: (s.latitude_deg - lat) ** 2 + (s.longitude_deg - lon) ** 2)[:2]
    scen = simulate_scenario(Source(lat, lon, 10_000.0, 4.0, ORIGIN), stations, region.velocity_model,
                             duration_s=120.0, rng=7)
    stream = scen.stream.select(channel="HH?")
    path = tmp_path_factory.mktemp("chunk") / "data.mseed"
    stream.write(str(path), format="MSEED")
    return stream, str(path), [s.code for s in stations]


def _task(stream, path, exclusions=()):
    from tianshan.events.build.archive import datetime_ns
    from tianshan.events.build.chunks import ChunkTask

    t0 = min(tr.stats.starttime for tr in stream).datetime.replace(tzinfo=UTC)
    t1 = max(tr.stats.endtime for tr in stream).datetime.replace(tzinfo=UTC)
    a, b = datetime_ns(t0), datetime_ns(t1)
    expected = tuple(sorted({(tr.id, float(tr.stats.sampling_rate)) for tr in stream}))
    return ChunkTask(0, a, b, a, b, (path,), expected, exclusions=exclusions)


def test_list_helpers_round_trip_and_select_by_time():
    sid = StreamID("XJ", "AAA", "00", "HHZ")
    e1 = Exclusion(sid, DAY, DAY + timedelta(days=1), ("low availability: percent_availability = 10 (< 50)",))
    e2 = Exclusion(sid, DAY + timedelta(days=3), DAY + timedelta(days=4), ("poor timing",))
    lst = ExclusionList([e1, e2])
    assert list(lst.between(DAY + timedelta(hours=23), DAY + timedelta(days=2))) == [e1]
    assert list(lst.between(DAY + timedelta(days=1), DAY + timedelta(days=3))) == []  # [start, end) both ends
    back = ExclusionList.from_tuples(lst.as_tuples())
    assert list(back) == [e1, e2]
    import pickle

    assert pickle.loads(pickle.dumps(lst.as_tuples())) == lst.as_tuples()


def test_chunk_worker_skips_excluded_channels_and_counts_them(scenario):
    from tianshan.events.build.chunks import process_chunk

    stream, path, codes = scenario
    bad = codes[0]
    plain = process_chunk(_task(stream, path))
    assert {p.stream_id.station for p in plain.picks} == set(codes)  # both stations pick the event
    assert "qc_excluded_streams" not in plain.counts
    excl = ExclusionList(Exclusion(StreamID.parse(tr.id), DAY, DAY + timedelta(days=1), ("dead channel (GSN)",))
                         for tr in stream.select(station=bad))
    res = process_chunk(_task(stream, path, excl.as_tuples()))
    assert {p.stream_id.station for p in res.picks} == {codes[1]}
    assert res.counts["qc_excluded_streams"] == 3  # HHZ, HHN, HHE of the excluded station
    kept = [p for p in plain.picks if p.stream_id.station == codes[1]]
    assert [p.id for p in res.picks] == [p.id for p in kept]  # the other station's picks unchanged
    # an exclusion of another day changes nothing
    other = ExclusionList(Exclusion(e.stream_id, DAY + timedelta(days=2), DAY + timedelta(days=3), e.reasons)
                          for e in excl)
    res2 = process_chunk(_task(stream, path, other.as_tuples()))
    assert [p.id for p in res2.picks] == [p.id for p in plain.picks]


def test_build_loads_the_exclusion_file_and_keeps_what_overlaps(tmp_path):
    from tianshan.events.build.pipeline import _load_exclusions

    sid = StreamID("XJ", "AAA", "00", "HHZ")
    lst = ExclusionList([Exclusion(sid, DAY, DAY + timedelta(days=1), ("constant signal: sample_rms = 0 (== 0)",)),
                         Exclusion(sid, DAY + timedelta(days=5), DAY + timedelta(days=6), ("poor timing",))])
    path = lst.save(tmp_path / "exclusions.json")
    got = _load_exclusions(path, DAY + timedelta(hours=12), DAY + timedelta(days=2))
    assert [e.start for e in got] == [DAY]
    assert len(_load_exclusions(None, DAY, DAY + timedelta(days=9))) == 0
    from tianshan.core.errors import InputError

    with pytest.raises(InputError):
        _load_exclusions(tmp_path / "missing.json", DAY, DAY + timedelta(days=1))
