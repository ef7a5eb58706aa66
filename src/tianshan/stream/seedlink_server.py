"""SeedLink 3 server (asyncio): replays an SDS archive in real time or faster, forwards live records.

Protocol: see :mod:`tianshan.stream.seedlink_proto` (SeisComP's SeedLink v3.1
description and ObsPy's reference client). Supported: ``HELLO``, ``CAT``,
``BYE``, ``STATION sta [net]`` (``*``/``?`` wildcards), ``SELECT [pattern]``,
``DATA [seq [time]]``, ``FETCH [seq [time]]``, ``TIME begin [end]``, ``END``
(multi-station mode), ``INFO ID|CAPABILITIES|STATIONS|STREAMS`` (also during
streaming, as ObsPy's keep-alive does). Uni-station mode: an action command
without a preceding ``STATION`` starts the transfer of every station at once.

Sources:

* :meth:`SeedLinkServer.replay_sds` releases each archive record when the
  replay clock (``start + speed * elapsed wall time``) passes its last
  sample, so the stream looks as if it came from the digitisers; packets get
  stable sequence numbers (:mod:`tianshan.stream.seedlink_rings`), so a client
  can resume across server restarts.
* :meth:`SeedLinkServer.feed` takes live miniSEED records (forwarding) and
  numbers them per station from 0.

Malformed commands are answered ``ERROR`` and counted in
:attr:`SeedLinkServer.stats`; corrupt fed records are dropped and counted; the
server stays up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from xml.sax.saxutils import quoteattr

from tianshan import __version__
from tianshan.stream.mseed_header import RecordError
from tianshan.stream.seedlink_proto import (CAPABILITIES, END, ERROR, INFO_LEVELS, MAX_LINE_BYTES, OK,
                                            PROTOCOL_VERSION, ProtocolError, Selector, check_code, data_packet,
                                            format_sl_time, info_packets, parse_selector, parse_seq, parse_sl_time,
                                            selectors_match)
from tianshan.stream.seedlink_rings import (ArchivePacket, Packet, StationRing, load_sds, packet_type,
                                            seq_after_or_at, split_records)

log = logging.getLogger(__name__)
_NS = 1_000_000_000


@dataclass
class ServerStats:
    """Counters of one server (exposed for metrics and tests)."""

    connections: int = 0
    commands: int = 0
    errors: int = 0           # commands answered ERROR (malformed, unknown, out of place)
    packets_sent: int = 0
    records_fed: int = 0
    records_rejected: int = 0  # fed records that were not valid miniSEED
    records_repacked: int = 0  # non-512-byte inputs re-packed
    archive_skipped: int = 0   # corrupt archive records skipped at load
    overruns: int = 0          # clients that fell behind the ring and lost packets
    active: int = 0


@dataclass
class _Request:
    """One ``STATION`` of a client: patterns, selectors and action."""

    network: str
    station: str
    selectors: list[Selector] = field(default_factory=list)
    action: str | None = None       # DATA, FETCH, TIME
    seq: int | None = None
    begin_ns: int | None = None
    end_ns: int | None = None

    def matches(self, ring: StationRing) -> bool:
        return fnmatchcase(ring.network, self.network) and fnmatchcase(ring.station, self.station)


class _Cursor:
    """Where one client stands in one ring."""

    __slots__ = ("ring", "req", "pos", "min_seq", "done")

    def __init__(self, ring: StationRing, req: _Request) -> None:
        self.ring, self.req, self.min_seq, self.done = ring, req, None, False
        if req.seq is not None:
            pos = ring.find_seq(req.seq)
            if pos is None and (prev := ring.find_seq((req.seq - 1) % (1 << 24))) is not None:
                pos = prev + 1
            if pos is None:
                if ring.stable:  # archive numbering: skip what the client already has, wait for the rest
                    pos, self.min_seq = ring.first, req.seq
                    log.info("resume: %s.%s seq %06X not released yet; waiting for it", ring.network,
                             ring.station, req.seq)
                else:
                    pos = ring.first if req.begin_ns is None else ring.first_at_or_after(req.begin_ns)
        elif req.begin_ns is not None:
            pos = ring.first_at_or_after(req.begin_ns)
        elif req.action == "FETCH":
            pos = ring.first
        else:
            pos = ring.total  # DATA without a sequence number: new packets only
        self.pos = pos


class SeedLinkServer:
    """An asyncio SeedLink v3 server over :class:`StationRing` s.

    ``await start()`` binds (``port=0``: an ephemeral port, read back from
    :attr:`port`); ``await close()`` stops it. Use from one event loop.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 18000, *, ring_size: int = 100_000,
                 organization: str = "Tianshan") -> None:
        self.host, self.port, self.ring_size, self.organization = host, port, ring_size, organization
        self.rings: dict[tuple[str, str], StationRing] = {}
        self.stats = ServerStats()
        self.started_ns = time.time_ns()
        self._server: asyncio.AbstractServer | None = None
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.replay_done = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> SeedLinkServer:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, limit=1 << 16)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("SeedLink server listening on %s:%d", self.host, self.port)
        return self

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        if self._server is not None:
            self._server.close()
        for w in list(self._writers):
            w.close()
        if self._server is not None:
            await self._server.wait_closed()
        for t in list(self._tasks):
            try:
                await t
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - shutting down
                pass

    async def __aenter__(self) -> SeedLinkServer:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def _notify(self) -> None:
        self._wake.set()
        self._wake = asyncio.Event()

    # ------------------------------------------------------------------ sources
    def _ring(self, net: str, sta: str, stable: bool) -> StationRing:
        ring = self.rings.get((net, sta))
        if ring is None:
            ring = self.rings[(net, sta)] = StationRing(net, sta, capacity=self.ring_size, stable=stable)
        return ring

    def feed(self, data: bytes) -> list[int]:
        """Add live miniSEED (one or more records of any length) for forwarding.

        Returns the sequence numbers given; invalid bytes are dropped and
        counted in ``stats.records_rejected`` (never raised).
        """
        try:
            recs = split_records(bytes(data), "fed record")
        except RecordError as err:
            self.stats.records_rejected += 1
            log.warning("dropped fed record: %s", err)
            return []
        if b"".join(r for r, _ in recs) != bytes(data):
            self.stats.records_repacked += 1
        seqs = []
        for rec, hdr in recs:
            sid = hdr.stream_id
            ring = self._ring(sid.network, sid.station, stable=False)
            seq = ring.next_seq
            ring.append(Packet(seq, sid.location, sid.channel, packet_type(hdr), hdr.start_ns, hdr.end_ns, rec))
            seqs.append(seq)
        self.stats.records_fed += len(recs)
        self._notify()
        return seqs

    def add_archive_packets(self, packets: list[ArchivePacket]) -> None:
        """Append archive packets (stable sequence numbers) to their rings now."""
        for a in packets:
            self._ring(a.network, a.station, stable=True).append(a.packet)
        if packets:
            self._notify()

    def load_sds(self, root, start_ns: int | None = None, end_ns: int | None = None) -> list[ArchivePacket]:
        """Read the archive (see :func:`load_sds`); creates the rings so clients can select stations."""
        packets, skipped = load_sds(root, start_ns, end_ns)
        self.stats.archive_skipped += skipped
        for a in packets:
            self._ring(a.network, a.station, stable=True)
        return packets

    def replay_sds(self, root, start_ns: int | None = None, speed: float = 1.0,
                   end_ns: int | None = None) -> asyncio.Task:
        """Start replaying the SDS archive at ``root`` from ``start_ns`` at ``speed`` x real time.

        Records ending before ``start_ns`` are put in the rings at once (history a
        client can fetch or resume from); the others when the replay clock passes
        their last sample. ``speed=float('inf')`` releases everything at once.
        Returns the task; :attr:`replay_done` is set when all is released.
        """
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        packets = self.load_sds(root, start_ns, end_ns)
        if start_ns is None:
            start_ns = min((a.packet.start_ns for a in packets), default=0)
        if end_ns is not None:
            packets = [a for a in packets if a.packet.start_ns <= end_ns]
        task = asyncio.get_running_loop().create_task(self._replay(packets, start_ns, speed))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _replay(self, packets: list[ArchivePacket], start_ns: int, speed: float) -> None:
        i = 0
        n = len(packets)
        while i < n and packets[i].packet.end_ns <= start_ns:
            i += 1
        self.add_archive_packets(packets[:i])
        t0 = time.monotonic()
        while i < n:
            now_ns = start_ns + (time.monotonic() - t0) * speed * _NS
            j = i
            while j < n and packets[j].packet.end_ns <= now_ns:
                j += 1
            if j > i:
                self.add_archive_packets(packets[i:j])
                i = j
                continue
            wait = (packets[i].packet.end_ns - now_ns) / _NS / speed
            await asyncio.sleep(min(max(wait, 0.0005), 0.5))
        for key in {(a.network, a.station) for a in packets}:
            self.rings[key].finished = True
        self.replay_done.set()
        self._notify()

    # ------------------------------------------------------------------ connections
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        self.stats.active += 1
        self._writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await _Session(self, reader, writer).run()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass
        except Exception:  # noqa: BLE001 - one bad connection must not take the server down
            log.exception("SeedLink connection failed")
        finally:
            self.stats.active -= 1
            self._writers.discard(writer)
            if task is not None:
                self._tasks.discard(task)
            writer.close()

    # ------------------------------------------------------------------ INFO documents
    def info_xml(self, level: str) -> str:
        software = f"SeedLink v{PROTOCOL_VERSION} (Tianshan {__version__})"
        head = (f'<?xml version="1.0"?>\n<seedlink software={quoteattr(software)} '
                f'organization={quoteattr(self.organization)} started="{format_sl_time(self.started_ns)}"')
        if level == "ID":
            return head + "/>"
        body = []
        if level == "CAPABILITIES":
            body = [f'<capability name="{c}"/>' for c in CAPABILITIES]
        else:
            for (net, sta), ring in sorted(self.rings.items()):
                attrs = (f'<station name="{sta}" network="{net}" description="" begin_seq="{ring.begin_seq:06X}" '
                         f'end_seq="{ring.end_seq:06X}" stream_check="enabled"')
                if level == "STATIONS":
                    body.append(attrs + "/>")
                    continue
                body.append(attrs + ">")
                for (loc, cha, typ), (t0, t1) in sorted(ring.streams.items()):
                    body.append(f'<stream location="{loc}" seedname="{cha}" type="{typ}" '
                                f'begin_time="{format_sl_time(t0)}" end_time="{format_sl_time(t1)}" '
                                'begin_recno="0" end_recno="0" gap_check="disabled" gap_treshold="0"/>')
                body.append("</station>")
        return head + ">\n" + "\n".join(body) + "\n</seedlink>"


class _Session:
    """One client connection: command negotiation, then packet streaming."""

    def __init__(self, server: SeedLinkServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server, self.reader, self.writer = server, reader, writer
        self.requests: list[_Request] = []
        self.current: _Request | None = None
        self.uni = _Request("*", "*")
        self.streaming = False
        self.closing = False
        self._buf = b""

    async def _lines(self):
        """Yield command lines (terminated by CR, LF or CRLF); over-long lines become ``None``."""
        while True:
            while True:
                cut = [i for i in (self._buf.find(b"\r"), self._buf.find(b"\n")) if i >= 0]
                if not cut:
                    break
                i = min(cut)
                line, self._buf = self._buf[:i], self._buf[i + 1:]
                if line.strip():
                    yield line if len(line) <= MAX_LINE_BYTES else None
            if len(self._buf) > MAX_LINE_BYTES:
                self._buf = b""
                yield None
            chunk = await self.reader.read(4096)
            if not chunk:
                return
            self._buf += chunk

    def _error(self, why: str) -> None:
        self.server.stats.errors += 1
        log.info("SeedLink command refused: %s", why)
        self.writer.write(ERROR)

    async def run(self) -> None:
        lines = self._lines()
        streamer: asyncio.Task | None = None
        try:
            async for line in lines:
                self.server.stats.commands += 1
                if line is None:
                    self._error("command line too long")
                    continue
                try:
                    text = line.decode("ascii").strip()
                except UnicodeDecodeError:
                    self._error("non-ASCII command")
                    continue
                verb, _, arg = text.partition(" ")
                verb, arg = verb.upper(), arg.strip()
                if verb == "BYE":
                    break
                try:
                    start = self._command(verb, arg)
                except ProtocolError as err:
                    self._error(str(err))
                    start = False
                await self.writer.drain()
                if start and streamer is None:
                    self.streaming = True
                    streamer = asyncio.get_running_loop().create_task(self._stream())
                if streamer is not None and streamer.done():
                    break
        finally:
            if streamer is not None:
                streamer.cancel()
                try:
                    await streamer
                except (asyncio.CancelledError, ConnectionError):
                    pass

    def _command(self, verb: str, arg: str) -> bool:
        """Handle one command; return True when data transfer must start."""
        w = self.writer
        srv = self.server
        if verb == "HELLO":
            w.write(f"SeedLink v{PROTOCOL_VERSION} (Tianshan {__version__}) :: SLPROTO:{PROTOCOL_VERSION} "
                    f"CAP MULTISTATION NSWILDCARD\r\n{srv.organization}\r\n".encode("ascii", "replace"))
        elif verb == "INFO":
            level = arg.upper()
            if level not in INFO_LEVELS:
                raise ProtocolError(f"INFO level {arg!r} not supported")
            for pkt in info_packets(srv.info_xml(level), time.time_ns()):
                w.write(pkt)
        elif self.streaming:
            raise ProtocolError(f"{verb} not allowed during data transfer")
        elif verb == "CAT":
            rows = [f"{net:<2} {sta:<5} {sta}\r\n" for (net, sta) in sorted(srv.rings)]
            w.write(("".join(rows) + "END").encode("ascii"))
        elif verb == "STATION":
            parts = arg.split()
            if not 1 <= len(parts) <= 2:
                raise ProtocolError("STATION needs a station code and optionally a network code")
            req = _Request(check_code(parts[1], "network") if len(parts) == 2 else "*",
                           check_code(parts[0], "station"))
            if not any(req.matches(r) for r in srv.rings.values()):
                self.current = None
                raise ProtocolError(f"station {arg!r} not served")
            self.current = req
            self.requests.append(req)
            w.write(OK)
        elif verb == "SELECT":
            target = self.current or self.uni
            if not arg:
                target.selectors.clear()
            else:
                target.selectors.append(parse_selector(arg))
            w.write(OK)
        elif verb in ("DATA", "FETCH", "TIME"):
            target = self.current or self.uni
            parts = arg.split()
            if verb == "TIME":
                if not 1 <= len(parts) <= 2:
                    raise ProtocolError("TIME needs a begin time and optionally an end time")
                target.begin_ns = parse_sl_time(parts[0])
                target.end_ns = parse_sl_time(parts[1]) if len(parts) == 2 else None
                target.seq = None
            else:
                if len(parts) > 2:
                    raise ProtocolError(f"{verb} takes at most a sequence number and a time")
                target.seq = parse_seq(parts[0]) if parts else None
                target.begin_ns = parse_sl_time(parts[1]) if len(parts) == 2 else None
                target.end_ns = None
            target.action = verb
            if self.current is None:  # uni-station mode: the transfer starts now, no reply
                self.requests = [self.uni]
                return True
            w.write(OK)
        elif verb == "END":
            if not self.requests:
                raise ProtocolError("END without any accepted STATION")
            for r in self.requests:
                if r.action is None:
                    r.action = "DATA"
            return True
        else:
            raise ProtocolError(f"unknown command {verb!r}")
        return False

    async def _stream(self) -> None:
        """Send packets of every requested station as they arrive; END after FETCH/TIME windows."""
        srv, w = self.server, self.writer
        cursors: dict[tuple[int, tuple[str, str]], _Cursor] = {}
        finite = all(r.action in ("FETCH", "TIME") for r in self.requests)
        while True:
            wake = srv._wake
            for ri, req in enumerate(self.requests):
                for key, ring in list(srv.rings.items()):
                    if (ri, key) not in cursors and req.matches(ring):
                        cursors[(ri, key)] = _Cursor(ring, req)
            sent = 0
            for cur in cursors.values():
                if cur.done:
                    continue
                ring, req = cur.ring, cur.req
                if cur.pos < ring.first:
                    srv.stats.overruns += 1
                    cur.pos = ring.first
                sels = tuple(req.selectors)
                while cur.pos < ring.total:
                    pkt = ring.get(cur.pos)
                    cur.pos += 1
                    if cur.min_seq is not None:
                        if not seq_after_or_at(pkt.seq, cur.min_seq):
                            continue
                        cur.min_seq = None
                    if req.end_ns is not None and pkt.start_ns >= req.end_ns:
                        cur.done = True
                        break
                    if req.begin_ns is not None and pkt.end_ns < req.begin_ns:
                        continue
                    if not selectors_match(sels, pkt.location, pkt.channel, pkt.type):
                        continue
                    w.write(data_packet(pkt.seq, pkt.record))
                    sent += 1
                    if sent % 256 == 0:
                        await w.drain()
                if cur.pos >= ring.total and (req.action == "FETCH" or ring.finished):
                    cur.done = req.action in ("FETCH", "TIME")
            srv.stats.packets_sent += sent
            if w.is_closing():
                return
            await w.drain()
            if finite and cursors and all(c.done for c in cursors.values()):
                w.write(END)
                await w.drain()
                w.close()  # the client disconnects on END; closing ends our command loop too
                return
            try:
                await asyncio.wait_for(wake.wait(), timeout=1.0)
            except asyncio.TimeoutError:
                pass
