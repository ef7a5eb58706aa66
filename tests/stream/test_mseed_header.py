"""The fast miniSEED header parser against ObsPy's reader (libmseed)."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest

from tianshan.core.ids import StreamID
from tianshan.stream.mseed_header import RecordError, nominal_sampling_rate, parse_record_header


def _records(rate, encoding, byteorder, start, loc="00", n=3000, seed=0):
    from obspy import Stream, Trace, UTCDateTime

    rng = np.random.default_rng(seed)
    dtype = np.float32 if encoding == "FLOAT32" else np.int32
    data = (rng.normal(0, 500, n)).astype(dtype)
    tr = Trace(data, header={"network": "XJ", "station": "LTA", "location": loc, "channel": "HHZ",
                             "sampling_rate": rate, "starttime": UTCDateTime(start)})
    buf = io.BytesIO()
    Stream([tr]).write(buf, format="MSEED", reclen=512, encoding=encoding, byteorder=byteorder)
    raw = buf.getvalue()
    return [raw[i:i + 512] for i in range(0, len(raw), 512)]


@pytest.mark.parametrize("rate,encoding,byteorder,start,loc", [
    (100.0, "STEIM2", ">", "2025-03-01T23:59:58.123456Z", "00"),
    (40.0, "STEIM1", "<", "2024-12-31T23:59:30.5Z", ""),
    (1.0, "INT32", ">", "2023-06-15T12:00:00.0001Z", "10"),
    (0.1, "FLOAT32", "<", "2020-02-29T01:02:03Z", "00"),
    (200.0, "STEIM2", ">", "2026-01-01T00:00:00.987654Z", "00"),
])
@pytest.mark.filterwarnings("ignore:Record contains a fractional seconds")
def test_header_matches_obspy(rate, encoding, byteorder, start, loc):
    from obspy import read

    recs = _records(rate, encoding, byteorder, start, loc)
    assert len(recs) > 1
    for rec in recs:
        ref = read(io.BytesIO(rec), format="MSEED")[0]
        h = parse_record_header(rec)
        assert str(h.stream_id) == ref.id
        assert h.n_samples == ref.stats.npts
        assert h.sample_rate_hz == pytest.approx(ref.stats.sampling_rate, rel=1e-9)
        assert h.start_ns == ref.stats.starttime.ns  # exact: BTIME + blockette 1001 microseconds
        assert abs(h.end_ns - ref.stats.endtime.ns) <= 1000  # ObsPy's float end time, 1 us
        assert h.record_length_bytes == 512
        assert h.byte_order == byteorder


def test_time_correction_applied_unless_flagged():
    from obspy import read

    rec = bytearray(_records(100.0, "STEIM2", ">", "2025-01-01T00:00:00Z")[0])
    base = parse_record_header(rec).start_ns
    struct.pack_into(">i", rec, 40, 5000)  # +0.5 s, flag "applied" not set
    assert parse_record_header(rec).start_ns == base + 500_000_000
    assert parse_record_header(rec).start_ns == read(io.BytesIO(bytes(rec)))[0].stats.starttime.ns
    rec[36] |= 0x02  # "time correction applied": the start time already includes it
    assert parse_record_header(rec).start_ns == base


@pytest.mark.parametrize("factor,mult,expected", [(100, 1, 100.0), (1, -10, 0.1), (-10, 1, 0.1),
                                                  (-10, -2, 0.05), (0, 1, 0.0), (20, 5, 100.0)])
def test_nominal_rate_rules(factor, mult, expected):
    """SEED 2.4 ch. 8, fields 10/11: the four sign combinations."""
    assert nominal_sampling_rate(factor, mult) == pytest.approx(expected)


def test_garbage_rejected():
    rng = np.random.default_rng(3)
    good = _records(100.0, "STEIM2", ">", "2025-01-01T00:00:00Z")[0]
    bad_cases = [b"", good[:40], bytes(512), rng.integers(0, 256, 512, dtype=np.uint8).tobytes(),
                 good[:6] + b"X" + good[7:],                        # quality indicator
                 good[:8] + b"L\xffA  " + good[13:],                 # non-ASCII station
                 good[:46] + struct.pack(">H", 600) + good[48:]]     # blockette outside record
    for rec in bad_cases:
        with pytest.raises(RecordError):
            parse_record_header(rec)
    assert parse_record_header(good).stream_id == StreamID("XJ", "LTA", "00", "HHZ")
