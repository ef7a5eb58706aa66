"""SeedLink protocol v3 as data: commands, replies, packet framing, selectors, INFO packets.

Shared by the server (:mod:`tianshan.stream.seedlink_server`) and usable by
validation code. Sources:

* SeisComP documentation, "SeedLink protocol" (protocol v3.1): commands
  ``HELLO``, ``CAT``, ``BYE``, ``STATION``, ``SELECT``, ``DATA [n [begin]]``,
  ``FETCH [n [begin]]``, ``TIME begin [end]``, ``END``, ``INFO level``; replies
  ``OK\\r\\n`` / ``ERROR\\r\\n``; data packets ``"SL"`` + 6 upper-case hex digits
  (sequence number, 24 bit) + one 512-byte miniSEED record; INFO packets
  ``"SLINFO *"`` (more follow) or ``"SLINFO  "`` (last one) + a 512-byte
  miniSEED ASCII log record carrying part of the XML answer; ``END`` after the
  last packet of a FETCH or of a TIME window; selectors ``[!]LLCCC[.T]`` with
  ``?`` wildcards; times ``YYYY,MM,DD,hh,mm,ss``.
* ObsPy ``obspy/clients/seedlink`` (what the reference client sends and
  expects): it reads every command reply with one ``recv`` (so a reply must
  go out in one write), sends ``STATION  STA NET``, resumes with
  ``DATA <hex(seq+1)>`` written in Python's ``hex()`` form (``0x1a``), parses
  the version from ``"SeedLink v<x.y> "`` and reads INFO payloads as the
  samples of an ASCII miniSEED record.
"""

from __future__ import annotations

import calendar
import fnmatch
import re
import struct
from dataclasses import dataclass

#: Protocol version advertised in the HELLO reply (v3.1: multi-station, INFO, TIME).
PROTOCOL_VERSION = "3.1"
#: Capabilities answered to INFO CAPABILITIES (names as SeisComP's seedlink uses them).
CAPABILITIES = ("dialup", "multistation", "window-extraction", "info:id", "info:capabilities",
                "info:stations", "info:streams", "nswildcard")
OK = b"OK\r\n"
ERROR = b"ERROR\r\n"
END = b"END"
#: Packet sizes: 8-byte SeedLink header + 512-byte miniSEED record.
HEADER_BYTES = 8
RECORD_BYTES = 512
SEQ_MODULO = 1 << 24
#: Longest command line accepted (SeisComP rejects longer lines too).
MAX_LINE_BYTES = 255
INFO_LEVELS = ("ID", "CAPABILITIES", "STATIONS", "STREAMS")

_SELECTOR = re.compile(r"^(!?)([A-Z0-9?]{0,5})(?:\.([A-Z?]))?$")
_CODE = re.compile(r"^[A-Z0-9?*]{1,5}$")


class ProtocolError(ValueError):
    """A command line that is not valid SeedLink (answered ``ERROR``)."""


def data_packet(seq: int, record: bytes) -> bytes:
    """Frame one 512-byte miniSEED record as a SeedLink data packet ``SL%06X`` + record."""
    if len(record) != RECORD_BYTES:
        raise ValueError(f"SeedLink packets carry 512-byte records, got {len(record)} bytes")
    return b"SL%06X" % (seq % SEQ_MODULO) + record


def parse_seq(text: str) -> int:
    """A sequence number as sent by clients: hex, with or without ObsPy's ``0x`` prefix."""
    t = text.strip().lower()
    if t.startswith("0x"):
        t = t[2:]
    if not t or len(t) > 6 or any(c not in "0123456789abcdef" for c in t):
        raise ProtocolError(f"bad sequence number {text!r}")
    return int(t, 16)


def parse_sl_time(text: str) -> int:
    """``YYYY,MM,DD,hh,mm,ss[.ffff]`` (SeedLink time) -> integer ns since the epoch (UTC)."""
    parts = text.strip().split(",")
    if len(parts) != 6:
        raise ProtocolError(f"bad SeedLink time {text!r} (want YYYY,MM,DD,hh,mm,ss)")
    try:
        year, month, day, hour, minute = (int(p) for p in parts[:5])
        sec = float(parts[5])
        if not (1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31 and 0 <= hour < 24
                and 0 <= minute < 60 and 0 <= sec < 61):
            raise ValueError
        base = calendar.timegm((year, month, day, hour, minute, 0))
    except ValueError:
        raise ProtocolError(f"bad SeedLink time {text!r}") from None
    return base * 1_000_000_000 + round(sec * 1e9)


def format_sl_time(ns: int) -> str:
    """Integer ns since the epoch -> ``YYYY/MM/DD hh:mm:ss.ffff`` as used in INFO XML."""
    import datetime as _dt

    t = _dt.datetime(1970, 1, 1) + _dt.timedelta(microseconds=ns // 1000)
    return t.strftime("%Y/%m/%d %H:%M:%S.") + f"{t.microsecond // 100:04d}"


@dataclass(frozen=True, slots=True)
class Selector:
    """One ``[!]LLCCC[.T]`` selector: location+channel pattern (``?`` = any char), type letter."""

    negate: bool
    location: str | None  # None: any location
    channel: str
    type: str | None

    def matches(self, location: str, channel: str, type_: str = "D") -> bool:
        if self.type is not None and not fnmatch.fnmatchcase(type_, self.type):
            return False
        if not fnmatch.fnmatchcase(channel, self.channel):
            return False
        if self.location is None:
            return True
        return fnmatch.fnmatchcase(location.ljust(2), self.location)


def parse_selector(text: str) -> Selector:
    """Parse a SELECT argument: ``BHZ``, ``00BH?``, ``??HH?.D``, ``!LOG``, ``.D``."""
    m = _SELECTOR.match(text.strip().upper())
    if m is None:
        raise ProtocolError(f"bad selector {text!r}")
    neg, body, type_ = m.group(1) == "!", m.group(2), m.group(3)
    if len(body) == 5:
        loc, cha = body[:2].replace("-", " "), body[2:]
    elif len(body) == 3:
        loc, cha = None, body
    elif body == "":
        loc, cha = None, "???"
    else:
        raise ProtocolError(f"bad selector {text!r} (want LLCCC or CCC, optionally .T)")
    return Selector(neg, loc, cha, type_)


def selectors_match(selectors: tuple[Selector, ...], location: str, channel: str, type_: str = "D") -> bool:
    """SeedLink rule: included by any positive selector (all when none), and by no negative one."""
    pos = [s for s in selectors if not s.negate]
    if pos and not any(s.matches(location, channel, type_) for s in pos):
        return False
    return not any(s.matches(location, channel, type_) for s in selectors if s.negate)


def check_code(text: str, what: str) -> str:
    """A station or network code (``*``/``?`` wildcards allowed: NSWILDCARD)."""
    t = text.strip().upper()
    if not _CODE.match(t):
        raise ProtocolError(f"bad {what} code {text!r}")
    return t


# --------------------------------------------------------------------------- INFO packets

def _ascii_record(seq: int, text: bytes, net: str, sta: str, ns: int) -> bytes:
    """One 512-byte miniSEED 2.4 log record (encoding 0 = ASCII) with ``text`` (<= 448 bytes).

    Layout (SEED 2.4 ch. 8): 48-byte fixed header, blockette 1000 at byte 48,
    data from byte 64; zero sample rate (log record); big-endian.
    """
    import datetime as _dt

    t = _dt.datetime(1970, 1, 1) + _dt.timedelta(microseconds=ns // 1000)
    hdr = bytearray(64)
    hdr[0:6] = b"%06d" % (seq % 1_000_000)
    hdr[6:8] = b"D "
    hdr[8:13] = sta.encode("ascii")[:5].ljust(5)
    hdr[13:15] = b"  "
    hdr[15:18] = b"LOG"
    hdr[18:20] = net.encode("ascii")[:2].ljust(2)
    struct.pack_into(">HHBBBBHHhhBBBBiHH", hdr, 20, t.year, t.timetuple().tm_yday, t.hour, t.minute,
                     t.second, 0, t.microsecond // 100, len(text), 0, 0, 0, 0, 0, 1, 0, 64, 48)
    struct.pack_into(">HHBBBB", hdr, 48, 1000, 0, 0, 1, 9, 0)  # ASCII, big-endian, 2**9 = 512
    return bytes(hdr) + text.ljust(RECORD_BYTES - 64, b"\0")


def info_packets(xml: str, ns: int, net: str = "SL", sta: str = "INFO") -> list[bytes]:
    """Split an INFO XML answer into SeedLink INFO packets (``SLINFO *`` ... ``SLINFO  ``)."""
    raw = xml.encode("utf-8")
    room = RECORD_BYTES - 64
    chunks = [raw[i:i + room] for i in range(0, len(raw), room)] or [b""]
    out = []
    for i, chunk in enumerate(chunks):
        head = b"SLINFO  " if i == len(chunks) - 1 else b"SLINFO *"
        out.append(head + _ascii_record(i + 1, chunk, net, sta, ns))
    return out
