"""Resilient SeedLink 3 acquisition client (asyncio): reconnect, resume, metrics.

:class:`SeedLinkSource` connects to a SeedLink server, requests the selected
stations in multi-station mode and hands every miniSEED record to a callback.
It implements the small client side of the protocol itself with asyncio
streams instead of running ObsPy's blocking ``SeedLinkConnection`` in a thread:
the protocol is a handful of text commands followed by fixed-size packets, and
owning the loop lets the client control time-outs, back-off, resume and
shutdown precisely. The wire format is the one ObsPy's client speaks
(``obspy.clients.seedlink``, ``SLPacket``) and SeisComP documents ("SeedLink
protocol", v3.1):

* ``HELLO`` -> two text lines; ``STATION sta net`` -> ``OK``; ``SELECT
  LLCCC.T`` -> ``OK``/``ERROR``; ``DATA [seq]`` -> ``OK``; ``END`` starts the
  stream of packets ``"SL"`` + 6 hex digits (24-bit sequence number) + one
  512-byte miniSEED record; ``"SLINFO"`` packets answer INFO requests.
* Resume: ``DATA n`` asks for packets from sequence number ``n``; the client
  sends ``last + 1`` (modulo 2**24), as libslink and ObsPy do.

Packet framing is checked against ObsPy's ``SLPacket`` and the record headers
(:mod:`tianshan.stream.mseed_header`) against ObsPy's reader in the tests.

Guarantees
----------
* **No gap, no duplicate across reconnects.** The last sequence number of each
  station and the expected start of the next record of each stream are kept
  in memory (and in ``state_file``). A reconnect resumes at ``last + 1``; any
  record that lies entirely before the expected next start of its stream
  (a re-sent packet, or a server that restarted with new sequence numbers) is
  dropped and counted as a duplicate, so a sequence reset cannot double data.
* **State file** (the slarchive/ObsPy "statefile" idea): JSON written
  atomically (:func:`tianshan.io.atomic.atomic_write_text`) at most every
  ``state_flush_s`` seconds while data flows, and at every disconnect and on
  stop. The state is advanced only *after* ``on_record`` returned, so a crash
  can at worst re-deliver the records of the last ``state_flush_s`` seconds
  (at-least-once), never skip one; on a graceful stop it is exact.
* **Back-off**: exponential with "equal jitter" (Brooker 2015, AWS
  Architecture Blog, "Exponential Backoff And Jitter"): the n-th consecutive
  failed attempt waits ``d/2 + U(0, d/2)`` with ``d = min(cap, base * 2**n)``,
  so delays stay in ``[base/2, cap]``. A connection that delivered data resets n.
* **END**: a server that has sent all the data a request asked for (a ``TIME`` window or a
  ``FETCH``, or a ``TIME`` request after a finished replay) sends ``END`` instead of the next
  packet header and closes the connection (SeedLink 3: "END" after the last packet of a
  dial-up/window transfer; libslink and ObsPy's client end the collection on it). This is
  not an error: it is counted (``end_of_data``), logged at INFO, and the client either
  stops (``stop_on_end=True``: :meth:`run` returns, the state saved) or waits the back-off
  *cap* (``d/2 + U(0, d/2)`` with ``d = cap``) before asking again, so a finished source is
  polled slowly instead of reconnected in a loop; the failure back-off count is untouched.
* **Bad input** is counted and skipped: packets whose miniSEED header does not
  parse, records of stations that were not requested. A packet header that is
  not ``SL``/``SLINFO`` means the byte stream lost its framing: it is counted
  and the client reconnects and resumes.

Metrics (per stream ``NET.STA.LOC.CHA``): packets, samples, gaps, overlaps,
duplicates, latency (wall clock now - time of the last sample of the last
record, s), completeness (received samples / expected samples over the last
``window_s`` of data time; see :meth:`SeedLinkSource.metrics`); per source:
connected, reconnects, end of data (``END`` answers), bad packets,
unknown-station packets. :meth:`metrics` returns them as a dict; with
``registry=`` (a ``prometheus_client.CollectorRegistry``) they are also
exported as Prometheus gauges and counters, read at scrape time.

The callback ``on_record(record: bytes, stream_id: StreamID, seq: int)`` may
be a plain function or a coroutine function; it is awaited before the next
packet is read (TCP back-pressure). If it raises, :meth:`run` stops and
re-raises after saving the state (the failed record is not marked received, so
it is requested again on the next start).
"""

from __future__ import annotations

import asyncio
import collections
import fnmatch
import inspect
import json
import logging
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable

from tianshan.core.errors import InputError
from tianshan.core.ids import StreamID
from tianshan.io.atomic import atomic_write_text
from tianshan.stream.mseed_header import RecordError, RecordHeader, parse_record_header
from tianshan.stream.seedlink_proto import END, ERROR, HEADER_BYTES, OK, RECORD_BYTES, SEQ_MODULO

log = logging.getLogger(__name__)

_NS = 1_000_000_000
STATE_FORMAT = "tianshan-seedlink-state"
STATE_VERSION = 1

OnRecord = Callable[[bytes, StreamID, int], "Awaitable[None] | None"]


class SeedLinkProtocolError(ConnectionError):
    """The server answered something the SeedLink 3 protocol does not allow."""


class _EndOfData(Exception):
    """The server sent ``END``: every packet the request asked for was sent (not an error)."""


# --------------------------------------------------------------------------- selectors

@dataclass(frozen=True, slots=True)
class StationRequest:
    """One station of a multi-station request: ``NET_STA`` and its SELECT patterns."""

    network: str
    station: str
    selectors: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.network}_{self.station}"

    def matches(self, network: str, station: str) -> bool:
        return fnmatch.fnmatchcase(network, self.network) and fnmatch.fnmatchcase(station, self.station)


def parse_selectors(selectors: list[str] | tuple[str, ...] | str) -> list[StationRequest]:
    """Parse station selectors: ``"XJ_LTA:HH? BH?"``, ``"XJ_LTA"`` (all channels).

    Accepts a list of such strings and/or comma-separated strings (ObsPy's
    ``multiselect`` syntax, ``"XJ_LTA:HH?,XJ_KSH:00HHZ.D"``). Selector
    patterns are SeedLink's ``[!]LLCCC[.T]`` with ``?`` wildcards; they are sent
    as they are, the server interprets them. Raises :class:`InputError`.
    """
    items = [selectors] if isinstance(selectors, str) else list(selectors)
    out: list[StationRequest] = []
    seen: set[str] = set()
    code = re.compile(r"^[A-Z0-9?*]{1,5}$")
    sel = re.compile(r"^!?[A-Z0-9?\-]{0,5}(\.[A-Z?])?$")
    for item in items:
        for part in str(item).split(","):
            part = part.strip()
            if not part:
                continue
            head, _, tail = part.partition(":")
            net, us, sta = head.strip().upper().partition("_")
            if not us or not code.match(net) or len(net) > 2 or not code.match(sta):
                raise InputError(f"bad station selector {part!r} (want NET_STA[:SEL ...])",
                                 field="selectors")
            pats = tuple(p.upper() for p in tail.split())
            for p in pats:
                if not sel.match(p) or p in ("", "!"):
                    raise InputError(f"bad channel selector {p!r} in {part!r} (want [!]LLCCC[.T])",
                                     field="selectors")
            req = StationRequest(net, sta, pats)
            if req.key in seen:
                raise InputError(f"station {req.key} selected twice", field="selectors")
            seen.add(req.key)
            out.append(req)
    if not out:
        raise InputError("no station selected", field="selectors")
    return out


# --------------------------------------------------------------------------- back-off

def backoff_delay(attempt: int, base_s: float, cap_s: float, rng: random.Random | None = None) -> float:
    """Delay (s) before reconnect attempt ``attempt`` (0-based count of consecutive failures).

    Exponential back-off with equal jitter (Brooker 2015, "Exponential Backoff
    And Jitter", AWS Architecture Blog): ``d = min(cap, base * 2**attempt)``,
    delay ``= d/2 + U(0, d/2)``; always within ``[base/2, cap]``.
    """
    if base_s <= 0 or cap_s < base_s:
        raise ValueError(f"backoff: need 0 < base ({base_s}) <= cap ({cap_s})")
    d = min(cap_s, base_s * 2.0 ** min(attempt, 60))
    u = (rng or random).random()
    return d / 2 + u * d / 2


# --------------------------------------------------------------------------- metrics

@dataclass
class _StreamState:
    next_start_ns: int | None = None   # expected start of the next record (resume / dedupe)
    last_end_ns: int | None = None     # time of the last sample received
    first_start_ns: int | None = None  # first record start seen by this process
    packets: int = 0
    samples: int = 0
    gaps: int = 0
    overlaps: int = 0
    duplicates: int = 0
    rate_hz: float = 0.0
    spans: collections.deque = field(default_factory=collections.deque)  # (start_ns, stop_ns)


def _covered_ns(spans, lo: int, hi: int) -> int:
    """Total length of the union of ``spans`` clipped to ``[lo, hi)`` (spans sorted by start)."""
    total = 0
    cur_lo = cur_hi = None
    for s, e in sorted(spans):
        s, e = max(s, lo), min(e, hi)
        if e <= s:
            continue
        if cur_hi is None or s > cur_hi:
            if cur_hi is not None:
                total += cur_hi - cur_lo
            cur_lo, cur_hi = s, e
        else:
            cur_hi = max(cur_hi, e)
    if cur_hi is not None:
        total += cur_hi - cur_lo
    return total


class _PromCollector:
    """Exports a source's metrics to Prometheus at scrape time (custom collector)."""

    def __init__(self, source: "SeedLinkSource") -> None:
        self.source = source

    def describe(self):
        return []

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        m = self.source.metrics()
        server = m["server"]
        per_stream = (
            ("packets", CounterMetricFamily, "tianshan_seedlink_packets",
             "miniSEED records received and delivered"),
            ("samples", CounterMetricFamily, "tianshan_seedlink_samples", "samples received"),
            ("gaps", CounterMetricFamily, "tianshan_seedlink_gaps", "gaps between consecutive records"),
            ("overlaps", CounterMetricFamily, "tianshan_seedlink_overlaps",
             "records partly overlapping the previous one"),
            ("duplicates", CounterMetricFamily, "tianshan_seedlink_duplicates",
             "records already received (dropped)"),
            ("latency_s", GaugeMetricFamily, "tianshan_seedlink_latency_seconds",
             "wall-clock now minus time of the last sample received"),
            ("completeness", GaugeMetricFamily, "tianshan_seedlink_completeness_ratio",
             "received / expected samples over the completeness window"),
        )
        for key, cls, name, doc in per_stream:
            fam = cls(name, doc, labels=["server", "stream"])
            for sid, values in m["streams"].items():
                if values[key] is not None:
                    fam.add_metric([server, sid], values[key])
            yield fam
        for key, cls, name, doc in (
            ("connected", GaugeMetricFamily, "tianshan_seedlink_connected", "1 while streaming"),
            ("reconnects", CounterMetricFamily, "tianshan_seedlink_reconnects",
             "connections lost or failed, followed by a new attempt"),
            ("end_of_data", CounterMetricFamily, "tianshan_seedlink_end_of_data",
             "END answers: the server had sent all the requested data"),
            ("bad_packets", CounterMetricFamily, "tianshan_seedlink_bad_packets",
             "packets dropped: undecodable header or lost framing"),
            ("unknown_station_packets", CounterMetricFamily, "tianshan_seedlink_unknown_packets",
             "packets of stations that were not requested (dropped)"),
        ):
            fam = cls(name, doc, labels=["server"])
            fam.add_metric([server], float(m[key]))
            yield fam


# --------------------------------------------------------------------------- client

class SeedLinkSource:
    """A SeedLink 3 client that reconnects and resumes until stopped.

    Parameters
    ----------
    host, port:
        SeedLink server (port 18000 by convention).
    selectors:
        Station selectors, see :func:`parse_selectors`.
    state_file:
        JSON file holding the resume state (sequence number per station,
        expected next record start per stream); ``None`` keeps it in memory only.
    on_record:
        ``on_record(record: bytes, stream_id: StreamID, seq: int)``, sync or async.
    backoff:
        ``(base_s, cap_s)`` of the reconnect back-off, seconds.
    connect_timeout_s, idle_timeout_s:
        Time-outs for the TCP connect / each handshake reply, and for the wait
        for the next packet once streaming (a silent server is reconnected).
    window_s:
        Completeness window, seconds of data time.
    registry:
        A ``prometheus_client.CollectorRegistry`` to export metrics to (not the
        global one); ``None``: no Prometheus export.
    state_flush_s:
        Longest time between state-file writes while data flows, seconds.
    begin_time:
        For a station with no resume state: request data from this time
        (``TIME begin``, whole seconds) instead of new data only (``DATA``).
        A request with stream times but no sequence number (a wildcard
        station such as ``XJ_*``, whose packets carry the real station codes)
        resumes with ``TIME`` at its streams' earliest expected next start.
    resume_time:
        Append the expected start of the station's next record (whole seconds,
        rounded down) to the resuming ``DATA seq`` command, so that a server
        that no longer knows the sequence number (restarted, renumbered) can
        resume by time; records received twice are dropped by time.
    stop_on_end:
        When the server answers ``END`` (all requested data sent): stop (True) instead of
        asking again after the back-off cap (False, default; a live server gets new data).
    rng:
        ``random.Random`` for the back-off jitter (seed it in tests).
    clock:
        Wall clock in POSIX seconds (``time.time``); injectable for tests.
    """

    def __init__(self, host: str, port: int, selectors, *, on_record: OnRecord,
                 state_file: str | Path | None = None, backoff: tuple[float, float] = (1.0, 60.0),
                 connect_timeout_s: float = 10.0, idle_timeout_s: float = 120.0,
                 window_s: float = 60.0, registry=None, state_flush_s: float = 1.0,
                 begin_time=None, resume_time: bool = True, stop_on_end: bool = False,
                 rng: random.Random | None = None, clock: Callable[[], float] = time.time) -> None:
        self.host, self.port = host, int(port)
        self.requests = parse_selectors(selectors)
        self.on_record = on_record
        self._async_cb = inspect.iscoroutinefunction(on_record)
        self.state_file = Path(state_file) if state_file is not None else None
        backoff_delay(0, *backoff)  # validates
        self.backoff = (float(backoff[0]), float(backoff[1]))
        self.connect_timeout_s = float(connect_timeout_s)
        self.idle_timeout_s = float(idle_timeout_s)
        self.window_ns = int(window_s * _NS)
        self.state_flush_s = float(state_flush_s)
        self.begin_ns = None
        if begin_time is not None:
            from tianshan.core.timeutil import as_utc

            self.begin_ns = int(as_utc(begin_time, "begin_time").timestamp()) * _NS
        self.resume_time = bool(resume_time)
        self.stop_on_end = bool(stop_on_end)
        self._rng = rng or random.Random()
        self._clock = clock
        self._seq: dict[str, int] = {}          # NET_STA -> last sequence number received
        self._streams: dict[str, _StreamState] = {}
        self.reconnects = 0
        self.end_of_data = 0
        self.bad_packets = 0
        self.unknown_station_packets = 0
        self.connected = False
        self.delays: list[float] = []           # back-off delays actually waited (for inspection)
        self._stop = asyncio.Event()  # bound to a loop only when first awaited (Python >= 3.10)
        self._known: dict[str, bool] = {}      # NET_STA -> requested?
        self._session_delivered = 0
        self._writer: asyncio.StreamWriter | None = None
        self._dirty = False
        self._last_flush = 0.0
        self._load_state()
        self._collector = None
        if registry is not None:
            self._collector = _PromCollector(self)
            registry.register(self._collector)

    # ------------------------------------------------------------------ state file
    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"

    def _load_state(self) -> None:
        if self.state_file is None or not self.state_file.exists():
            return
        src = str(self.state_file)
        try:
            doc = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise InputError(f"unreadable SeedLink state file: {err}", source=src) from None
        if not isinstance(doc, dict) or doc.get("format") != STATE_FORMAT:
            raise InputError(f"not a SeedLink state file (format != {STATE_FORMAT!r})", source=src)
        try:
            streams = {str(StreamID.parse(k)): int(v["next_start_ns"])
                       for k, v in doc.get("streams", {}).items()}
            seqs = {str(k): int(v["seq"]) % SEQ_MODULO for k, v in doc.get("stations", {}).items()}
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise InputError(f"bad entry in SeedLink state file: {err}", source=src) from None
        for sid, ns in streams.items():
            self._streams.setdefault(sid, _StreamState()).next_start_ns = ns
        if doc.get("server") == self.server:
            self._seq.update(seqs)
        else:  # sequence numbers belong to one server; stream times still prevent duplicates
            log.warning("state file %s was written for server %s, not %s: not resuming by "
                        "sequence number", src, doc.get("server"), self.server)

    def state(self) -> dict:
        """The resume state as written to the state file."""
        return {"format": STATE_FORMAT, "version": STATE_VERSION, "server": self.server,
                "stations": {k: {"seq": v} for k, v in sorted(self._seq.items())},
                "streams": {k: {"next_start_ns": s.next_start_ns}
                            for k, s in sorted(self._streams.items()) if s.next_start_ns is not None}}

    def save_state(self) -> None:
        """Write the state file now (atomic replace); no-op without ``state_file``."""
        if self.state_file is not None:
            atomic_write_text(self.state_file, json.dumps(self.state(), indent=1) + "\n")
        self._dirty = False
        self._last_flush = time.monotonic()

    # ------------------------------------------------------------------ metrics
    def metrics(self) -> dict:
        """Current metrics.

        ``streams[sid]``: ``packets``, ``samples``, ``gaps``, ``overlaps``,
        ``duplicates``, ``last_end`` (ns), ``latency_s`` (wall clock now - last
        sample time), ``completeness`` (received samples / expected samples over
        the ``window_s`` of data time ending at the newest sample received on
        this connection by any stream, or since the stream's first record when
        that is later; a record still being filled at the station counts as
        missing, so live values just below 1 are normal). Source level:
        ``server``, ``connected``, ``reconnects``, ``end_of_data``, ``bad_packets``,
        ``unknown_station_packets``.
        """
        now = self._clock()
        ends = [s.spans[-1][1] for s in self._streams.values() if s.spans]
        ref = max(ends) if ends else None
        streams = {}
        for sid, s in sorted(self._streams.items()):
            latency = None if s.last_end_ns is None else now - s.last_end_ns / _NS
            comp = None
            if ref is not None and s.first_start_ns is not None:
                lo = max(ref - self.window_ns, s.first_start_ns)
                if ref > lo:
                    comp = min(1.0, _covered_ns(s.spans, lo, ref) / (ref - lo))
            streams[sid] = {"packets": s.packets, "samples": s.samples, "gaps": s.gaps,
                            "overlaps": s.overlaps, "duplicates": s.duplicates,
                            "last_end": s.last_end_ns, "latency_s": latency, "completeness": comp}
        return {"server": self.server, "connected": int(self.connected), "reconnects": self.reconnects,
                "end_of_data": self.end_of_data, "bad_packets": self.bad_packets,
                "unknown_station_packets": self.unknown_station_packets, "streams": streams}

    # ------------------------------------------------------------------ running
    def stop(self) -> None:
        """Ask :meth:`run` to finish (also before it started): the connection is closed, the state saved.

        A stopped source does not run again; make a new one (same ``state_file``) to resume.
        """
        self._stop.set()
        if self._writer is not None:
            self._writer.close()

    async def run(self) -> None:
        """Connect, stream, and reconnect with back-off until :meth:`stop` is called (or, with
        ``stop_on_end``, until the server answers ``END``)."""
        attempt = 0
        try:
            while not self._stop.is_set():
                ended = False
                try:
                    await self._session()
                except _EndOfData:
                    ended = True
                except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                        SeedLinkProtocolError) as err:
                    if not self._stop.is_set():
                        log.warning("seedlink %s: %s: %s", self.server, type(err).__name__, err)
                finally:
                    self.connected = False
                    self._writer = None
                    if self._dirty:
                        self.save_state()
                if self._stop.is_set():
                    break
                if self._session_delivered:
                    attempt = 0
                if ended:
                    self.end_of_data += 1
                    if self.stop_on_end:
                        log.info("seedlink %s: END, all requested data received (%d records in the last "
                                 "connection); stopping", self.server, self._session_delivered)
                        break
                    delay = backoff_delay(1 << 30, *self.backoff, rng=self._rng)  # at the cap
                    log.info("seedlink %s: END, all requested data received (%d records in the last "
                             "connection); asking again in %.1f s", self.server, self._session_delivered, delay)
                else:
                    self.reconnects += 1
                    delay = backoff_delay(attempt, *self.backoff, rng=self._rng)
                    attempt += 1
                    log.info("seedlink %s: reconnecting in %.1f s (%d records in the last connection)",
                             self.server, delay, self._session_delivered)
                self.delays.append(delay)
                try:
                    await asyncio.wait_for(self._stop.wait(), delay)
                except asyncio.TimeoutError:
                    pass
        finally:
            self.connected = False
            self.save_state()

    async def _command(self, reader, writer, line: str) -> bytes:
        writer.write(line.encode("ascii") + b"\r\n")
        await writer.drain()
        return await asyncio.wait_for(reader.readline(), self.connect_timeout_s)

    async def _session(self) -> int:
        self._session_delivered = 0
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), self.connect_timeout_s)
        self._writer = writer
        try:
            if self._stop.is_set():
                return 0
            hello = await self._command(reader, writer, "HELLO")
            desc = await asyncio.wait_for(reader.readline(), self.connect_timeout_s)
            if not hello.startswith(b"SeedLink"):
                raise SeedLinkProtocolError(f"bad HELLO reply {hello[:80]!r}")
            log.debug("seedlink %s: %s / %s", self.server, hello.strip(), desc.strip())
            accepted = 0
            for req in self.requests:
                accepted += await self._negotiate(reader, writer, req)
            if not accepted:
                raise SeedLinkProtocolError("server accepted none of the requested stations")
            writer.write(b"END\r\n")
            await writer.drain()
            self.connected = True
            while not self._stop.is_set():
                try:
                    head = await asyncio.wait_for(reader.readexactly(HEADER_BYTES), self.idle_timeout_s)
                except asyncio.IncompleteReadError as err:
                    if err.partial.startswith(END):  # "END" then the server closed: all data sent
                        raise _EndOfData() from None
                    raise
                if head.startswith(END):  # END and more bytes before the close
                    raise _EndOfData()
                if head[:6] == b"SLINFO":
                    await asyncio.wait_for(reader.readexactly(RECORD_BYTES), self.idle_timeout_s)
                    continue
                seq = _packet_seq(head)
                if seq is None:
                    self.bad_packets += 1
                    raise SeedLinkProtocolError(f"lost packet framing (header {head!r})")
                body = await asyncio.wait_for(reader.readexactly(RECORD_BYTES), self.idle_timeout_s)
                await self._handle(seq, body)
            return self._session_delivered
        finally:
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), 1.0)
            except (OSError, asyncio.TimeoutError):
                pass

    async def _negotiate(self, reader, writer, req: StationRequest) -> int:
        reply = await self._command(reader, writer, f"STATION {req.station} {req.network}")
        if reply != OK:
            log.warning("seedlink %s: station %s refused (%r)", self.server, req.key, reply.strip())
            return 0
        ok = 0
        for pat in req.selectors:
            reply = await self._command(reader, writer, f"SELECT {pat}")
            if reply == OK:
                ok += 1
            elif reply == ERROR:
                log.warning("seedlink %s: selector %s of %s refused", self.server, pat, req.key)
            else:
                raise SeedLinkProtocolError(f"bad SELECT reply {reply[:80]!r}")
        if req.selectors and not ok:
            log.warning("seedlink %s: no selector of %s accepted", self.server, req.key)
            return 0
        last = self._seq.get(req.key)
        resume_ns = self._station_resume_ns(req)
        if last is not None:
            cmd = f"DATA {(last + 1) % SEQ_MODULO:06X}"
            if self.resume_time and resume_ns is not None:
                cmd += " " + _sl_time(resume_ns)
            reply = await self._command(reader, writer, cmd)
            if reply == OK:
                return 1
            log.warning("seedlink %s: resume of %s at %06X refused; requesting next available data "
                        "(stream times prevent duplicates)", self.server, req.key, last + 1)
        elif resume_ns is not None or self.begin_ns is not None:
            # no sequence number to resume from (wildcard request, new server): resume by time
            begin = resume_ns if resume_ns is not None else self.begin_ns
            reply = await self._command(reader, writer, f"TIME {_sl_time(begin)}")
            if reply == OK:
                return 1
            log.warning("seedlink %s: TIME for %s refused; requesting next available data",
                        self.server, req.key)
        reply = await self._command(reader, writer, "DATA")
        if reply != OK:
            log.warning("seedlink %s: DATA for %s refused (%r)", self.server, req.key, reply.strip())
            return 0
        return 1

    def _station_resume_ns(self, req: StationRequest) -> int | None:
        times = [s.next_start_ns for sid, s in self._streams.items() if s.next_start_ns is not None
                 and fnmatch.fnmatchcase(sid, f"{req.network}.{req.station}.*")]
        return min(times) if times else None

    async def _handle(self, seq: int, body: bytes) -> None:
        try:
            hdr = parse_record_header(body)
        except RecordError as err:
            self.bad_packets += 1
            log.debug("seedlink %s: bad record seq %06X: %s", self.server, seq, err)
            return
        sid = hdr.stream_id
        key = f"{sid.network}_{sid.station}"
        known = self._known.get(key)
        if known is None:
            known = self._known[key] = any(r.matches(sid.network, sid.station) for r in self.requests)
        if not known:
            self.unknown_station_packets += 1
            return
        name = str(sid)
        st = self._streams.get(name)
        if st is None:
            st = self._streams[name] = _StreamState()
        tol = _half_sample_ns(hdr)
        if (hdr.n_samples > 0 and st.next_start_ns is not None
                and hdr.next_start_ns <= st.next_start_ns + tol):
            st.duplicates += 1  # every sample of it was received already
            self._commit_seq(key, seq)
            return
        if self._async_cb:
            await self.on_record(body, sid, seq)
        else:
            res = self.on_record(body, sid, seq)
            if inspect.isawaitable(res):
                await res
        self._session_delivered += 1
        if st.next_start_ns is not None and hdr.n_samples > 0:
            if hdr.start_ns > st.next_start_ns + tol:
                st.gaps += 1
            elif hdr.start_ns < st.next_start_ns - tol:
                st.overlaps += 1
        st.packets += 1
        st.samples += hdr.n_samples
        if hdr.n_samples > 0:
            st.next_start_ns = max(hdr.next_start_ns, st.next_start_ns or hdr.next_start_ns)
            st.last_end_ns = max(hdr.end_ns, st.last_end_ns or hdr.end_ns)
            if st.first_start_ns is None:
                st.first_start_ns = hdr.start_ns
            st.spans.append((hdr.start_ns, hdr.next_start_ns))
            horizon = st.next_start_ns - 2 * self.window_ns
            while st.spans and st.spans[0][1] < horizon:
                st.spans.popleft()
        self._commit_seq(key, seq)

    def _commit_seq(self, key: str, seq: int) -> None:
        self._seq[key] = seq
        self._dirty = True
        if time.monotonic() - self._last_flush >= self.state_flush_s:
            self.save_state()


def _sl_time(ns: int) -> str:
    """SeedLink time ``YYYY,MM,DD,hh,mm,ss`` (whole seconds, rounded down) of ``ns`` since the epoch."""
    return time.strftime("%Y,%m,%d,%H,%M,%S", time.gmtime(ns // _NS))


def _half_sample_ns(hdr: RecordHeader) -> int:
    return int(_NS / hdr.sample_rate_hz / 2) if hdr.sample_rate_hz > 0 else 0


def _packet_seq(head: bytes) -> int | None:
    """Sequence number of a SeedLink data packet header ``SL`` + 6 hex digits, else None."""
    if head[:2] != b"SL":
        return None
    digits = head[2:8]
    if len(digits) != 6 or any(c not in b"0123456789ABCDEFabcdef" for c in digits):
        return None
    return int(digits, 16)
