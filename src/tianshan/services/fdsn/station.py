"""fdsnws-station 1.1 over an ObsPy inventory: selection, levels, StationXML and text out.

The inventory (a StationXML file, a region's stations, or the store's stations) is
flattened once into an index of network/station/channel epochs with aware times and
the effective restriction of each channel (its ``restrictedStatus``, else its
station's, else its network's; ``closed`` and ``partial`` count as restricted).

Selection rules (fdsnws-station 1.1, "Query parameters"; Tianshan choices in
:data:`.spec.NOTES`):

* codes: comma lists with ``*``/``?`` wildcards, compared without case; ``--`` is the
  empty location code;
* times test epochs: ``starttime`` -> epoch end >= t (open ends pass),
  ``endtime`` -> epoch start <= t, ``startbefore``/``startafter`` -> start < / > t,
  ``endbefore``/``endafter`` -> end < / > t (an open end is never before and always
  after); station epochs at every level, channel epochs where channels are tested;
* box and radius test station coordinates;
* channels are tested at channel/response level, and at network/station level when
  the request names locations or channels or asks for ``matchtimeseries``: a station
  is then listed only with a matching channel;
* ``includerestricted=false`` drops restricted stations and channels.

Each level is a shallow copy of the inventory objects with the lower levels cut
(``stations``, ``channels`` emptied, ``response`` removed below response level);
``Total/SelectedNumber*`` are set. Text formats follow the spec's column tables
(:data:`.spec.STATION_TEXT_COLUMNS`); ``level=response`` has no text format (400).
"""

from __future__ import annotations

import copy
import fnmatch
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterable, Iterator

from tianshan.services.fdsn.errors import BadRequest, NoData
from tianshan.services.fdsn.geo import area_from_query
from tianshan.services.fdsn.params import Query, Selection, get_selection
from tianshan.services.fdsn.spec import STATION, STATION_TEXT_COLUMNS

_RESTRICTED = ("closed", "partial")


def _aware(t) -> datetime | None:
    from tianshan.core.timeutil import as_utc

    return None if t is None else as_utc(t.datetime)


def _match(patterns: Iterable[str], code: str) -> bool:
    code = code.upper()
    return any(fnmatch.fnmatchcase(code, p.upper()) for p in patterns)


@dataclass
class ChannelEpoch:
    obj: object
    network: str
    station: str
    location: str
    channel: str
    start: datetime | None
    end: datetime | None
    restricted: bool
    sample_rate_hz: float

    @property
    def codes(self) -> tuple[str, str, str, str]:
        return self.network, self.station, self.location, self.channel


@dataclass
class StationEpoch:
    obj: object
    code: str
    start: datetime | None
    end: datetime | None
    restricted: bool
    latitude: float | None
    longitude: float | None
    channels: list[ChannelEpoch] = field(default_factory=list)


@dataclass
class NetworkEntry:
    obj: object
    code: str
    stations: list[StationEpoch] = field(default_factory=list)


def epoch_passes(start: datetime | None, end: datetime | None, q: Query | None, window: Selection) -> bool:
    """Whether an epoch passes the time parameters (see the module doc for the rules)."""
    if window.start is not None and end is not None and end < window.start:
        return False
    if window.end is not None and start is not None and start > window.end:
        return False
    if q is None:
        return True
    t = q.get("startbefore")
    if t is not None and start is not None and not start < t:
        return False
    t = q.get("startafter")
    if t is not None and (start is None or not start > t):
        return False
    t = q.get("endbefore")
    if t is not None and (end is None or not end < t):
        return False
    t = q.get("endafter")
    if t is not None and end is not None and not end > t:
        return False
    return True


class InventoryIndex:
    """Flattened epochs of an ObsPy inventory (shared by the station and dataselect services)."""

    def __init__(self, inventory) -> None:
        self.inventory = inventory
        self.networks: list[NetworkEntry] = []
        for net in inventory.networks:
            entry = NetworkEntry(net, net.code)
            net_closed = (net.restricted_status or "").lower() in _RESTRICTED
            for sta in net.stations:
                sta_status = (sta.restricted_status or "").lower()
                sta_closed = sta_status in _RESTRICTED if sta_status else net_closed
                st = StationEpoch(sta, sta.code, _aware(sta.start_date), _aware(sta.end_date),
                                  sta_status == "closed" or (not sta_status and net_closed),
                                  sta.latitude, sta.longitude)
                for ch in sta.channels:
                    ch_status = (ch.restricted_status or "").lower()
                    restricted = ch_status in _RESTRICTED if ch_status else sta_closed
                    st.channels.append(ChannelEpoch(ch, net.code, sta.code, ch.location_code or "", ch.code,
                                                    _aware(ch.start_date), _aware(ch.end_date), restricted,
                                                    float(ch.sample_rate or 0.0)))
                entry.stations.append(st)
            self.networks.append(entry)

    def channels(self, selection: Selection) -> Iterator[ChannelEpoch]:
        """Channel epochs whose codes match ``selection`` and that overlap its time window."""
        for net in self.networks:
            if not _match(selection.network, net.code):
                continue
            for sta in net.stations:
                if not _match(selection.station, sta.code):
                    continue
                for ch in sta.channels:
                    if (_match(selection.location, ch.location) and _match(selection.channel, ch.channel)
                            and epoch_passes(ch.start, ch.end, None, selection)):
                        yield ch

    def is_restricted(self, codes: tuple[str, str, str, str], start: datetime, end: datetime) -> bool:
        """Whether any epoch of the channel ``codes`` overlapping ``[start, end]`` is restricted."""
        sel = Selection((codes[0],), (codes[1],), (codes[2],), (codes[3],), start, end)
        return any(ch.restricted for ch in self.channels(_literal(sel)))


def _literal(sel: Selection) -> Selection:
    """``sel`` with wildcard characters escaped (codes from a trace are literal)."""
    def esc(codes):
        return tuple(c.replace("[", "[[]").replace("*", "[*]").replace("?", "[?]") for c in codes)

    return Selection(esc(sel.network), esc(sel.station), esc(sel.location), esc(sel.channel), sel.start, sel.end)


class StationService:
    """Answers fdsnws-station queries from an inventory (and an SDS archive for timeseries matching)."""

    def __init__(self, inventory, archive: Path | None = None, updated: datetime | None = None,
                 source: str = "Tianshan") -> None:
        from tianshan.core.timeutil import utc_now

        self.index = inventory if isinstance(inventory, InventoryIndex) else InventoryIndex(inventory)
        self.archive = None if archive is None else Path(archive)
        self.updated = updated or utc_now()
        self.source = source

    def query(self, q: Query, selections: list[Selection] | None, module_uri: str = "") -> tuple[bytes, str]:
        """Body and media type of the answer; raises :class:`NoData` or 400."""
        level = q["level"]
        if q["format"] == "text" and level == "response":
            raise BadRequest("format=text has no response level; use format=xml")
        if (q["includeavailability"] or q["matchtimeseries"]) and self.archive is None:
            raise BadRequest("this server has no waveform archive: includeavailability and matchtimeseries "
                             "cannot be used")
        if q.get("updatedafter") is not None and not self.updated > q["updatedafter"]:
            raise NoData(f"the inventory was last updated at {self.updated.isoformat()}")
        selections = selections if selections is not None else [get_selection(q)]
        tree = self._select(q, selections)
        if not tree:
            raise NoData()
        if q["format"] == "text":
            return _text(tree, level), "text/plain; charset=utf-8"
        return self._xml(tree, q, module_uri), "application/xml"

    # --- selection ------------------------------------------------------------------------------

    def _select(self, q: Query, selections: list[Selection]) -> list[tuple[NetworkEntry, list]]:
        area = area_from_query(q)
        level = q["level"]
        restricted_ok = q["includerestricted"]
        test_channels = (level in ("channel", "response") or q["matchtimeseries"]
                         or any(s.location != ("*",) or s.channel != ("*",) for s in selections))
        tree = []
        for net in self.index.networks:
            lines = [s for s in selections if _match(s.network, net.code)]
            if not lines:
                continue
            stations = []
            for sta in net.stations:
                if not restricted_ok and sta.restricted:
                    continue
                if not area.contains(sta.latitude, sta.longitude):
                    continue
                sta_lines = [s for s in lines if _match(s.station, sta.code)
                             and epoch_passes(sta.start, sta.end, q, s)]
                if not sta_lines:
                    continue
                channels = []
                if test_channels:
                    channels = [ch for ch in sta.channels if self._channel_ok(ch, sta_lines, q, restricted_ok)]
                    if not channels:
                        continue
                stations.append((sta, channels))
            if stations:
                tree.append((net, stations))
        return tree

    def _channel_ok(self, ch: ChannelEpoch, lines: list[Selection], q: Query, restricted_ok: bool) -> bool:
        if ch.restricted and not restricted_ok:
            return False
        for s in lines:
            if (_match(s.location, ch.location) and _match(s.channel, ch.channel)
                    and epoch_passes(ch.start, ch.end, q, s)):
                if not q["matchtimeseries"]:
                    return True
                from tianshan.services.fdsn.archive import has_data

                start = max((t for t in (s.start, ch.start) if t is not None), default=None)
                end = min((t for t in (s.end, ch.end) if t is not None), default=None)
                if has_data(self.archive, ch.codes, start, end):
                    return True
        return False

    # --- output ---------------------------------------------------------------------------------

    def _xml(self, tree, q: Query, module_uri: str) -> bytes:
        from obspy import Inventory
        from obspy.core.inventory.util import DataAvailability

        from tianshan.io._obspy import NSMAP, to_utc_datetime

        level = q["level"]
        networks = []
        for net, stations in tree:
            n = copy.copy(net.obj)
            n.total_number_of_stations = len(net.stations)
            n.selected_number_of_stations = len(stations)
            n.stations = []
            if level != "network":
                for sta, channels in stations:
                    s = copy.copy(sta.obj)
                    s.total_number_of_channels = len(sta.channels)
                    s.selected_number_of_channels = len(channels) if channels else len(sta.channels)
                    s.channels = []
                    if level in ("channel", "response"):
                        for ch in channels:
                            c = copy.copy(ch.obj)
                            if level == "channel":
                                c.response = None
                            if q["includeavailability"]:
                                from tianshan.services.fdsn.archive import extent

                                span = extent(self.archive, ch.codes)
                                c.data_availability = None if span is None else DataAvailability(
                                    to_utc_datetime(span[0]), to_utc_datetime(span[1]))
                            s.channels.append(c)
                    n.stations.append(s)
            networks.append(n)
        inv = Inventory(networks=networks, source=self.source, sender=self.source,
                        module=f"Tianshan fdsnws-station {STATION.version}", module_uri=module_uri or None)
        buf = io.BytesIO()
        inv.write(buf, format="STATIONXML", nsmap=dict(NSMAP))
        return buf.getvalue()


def _time(t) -> str:
    if t is None:
        return ""
    dt = _aware(t)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{dt.microsecond:06d}" if dt.microsecond else "")


def _field(value) -> str:
    if value is None:
        return ""
    return " ".join(str(value).replace("|", "/").split())


def _number(value) -> str:
    return "" if value is None else repr(float(value))


def _text(tree, level: str) -> bytes:
    """The '|'-separated text format of ``level`` (fdsnws-station 1.1), header line first."""
    lines = ["#" + "|".join(STATION_TEXT_COLUMNS[level])]
    for net, stations in tree:
        n = net.obj
        if level == "network":
            lines.append("|".join((n.code, _field(n.description), _time(n.start_date), _time(n.end_date),
                                   str(len(stations)))))
            continue
        for sta, channels in stations:
            s = sta.obj
            if level == "station":
                name = s.site.name if s.site is not None else ""
                lines.append("|".join((n.code, s.code, _number(s.latitude), _number(s.longitude),
                                       _number(s.elevation), _field(name), _time(s.start_date),
                                       _time(s.end_date))))
                continue
            for ch in channels:
                c = ch.obj
                sens = None if c.response is None else c.response.instrument_sensitivity
                sensor = "" if c.sensor is None else (c.sensor.description or c.sensor.type or "")
                lines.append("|".join((
                    n.code, s.code, c.location_code or "", c.code, _number(c.latitude), _number(c.longitude),
                    _number(c.elevation), _number(c.depth), _number(c.azimuth), _number(c.dip), _field(sensor),
                    _number(None if sens is None else sens.value), _number(None if sens is None else sens.frequency),
                    _field(None if sens is None else sens.input_units), _number(c.sample_rate),
                    _time(c.start_date), _time(c.end_date))))
    return ("\n".join(lines) + "\n").encode("utf-8")
