"""Raw data packets: the acquisition gate, packets over the bus, and the bus -> buffer intake.

Every record that enters the daemon passes :class:`RecordGate` first, whatever its source
(SeedLink, MQTT converted to records, or the bus from an acquisition process):

* a record that is not one whole miniSEED 2 record of ``record_length`` bytes (header does
  not parse, wrong length) is dropped (``malformed``);
* a stream that is not in the inventory is dropped (``unknown_stream``): the daemon works on
  the network it was configured with, and a misrouted feed must not fill the archive;
* a record whose last sample lies more than ``max_future_s`` ahead of the wall clock
  (``rejected_future``), or, with ``max_past_s`` set, more than that behind it
  (``rejected_past``), is dropped: a station clock that jumped must not create day files in
  the wrong year nor confuse the pickers (the ring buffers apply the same rule, counted there
  too for data that arrive otherwise).

Nothing here raises for bad data; every drop is counted in :class:`GateCounters` (exported
by the metrics) and logged at debug level.

On the bus a packet is one raw record on ``tianshan.packets.<net>.<sta>``
(:func:`tianshan.bus.subjects.packets`) with the key ``pkt:<stream id>:<record start ns>``
(:func:`packet_key`), so a record re-sent after a reconnect or a restart is delivered once
(bus key dedupe). :class:`PacketIntake` is the consumer side: a bus handler that puts the
records into a :class:`~tianshan.stream.buffers.BufferSet` (the buffer counts corrupt and
unknown records; a payload is never "bad" for the bus, so nothing is redelivered).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import Callable

from tianshan.core.ids import StreamID
from tianshan.stream.mseed_header import RecordError, RecordHeader, parse_record_header

log = logging.getLogger(__name__)

_NS = 1_000_000_000
RECORD_BYTES = 512


@dataclass
class GateCounters:
    """Records seen by the gate and what became of them."""

    received: int = 0
    accepted: int = 0
    malformed: int = 0
    unknown_stream: int = 0
    rejected_future: int = 0
    rejected_past: int = 0

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    @property
    def dropped(self) -> int:
        return self.received - self.accepted


class RecordGate:
    """Decide whether a raw record may enter the daemon (see the module docstring).

    ``known``: stream ids of the inventory (None: every stream is known); ``clock``: POSIX seconds.
    """

    def __init__(self, known: set[StreamID] | None, *, max_future_s: float = 60.0,
                 max_past_s: float | None = None, record_length: int = RECORD_BYTES,
                 clock: Callable[[], float] = time.time) -> None:
        self.known = known
        self.max_future_ns = int(max_future_s * _NS)
        self.max_past_ns = None if max_past_s is None else int(max_past_s * _NS)
        self.record_length = record_length
        self.clock = clock
        self.counters = GateCounters()

    def check(self, record: bytes) -> RecordHeader | None:
        """The record's header when it may pass, else None (counted)."""
        c = self.counters
        c.received += 1
        if len(record) != self.record_length:
            c.malformed += 1
            log.debug("record of %d bytes dropped (want %d)", len(record), self.record_length)
            return None
        try:
            h = parse_record_header(record)
        except RecordError as err:
            c.malformed += 1
            log.debug("malformed record dropped: %s", err)
            return None
        if h.record_length_bytes != self.record_length:
            c.malformed += 1
            return None
        if self.known is not None and h.stream_id not in self.known:
            c.unknown_stream += 1
            log.debug("record of unknown stream %s dropped", h.stream_id)
            return None
        now = int(self.clock() * _NS)
        if h.end_ns > now + self.max_future_ns:
            c.rejected_future += 1
            log.debug("record of %s ending %.0f s in the future dropped", h.stream_id, (h.end_ns - now) / _NS)
            return None
        if self.max_past_ns is not None and h.end_ns < now - self.max_past_ns:
            c.rejected_past += 1
            return None
        c.accepted += 1
        return h


def packet_key(header: RecordHeader) -> str:
    """Bus dedupe key of a record: ``pkt:<stream id>:<record start ns>``."""
    return f"pkt:{header.stream_id}:{header.start_ns}"


@dataclass
class IntakeCounters:
    messages: int = 0
    records: int = 0
    accepted: int = 0
    corrupt: int = 0

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


class PacketIntake:
    """Bus handler: records from ``tianshan.packets.>`` into a BufferSet (through a gate)."""

    def __init__(self, buffers, gate: RecordGate, on_packet: Callable[[], None] | None = None) -> None:
        self.buffers = buffers
        self.gate = gate
        self.on_packet = on_packet
        self.counters = IntakeCounters()

    async def __call__(self, msg) -> None:
        c = self.counters
        c.messages += 1
        data = msg.data
        n = len(data) // RECORD_BYTES
        if n == 0 or len(data) % RECORD_BYTES:
            c.corrupt += 1
            self.gate.counters.received += 1
            self.gate.counters.malformed += 1
            return
        for i in range(n):
            rec = data[i * RECORD_BYTES:(i + 1) * RECORD_BYTES]
            c.records += 1
            if self.gate.check(rec) is None:
                continue
            self.buffers.ingest_record(rec)
            c.accepted += 1
        if self.on_packet is not None:
            self.on_packet()


def trace_records(trace, record_length: int = RECORD_BYTES) -> list[bytes]:
    """miniSEED 2 records (FLOAT32, ``record_length`` bytes) of one ObsPy trace (MQTT sensors).

    Low-cost sensor packets arrive as traces (:mod:`tianshan.stream.openeew`); turning them into
    records lets them follow the same path as SeedLink data (gate, archive, bus, buffers).
    """
    import io

    import numpy as np
    from obspy import Stream

    tr = trace.copy()
    tr.data = np.asarray(tr.data, dtype=np.float32)
    buf = io.BytesIO()
    Stream([tr]).write(buf, format="MSEED", reclen=record_length, encoding="FLOAT32")
    blob = buf.getvalue()
    return [blob[i:i + record_length] for i in range(0, len(blob) - record_length + 1, record_length)]
