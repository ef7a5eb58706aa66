"""What the SDS archive holds for a channel: its day files and the extent of their data.

Used by fdsnws-station for ``matchtimeseries`` (a channel matches when a day file of the
requested window exists: day granularity, gaps inside a day are not looked at) and
``includeavailability`` (first sample of the first day file to the last sample of the
last one, read from the miniSEED headers only). Paths follow the SDS layout written by
:func:`tianshan.io.sds.sds_path` (``YEAR/NET/STA/CHAN.D/NET.STA.LOC.CHAN.D.YEAR.DAY``).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path


def day_files(root: Path, network: str, station: str, location: str, channel: str,
              quality: str = "D") -> list[tuple[_dt.date, Path]]:
    """The SDS day files of one channel, by day (empty when there are none)."""
    pattern = f"*/{network}/{station}/{channel}.{quality}/{network}.{station}.{location}.{channel}.{quality}.*.*"
    out = []
    for path in Path(root).glob(pattern):
        try:
            year, doy = int(path.name.split(".")[-2]), int(path.name.split(".")[-1])
            day = _dt.date(year, 1, 1) + _dt.timedelta(days=doy - 1)
        except ValueError:
            continue
        out.append((day, path))
    out.sort()
    return out


def has_data(root: Path, codes: tuple[str, str, str, str], start: _dt.datetime | None,
             end: _dt.datetime | None) -> bool:
    """Whether a day file of the channel falls in ``[start, end]`` (open ends allowed)."""
    first = None if start is None else start.date()
    last = None if end is None else end.date()
    for day, _ in day_files(root, *codes):
        if (first is None or day >= first) and (last is None or day <= last):
            return True
    return False


def extent(root: Path, codes: tuple[str, str, str, str]) -> tuple[_dt.datetime, _dt.datetime] | None:
    """First and last sample time of the channel's archived data (headers only), or None."""
    from obspy import read

    from tianshan.core.timeutil import as_utc

    files = day_files(root, *codes)
    if not files:
        return None
    try:
        head = read(str(files[0][1]), format="MSEED", headonly=True)
        tail = head if len(files) == 1 else read(str(files[-1][1]), format="MSEED", headonly=True)
    except Exception:  # noqa: BLE001 - an unreadable file only means no availability is reported
        return None
    if not len(head) or not len(tail):
        return None
    start = min(tr.stats.starttime for tr in head)
    end = max(tr.stats.endtime for tr in tail)
    return as_utc(start.datetime), as_utc(end.datetime)


def channels_in(root: Path, pattern: tuple[str, str, str, str], start: _dt.datetime, end: _dt.datetime,
                quality: str = "D") -> list[tuple[str, str, str, str]]:
    """Channels (NET, STA, LOC, CHA) with a day file in ``[start - 1 day, end]`` matching the code pattern.

    The pattern uses ``*``/``?`` wildcards (glob syntax, as FDSN codes do); the day before
    ``start`` is included because its file may hold records running past midnight.
    """
    net, sta, loc, cha = pattern
    first = (start - _dt.timedelta(days=1)).date()
    last = end.date()
    found: set[tuple[str, str, str, str]] = set()
    for year in range(first.year, last.year + 1):
        for path in Path(root).glob(f"{year}/{net}/{sta}/{cha}.{quality}/{net}.{sta}.{loc}.{cha}.{quality}.{year}.*"):
            parts = path.name.split(".")
            if len(parts) != 7:
                continue
            try:
                day = _dt.date(int(parts[5]), 1, 1) + _dt.timedelta(days=int(parts[6]) - 1)
            except ValueError:
                continue
            if first <= day <= last:
                found.add((parts[0], parts[1], parts[2], parts[3]))
    return sorted(found)
