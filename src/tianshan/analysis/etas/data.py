"""ETAS input data: the R ``ETAS`` catalog layout, the study region and the target/complementary split.

Reader
    :func:`read_etas_csv` reads the data layout of the R package ETAS (Jalilian 2019,
    J. Stat. Softw. 88(c01), function ``catalog``): a CSV with a header naming at least
    ``date,time,long,lat,mag`` (optionally ``depth``; ``lon``/``longitude``, ``latitude``,
    ``magnitude`` are accepted as aliases). Dates are ``YYYY-MM-DD`` or ``YYYY/MM/DD``,
    times ``HH:MM[:SS[.fff]]`` in UTC (R's ``tz="GMT"``). A row that cannot be read is
    skipped and reported with its 1-based line number (:attr:`EtasCsv.skipped`); a file
    with no readable row, or without the required columns, raises
    :class:`~tianshan.core.errors.InputError`.

Study set-up (:func:`make_catalog`), with the rules of R's ``catalog()``:

* events are sorted by time; time is in **days** since ``time_begin`` (default: the
  first event of the file, whatever its magnitude);
* kept: ``time_begin <= t <= study_end`` and ``mag >= mag_threshold`` (``m0``);
  magnitudes are stored as ``m - m0``;
* **target** events (flag 1) lie inside the polygon during the study period
  ``[study_start, study_end]``; **complementary** events are those outside the polygon
  (flag 0) or before ``study_start`` (flag -2). Complementary events trigger (they enter
  the sum of the conditional intensity and its integral) but their own log-intensity is
  not part of the likelihood;
* coordinates are projected to a flat map as R's ``longlat2xy`` does: for
  ``dist_unit="degree"`` the equirectangular projection about the area centroid
  ``(lon_c, lat_c)`` of the polygon, ``x = cos(lat_c) (lon - lon_c)``, ``y = lat - lat_c``
  (degrees); for ``"km"``, ``x = 111.320 cos(lat) lon``, ``y = 110.574 lat`` (km,
  cosine of each point's own latitude);
* the default region is the rectangle of the data's range widened by 1 % on each side.

Departures from R: events at the same instant are kept (R stops; here ``notes`` says how
many, and the earlier row counts as earlier), and the random round-off jitter of newer R
versions (``roundoff=TRUE``) is not applied, so fits are deterministic.

The polygon is given as ``(lat, lon)`` vertices (``"lat,lon;lat,lon;..."`` on the command
line, :func:`parse_polygon`); it is stored anticlockwise and closed (first vertex
repeated), as spatstat's ``owin`` stores it for R's integration routines.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from tianshan.core.errors import InputError

UTC = timezone.utc
#: Column names of the R layout and the aliases accepted for them.
_ALIASES = {"date": "date", "time": "time", "long": "long", "lon": "long", "longitude": "long",
            "lat": "lat", "latitude": "lat", "mag": "mag", "magnitude": "mag", "depth": "depth"}
REQUIRED = ("date", "time", "long", "lat", "mag")
DIST_UNITS = ("degree", "km")


@dataclass(frozen=True)
class EtasCsv:
    """Rows read from an R-ETAS-layout CSV, in file order.

    ``time_s`` are POSIX seconds (UTC); ``depth_km`` is NaN where the file has no depth;
    ``line`` is the 1-based line number of each row; ``skipped`` lists
    ``(line, reason)`` for rows that could not be read.
    """

    source: str
    time_s: np.ndarray
    longitude_deg: np.ndarray
    latitude_deg: np.ndarray
    magnitude: np.ndarray
    depth_km: np.ndarray
    line: np.ndarray
    skipped: tuple[tuple[int, str], ...] = ()

    def __len__(self) -> int:
        return int(self.time_s.size)


def _parse_date(text: str) -> tuple[int, int, int]:
    parts = text.strip().replace("/", "-").split("-")
    if len(parts) != 3:
        raise ValueError(f"date {text!r} is not YYYY-MM-DD")
    y, mo, d = (int(p) for p in parts)
    datetime(y, mo, d)  # range check
    return y, mo, d


def _parse_clock(text: str) -> float:
    parts = text.strip().split(":")
    if len(parts) not in (2, 3):
        raise ValueError(f"time {text!r} is not HH:MM[:SS]")
    h, mi = int(parts[0]), int(parts[1])
    s = float(parts[2]) if len(parts) == 3 else 0.0
    if not (0 <= h < 24 and 0 <= mi < 60 and 0.0 <= s < 61.0):
        raise ValueError(f"time {text!r} out of range")
    return h * 3600.0 + mi * 60.0 + s


def _posix(y: int, mo: int, d: int, seconds: float) -> float:
    return datetime(y, mo, d, tzinfo=UTC).timestamp() + seconds


def _number(text: str, name: str, lo: float, hi: float) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} is not a number") from None
    if not math.isfinite(v) or not lo <= v <= hi:
        raise ValueError(f"{name} {text!r} out of range [{lo:g}, {hi:g}]")
    return v


def read_etas_csv(path: str | os.PathLike) -> EtasCsv:
    """Read a catalog in the R ETAS layout (``date,time,long,lat,mag[,depth]``).

    Unreadable rows are skipped and listed with their line numbers in ``skipped``;
    raises :class:`InputError` when the file lacks a required column or has no readable row.
    """
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise InputError("no such file", source=src)
    cols: dict[str, int] = {}
    out: dict[str, list] = {k: [] for k in ("t", "lon", "lat", "mag", "depth", "line")}
    skipped: list[tuple[int, str]] = []
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header_line = None
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if header_line is None:
                header_line = reader.line_num
                for i, name in enumerate(row):
                    key = _ALIASES.get(name.strip().lower())
                    if key is not None and key not in cols:
                        cols[key] = i
                missing = [k for k in REQUIRED if k not in cols]
                if missing:
                    raise InputError(f"header lacks column(s) {', '.join(missing)} "
                                     f"(the R ETAS layout is date,time,long,lat,mag[,depth])",
                                     source=src, line=header_line)
                continue
            line = reader.line_num
            try:
                need = max(cols[k] for k in REQUIRED) + 1
                if len(row) < need:
                    raise ValueError(f"{len(row)} fields, expected at least {need}")
                y, mo, d = _parse_date(row[cols["date"]])
                t = _posix(y, mo, d, _parse_clock(row[cols["time"]]))
                lon = _number(row[cols["long"]], "long", -180.0, 360.0)
                lat = _number(row[cols["lat"]], "lat", -90.0, 90.0)
                mag = _number(row[cols["mag"]], "mag", -10.0, 12.0)
                depth = math.nan
                if "depth" in cols and cols["depth"] < len(row) and row[cols["depth"]].strip():
                    depth = _number(row[cols["depth"]], "depth", -10.0, 1000.0)
            except ValueError as err:
                skipped.append((line, str(err)))
                continue
            for k, v in zip(("t", "lon", "lat", "mag", "depth", "line"), (t, lon, lat, mag, depth, line)):
                out[k].append(v)
    if header_line is None:
        raise InputError("empty file (no header)", source=src)
    if not out["t"]:
        first = f"; first bad line {skipped[0][0]}: {skipped[0][1]}" if skipped else ""
        raise InputError(f"no readable event rows ({len(skipped)} skipped{first})", source=src)
    return EtasCsv(source=src, time_s=np.asarray(out["t"], float), longitude_deg=np.asarray(out["lon"], float),
                   latitude_deg=np.asarray(out["lat"], float), magnitude=np.asarray(out["mag"], float),
                   depth_km=np.asarray(out["depth"], float), line=np.asarray(out["line"], np.int64),
                   skipped=tuple(skipped))


def parse_time(text: str | datetime, field_name: str = "time") -> datetime:
    """``YYYY-MM-DD[ HH:MM[:SS]]`` (or ``/`` separated, or ISO ``T``) as an aware UTC datetime."""
    if isinstance(text, datetime):
        return text.replace(tzinfo=UTC) if text.tzinfo is None else text.astimezone(UTC)
    raw = str(text).strip()
    date_part, _, clock = raw.replace("T", " ").partition(" ")
    try:
        y, mo, d = _parse_date(date_part)
        secs = _parse_clock(clock.rstrip("Z")) if clock.strip() else 0.0
    except ValueError as err:
        raise InputError(f"cannot read {raw!r} as a date/time: {err}", field=field_name) from None
    return datetime.fromtimestamp(_posix(y, mo, d, secs), tz=UTC)


def parse_polygon(text: str) -> tuple[tuple[float, float], ...]:
    """``"lat,lon;lat,lon;..."`` -> ((lat, lon), ...); at least 3 distinct vertices."""
    verts: list[tuple[float, float]] = []
    for k, part in enumerate(p for p in str(text).split(";") if p.strip()):
        bits = [b.strip() for b in part.split(",")]
        if len(bits) != 2:
            raise InputError(f"vertex {k + 1} {part.strip()!r} is not 'lat,lon'", field="polygon")
        try:
            lat, lon = float(bits[0]), float(bits[1])
        except ValueError:
            raise InputError(f"vertex {k + 1} {part.strip()!r} is not numeric", field="polygon") from None
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 360.0):
            raise InputError(f"vertex {k + 1} ({lat}, {lon}) out of range", field="polygon")
        verts.append((lat, lon))
    if len(verts) > 1 and verts[0] == verts[-1]:
        verts.pop()
    if len(set(verts)) < 3:
        raise InputError("a polygon needs at least 3 distinct 'lat,lon' vertices", field="polygon")
    return tuple(verts)


def polygon_area_centroid(px: np.ndarray, py: np.ndarray) -> tuple[float, float, float]:
    """Signed area (positive anticlockwise) and area centroid of a simple polygon (shoelace formula)."""
    x, y = np.asarray(px, float), np.asarray(py, float)
    xn, yn = np.roll(x, -1), np.roll(y, -1)
    cross = x * yn - xn * y
    area = 0.5 * float(cross.sum())
    if area == 0.0:
        return 0.0, float(x.mean()), float(y.mean())
    cx = float(((x + xn) * cross).sum()) / (6.0 * area)
    cy = float(((y + yn) * cross).sum()) / (6.0 * area)
    return area, cx, cy


def points_in_polygon(x: np.ndarray, y: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Even-odd (ray casting) test of points against a polygon (vertices not repeated)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    inside = np.zeros(x.shape, bool)
    n = len(px)
    for k in range(n):
        x1, y1, x2, y2 = px[k], py[k], px[(k + 1) % n], py[(k + 1) % n]
        if y1 == y2:
            continue
        crosses = (y1 > y) != (y2 > y)
        xc = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (x < xc)
    return inside


@dataclass(frozen=True)
class Projection:
    """Flat-map projection of R ETAS ``longlat2xy`` (see the module docstring)."""

    dist_unit: str
    center_lon_deg: float = 0.0
    center_lat_deg: float = 0.0

    def forward(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        lon, lat = np.asarray(lon, float), np.asarray(lat, float)
        if self.dist_unit == "degree":
            return math.cos(math.radians(self.center_lat_deg)) * (lon - self.center_lon_deg), lat - self.center_lat_deg
        return 111.320 * np.cos(np.radians(lat)) * lon, 110.574 * lat

    def inverse(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        x, y = np.asarray(x, float), np.asarray(y, float)
        if self.dist_unit == "degree":
            return x / math.cos(math.radians(self.center_lat_deg)) + self.center_lon_deg, y + self.center_lat_deg
        lat = y / 110.574
        return x / (111.320 * np.cos(np.radians(lat))), lat


@dataclass(frozen=True)
class EtasCatalog:
    """A catalog prepared for ETAS fitting (R's ``catalog`` object), sorted by time.

    Arrays (one entry per kept event): ``t`` days since ``time_begin``; ``x, y`` projected
    coordinates (``dist_unit``); ``m`` magnitude minus ``mag_threshold``; ``flag`` 1 target,
    0 outside the polygon, -2 before the study start; ``longitude_deg``, ``latitude_deg``,
    ``line`` (source line). ``polygon_xy`` is the closed anticlockwise study polygon in
    projected coordinates (shape (k+1, 2)); ``t_start``/``t_end`` the study period in days.
    """

    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    m: np.ndarray
    flag: np.ndarray
    longitude_deg: np.ndarray
    latitude_deg: np.ndarray
    line: np.ndarray
    polygon_xy: np.ndarray
    polygon_latlon: tuple[tuple[float, float], ...]
    projection: Projection
    t_start: float
    t_end: float
    time_begin: datetime
    study_start: datetime
    study_end: datetime
    mag_threshold: float
    source: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def dist_unit(self) -> str:
        return self.projection.dist_unit

    @property
    def n_events(self) -> int:
        return int(self.t.size)

    @property
    def n_target(self) -> int:
        return int((self.flag == 1).sum())

    @property
    def n_complementary(self) -> int:
        return self.n_events - self.n_target

    @property
    def target_index(self) -> np.ndarray:
        return np.flatnonzero(self.flag == 1)

    @property
    def study_length(self) -> float:
        """Study period length in days."""
        return self.t_end - self.t_start

    @property
    def region_area(self) -> float:
        """Area of the study polygon in squared distance units."""
        return polygon_area_centroid(self.polygon_xy[:-1, 0], self.polygon_xy[:-1, 1])[0]


def _region(polygon, lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """(lat, lon) vertex arrays of the region, anticlockwise (default: data range + 1 %)."""
    if polygon is None:
        lat_r = (lat.min() - 0.01 * np.ptp(lat), lat.max() + 0.01 * np.ptp(lat))
        lon_r = (lon.min() - 0.01 * np.ptp(lon), lon.max() + 0.01 * np.ptp(lon))
        if lat_r[0] == lat_r[1] or lon_r[0] == lon_r[1]:
            raise InputError("cannot make a default region from events on one line; give a polygon",
                             field="polygon")
        plon = np.array([lon_r[0], lon_r[1], lon_r[1], lon_r[0]])
        plat = np.array([lat_r[0], lat_r[0], lat_r[1], lat_r[1]])
    else:
        verts = parse_polygon(polygon) if isinstance(polygon, str) else tuple(polygon)
        if len(verts) < 3:
            raise InputError("a polygon needs at least 3 vertices", field="polygon")
        plat = np.array([float(v[0]) for v in verts])
        plon = np.array([float(v[1]) for v in verts])
    area, _, _ = polygon_area_centroid(plon, plat)
    if area == 0.0:
        raise InputError("the polygon has zero area", field="polygon")
    if area < 0.0:  # stored anticlockwise, as spatstat's owin does
        plat, plon = plat[::-1].copy(), plon[::-1].copy()
    return plat, plon


def make_catalog(data: EtasCsv, *, time_begin=None, study_start=None, study_end=None,
                 mag_threshold: float | None = None, polygon=None, dist_unit: str = "degree") -> EtasCatalog:
    """Prepare ``data`` for fitting: R ``catalog()`` rules (see the module docstring).

    ``polygon``: ``"lat,lon;..."`` or a sequence of ``(lat, lon)``; ``None`` for the
    default rectangle. Times: datetimes or ``YYYY-MM-DD[ HH:MM:SS]`` strings.
    Raises :class:`InputError` for inconsistent periods, a bad polygon or an empty
    target selection.
    """
    if dist_unit not in DIST_UNITS:
        raise InputError(f"dist_unit must be one of {DIST_UNITS}, not {dist_unit!r}", field="dist_unit")
    order = np.argsort(data.time_s, kind="stable")
    ts = data.time_s[order]
    lon, lat, mag = data.longitude_deg[order], data.latitude_deg[order], data.magnitude[order]
    line = data.line[order]
    notes: list[str] = []
    if np.any(np.diff(data.time_s) < 0):
        notes.append("events were not in time order: sorted")
    n_dup = int(np.sum(np.diff(ts) == 0))
    if n_dup:
        notes.append(f"{n_dup} event(s) share their time with the previous one")

    # Float seconds are kept for the defaults so that the first/last event is never lost to rounding.
    if time_begin is None:
        tb_s = float(ts[0])
        tb = datetime.fromtimestamp(tb_s, tz=UTC)
    else:
        tb = parse_time(time_begin, "time_begin")
        tb_s = tb.timestamp()
    if np.all(ts < tb_s):
        raise InputError(f"no event after time_begin {tb.isoformat()}", field="time_begin")
    ss = tb if study_start is None else parse_time(study_start, "study_start")
    ss_s = tb_s if study_start is None else ss.timestamp()
    if ss_s < tb_s:
        raise InputError(f"study start {ss.isoformat()} is before time_begin {tb.isoformat()}", field="study_start")
    if study_end is None:
        se_s = float(ts[-1])
        se = datetime.fromtimestamp(se_s, tz=UTC)
    else:
        se = parse_time(study_end, "study_end")
        se_s = se.timestamp()
    if se_s < ss_s:
        raise InputError(f"study end {se.isoformat()} is before study start {ss.isoformat()}", field="study_end")
    m0 = float(mag.min()) if mag_threshold is None else float(mag_threshold)
    if not math.isfinite(m0):
        raise InputError("mag_threshold must be a finite number", field="mag_threshold")

    plat, plon = _region(polygon, lon, lat)
    if dist_unit == "degree":
        _, clon, clat = polygon_area_centroid(plon, plat)
        proj = Projection("degree", clon, clat)
    else:
        proj = Projection("km")
    x_all, y_all = proj.forward(lon, lat)
    pxx, pyy = proj.forward(plon, plat)

    keep = (ts <= se_s) & (ts >= tb_s) & (mag >= m0)
    if not keep.any():
        raise InputError(f"empty selection: no event with magnitude >= {m0:g} between "
                         f"{tb.date()} and {se.date()}", source=data.source)
    x, y = x_all[keep], y_all[keep]
    flag = points_in_polygon(x, y, pxx, pyy).astype(np.int8)
    flag[ts[keep] < ss_s] = -2
    if not (flag == 1).any():
        raise InputError(f"empty selection: no target event (magnitude >= {m0:g} inside the polygon between "
                         f"{ss.date()} and {se.date()})", source=data.source)
    poly = np.column_stack([np.append(pxx, pxx[0]), np.append(pyy, pyy[0])])
    day = 86400.0
    return EtasCatalog(
        t=(ts[keep] - tb_s) / day, x=np.ascontiguousarray(x, float), y=np.ascontiguousarray(y, float),
        m=mag[keep] - m0, flag=flag, longitude_deg=lon[keep], latitude_deg=lat[keep], line=line[keep],
        polygon_xy=poly, polygon_latlon=tuple(zip(plat.tolist(), plon.tolist())), projection=proj,
        t_start=(ss_s - tb_s) / day, t_end=(se_s - tb_s) / day,
        time_begin=tb, study_start=ss, study_end=se, mag_threshold=m0, source=data.source, notes=tuple(notes))
