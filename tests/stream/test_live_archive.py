"""Crash-safe live SDS archiver: append, read back, partial-record recovery, kill -9 drill, day rollover."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from tianshan.core.ids import StreamID
from tianshan.io.sds import read_sds, sds_path
from tianshan.stream.archive import JOURNAL_NAME, LiveArchive
from tianshan.stream.mseed_header import RecordError, parse_record_header

SID = StreamID("XJ", "AKS", "00", "HHZ")


def _records(start="2024-03-01T00:00:00", n=20000, seed=0, sid=SID):
    from obspy import Trace, UTCDateTime
    data = np.random.default_rng(seed).integers(-3000, 3000, n).astype(np.int32)
    tr = Trace(data, header={"network": sid.network, "station": sid.station, "location": sid.location,
                             "channel": sid.channel, "sampling_rate": 100.0, "starttime": UTCDateTime(start)})
    b = io.BytesIO()
    tr.write(b, format="MSEED", reclen=512, encoding="STEIM2")
    blob = b.getvalue()
    return tr, [blob[i:i + 512] for i in range(0, len(blob), 512)]


def test_parse_header_matches_obspy():
    from obspy import read
    _, recs = _records("2024-03-01T12:34:56.789012", 3000)
    for rec in recs:
        h = parse_record_header(rec)
        ref = read(io.BytesIO(rec))[0]
        assert h.start_ns == ref.stats.starttime._ns and h.n_samples == ref.stats.npts
        assert h.stream_id == SID and h.sample_rate_hz == 100.0 and h.record_length_bytes == 512
    with pytest.raises(RecordError):
        parse_record_header(b"\x00" * 512)
    with pytest.raises(RecordError):
        parse_record_header(b"garbage" * 80)


def test_append_then_read_back_identical(tmp_path):
    from obspy import UTCDateTime
    tr, recs = _records()
    with LiveArchive(tmp_path) as arc:
        for r in recs:
            assert arc.write(r) is not None
        assert arc.stats.records_written == len(recs)
    path = sds_path(tmp_path, SID, UTCDateTime("2024-03-01").date)
    assert path.stat().st_size == 512 * len(recs)
    st = read_sds(tmp_path, [SID], tr.stats.starttime.datetime, tr.stats.endtime.datetime)
    assert len(st) == 1
    np.testing.assert_array_equal(st[0].data, tr.data)


def test_duplicates_skipped_within_session_and_after_restart(tmp_path):
    _, recs = _records(n=5000)
    with LiveArchive(tmp_path) as arc:
        arc.write_many(recs)
        assert arc.write(recs[3]) is None and arc.stats.duplicates == 1
    with LiveArchive(tmp_path) as arc:  # restart: the tail of the file is re-indexed
        assert arc.write_many(recs[-5:]) == 0 and arc.stats.duplicates == 5
    path = next(tmp_path.rglob("*.D.2024.061"))
    assert path.stat().st_size == 512 * len(recs)


def test_invalid_records_are_rejected_and_counted(tmp_path):
    _, recs = _records(n=1000)
    with LiveArchive(tmp_path) as arc:
        assert arc.write(b"\x00" * 512) is None
        assert arc.write(recs[0][:200]) is None
        assert arc.write(recs[0] + b"x") is None
        assert arc.stats.rejected == 3 and arc.stats.reject_reasons["length"] == 2
        assert list(tmp_path.rglob("*.D.*")) == []


def test_partial_trailing_record_is_truncated_on_reopen(tmp_path):
    from obspy import read
    tr, recs = _records(n=5000)
    with LiveArchive(tmp_path) as arc:
        arc.write_many(recs[:-1])
    path = next(tmp_path.rglob("*.D.2024.061"))
    with open(path, "ab") as fh:  # a crash in the middle of writing the last record
        fh.write(recs[-1][:200])
    (tmp_path / JOURNAL_NAME).write_text(str(path.resolve()) + "\n")  # it was open at the crash
    arc = LiveArchive(tmp_path)
    assert arc.stats.truncated_records == 1 and arc.stats.truncated_bytes == 200
    assert path.stat().st_size == 512 * (len(recs) - 1)
    read(str(path))  # valid miniSEED
    arc.write(recs[-1])
    arc.close()
    st = read(str(path))
    st.merge()
    np.testing.assert_array_equal(st[0].data, tr.data)


def test_zero_filled_trailing_blocks_are_truncated_on_first_append(tmp_path):
    _, recs = _records(n=3000)
    with LiveArchive(tmp_path) as arc:
        arc.write_many(recs[:3])
    path = next(tmp_path.rglob("*.D.2024.061"))
    with open(path, "ab") as fh:  # power loss: file size grew, data never reached the disk
        fh.write(b"\x00" * 1024)
    with LiveArchive(tmp_path) as arc:  # no journal entry: found when the file is reopened
        arc.write(recs[3])
        assert arc.stats.truncated_records == 2
    assert path.stat().st_size == 4 * 512


def test_day_rollover_writes_two_files(tmp_path):
    from obspy import UTCDateTime
    tr, recs = _records("2024-12-31T23:58:00", 30000)  # 5 minutes across the new year
    with LiveArchive(tmp_path) as arc:
        paths = {arc.write(r) for r in recs}
    assert {p.name for p in paths} == {"XJ.AKS.00.HHZ.D.2024.366", "XJ.AKS.00.HHZ.D.2025.001"}
    for p in paths:  # every record lies in the day file of its start time
        blob = p.read_bytes()
        for i in range(0, len(blob), 512):
            h = parse_record_header(blob[i:i + 512])
            assert str(UTCDateTime(ns=h.start_ns).year) in p.name
    st = read_sds(tmp_path, [SID], tr.stats.starttime.datetime, tr.stats.endtime.datetime)
    st.merge()
    np.testing.assert_array_equal(st[0].data, tr.data)


def test_open_file_limit_and_fsync_policy(tmp_path):
    stations = [StreamID("XJ", f"S{i}", "", "HHZ") for i in range(5)]
    t = [0.0]
    arc = LiveArchive(tmp_path, max_open_files=2, fsync_every_records=3, fsync_interval_s=10.0,
                      monotonic=lambda: t[0])
    for k, sid in enumerate(stations):
        _, recs = _records(n=2000, seed=k, sid=sid)
        arc.write_many(recs[:4])
    assert len(arc.open_files) == 2
    assert arc.stats.fsyncs >= 5  # once at 3 records per file (+ on LRU close)
    arc.close()
    assert (tmp_path / JOURNAL_NAME).read_text() == ""
    assert len(list(tmp_path.rglob("*.D.2024.061"))) == 5


_WRITER = textwrap.dedent("""
    import io, sys, numpy as np
    from obspy import Trace, UTCDateTime
    from tianshan.core.ids import StreamID
    from tianshan.stream.archive import LiveArchive
    root = sys.argv[1]
    arc = LiveArchive(root, fsync_every_records=50)
    k = 0
    while True:
        for i, sta in enumerate(("AAA", "BBB", "CCC")):
            data = np.random.default_rng(k * 3 + i).integers(-3000, 3000, 4000).astype(np.int32)
            tr = Trace(data, header={"network": "XJ", "station": sta, "channel": "HHZ",
                                     "sampling_rate": 100.0,
                                     "starttime": UTCDateTime("2024-03-01") + k * 40})
            b = io.BytesIO(); tr.write(b, format="MSEED", reclen=512, encoding="STEIM2")
            arc.write_many(b.getvalue())
        k += 1
        if k == 2:
            print("ready", flush=True)
""")


def test_kill_minus_9_drill_leaves_no_corrupt_record(tmp_path):
    from obspy import read
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    root = tmp_path / "sds"
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(root)], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(0.3)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    files = sorted(root.rglob("*.D.2024.061"))
    assert len(files) == 3
    arc = LiveArchive(root)  # recovery from the journal
    assert arc.stats.files_checked >= 3
    arc.close()
    for p in files:
        size = p.stat().st_size
        assert size % 512 == 0 and size > 0
        blob = p.read_bytes()
        starts = [parse_record_header(blob[i:i + 512]).start_ns for i in range(0, size, 512)]
        assert starts == sorted(starts) and len(set(starts)) == len(starts)
        st = read(str(p))
        st.merge(method=-1)
        assert len(st) == 1  # contiguous: every fully written record is there, none corrupt
        # and the samples are exactly what the writer generated
        k_max = st[0].stats.npts // 4000 + 1
        i = ("AAA", "BBB", "CCC").index(st[0].stats.station)
        expect = np.concatenate([np.random.default_rng(k * 3 + i).integers(-3000, 3000, 4000)
                                 for k in range(k_max)]).astype(np.int32)
        np.testing.assert_array_equal(st[0].data, expect[:st[0].stats.npts])


def test_background_syncer_fsyncs_each_file_once_per_interval(tmp_path):
    """Default policy: no fsync on the writer's path; the syncer thread syncs every written file
    once per interval however many records it got; close syncs the rest and stops the thread."""
    stations = [StreamID("XJ", f"S{i}", "", "HHZ") for i in range(3)]
    arc = LiveArchive(tmp_path, fsync_interval_s=0.2)
    assert arc._syncer is not None and arc._syncer.is_alive()
    for k, sid in enumerate(stations):
        _, recs = _records(n=2000, seed=k, sid=sid)
        arc.write_many(recs[:4])
    assert arc.stats.fsyncs == 0  # nothing synced inline
    deadline = time.monotonic() + 20.0
    while arc.stats.fsyncs < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert arc.stats.fsyncs == 3  # one per file, not one per record
    time.sleep(0.5)
    assert arc.stats.fsyncs == 3  # nothing new written: nothing synced again
    _, recs = _records(n=20000, seed=9, sid=stations[0])
    assert arc.write_many(recs[10:12]) == 2
    syncer = arc._syncer
    arc.close()
    assert not syncer.is_alive()
    assert arc.stats.fsyncs >= 4
    assert (tmp_path / JOURNAL_NAME).read_text() == ""
