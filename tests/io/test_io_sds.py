"""SDS archive: layout, exact round trips, day splitting, merging, encodings, reading."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from tianshan.core import InputError, StreamID
from tianshan.io.sds import read_sds, sds_path, write_sds


def trace(data, start, sid="XJ.URU..HHZ", rate=100.0):
    from obspy import Trace, UTCDateTime

    net, sta, loc, cha = sid.split(".")
    return Trace(np.asanyarray(data), {"network": net, "station": sta, "location": loc, "channel": cha,
                                    "sampling_rate": rate, "starttime": UTCDateTime(start)})


def stream(*traces):
    from obspy import Stream

    return Stream(list(traces))


def read_file(path: Path):
    from obspy import read

    return read(str(path), format="MSEED")


def test_sds_path_follows_seiscomp_layout(tmp_path):
    sid = StreamID("XJ", "URU", "", "HHZ")
    assert sds_path(tmp_path, sid, dt.date(2024, 2, 29)) == tmp_path / "2024/XJ/URU/HHZ.D/XJ.URU..HHZ.D.2024.060"
    sid = StreamID("XJ", "KSH", "00", "HNE")
    assert (sds_path("/archive", sid, dt.date(2023, 12, 31), quality="R").as_posix()
            == "/archive/2023/XJ/KSH/HNE.R/XJ.KSH.00.HNE.R.2023.365")
    with pytest.raises(InputError):
        sds_path(tmp_path, sid, dt.date(2023, 1, 1), quality="DD")


def test_round_trip_splits_at_midnight_exactly(tmp_path):
    rng = np.random.default_rng(42)
    data = rng.integers(-2**23, 2**23, 3000).astype(np.int32)
    tr = trace(data, "2024-12-31T23:59:50")
    paths = write_sds(stream(tr), tmp_path)
    assert paths == [tmp_path / "2024/XJ/URU/HHZ.D/XJ.URU..HHZ.D.2024.366",
                     tmp_path / "2025/XJ/URU/HHZ.D/XJ.URU..HHZ.D.2025.001"]
    first, second = read_file(paths[0]), read_file(paths[1])
    assert len(first) == len(second) == 1
    assert first[0].stats.npts == 1000 and second[0].stats.npts == 2000
    assert str(second[0].stats.starttime) == "2025-01-01T00:00:00.000000Z"
    assert first[0].stats.mseed.encoding == "STEIM2"
    st = read_sds(tmp_path, [StreamID("XJ", "URU", "", "HHZ")], dt.datetime(2024, 12, 31, 23),
                  dt.datetime(2025, 1, 1, 1))
    assert len(st) == 1
    np.testing.assert_array_equal(st[0].data, data)
    assert not list(tmp_path.rglob("*.part"))


def test_split_with_off_grid_start_and_fractional_rate(tmp_path):
    """31.25 Hz (OpenEEW-like) starting 13 ms past a whole second: every sample lands on its own day."""
    from obspy import UTCDateTime

    rate = 31.25
    data = np.arange(7000, dtype=np.int32)
    tr = trace(data, "2023-06-30T23:58:00.013", sid="XJ.KSH..ENZ", rate=rate)
    p1, p2 = write_sds(stream(tr), tmp_path)
    a, b = read_file(p1)[0], read_file(p2)[0]
    midnight = UTCDateTime("2023-07-01")
    assert a.stats.npts + b.stats.npts == 7000
    assert a.stats.endtime < midnight <= b.stats.starttime
    assert b.stats.starttime - midnight < 1 / rate
    np.testing.assert_array_equal(np.concatenate([a.data, b.data]), data)


def test_merge_with_existing_day_file_has_no_duplicates(tmp_path):
    rng = np.random.default_rng(7)
    data = rng.integers(-1000, 1000, 6000).astype(np.int32)
    full = trace(data, "2024-05-01T10:00:00")
    write_sds(stream(full.slice(full.stats.starttime, full.stats.starttime + 35)), tmp_path)
    # overlaps the first write by 5 s and extends it: one continuous trace, each sample once
    (path,) = write_sds(stream(full.slice(full.stats.starttime + 30, full.stats.endtime)), tmp_path)
    st = read_file(path)
    assert len(st) == 1 and st[0].stats.npts == 6000
    np.testing.assert_array_equal(st[0].data, data)
    before = path.read_bytes()
    write_sds(stream(full), tmp_path)  # rewriting the same data changes nothing
    assert path.read_bytes() == before


def test_new_samples_replace_old_ones_and_gaps_stay(tmp_path):
    t0 = "2024-05-01T10:00:00"
    write_sds(stream(trace(np.zeros(1000, dtype=np.int32), t0)), tmp_path)
    patch = trace(np.full(100, 7, dtype=np.int32), "2024-05-01T10:00:02")
    later = trace(np.ones(500, dtype=np.int32), "2024-05-01T10:01:00")  # leaves a 50 s gap
    (path,) = write_sds(stream(patch, later), tmp_path)
    st = read_file(path)
    st.sort(keys=["starttime"])
    assert len(st) == 2
    expected = np.zeros(1000, dtype=np.int32)
    expected[200:300] = 7
    np.testing.assert_array_equal(st[0].data, expected)
    np.testing.assert_array_equal(st[1].data, np.ones(500))


def test_masked_gaps_become_separate_records(tmp_path):
    data = np.ma.masked_array(np.arange(1000, dtype=np.int32), mask=np.zeros(1000, bool))
    data.mask[400:500] = True
    (path,) = write_sds(stream(trace(data, "2024-05-01T00:10:00")), tmp_path)
    st = read_file(path)
    assert sorted(t.stats.npts for t in st) == [400, 500]


@pytest.mark.parametrize("dtype, encoding, expected", [
    (np.int32, None, "STEIM2"),
    (np.int64, None, "STEIM2"),
    (np.float32, None, "FLOAT32"),
    (np.float64, None, "FLOAT64"),
    (np.int32, "INT32", "INT32"),
    (np.int32, "steim1", "STEIM1"),
])
def test_encodings_are_exact(tmp_path, dtype, encoding, expected):
    rng = np.random.default_rng(3)
    data = (rng.normal(size=800) * 1e4).astype(dtype)
    (path,) = write_sds(stream(trace(data, "2024-01-01T05:00:00", sid="XJ.URU.00.HHE")), tmp_path,
                        encoding=encoding, record_length=4096)
    tr = read_file(path)[0]
    assert tr.stats.mseed.encoding == expected
    assert tr.stats.mseed.record_length == 4096
    np.testing.assert_array_equal(tr.data, data)


def test_bad_requests_raise_input_error(tmp_path):
    floats = trace(np.linspace(0, 1, 50), "2024-01-01")
    with pytest.raises(InputError, match="integer"):
        write_sds(stream(floats), tmp_path, encoding="STEIM2")
    with pytest.raises(InputError, match="encoding"):
        write_sds(stream(floats), tmp_path, encoding="GEOSCOPE")
    with pytest.raises(InputError, match="record length"):
        write_sds(stream(floats), tmp_path, record_length=500)
    with pytest.raises(InputError, match="trace id"):
        write_sds(stream(trace(np.zeros(10, np.int32), "2024-01-01", sid="xj.URU..HHZ")), tmp_path)
    with pytest.raises(InputError, match="not found"):
        read_sds(tmp_path / "nowhere", "XJ.URU..HHZ", dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2))
    with pytest.raises(InputError, match="NET.STA.LOC.CHA"):
        read_sds(tmp_path, "XJ.URU.HHZ", dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2))
    assert not list(tmp_path.rglob("*.part"))


def test_read_sds_patterns_and_window(tmp_path):
    t0 = "2024-03-10T08:00:00"
    traces = [trace(np.arange(600, dtype=np.int32) + i, t0, sid=f"XJ.URU..HH{c}") for i, c in enumerate("ZNE")]
    traces.append(trace(np.arange(600, dtype=np.int32), t0, sid="XJ.KSH.00.HHZ"))
    write_sds(stream(*traces), tmp_path)
    start = dt.datetime(2024, 3, 10, 8, 0, 1)
    end = dt.datetime(2024, 3, 10, 8, 0, 2)
    st = read_sds(tmp_path, "XJ.URU..HH?", start, end)
    assert sorted(tr.id for tr in st) == ["XJ.URU..HHE", "XJ.URU..HHN", "XJ.URU..HHZ"]
    assert all(tr.stats.npts == 101 for tr in st)  # both ends inclusive at 100 Hz
    z = st.select(channel="HHZ")[0]
    np.testing.assert_array_equal(z.data, np.arange(100, 201))
    st = read_sds(tmp_path, ["*.*.*.HHZ", StreamID("XJ", "URU", "", "HHZ")], start, end)
    assert sorted(tr.id for tr in st) == ["XJ.KSH.00.HHZ", "XJ.URU..HHZ"]  # no duplicate from two matches
    assert len(read_sds(tmp_path, "XJ.URU..HHZ", dt.datetime(2024, 3, 11), dt.datetime(2024, 3, 12))) == 0
