"""SeedLinkSource against the project's SeedLink server and a fault-injecting test server (loopback)."""

from __future__ import annotations

import asyncio
import io
import json
import random
import socket

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.core.ids import StreamID
from tianshan.stream.seedlink_client import SeedLinkSource, _packet_seq, backoff_delay, parse_selectors

STATIONS = ("LTA", "KSH", "WMQ")
CHANNELS = ("HHZ", "HHN", "HHE")
T0 = "2025-06-01T00:00:00Z"


# --------------------------------------------------------------------------- test data

def make_data(seed: int = 1, seconds: float = 60.0, rate: float = 100.0):
    """3 stations x 3 channels of random-walk counts, as 512-byte STEIM2 records in time order."""
    from obspy import Stream, Trace, UTCDateTime

    rng = np.random.default_rng(seed)
    truth, recs = {}, []
    for sta in STATIONS:
        for cha in CHANNELS:
            data = np.cumsum(rng.integers(-300, 301, int(seconds * rate))).astype(np.int32)
            tr = Trace(data, header={"network": "XJ", "station": sta, "location": "", "channel": cha,
                                     "sampling_rate": rate, "starttime": UTCDateTime(T0)})
            truth[tr.id] = data
            buf = io.BytesIO()
            Stream([tr]).write(buf, format="MSEED", reclen=512, encoding="STEIM2")
            raw = buf.getvalue()
            for i in range(0, len(raw), 512):
                rec = raw[i:i + 512]
                recs.append((_start(rec), f"XJ_{sta}", rec))
    recs.sort(key=lambda r: (r[0], r[1]))
    return truth, [(key, rec) for _, key, rec in recs]


def _start(rec: bytes) -> int:
    from tianshan.stream.mseed_header import parse_record_header

    return parse_record_header(rec).start_ns


def assemble(got) -> dict[str, np.ndarray]:
    """Concatenate the delivered records per stream and decode them with ObsPy (no merge fill)."""
    from obspy import read

    per: dict[str, list[bytes]] = {}
    for rec, sid, _seq in got:
        per.setdefault(str(sid), []).append(rec)
    out = {}
    for sid, recs in per.items():
        st = read(io.BytesIO(b"".join(recs)), format="MSEED")
        assert len(st.get_gaps()) == 0, f"{sid}: gaps/overlaps in delivered data"
        st.merge(method=-1)
        assert len(st) == 1
        out[sid] = st[0].data
    return out


def assert_exact(truth, got, n_records):
    assert len(got) == n_records, f"delivered {len(got)} records, expected {n_records}"
    arrays = assemble(got)
    assert sorted(arrays) == sorted(truth)
    for sid, data in truth.items():
        np.testing.assert_array_equal(arrays[sid], data)


class Collector:
    def __init__(self):
        self.got: list[tuple[bytes, StreamID, int]] = []

    async def __call__(self, record: bytes, sid: StreamID, seq: int) -> None:
        self.got.append((record, sid, seq))


async def wait_until(cond, timeout: float = 10.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def run(coro, timeout: float = 20.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SELECT = ["XJ_LTA:HH?", "XJ_KSH:HH?", "XJ_WMQ:HH?"]


def source(port, cb, **kw) -> SeedLinkSource:
    kw.setdefault("backoff", (0.01, 0.05))
    kw.setdefault("rng", random.Random(7))
    return SeedLinkSource("127.0.0.1", port, SELECT, on_record=cb, **kw)


# --------------------------------------------------------------------------- fault-injecting server

class FakeServer:
    """Speaks enough SeedLink 3 (HELLO/STATION/SELECT/DATA/END) to inject faults precisely.

    Packets are numbered globally by their index. ``drop_after[i]``: connection
    ``i`` is cut after that many packets; ``silent_after[i]``: connection ``i``
    goes silent (socket open) after that many; ``inject[j]``: raw bytes written
    once before packet ``j``.
    """

    def __init__(self, packets, *, drop_after=(), silent_after=(), inject=None, port=0):
        self.packets = packets
        self.drop_after, self.silent_after = list(drop_after), list(silent_after)
        self.inject = dict(inject or {})
        self.port = port
        self.commands: list[str] = []
        self.connections = 0
        self._server = None
        self._writers = set()

    async def start(self):
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self):
        self._server.close()
        for w in list(self._writers):
            w.close()
        await self._server.wait_closed()

    async def _handle(self, reader, writer):
        conn = self.connections
        self.connections += 1
        self._writers.add(writer)
        start, current = {}, None
        try:
            while True:
                line = (await reader.readline()).decode().strip()
                if not line:
                    return
                self.commands.append(line)
                verb, *args = line.split()
                if verb == "HELLO":
                    writer.write(b"SeedLink v3.1 (fake) :: SLPROTO:3.1\r\nTest\r\n")
                elif verb == "STATION":
                    current = f"{args[1]}_{args[0]}"
                    writer.write(b"OK\r\n" if any(k == current for k, _ in self.packets) else b"ERROR\r\n")
                elif verb == "SELECT":
                    writer.write(b"OK\r\n")
                elif verb == "DATA":
                    start[current] = int(args[0], 16) if args else 0
                    writer.write(b"OK\r\n")
                elif verb == "END":
                    break
            sent = 0
            drop = self.drop_after[conn] if conn < len(self.drop_after) else None
            silent = self.silent_after[conn] if conn < len(self.silent_after) else None
            for i, (key, rec) in enumerate(self.packets):
                if key not in start or i < start[key]:
                    continue
                if sent == drop:
                    writer.transport.abort()
                    return
                if sent == silent:
                    break
                if i in self.inject:
                    writer.write(self.inject.pop(i))
                writer.write(b"SL%06X" % i + rec)
                sent += 1
                await writer.drain()
            await reader.read()  # idle until the client goes away
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


# --------------------------------------------------------------------------- pure functions

def test_packet_framing_matches_obspy():
    from obspy.clients.seedlink.slpacket import SLPacket

    _, packets = make_data(seconds=5)
    rec = packets[0][1]
    for seq in (0, 1, 0x1F, 0xABCDEF, 0xFFFFFF):
        pkt = b"SL%06X" % seq + rec
        assert _packet_seq(pkt[:8]) == SLPacket(pkt, 0).get_sequence_number() == seq
    assert SLPacket(b"XX000001" + rec, 0).get_sequence_number() == -1
    assert _packet_seq(b"XX000001") is None and _packet_seq(b"SL00G001") is None


def test_parse_selectors():
    reqs = parse_selectors(["XJ_LTA:HH? 00BH?.D", "XJ_KSH,IU_ANMO:!LOG"])
    assert [(r.key, r.selectors) for r in reqs] == [("XJ_LTA", ("HH?", "00BH?.D")), ("XJ_KSH", ()),
                                                   ("IU_ANMO", ("!LOG",))]
    for bad in ("LTA", "XJ_LTA:H-H-H-HH", "XJK_LTA", "", "XJ_LTA,XJ_LTA", "XJ_TOOLONG"):
        with pytest.raises(InputError):
            parse_selectors(bad)


def test_backoff_grows_and_is_bounded():
    rng = random.Random(3)
    base, cap = 1.0, 60.0
    delays = [backoff_delay(n, base, cap, rng) for n in range(30)]
    for n, d in enumerate(delays):
        full = min(cap, base * 2 ** n)
        assert full / 2 <= d <= full
    assert max(delays) <= cap and min(delays) >= base / 2
    # the lower bound doubles until the cap: later attempts wait longer
    assert delays[6] > delays[0] * 8
    assert backoff_delay(10_000, base, cap, rng) <= cap
    with pytest.raises(ValueError):
        backoff_delay(0, 5.0, 1.0)


# --------------------------------------------------------------------------- against the real server

def _server():
    from tianshan.stream.seedlink_server import SeedLinkServer

    return SeedLinkServer("127.0.0.1", 0)


def test_receives_everything_from_server():
    truth, packets = make_data()

    async def main():
        srv = await _server().start()
        for _, rec in packets:
            srv.feed(rec)
        cb = Collector()
        src = source(srv.port, cb, begin_time=T0)
        task = asyncio.create_task(src.run())
        await wait_until(lambda: len(cb.got) >= len(packets), what="all records")
        await asyncio.sleep(0.05)  # nothing more may come
        src.stop()
        await task
        await srv.close()
        return cb.got, src

    got, src = run(main())
    assert_exact(truth, got, len(packets))
    m = src.metrics()
    assert m["reconnects"] == 0 and m["bad_packets"] == 0
    assert all(v["gaps"] == 0 and v["duplicates"] == 0 for v in m["streams"].values())


@pytest.mark.parametrize("shift", [0, 1])
def test_server_restart_resumes_without_gap_or_duplicate(shift):
    """Restart the server mid-stream; the new one numbers packets alike (shift 0) or one off (shift 1)."""
    truth, packets = make_data(seed=2)
    half = len(packets) // 2

    async def main():
        srv = await _server().start()
        port = srv.port
        for _, rec in packets[:half]:
            srv.feed(rec)
        cb = Collector()
        src = source(port, cb, begin_time=T0)
        task = asyncio.create_task(src.run())
        await wait_until(lambda: len(cb.got) >= half, what="first half")
        await srv.close()
        await wait_until(lambda: src.reconnects >= 1, what="reconnect attempt")
        from tianshan.stream.seedlink_server import SeedLinkServer

        srv2 = SeedLinkServer("127.0.0.1", port)
        # the new server has the whole history; with shift=1 every station's numbering is one off
        if shift:
            seen = set()
            for key, rec in packets:
                if key not in seen:
                    seen.add(key)
                    srv2.feed(rec)
        for _, rec in packets:
            srv2.feed(rec)
        await srv2.start()
        await wait_until(lambda: len(cb.got) >= len(packets), what="second half")
        await asyncio.sleep(0.1)
        src.stop()
        await task
        await srv2.close()
        return cb.got, src

    got, src = run(main())
    assert_exact(truth, got, len(packets))
    m = src.metrics()
    assert m["reconnects"] >= 1
    dups = sum(v["duplicates"] for v in m["streams"].values())
    assert dups == (3 if shift else 0)  # one re-sent record per station, dropped


def test_state_file_survives_client_restart(tmp_path):
    truth, packets = make_data(seed=3)
    half = len(packets) // 2
    state = tmp_path / "seedlink.state.json"

    async def main():
        srv = await _server().start()
        for _, rec in packets[:half]:
            srv.feed(rec)
        cb = Collector()
        first = source(srv.port, cb, begin_time=T0, state_file=state)
        task = asyncio.create_task(first.run())
        await wait_until(lambda: len(cb.got) >= half, what="first half")
        first.stop()
        await task
        saved = json.loads(state.read_text())
        for _, rec in packets[half:]:
            srv.feed(rec)
        second = source(srv.port, cb, begin_time=T0, state_file=state)  # begin_time ignored: state wins
        task = asyncio.create_task(second.run())
        await wait_until(lambda: len(cb.got) >= len(packets), timeout=3.0, what="second half")
        await asyncio.sleep(0.1)
        second.stop()
        await task
        await srv.close()
        return cb.got, saved

    got, saved = run(main())
    assert_exact(truth, got, len(packets))
    assert set(saved["stations"]) == {f"XJ_{s}" for s in STATIONS}
    assert len(saved["streams"]) == 9
    assert not list(tmp_path.glob("*.part"))  # atomic writes leave no temporary file


def test_bad_state_file_is_input_error(tmp_path):
    bad = tmp_path / "state.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="state.json"):
        SeedLinkSource("127.0.0.1", 1, ["XJ_LTA"], on_record=lambda *a: None, state_file=bad)
    bad.write_text(json.dumps({"format": "tianshan-seedlink-state", "streams": {"nonsense": 1}}))
    with pytest.raises(InputError):
        SeedLinkSource("127.0.0.1", 1, ["XJ_LTA"], on_record=lambda *a: None, state_file=bad)


# --------------------------------------------------------------------------- fault injection

def _run_fake(packets, n_expected, timeout=10.0, **kw):
    src_kw = {k: kw.pop(k) for k in list(kw) if k in ("idle_timeout_s", "registry", "clock", "window_s")}

    async def main():
        srv = await FakeServer(packets, **kw).start()
        cb = Collector()
        src = source(srv.port, cb, **src_kw)
        task = asyncio.create_task(src.run())
        await wait_until(lambda: len(cb.got) >= n_expected, timeout, what="records")
        await asyncio.sleep(0.05)
        src.stop()
        await task
        await srv.close()
        return cb.got, src, srv

    return run(main())


def test_connection_drops_mid_stream():
    truth, packets = make_data(seed=4)
    got, src, srv = _run_fake(packets, len(packets), drop_after=[7, 3, 11, 1])
    assert_exact(truth, got, len(packets))
    assert src.reconnects == 4 and srv.connections == 5
    # every reconnect resumed each station right after its last packet
    data_cmds = [c for c in srv.commands if c.startswith("DATA")]
    assert data_cmds[:3] == ["DATA"] * 3
    resumed = {int(c.split()[1], 16) for c in data_cmds[3:]}
    assert resumed and all(0 < s < len(packets) for s in resumed)
    seqs = [s for _, _, s in got]
    assert len(set(seqs)) == len(seqs)  # no packet delivered twice


def test_bad_record_counted_and_skipped():
    truth, packets = make_data(seed=5)
    rng = np.random.default_rng(5)
    garbage = rng.integers(0, 256, 512, dtype=np.uint8).tobytes()
    unknown = packets[0][1][:8] + b"ZZZZZ" + packets[0][1][13:]   # a station nobody asked for
    packets2 = packets[:10] + [("XJ_LTA", garbage), ("XJ_LTA", unknown)] + packets[10:]
    got, src, _ = _run_fake(packets2, len(packets))
    assert_exact(truth, got, len(packets))
    assert src.bad_packets == 1 and src.unknown_station_packets == 1 and src.reconnects == 0


def test_lost_framing_reconnects_and_resumes():
    truth, packets = make_data(seed=6)
    got, src, _ = _run_fake(packets, len(packets), inject={20: b"garbage!" * 10})
    assert_exact(truth, got, len(packets))
    assert src.bad_packets == 1 and src.reconnects == 1


def test_silent_server_times_out_and_resumes():
    truth, packets = make_data(seed=7)
    got, src, _ = _run_fake(packets, len(packets), silent_after=[25], idle_timeout_s=0.3)
    assert_exact(truth, got, len(packets))
    assert src.reconnects == 1


def test_backoff_while_server_is_down():
    async def main():
        cb = Collector()
        src = source(free_port(), cb, backoff=(0.01, 0.04), connect_timeout_s=1.0)
        task = asyncio.create_task(src.run())
        await wait_until(lambda: len(src.delays) >= 6, what="reconnect attempts")
        src.stop()
        await task
        return src

    src = run(main())
    for n, d in enumerate(src.delays):
        full = min(0.04, 0.01 * 2 ** n)
        assert full / 2 <= d <= full
    assert src.metrics()["connected"] == 0 and src.reconnects >= 6


def test_callback_error_stops_and_record_is_not_committed(tmp_path):
    _, packets = make_data(seed=8, seconds=20)
    state = tmp_path / "st.json"
    calls = []

    def cb(record, sid, seq):
        calls.append(seq)
        if len(calls) == 5:
            raise RuntimeError("disk full")

    async def main():
        srv = await FakeServer(packets).start()
        src = SeedLinkSource("127.0.0.1", srv.port, SELECT, on_record=cb, state_file=state)
        try:
            with pytest.raises(RuntimeError, match="disk full"):
                await src.run()
        finally:
            await srv.close()

    run(main())
    saved = json.loads(state.read_text())
    committed = {v["seq"] for v in saved["stations"].values()}
    assert calls[4] not in committed and max(committed) == max(calls[:4])


# --------------------------------------------------------------------------- metrics

def test_metrics_values_and_prometheus():
    from prometheus_client import CollectorRegistry

    truth, packets = make_data(seed=9)
    sid = "XJ.KSH..HHN"
    ksh_n = [i for i, (k, rec) in enumerate(packets) if rec[8:13] == b"KSH  " and rec[15:18] == b"HHN"]
    missing = ksh_n[len(ksh_n) // 2]
    packets2 = [p for i, p in enumerate(packets) if i != missing]
    from tianshan.stream.mseed_header import parse_record_header

    hdr = {i: parse_record_header(rec) for i, (_, rec) in enumerate(packets)}
    last_end = max(h.end_ns for h in hdr.values())
    now = last_end / 1e9 + 2.5
    reg = CollectorRegistry()
    got, src, _ = _run_fake(packets2, len(packets2), registry=reg, clock=lambda: now, window_s=30.0)
    m = src.metrics()
    s = m["streams"]
    assert len(s) == 9
    assert s[sid]["gaps"] == 1 and sum(v["gaps"] for v in s.values()) == 1
    assert all(v["duplicates"] == 0 and v["overlaps"] == 0 for v in s.values())
    assert sum(v["packets"] for v in s.values()) == len(packets2)
    assert sum(v["samples"] for v in s.values()) == sum(len(a) for a in truth.values()) - hdr[missing].n_samples
    # latency: wall clock minus the stream's last sample time
    for name, v in s.items():
        ends = [h.end_ns for h in hdr.values() if str(h.stream_id) == name]
        assert v["latency_s"] == pytest.approx(now - max(ends) / 1e9, abs=1e-6)
    # completeness over the last 30 s of data time ending at the newest sample
    ref = max(h.next_start_ns for h in hdr.values())
    lo, hi = ref - 30 * 10**9, ref
    for name, v in s.items():
        spans = [(h.start_ns, h.next_start_ns) for i, h in hdr.items()
                 if str(h.stream_id) == name and i != missing]
        covered = sum(max(0, min(e, hi) - max(b, lo)) for b, e in spans)
        assert v["completeness"] == pytest.approx(covered / (hi - lo), abs=1e-9)
    gap_frac = hdr[missing].n_samples / 100.0 / 30.0
    assert s[sid]["completeness"] <= 1 - gap_frac + 1e-9
    assert min(v["completeness"] for n, v in s.items() if n != sid) > 0.9
    # the same numbers through Prometheus
    labels = {"server": src.server, "stream": sid}
    assert reg.get_sample_value("tianshan_seedlink_gaps_total", labels) == 1
    assert reg.get_sample_value("tianshan_seedlink_packets_total", labels) == s[sid]["packets"]
    assert reg.get_sample_value("tianshan_seedlink_latency_seconds", labels) == pytest.approx(s[sid]["latency_s"])
    assert reg.get_sample_value("tianshan_seedlink_completeness_ratio", labels) == pytest.approx(
        s[sid]["completeness"])
    assert reg.get_sample_value("tianshan_seedlink_reconnects_total", {"server": src.server}) == 0
    assert reg.get_sample_value("tianshan_seedlink_connected", {"server": src.server}) == 0


def test_wildcard_request_resumes_by_time(tmp_path):
    """``XJ_*`` has no per-request sequence number: the restarted client resumes with TIME + dedupe."""
    truth, packets = make_data(seed=10)
    half = len(packets) // 2
    state = tmp_path / "wild.json"

    async def main():
        srv = await _server().start()
        for _, rec in packets[:half]:
            srv.feed(rec)
        cb = Collector()
        kw = dict(on_record=cb, state_file=state, begin_time=T0, backoff=(0.01, 0.05))
        first = SeedLinkSource("127.0.0.1", srv.port, ["XJ_*:HH?"], **kw)
        task = asyncio.create_task(first.run())
        await wait_until(lambda: len(cb.got) >= half, what="first half")
        first.stop()
        await task
        for _, rec in packets[half:]:
            srv.feed(rec)
        kw["begin_time"] = None  # only the state file's stream times can bring the second half
        second = SeedLinkSource("127.0.0.1", srv.port, ["XJ_*:HH?"], **kw)
        task = asyncio.create_task(second.run())
        await wait_until(lambda: len(cb.got) >= len(packets), timeout=3.0, what="second half")
        await asyncio.sleep(0.1)
        second.stop()
        await task
        await srv.close()
        return cb.got, second

    got, second = run(main())
    assert_exact(truth, got, len(packets))
    assert second.metrics()["reconnects"] == 0


# --------------------------------------------------------------------------- END (all requested data sent)

def _finished_replay_server(tmp_path, packets):
    """A SeedLinkServer whose SDS replay is already complete (every ring finished)."""
    from tianshan.stream.archive import LiveArchive

    root = tmp_path / "sds"
    archive = LiveArchive(root)
    for _, rec in packets:
        archive.write(rec)
    archive.close()

    async def start():
        srv = await _server().start()
        srv.replay_sds(root, speed=float("inf"))
        await asyncio.wait_for(srv.replay_done.wait(), 10)
        return srv

    return start


def test_end_after_time_request_stops_when_configured(tmp_path, caplog):
    """A TIME request to a finished replay gets its data, then END and a close: not an error."""
    truth, packets = make_data(seed=11, seconds=20)
    start = _finished_replay_server(tmp_path, packets)

    async def main():
        srv = await start()
        cb = Collector()
        src = SeedLinkSource("127.0.0.1", srv.port, ["XJ_*:HH?"], on_record=cb, begin_time=T0,
                             backoff=(0.01, 0.05), stop_on_end=True, state_file=tmp_path / "st.json")
        await asyncio.wait_for(src.run(), 10)  # returns by itself on END
        await srv.close()
        return cb.got, src

    with caplog.at_level("INFO", logger="tianshan.stream.seedlink_client"):
        got, src = run(main())
    assert_exact(truth, got, len(packets))
    m = src.metrics()
    assert m["end_of_data"] == 1 and m["reconnects"] == 0 and src.delays == []
    assert not [r for r in caplog.records if r.levelname == "WARNING"], [r.getMessage() for r in caplog.records]
    assert any("END" in r.getMessage() and "stopping" in r.getMessage() for r in caplog.records)
    saved = json.loads((tmp_path / "st.json").read_text())
    assert len(saved["streams"]) == len(truth)  # state saved on the way out


def test_end_is_counted_and_asked_again_at_the_backoff_cap(tmp_path, caplog):
    """Without stop_on_end the client asks again after the back-off cap, gets END again (its
    TIME resume point is past the data), never a record twice, no warning, no 'reconnect'."""
    from prometheus_client import CollectorRegistry

    truth, packets = make_data(seed=12, seconds=20)
    start = _finished_replay_server(tmp_path, packets)
    reg = CollectorRegistry()
    base, cap = 0.01, 0.08

    async def main():
        srv = await start()
        cb = Collector()
        src = SeedLinkSource("127.0.0.1", srv.port, ["XJ_*:HH?"], on_record=cb, begin_time=T0,
                             backoff=(base, cap), rng=random.Random(5), registry=reg)
        task = asyncio.create_task(src.run())
        await wait_until(lambda: src.end_of_data >= 3, what="three END answers")
        src.stop()
        await task
        await srv.close()
        return cb.got, src, srv

    with caplog.at_level("INFO", logger="tianshan.stream.seedlink_client"):
        got, src, srv = run(main())
    assert_exact(truth, got, len(packets))
    assert src.reconnects == 0 and src.end_of_data >= 3
    assert len(src.delays) >= 3 and all(cap / 2 <= d <= cap for d in src.delays)  # at the cap, not from base
    assert srv.stats.connections == src.end_of_data or srv.stats.connections == src.end_of_data + 1
    assert not [r for r in caplog.records if r.levelname == "WARNING"], [r.getMessage() for r in caplog.records]
    assert reg.get_sample_value("tianshan_seedlink_end_of_data_total", {"server": src.server}) == src.end_of_data
    assert reg.get_sample_value("tianshan_seedlink_reconnects_total", {"server": src.server}) == 0


def test_end_from_fetch_window_of_fake_server_is_not_a_lost_framing():
    """END written where a packet header would be (then a close) ends the transfer cleanly."""
    from tianshan.stream.seedlink_proto import END

    _, packets = make_data(seed=13, seconds=5)

    async def handle(reader, writer):
        while True:
            line = (await reader.readline()).decode().strip()
            if not line:
                return
            verb = line.split()[0]
            if verb == "HELLO":
                writer.write(b"SeedLink v3.1 (fake) :: SLPROTO:3.1\r\nTest\r\n")
            elif verb in ("STATION", "SELECT", "DATA", "TIME", "FETCH"):
                writer.write(b"OK\r\n")
            elif verb == "END":
                break
        for i, (_, rec) in enumerate(packets[:10]):
            writer.write(b"SL%06X" % i + rec)
        writer.write(END)
        await writer.drain()
        writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        cb = Collector()
        src = source(port, cb, stop_on_end=True)
        await asyncio.wait_for(src.run(), 10)
        server.close()
        await server.wait_closed()
        return cb.got, src

    got, src = run(main())
    assert len(got) == 10
    assert src.end_of_data == 1 and src.bad_packets == 0 and src.reconnects == 0

