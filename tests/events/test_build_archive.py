"""Archive reading, chunk planning and the ledger of the batch cataloging pipeline."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.core.ids import StreamID
from tianshan.core.pick import Pick
from tianshan.events.build.archive import datetime_ns, read_window, scan_archive
from tianshan.events.build.chunks import filter_known, pick_id, plan_chunks
from tianshan.events.build.ledger import ChunkLedger, pick_from_dict, pick_to_dict

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)


def _trace(rng, station="A", channel="HHZ", n=60_000, rate=100.0, start=T0):
    from obspy import Trace, UTCDateTime

    return Trace(rng.integers(-5000, 5000, n).astype(np.int32),
                 header={"network": "XX", "station": station, "location": "", "channel": channel,
                         "sampling_rate": rate, "starttime": UTCDateTime(start)})


def _garble(path, records, rng, reclen=512):
    data = bytearray(path.read_bytes())
    for r in records:
        data[r * reclen + 64:r * reclen + 400] = rng.integers(0, 256, 336, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


def test_corrupt_records_are_skipped_and_counted(tmp_path):
    rng = np.random.default_rng(3)
    tr = _trace(rng)
    path = tmp_path / "a.mseed"
    tr.write(str(path), format="MSEED", reclen=512, encoding="STEIM2")
    n_records = path.stat().st_size // 512
    _garble(path, [10, 11, 40], rng)
    idx = scan_archive(tmp_path, T0, T0 + timedelta(minutes=10))
    assert idx.kind == "files" and idx.stream_ids == ("XX.A..HHZ",)
    st, counts = read_window(idx.files_for(0, 2**62), datetime_ns(T0), datetime_ns(T0 + timedelta(minutes=10)))
    assert counts["corrupt_records"] == 3
    # Every intact record is kept: the samples lost are those of the 3 garbled records only.
    kept = sum(t.stats.npts for t in st)
    assert 0 < tr.stats.npts - kept < 3 * tr.stats.npts / n_records * 2.5
    # Kept samples equal the original ones at their times.
    for t in st:
        i0 = int(round((t.stats.starttime - tr.stats.starttime) * 100))
        np.testing.assert_array_equal(t.data, tr.data[i0:i0 + t.stats.npts])


def test_window_is_trimmed_and_streams_selected(tmp_path):
    rng = np.random.default_rng(4)
    from obspy import Stream

    Stream([_trace(rng, "A"), _trace(rng, "B")]).write(str(tmp_path / "ab.mseed"), format="MSEED")
    a, b = T0 + timedelta(seconds=100), T0 + timedelta(seconds=200)
    st, counts = read_window([str(tmp_path / "ab.mseed")], datetime_ns(a), datetime_ns(b), ["XX.B..HHZ"])
    assert [t.id for t in st] == ["XX.B..HHZ"] and not counts
    from obspy import UTCDateTime

    assert st[0].stats.starttime == UTCDateTime(a) and st[0].stats.endtime == UTCDateTime(b)


def test_sds_archive_is_indexed_by_name(tmp_path):
    from obspy import Stream

    from tianshan.io.sds import write_sds

    rng = np.random.default_rng(5)
    write_sds(Stream([_trace(rng, "A", start=T0 - timedelta(minutes=5))]), tmp_path / "sds")
    idx = scan_archive(tmp_path / "sds", T0, T0 + timedelta(hours=1))
    assert idx.kind == "sds" and idx.stream_ids == ("XX.A..HHZ",)
    # 10:00-10:10 UTC lies in one day file
    assert len(idx.files_for(datetime_ns(T0), datetime_ns(T0 + timedelta(minutes=1)))) == 1
    assert idx.files_for(datetime_ns(T0 + timedelta(days=3)), datetime_ns(T0 + timedelta(days=4))) == ()


def test_missing_archive_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        scan_archive(tmp_path / "nope", T0, T0 + timedelta(hours=1))
    (tmp_path / "junk.txt").write_text("not miniseed")
    with pytest.raises(InputError, match="no miniSEED"):
        scan_archive(tmp_path, T0, T0 + timedelta(hours=1))


def test_chunks_cover_the_range_once_on_an_epoch_grid():
    start, end = T0 + timedelta(minutes=25), T0 + timedelta(hours=3, minutes=10)
    plan = plan_chunks(start, end, 3600.0, 60.0)
    assert plan[0][0] == datetime_ns(start) and plan[-1][1] == datetime_ns(end)
    for (a0, a1, r0, r1), (b0, *_rest) in zip(plan, plan[1:]):
        assert a1 == b0 and a1 % (3600 * 10**9) == 0
    assert all(r0 == c0 - 60 * 10**9 and r1 == c1 + 60 * 10**9 for c0, c1, r0, r1 in plan)
    assert len(plan) == 4
    # A second run over a later, overlapping range reuses the same chunk boundaries.
    plan2 = plan_chunks(T0 + timedelta(hours=1), T0 + timedelta(hours=5), 3600.0, 60.0)
    assert plan2[0][:2] == plan[1][:2]


def test_inventory_filter_counts_unknown_streams_and_rates():
    from obspy import Stream

    rng = np.random.default_rng(6)
    st = Stream([_trace(rng, "A"), _trace(rng, "B"), _trace(rng, "A", "HHN", rate=50.0)])
    kept, counts, unknown = filter_known(st, {"XX.A..HHZ": 100.0, "XX.A..HHN": 100.0})
    assert [t.id for t in kept] == ["XX.A..HHZ"]
    assert counts == {"trace_not_in_inventory": 1, "sample_rate_mismatch": 1} and unknown == {"XX.B..HHZ"}


def test_ledger_round_trips_picks_exactly(tmp_path):
    p = Pick(StreamID("XX", "A", "", "HHZ"), T0 + timedelta(seconds=12.345678), "P", time_uncertainty_s=0.05,
             method="stalta-aic", polarity="positive")
    p = Pick(**{**{k: getattr(p, k) for k in p.__slots__}, "id": pick_id(p)})
    assert pick_from_dict(pick_to_dict(p)) == p
    ledger = ChunkLedger(tmp_path, "k1")
    assert ledger.load_chunk(0, 10) is None
    ledger.save_chunk(0, 10, [p], {"corrupt_records": 2}, {"gap": 1}, {"XX.B..HHZ"})
    got = ledger.load_chunk(0, 10)
    assert got["picks"] == [p] and got["counts"] == {"corrupt_records": 2}
    assert got["skipped_streams"] == ["XX.B..HHZ"]
    # A damaged ledger file means "not done" (the chunk is redone), never a crash.
    next(ledger.folder.glob("chunk-*.json")).write_text("{broken")
    assert ledger.load_chunk(0, 10) is None


def test_pick_ids_are_content_derived():
    a = Pick(StreamID("XX", "A", "", "HHZ"), T0, "P", method="m")
    b = Pick(StreamID("XX", "A", "", "HHZ"), T0, "P", method="m")
    c = Pick(StreamID("XX", "A", "", "HHZ"), T0 + timedelta(seconds=0.01), "P", method="m")
    assert a.id != b.id and pick_id(a) == pick_id(b) != pick_id(c)
