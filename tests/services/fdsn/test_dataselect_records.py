"""fdsnws-dataselect passes the archive's miniSEED records through unchanged (record granularity).

The archive: two channels of a deterministic int32 random walk at 100 Hz (Steim-2, 512-byte
records) from 23:58 to 00:02 UTC, so every request near midnight reads two SDS day files.
The expected answers are built independently of the service's header parser: each day
file is cut into its 512-byte records and each record is read by ObsPy (``obspy.read``)
for its first and last sample times. The header parser itself is compared with ObsPy's
``get_record_information`` on the real miniSEED files of ``shared/data/waveforms``.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

UTC = timezone.utc
T0 = datetime(2024, 5, 1, 23, 58, 0, tzinfo=UTC)
RATE = 100.0
IDS = ("XJ.DSEL.00.HHZ", "XJ.DSEL.00.HHN")
RECLEN = 512


def _trace(sid: str, seed: int):
    from obspy import Trace, UTCDateTime

    net, sta, loc, cha = sid.split(".")
    rng = np.random.default_rng(seed)
    data = np.cumsum(rng.integers(-50, 51, int(240 * RATE))).astype(np.int32)
    return Trace(data, header={"network": net, "station": sta, "location": loc, "channel": cha,
                               "sampling_rate": RATE, "starttime": UTCDateTime(T0.replace(tzinfo=None))})


@pytest.fixture(scope="module")
def sds(tmp_path_factory):
    from obspy import Stream

    from tianshan.io.sds import write_sds

    root = tmp_path_factory.mktemp("dataselect") / "sds"
    stream = Stream([_trace(sid, k) for k, sid in enumerate(IDS)])
    files = write_sds(stream, root, encoding="STEIM2", record_length=RECLEN)
    assert len(files) == 4  # two channels x two days
    return root, stream


@pytest.fixture(scope="module")
def server(ff, sds):
    from tianshan.services.fdsn.app import create_app

    with ff.LiveServer(create_app(None, sds[0], None, rate_limit_per_s=None)) as srv:
        yield srv


def _records(root: Path, sid: str) -> list[tuple[bytes, int, int]]:
    """(bytes, first sample ns, last sample ns) of every record of the channel's day files, in time order."""
    from obspy import read

    net, sta, loc, cha = sid.split(".")
    out = []
    for path in sorted(root.glob(f"*/{net}/{sta}/{cha}.D/{sid}.D.*")):
        raw = path.read_bytes()
        assert len(raw) % RECLEN == 0
        for k in range(0, len(raw), RECLEN):
            rec = raw[k:k + RECLEN]
            tr = read(io.BytesIO(rec), format="MSEED")[0]
            out.append((rec, tr.stats.starttime._ns, tr.stats.endtime._ns))
    return sorted(out, key=lambda r: r[1])


def _ns(t: datetime) -> int:
    return int(round((t - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1e6)) * 1000


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")


@pytest.fixture(scope="module")
def get(ff):
    """``get(server, sid, t1, t2, **extra)``: the reply of the server's dataselect query."""

    def _get(server, sid: str, t1: datetime, t2: datetime, **extra):
        net, sta, loc, cha = sid.split(".")
        url = (f"{server.url}/fdsnws/dataselect/1/query?net={net}&sta={sta}&loc={loc}&cha={cha}"
               f"&start={_iso(t1)}&end={_iso(t2)}" + "".join(f"&{k}={v}" for k, v in extra.items()))
        return ff.http(url)

    return _get


def test_answer_is_the_overlapping_archive_records_byte_for_byte(sds, server, get):
    root, _ = sds
    t1, t2 = T0 + timedelta(seconds=100.0), T0 + timedelta(seconds=150.0)  # 23:59:40 - 00:00:30
    reply = get(server, IDS[0], t1, t2)
    assert reply.status == 200 and reply.headers["content-type"] == "application/vnd.fdsn.mseed"
    assert reply.headers.get("transfer-encoding") == "chunked"  # streamed
    want = [r for r in _records(root, IDS[0]) if r[1] <= _ns(t2) and r[2] >= _ns(t1)]
    assert len(want) > 10 and reply.body == b"".join(r[0] for r in want)
    days = {r[0][20:24] for r in want}  # BTIME year + day of year: both day files contributed
    assert len(days) == 2


def test_a_window_inside_one_record_returns_that_record(sds, server, get):
    root, _ = sds
    rec, first, last = _records(root, IDS[1])[7]
    assert last - first > 3 * 10_000_000  # more than three samples in the record
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    t1 = epoch + timedelta(microseconds=(first + 10_000_000) // 1000)  # one sample after the first
    t2 = epoch + timedelta(microseconds=(last - 10_000_000) // 1000)  # one sample before the last
    reply = get(server, IDS[1], t1, t2)
    assert reply.status == 200 and reply.body == rec


def test_obspy_client_reads_the_records_and_gets_the_samples(sds, server):
    from obspy import UTCDateTime
    from obspy.clients.fdsn import Client

    _, stream = sds
    t1, t2 = UTCDateTime(T0.replace(tzinfo=None)) + 110.0, UTCDateTime(T0.replace(tzinfo=None)) + 135.0
    client = Client(server.url)
    st = client.get_waveforms("XJ", "DSEL", "00", "HH?", t1, t2)  # ObsPy trims to the window itself
    st.merge()
    assert sorted(tr.id for tr in st) == sorted(IDS)
    for tr in st:
        ref = stream.select(id=tr.id)[0].slice(t1, t2)
        assert tr.stats.starttime == t1 and len(tr) == len(ref) == 2501
        np.testing.assert_array_equal(tr.data, ref.data)
    bulk = client.get_waveforms_bulk([("XJ", "DSEL", "00", "HHZ", t1, t2), ("XJ", "DSEL", "00", "HHZ", t1, t2)])
    bulk.merge()
    assert len(bulk) == 1 and bulk[0].stats.starttime <= t1 and bulk[0].stats.endtime >= t2


def test_quality_and_segment_options_act_on_records(sds, server, get):
    t1, t2 = T0 + timedelta(seconds=30.0), T0 + timedelta(seconds=60.0)
    assert get(server, IDS[0], t1, t2, quality="D").status == 200  # write_sds writes quality D
    assert get(server, IDS[0], t1, t2, quality="R").status == 204
    whole = get(server, IDS[0], t1, t2, longestonly="true")
    assert whole.status == 200 and whole.body == get(server, IDS[0], t1, t2).body  # one segment
    assert get(server, IDS[0], t1, t2, minimumlength="29").status == 200
    assert get(server, IDS[0], t1, t2, minimumlength="40").status == 204  # 30 s window: < 40 s of records
    assert get(server, IDS[0], t1 - timedelta(days=30), t2 - timedelta(days=30)).status == 204


def test_corrupt_stretch_is_skipped_and_counted(ff, sds, get, tmp_path):
    from tianshan.services.fdsn.app import create_app
    from tianshan.services.fdsn.archive import scan_records

    root, _ = sds
    path = next(root.glob(f"2024/XJ/DSEL/HHZ.D/{IDS[0]}.D.2024.122"))
    raw = path.read_bytes()
    broken = raw[:3 * RECLEN] + bytes(range(256)) * 2 + raw[4 * RECLEN:]  # record 3 overwritten by garbage
    recs = scan_records(broken, ("XJ", "DSEL", "00", "HHZ"))
    good = scan_records(raw, ("XJ", "DSEL", "00", "HHZ"))
    assert recs.corrupt == 1 and len(recs) == len(good) - 1
    assert recs.offset.tolist() == [o for o in good.offset.tolist() if o != 3 * RECLEN]
    copy = tmp_path / "sds"
    import shutil

    shutil.copytree(root, copy)
    (copy / path.relative_to(root)).write_bytes(broken)
    app = create_app(None, copy, None, rate_limit_per_s=None)
    with ff.LiveServer(app) as srv:
        reply = get(srv, IDS[0], T0, T0 + timedelta(seconds=60.0))
    assert reply.status == 200 and reply.body == raw[:3 * RECLEN] + raw[4 * RECLEN:len(reply.body) + RECLEN]
    svc = app.state.fdsn.dataselect
    assert svc.corrupt_records == 1 and svc.unreadable == 1


def test_mixed_record_lengths_are_walked(tmp_path):
    from obspy import Stream

    from tianshan.services.fdsn.archive import _uniform, scan_records

    tr = _trace("XJ.MIX.00.HHZ", 9)
    parts = []
    for k, reclen in enumerate((512, 4096, 256)):
        buf = io.BytesIO()
        Stream([tr.slice(tr.stats.starttime + 20 * k, tr.stats.starttime + 20 * k + 19.99)]).write(
            buf, format="MSEED", reclen=reclen, encoding="STEIM2")
        parts.append(buf.getvalue())
    raw = b"".join(parts)
    assert _uniform(raw, None) is None
    recs = scan_records(raw, ("XJ", "MIX", "00", "HHZ"))
    assert recs.corrupt == 0 and set(recs.length.tolist()) == {256, 512, 4096}
    assert int(recs.npts.sum()) == 6000 and int(recs.offset[-1] + recs.length[-1]) == len(raw)
    assert len(scan_records(raw, ("XJ", "OTHER", "00", "HHZ"))) == 0  # another channel's records are not kept


def test_header_parser_agrees_with_obspy_on_real_files(shared_data):
    from obspy.io.mseed.util import get_record_information

    from tianshan.services.fdsn.archive import scan_records

    files = sorted((shared_data / "waveforms").rglob("*.mseed")) + sorted((shared_data / "waveforms").rglob("*.msd"))
    if not files:
        pytest.skip(f"no miniSEED files under {shared_data / 'waveforms'}")
    checked = 0
    for path in files[:8]:
        raw = path.read_bytes()
        recs = scan_records(raw)
        assert recs.corrupt == 0 and int(recs.offset[-1] + recs.length[-1]) == len(raw), path
        for i in range(len(recs)):
            info = get_record_information(io.BytesIO(raw), offset=int(recs.offset[i]))
            assert info["record_length"] == recs.length[i] and info["npts"] == recs.npts[i], path
            assert info["samp_rate"] == pytest.approx(recs.rate_hz[i], rel=1e-12), path
            # ObsPy keeps microseconds: agreement to 1 us
            assert abs(info["starttime"]._ns - int(recs.start_ns[i])) < 1000, path
            assert abs(info["endtime"]._ns - int(recs.end_ns[i])) < 1000, path
            checked += 1
    assert checked > 100


@pytest.mark.parametrize("byteorder,encoding,reclen", [("<", "STEIM2", 512), (">", "INT32", 1024),
                                                       ("<", "FLOAT64", 256), (">", "STEIM1", 4096)])
@pytest.mark.parametrize("micro", [123400, 123463])  # 123463 us needs blockette 1001 (sub-100 us start)
@pytest.mark.filterwarnings("ignore:Record contains a fractional seconds:UserWarning")  # ObsPy's own byte-order guess
def test_vectorised_and_record_by_record_parsers_agree_with_obspy(byteorder, encoding, reclen, micro):
    from obspy import Stream, Trace, UTCDateTime, read

    from tianshan.services.fdsn.archive import _uniform, _walk

    data = np.arange(20000, dtype=np.float64 if encoding == "FLOAT64" else np.int32)
    tr = Trace(data, header={"network": "XJ", "station": "LE", "location": "", "channel": "HHZ",
                             "sampling_rate": RATE, "starttime": UTCDateTime(2024, 1, 1, 0, 0, 0, micro)})
    buf = io.BytesIO()
    Stream([tr]).write(buf, format="MSEED", byteorder=byteorder, encoding=encoding, reclen=reclen)
    raw = buf.getvalue()
    fast, slow = _uniform(raw, None), _walk(raw, None)
    assert fast is not None and slow.corrupt == 0
    for name in ("offset", "length", "start_ns", "end_ns", "npts", "rate_hz", "quality"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name), err_msg=name)
    assert int(fast.npts.sum()) == 20000 and fast.start_ns[0] == tr.stats.starttime._ns
    for i in (0, len(fast) // 2, len(fast) - 1):
        rec = read(io.BytesIO(raw[int(fast.offset[i]):int(fast.offset[i] + fast.length[i])]), format="MSEED")[0]
        assert rec.stats.npts == fast.npts[i]
        assert abs(rec.stats.starttime._ns - int(fast.start_ns[i])) < 1000  # ObsPy keeps microseconds
        assert abs(rec.stats.endtime._ns - int(fast.end_ns[i])) < 1000
