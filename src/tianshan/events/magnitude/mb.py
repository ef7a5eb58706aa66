"""Body-wave magnitudes mb and mB_BB (IASPEI 2013 standard).

IASPEI (2013), "Summary of Magnitude Working Group recommendations on standard
procedures for determining earthquake magnitudes from digital data"; Bormann &
Dewey (2014), NMSOP-2 Information Sheet IS 3.3, eqs. (5) and (6)::

    mb    = log10(A / T)        + Q(Δ, h) - 3.0                          (5)
    mB_BB = log10(Vmax / (2 pi)) + Q(Δ, h) - 3.0                          (6)

* ``A``: P-wave ground displacement amplitude in **nm** from the maximum trace
  amplitude of the vertical record simulated as a WWSSN short-period seismograph
  (:data:`tianshan.events.magnitude.instrument.WWSSN_SP`), ``T`` its period,
  ``T < 3 s``. The trace amplitude is half the largest peak-to-adjacent-trough
  deflection and ``T`` twice the time between them (IS 3.3, sec. 3.2);
* ``Vmax``: maximum vertical ground velocity in **nm/s** on a record flat in
  velocity between 0.2 s and 30 s (here: response removed to velocity, then a
  zero-phase 4-pole Butterworth band pass 1/30-5 Hz, a documented approximation);
* ``Q(Δ, h)``: the Gutenberg & Richter (1956) calibration function for PZ,
  tabulated in ``mb_q_gr1956.csv`` (0.1 magnitude resolution, Δ 2-109°, h 0-700 km;
  source in its header) and interpolated bilinearly in Δ and h
  (:func:`q_value`, the scheme of SeisComP's ``bmagnz``);
* ``Δ``: epicentral distance, **20° ≤ Δ ≤ 100°**; h focal depth ≤ 700 km.
  Outside these ranges no station magnitude is given (``None``).

SeisComP computes mb and mB with another Q, the "preliminary, unpublished Q
function of Saul & Bormann (2007)"; it is shipped as ``mb_q_seiscomp_sb2007.csv``
(``table="seiscomp"``) only to reproduce SeisComP values: on the real SeisComP
solution ga2017qxlpiu (shared data) that table reproduces SeisComP's 26 station
mb values to 0.003 and the GR (1956) table differs from them by up to 0.19.

At Xinjiang network distances (a few degrees) these magnitudes do not apply:
they are computed by :func:`tianshan.events.magnitude.compute_magnitudes` only for
stations at 20-100° (teleseismic stations in the inventory).

Windows (SeisComP documentation, global_mb / global_mb_bb): mb in ``[t_P - 1 s,
t_P + 30 s]``; mB_BB in ``[t_P - 1 s, t_P + min(11.5 Δ, 60) s]``.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from tianshan.core.errors import InputError

__all__ = ["QTable", "load_q_table", "q_value", "mb", "mb_bb", "measure_mb_amplitude", "measure_vmax",
           "MIN_DISTANCE_DEG", "MAX_DISTANCE_DEG", "MAX_DEPTH_M", "MAX_PERIOD_S"]

MIN_DISTANCE_DEG = 20.0
MAX_DISTANCE_DEG = 100.0
MAX_DEPTH_M = 700_000.0
MAX_PERIOD_S = 3.0
MB_WINDOW_S = 30.0
MB_BB_BAND_HZ = (1.0 / 30.0, 5.0)

_TABLES = {"gr1956": "mb_q_gr1956.csv", "seiscomp": "mb_q_seiscomp_sb2007.csv"}


@dataclass(frozen=True)
class QTable:
    """Q(Δ, h): ``values[i, k]`` at ``distances_deg[i]``, ``depths_km[k]`` (NaN: not tabulated)."""

    distances_deg: np.ndarray
    depths_km: np.ndarray
    values: np.ndarray
    source: str


def load_q_table(table: str | Path = "gr1956") -> QTable:
    """A Q table by name (``"gr1956"`` default, ``"seiscomp"``) or CSV path (same layout).

    Bad files raise :class:`InputError` naming file and line.
    """
    name = str(table)
    path = Path(__file__).with_name(_TABLES[name]) if name in _TABLES else Path(name)
    return _load(str(path))


@lru_cache(maxsize=8)
def _load(path: str) -> QTable:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as err:
        raise InputError(f"cannot read Q table ({err.strerror})", source=path) from None
    source = ""
    rows = []
    header = None
    for lineno, raw in enumerate(lines, start=1):
        if raw.startswith("#"):
            source = source or raw.lstrip("# ").strip()
            continue
        if not raw.strip():
            continue
        cells = next(csv.reader([raw]))
        if header is None:
            header = cells
            try:
                depths = [float(c.strip().lstrip("h").rstrip("km")) for c in cells[1:]]
            except ValueError:
                raise InputError("header must be distance_deg,h<depth>km,...", source=path, line=lineno) from None
            continue
        if len(cells) != len(header):
            raise InputError(f"expected {len(header)} columns, got {len(cells)}", source=path, line=lineno)
        try:
            rows.append([float(cells[0])] + [float(c) if c.strip() else math.nan for c in cells[1:]])
        except ValueError:
            raise InputError("not a number", source=path, line=lineno) from None
    if header is None or len(rows) < 2:
        raise InputError("no table rows", source=path)
    arr = np.array(rows)
    dist = arr[:, 0]
    if np.any(np.diff(dist) <= 0) or np.any(np.diff(depths) <= 0):
        raise InputError("distances and depths must increase", source=path)
    return QTable(dist, np.array(depths), arr[:, 1:], source or path)


def q_value(distance_deg: float, depth_m: float, table: QTable | str = "gr1956") -> float | None:
    """Q(Δ, h) interpolated bilinearly (linear in Δ between degrees, in h between tabulated depths).

    ``None`` outside the table or where a neighbouring cell is not tabulated.
    """
    t = table if isinstance(table, QTable) else load_q_table(table)
    d, h = float(distance_deg), max(0.0, float(depth_m) / 1000.0)
    if not (t.distances_deg[0] <= d <= t.distances_deg[-1] and h <= t.depths_km[-1]):
        return None
    i = min(int(np.searchsorted(t.distances_deg, d, side="right")) - 1, t.distances_deg.size - 2)
    k = min(int(np.searchsorted(t.depths_km, h, side="right")) - 1, t.depths_km.size - 2)
    u = (d - t.distances_deg[i]) / (t.distances_deg[i + 1] - t.distances_deg[i])
    w = (h - t.depths_km[k]) / (t.depths_km[k + 1] - t.depths_km[k])
    c = t.values[i:i + 2, k:k + 2]
    if np.isnan(c).any():
        return None
    return float((1 - u) * ((1 - w) * c[0, 0] + w * c[0, 1]) + u * ((1 - w) * c[1, 0] + w * c[1, 1]))


def _in_range(distance_deg: float, depth_m: float) -> bool:
    return MIN_DISTANCE_DEG <= float(distance_deg) <= MAX_DISTANCE_DEG and float(depth_m) <= MAX_DEPTH_M


def mb(amplitude_nm: float, period_s: float, distance_deg: float, depth_m: float,
       table: QTable | str = "gr1956") -> float | None:
    """Station mb, eq. (5); ``None`` outside 20-100°, below 700 km or for ``T >= 3 s``."""
    a, p = float(amplitude_nm), float(period_s)
    if not (math.isfinite(a) and a > 0):
        raise InputError(f"amplitude must be > 0 nm, got {amplitude_nm!r}", field="amplitude_nm")
    if not (math.isfinite(p) and p > 0):
        raise InputError(f"period must be > 0 s, got {period_s!r}", field="period_s")
    if p >= MAX_PERIOD_S or not _in_range(distance_deg, depth_m):
        return None
    q = q_value(distance_deg, depth_m, table)
    return None if q is None else math.log10(a / p) + q - 3.0


def mb_bb(vmax_nm_s: float, distance_deg: float, depth_m: float, table: QTable | str = "gr1956") -> float | None:
    """Station mB_BB, eq. (6); ``None`` outside 20-100° or below 700 km."""
    v = float(vmax_nm_s)
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"Vmax must be > 0 nm/s, got {vmax_nm_s!r}", field="vmax_nm_s")
    if not _in_range(distance_deg, depth_m):
        return None
    q = q_value(distance_deg, depth_m, table)
    return None if q is None else math.log10(v / (2.0 * math.pi)) + q - 3.0


def _largest_half_swing(data: np.ndarray, delta_s: float) -> tuple[float, float, int] | None:
    """(half peak-to-adjacent-trough amplitude, period = 2 x their separation, index of the later extremum)."""
    x = np.asarray(data, dtype=float)
    if x.size < 3:
        return None
    dx = np.diff(x)
    ext = np.flatnonzero(np.sign(dx[1:]) * np.sign(dx[:-1]) < 0) + 1   # local extrema
    if ext.size < 2:
        return None
    swings = np.abs(np.diff(x[ext]))
    j = int(np.argmax(swings))
    return 0.5 * float(swings[j]), 2.0 * float(ext[j + 1] - ext[j]) * delta_s, int(ext[j + 1])


def measure_mb_amplitude(wwssn_trace, t_p, window_s: float = MB_WINDOW_S) -> tuple[float, float, object] | None:
    """(A in m, T in s, time) on a WWSSN-SP simulated vertical trace (m), window ``[t_P - 1, t_P + window_s]``.

    ``t_p`` is an ObsPy UTCDateTime; ``None`` when the window is not covered.
    """
    part = wwssn_trace.slice(t_p - 1.0, t_p + window_s)
    if part.stats.npts < 0.9 * (window_s + 1.0) * part.stats.sampling_rate:
        return None
    got = _largest_half_swing(part.data, part.stats.delta)
    if got is None:
        return None
    return got[0], got[1], part.stats.starttime + got[2] * part.stats.delta


def measure_vmax(z_velocity_trace, t_p, distance_deg: float) -> tuple[float, object] | None:
    """(Vmax in m/s, its time) on a vertical ground-velocity trace (m/s) band-passed over
    :data:`MB_BB_BAND_HZ`, window ``[t_P - 1, t_P + min(11.5 Δ, 60)]`` s; ``None`` if not covered."""
    length = min(11.5 * float(distance_deg), 60.0)
    tr = z_velocity_trace.copy()
    nyq = 0.5 * tr.stats.sampling_rate
    tr.detrend("demean")
    tr.taper(0.05)
    tr.filter("bandpass", freqmin=MB_BB_BAND_HZ[0], freqmax=min(MB_BB_BAND_HZ[1], 0.8 * nyq), corners=4,
              zerophase=True)
    part = tr.slice(t_p - 1.0, t_p + length)
    if part.stats.npts < 0.9 * (length + 1.0) * part.stats.sampling_rate:
        return None
    data = np.abs(np.asarray(part.data, dtype=float))
    i = int(np.argmax(data))
    return float(data[i]), part.stats.starttime + i * part.stats.delta
