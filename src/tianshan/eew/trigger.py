"""Fast P detection for early warning, and the tests that reject glitches and spikes.

Detector
--------
Recursive STA/LTA (Allen 1978, BSSA 68, 1521-1532; the recursive form of Withers et al.
1998, BSSA 88, 95-106) on ``e = y^2``, ``y`` the vertical acceleration band-passed (2-pole
Butterworth) from ``TriggerConfig.highpass_hz`` (1 Hz) to ``min(lowpass_hz, 0.9 Nyquist)``::

    sta[n] = sta[n-1] + (e[n] - sta[n-1]) / N_sta        N_sta = max(sta_s * rate, 3)
    lta[n] = lta[n-1] + (e[n] - lta[n-1]) / N_lta        N_lta = lta_s * rate
    ratio[n] = sta[n] / lta[n-1]

with 0.05 s / 5 s windows as in ElarmS (Allen & Kanamori 2003; Kuyuk et al. 2014, SRL 85,
ElarmS-2). Both averages are one-pole IIR filters run with :func:`scipy.signal.lfilter` and
their state carried from packet to packet (:class:`StaLta`), so a packet costs two vectorised
filter calls. The LTA of the sample *before* is used so an impulsive onset is not diluted by
itself. The LTA is floored at the level that white noise of ``min_noise_quanta`` data quanta
rms produces after the channel's filters (:func:`unit_noise_power`; the quantum is the
smallest step seen between successive samples, :func:`data_quantum`: one count for
digitiser output): a quiet accelerometer whose noise lies below one count would otherwise
have an LTA near zero and trigger on any bit flip or on the linear-phase FIR precursor of a
digitiser. A trigger is the first sample with ``ratio >= ratio_on`` once ``warmup_s`` of
continuous data have filled the LTA; the sensor re-arms when the ratio has fallen below
``ratio_off`` and ``lockout_s`` has passed (choices).

Onset
-----
The STA/LTA crossing lags an emergent onset. The onset is refined by the Maeda (1985) AIC
(:func:`tianshan.picks.aic.aic_maeda`) on ``y`` from ``aic_lookback_s`` before the crossing to
``confirm_s`` after it (never later than the crossing), with the LTA floor's noise level
added as a fixed dither so sub-count precursors cannot win.

Rejection tests (run once ``confirm_s`` of data follow the crossing; all are choices in the
spirit of ElarmS-2's trigger filters, Kuyuk et al. 2014, which screen telemetry glitches,
calibration pulses and non-seismic transients)
-----------------------------------------------------------------------------
* **spike** (:func:`is_spike`): the largest sample near the crossing stands alone -- more than
  ``spike_factor`` times every sample 3-8 samples before it *and* 3-8 samples after it in the
  raw (gain-corrected, de-medianed) record. Seismic signals are band-limited by the
  anti-alias filter and the Earth's attenuation (kappa), so their amplitude cannot collapse
  within a few samples on both sides of a peak; one- and two-sample telemetry spikes do.
* **burst** (:func:`is_burst`): the same isolation for a run of up to 6 samples (telemetry
  bursts of a few corrupted samples pass the single-sample test): the run above peak / 5 is at
  most 6 samples long and the 12 samples either side of it stay below peak / 5. Added after a
  noise soak (:mod:`tianshan.eew.soak`) in which four 4-5-sample bursts at four stations within
  13 s were located together (rms 0.87 s) and alerted as an M 5.7.
* **step** (:func:`is_step`): the same isolation test on the first difference of the record:
  a DC offset jump (sensor re-centring, a mass-position or MEMS glitch) is a lone spike in
  the differences, while oscillating ground motion is not.
* **sustained energy** (:func:`boxcar_ratio`, the "boxcar" check): the mean energy over the
  ``confirm_s`` window after the crossing must stay ``>= sustain_ratio`` times the LTA; a
  transient that dies out at once fails (a per-sample test would fail real onsets at their
  zero crossings, the 0.05 s STA being only 1-2 samples at MEMS rates).
* **dominant period** (:func:`dominant_period_s`): ``2 pi max|v| / max|a|`` over the
  confirmation window (the acceleration-to-velocity ratio) must exceed ``min_period_samples``
  sample intervals; after the anti-alias filter (corner near 0.4 fs) ground motion cannot be
  dominated by shorter periods, electronic glitches are.

Measured behaviour
------------------
Simulated demo-region records (``tests/eew``), Mw 4.5-6.5 at 10 km: station triggers within
0.07 s of the true P at all stations with signal (14-242 km; single far strong-motion sensors
up to 2.8 s late, the station's broadband sensor being on time). The upper corner matters
there: the simulator (:mod:`tianshan.sim.stochastic`) shapes its spectra with zero-phase
factors up to Nyquist, which spreads a Nyquist-frequency ringing ahead of a strong P; on the
acceleration it triggered 0.2-0.75 s early before the band-pass (real data carry no energy at
Nyquist after the digitiser's anti-alias filter). Noise-only simulated records (12 stations,
20 min, Peterson noise between NLNM and NHNM) gave no trigger at thresholds 8-20. 2018 Mexico
MEMS records (31.25 Hz): STA/LTA peaks of 6-8 in 200 s of pre-event noise per device; P
triggers at 66-240 km.
"""

from __future__ import annotations

import math

import numpy as np

#: The STA averages at least this many samples (0.05 s is 1.6 samples at a MEMS rate of 31.25 Hz,
#: where the ratio would follow single noise samples).
MIN_STA_SAMPLES = 3.0


class StaLta:
    """Recursive STA/LTA whose state survives between packets (see the module docstring)."""

    __slots__ = ("cs", "cl", "sta", "lta", "floor", "_lfilter")

    def __init__(self, rate_hz: float, sta_s: float, lta_s: float, floor: float = 0.0) -> None:
        from scipy.signal import lfilter

        self._lfilter = lfilter
        self.cs = min(1.0, 1.0 / max(sta_s * rate_hz, MIN_STA_SAMPLES))
        self.cl = min(1.0, 1.0 / (lta_s * rate_hz))
        self.floor = max(float(floor), float(np.finfo(float).tiny))
        self.sta: float | None = None
        self.lta: float | None = None

    def reset(self) -> None:
        self.sta = self.lta = None

    def process(self, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """STA/LTA ratio of every sample of ``e`` (the characteristic function, >= 0) and the
        (floored) LTA each ratio used."""
        if e.size == 0:
            return np.zeros(0), np.zeros(0)
        if self.lta is None:  # start from the level of the first packet (triggers wait for warm-up)
            level = float(np.mean(e)) or float(np.finfo(float).tiny)
            self.sta = self.lta = level
        cs, cl = self.cs, self.cl
        sta = self._lfilter([cs], [1.0, cs - 1.0], e, zi=[(1.0 - cs) * self.sta])[0]
        lta = self._lfilter([cl], [1.0, cl - 1.0], e, zi=[(1.0 - cl) * self.lta])[0]
        prev = np.empty_like(lta)
        prev[0] = self.lta
        prev[1:] = lta[:-1]
        self.sta, self.lta = float(sta[-1]), float(lta[-1])
        prev = np.maximum(prev, self.floor)
        return sta / prev, prev


def unit_noise_power(filters: list[tuple[np.ndarray, np.ndarray]], rate_hz: float) -> float:
    """Mean square output of ``filters`` (a chain of (b, a)) for unit-variance white noise:
    ``sum(h^2)`` of the chain's impulse response ``h`` (20 s)."""
    from scipy.signal import lfilter

    h = np.zeros(int(20 * rate_hz) + 1)
    h[0] = 1.0
    for b, a in filters:
        h = lfilter(b, a, h)
    return float(np.dot(h, h))


def data_quantum(x: np.ndarray) -> float:
    """Smallest non-zero step between successive samples (inf if none): one count for
    integer data, the printed resolution of decimal data."""
    d = np.abs(np.diff(x))
    d = d[d > 0]
    return float(d.min()) if d.size else math.inf


def refine_onset(y: np.ndarray, crossing: int, lookback: int, lookahead: int, noise_rms: float = 0.0) -> int:
    """Index (in ``y``) of the AIC onset in ``y[crossing - lookback : crossing + lookahead]``,
    never after ``crossing`` (Maeda 1985 via :func:`tianshan.picks.aic.aic_maeda`).

    ``noise_rms``: a fixed pseudo-random (seeded) white noise of this rms is added first, the
    same floor as the LTA's: on a record quieter than a count, a sub-count change (a FIR
    precursor, a bit flip) would otherwise be the most pronounced change point.
    """
    from tianshan.picks.aic import aic_maeda

    lo = max(0, crossing - lookback)
    hi = min(y.size, crossing + lookahead + 1)
    if hi - lo < 8:
        return crossing
    seg = y[lo:hi]
    if noise_rms > 0:
        seg = seg + noise_rms * np.random.default_rng(12345).standard_normal(seg.size)
    aic = aic_maeda(seg)
    aic[crossing - lo + 1:] = np.inf
    k = int(np.argmin(aic))
    return lo + k if math.isfinite(aic[k]) else crossing


def _demedian(raw: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return raw - (np.median(ref) if ref.size else 0.0)


def is_spike(raw: np.ndarray, crossing: int, pre: int, factor: float, search: int = 3) -> bool:
    """Whether the largest sample within ``search`` samples of ``crossing`` is an isolated spike.

    ``raw``: gain-corrected samples; ``pre``: samples before ``crossing`` used as the level
    reference. The peak must exceed ``factor`` times every sample 3-8 samples before *and*
    3-8 samples after it (see the module docstring).
    """
    lo = max(0, crossing - search)
    hi = min(raw.size, crossing + search + 1)
    if hi <= lo:
        return False
    y = _demedian(raw, raw[max(0, crossing - pre):crossing])
    k = lo + int(np.argmax(np.abs(y[lo:hi])))
    peak = abs(float(y[k]))
    before = np.abs(y[max(0, k - 8):max(0, k - 2)])
    after = np.abs(y[k + 3:k + 9])
    if before.size == 0 or after.size == 0 or peak == 0.0:
        return False
    return peak > factor * float(before.max()) and peak > factor * float(after.max())


def is_burst(raw: np.ndarray, crossing: int, pre: int, factor: float, max_width: int = 6, guard: int = 12,
             search: int = 8) -> bool:
    """Whether the largest sample within ``search`` samples of ``crossing`` belongs to an isolated short
    burst: the run of samples around it above ``peak / factor`` is at most ``max_width`` samples long
    and every sample within ``guard`` samples before and after that run stays below ``peak / factor``.

    A telemetry burst (a few corrupted samples in a row) passes the single-sample :func:`is_spike` test;
    a seismic onset, band-limited, oscillates on: its next half cycle, a few samples later at any
    rate (a 10 Hz P spans 5 samples per half cycle at 100 Hz, a 5 Hz one 3 at 31.25 Hz), exceeds the
    level again within ``guard`` samples.
    """
    lo = max(0, crossing - search)
    hi = min(raw.size, crossing + search + 1)
    if hi <= lo:
        return False
    y = np.abs(_demedian(raw, raw[max(0, crossing - pre):crossing]))
    k = lo + int(np.argmax(y[lo:hi]))
    peak = float(y[k])
    if peak == 0.0:
        return False
    thr = peak / factor
    a = k
    while a > 0 and y[a - 1] > thr and k - a < max_width:
        a -= 1
    b = k
    while b + 1 < y.size and y[b + 1] > thr and b - k < max_width:
        b += 1
    if b - a + 1 > max_width:
        return False
    before, after = y[max(0, a - guard):a], y[b + 1:b + 1 + guard]
    if before.size < guard // 2 or after.size < guard // 2:
        return False
    return float(before.max()) <= thr and float(after.max()) <= thr


def is_step(raw: np.ndarray, crossing: int, pre: int, factor: float) -> bool:
    """Whether the record jumps to a new level near ``crossing``: a DC offset step.

    A step in the samples is an isolated spike in their first difference, so this is
    :func:`is_spike` on ``diff(raw)``. Oscillating ground motion has many large differences
    around its peaks; microseisms and other long-period noise have small, smooth ones (a
    test on the levels themselves would mistake a broadband record's microseism trend for a
    step).
    """
    if raw.size < 3:
        return False
    return is_spike(np.diff(raw), max(0, crossing - 1), pre, factor)


def boxcar_ratio(y: np.ndarray, lta: float) -> float:
    """Mean of ``y^2`` over the confirmation window divided by the LTA at the crossing: an STA
    with a boxcar window of ``confirm_s``."""
    return float(np.mean(y * y)) / lta if y.size and lta > 0 else 0.0


def dominant_period_s(acc: np.ndarray, vel: np.ndarray) -> float:
    """``2 pi max|v| / max|a|`` (s): the period of a sinusoid with those peaks; inf if a = 0."""
    pa = float(np.max(np.abs(acc))) if acc.size else 0.0
    pv = float(np.max(np.abs(vel))) if vel.size else 0.0
    return math.inf if pa == 0.0 else 2.0 * math.pi * pv / pa
