"""FDSN StationXML <-> domain stations, through ObsPy's inventory classes.

Mapping (FDSN StationXML 1.2 schema; ObsPy ``obspy.core.inventory``):

* Station: code, Latitude/Longitude/Elevation, ``Site/Name`` (name), start/end date.
* Channel: code, locationCode, coordinates, Depth, Azimuth, Dip, SampleRate, start/end
  date, ``Response``: a full response where one is given, otherwise one holding only the
  ``InstrumentSensitivity`` built from :class:`~tianshan.core.station.StationGain`.

Tianshan fields StationXML has no element for are ``extra`` elements in the namespace
``https://tianshan.org/xmlns/1.0``: ``tianshan:simulated`` (station),
``tianshan:kind`` and ``tianshan:responseRef`` (channel). For foreign files the
instrument kind is inferred from the SEED band/instrument codes and the input units
(SEED 2.4 manual, appendix A).

Channels the domain model cannot hold (no sample rate, as for state-of-health
``LOG`` channels, or invalid codes) are skipped with a logged warning.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from pathlib import Path
from typing import Iterable, Mapping

from tianshan.core.errors import DomainError, InputError
from tianshan.core.ids import StreamID
from tianshan.core.station import Channel, InstrumentKind, Station, StationGain
from tianshan.io._obspy import NSMAP, extra_bool, from_utc_datetime, get_extra, set_extra, to_utc_datetime
from tianshan.io.atomic import atomic_path

log = logging.getLogger(__name__)


def _date(value):
    return None if value is None else to_utc_datetime(value)


def _channel_to_obspy(ch: Channel, response):
    from obspy.core.inventory import Channel as XChannel
    from obspy.core.inventory import InstrumentSensitivity, Response

    if response is None and ch.gain is not None:
        g = ch.gain
        response = Response(instrument_sensitivity=InstrumentSensitivity(
            value=g.value, frequency=g.frequency_hz, input_units=g.input_units, output_units=g.output_units))
    sid = ch.stream_id
    x = XChannel(code=sid.channel, location_code=sid.location, latitude=ch.latitude_deg,
                 longitude=ch.longitude_deg, elevation=ch.elevation_m, depth=ch.depth_m,
                 azimuth=ch.azimuth_deg, dip=ch.dip_deg, sample_rate=ch.sample_rate_hz,
                 start_date=_date(ch.start), end_date=_date(ch.end), response=response)
    set_extra(x, "kind", ch.kind.value)
    if ch.gain is not None and ch.gain.response_ref is not None:
        set_extra(x, "responseRef", ch.gain.response_ref)
    return x


def _station_to_obspy(st: Station, responses: Mapping[StreamID, object]):
    from obspy.core.inventory import Site
    from obspy.core.inventory import Station as XStation

    x = XStation(code=st.code, latitude=st.latitude_deg, longitude=st.longitude_deg, elevation=st.elevation_m,
                 site=Site(name=st.name), start_date=_date(st.start), end_date=_date(st.end),
                 channels=[_channel_to_obspy(ch, responses.get(ch.stream_id)) for ch in st.channels])
    if st.simulated:
        set_extra(x, "simulated", True)
    return x


def stations_to_inventory(stations: Iterable[Station], responses: Mapping[StreamID, object] | None = None,
                          source: str = "Tianshan"):
    """Domain stations as an ``obspy.Inventory``.

    ``responses`` maps stream ids to full ``obspy.core.inventory.Response`` objects, written
    as given (their own ``InstrumentSensitivity`` is what :func:`inventory_to_stations`
    reads back as the gain). Other channels get a response holding only the sensitivity
    from ``Channel.gain``. Consecutive stations of one network share a ``Network`` element,
    so the station order survives a round trip.
    """
    from obspy import Inventory
    from obspy.core.inventory import Network

    responses = responses or {}
    networks: list = []
    for st in stations:
        if not networks or networks[-1].code != st.network:
            networks.append(Network(code=st.network, stations=[]))
        networks[-1].stations.append(_station_to_obspy(st, responses))
    return Inventory(networks=networks, source=source)


def _infer_kind(code: str, input_units: str | None) -> InstrumentKind:
    """Instrument kind from SEED band/instrument codes (SEED 2.4, appendix A) and input units."""
    units = (input_units or "").upper().replace(" ", "")
    # Instrument code N = accelerometer; band E/S = short period (corner < 10 s).
    if code[1:2] == "N" or units in ("M/S**2", "M/S/S", "M/S2", "M/(S*S)"):
        return InstrumentKind.STRONG_MOTION
    if code[:1] in ("E", "S"):
        return InstrumentKind.SHORT_PERIOD
    return InstrumentKind.BROADBAND


def _gain(x, ours: bool) -> StationGain | None:
    resp = x.response
    sens = None if resp is None else resp.instrument_sensitivity
    if sens is None or sens.value is None or sens.frequency is None or not sens.value > 0 or not sens.frequency > 0:
        return None
    ref = get_extra(x, "responseRef")
    if ref is None and not ours and resp.response_stages:
        ref = "stationxml"
    return StationGain(value=float(sens.value), frequency_hz=float(sens.frequency),
                       input_units=str(sens.input_units or ""), output_units=str(sens.output_units or "COUNTS"),
                       response_ref=ref)


def _channel_from_obspy(net: str, sta: str, x, skipped: Counter) -> Channel | None:
    try:
        sid = StreamID(net, sta, x.location_code or "", x.code)
    except DomainError:
        skipped["invalid code"] += 1
        return None
    if not x.sample_rate or x.sample_rate <= 0:
        skipped["no sample rate"] += 1
        return None
    kind_text = get_extra(x, "kind")
    ours = kind_text is not None
    gain = _gain(x, ours)
    if ours:
        kind = InstrumentKind(kind_text)
    else:
        kind = _infer_kind(x.code, None if gain is None else gain.input_units)
    return Channel(stream_id=sid, latitude_deg=x.latitude, longitude_deg=x.longitude, elevation_m=x.elevation,
                   sample_rate_hz=float(x.sample_rate), depth_m=float(x.depth or 0.0),
                   azimuth_deg=0.0 if x.azimuth is None else float(x.azimuth),
                   dip_deg=-90.0 if x.dip is None else float(x.dip), kind=kind, gain=gain,
                   start=from_utc_datetime(x.start_date), end=from_utc_datetime(x.end_date))


def inventory_to_stations(inv) -> list[Station]:
    """An ``obspy.Inventory`` as domain stations (inverse of :func:`stations_to_inventory`)."""
    skipped: Counter = Counter()
    stations = []
    for net in inv.networks:
        for x in net.stations:
            channels = [c for c in (_channel_from_obspy(net.code, x.code, ch, skipped) for ch in x.channels)
                        if c is not None]
            stations.append(Station(
                network=net.code, code=x.code, latitude_deg=x.latitude, longitude_deg=x.longitude,
                elevation_m=x.elevation, name="" if x.site is None or x.site.name is None else str(x.site.name),
                channels=tuple(channels), start=from_utc_datetime(x.start_date),
                end=from_utc_datetime(x.end_date), simulated=bool(extra_bool(x, "simulated"))))
    if skipped:
        log.warning("inventory: skipped channels: %s",
                    ", ".join(f"{n} ({why})" for why, n in sorted(skipped.items())))
    return stations


def write_stationxml(stations: Iterable[Station], path: str | os.PathLike,
                     responses: Mapping[StreamID, object] | None = None) -> Path:
    """Write stations as FDSN StationXML (via ObsPy), atomically. Returns the path."""
    inv = stations_to_inventory(stations, responses)
    path = Path(path)
    with atomic_path(path) as tmp:
        inv.write(str(tmp), format="STATIONXML", nsmap=dict(NSMAP))  # ObsPy adds keys to the dict it gets
    return path


def read_stationxml(path: str | os.PathLike) -> list[Station]:
    """Read FDSN StationXML into domain stations.

    Raises :class:`InputError` naming the file when it is missing or unreadable, or
    when it describes an impossible station (the domain error's message is kept).
    """
    from obspy import read_inventory

    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", source=str(path))
    try:
        inv = read_inventory(str(path), format="STATIONXML")
    except Exception as err:  # lxml syntax errors, ObsPy's own ValueError/TypeError...
        raise InputError(f"not a readable StationXML file ({type(err).__name__}: {err})",
                         source=str(path)) from None
    try:
        return inventory_to_stations(inv)
    except DomainError as err:
        raise InputError(str(err), source=str(path)) from None
