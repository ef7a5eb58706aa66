"""Observation series of a precursor station: readers, gaps made explicit, a metadata record.

Formats read
    **Station ``.Dat``** (the layout of China's precursor network exports and of
    EQSuite-EVA's test data ``65015_2_2211.Dat``): one sample a line, ``STAMP VALUE``
    separated by blanks, where ``STAMP`` is local time written as ``YYYYMMDD`` (daily),
    ``YYYYMMDDHH`` (hourly), ``YYYYMMDDHHMM`` (minute) or ``YYYYMMDDHHMMSS`` (second);
    the length of the first good stamp fixes the sampling interval. The day-row layouts
    ``YYYYMMDD v00 ... v23`` (24 hourly values) and ``YYYYMMDD v0000 ... v2359`` (1440
    minute values) are read too. The ANA/ONA outputs (``YYYYMMDD value``) are the daily
    case of the same format.

    **CSV** with a header: a time column (stamps as above, ISO-8601 times, or numbers of
    ``time_unit_s`` since ``epoch``) and one or more value columns
    (:func:`read_csv_series`; e.g. the WIPP-30 well file ``time,wl,baro,et``).

    **Metadata record** (:class:`SeriesMeta`): JSON ``{"station_id", "point", "item",
    "unit", "latitude_deg", "longitude_deg", "elevation_m", "name"}``; the China
    network's file names ``STATION_POINT_ITEM.Dat`` (``65015_2_2211``) give the first
    three when no record is supplied (:func:`meta_from_filename`).

Rules for bad input (expected input, never a crash; everything is in :class:`ReadReport`)
    * a line whose stamp is not a valid time, whose value is not a number, or that has
      the wrong number of fields is skipped and listed with its 1-based line number;
    * the missing-data marker (``999999`` by default, the network's 缺数标记) and
      non-finite values are missing samples (NaN), counted;
    * a stamp seen before is a duplicate: the first value is kept, the later lines are
      listed (and counted as conflicting when their value differs);
    * lines out of time order are accepted (placed by their stamp) and counted;
    * samples absent from the file are **explicit gaps**: the series is a regular grid
      from the first to the last stamp with NaN where nothing was read; the runs of
      missing samples are listed as ``(start_index, length)``.

    ``strict=True`` raises :class:`~tianshan.core.errors.InputError` at the first bad
    line instead; a file with no usable sample always raises it.

Times: stamps are local clock time (Beijing time, UTC+8, for the China network;
``utc_offset_h``). :attr:`ObservationSeries.start` is the aware UTC time of the first
sample; :meth:`ObservationSeries.local_datetimes` gives the stamps back.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from tianshan.core.errors import InputError
from tianshan.io.atomic import atomic_open

UTC = timezone.utc
#: The China precursor network's missing-data marker (缺数标记).
MISSING_MARKER = 999999.0
#: Local time of the network's stamps, hours east of UTC (Beijing time).
BEIJING_UTC_OFFSET_H = 8.0
#: Stamp length (digits) -> sampling interval, seconds.
STAMP_STEP_S = {8: 86400, 10: 3600, 12: 60, 14: 1}
_STAMP_FORMAT = {8: "%Y%m%d", 10: "%Y%m%d%H", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}
#: Day-row layouts: number of values after the date -> sampling interval, seconds.
DAY_ROW_STEP_S = {24: 3600, 1440: 60}


@dataclass(frozen=True, slots=True)
class SeriesMeta:
    """What a series measures and where (a simple metadata record).

    ``item`` is the observation item code (测项代码, e.g. ``2211`` for a horizontal
    pendulum tiltmeter's NS component), ``point`` the measuring point (测点).
    """

    station_id: str = ""
    point: str = ""
    item: str = ""
    unit: str = ""
    latitude_deg: float | None = None
    longitude_deg: float | None = None
    elevation_m: float | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if self.latitude_deg is not None and not -90.0 <= self.latitude_deg <= 90.0:
            raise InputError(f"{self.latitude_deg!r} is outside [-90, 90]", field="latitude_deg")
        if self.longitude_deg is not None and not -180.0 <= self.longitude_deg <= 360.0:
            raise InputError(f"{self.longitude_deg!r} is outside [-180, 360]", field="longitude_deg")

    @property
    def code(self) -> str:
        """``STATION_POINT_ITEM`` as in the network's file names (the parts that are set)."""
        return "_".join(p for p in (self.station_id, self.point, self.item) if p)

    def as_dict(self) -> dict:
        return {"station_id": self.station_id, "point": self.point, "item": self.item, "unit": self.unit,
                "latitude_deg": self.latitude_deg, "longitude_deg": self.longitude_deg,
                "elevation_m": self.elevation_m, "name": self.name}

    @classmethod
    def from_dict(cls, data: dict, source: str | None = None) -> SeriesMeta:
        """A record from a mapping; unknown keys and bad coordinates raise :class:`InputError`."""
        if not isinstance(data, dict):
            raise InputError("metadata record must be a JSON object", source)
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown metadata keys {unknown} (known: {sorted(known)})", source)
        kwargs = {}
        for key, value in data.items():
            if key in ("latitude_deg", "longitude_deg", "elevation_m"):
                if value is None:
                    kwargs[key] = None
                    continue
                try:
                    kwargs[key] = float(value)
                except (TypeError, ValueError):
                    raise InputError(f"not a number: {value!r}", source, field=key) from None
                if not math.isfinite(kwargs[key]):
                    raise InputError(f"not finite: {value!r}", source, field=key)
            else:
                kwargs[key] = "" if value is None else str(value)
        try:
            return cls(**kwargs)
        except InputError as err:
            raise InputError(err.message, source, field=err.field) from None


def meta_from_filename(path: str | os.PathLike) -> SeriesMeta:
    """Station, point and item from a network file name ``STATION_POINT_ITEM[...].ext``.

    ``65015_2_2211.Dat`` -> station ``65015``, point ``2``, item ``2211``; a name of
    another shape gives its stem as ``name`` and nothing else."""
    stem = Path(path).stem
    m = re.match(r"^(\d{5})_(\w+?)_(\d{4})(?:$|_)", stem)
    if m:
        return SeriesMeta(station_id=m.group(1), point=m.group(2), item=m.group(3), name=stem)
    return SeriesMeta(name=stem)


def read_meta(path: str | os.PathLike) -> SeriesMeta:
    """Read a JSON metadata record (see :class:`SeriesMeta`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", str(path)) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", str(path)) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"not JSON: {err.msg}", str(path), err.lineno) from None
    return SeriesMeta.from_dict(data, str(path))


@dataclass(frozen=True)
class ReadReport:
    """What a reader found: counts and the lines it could not use.

    ``bad_lines`` and ``duplicates`` list ``(line_number, reason)``; ``gaps`` lists runs
    of missing samples as ``(start_index, length)`` on the regular grid (both absent
    samples and missing-marker/non-finite values).
    """

    source: str
    n_lines: int = 0
    n_samples: int = 0
    n_valid: int = 0
    bad_lines: tuple[tuple[int, str], ...] = ()
    duplicates: tuple[tuple[int, str], ...] = ()
    n_conflicting_duplicates: int = 0
    n_out_of_order: int = 0
    n_missing_marker: int = 0
    n_absent: int = 0
    gaps: tuple[tuple[int, int], ...] = ()

    @property
    def n_missing(self) -> int:
        """Samples of the grid without a value (absent + marker/non-finite)."""
        return self.n_samples - self.n_valid

    def as_dict(self, max_listed: int = 20) -> dict:
        """JSON-ready summary (the first ``max_listed`` bad lines, duplicates and gaps)."""
        return {"source": self.source, "lines": self.n_lines, "samples": self.n_samples,
                "valid": self.n_valid, "missing": self.n_missing, "absent": self.n_absent,
                "missing_marker": self.n_missing_marker, "bad_lines": len(self.bad_lines),
                "duplicates": len(self.duplicates), "conflicting_duplicates": self.n_conflicting_duplicates,
                "out_of_order": self.n_out_of_order, "gap_runs": len(self.gaps),
                "first_bad_lines": [list(x) for x in self.bad_lines[:max_listed]],
                "first_duplicates": [list(x) for x in self.duplicates[:max_listed]],
                "first_gaps": [list(x) for x in self.gaps[:max_listed]]}


@dataclass(frozen=True)
class ObservationSeries:
    """A regularly sampled series; NaN marks a missing sample (gaps are explicit).

    ``start`` is the aware UTC time of sample 0, ``step_s`` the interval; stamps in files
    are local time ``utc_offset_h`` hours east of UTC. ``values`` is a read-only float64
    array; derive new series with :meth:`with_values`.
    """

    start: datetime
    step_s: int
    values: np.ndarray
    meta: SeriesMeta = field(default_factory=SeriesMeta)
    utc_offset_h: float = BEIJING_UTC_OFFSET_H
    report: ReadReport | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise InputError("series start must be an aware datetime", field="start")
        if self.start.utcoffset() != timedelta(0):
            object.__setattr__(self, "start", self.start.astimezone(UTC))
        if int(self.step_s) <= 0:
            raise InputError(f"sampling interval must be positive, got {self.step_s!r}", field="step_s")
        vals = np.array(self.values, dtype=np.float64)
        if vals.ndim != 1:
            raise InputError("series values must be one-dimensional", field="values")
        vals.setflags(write=False)
        object.__setattr__(self, "values", vals)

    def __len__(self) -> int:
        return int(self.values.size)

    @property
    def missing(self) -> np.ndarray:
        """Boolean mask of missing samples."""
        return np.isnan(self.values)

    @property
    def end(self) -> datetime:
        """UTC time of the last sample."""
        return self.start + timedelta(seconds=self.step_s * (len(self) - 1))

    @property
    def local_start(self) -> datetime:
        """Naive local clock time of sample 0 (as stamped in the file)."""
        return (self.start + timedelta(hours=self.utc_offset_h)).replace(tzinfo=None)

    def local_datetimes(self) -> list[datetime]:
        """Naive local clock times of every sample."""
        t0, step = self.local_start, timedelta(seconds=self.step_s)
        return [t0 + i * step for i in range(len(self))]

    def local_dates(self) -> list[date]:
        """Local calendar dates of every sample (for daily series: the day of each value)."""
        return [t.date() for t in self.local_datetimes()]

    def with_values(self, values, **changes) -> ObservationSeries:
        """The same grid and metadata with new values (and any field in ``changes``)."""
        return replace(self, values=np.asarray(values, dtype=np.float64), **changes)


def _stamp_time(stamp: str) -> datetime:
    return datetime.strptime(stamp, _STAMP_FORMAT[len(stamp)])


def _runs(mask: np.ndarray) -> tuple[tuple[int, int], ...]:
    """``(start, length)`` of the runs of True in ``mask``."""
    if not mask.any():
        return ()
    m = np.r_[False, mask, False].astype(np.int8)
    d = np.diff(m)
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    return tuple((int(s), int(e - s)) for s, e in zip(starts, ends))


class _Collector:
    """Samples keyed by their offset from an anchor time, with the report counters."""

    def __init__(self, source: str, strict: bool, missing_marker: float | None) -> None:
        self.source, self.strict, self.marker = source, strict, missing_marker
        self.step_s: int | None = None
        self.anchor: datetime | None = None
        self.offsets: list[int] = []
        self.values: list[float] = []
        self.lines: list[int] = []
        self.bad: list[tuple[int, str]] = []
        self.n_lines = 0
        self.n_marker = 0
        self.n_out_of_order = 0
        self._last = None

    def bad_line(self, number: int, reason: str) -> None:
        if self.strict:
            raise InputError(reason, self.source, number)
        self.bad.append((number, reason))

    def set_step(self, step_s: int) -> None:
        if self.step_s is None:
            self.step_s = step_s

    def add(self, number: int, when: datetime, value: float) -> None:
        if self.anchor is None:
            self.anchor = when
        delta = (when - self.anchor).total_seconds()
        off, rem = divmod(delta, self.step_s)
        if rem:
            self.bad_line(number, f"time {when:%Y-%m-%d %H:%M:%S} is not on the {self.step_s} s grid")
            return
        off = int(off)
        if self._last is not None and off < self._last:
            self.n_out_of_order += 1
        self._last = off
        if self.marker is not None and value == self.marker:
            self.n_marker += 1
            value = math.nan
        elif not math.isfinite(value):
            self.n_marker += 1
            value = math.nan
        self.offsets.append(off)
        self.values.append(value)
        self.lines.append(number)

    def series(self, meta: SeriesMeta, utc_offset_h: float) -> ObservationSeries:
        if not self.offsets:
            first = f" (first bad line {self.bad[0][0]}: {self.bad[0][1]})" if self.bad else ""
            raise InputError(f"no usable sample{first}", self.source)
        off = np.asarray(self.offsets, dtype=np.int64)
        val = np.asarray(self.values, dtype=np.float64)
        order = np.argsort(off, kind="stable")
        off, val = off[order], val[order]
        lines = np.asarray(self.lines)[order]
        first = np.r_[True, off[1:] != off[:-1]]
        duplicates: list[tuple[int, str]] = []
        n_conflict = 0
        if not first.all():
            kept_value = val[first][np.cumsum(first) - 1]
            for i in np.flatnonzero(~first):
                same = (val[i] == kept_value[i]) or (np.isnan(val[i]) and np.isnan(kept_value[i]))
                n_conflict += 0 if same else 1
                t = self.anchor + timedelta(seconds=int(off[i]) * self.step_s)
                how = "same value" if same else f"value {val[i]!r} differs from the kept {kept_value[i]!r}"
                duplicates.append((int(lines[i]), f"duplicate time {t:%Y-%m-%d %H:%M:%S}, first kept ({how})"))
            if self.strict:
                raise InputError(duplicates[0][1], self.source, duplicates[0][0])
            duplicates.sort()
        off, val = off[first], val[first]
        base = int(off[0])
        n = int(off[-1]) - base + 1
        grid = np.full(n, np.nan)
        grid[off - base] = val
        start_local = self.anchor + timedelta(seconds=base * self.step_s)
        start = (start_local - timedelta(hours=utc_offset_h)).replace(tzinfo=UTC)
        missing = np.isnan(grid)
        report = ReadReport(source=self.source, n_lines=self.n_lines, n_samples=n,
                            n_valid=int((~missing).sum()), bad_lines=tuple(sorted(self.bad)),
                            duplicates=tuple(duplicates), n_conflicting_duplicates=n_conflict,
                            n_out_of_order=self.n_out_of_order, n_missing_marker=self.n_marker,
                            n_absent=n - int(off.size), gaps=_runs(missing))
        return ObservationSeries(start=start, step_s=int(self.step_s), values=grid, meta=meta,
                                 utc_offset_h=utc_offset_h, report=report)


def _open_text(path: Path) -> list[str]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", str(path)) from None
    except IsADirectoryError:
        raise InputError("is a folder, expected a series file", str(path)) from None
    for enc in ("utf-8", "gbk"):
        try:
            return data.decode(enc).splitlines()
        except UnicodeDecodeError:
            continue
    raise InputError("not UTF-8 or GBK text", str(path))


def _parse_value(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"value {text!r} is not a number") from None


def read_dat(path: str | os.PathLike, *, meta: SeriesMeta | None = None,
             missing_marker: float | None = MISSING_MARKER, utc_offset_h: float = BEIJING_UTC_OFFSET_H,
             strict: bool = False) -> ObservationSeries:
    """Read a station ``.Dat`` series (``STAMP VALUE`` lines or day rows); see the module rules.

    ``meta`` defaults to :func:`meta_from_filename`. Returns the series on its regular
    grid with the :class:`ReadReport` in ``.report``."""
    path = Path(path)
    lines = _open_text(path)
    col = _Collector(str(path), strict, missing_marker)
    layout: tuple[str, int] | None = None  # ("stamp", digits) or ("dayrow", n_values)
    day_cache: dict[str, datetime] = {}
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        col.n_lines += 1
        parts = text.replace(",", " ").split()
        if layout is None:
            if len(parts) == 2 and len(parts[0]) in STAMP_STEP_S and parts[0].isdigit():
                layout = ("stamp", len(parts[0]))
                col.set_step(STAMP_STEP_S[len(parts[0])])
            elif len(parts) - 1 in DAY_ROW_STEP_S and len(parts[0]) == 8 and parts[0].isdigit():
                layout = ("dayrow", len(parts) - 1)
                col.set_step(DAY_ROW_STEP_S[len(parts) - 1])
            else:
                col.bad_line(number, f"cannot tell the layout: expected 'STAMP VALUE' or 'YYYYMMDD' and "
                                     f"24/1440 values, got {len(parts)} fields")
                continue
        kind, width = layout
        try:
            if kind == "stamp":
                if len(parts) != 2:
                    raise ValueError(f"expected 2 fields (stamp, value), got {len(parts)}")
                stamp = parts[0]
                if len(stamp) != width or not stamp.isdigit():
                    raise ValueError(f"stamp {stamp!r} is not a {width}-digit time like the first line's")
                day = stamp[:8]
                base = day_cache.get(day)
                if base is None:
                    base = day_cache[day] = datetime.strptime(day, "%Y%m%d")
                rest = stamp[8:]
                hh, mm, ss = int(rest[0:2] or 0), int(rest[2:4] or 0), int(rest[4:6] or 0)
                if hh > 23 or mm > 59 or ss > 59:
                    raise ValueError(f"stamp {stamp!r} is not a valid time")
                when = base + timedelta(hours=hh, minutes=mm, seconds=ss)
                col.add(number, when, _parse_value(parts[1]))
            else:
                if len(parts) != width + 1 or len(parts[0]) != 8:
                    raise ValueError(f"expected a YYYYMMDD date and {width} values, got {len(parts)} fields")
                base = datetime.strptime(parts[0], "%Y%m%d")
                values = []
                for j, p in enumerate(parts[1:]):
                    try:
                        values.append(float(p))
                    except ValueError:
                        raise ValueError(f"value {j + 1} {p!r} is not a number") from None
                for j, v in enumerate(values):
                    col.add(number, base + timedelta(seconds=j * col.step_s), v)
        except ValueError as err:
            msg = str(err)
            if "does not match format" in msg or "unconverted data" in msg:
                msg = f"stamp {parts[0]!r} is not a valid date"
            col.bad_line(number, msg)
    return col.series(meta if meta is not None else meta_from_filename(path), utc_offset_h)


def _csv_time(text: str, kind: str, epoch: datetime, unit_s: float) -> tuple[datetime, str]:
    t = text.strip()
    if kind == "auto":
        if t.isdigit() and len(t) in STAMP_STEP_S:
            kind = "stamp"
        else:
            try:
                float(t)
                kind = "number"
            except ValueError:
                kind = "iso"
    if kind == "stamp":
        if not (t.isdigit() and len(t) in _STAMP_FORMAT):
            raise ValueError(f"time {t!r} is not a YYYYMMDD[HH[MM[SS]]] stamp")
        return _stamp_time(t), kind
    if kind == "number":
        return epoch + timedelta(seconds=float(t) * unit_s), kind
    value = datetime.fromisoformat(t.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value, kind


def read_csv_series(path: str | os.PathLike, *, time_column: str = "time", columns: list[str] | None = None,
                    time_kind: str = "auto", time_unit_s: float = 3600.0,
                    epoch: datetime = datetime(1970, 1, 1), step_s: int | None = None,
                    meta: SeriesMeta | None = None, missing_marker: float | None = MISSING_MARKER,
                    utc_offset_h: float = BEIJING_UTC_OFFSET_H, strict: bool = False
                    ) -> dict[str, ObservationSeries]:
    """Read value columns of a CSV with a header into series on one regular grid.

    ``time_kind``: ``"stamp"`` (YYYYMMDD[HH..]), ``"iso"`` (ISO-8601 local clock time; an
    explicit offset is honoured, the time taken as UTC then), ``"number"`` (``time_unit_s``
    seconds since the naive local ``epoch``), or ``"auto"`` (decided on the first row). ``step_s`` defaults to the
    smallest positive spacing of the times. Empty cells, ``NA``/``NaN`` and the missing
    marker are missing samples; rows with an unreadable time or value are reported."""
    path = Path(path)
    lines = _open_text(path)
    reader = csv.reader(lines)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InputError("empty CSV file", str(path)) from None
    if time_column not in header:
        raise InputError(f"no time column {time_column!r} (columns: {header})", str(path))
    wanted = columns if columns is not None else [h for h in header if h != time_column]
    missing_cols = [c for c in wanted if c not in header]
    if missing_cols or not wanted:
        raise InputError(f"value columns {missing_cols or wanted} not in the header {header}", str(path))
    ti = header.index(time_column)
    ci = [header.index(c) for c in wanted]
    rows: list[tuple[int, datetime, list[float]]] = []
    bad: list[tuple[int, str]] = []
    kind = time_kind
    for number, row in enumerate(reader, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        try:
            if len(row) != len(header):
                raise ValueError(f"expected {len(header)} fields, got {len(row)}")
            when, kind = _csv_time(row[ti], kind, epoch, time_unit_s)
            vals = []
            for c, j in zip(wanted, ci):
                cell = row[j].strip()
                if cell == "" or cell.upper() in ("NA", "NAN", "NULL"):
                    vals.append(math.nan)
                else:
                    try:
                        vals.append(float(cell))
                    except ValueError:
                        raise ValueError(f"column {c!r}: value {cell!r} is not a number") from None
            rows.append((number, when, vals))
        except ValueError as err:
            if strict:
                raise InputError(str(err), str(path), number) from None
            bad.append((number, str(err)))
    if not rows:
        raise InputError("no usable row" + (f" (first bad line {bad[0][0]}: {bad[0][1]})" if bad else ""), str(path))
    if step_s is None:
        secs = np.unique(np.array([(r[1] - rows[0][1]).total_seconds() for r in rows]))
        d = np.diff(secs)
        d = d[d > 0]
        step_s = int(round(d.min())) if d.size else 3600
    out: dict[str, ObservationSeries] = {}
    base_meta = meta if meta is not None else SeriesMeta(name=path.stem)
    for k, name in enumerate(wanted):
        col = _Collector(str(path), strict, missing_marker)
        col.set_step(int(step_s))
        col.n_lines = len(rows) + len(bad)
        col.bad = list(bad)
        for number, when, vals in rows:
            col.add(number, when, vals[k])
        out[name] = col.series(replace(base_meta, item=base_meta.item or name), utc_offset_h)
    return out


def write_daily(path: str | os.PathLike, days: list[date], values: np.ndarray,
                missing_marker: float = MISSING_MARKER, decimals: int = 5) -> Path:
    """Write ``YYYYMMDD value`` lines (EQSuite-EVA's ``%8i %.5f`` layout), atomically.

    NaN values are written as the missing marker (``999999.00000``)."""
    vals = np.asarray(values, dtype=float)
    if len(days) != vals.size:
        raise InputError(f"{len(days)} days but {vals.size} values", str(path))
    out = []
    for d, v in zip(days, vals):
        v = missing_marker if not math.isfinite(v) else v
        out.append(f"{d:%Y%m%d} {v:.{decimals}f}\n")
    path = Path(path)
    with atomic_open(path, "w") as fh:
        fh.write("".join(out))
    return path
