"""Alarms of a daily anomaly index against target earthquakes; threshold search; best index.

Rules (EQSuite-EVA ``LQdzSelect1``, ``LQMolchanCompute2_ParNew``, ``LQMolchan3DNew``,
``LQZhiBiaoComp1``; Liu Qi 2022 technical description section 2.2)

Targets
    Catalog events at geodesic distance ``r_min <= d < r_max`` km from the station (WGS84
    ellipsoid, as MATLAB's ``vdist``), magnitude ``M_min <= M < M_max``, whose **local
    date** (the series' time zone, Beijing time by default) falls after the first day
    of the index and not after its last day.

Alarms (bidirectional asymmetric thresholds)
    Day ``t`` is an alarm day when ``index[t] < low`` or ``index[t] > high``
    (``low < high``); a missing day never alarms. An alarm day ``a`` predicts the
    ``window`` days ``a+1 .. a+window``; a day is **covered** when some alarm day lies
    1 to ``window`` days before it. The alarm fraction is ``tau = covered days / (n - 1)``
    (``n`` days in the index: the span ``last - first`` in days, as EQSuite-EVA divides);
    a target is **hit** when its day is covered.

Threshold search (:class:`ThresholdScan`)
    ``K`` (100) thresholds evenly from the index's maximum down to its minimum; every pair
    ``(low = T[i], high = T[j])`` with ``j < i`` is a strategy -- one-sided and symmetric
    thresholds are among them (the extremes never alarm). For each window the Molchan
    envelope and its best point follow (:mod:`.molchan`).

Best index (:func:`search_best_index`)
    Over radii x magnitude bands x windows, each cell's best point is scored
    (:mod:`.rscore`); cells with fewer than ``min_targets`` (2) targets are not ranked.
    Per magnitude band the cell with the largest R wins; ties go to the larger probability
    gain, then the lower significance level, then the lower R0, then the shorter window,
    then the smaller radius.

    EQSuite-EVA leaves out a cell whose target count equals that of the same radius one
    magnitude band lower (a shortcut that also drops genuine cells); this module keeps
    every cell. A radius with the same targets as the next smaller one gives identical
    results and loses the final tie-break, as in EQSuite-EVA.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from tianshan.analysis.efficacy.molchan import MolchanCurve, MolchanPoint, molchan_envelope
from tianshan.analysis.efficacy.rscore import RScore, score
from tianshan.core.errors import InputError

UTC = timezone.utc
#: EQSuite-EVA's default windows (days), radii (km) and magnitude bands.
DEFAULT_WINDOWS_DAYS = (7, 14) + tuple(range(30, 1081, 30))
DEFAULT_RADII_KM = tuple(range(50, 501, 50))
DEFAULT_MAGNITUDES = (5.0, 6.0, 7.0)
_NO_ALARM = 1 << 40


@dataclass(frozen=True, slots=True)
class CatalogEvent:
    """A catalog earthquake: aware UTC time, epicentre, magnitude, place name."""

    time: datetime
    latitude_deg: float
    longitude_deg: float
    magnitude: float
    place: str = ""

    def local_date(self, utc_offset_h: float) -> date:
        return (self.time + timedelta(hours=utc_offset_h)).date()


@dataclass(frozen=True)
class Catalog:
    """Events read from a file, with the lines skipped as ``(line, reason)``."""

    events: tuple[CatalogEvent, ...]
    skipped: tuple[tuple[int, str], ...] = ()
    source: str = ""

    def __len__(self) -> int:
        return len(self.events)


def read_catalog(path: str | os.PathLike, fmt: str = "auto", utc_offset_h: float | None = None) -> Catalog:
    """Read an EQT catalog (GBK, Beijing time) or a headerless CSV
    ``yr,mo,dy,hr,mi,s,lat,lon,M[,...]`` (times at ``utc_offset_h``, default UTC).

    ``fmt``: ``"eqt"``, ``"csv"`` or ``"auto"`` (by extension). Bad lines are skipped and
    listed; a file with no event raises :class:`InputError`."""
    path = Path(path)
    if fmt == "auto":
        fmt = "csv" if path.suffix.lower() in (".csv", ".txt") else "eqt"
    if fmt == "eqt":
        from tianshan.io.eqt import BEIJING_UTC_OFFSET_H, read_eqt

        off = BEIJING_UTC_OFFSET_H if utc_offset_h is None else utc_offset_h
        cat = read_eqt(path)
        evs = []
        skipped = list(cat.skipped)
        for k, r in enumerate(cat):
            lon = r.longitude_deg - 360.0 if r.longitude_deg > 180.0 else r.longitude_deg
            try:
                t = (r.time - timedelta(hours=off)).replace(tzinfo=UTC)
            except OverflowError:  # year 1 records of historical catalogs
                skipped.append((k + 1, f"time {r.time} cannot be converted to UTC"))
                continue
            evs.append(CatalogEvent(t, r.latitude_deg, lon, r.magnitude, r.place))
        return Catalog(tuple(evs), tuple(skipped), str(path))
    if fmt != "csv":
        raise InputError(f"unknown catalog format {fmt!r} (eqt, csv)", str(path))
    off = 0.0 if utc_offset_h is None else utc_offset_h
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError("file not found", str(path)) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", str(path)) from None
    evs, skipped = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        try:
            if len(parts) < 9:
                raise ValueError(f"expected at least 9 fields, got {len(parts)}")
            yr, mo, dy, hr, mi = (int(float(p)) for p in parts[:5])
            sec = float(parts[5])
            lat, lon, mag = float(parts[6]), float(parts[7]), float(parts[8])
            if not (-90 <= lat <= 90 and -180 <= lon <= 360 and math.isfinite(mag)):
                raise ValueError("coordinates or magnitude out of range")
            local = datetime(yr, mo, dy, hr, mi) + timedelta(seconds=sec)
            lon = lon - 360.0 if lon > 180.0 else lon
            evs.append(CatalogEvent((local - timedelta(hours=off)).replace(tzinfo=UTC), lat, lon, mag))
        except ValueError as err:
            skipped.append((number, str(err)))
    if not evs:
        raise InputError("no catalog event could be read" + (f" (line {skipped[0][0]}: {skipped[0][1]})"
                                                              if skipped else ""), str(path))
    return Catalog(tuple(evs), tuple(skipped), str(path))


@dataclass(frozen=True, slots=True)
class Target:
    """A target earthquake on the index's day axis (``day_index`` 1..n-1)."""

    day_index: int
    day: date
    magnitude: float
    distance_km: float
    latitude_deg: float
    longitude_deg: float
    place: str = ""

    def as_dict(self) -> dict:
        return {"date": self.day.isoformat(), "magnitude": self.magnitude,
                "distance_km": round(self.distance_km, 2), "latitude": self.latitude_deg,
                "longitude": self.longitude_deg, "place": self.place}


def distances_km(site_lat: float, site_lon: float, lats, lons) -> np.ndarray:
    """Geodesic distances on the WGS84 ellipsoid (Karney 2013 via pyproj), km."""
    from pyproj import Geod

    lats = np.asarray(lats, dtype=float)
    lons = np.asarray(lons, dtype=float)
    if lats.size == 0:
        return np.zeros(0)
    _, _, d = Geod(ellps="WGS84").inv(np.full(lats.size, site_lon), np.full(lats.size, site_lat), lons, lats)
    return np.asarray(d) / 1000.0


def candidate_targets(events, site_lat: float, site_lon: float, first_day: date, n_days: int,
                      utc_offset_h: float = 8.0, max_radius_km: float = math.inf,
                      min_magnitude: float = -math.inf) -> list[Target]:
    """Events inside the index's days (module docstring), with their distance, as targets."""
    evs = [e for e in events if e.magnitude >= min_magnitude]
    if not evs:
        return []
    d = distances_km(site_lat, site_lon, [e.latitude_deg for e in evs], [e.longitude_deg for e in evs])
    out = []
    for e, dist in zip(evs, d):
        day = e.local_date(utc_offset_h)
        k = (day - first_day).days
        if 0 < k <= n_days - 1 and dist < max_radius_km:
            out.append(Target(k, day, e.magnitude, float(dist), e.latitude_deg, e.longitude_deg, e.place))
    out.sort(key=lambda t: (t.day_index, -t.magnitude))
    return out


def select_targets(targets, min_magnitude: float, max_magnitude: float = math.inf,
                   min_radius_km: float = 0.0, max_radius_km: float = math.inf) -> list[Target]:
    """Targets with ``M_min <= M < M_max`` and ``r_min <= d < r_max``."""
    return [t for t in targets if min_magnitude <= t.magnitude < max_magnitude
            and min_radius_km <= t.distance_km < max_radius_km]


def alarm_mask(index, low: float, high: float) -> np.ndarray:
    """Alarm days: ``index < low`` or ``index > high``; NaN days never alarm."""
    x = np.asarray(index, dtype=float)
    with np.errstate(invalid="ignore"):
        return (x < low) | (x > high)


def _lag_since_alarm(alarm: np.ndarray) -> np.ndarray:
    """Days since the last alarm day strictly before each day (huge where none)."""
    alarm = np.asarray(alarm, dtype=bool)
    n = alarm.shape[-1]
    pos = np.where(alarm, np.arange(n), -_NO_ALARM)
    last = np.maximum.accumulate(pos, axis=-1)
    before = np.full(alarm.shape, -_NO_ALARM, dtype=np.int64)
    before[..., 1:] = last[..., :-1]
    return np.arange(n) - before


def covered_days(alarm, window_days: int) -> np.ndarray:
    """Days covered by the alarms: some alarm day lies 1..``window_days`` days before."""
    return _lag_since_alarm(np.asarray(alarm, dtype=bool)) <= window_days


@dataclass(frozen=True)
class AlarmEvaluation:
    """One setting (thresholds, window) against one set of targets."""

    low: float
    high: float
    window_days: int
    n_days: int
    covered_days: int
    alarm_days: int
    score: RScore
    hit: tuple[bool, ...]
    targets: tuple[Target, ...]

    def as_dict(self) -> dict:
        return {"threshold_low": self.low, "threshold_high": self.high, "window_days": self.window_days,
                "days": self.n_days, "alarm_days": self.alarm_days, "covered_days": self.covered_days,
                **self.score.as_dict(),
                "targets": [{**t.as_dict(), "hit": h} for t, h in zip(self.targets, self.hit)]}


def evaluate_alarms(index, targets, low: float, high: float, window_days: int, confidence: float = 0.975,
                    method: str = "binomial") -> AlarmEvaluation:
    """Score one threshold pair and window against ``targets`` (module docstring)."""
    x = np.asarray(index, dtype=float)
    n = x.size
    if n < 2:
        raise InputError("the index needs at least two days")
    if not low < high:
        raise InputError(f"the low threshold {low} must be below the high one {high}")
    if window_days < 1:
        raise InputError(f"prediction window must be at least 1 day, got {window_days}")
    targets = tuple(targets)
    if not targets:
        raise InputError("no target earthquake to evaluate against")
    alarm = alarm_mask(x, low, high)
    cov = covered_days(alarm, window_days)
    hit = tuple(bool(cov[t.day_index]) for t in targets)
    tau = float(cov.sum()) / (n - 1)
    sc = score(sum(hit), len(targets), tau, confidence, method)
    return AlarmEvaluation(low=low, high=high, window_days=int(window_days), n_days=n,
                           covered_days=int(cov.sum()), alarm_days=int(alarm.sum()), score=sc, hit=hit,
                           targets=targets)


class ThresholdScan:
    """All threshold pairs of an index, for several windows, at once.

    ``alarm_fraction[p, w]`` is the alarm fraction of pair ``p`` with window ``windows[w]``;
    ``lag[p, k]`` the days from the last alarm of pair ``p`` to target day
    ``target_days[k]`` (a target day is hit with window ``W`` when ``lag <= W``).
    Pairs are enumerated as EQSuite-EVA does: ``i`` (low) ascending, then ``j < i`` (high).
    """

    def __init__(self, index, windows_days, target_days, n_thresholds: int = 100) -> None:
        x = np.asarray(index, dtype=float)
        if x.size < 2 or np.isnan(x).all():
            raise InputError("the index needs at least two days with values")
        if n_thresholds < 3:
            raise InputError(f"at least 3 thresholds are needed, got {n_thresholds}")
        self.windows = np.asarray(sorted(set(int(w) for w in windows_days)), dtype=np.int64)
        if self.windows.size == 0 or self.windows[0] < 1:
            raise InputError("prediction windows must be whole days >= 1")
        self.target_days = np.asarray(sorted(set(int(d) for d in target_days)), dtype=np.int64)
        self.n_days = n = x.size
        self.thresholds = np.linspace(np.nanmax(x), np.nanmin(x), n_thresholds)
        ok = ~np.isnan(x)
        xx = np.where(ok, x, 0.0)
        below = (xx[None, :] < self.thresholds[:, None]) & ok
        above = (xx[None, :] > self.thresholds[:, None]) & ok
        lag_low = _lag_since_alarm(below)
        lag_high = _lag_since_alarm(above)
        wmax = int(self.windows[-1])
        lows, highs, fracs, lags = [], [], [], []
        for i in range(1, n_thresholds):
            j = np.arange(i)
            lag = np.minimum(lag_low[i][None, :], lag_high[j])
            clipped = np.minimum(lag, wmax + 1)
            counts = np.bincount((np.arange(j.size)[:, None] * (wmax + 2) + clipped).ravel(),
                                 minlength=j.size * (wmax + 2)).reshape(j.size, wmax + 2)
            cum = np.cumsum(counts, axis=1)
            fracs.append(cum[:, self.windows] / (n - 1))
            lags.append(lag[:, self.target_days] if self.target_days.size else np.zeros((j.size, 0), np.int64))
            lows.append(np.full(j.size, i))
            highs.append(j)
        self.low_index = np.concatenate(lows)
        self.high_index = np.concatenate(highs)
        self.alarm_fraction = np.concatenate(fracs)
        self.lag = np.concatenate(lags)

    def window_position(self, window_days: int) -> int:
        pos = np.flatnonzero(self.windows == int(window_days))
        if pos.size == 0:
            raise InputError(f"window {window_days} d was not scanned")
        return int(pos[0])

    def hits(self, target_days, window_days: int) -> np.ndarray:
        """Hits of every pair for the targets on ``target_days`` (repeats count)."""
        days = np.asarray(list(target_days), dtype=np.int64)
        pos = np.searchsorted(self.target_days, days)
        if (pos >= self.target_days.size).any() or not np.array_equal(self.target_days[pos], days):
            raise InputError("a target day was not part of the scan")
        return (self.lag[:, pos] <= int(window_days)).sum(axis=1)

    def curve(self, target_days, window_days: int) -> MolchanCurve:
        """Molchan envelope for the targets on ``target_days`` and one window."""
        days = list(target_days)
        if not days:
            raise InputError("no target earthquake for the Molchan curve")
        w = self.window_position(window_days)
        h = self.hits(days, window_days)
        return molchan_envelope(self.alarm_fraction[:, w], h, len(days),
                                self.thresholds[self.low_index], self.thresholds[self.high_index])


@dataclass(frozen=True)
class CellBest:
    """Best threshold pair of one (radius, magnitude band, window) cell."""

    min_magnitude: float
    max_magnitude: float
    min_radius_km: float
    max_radius_km: float
    window_days: int
    point: MolchanPoint
    score: RScore
    area: float

    def as_dict(self) -> dict:
        return {"min_magnitude": self.min_magnitude,
                "max_magnitude": None if math.isinf(self.max_magnitude) else self.max_magnitude,
                "min_radius_km": self.min_radius_km, "max_radius_km": self.max_radius_km,
                "window_days": self.window_days, "threshold_low": self.point.threshold_low,
                "threshold_high": self.point.threshold_high, "area": self.area, **self.score.as_dict()}


@dataclass(frozen=True)
class BestIndex:
    """The best cell of one magnitude band, its Molchan curve and its targets (hit or not)."""

    cell: CellBest
    curve: MolchanCurve
    targets: tuple[Target, ...]
    hit: tuple[bool, ...]

    def as_dict(self) -> dict:
        return {**self.cell.as_dict(), "molchan": self.curve.as_dict(),
                "target_list": [{**t.as_dict(), "hit": h} for t, h in zip(self.targets, self.hit)]}


GRID_FIELDS = ("targets", "hits", "alarm_fraction", "R", "R0", "gain", "significance",
               "threshold_low", "threshold_high", "area")


@dataclass(frozen=True)
class EfficacySearch:
    """Scores over radii x magnitude bands x windows and the best index per band.

    ``grid[name]`` arrays have shape ``(len(radii), len(magnitudes), len(windows))`` (NaN
    where a cell has no target or no hit), like EQSuite-EVA's ``Best*`` arrays.
    """

    radii_km: tuple[tuple[float, float], ...]
    magnitudes: tuple[tuple[float, float], ...]
    windows_days: tuple[int, ...]
    grid: dict[str, np.ndarray] = field(repr=False)
    best: dict[float, BestIndex | None] = field(default_factory=dict)
    n_days: int = 0
    n_thresholds: int = 100
    method: str = "binomial"

    def as_dict(self, with_grid: bool = False) -> dict:
        out = {"days": self.n_days, "thresholds": self.n_thresholds, "method": self.method,
               "radii_km": [list(r) for r in self.radii_km],
               "magnitudes": [[m[0], None if math.isinf(m[1]) else m[1]] for m in self.magnitudes],
               "windows_days": list(self.windows_days),
               "best": {f"M>={k:g}": (None if v is None else v.as_dict()) for k, v in self.best.items()}}
        if with_grid:
            out["grid"] = {k: np.where(np.isnan(v), None, v).tolist() for k, v in self.grid.items()}
        return out


def _bands(values, upper=math.inf) -> tuple[tuple[float, float], ...]:
    out = []
    for v in values:
        if isinstance(v, (tuple, list)):
            out.append((float(v[0]), float(v[1])))
        else:
            out.append((float(v), float(upper)))
    return tuple(out)


def search_best_index(index, first_day: date, events, site_lat: float, site_lon: float, *,
                      magnitudes=DEFAULT_MAGNITUDES, radii_km=DEFAULT_RADII_KM,
                      windows_days=DEFAULT_WINDOWS_DAYS, n_thresholds: int = 100, min_targets: int = 2,
                      confidence: float = 0.975, method: str = "binomial", utc_offset_h: float = 8.0
                      ) -> EfficacySearch:
    """Scan every cell and pick the best index per magnitude band (module docstring).

    ``magnitudes``: lower bounds (each band open above) or ``(low, high)`` pairs;
    ``radii_km``: outer radii (discs) or ``(inner, outer)`` rings."""
    x = np.asarray(index, dtype=float)
    mags = _bands(magnitudes)
    radii = tuple((0.0, float(r)) if not isinstance(r, (tuple, list)) else (float(r[0]), float(r[1]))
                  for r in radii_km)
    windows = tuple(sorted(set(int(w) for w in windows_days)))
    if not mags or not radii or not windows:
        raise InputError("magnitudes, radii and windows must not be empty")
    rmax = max(r[1] for r in radii)
    mmin = min(m[0] for m in mags)
    pool = candidate_targets(events, site_lat, site_lon, first_day, x.size, utc_offset_h, rmax, mmin)
    scan = ThresholdScan(x, windows, [t.day_index for t in pool], n_thresholds)
    shape = (len(radii), len(mags), len(windows))
    grid = {k: np.full(shape, np.nan) for k in GRID_FIELDS}
    cells: dict[tuple[int, int, int], CellBest] = {}
    for a, (r0_, r1_) in enumerate(radii):
        for b, (m0, m1) in enumerate(mags):
            tg = select_targets(pool, m0, m1, r0_, r1_)
            if not tg:
                continue
            days = [t.day_index for t in tg]
            for c, w in enumerate(windows):
                grid["targets"][a, b, c] = len(tg)
                curve = scan.curve(days, w)
                if not curve.points:
                    continue
                p = curve.best()
                sc = p.score(confidence, method)
                cells[(a, b, c)] = CellBest(m0, m1, r0_, r1_, w, p, sc, curve.area)
                for k, v in (("hits", p.hits), ("alarm_fraction", p.alarm_fraction), ("R", sc.r),
                             ("R0", sc.r0), ("gain", sc.gain), ("significance", sc.significance),
                             ("threshold_low", p.threshold_low), ("threshold_high", p.threshold_high),
                             ("area", curve.area)):
                    grid[k][a, b, c] = v
    best: dict[float, BestIndex | None] = {}
    for b, (m0, m1) in enumerate(mags):
        ranked = [(key, cell) for key, cell in cells.items() if key[1] == b and cell.score.n_targets >= min_targets]
        if not ranked:
            best[m0] = None
            continue
        ranked.sort(key=lambda kc: (-kc[1].score.r, -kc[1].score.gain, kc[1].score.significance,
                                    kc[1].score.r0, kc[1].window_days, kc[1].max_radius_km))
        (a, _, c), cell = ranked[0]
        tg = select_targets(pool, m0, m1, *radii[a])
        curve = scan.curve([t.day_index for t in tg], cell.window_days)
        ev = evaluate_alarms(x, tg, cell.point.threshold_low, cell.point.threshold_high, cell.window_days,
                             confidence, method)
        best[m0] = BestIndex(cell=cell, curve=curve, targets=tuple(tg), hit=ev.hit)
    return EfficacySearch(radii_km=radii, magnitudes=mags, windows_days=windows, grid=grid, best=best,
                          n_days=x.size, n_thresholds=n_thresholds, method=method)
