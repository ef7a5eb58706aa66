"""Station lists as CSV.

Required columns: ``network,station,latitude,longitude,elevation_m``
(degrees WGS84, metres above sea level). Optional columns:

``name``
    free text.
``channels``
    channel codes separated by spaces or ``;``. Each item is ``CHA``
    (e.g. ``HHZ``), ``LOC.CHA`` (``00.HHZ``), or a band+instrument pair
    (``HH``) that expands to the three components ``Z, N, E``; ``--`` is an
    empty location code. An item may end
    in ``@RATE`` (Hz) to override ``sample_rate`` for that channel.
``location``
    location code for items without one (default empty).
``sample_rate`` (or ``sample_rate_hz``)
    Hz, default 100.
``depth_m``
    sensor burial depth, default 0.
``simulated``
    ``true``/``false`` (default false): the station does not exist in a real network.

Other columns (e.g. ``source``) are ignored.

**Default channel set**: a station with no (or an empty) ``channels`` value
gets ``HHZ, HHN, HHE`` at ``sample_rate`` (100 Hz), location code from
``location`` (empty by default), kind broadband, and *no gain*: a CSV list
carries no instrument response, so amplitudes from such stations cannot be
converted to ground motion until a StationXML response is supplied.

Orientation follows the SEED convention: ``Z`` azimuth 0 deg dip -90 deg,
``N``/``1`` azimuth 0 dip 0, ``E``/``2`` azimuth 90 dip 0. The instrument code
(second letter) sets the kind: ``N`` accelerometer -> strong motion;
``H``/``L`` seismometer -> short period for band codes ``E``/``S``, broadband
otherwise (SEED manual v2.4, appendix A).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tianshan.core.errors import DomainError, InputError
from tianshan.core.ids import StreamID
from tianshan.core.station import Channel, InstrumentKind, Station
from tianshan.io.atomic import atomic_write_text
from tianshan.regions._table import Row, read_rows

REQUIRED = ("network", "station", "latitude", "longitude", "elevation_m")
DEFAULT_CHANNELS = ("HHZ", "HHN", "HHE")
DEFAULT_SAMPLE_RATE_HZ = 100.0

#: Component letter -> (azimuth_deg, dip_deg).
ORIENTATION = {"Z": (0.0, -90.0), "N": (0.0, 0.0), "1": (0.0, 0.0), "E": (90.0, 0.0), "2": (90.0, 0.0)}
_SHORT_PERIOD_BANDS = ("E", "S")


def instrument_kind(channel: str) -> InstrumentKind:
    """Kind of sensor from a SEED channel code (band + instrument + orientation)."""
    band, inst = channel[0], channel[1]
    if inst == "N":
        return InstrumentKind.STRONG_MOTION
    if inst in ("H", "L"):
        return InstrumentKind.SHORT_PERIOD if band in _SHORT_PERIOD_BANDS else InstrumentKind.BROADBAND
    raise DomainError(f"channel {channel}: instrument code {inst!r} is not a seismometer (H, L) "
                      "or accelerometer (N)")


def _expand(items: str, location: str, rate: float) -> list[tuple[str, str, float]]:
    out: list[tuple[str, str, float]] = []
    for item in items.replace(";", " ").split():
        r = rate
        if "@" in item:
            item, rate_text = item.split("@", 1)
            try:
                r = float(rate_text)
            except ValueError:
                raise DomainError(f"sample rate {rate_text!r} after @ is not a number") from None
        loc = location
        if "." in item:
            loc, item = item.split(".", 1)
        code = item.upper()
        if len(code) == 2:
            out.extend((loc, code + comp, r) for comp in "ZNE")
        elif len(code) == 3:
            out.append((loc, code, r))
        else:
            raise DomainError(f"channel item {item!r}: expected CHA, LOC.CHA or a band+instrument pair")
    return out


def _station(row: Row) -> Station:
    net = row.text("network").upper()
    sta = row.text("station").upper()
    try:
        StreamID(net, sta, "", "XXX")
    except DomainError as err:
        raise row.error(str(err), "network" if "network" in str(err) else "station") from None
    lat = row.number("latitude")
    lon = row.number("longitude")
    elev = row.number("elevation_m")
    for column, value, lo, hi in (("latitude", lat, -90, 90), ("longitude", lon, -180, 180),
                                  ("elevation_m", elev, -11_000, 8_900)):
        if not lo <= value <= hi:
            raise row.error(f"{value!r} is outside [{lo}, {hi}] for station {net}.{sta}", column)
    rate_col = "sample_rate" if row.has("sample_rate") else "sample_rate_hz"
    rate = row.number(rate_col, required=False) or DEFAULT_SAMPLE_RATE_HZ
    depth = row.number("depth_m", required=False) or 0.0
    loc = row.text("location", required=False)
    simulated_text = row.text("simulated", required=False).lower()
    if simulated_text not in ("", "true", "false", "1", "0", "yes", "no"):
        raise row.error(f"expected true or false, got {simulated_text!r}", "simulated")
    channels_text = row.text("channels", required=False) or " ".join(DEFAULT_CHANNELS)
    try:
        specs = _expand(channels_text, loc, rate)
        channels = tuple(
            Channel(StreamID(net, sta, c_loc, cha), lat, lon, elev, c_rate, depth_m=depth,
                    azimuth_deg=ORIENTATION.get(cha[2], (0.0, 0.0))[0],
                    dip_deg=ORIENTATION.get(cha[2], (0.0, 0.0))[1], kind=instrument_kind(cha))
            for c_loc, cha, c_rate in specs)
        return Station(net, sta, lat, lon, elev, name=row.text("name", required=False), channels=channels,
                       simulated=simulated_text in ("true", "1", "yes"))
    except DomainError as err:
        raise row.error(str(err), "channels" if row.has("channels") else None) from None


def read_stations_csv(path: str | Path) -> tuple[Station, ...]:
    """Stations from a CSV file (see the module docstring for columns and the default channels).

    A station listed twice is an error naming both lines.
    """
    _, rows = read_rows(path, REQUIRED)
    stations: list[Station] = []
    first_line: dict[str, int] = {}
    for row in rows:
        st = _station(row)
        if st.station_id in first_line:
            raise row.error(f"duplicate station {st.station_id} (first on line {first_line[st.station_id]})",
                            "station")
        first_line[st.station_id] = row.line
        stations.append(st)
    if not stations:
        raise InputError("no stations", str(path))
    return tuple(stations)


def _channel_items(st: Station) -> tuple[str, str, float]:
    """``channels`` text, common location and sample rate for one station row."""
    if not st.channels:
        return "", "", DEFAULT_SAMPLE_RATE_HZ
    rates = [c.sample_rate_hz for c in st.channels]
    locs = {c.stream_id.location for c in st.channels}
    rate = max(set(rates), key=rates.count)
    loc = locs.pop() if len(locs) == 1 else ""
    items = []
    for c in st.channels:
        sid = c.stream_id
        item = sid.channel if sid.location == loc else f"{sid.location or '--'}.{sid.channel}"
        if c.sample_rate_hz != rate:
            item += f"@{c.sample_rate_hz!r}"
        items.append(item)
    return " ".join(items), loc, rate


def stations_csv_text(stations: tuple[Station, ...] | list[Station]) -> str:
    """CSV text of ``stations`` (channels, locations and rates; not gains)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*REQUIRED, "name", "location", "channels", "sample_rate", "depth_m", "simulated"])
    for st in stations:
        items, loc, rate = _channel_items(st)
        depth = st.channels[0].depth_m if st.channels else 0.0
        w.writerow([st.network, st.code, repr(st.latitude_deg), repr(st.longitude_deg), repr(st.elevation_m),
                    st.name, loc, items, repr(rate), repr(depth), "true" if st.simulated else "false"])
    return buf.getvalue()


def write_stations_csv(stations: tuple[Station, ...] | list[Station], path: str | Path) -> Path:
    """Write ``stations`` as CSV atomically; returns the path."""
    return atomic_write_text(path, stations_csv_text(stations))
