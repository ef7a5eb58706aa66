"""Per-station, per-packet EEW processing: ground units, recursive filters, triggers, P-wave measurements.

Design
------
Every channel is processed packet by packet with its filter states carried over
(:class:`ChannelProcessor`); nothing is ever recomputed over the history. A packet costs a
handful of vectorised :func:`scipy.signal.lfilter` calls over its samples:

1. **Ground units**: counts / overall sensitivity (``Channel.gain``, StationXML
   ``InstrumentSensitivity``); accelerometers (strong motion, MEMS; gain input units
   ``M/S**2``) give m/s^2, seismometers (``M/S``) m/s. A flat response is assumed over the
   EEW band (true above the seismometer corner; below it the 0.075 Hz high-pass dominates).
2. **Recursive filters** (ElarmS practice: Allen & Kanamori 2003; Kuyuk et al. 2014; Chung
   et al. 2019, SRL 90, ElarmS-3/EPIC): with ``H`` the 0.075 Hz Butterworth high-pass and
   ``I`` the trapezoidal integrator ``(dt/2)(1 + z^-1)/(1 - z^-1)``,

   * acceleration input ``a``: ``acc = H a``, ``vel = (H I) a``, ``disp = (H I) vel``;
   * velocity input ``v``: ``vel = H v``, ``acc = dvel/dt`` (backward difference),
     ``disp = (H I) vel``.

   ``H I`` is formed with the integrator's pole at z = 1 cancelled against one of the
   high-pass zeros at z = 1 (the Butterworth high-pass numerator is ``g (1 - z^-1)^n``), so
   the product is a stable filter with no drift to accumulate (unlike integrating first and
   filtering after). Filter states start at the steady state of the first sample
   (:func:`scipy.signal.lfilter_zi`), so the DC offset in counts causes no transient.
3. **Trigger** (vertical only, :mod:`tianshan.eew.trigger`): STA/LTA on the vertical
   acceleration band-passed from 1 Hz to 0.9 Nyquist; confirmation after ``confirm_s`` of
   data with the spike, step, sustained-energy and dominant-period tests; onset refined by AIC.
4. **Captures**: from the onset every channel of the triggered sensor copies its derived
   samples (from a short history kept for this purpose) and then each new packet's, for
   ``max(max_window_s, tau_window_s)``; PGA/PGV keep running for ``peak_hold_s``.

Measurements (:meth:`SensorProcessor.measurement`, from the captures, for any window length)
----------------------------------------------------------------------------------------------
* ``Pd``: peak |vertical displacement| over the window (ElarmS; Kuyuk & Allen 2013).
* ``tau_c = 2 pi sqrt( int u^2 dt / int u'^2 dt )`` over the first ``tau_window_s`` (3 s) of
  vertical displacement ``u`` and velocity ``u'`` (Kanamori 2005, Annu. Rev. Earth Planet.
  Sci. 33, eq. 1; Wu & Kanamori 2005).
* ``tau_p_max``: ``tau_p_i = 2 pi sqrt(X_i / D_i)``, ``X_i = alpha X_{i-1} + x_i^2``,
  ``D_i = alpha D_{i-1} + (dx/dt)_i^2`` (Allen & Kanamori 2003, Science 300, eqs. 1-2) on
  vertical velocity ``x`` low-passed at 3 Hz (Wurman et al. 2007), ``alpha = 1 - dt/1 s``
  (0.99 at 100 Hz). The recursion is restarted at the onset (pre-event microseism noise
  would otherwise inflate tau_p at the first P samples) and its maximum taken from
  ``TAUP_SKIP_S`` after the onset to the end of the window.
* PGA / PGV: peak |acc| / |vel| of the horizontal components since the onset (vertical
  when the sensor has no horizontals).

Counters (:class:`StationCounters`) count every packet handled, skipped (unknown stream, no
gain, duplicate) and every discontinuity, reset, trigger and rejection by test.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np

from tianshan.core.ids import StreamID
from tianshan.core.station import Channel, InstrumentKind, Station
from tianshan.eew.config import EEWConfig
from tianshan.eew import trigger as trig

log = logging.getLogger(__name__)

_NS = 1_000_000_000
#: tau_p_max is searched from this long after the onset (the restarted recursion needs a few samples).
TAUP_SKIP_S = 0.2
_ACCEL_UNITS = ("M/S**2", "M/S/S", "M/S2")
_VEL_UNITS = ("M/S",)


def ns_to_datetime(t_ns: int) -> datetime:
    """Aware UTC datetime of integer nanoseconds since the epoch (microsecond precision)."""
    return datetime.fromtimestamp(t_ns // 1000 / 1e6, tz=timezone.utc)


@dataclass(frozen=True, slots=True)
class Trigger:
    """A confirmed P detection at one sensor.

    ``time`` / ``time_ns``: the refined onset; ``crossing_ns``: the STA/LTA crossing;
    ``confirmed_ns``: the data time of the newest sample when the trigger was confirmed
    (the earliest moment it could be used); ``ratio``: the largest STA/LTA in the
    confirmation window.
    """

    station_id: str
    sensor_id: str
    time: datetime
    time_ns: int
    crossing_ns: int
    confirmed_ns: int
    latitude_deg: float
    longitude_deg: float
    elevation_m: float
    ratio: float


@dataclass(frozen=True, slots=True)
class StationMeasurement:
    """P-wave measurements of one sensor over ``window_s`` after its onset (SI units)."""

    station_id: str
    sensor_id: str
    onset: datetime
    window_s: float
    pd_m: float
    tau_c_s: float | None
    tau_p_max_s: float | None
    pga_m_s2: float
    pgv_m_s: float
    clipped: bool


@dataclass
class StationCounters:
    """Counts of packets and samples handled, skipped and of trigger outcomes."""

    packets: int = 0
    samples: int = 0
    unknown_stream: int = 0
    no_gain: int = 0
    duplicates: int = 0
    gaps: int = 0
    overlaps: int = 0
    rate_changes: int = 0
    bad_packets: int = 0
    triggers: int = 0
    rejected_spike: int = 0
    rejected_step: int = 0
    rejected_burst: int = 0
    rejected_sustain: int = 0
    rejected_period: int = 0
    clipped_triggers: int = 0

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class _Filters:
    b_hp: np.ndarray
    a_hp: np.ndarray
    b_hpi: np.ndarray
    a_hpi: np.ndarray
    b_lp: np.ndarray | None
    a_lp: np.ndarray | None
    b_tr: np.ndarray
    a_tr: np.ndarray
    zi_hp: np.ndarray   # lfilter_zi of the high-pass (step response steady state)
    zi_hpi: np.ndarray  # lfilter_zi of H I
    alpha: float


@lru_cache(maxsize=32)
def design_filters(rate_hz: float, highpass_hz: float, order: int, lowpass_hz: float, trigger_hz: float,
                   smoothing_s: float, trigger_top_hz: float = 10.0) -> _Filters:
    """Filter coefficients for one sample rate (cached; see the module docstring)."""
    from numpy.polynomial import polynomial as P
    from scipy.signal import butter, lfilter_zi

    nyq = rate_hz / 2.0
    b_hp, a_hp = butter(order, highpass_hz / nyq, btype="highpass")
    q, rem = P.polydiv(b_hp, [1.0, -1.0])           # b_hp = g (1 - z^-1)^n: take one (1 - z^-1) out
    if np.max(np.abs(rem)) > 1e-9 * np.max(np.abs(b_hp)):  # pragma: no cover - Butterworth guarantees it
        raise ValueError("high-pass numerator has no zero at z = 1")
    b_hpi = P.polymul(q, [1.0, 1.0]) * (0.5 / rate_hz)
    b_lp = a_lp = None
    if lowpass_hz < 0.9 * nyq:
        b_lp, a_lp = butter(2, lowpass_hz / nyq, btype="lowpass")
    top = min(trigger_top_hz, 0.9 * nyq)
    if trigger_hz < 0.9 * top:
        b_tr, a_tr = butter(2, [trigger_hz / nyq, top / nyq], btype="bandpass")
    else:
        b_tr, a_tr = butter(2, min(trigger_hz, 0.45 * rate_hz) / nyq, btype="highpass")
    alpha = max(0.0, 1.0 - 1.0 / (rate_hz * smoothing_s))
    return _Filters(b_hp, a_hp, b_hpi, a_hp, b_lp, a_lp, b_tr, a_tr, lfilter_zi(b_hp, a_hp),
                    lfilter_zi(b_hpi, a_hp), alpha)


class _Capture:
    """Derived samples of one channel from the onset on (see the module docstring)."""

    __slots__ = ("k0", "n_max", "chunks", "n", "peak_acc", "peak_vel", "hold_k", "clipped")

    def __init__(self, k0: int, n_max: int, hold_k: int) -> None:
        self.k0, self.n_max, self.hold_k = k0, n_max, hold_k
        self.chunks: list[np.ndarray] = []  # rows acc, vel, disp, lpv
        self.n = 0
        self.peak_acc = self.peak_vel = 0.0
        self.clipped = False

    def add(self, k_first: int, rows: np.ndarray, counts: np.ndarray, clip: float) -> None:
        """Add derived ``rows`` (4 x m) whose first sample is channel index ``k_first``."""
        lo = max(0, self.k0 - k_first)
        hi = min(rows.shape[1], self.hold_k - k_first)
        if hi <= lo:
            return
        seg = rows[:, lo:hi]
        self.peak_acc = max(self.peak_acc, float(np.max(np.abs(seg[0]))))
        self.peak_vel = max(self.peak_vel, float(np.max(np.abs(seg[1]))))
        if float(np.max(np.abs(counts[lo:hi]))) >= clip:
            self.clipped = True
        take = min(hi - lo, self.n_max - self.n)
        if take > 0:
            self.chunks.append(seg[:, :take])
            self.n += take

    def array(self) -> np.ndarray:
        if len(self.chunks) > 1:
            self.chunks = [np.concatenate(self.chunks, axis=1)]
        return self.chunks[0] if self.chunks else np.zeros((4, 0))


class ChannelProcessor:
    """One channel: ground units, filter states, a short history and the current capture."""

    #: rows of the history: raw (SI), acc, vel, disp, lpv (3 Hz low-passed velocity); the vertical
    #: adds y (trigger band), STA/LTA ratio and the LTA it used
    ROWS = 5

    def __init__(self, channel: Channel, rate_hz: float, config: EEWConfig, vertical: bool) -> None:
        self.channel = channel
        self.stream_id = channel.stream_id
        self.rate_hz = float(rate_hz)
        self.vertical = vertical
        gain = channel.gain
        self.gain = float(gain.value)
        units = gain.input_units.upper()
        self.accel = units in _ACCEL_UNITS or (units not in _VEL_UNITS and channel.kind in (
            InstrumentKind.STRONG_MOTION, InstrumentKind.MEMS))
        m, t = config.measure, config.trigger
        self.f = design_filters(self.rate_hz, m.highpass_hz, int(m.highpass_order), m.taup_lowpass_hz,
                                t.highpass_hz, m.taup_smoothing_s, t.lowpass_hz)
        self.cap = int(math.ceil(m.history_s * self.rate_hz))
        self.clip = t.clip_fraction * t.full_scale_counts
        self.stalta = None
        self.noise_quanta = t.min_noise_quanta
        self.quantum = math.inf
        self.unit_power = 0.0
        if vertical:
            f = self.f
            chain = [(f.b_hp, f.a_hp)] if self.accel else [(f.b_hp, f.a_hp), ([self.rate_hz, -self.rate_hz], [1.0])]
            self.unit_power = trig.unit_noise_power(chain + [(f.b_tr, f.a_tr)], self.rate_hz)
            self.stalta = trig.StaLta(self.rate_hz, t.sta_s, t.lta_s)
        from scipy.signal import lfilter

        self._lfilter = lfilter
        self.capture: _Capture | None = None
        self.reset()

    def reset(self) -> None:
        """Forget the filter states and history (after a gap or at a rate change)."""
        self.t0_ns: int | None = None
        self.n = 0                      # samples since the reset
        self.zi: dict[str, np.ndarray] = {}
        self.last_vel = 0.0
        self.hist = np.zeros((self.ROWS + (3 if self.vertical else 0), 0))
        self.hist_counts = np.zeros(0)
        self.hist_k0 = 0
        self.capture = None
        self._deferred: tuple | None = None
        if self.stalta is not None:
            self.stalta.reset()

    # -- time <-> index ------------------------------------------------------------------
    def time_ns(self, k: int) -> int:
        return self.t0_ns + round(k * _NS / self.rate_hz)

    def index(self, t_ns: int) -> int:
        return round((t_ns - self.t0_ns) * self.rate_hz / _NS)

    @property
    def end_ns(self) -> int | None:
        """Time of the newest sample processed (None before any)."""
        return None if self.t0_ns is None or self.n == 0 else self.time_ns(self.n - 1)

    # -- processing ----------------------------------------------------------------------
    def _filt(self, name: str, b, a, x: np.ndarray, zi0: np.ndarray | None = None) -> np.ndarray:
        zi = self.zi.get(name)
        if zi is None:
            zi = np.zeros(max(len(a), len(b)) - 1) if zi0 is None else zi0
        y, self.zi[name] = self._lfilter(b, a, x, zi=zi)
        return y

    def process(self, start_ns: int, counts: np.ndarray, counters: StationCounters) -> tuple[int, np.ndarray] | None:
        """Filter one packet; returns ``(index of its first new sample, rows)`` or None (nothing new).

        A packet that starts more than half a sample after the expected time opens a gap: the
        channel restarts (filters and history). Samples already processed are dropped.
        """
        counts = np.asarray(counts, dtype=np.float64).ravel()
        if counts.size == 0:
            return None
        if self.t0_ns is not None:
            expected = self.time_ns(self.n)
            offset = (start_ns - expected) * self.rate_hz / _NS
            if offset > 0.5:
                counters.gaps += 1
                self.reset()
            elif offset < -0.5:
                drop = int(round(-offset))
                if drop >= counts.size:
                    counters.duplicates += 1
                    return None
                counters.overlaps += 1
                counts = counts[drop:]
                start_ns = expected
        if self.t0_ns is None:
            self.t0_ns = int(start_ns)
            if self._deferred is not None:
                self.start_capture(*self._deferred)
        k0 = self.n
        f = self.f
        x = counts / self.gain
        if self.accel:
            acc = self._filt("hp", f.b_hp, f.a_hp, x, f.zi_hp * x[0])
            vel = self._filt("hpi1", f.b_hpi, f.a_hpi, x, f.zi_hpi * x[0])
        else:
            vel = self._filt("hp", f.b_hp, f.a_hp, x, f.zi_hp * x[0])
            acc = np.empty_like(vel)
            acc[0] = (vel[0] - self.last_vel) * self.rate_hz if k0 else 0.0
            acc[1:] = np.diff(vel) * self.rate_hz
        self.last_vel = float(vel[-1])
        if self.vertical:
            disp = self._filt("hpi2", f.b_hpi, f.a_hpi, vel)
            lpv = vel if f.b_lp is None else self._filt("lp", f.b_lp, f.a_lp, vel)
        else:  # Pd and tau_p are vertical measurements: horizontals need acc and vel only
            disp = lpv = np.zeros_like(vel)
        rows = [x, acc, vel, disp, lpv]
        if self.vertical:
            q = trig.data_quantum(counts)
            if q < self.quantum:  # the LTA floor follows the finest step seen (see trigger.py)
                self.quantum = q
                self.stalta.floor = max((self.noise_quanta * q / self.gain) ** 2 * self.unit_power,
                                        float(np.finfo(float).tiny))
            y = self._filt("tr", f.b_tr, f.a_tr, acc)
            rows += [y, *self.stalta.process(y * y)]
        block = np.vstack(rows)
        self.n += counts.size
        if self.capture is not None:
            self.capture.add(k0, block[1:5], counts, self.clip)
        self.hist = np.concatenate([self.hist, block], axis=1)
        self.hist_counts = np.concatenate([self.hist_counts, counts])
        return k0, block

    def trim(self, keep_from: int | None = None) -> None:
        """Drop history older than ``history_s`` (or than ``keep_from``, whichever is older)."""
        lo = self.n - self.cap
        if keep_from is not None:
            lo = min(lo, keep_from)
        cut = lo - self.hist_k0
        if cut > 0:
            self.hist = self.hist[:, cut:]
            self.hist_counts = self.hist_counts[cut:]
            self.hist_k0 += cut

    def history(self, k_lo: int, k_hi: int) -> tuple[int, np.ndarray]:
        """History rows for channel indices [k_lo, k_hi) clipped to what is kept: (first index, rows)."""
        lo = max(k_lo, self.hist_k0)
        hi = min(k_hi, self.hist_k0 + self.hist.shape[1])
        if hi <= lo:
            return lo, self.hist[:, 0:0]
        return lo, self.hist[:, lo - self.hist_k0:hi - self.hist_k0]

    def start_capture(self, onset_ns: int, n_max: int, hold_s: float) -> None:
        """Capture derived samples from ``onset_ns`` on (history first; a channel without data
        yet starts its capture with its first packet)."""
        if self.t0_ns is None:
            self._deferred = (onset_ns, n_max, hold_s)
            return
        self._deferred = None
        k_on = self.index(onset_ns)
        cap = _Capture(k_on, n_max, k_on + int(round(hold_s * self.rate_hz)))
        lo, rows = self.history(k_on, self.n)
        if rows.shape[1]:
            cap.add(lo, rows[1:5], self.hist_counts[lo - self.hist_k0:lo - self.hist_k0 + rows.shape[1]],
                    self.clip)
        self.capture = cap


class SensorProcessor:
    """The channels of one sensor (``NET.STA.LOC`` + band/instrument code): trigger and measurements."""

    def __init__(self, sensor_id: str, station: Station, channels: Sequence[Channel], config: EEWConfig) -> None:
        self.sensor_id = sensor_id
        self.station = station
        self.station_id = station.station_id
        self.config = config
        self.channels: dict[StreamID, ChannelProcessor] = {}
        self.z: ChannelProcessor | None = None
        for ch in channels:
            self._add(ch, ch.sample_rate_hz)
        self.trigger: Trigger | None = None
        self._pending: int | None = None      # Z index of an STA/LTA crossing awaiting confirmation
        self._armed_from = 0                  # Z index from which a new crossing may count
        self._need_quiet = False              # re-arm only after the ratio fell below ratio_off

    def _add(self, ch: Channel, rate: float) -> ChannelProcessor:
        vertical = ch.stream_id.component == "Z" or abs(ch.dip_deg) >= 45.0 and ch.stream_id.component not in "NE12"
        proc = ChannelProcessor(ch, rate, self.config, vertical)
        self.channels[ch.stream_id] = proc
        if vertical:
            self.z = proc
        return proc

    @property
    def horizontals(self) -> list[ChannelProcessor]:
        return [c for c in self.channels.values() if not c.vertical]

    def process(self, stream_id: StreamID, start_ns: int, rate: float, counts,
                counters: StationCounters) -> Trigger | None:
        """One packet of one of the sensor's channels; returns a trigger it confirmed, if any."""
        proc = self.channels[stream_id]
        if abs(rate - proc.rate_hz) > 1e-6 * proc.rate_hz:
            counters.rate_changes += 1
            proc = self._add(proc.channel, rate)
            if proc.vertical:
                self._pending, self._armed_from, self._need_quiet = None, 0, False
        n_before = proc.n
        got = proc.process(int(start_ns), counts, counters)
        if got is None:
            return None
        if proc.vertical and proc.n - got[1].shape[1] != n_before:  # the channel restarted (gap)
            self._pending, self._armed_from, self._need_quiet = None, 0, False
        counters.samples += got[1].shape[1]
        out = self._detect(got[0], got[1], counters) if proc.vertical else None
        keep = None
        if proc.vertical and self._pending is not None:
            keep = self._pending - int(math.ceil(self.config.trigger.aic_lookback_s * proc.rate_hz)) - 8
        proc.trim(keep)
        return out

    # -- trigger ---------------------------------------------------------------------------
    def _detect(self, k0: int, block: np.ndarray, counters: StationCounters) -> Trigger | None:
        t = self.config.trigger
        z = self.z
        ratio = block[6]
        warm = int(math.ceil(t.warmup_s * z.rate_hz))
        result = None
        pos = k0
        while True:
            if self._pending is not None:
                done, trig_obj = self._confirm(counters)
                if not done:
                    return result
                result = trig_obj or result
                pos = max(pos, self._armed_from)
            if self._need_quiet:
                j = np.flatnonzero(ratio[max(0, self._armed_from - k0):] < t.ratio_off)
                if j.size == 0:
                    return result
                self._armed_from = max(self._armed_from, k0) + int(j[0])
                self._need_quiet = False
            start = max(pos, self._armed_from, warm)
            if start >= k0 + ratio.size:
                return result
            hits = np.flatnonzero(ratio[start - k0:] >= t.ratio_on)
            if hits.size == 0:
                return result
            self._pending = start + int(hits[0])

    def _confirm(self, counters: StationCounters) -> tuple[bool, Trigger | None]:
        """Run the rejection tests on a pending crossing once ``confirm_s`` of data follow it."""
        t, z = self.config.trigger, self.z
        fs = z.rate_hz
        c = self._pending
        n_conf = max(3, int(math.ceil(t.confirm_s * fs)))
        if z.n < c + n_conf:
            return False, None
        n_pre = int(math.ceil(t.aic_lookback_s * fs))
        lo, rows = z.history(c - n_pre - 8, c + n_conf)
        ci = c - lo
        raw, acc, vel, y, ratio, lta = rows[0], rows[1], rows[2], rows[5], rows[6], rows[7]
        self._pending = None
        reason = None
        if trig.is_spike(raw, ci, n_pre, t.spike_factor):
            reason = "spike"
        elif trig.is_burst(raw, ci, n_pre, t.spike_factor):
            reason = "burst"
        elif trig.is_step(raw, ci, n_pre, t.step_factor):
            reason = "step"
        elif trig.boxcar_ratio(y[ci:ci + n_conf], float(lta[ci])) < t.sustain_ratio:
            reason = "sustain"
        elif trig.dominant_period_s(acc[ci:ci + n_conf], vel[ci:ci + n_conf]) < t.min_period_samples / fs:
            reason = "period"
        if reason is not None:
            setattr(counters, f"rejected_{reason}", getattr(counters, f"rejected_{reason}") + 1)
            log.debug("%s: trigger at %s rejected (%s)", self.sensor_id, ns_to_datetime(z.time_ns(c)), reason)
            self._armed_from, self._need_quiet = c + 1, True
            return True, None
        onset = lo + trig.refine_onset(y, ci, n_pre, n_conf, math.sqrt(z.stalta.floor))
        onset_ns = z.time_ns(onset)
        m = self.config.measure
        for proc in self.channels.values():
            n_max = int(math.ceil(max(m.max_window_s, m.tau_window_s) * proc.rate_hz)) + 1
            proc.start_capture(onset_ns, n_max, m.peak_hold_s)
        st = self.station
        self.trigger = Trigger(self.station_id, self.sensor_id, ns_to_datetime(onset_ns), onset_ns, z.time_ns(c),
                               z.time_ns(z.n - 1), st.latitude_deg, st.longitude_deg, st.elevation_m,
                               float(np.max(ratio[ci:ci + n_conf])))
        counters.triggers += 1
        k_hi = min(z.n, c + n_conf) - z.hist_k0
        if k_hi > 0 and float(np.max(np.abs(z.hist_counts[max(0, c - z.hist_k0):k_hi]), initial=0.0)) >= z.clip:
            counters.clipped_triggers += 1
        self._armed_from = c + int(math.ceil(t.lockout_s * fs))
        self._need_quiet = True
        return True, self.trigger

    # -- measurements ----------------------------------------------------------------------
    def measurement(self, window_s: float | None = None) -> StationMeasurement | None:
        """Measurements over ``window_s`` (default: all captured, at most ``max_window_s``) after the
        onset of the current trigger; None without a trigger or vertical capture."""
        z, trg = self.z, self.trigger
        if trg is None or z is None or z.capture is None or z.capture.n == 0:
            return None
        m = self.config.measure
        fs = z.rate_hz
        cz = z.capture.array()
        limit = m.max_window_s if window_s is None else min(window_s, m.max_window_s)
        n = min(cz.shape[1], max(1, int(round(limit * fs))))
        pd = float(np.max(np.abs(cz[2, :n])))
        n_tau = min(n, int(round(m.tau_window_s * fs)))
        u, du = cz[2, :n_tau], cz[1, :n_tau]
        den = float(np.dot(du, du))
        tau_c = 2 * math.pi * math.sqrt(float(np.dot(u, u)) / den) if den > 0 else None
        tau_p = self._tau_p_max(cz[3, :n_tau], fs)
        caps = [c.capture for c in (self.horizontals or [z]) if c.capture is not None]
        pga = max((c.peak_acc for c in caps), default=0.0)
        pgv = max((c.peak_vel for c in caps), default=0.0)
        clipped = any(c.capture is not None and c.capture.clipped for c in self.channels.values())
        return StationMeasurement(self.station_id, self.sensor_id, trg.time, n / fs, pd, tau_c, tau_p, pga, pgv,
                                  clipped)

    def _tau_p_max(self, x: np.ndarray, fs: float) -> float | None:
        skip = int(round(TAUP_SKIP_S * fs))
        if x.size <= skip + 1:
            return None
        a = self.z.f.alpha
        dx = np.empty_like(x)
        dx[0] = 0.0
        dx[1:] = np.diff(x) * fs
        lf = self.z._lfilter
        big_x = lf([1.0], [1.0, -a], x * x)
        big_d = lf([1.0], [1.0, -a], dx * dx)
        ok = big_d[skip:] > 0
        if not ok.any():
            return None
        tp = 2 * math.pi * np.sqrt(big_x[skip:][ok] / big_d[skip:][ok])
        return float(np.max(tp))

    @property
    def end_ns(self) -> int | None:
        """Newest vertical sample time (the sensor's data frontier)."""
        return None if self.z is None else self.z.end_ns


def sensor_key(sid: StreamID) -> str:
    """``NET.STA.LOC.BI`` (band and instrument code) of a stream."""
    return f"{sid.network}.{sid.station}.{sid.location}.{sid.channel[:2]}"


class StationBank:
    """All sensors of a station list; the packet entry point of the EEW chain.

    ``process(stream_id, start_ns, rate, counts)`` / ``process_segment`` (a BufferSet
    :class:`~tianshan.stream.buffers.Segment`) / ``process_trace`` (an ObsPy trace, a packet)
    return the triggers confirmed by that packet. Streams not configured, or without a gain,
    are skipped and counted (:attr:`counters`); bad data never raise.
    """

    def __init__(self, stations: Iterable[Station], config: EEWConfig | None = None) -> None:
        self.config = config or EEWConfig()
        self.counters = StationCounters()
        self.stations: dict[str, Station] = {}
        self.sensors: dict[str, SensorProcessor] = {}
        self._by_stream: dict[StreamID, SensorProcessor] = {}
        self.by_station: dict[str, list[SensorProcessor]] = {}
        pref = {code: i for i, code in enumerate(self.config.sensor_preference)}
        for st in stations:
            self.stations[st.station_id] = st
            groups: dict[str, list[Channel]] = {}
            for ch in st.channels:
                if ch.gain is None:
                    self.counters.no_gain += 1
                    continue
                groups.setdefault(sensor_key(ch.stream_id), []).append(ch)
            for key, chans in groups.items():
                sp = SensorProcessor(key, st, chans, self.config)
                if sp.z is None:
                    continue  # no vertical: cannot trigger
                self.sensors[key] = sp
                self.by_station.setdefault(st.station_id, []).append(sp)
                for ch in chans:
                    self._by_stream[ch.stream_id] = sp
            self.by_station.get(st.station_id, []).sort(
                key=lambda s: pref.get(s.sensor_id.rsplit(".", 1)[1], len(pref)))

    def sensor_for(self, stream_id: StreamID | str) -> SensorProcessor | None:
        """The sensor a stream belongs to (None: not configured or not a valid id)."""
        if not isinstance(stream_id, StreamID):
            try:
                stream_id = StreamID.parse(str(stream_id))
            except ValueError:
                return None
        return self._by_stream.get(stream_id)

    def process(self, stream_id: StreamID | str, start_ns: int, rate_hz: float, counts) -> list[Trigger]:
        self.counters.packets += 1
        sp = self.sensor_for(stream_id)
        if sp is None:
            self.counters.unknown_stream += 1
            return []
        if not (rate_hz > 0 and math.isfinite(rate_hz)):
            self.counters.bad_packets += 1
            return []
        try:
            data = np.asarray(counts, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            self.counters.bad_packets += 1
            return []
        if not np.all(np.isfinite(data)):
            self.counters.bad_packets += 1
            return []
        sid = stream_id if isinstance(stream_id, StreamID) else StreamID.parse(str(stream_id))
        got = sp.process(sid, int(start_ns), float(rate_hz), data, self.counters)
        return [got] if got is not None else []

    def process_segment(self, seg) -> list[Trigger]:
        """A BufferSet ``Segment`` (``gap_before`` restarts the channel through the time check)."""
        return self.process(seg.stream_id, seg.start_ns, seg.sample_rate_hz, seg.data)

    def process_trace(self, tr) -> list[Trigger]:
        s = tr.stats
        try:
            sid = StreamID(s.network, s.station, s.location, s.channel)
        except ValueError:
            self.counters.unknown_stream += 1
            return []
        return self.process(sid, int(s.starttime._ns), float(s.sampling_rate), tr.data)

    def frontier_ns(self, station_id: str) -> int | None:
        """Newest vertical sample time over the station's sensors (None: no data yet)."""
        ends = [s.end_ns for s in self.by_station.get(station_id, ()) if s.end_ns is not None]
        return max(ends) if ends else None

    def best_measurement(self, station_id: str, window_s: float | None = None) -> StationMeasurement | None:
        """The measurement of the station's preferred triggered sensor (``EEWConfig.sensor_preference``);
        a clipped sensor yields to an unclipped one."""
        got = [m for s in self.by_station.get(station_id, ()) if (m := s.measurement(window_s)) is not None]
        if not got:
            return None
        unclipped = [m for m in got if not m.clipped]
        return (unclipped or got)[0]


def mems_station(network: str, code: str, latitude_deg: float, longitude_deg: float, sample_rate_hz: float,
                 *, location: str = "", band: str = "HN", components: str = "ZNE",
                 counts_per_m_s2: float = 1.0, elevation_m: float = 0.0) -> Station:
    """A MEMS accelerometer site (e.g. an OpenEEW device) whose samples are ``counts_per_m_s2``
    counts per m/s^2 (1.0: data already in m/s^2, as :mod:`tianshan.stream.openeew` delivers)."""
    from tianshan.core.station import StationGain

    gain = StationGain(counts_per_m_s2, 1.0, "M/S**2", response_ref="eew: flat MEMS sensitivity")
    chans = tuple(Channel(StreamID(network, code, location, band + c), latitude_deg, longitude_deg, elevation_m,
                          sample_rate_hz, azimuth_deg={"N": 0.0, "E": 90.0}.get(c, 0.0),
                          dip_deg=-90.0 if c == "Z" else 0.0, kind=InstrumentKind.MEMS, gain=gain)
                  for c in components)
    return Station(network, code, latitude_deg, longitude_deg, elevation_m, channels=chans)
