"""Earthquake catalogs for seismicity analysis: every source read into one table, and selection.

:class:`SeismicCatalog` is a frozen, column-oriented table (one NumPy array per field, one row
per event) that the statistics, declustering and sequence modules work on. Sources:

* CENC EQT fixed-width files (GBK; :mod:`tianshan.io.eqt`, Beijing time converted to UTC);
* CSV variants (:func:`read_csv_catalog`), recognised from the first non-blank line:

  - **headerless numeric** rows ``yr,mo,dy,hr,mi,s,lat,lon,mag[,depth_km[,...]]``, the layout
    of ``china_mw_1900_2016.csv`` (igp-gravity/geoist; columns
    ``yr,mo,dy,hr,mi,s,lat,lon,Mw,depth_km,flag``, depth ``-1`` = unknown); further columns
    are ignored;
  - **with a header**: an ISO-8601 ``time`` column (USGS ComCat CSV, this project's catalog
    CSV of :mod:`tianshan.io.catalog_csv`), or separate ``date`` + ``time`` columns (the R
    ETAS layout ``date,time,long,lat,mag[,depth]``), or ``year,month,day,hour,minute,second``
    columns; latitude/longitude/depth(km)/magnitude under the usual names (see
    ``_ALIASES``). Times without a zone are UTC.

* QuakeML 1.2 / SCML (:func:`tianshan.io.quakeml.read_quakeml`), FDSN event web services
  through ObsPy's client (:func:`fetch_fdsn_catalog`), the event store
  (:func:`store_catalog`), or any domain events (:func:`catalog_from_events`): the preferred
  origin and magnitude of each event; events without an origin or a magnitude are skipped and
  counted in ``notes``.

Bad input: a line that cannot be read is skipped and listed with its 1-based line number in
:attr:`SeismicCatalog.skipped` (the CLI prints them); a file with no readable event raises
:class:`~tianshan.core.errors.InputError`. :func:`select` filters by polygon or box, time,
magnitude and depth; a selection that leaves no event raises :class:`InputError` saying which
filters were applied and how many events there were before.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from tianshan.core.errors import InputError

UTC = timezone.utc

#: The Xinjiang analysis box used by the CLI and reports: (west, south, east, north), degrees.
#: 73-97 E x 34-50 N covers Xinjiang (73.5-96.4 E, 34.4-49.2 N) with its borders
#: (Tian Shan, Pamir, Altai, West Kunlun); it holds 9,884 events of china_mw_1900_2016.csv since 1970.
XINJIANG_BOX = (73.0, 34.0, 97.0, 50.0)

#: Header names accepted for each column (lower case, stripped).
_ALIASES = {
    "time": ("time", "origin_time", "origintime", "datetime", "date_time", "otime"),
    "date": ("date",),
    "year": ("year", "yr", "yyyy"), "month": ("month", "mo", "mm"), "day": ("day", "dy", "dd"),
    "hour": ("hour", "hr", "hh"), "minute": ("minute", "mi", "min"), "second": ("second", "sec", "s", "ss"),
    "lat": ("latitude", "lat", "latitude_deg", "evla"),
    "lon": ("longitude", "lon", "long", "longitude_deg", "evlo"),
    "depth": ("depth", "depth_km", "dep", "evdp"),
    "mag": ("magnitude", "mag", "mw", "ms", "ml", "m"),
    "magtype": ("magtype", "mag_type", "magnitude_type"),
    "id": ("id", "event_id", "eventid", "evid"),
}


@dataclass(frozen=True)
class SeismicCatalog:
    """Events as columns (one row per event, in the order read or selected).

    ``time_s`` POSIX seconds (UTC); ``latitude_deg``/``longitude_deg`` (longitude in
    [-180, 180]); ``depth_km`` NaN where unknown; ``magnitude``; ``magnitude_type`` and
    ``event_id`` (object arrays of str); ``line`` the 1-based source line (0 where the source
    is not a text file). ``skipped`` lists ``(line, reason)`` for unreadable lines; ``notes``
    other remarks about the reading (events without origin, sorting...).
    """

    time_s: np.ndarray
    latitude_deg: np.ndarray
    longitude_deg: np.ndarray
    depth_km: np.ndarray
    magnitude: np.ndarray
    magnitude_type: np.ndarray
    event_id: np.ndarray
    line: np.ndarray
    source: str = ""
    skipped: tuple[tuple[int, str], ...] = ()
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        n = np.asarray(self.time_s).size
        for name in ("latitude_deg", "longitude_deg", "depth_km", "magnitude", "magnitude_type", "event_id", "line"):
            if np.asarray(getattr(self, name)).size != n:
                raise ValueError(f"SeismicCatalog.{name}: {np.asarray(getattr(self, name)).size} values, "
                                 f"time_s has {n}")

    def __len__(self) -> int:
        return int(np.asarray(self.time_s).size)

    @property
    def times(self) -> list[datetime]:
        """Origin times as aware UTC datetimes (times before 0001-01-01 UTC, e.g. a Beijing-time record
        of 1 January of year 1, are clamped to that date)."""
        return [posix_to_datetime(t) for t in self.time_s]

    @property
    def decimal_year(self) -> np.ndarray:
        """Origin times in years since 1970-01-01 plus 1970 (365.25-day years)."""
        return 1970.0 + np.asarray(self.time_s, float) / (365.25 * 86400.0)

    def subset(self, index) -> "SeismicCatalog":
        """Rows by boolean mask or integer index (order kept as given)."""
        idx = np.asarray(index)
        return SeismicCatalog(
            time_s=self.time_s[idx], latitude_deg=self.latitude_deg[idx], longitude_deg=self.longitude_deg[idx],
            depth_km=self.depth_km[idx], magnitude=self.magnitude[idx], magnitude_type=self.magnitude_type[idx],
            event_id=self.event_id[idx], line=self.line[idx], source=self.source, skipped=self.skipped,
            notes=self.notes)

    def sorted(self) -> "SeismicCatalog":
        """The catalog in time order (stable for equal times)."""
        return self.subset(np.argsort(self.time_s, kind="stable"))


def posix_to_datetime(t: float) -> datetime:
    """Aware UTC datetime of POSIX seconds ``t`` (clamped to the range of :class:`datetime`)."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    try:
        return epoch + timedelta(seconds=float(t))
    except OverflowError:
        return datetime(1, 1, 1, tzinfo=UTC) if t < 0 else datetime(9999, 12, 31, tzinfo=UTC)


def _make(rows: dict[str, list], source: str, skipped: Sequence[tuple[int, str]] = (),
          notes: Sequence[str] = ()) -> SeismicCatalog:
    n = len(rows["t"])
    lon = np.asarray(rows["lon"], float)
    lon = np.where(lon > 180.0, lon - 360.0, lon)
    return SeismicCatalog(
        time_s=np.asarray(rows["t"], float), latitude_deg=np.asarray(rows["lat"], float), longitude_deg=lon,
        depth_km=np.asarray(rows["depth"], float), magnitude=np.asarray(rows["mag"], float),
        magnitude_type=np.asarray(rows.get("magtype") or [""] * n, dtype=object),
        event_id=np.asarray(rows["id"], dtype=object), line=np.asarray(rows["line"], np.int64), source=source,
        skipped=tuple(skipped), notes=tuple(notes))


def _empty_rows() -> dict[str, list]:
    return {k: [] for k in ("t", "lat", "lon", "depth", "mag", "magtype", "id", "line")}


def _check_value(name: str, value: float, lo: float, hi: float) -> float:
    if not math.isfinite(value) or not lo <= value <= hi:
        raise ValueError(f"{name} {value!r} out of range [{lo:g}, {hi:g}]")
    return value


def _num(text: str, name: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{name} {str(text).strip()!r} is not a number") from None


def _posix_from_parts(y, mo, d, h, mi, s) -> float:
    """POSIX seconds of calendar fields (seconds may carry a fraction or be 60)."""
    for name, v in (("year", y), ("month", mo), ("day", d), ("hour", h), ("minute", mi)):
        if v != int(v):
            raise ValueError(f"{name} {v!r} is not an integer")
    if not 0.0 <= s < 61.0:
        raise ValueError(f"second {s!r} out of range [0, 61)")
    try:
        base = datetime(int(y), int(mo), int(d), int(h), int(mi), tzinfo=UTC)
    except ValueError as err:
        raise ValueError(f"date/time {int(y)}-{int(mo)}-{int(d)} {int(h)}:{int(mi)}: {err}") from None
    return base.timestamp() + s


def _iso_posix(text: str) -> float:
    raw = text.strip()
    try:
        t = datetime.fromisoformat(raw.replace(" ", "T", 1) if "T" not in raw and " " in raw else raw)
    except ValueError:
        raise ValueError(f"time {raw!r} is not ISO 8601") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.timestamp()


def _clock_seconds(text: str) -> float:
    parts = text.strip().split(":")
    if len(parts) not in (2, 3):
        raise ValueError(f"time {text.strip()!r} is not HH:MM[:SS]")
    h, mi = int(parts[0]), int(parts[1])
    s = float(parts[2]) if len(parts) == 3 else 0.0
    if not (0 <= h < 24 and 0 <= mi < 60 and 0.0 <= s < 61.0):
        raise ValueError(f"time {text.strip()!r} out of range")
    return h * 3600.0 + mi * 60.0 + s


def _date_posix(text: str) -> float:
    parts = text.strip().replace("/", "-").split("-")
    if len(parts) != 3:
        raise ValueError(f"date {text.strip()!r} is not YYYY-MM-DD")
    try:
        return datetime(int(parts[0]), int(parts[1]), int(parts[2]), tzinfo=UTC).timestamp()
    except ValueError as err:
        raise ValueError(f"date {text.strip()!r}: {err}") from None


def _is_numeric_row(row: list[str]) -> bool:
    try:
        [float(c) for c in row if c.strip()]
    except ValueError:
        return False
    return sum(1 for c in row if c.strip()) >= 9


def _columns(header: list[str]) -> dict[str, int]:
    cols: dict[str, int] = {}
    names = [h.strip().lower() for h in header]
    for key, aliases in _ALIASES.items():
        for alias in aliases:
            if alias in names:
                cols[key] = names.index(alias)
                break
    return cols


def _depth(text: str | None) -> float:
    if text is None or not str(text).strip():
        return math.nan
    d = _num(text, "depth")
    if d == -1.0:  # the "unknown" code of china_mw_1900_2016.csv and EQT
        return math.nan
    return _check_value("depth", d, -10.0, 1000.0)


def read_csv_catalog(path: str | os.PathLike) -> SeismicCatalog:
    """Read a CSV catalog in any of the layouts of the module docstring.

    Unreadable rows are skipped and listed with their line numbers; raises
    :class:`InputError` for a missing file, a header without time/latitude/longitude/magnitude
    columns, or a file without any readable row.
    """
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise InputError("no such file", source=src)
    rows = _empty_rows()
    skipped: list[tuple[int, str]] = []
    layout: str | None = None
    cols: dict[str, int] = {}
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv.reader(fh)
        for row in reader:
            if not any(c.strip() for c in row) or row[0].lstrip().startswith("#"):
                continue
            line = reader.line_num
            if layout is None:
                if _is_numeric_row(row):
                    layout = "numeric"
                else:
                    cols = _columns(row)
                    if "time" in cols and "date" in cols:
                        layout = "date+time"
                    elif "time" in cols:
                        layout = "iso"
                    elif all(k in cols for k in ("year", "month", "day")):
                        layout = "fields"
                    else:
                        raise InputError("header names no time column (time, date+time or year,month,day...)",
                                         source=src, line=line)
                    missing = [k for k in ("lat", "lon", "mag") if k not in cols]
                    if missing:
                        raise InputError(f"header lacks column(s) {', '.join(missing)}", source=src, line=line)
                    continue
            try:
                if layout == "numeric":
                    cells = [c.strip() for c in row]
                    if len(cells) < 9:
                        raise ValueError(f"{len(cells)} fields, expected at least 9 (yr,mo,dy,hr,mi,s,lat,lon,mag)")
                    y, mo, d, h, mi, s = (_num(c, n) for c, n in zip(cells[:6], ("year", "month", "day", "hour",
                                                                                  "minute", "second")))
                    t = _posix_from_parts(y, mo, d, h, mi, s)
                    lat, lon, mag = _num(cells[6], "latitude"), _num(cells[7], "longitude"), _num(cells[8], "magnitude")
                    depth = _depth(cells[9] if len(cells) > 9 else None)
                    mtype, eid = "", ""
                else:
                    need = max(cols.values()) + 1
                    if len(row) < need:
                        raise ValueError(f"{len(row)} fields, expected at least {need}")

                    def cell(key: str) -> str | None:
                        return row[cols[key]] if key in cols else None

                    if layout == "iso":
                        t = _iso_posix(cell("time"))
                    elif layout == "date+time":
                        t = _date_posix(cell("date")) + _clock_seconds(cell("time"))
                    else:
                        parts = [_num(cell(k), k) if cell(k) not in (None, "") else 0.0
                                 for k in ("year", "month", "day", "hour", "minute", "second")]
                        t = _posix_from_parts(*parts)
                    lat, lon, mag = _num(cell("lat"), "latitude"), _num(cell("lon"), "longitude"), _num(cell("mag"),
                                                                                                       "magnitude")
                    depth = _depth(cell("depth"))
                    mtype = (cell("magtype") or "").strip()
                    eid = (cell("id") or "").strip()
                _check_value("latitude", lat, -90.0, 90.0)
                _check_value("longitude", lon, -180.0, 360.0)
                _check_value("magnitude", mag, -5.0, 10.5)
            except ValueError as err:
                skipped.append((line, str(err)))
                continue
            for k, v in (("t", t), ("lat", lat), ("lon", lon), ("depth", depth), ("mag", mag), ("magtype", mtype),
                         ("id", eid or f"{path.name}:{line}"), ("line", line)):
                rows[k].append(v)
    if layout is None:
        raise InputError("empty file", source=src)
    if not rows["t"]:
        first = f"; first: line {skipped[0][0]}: {skipped[0][1]}" if skipped else ""
        raise InputError(f"no readable event row ({len(skipped)} line(s) skipped{first})", source=src)
    return _make(rows, src, skipped)


def read_eqt_catalog(path: str | os.PathLike) -> SeismicCatalog:
    """A CENC EQT file (GBK, Beijing time) as a catalog in UTC; corrupt lines are listed in ``skipped``.

    Records with a 0.0 magnitude (no magnitude in the catalog) are kept as 0.0 and counted in
    ``notes``; unknown depths (``-1``) become NaN.
    """
    from tianshan.io.eqt import BEIJING_UTC_OFFSET_H, read_eqt

    cat = read_eqt(path)
    rows = _empty_rows()
    offset = timezone(timedelta(hours=BEIJING_UTC_OFFSET_H))
    line_no = _eqt_line_numbers(Path(path), len(cat), {ln for ln, _ in cat.skipped})
    for k, rec in enumerate(cat.records):
        t = rec.time.replace(tzinfo=offset).timestamp()
        for key, v in (("t", t), ("lat", rec.latitude_deg), ("lon", rec.longitude_deg),
                       ("depth", math.nan if rec.depth_km is None else float(rec.depth_km)),
                       ("mag", rec.magnitude), ("magtype", "M"), ("id", f"{Path(path).name}:{line_no[k]}"),
                       ("line", line_no[k])):
            rows[key].append(v)
    notes = []
    n_zero = sum(1 for r in cat.records if r.magnitude == 0.0)
    if n_zero:
        notes.append(f"{n_zero} record(s) without magnitude (0.0)")
    return _make(rows, str(path), cat.skipped, notes)


def _eqt_line_numbers(path: Path, n_records: int, skipped: set[int]) -> list[int]:
    """1-based line numbers of the records read by :func:`read_eqt` (non-blank, not skipped)."""
    numbers = [k for k, raw in enumerate(path.read_bytes().splitlines(), start=1)
               if raw.strip() and k not in skipped]
    return numbers[:n_records] if len(numbers) >= n_records else list(range(1, n_records + 1))


def catalog_from_events(events: Iterable, source: str = "events") -> SeismicCatalog:
    """Domain :class:`~tianshan.core.Event` objects as a catalog (preferred origin and magnitude).

    Events without an origin or without a magnitude are skipped and counted in ``notes``.
    """
    rows = _empty_rows()
    no_origin = no_mag = 0
    for ev in events:
        o, m = ev.preferred_origin, ev.preferred_magnitude
        if o is None:
            no_origin += 1
            continue
        if m is None:
            no_mag += 1
            continue
        for key, v in (("t", o.time.timestamp()), ("lat", o.latitude_deg), ("lon", o.longitude_deg),
                       ("depth", math.nan if (o.depth_fixed and o.depth_m == 0.0) else o.depth_m / 1000.0),
                       ("mag", m.value), ("magtype", m.type), ("id", ev.id), ("line", 0)):
            rows[key].append(v)
    notes = []
    if no_origin:
        notes.append(f"{no_origin} event(s) without origin skipped")
    if no_mag:
        notes.append(f"{no_mag} event(s) without magnitude skipped")
    if not rows["t"]:
        raise InputError("no event with an origin and a magnitude" + (f" ({'; '.join(notes)})" if notes else ""),
                         source=source)
    return _make(rows, source, (), notes)


def read_quakeml_catalog(path: str | os.PathLike) -> SeismicCatalog:
    """A QuakeML 1.2 / SCML file as a catalog (preferred origin and magnitude of each event)."""
    from tianshan.io.quakeml import read_quakeml

    return catalog_from_events(read_quakeml(path), source=str(path))


def fetch_fdsn_catalog(service: str, *, start=None, end=None, min_magnitude: float | None = None,
                       bbox: tuple[float, float, float, float] | None = None, timeout_s: float = 120.0,
                       **query) -> SeismicCatalog:
    """Events from an FDSN event web service through ObsPy's client.

    ``service`` is an ObsPy provider name (``"USGS"``, ``"ISC"``, ``"EMSC"``...) or a base URL;
    ``bbox`` = (west, south, east, north) degrees; further ``query`` keywords go to
    ``Client.get_events`` unchanged. A service error, a timeout or "no data" raise
    :class:`InputError` naming the service.
    """
    from obspy import UTCDateTime
    from obspy.clients.fdsn import Client
    from obspy.clients.fdsn.header import FDSNException, FDSNNoDataException

    from tianshan.io.quakeml import catalog_from_obspy

    kw = dict(query)
    if start is not None:
        kw["starttime"] = UTCDateTime(_as_datetime(start, "start"))
    if end is not None:
        kw["endtime"] = UTCDateTime(_as_datetime(end, "end"))
    if min_magnitude is not None:
        kw["minmagnitude"] = float(min_magnitude)
    if bbox is not None:
        kw.update(minlongitude=bbox[0], minlatitude=bbox[1], maxlongitude=bbox[2], maxlatitude=bbox[3])
    try:
        client = Client(service, timeout=timeout_s)
        cat = client.get_events(**kw)
    except FDSNNoDataException:
        raise InputError("the service has no event for this query", source=service) from None
    except (FDSNException, OSError, ValueError) as err:
        raise InputError(f"FDSN event request failed: {type(err).__name__}: {err}", source=service) from None
    return catalog_from_events(catalog_from_obspy(cat, _source=service), source=service)


def store_catalog(url: str | None = None, data_dir: str | os.PathLike | None = None, *, start=None, end=None,
                  min_magnitude: float | None = None,
                  bbox: tuple[float, float, float, float] | None = None) -> SeismicCatalog:
    """Events of the event store (SQLite or PostgreSQL URL, or ``<data_dir>/tianshan.sqlite``)."""
    from tianshan.store.repository import EventStore

    store = EventStore.open(url, data_dir, upgrade=False)
    try:
        events = store.events(start=start, end=end, min_magnitude=min_magnitude, bbox=bbox)
        return catalog_from_events(events, source=store.url)
    finally:
        store.close()


def read_catalog(path: str | os.PathLike, fmt: str = "auto") -> SeismicCatalog:
    """Read a catalog file: ``fmt`` ``"eqt"``, ``"csv"``, ``"quakeml"`` or ``"auto"`` (by extension,
    else by content: ``<`` starts XML, a GBK fixed-width record starts EQT, anything else is CSV)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", source=str(path))
    fmt = fmt.lower()
    if fmt == "auto":
        ext = path.suffix.lower()
        if ext in (".eqt",):
            fmt = "eqt"
        elif ext in (".xml", ".qml", ".quakeml", ".scml"):
            fmt = "quakeml"
        elif ext in (".csv", ".tsv"):
            fmt = "csv"
        else:
            head = path.read_bytes()[:400].lstrip()
            if head.startswith(b"<"):
                fmt = "quakeml"
            elif len(head) > 38 and head.split(b"\n")[0][:15].replace(b" ", b"").isdigit():
                fmt = "eqt"
            else:
                fmt = "csv"
    readers = {"eqt": read_eqt_catalog, "csv": read_csv_catalog, "quakeml": read_quakeml_catalog}
    if fmt not in readers:
        raise InputError(f"unknown catalog format {fmt!r} (eqt, csv, quakeml or auto)", field="format")
    return readers[fmt](path)


def _as_datetime(value, name: str) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    from tianshan.analysis.etas.data import parse_time

    return parse_time(str(value), name)


def select(cat: SeismicCatalog, *, polygon=None, bbox: tuple[float, float, float, float] | None = None,
           start=None, end=None, min_magnitude: float | None = None, max_magnitude: float | None = None,
           min_depth_km: float | None = None, max_depth_km: float | None = None) -> SeismicCatalog:
    """Events inside ``polygon`` (``"lat,lon;lat,lon;..."`` or ``(lat, lon)`` pairs, even-odd rule) or
    ``bbox`` = (west, south, east, north) (edges included; west > east crosses the antimeridian),
    with ``start <= time < end``, ``min_magnitude <= M <= max_magnitude`` and depth within
    ``[min_depth_km, max_depth_km]``. Events of unknown depth fail any depth filter.

    Raises :class:`InputError` when nothing is left (the message names the filters).
    """
    from tianshan.analysis.etas.data import parse_polygon, points_in_polygon

    keep = np.ones(len(cat), bool)
    what: list[str] = []
    if polygon is not None:
        verts = parse_polygon(polygon) if isinstance(polygon, str) else tuple(polygon)
        plat = np.array([float(v[0]) for v in verts])
        plon = np.array([float(v[1]) for v in verts])
        keep &= points_in_polygon(cat.longitude_deg, cat.latitude_deg, plon, plat)
        what.append(f"polygon of {len(verts)} vertices")
    if bbox is not None:
        west, south, east, north = (float(v) for v in bbox)
        if not (-90.0 <= south <= north <= 90.0):
            raise InputError(f"south/north {south}/{north} are not ordered latitudes", field="bbox")
        lon = cat.longitude_deg
        inlon = (lon >= west) & (lon <= east) if west <= east else (lon >= west) | (lon <= east)
        keep &= inlon & (cat.latitude_deg >= south) & (cat.latitude_deg <= north)
        what.append(f"box {west:g}..{east:g}E {south:g}..{north:g}N")
    if start is not None:
        t0 = _as_datetime(start, "start")
        keep &= cat.time_s >= t0.timestamp()
        what.append(f"from {t0:%Y-%m-%d %H:%M:%S}")
    if end is not None:
        t1 = _as_datetime(end, "end")
        keep &= cat.time_s < t1.timestamp()
        what.append(f"before {t1:%Y-%m-%d %H:%M:%S}")
    if min_magnitude is not None:
        keep &= cat.magnitude >= float(min_magnitude) - 1e-9
        what.append(f"M >= {min_magnitude:g}")
    if max_magnitude is not None:
        keep &= cat.magnitude <= float(max_magnitude) + 1e-9
        what.append(f"M <= {max_magnitude:g}")
    if min_depth_km is not None:
        keep &= np.nan_to_num(cat.depth_km, nan=-np.inf) >= float(min_depth_km)
        what.append(f"depth >= {min_depth_km:g} km")
    if max_depth_km is not None:
        keep &= np.nan_to_num(cat.depth_km, nan=np.inf) <= float(max_depth_km)
        what.append(f"depth <= {max_depth_km:g} km")
    if not keep.any():
        raise InputError(f"empty selection: none of the {len(cat)} events matches "
                         f"{', '.join(what) or 'the filters'}", source=cat.source or None)
    return cat.subset(keep)
