"""Ring buffers: ordering, gaps, overlaps, duplicates, clock checks, windows, listeners."""

from __future__ import annotations

import io

import numpy as np
import pytest

from tianshan.core.ids import StreamID
from tianshan.stream.buffers import BufferSet, ChannelBuffer, Status, decode_record

SID = StreamID("XJ", "AKS", "00", "HHZ")
T0 = 1_700_000_000 * 10**9  # ns
RATE = 100.0
DT = 10_000_000  # ns per sample at 100 Hz


def clock_at(t_ns):
    return lambda: t_ns / 1e9


def make(capacity_s=60.0, now_ns=T0 + 3600 * 10**9, **kw):
    return ChannelBuffer(SID, RATE, capacity_s, clock=clock_at(now_ns), **kw)


def signal(n, seed=0):
    return np.random.default_rng(seed).normal(0, 1000, n).astype(np.float32)


def test_in_order_packets_are_contiguous_and_window_returns_them():
    buf = make()
    x = signal(1000)
    for i in range(0, 1000, 100):
        r = buf.ingest_array(T0 + i * DT, x[i:i + 100], RATE)
        assert r.status is Status.ACCEPTED and r.new_samples == 100
    tr = buf.window(_utc(T0), _utc(T0 + 999 * DT))
    assert tr.stats.npts == 1000 and not np.ma.isMaskedArray(tr.data)
    np.testing.assert_array_equal(tr.data, x)
    assert tr.stats.starttime._ns == T0
    assert buf.stats.gaps == 0 and buf.stats.samples_new == 1000
    last = buf.latest(1.0)
    np.testing.assert_array_equal(last.data, x[-100:])


def _utc(ns):
    from obspy import UTCDateTime
    return UTCDateTime(ns=ns)


def test_out_of_order_packets_fill_the_gap_and_shuffled_delivery_equals_input():
    rng = np.random.default_rng(3)
    buf = make()
    x = signal(2000, 1)
    order = rng.permutation(20)
    for j in order:
        buf.ingest_array(T0 + j * 100 * DT, x[j * 100:(j + 1) * 100], RATE)
    got = buf.window_array(T0 - 5 * DT, T0 + 1999 * DT)
    # window starts at the earliest sample stored, whatever arrived first
    t0, data, valid = got
    assert t0 == T0 and valid.all()
    np.testing.assert_array_equal(data, x)
    assert buf.stats.backfilled_samples > 0
    assert buf.stats.samples_new == 2000


def test_duplicate_packet_is_dropped_and_counted():
    buf = make()
    x = signal(300)
    buf.ingest_array(T0, x, RATE)
    r = buf.ingest_array(T0 + 100 * DT, x[100:200], RATE)
    assert r.status is Status.DUPLICATE and r.duplicate_samples == 100
    assert buf.stats.duplicates == 1 and buf.stats.samples_new == 300


def test_overlap_with_different_data_keeps_first_arrival():
    buf = make()
    x = signal(300)
    buf.ingest_array(T0, x, RATE)
    y = x[200:].copy() + 1.0
    # 100 overlapping (different) samples and 50 new ones
    r = buf.ingest_array(T0 + 200 * DT, np.concatenate([y, signal(50, 9)]), RATE)
    assert r.status is Status.ACCEPTED and r.overlap_samples == 100 and r.new_samples == 50
    assert buf.stats.overlaps == 1 and buf.stats.overlap_samples == 100
    t0, data, valid = buf.window_array(T0, T0 + 299 * DT)
    np.testing.assert_array_equal(data, x)  # first arrival wins
    r2 = buf.ingest_array(T0, x[:100] * 2 + 1, RATE)
    assert r2.status is Status.OVERLAP


def test_gap_is_detected_masked_and_backfilled():
    buf = make()
    x = signal(500)
    buf.ingest_array(T0, x[:100], RATE)
    buf.ingest_array(T0 + 300 * DT, x[300:], RATE)
    assert buf.stats.gaps == 1 and buf.stats.gap_samples == 200
    tr = buf.window(_utc(T0), _utc(T0 + 499 * DT))
    assert np.ma.isMaskedArray(tr.data) and tr.data.mask.sum() == 200
    buf.ingest_array(T0 + 100 * DT, x[100:300], RATE)
    tr = buf.window(_utc(T0), _utc(T0 + 499 * DT))
    assert not np.ma.isMaskedArray(tr.data)
    np.testing.assert_array_equal(tr.data, x)
    assert buf.stats.late_samples == 200  # delivery (no listener) had passed the gap


def test_future_and_past_timestamps_are_rejected_and_counted():
    now = T0 + 100 * 10**9
    buf = make(capacity_s=10.0, now_ns=now, max_past_s=3600.0)
    x = signal(100)
    assert buf.ingest_array(now + 61 * 10**9, x, RATE).status is Status.REJECTED_FUTURE
    assert buf.ingest_array(now - 7200 * 10**9, x, RATE).status is Status.REJECTED_PAST
    assert buf.ingest_array(now - 30 * 10**9, x, RATE).status is Status.ACCEPTED
    assert buf.ingest_array(now - 5 * 10**9, x, RATE).status is Status.ACCEPTED  # 25 s later
    # older than the buffer (holds 10 s ending at now-4 s)
    assert buf.ingest_array(now - 30 * 10**9, x, RATE).status is Status.REJECTED_PAST
    # a packet straddling the oldest slot is clipped
    r = buf.ingest_array(now - 15 * 10**9 + 50 * DT, x, RATE)
    assert r.status is Status.ACCEPTED and buf.stats.clipped_samples == 50
    assert buf.stats.rejected_future == 1 and buf.stats.rejected_past == 2


def test_ring_wraps_and_forgets_old_data():
    buf = make(capacity_s=5.0)
    x = signal(2000)
    for i in range(0, 2000, 137):
        buf.ingest_array(T0 + i * DT, x[i:i + 137], RATE)
    assert buf.window(_utc(T0), _utc(T0 + 1000 * DT)) is None
    t0, data, valid = buf.window_array(T0, T0 + 1999 * DT)
    assert t0 == T0 + 1500 * DT and valid.all()
    np.testing.assert_array_equal(data, x[1500:])


def test_rate_change_restarts_buffer():
    buf = make()
    buf.ingest_array(T0, signal(100), RATE)
    r = buf.ingest_array(T0 + 10**9, signal(50), 50.0)
    assert r.status is Status.ACCEPTED and buf.stats.rate_changes == 1 and buf.sample_rate_hz == 50.0
    assert buf.latest(10.0).stats.npts == 50


def test_misaligned_timestamp_is_snapped_and_counted():
    buf = make()
    buf.ingest_array(T0, signal(100), RATE)
    buf.ingest_array(T0 + 100 * DT + 4_000_000, signal(100, 2), RATE)  # 0.4 sample late
    assert buf.stats.time_snaps == 1 and buf.stats.gaps == 0


def test_listener_gets_contiguous_segments_in_order_with_gap_flags():
    buf = make()
    segs = []
    buf.add_listener(segs.append)
    x = signal(600)
    buf.ingest_array(T0, x[:100], RATE)
    buf.ingest_array(T0 + 100 * DT, x[100:200], RATE)
    buf.ingest_array(T0 + 300 * DT, x[300:400], RATE)  # gap 200..300, skipped at once
    buf.ingest_array(T0 + 200 * DT, x[200:300], RATE)  # late: stored, not re-delivered
    assert [(s.start_ns - T0) // DT for s in segs] == [0, 100, 300]
    assert [s.gap_before for s in segs] == [False, False, True]
    np.testing.assert_array_equal(np.concatenate([s.data for s in segs]), np.concatenate([x[:200], x[300:400]]))
    assert buf.stats.late_samples == 100


def test_reorder_wait_delivers_backfilled_data_contiguously():
    buf = make(reorder_wait_s=2.0)
    segs = []
    buf.add_listener(segs.append)
    x = signal(1000)
    buf.ingest_array(T0, x[:100], RATE)
    buf.ingest_array(T0 + 200 * DT, x[200:300], RATE)    # gap; wait (only 1 s after it)
    assert sum(len(s.data) for s in segs) == 100
    buf.ingest_array(T0 + 100 * DT, x[100:200], RATE)    # fills it
    out = np.concatenate([s.data for s in segs])
    np.testing.assert_array_equal(out, x[:300])
    assert not any(s.gap_before for s in segs)
    buf.ingest_array(T0 + 400 * DT, x[400:700], RATE)    # gap of 1 s; 3 s after it -> skip
    assert segs[-1].gap_before and segs[-1].start_ns == T0 + 400 * DT


def test_listener_errors_are_counted_not_raised():
    buf = make()
    buf.add_listener(lambda seg: 1 / 0)
    assert buf.ingest_array(T0, signal(10), RATE).status is Status.ACCEPTED
    assert buf.stats.listener_errors == 1


def test_reference_model_random_packets():
    """Random packet order with duplicates: the ring equals a dense reference array."""
    rng = np.random.default_rng(42)
    n = 3000
    x = signal(n, 5)
    cuts = np.sort(rng.choice(np.arange(1, n), 40, replace=False))
    pieces = [(a, b) for a, b in zip(np.r_[0, cuts], np.r_[cuts, n])]
    packets = pieces + [pieces[i] for i in rng.integers(0, len(pieces), 15)]  # duplicates
    rng.shuffle(packets)
    buf = make(capacity_s=40.0)
    for a, b in packets:
        buf.ingest_array(T0 + int(a) * DT, x[a:b], RATE)
    t0, data, valid = buf.window_array(T0, T0 + (n - 1) * DT)
    lo = (t0 - T0) // DT
    assert valid.all()
    np.testing.assert_array_equal(data, x[lo:])
    st = buf.stats
    assert st.overlap_samples == 0 and st.duplicates >= 1


# ------------------------------------------------------------------ records and buffer sets

def _records(tr, encoding="STEIM2"):
    b = io.BytesIO()
    tr.write(b, format="MSEED", reclen=512, encoding=encoding)
    blob = b.getvalue()
    return [blob[i:i + 512] for i in range(0, len(blob), 512)]


def _trace(n=3000, seed=0, sid=SID, start_ns=T0, dtype=np.int32):
    from obspy import Trace, UTCDateTime
    data = np.random.default_rng(seed).integers(-5000, 5000, n).astype(dtype)
    return Trace(data, header={"network": sid.network, "station": sid.station, "location": sid.location,
                               "channel": sid.channel, "sampling_rate": RATE,
                               "starttime": UTCDateTime(ns=start_ns)})


@pytest.mark.parametrize("encoding,dtype", [("STEIM2", np.int32), ("STEIM1", np.int32), ("INT32", np.int32),
                                            ("INT16", np.int16), ("FLOAT32", np.float32),
                                            ("FLOAT64", np.float64)])
def test_decode_record_matches_obspy(encoding, dtype):
    from obspy import read
    tr = _trace(800, 1, dtype=dtype)
    for rec in _records(tr, encoding):
        h, data = decode_record(rec)
        ref = read(io.BytesIO(rec))[0]
        assert h.start_ns == ref.stats.starttime._ns and h.stream_id == SID
        np.testing.assert_array_equal(data, ref.data)


def test_bufferset_ingests_records_and_counts_bad_input():
    from obspy import read
    tr = _trace(5000, 2)
    recs = _records(tr)
    bs = BufferSet(120.0, clock=clock_at(T0 + 100 * 10**9))
    rng = np.random.default_rng(7)
    order = list(rng.permutation(len(recs)))
    for i in order + order[:5]:
        bs.ingest(recs[i])
    bs.ingest(b"\x00" * 512)                        # garbage
    bad = bytearray(recs[0]); bad[64:] = rng.integers(0, 256, 448, dtype=np.uint8).tobytes()
    bs.ingest(bytes(bad))                           # valid header, garbage Steim frames
    bs.ingest(recs[0][:300])                        # truncated
    tot = bs.totals()
    assert tot["corrupt"] >= 2 and tot["duplicates"] >= 5
    out = bs.window(SID, _utc(T0), _utc(T0 + 4999 * DT))
    ref = read(io.BytesIO(b"".join(recs)))[0]
    np.testing.assert_array_equal(out.data, ref.data.astype(np.float32))


def test_bufferset_unknown_streams_and_listeners():
    known = {SID: RATE}
    bs = BufferSet(60.0, known=known, auto_create=False, clock=clock_at(T0 + 100 * 10**9))
    got = []
    bs.add_listener(got.append)
    other = StreamID("XJ", "KSH", "00", "HHZ")
    res = bs.ingest(_trace(100, 3, sid=other))
    assert res[0].status is Status.UNKNOWN_STREAM and bs.unknown_stream == 1
    bs.ingest(_trace(100, 3))
    assert len(got) == 1 and got[0].stream_id == SID
    auto = BufferSet(60.0, clock=clock_at(T0 + 100 * 10**9))
    auto.ingest(_trace(100, 3, sid=other))
    assert other in auto and len(auto) == 1


def test_masked_trace_is_split_into_pieces():
    tr = _trace(400, 4).copy()
    tr.data = np.ma.masked_array(tr.data.astype(np.float32), mask=np.zeros(400, bool))
    tr.data.mask[100:150] = True
    buf = make()
    res = buf.ingest_trace(tr)
    assert len(res) == 2 and buf.stats.gaps == 1 and buf.stats.gap_samples == 50
