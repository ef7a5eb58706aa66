"""Record gate, packets over the bus, archive priming after a crash, structured logs."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import numpy as np
import pytest

from tianshan.bus.memory import InProcessBus
from tianshan.core.ids import StreamID
from tianshan.runtime.logs import JsonFormatter, TextFormatter, setup_logging
from tianshan.runtime.packets import PacketIntake, RecordGate, packet_key, trace_records
from tianshan.runtime.recovery import archive_frontier_ns, prime_buffers, recent_records
from tianshan.stream.archive import LiveArchive
from tianshan.stream.buffers import BufferSet
from tianshan.stream.mseed_header import parse_record_header

NS = 1_000_000_000
Z = StreamID("XJ", "AKS", "00", "HHZ")
N = StreamID("XJ", "AKS", "00", "HHN")
T0 = "2024-03-01T00:00:00"


def _records(sid=Z, start=T0, seconds=60.0, rate=100.0, seed=0):
    from obspy import Trace, UTCDateTime

    n = int(seconds * rate)
    data = np.random.default_rng(seed).integers(-3000, 3000, n).astype(np.int32)
    tr = Trace(data, header={"network": sid.network, "station": sid.station, "location": sid.location,
                             "channel": sid.channel, "sampling_rate": rate, "starttime": UTCDateTime(start)})
    b = io.BytesIO()
    tr.write(b, format="MSEED", reclen=512, encoding="STEIM2")
    blob = b.getvalue()
    return tr, [blob[i:i + 512] for i in range(0, len(blob), 512)]


def _now_after(rec, seconds=10.0):
    """A wall clock ``seconds`` after the record's last sample."""
    return lambda: parse_record_header(rec).end_ns / NS + seconds


def test_gate_passes_good_records_and_counts_every_drop():
    _, recs = _records()
    other = _records(StreamID("XJ", "ZZZ", "00", "HHZ"))[1][0]
    clock = _now_after(recs[-1])
    gate = RecordGate({Z}, max_future_s=60.0, max_past_s=3600.0, clock=clock)
    assert all(gate.check(r) is not None for r in recs)
    assert gate.check(b"garbage" * 80) is None                     # wrong length
    assert gate.check(b"\x00" * 512) is None                        # header does not parse
    assert gate.check(other) is None                                # stream not in the inventory
    future = RecordGate({Z}, max_future_s=60.0, clock=lambda: clock() - 7200)
    assert future.check(recs[0]) is None
    past = RecordGate({Z}, max_future_s=60.0, max_past_s=60.0, clock=lambda: clock() + 7200)
    assert past.check(recs[-1]) is None
    c = gate.counters.as_dict()
    assert c == {"received": len(recs) + 3, "accepted": len(recs), "malformed": 2, "unknown_stream": 1,
                 "rejected_future": 0, "rejected_past": 0}
    assert gate.counters.dropped == 3
    assert future.counters.rejected_future == 1 and past.counters.rejected_past == 1
    assert RecordGate(None).check(other) is not None  # no inventory: every stream is known


def test_packet_key_is_stream_and_start():
    _, recs = _records()
    h = parse_record_header(recs[3])
    assert packet_key(h) == f"pkt:XJ.AKS.00.HHZ:{h.start_ns}"


def test_intake_fills_buffers_from_the_bus_and_survives_garbage():
    tr, recs = _records()

    async def main():
        bus = InProcessBus()
        buffers = BufferSet(300.0, known={Z: 100.0}, auto_create=False)
        seen = []
        intake = PacketIntake(buffers, RecordGate({Z}, clock=_now_after(recs[-1])), on_packet=lambda: seen.append(1))
        await bus.subscribe("tianshan.packets.>", intake)
        await bus.publish("tianshan.packets.XJ.AKS", b"not miniseed")
        for r in recs:
            await bus.publish("tianshan.packets.XJ.AKS", r, key=packet_key(parse_record_header(r)))
        await bus.publish("tianshan.packets.XJ.AKS", recs[5], key=packet_key(parse_record_header(recs[5])))  # re-sent
        await bus.publish("tianshan.packets.XJ.AKS", b"\x00" * 512)
        await bus.close()
        return buffers, intake, seen

    buffers, intake, seen = asyncio.run(main())
    got = buffers[Z].latest(60.0)
    np.testing.assert_array_equal(got.data, tr.data.astype(np.float32))
    c = intake.counters
    assert c.messages == len(recs) + 2 and c.accepted == len(recs) and c.corrupt == 1
    assert intake.gate.counters.malformed == 2  # the short payload and the zero record
    assert len(seen) == len(recs) + 1


def test_trace_records_round_trip():
    from obspy import Trace, UTCDateTime

    tr = Trace(np.linspace(-1e-3, 1e-3, 320).astype(np.float32),
               header={"network": "OE", "station": "0012", "channel": "HNZ", "sampling_rate": 31.25,
                       "starttime": UTCDateTime(T0)})
    recs = trace_records(tr)
    assert recs and all(len(r) == 512 for r in recs)
    buffers = BufferSet(60.0)
    for r in recs:
        buffers.ingest_record(r)
    np.testing.assert_allclose(buffers["OE.0012..HNZ"].latest(20.0).data, tr.data)


def _archive(root, streams, seconds=600.0):
    with LiveArchive(root) as arch:
        allrecs = []
        for i, sid in enumerate(streams):
            _, recs = _records(sid, seconds=seconds, seed=i)
            allrecs += recs
        for r in sorted(allrecs, key=lambda r: parse_record_header(r).start_ns):
            arch.write(r)
    return allrecs


def test_prime_reads_the_last_seconds_of_the_archive_in_time_order(tmp_path):
    recs = _archive(tmp_path, [Z, N], seconds=600.0)
    newest = max(parse_record_header(r).end_ns for r in recs)
    assert archive_frontier_ns(tmp_path, [Z, N]) == newest
    assert archive_frontier_ns(tmp_path, [StreamID("XJ", "NONE", "", "HHZ")]) is None
    got, skipped = recent_records(tmp_path, [Z, N], newest - 100 * NS, newest)
    assert skipped == 0
    ends = [h.end_ns for h, _ in got]
    assert ends == sorted(ends) and min(ends) >= newest - 100 * NS
    expected = {r for r in recs if parse_record_header(r).end_ns >= newest - 100 * NS}
    assert {r for _, r in got} == expected

    segments = []
    buffers = BufferSet(300.0, known={Z: 100.0, N: 100.0}, auto_create=False)
    buffers.add_listener(segments.append)
    res = prime_buffers(buffers, tmp_path, [Z, N], 100.0)
    assert res.records == len(expected) and res.streams == 2 and res.end_ns == newest
    start = min(parse_record_header(r).start_ns for r in expected)
    assert buffers[Z].end_ns == max(parse_record_header(r).end_ns for r in recs if parse_record_header(r).stream_id == Z)
    assert min(s.start_ns for s in segments) == start
    assert buffers.totals()["gaps"] == 0


def test_prime_without_archive_does_nothing(tmp_path):
    buffers = BufferSet(300.0)
    assert prime_buffers(buffers, tmp_path / "none", [Z], 100.0).records == 0
    assert prime_buffers(buffers, None, [Z], 100.0).records == 0
    assert len(buffers) == 0


def test_prime_skips_a_corrupt_record(tmp_path):
    recs = _archive(tmp_path, [Z], seconds=120.0)
    path = next(p for p in tmp_path.rglob("XJ.AKS.00.HHZ.D.*"))
    blob = bytearray(path.read_bytes())
    blob[512 * 3:512 * 4] = b"\xff" * 512  # one record destroyed in the middle
    path.write_bytes(bytes(blob))
    buffers = BufferSet(300.0)
    res = prime_buffers(buffers, tmp_path, [Z], 1000.0)
    assert res.skipped == 1 and res.records == len(recs) - 1


def test_json_log_lines_carry_extras():
    rec = logging.LogRecord("tianshan.runtime", logging.WARNING, __file__, 1, "event %s declared", ("E1",), None)
    rec.event_id = "E1"
    rec.stream = StreamID("XJ", "AKS", "00", "HHZ")
    doc = json.loads(JsonFormatter().format(rec))
    assert doc["level"] == "WARNING" and doc["logger"] == "tianshan.runtime"
    assert doc["msg"] == "event E1 declared" and doc["event_id"] == "E1" and doc["stream"] == "XJ.AKS.00.HHZ"
    assert doc["ts"].endswith("Z") and "T" in doc["ts"]
    text = TextFormatter().format(rec)
    assert "WARNING tianshan.runtime: event E1 declared" in text and "event_id=E1" in text


def test_setup_logging_writes_one_json_line_per_record(capsys):
    from tianshan.runtime.logs import QUIET

    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    quiet = {name: logging.getLogger(name).level for name in QUIET}
    try:
        setup_logging("json", "INFO", stream=stream)
        log = logging.getLogger("tianshan.test")
        log.info("two\nlines", extra={"n": 3})
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
        log.debug("hidden")
        logging.getLogger("tianshan.picks.base").info("picker x: skipped {}")  # chatty: kept quiet
        assert logging.getLogger(QUIET[0]).level == logging.WARNING
    finally:
        for name, level in quiet.items():
            logging.getLogger(name).setLevel(level)
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved[0]:
            root.addHandler(h)
        root.setLevel(saved[1])
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    a, b = (json.loads(x) for x in lines)
    assert a["msg"] == "two\nlines" and a["n"] == 3
    assert b["level"] == "ERROR" and "ValueError: boom" in b["exc"]
    with pytest.raises(ValueError):
        setup_logging("xml")
