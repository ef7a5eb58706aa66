"""Broadband surface-wave magnitude Ms_BB (IASPEI 2013 standard).

IASPEI (2013), "Summary of Magnitude Working Group recommendations on
standard procedures for determining earthquake magnitudes from digital data";
Bormann & Dewey (2014), NMSOP-2 Information Sheet IS 3.3, eq. (6)::

    Ms_BB = log10(Vmax / (2 pi)) + 1.66 log10(Δ) + 0.3

* ``Vmax``: maximum vertical ground **velocity** (nm/s) in the Rayleigh wave
  train, on a record whose velocity response is flat over periods
  3 s < T < 60 s (here: response removed to ground velocity, then a zero-phase
  4-pole Butterworth band pass 1/60-1/3 Hz, a documented approximation of
  "flat between 3 and 60 s");
* ``Δ``: epicentral distance in degrees, **2° ≤ Δ ≤ 160°**; source depth
  shallower than 60 km. Outside these ranges no station magnitude is given.

So Ms_BB is a magnitude for larger events recorded at regional-teleseismic
distances (at Xinjiang network distances, below 2° = 222 km, it does not
apply). The surface-wave window is chosen from group velocities 4.5 to 2.5
km/s (a choice: it brackets continental Rayleigh-wave group velocities at
3-60 s).
"""

from __future__ import annotations

import math

import numpy as np

from tianshan.core.errors import InputError

MIN_DISTANCE_DEG = 2.0
MAX_DISTANCE_DEG = 160.0
MAX_DEPTH_M = 60_000.0
BAND_HZ = (1.0 / 60.0, 1.0 / 3.0)
GROUP_VELOCITY_M_S = (4500.0, 2500.0)
KM_PER_DEG = 111.19492664455873  # 6371 km sphere


def ms_bb(vmax_nm_s: float, distance_deg: float, depth_m: float = 0.0) -> float | None:
    """IASPEI Ms_BB for one station; ``None`` outside 2-160 deg or for depths >= 60 km."""
    v = float(vmax_nm_s)
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"Vmax must be > 0 nm/s, got {vmax_nm_s!r}", field="vmax_nm_s")
    d = float(distance_deg)
    if not (MIN_DISTANCE_DEG <= d <= MAX_DISTANCE_DEG) or float(depth_m) >= MAX_DEPTH_M:
        return None
    return math.log10(v / (2.0 * math.pi)) + 1.66 * math.log10(d) + 0.3


def surface_wave_window_s(distance_deg: float) -> tuple[float, float]:
    """(start, end) seconds after origin time of the Rayleigh window (group velocity 4.5-2.5 km/s)."""
    x = float(distance_deg) * KM_PER_DEG * 1000.0
    return x / GROUP_VELOCITY_M_S[0], x / GROUP_VELOCITY_M_S[1]


def measure_vmax(z_velocity_trace, origin_time, distance_deg: float) -> tuple[float, object] | None:
    """(Vmax in m/s, its time) on a vertical ground-velocity trace (m/s), or None if not covered.

    ``origin_time`` is an ObsPy UTCDateTime. The trace is band-passed over
    :data:`BAND_HZ` (zero phase) before reading the maximum in the window.
    """
    t0, t1 = surface_wave_window_s(distance_deg)
    tr = z_velocity_trace.copy()
    if tr.stats.endtime < origin_time + t0 or tr.stats.starttime > origin_time + t1:
        return None
    tr.detrend("demean")
    tr.taper(0.05)
    tr.filter("bandpass", freqmin=BAND_HZ[0], freqmax=BAND_HZ[1], corners=4, zerophase=True)
    part = tr.slice(origin_time + t0, origin_time + t1)
    if part.stats.npts == 0:
        return None
    data = np.abs(np.asarray(part.data, dtype=float))
    i = int(np.argmax(data))
    return float(data[i]), part.stats.starttime + i * part.stats.delta
