"""SeedLink 3 server (tianshan.stream.seedlink_server) checked with ObsPy's SeedLink client over loopback."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from datetime import timedelta

import numpy as np
import pytest
from pyproj import Geod

from tianshan.core import Channel, InstrumentKind, Station, StreamID
from tianshan.core.velocity import VelocityModel
from tianshan.stream import seedlink_proto as proto
from tianshan.stream.seedlink_server import SeedLinkServer

GEOD = Geod(a=6_371_000.0, b=6_371_000.0)
MODEL = VelocityModel.from_vp("xj-test", [0.0, 26e3, 54e3], [6100.0, 6700.0, 8200.0], moho_m=54e3)


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """3 stations x 3 components x 100 Hz, 120 s of a simulated M4.5, written to SDS."""
    from tianshan.io.sds import write_sds
    from tianshan.sim.scenario import simulate_scenario
    from tianshan.sim.source import Source

    src = Source(41.78, 84.27, 10e3, 4.5, "2024-03-01T08:00:20")
    stations = []
    for i, d in enumerate((15e3, 60e3, 140e3)):
        lon, lat, _ = GEOD.fwd(src.longitude_deg, src.latitude_deg, 100.0 * i + 30.0, d)
        code = f"SL{i}"
        chans = tuple(Channel(StreamID("XX", code, "00", "HH" + comp), lat, lon, 1000.0, 100.0,
                              azimuth_deg=az, dip_deg=dip, kind=InstrumentKind.BROADBAND)
                      for comp, az, dip in (("Z", 0.0, -90.0), ("N", 0.0, 0.0), ("E", 90.0, 0.0)))
        stations.append(Station("XX", code, lat, lon, 1000.0, channels=chans))
    res = simulate_scenario(src, stations, MODEL, src.origin_time - timedelta(seconds=20), duration_s=120.0, rng=7)
    root = tmp_path_factory.mktemp("sds")
    write_sds(res.stream, root)
    return root, res.stream


class ServerThread:
    """A SeedLinkServer running in its own event loop on a background thread."""

    def __init__(self, **kw):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = self.call(self._make(kw))

    async def _make(self, kw):
        return await SeedLinkServer("127.0.0.1", 0, **kw).start()

    def call(self, coro, timeout=10.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def run(self, fn, *args, timeout=10.0, **kw):
        async def _do():
            return fn(*args, **kw)
        return self.call(_do(), timeout)

    def stop(self):
        if not self.loop.is_running():
            return
        self.call(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def server_thread():
    made = []

    def make(**kw):
        st = ServerThread(**kw)
        made.append(st)
        return st
    yield make
    for st in made:
        st.stop()


def collect(port, streams, *, begin=None, end=None, max_packets=None, timeout=15.0):
    """Receive packets with ObsPy's SeedLinkConnection: list of (station, seq, trace)."""
    from obspy import UTCDateTime
    from obspy.clients.seedlink.client.seedlinkconnection import SeedLinkConnection
    from obspy.clients.seedlink.slpacket import SLPacket

    conn = SeedLinkConnection(timeout=timeout)
    conn.set_sl_address(f"127.0.0.1:{port}")
    conn.netdly = 1
    conn.netto = max(1, int(timeout))
    for net, sta, sel, seq in streams:
        conn.add_stream(net, sta, sel, seq, None)
    if begin is not None:
        conn.begin_time = UTCDateTime(begin)
    if end is not None:
        conn.end_time = UTCDateTime(end)
    out = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            pkt = conn.collect()
            if pkt is None or pkt == SLPacket.SLTERMINATE or pkt == SLPacket.SLERROR:
                break
            if pkt.get_type() in (SLPacket.TYPE_SLINF, SLPacket.TYPE_SLINFT):
                continue
            tr = pkt.get_trace()
            out.append((tr.stats.station, pkt.get_sequence_number(), tr))
            if max_packets is not None and len(out) >= max_packets:
                break
    finally:
        conn.close()
    return out


def _merged(traces):
    from obspy import Stream

    st = Stream([t.copy() for t in traces])
    st.merge(method=-1)
    return {tr.id: tr for tr in st}


def test_full_replay_identical_samples(archive, server_thread):
    root, truth = archive
    st = server_thread()
    t0 = min(tr.stats.starttime for tr in truth)
    t1 = max(tr.stats.endtime for tr in truth)
    st.run(st.server.replay_sds, root, speed=float("inf"))
    st.call(st.server.replay_done.wait())
    got = collect(st.server.port, [("XX", f"SL{i}", "???", -1) for i in range(3)],
                  begin=t0 - 1, end=t1 + 60)
    merged = _merged([tr for _, _, tr in got])
    assert set(merged) == {tr.id for tr in truth}
    for tr in truth:
        m = merged[tr.id]
        assert m.stats.starttime == tr.stats.starttime and m.stats.npts == tr.stats.npts
        assert not np.ma.isMaskedArray(m.data)
        np.testing.assert_array_equal(m.data, tr.data)
    # every record once, sequence numbers strictly increasing per station
    for sta in ("SL0", "SL1", "SL2"):
        seqs = [s for name, s, _ in got if name == sta]
        assert len(seqs) == len(set(seqs)) and seqs == sorted(seqs)
    assert st.server.stats.errors == 0 and st.server.stats.packets_sent == len(got)


def test_select_by_stream(archive, server_thread):
    root, truth = archive
    st = server_thread()
    st.run(st.server.replay_sds, root, speed=float("inf"))
    st.call(st.server.replay_done.wait())
    t0 = min(tr.stats.starttime for tr in truth)
    got = collect(st.server.port, [("XX", "SL1", "00HHZ", -1), ("XX", "SL2", "HH?", -1)],
                  begin=t0 - 1, end=t0 + 300)
    ids = {tr.id for _, _, tr in got}
    assert ids == {"XX.SL1.00.HHZ", "XX.SL2.00.HHZ", "XX.SL2.00.HHN", "XX.SL2.00.HHE"}


@pytest.mark.parametrize("speed", [float("inf"), 60.0])
def test_resume_no_gap_no_duplicate_across_restart(archive, server_thread, speed):
    """Disconnect after N packets, restart the server, resume with DATA <seq>: all records exactly once.

    At 60x the restarted replay has not yet reached the client's sequence number when it
    reconnects: the stable numbering lets the server skip what the client already has.
    """
    root, truth = archive
    t0 = min(tr.stats.starttime for tr in truth)
    st = server_thread()
    st.run(st.server.replay_sds, root, speed=float("inf"))
    st.call(st.server.replay_done.wait())
    # a fresh client asks for the archive from its start (TIME), then drops the link after 7 packets
    first = collect(st.server.port, [("XX", "SL0", "???", -1)], begin=t0 - 1, max_packets=7)
    assert len(first) == 7
    last_seq = first[-1][1]
    st.stop()
    st2 = server_thread()  # a new server process on the same archive, replaying from the start again
    n_total = len(st.server.rings[("XX", "SL0")]._items)
    st2.run(st2.server.replay_sds, root, speed=speed)
    rest = collect(st2.server.port, [("XX", "SL0", "???", last_seq)], max_packets=n_total - 7)
    assert len(rest) == n_total - 7
    all_traces = [tr for _, _, tr in first + rest]
    seqs = [s for _, s, _ in first + rest]
    assert len(seqs) == len(set(seqs)) and seqs == sorted(seqs)
    merged = _merged(all_traces)
    for tr in truth.select(station="SL0"):
        np.testing.assert_array_equal(merged[tr.id].data, tr.data)


def test_accelerated_replay_timing(archive, server_thread):
    root, truth = archive
    st = server_thread()
    t_wall = time.monotonic()
    st.run(st.server.replay_sds, root, speed=60.0)
    st.call(st.server.replay_done.wait(), timeout=20)
    elapsed = time.monotonic() - t_wall
    # 120 s of data at 60x: about 2 s (loose bounds: loaded machine, no strict timing)
    assert 1.0 < elapsed < 10.0


def _talk(port, *lines, read_for=0.5):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        out = b""
        for line in lines:
            s.sendall(line)
            time.sleep(0.05)
        s.settimeout(read_for)
        try:
            while chunk := s.recv(65536):
                out += chunk
        except TimeoutError:
            pass
        return out


def test_malformed_commands_answer_error_and_server_stays_up(archive, server_thread):
    root, _ = archive
    st = server_thread()
    st.run(st.server.replay_sds, root, speed=float("inf"))
    st.call(st.server.replay_done.wait())
    port = st.server.port
    bad = [b"FOO\r", b"STATION\r", b"STATION SL0 XX EXTRA\r", b"STATION NOPE XX\r", b"SELECT TOOLONGSEL\r",
           b"DATA zz\r", b"TIME 2024,13,01,00,00,00\r", b"END\r", b"INFO GAPS\r", b"\xff\xfe\r",
           b"X" * 400 + b"\r"]
    out = _talk(port, *bad)
    assert out.count(b"ERROR\r\n") == len(bad)
    assert st.server.stats.errors == len(bad)
    # binary garbage and an abrupt close do not hurt either
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(np.random.default_rng(3).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    hello = _talk(port, b"HELLO\r\n")
    assert hello.startswith(b"SeedLink v3.1 ") and hello.endswith(b"\r\n")
    got = collect(port, [("XX", "SL0", "HHZ", -1)], begin="2024-03-01T08:00:00", max_packets=3)
    assert len(got) == 3


def test_hello_cat_and_info(archive, server_thread):
    from obspy.clients.seedlink.basic_client import Client

    root, _ = archive
    st = server_thread()
    st.run(st.server.replay_sds, root, speed=float("inf"))
    st.call(st.server.replay_done.wait())
    cat = _talk(st.server.port, b"CAT\r")
    assert cat.endswith(b"END") and b"XX SL1" in cat
    client = Client("127.0.0.1", st.server.port, timeout=5)
    assert client.get_info(station="SL*", level="station") == [("XX", f"SL{i}") for i in range(3)]
    chans = client.get_info(network="XX", station="SL2", level="channel")
    assert chans == [("XX", "SL2", "00", c) for c in ("HHE", "HHN", "HHZ")]


def test_easyseedlink_capabilities(archive, server_thread):
    from obspy.clients.seedlink.easyseedlink import EasySeedLinkClient

    root, _ = archive
    st = server_thread()
    st.run(st.server.replay_sds, root, speed=float("inf"))
    st.call(st.server.replay_done.wait())
    c = EasySeedLinkClient(f"127.0.0.1:{st.server.port}", autoconnect=False)
    c.conn.timeout = 5  # ObsPy 1.5.1 fails to connect with the default timeout=None
    c.connect()
    try:
        assert c.has_capability("multistation") and c.has_info_capability("STREAMS")
    finally:
        c.close()


def test_live_feed_forwarding(archive, server_thread):
    """Records fed live (here: 4096-byte records, re-packed to 512) reach a connected client."""
    import io

    _, truth = archive
    st = server_thread()
    tr = truth.select(station="SL1", channel="HHZ")[0].copy()
    buf = io.BytesIO()
    tr.write(buf, format="MSEED", reclen=4096, encoding="STEIM2")
    st.run(st.server.feed, buf.getvalue())
    st.run(st.server.feed, b"garbage that is not miniSEED" * 20)
    assert st.server.stats.records_repacked == 1 and st.server.stats.records_rejected == 1
    n = st.run(lambda: st.server.rings[("XX", "SL1")].total)
    got = collect(st.server.port, [("XX", "SL1", "???", -1)], begin=tr.stats.starttime - 1, max_packets=n)
    merged = _merged([t for _, _, t in got])
    np.testing.assert_array_equal(merged[tr.id].data, tr.data)
    assert [s for _, s, _ in got] == list(range(len(got)))


def test_protocol_tables():
    assert proto.parse_seq("0x1a") == proto.parse_seq("1A") == 26
    sel = proto.parse_selector("00BH?")
    assert sel.matches("00", "BHZ") and not sel.matches("10", "BHZ")
    assert proto.selectors_match((proto.parse_selector("HH?"), proto.parse_selector("!HHE")), "00", "HHN")
    assert not proto.selectors_match((proto.parse_selector("!HHE"),), "00", "HHE")
    assert proto.parse_sl_time("2024,03,01,08,00,20") == 1709280020 * 10**9
    with pytest.raises(proto.ProtocolError):
        proto.parse_selector("ABCD")
    pk = proto.info_packets("<x/>" * 300, 0)
    assert len(pk) == 3 and pk[0][:8] == b"SLINFO *" and pk[-1][:8] == b"SLINFO  "
    assert all(len(p) == 520 for p in pk)
