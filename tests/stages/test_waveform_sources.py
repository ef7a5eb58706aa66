"""BufferWaveforms and ArchiveWaveforms: windows in counts, gaps, growing files, partial and corrupt records."""

from __future__ import annotations

import io
import random
from datetime import timedelta, timezone

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.stages.waveforms import ArchiveWaveforms, BufferWaveforms, WaveformSource, datetime_from_ns
from tianshan.stream.buffers import BufferSet


@pytest.fixture(scope="module")
def record(scn):
    """120 s of two stations (12 channels) of the simulated event, int32 counts."""
    from tianshan.regions.demo import demo_region
    from tianshan.sim.scenario import simulate_scenario
    from tianshan.sim.source import Source

    region = demo_region()
    stations = [s for s in region.stations if s.code in ("LUNT", "XINC")]
    src = Source(scn.LAT, scn.LON, scn.DEPTH_M, 4.0, scn.ORIGIN_TIME)
    return simulate_scenario(src, stations, region.velocity_model, duration_s=120.0, rng=3).stream


def _dt(t):
    return t.datetime.replace(tzinfo=timezone.utc)


def _records(stream, reclen=512) -> list[bytes]:
    """The 512-byte STEIM2 records a digitiser would send for ``stream``."""
    out = []
    for tr in stream:
        buf = io.BytesIO()
        tr.copy().write(buf, format="MSEED", reclen=reclen, encoding="STEIM2")
        blob = buf.getvalue()
        out.extend(blob[i:i + reclen] for i in range(0, len(blob), reclen))
    return out


def test_buffer_windows_keep_gaps_and_counts(scn, record):
    buffers = BufferSet(capacity_s=600.0)
    tr = record[0]
    gap_a, gap_b = tr.stats.starttime + 40, tr.stats.starttime + 45
    for pkt in scn.packets(record):
        if pkt.id == tr.id and gap_a <= pkt.stats.starttime < gap_b:
            continue  # five packets lost on one channel
        buffers.ingest_trace(pkt)
    src = BufferWaveforms(buffers)
    assert isinstance(src, WaveformSource)
    t0, t1 = tr.stats.starttime + 10, tr.stats.starttime + 80
    st = src.window([tr.id, record[1].id, "XX.NONE..HHZ"], _dt(t0), _dt(t1))
    assert len(st.select(id=tr.id)) == 2 and len(st.select(id=record[1].id)) == 1  # missing stream absent
    for piece in st:
        assert not np.ma.isMaskedArray(piece.data) and piece.data.dtype == np.float64
        orig = record.select(id=piece.id)[0].slice(piece.stats.starttime, piece.stats.endtime)
        np.testing.assert_array_equal(piece.data, orig.data)
    assert st.select(id=tr.id)[0].stats.endtime < gap_a and st.select(id=tr.id)[1].stats.starttime >= gap_b
    end = min(t.stats.endtime for t in record)
    assert src.available_until([t.id for t in record] + ["XX.NONE..HHZ"]) == _dt(end)
    assert src.available_until(["XX.NONE..HHZ"]) is None
    with pytest.raises(InputError):
        src.window(["not-a-stream"], _dt(t0), _dt(t1))


def test_archive_windows_from_live_archive_records_in_any_order(tmp_path, record):
    from tianshan.stream.archive import LiveArchive

    recs = _records(record)
    random.Random(5).shuffle(recs)  # arrival order is not time order
    with LiveArchive(tmp_path) as arch:
        for r in recs:
            arch.write(r)
    src = ArchiveWaveforms(tmp_path)
    ids = [tr.id for tr in record]
    t0 = record[0].stats.starttime + 5.005
    t1 = record[0].stats.starttime + 100
    st = src.window(ids + ["XX.NONE..HHZ"], _dt(t0), _dt(t1))
    assert sorted(tr.id for tr in st) == sorted(ids)  # one contiguous trace per stream
    for tr in st:
        orig = record.select(id=tr.id)[0].slice(t0, t1)
        assert tr.stats.starttime == orig.stats.starttime and tr.stats.npts == orig.stats.npts
        np.testing.assert_array_equal(tr.data, orig.data)
    last = min(tr.stats.endtime for tr in record)
    assert src.available_until(ids) == _dt(last)
    assert src.counters.corrupt_records == 0 and src.counters.partial_records == 0


@pytest.mark.filterwarnings("ignore:readMSEEDBuffer")  # write_sds re-reading the file with the garbage block
def test_archive_follows_growing_files_partial_and_corrupt_records(tmp_path, record):
    from tianshan.io.sds import sds_path, write_sds
    from tianshan.core.ids import StreamID

    tr = record[0]
    sid = tr.id
    first = tr.slice(tr.stats.starttime, tr.stats.starttime + 60)
    write_sds(first.copy(), tmp_path)
    src = ArchiveWaveforms(tmp_path)
    until = src.available_until([sid])
    assert until == _dt(first.stats.endtime)

    # the rest arrives as records appended to the day file; the newest is still being written
    rest = tr.slice(first.stats.endtime + tr.stats.delta, tr.stats.endtime)
    recs = _records([rest])
    path = sds_path(tmp_path, StreamID.parse(sid), first.stats.starttime.date)
    with open(path, "ab") as fh:
        for r in recs[:-1]:
            fh.write(r)
        fh.write(recs[-1][:200])
    span = (_dt(tr.stats.starttime), _dt(tr.stats.endtime))
    st = src.window([sid], *span)
    assert len(st) == 1 and src.counters.partial_records == 1
    assert st[0].stats.endtime < tr.stats.endtime
    src.window([sid], *span)
    assert src.counters.partial_records == 1  # the same partial record is counted once

    with open(path, "ab") as fh:  # the record completes; then garbage, then one more good record
        fh.write(recs[-1][200:])
        fh.write(b"\x00" * 512)
    st = src.window([sid], *span)
    assert len(st) == 1 and st[0].stats.endtime == tr.stats.endtime
    np.testing.assert_array_equal(st[0].data, tr.data)
    assert src.available_until([sid]) == _dt(tr.stats.endtime)
    assert src.counters.corrupt_records == 1

    write_sds(tr.copy(), tmp_path)  # an SDS rewrite replaces the file: indexed again from the start
    st = src.window([sid], *span)
    np.testing.assert_array_equal(st[0].data, tr.data)
    assert src.counters.files_reindexed == 1
    assert src.window([sid], span[1], span[0]).count() == 0
    assert src.window([sid], span[1] + timedelta(days=3), span[1] + timedelta(days=3, seconds=10)).count() == 0


def test_datetime_from_ns_is_exact_to_the_microsecond():
    t = datetime_from_ns(1_714_532_400_123_456_789)
    assert t.isoformat() == "2024-05-01T03:00:00.123456+00:00"
