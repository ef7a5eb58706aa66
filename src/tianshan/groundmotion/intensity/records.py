"""Station ground motion from three-component records: GB/T 17742-2020 intensity, PGA, PGV and PSA.

Input: an ObsPy ``Stream`` holding one station's three components, either in
physical units (``units="m/s**2"``, ``"cm/s**2"``/``"gal"`` or ``"g"``) or in raw
counts with an ObsPy ``Inventory`` whose responses are removed to acceleration
(``Trace.remove_response(output="ACC")``; velocity sensors are differentiated
by the response). :func:`station_motion` processes one station and raises
:class:`RecordRefused` (an :class:`~tianshan.core.errors.InputError` with a
``flag``) for unusable input; :func:`stream_motions` processes every station of
a stream and never raises for one station's bad data: the station comes back
flagged (:attr:`StationMotion.flags`, NaN values) and is logged.

Refusals (``flag``):

* ``missing_component``: need Z and N/E (or 1/2);
* ``unknown_units``: neither ``units`` nor an inventory, or units not in :data:`UNITS`;
* ``wrong_units``: integer samples declared as physical units (raw counts), or a
  response whose input is neither acceleration nor velocity;
* ``no_response``: no response in the inventory, or its removal failed;
* ``absurd_amplitude``: |a| > 50 m/s^2 anywhere (about 5 g: no real record
  reaches it, a unit error does);
* ``clipped``: a flat-topped clip level in the raw samples
  (:func:`tianshan.qc.clipping.clip_levels`);
* ``gap``: a gap, or overlapping traces of one channel with different samples
  (identical overlaps merge);
* ``sample_rate_mismatch``, ``sample_rate_too_low`` (high-pass corner not below
  0.95 x Nyquist), ``too_short`` (< 10 s in common), ``non_finite``,
  ``dead_channel`` (a constant component);
* ``ambiguous``: several stations given to :func:`station_motion`;
* ``processing_error``: any other numerical failure (:func:`stream_motions` only);
* ``duplicate``: see below.

Processing (both measures): remove the mean, cosine taper of 5 s at each end
(at most 5 % of the record), zero padding of ``1.5 n / f_c / 2`` seconds at each
end (Boore & Bommer 2005, Soil Dyn. Earthq. Eng. 25, 93-115, for acausal
Butterworth filters: ``n`` order, ``f_c`` low corner; 30 s for 4th order at
0.1 Hz), Butterworth filtering, velocity by trapezoidal integration of the
filtered acceleration starting at rest; peaks over the padded series.

* **GB/T 17742-2020 Appendix A** (:func:`gbt17742_peaks`): 0.1-10 Hz band-pass of
  the three components, PGA and PGV of the sample-by-sample vector sum of the
  three, then :func:`tianshan.groundmotion.intensity.gbt17742.instrumental_intensity`.
  The band and the vector sum are the standard's (see that module for the
  sources). **Not verified** (no copy of Appendix A could be read): the filter
  type, order and phase. We use a 4th-order Butterworth applied forward and
  backward (zero phase, the common choice for processed strong-motion records);
  ``zero_phase=False`` gives the causal filter a real-time system would run. If
  10 Hz is not below 0.95 x Nyquist (sample rate <= 21 Hz) only the high-pass
  is applied (noted in :attr:`StationMotion.notes`).
* **Engineering measures of the horizontals** (:func:`horizontal_measures`):
  high-pass only (0.1 Hz, same filter), PGA, PGV and 5 %-damped PSA at 0.3, 1.0
  and 3.0 s (:mod:`tianshan.groundmotion.spectra`, Nigam & Jennings 1969), each
  as the **larger of the two horizontal components** (the measure of Worden et
  al. 2012 and of ShakeMap station lists) and as **RotD50** (Boore 2010, the
  measure of NGA-West2 GMPEs). Both are orientation-free, so N/E and 1/2
  horizontals need no azimuths.

Duplicates (:func:`stream_motions`): channels are grouped by
``NET.STA.LOC.BI`` (band and instrument code). When one ``NET.STA`` has several
groups (co-located accelerometer and seismometer, two location codes), the
first usable group in the order accelerometer (instrument code ``N``) first,
then by location and channel code, is kept; every other group is flagged
``duplicate`` (its values are kept for inspection, never to be used).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from tianshan.core.errors import InputError
from tianshan.core.timeutil import as_utc
from tianshan.groundmotion import spectra
from tianshan.groundmotion.intensity import gbt17742

__all__ = ["RecordConfig", "RecordRefused", "StationMotion", "ThreeComponent", "UNITS",
           "gbt17742_peaks", "horizontal_measures", "three_component", "station_motion", "stream_motions"]

log = logging.getLogger(__name__)

#: Declared physical units of a stream -> factor to m/s^2 (g: standard gravity, CGPM 1901).
UNITS: dict[str, float] = {"m/s**2": 1.0, "m/s^2": 1.0, "m/s2": 1.0, "cm/s**2": 0.01, "cm/s^2": 0.01,
                           "cm/s2": 0.01, "gal": 0.01, "g": 9.80665}
_ACC_INPUT = {"M/S**2", "M/S2", "M/S^2", "M/SEC**2", "M/SEC2", "M/S/S"}
_VEL_INPUT = {"M/S", "M/SEC"}
_HORIZONTAL_PAIRS = (("N", "E"), ("1", "2"))


@dataclass(frozen=True, slots=True)
class RecordConfig:
    """Settings of the record processing (module docstring); SI units."""

    band_hz: tuple[float, float] = (0.1, 10.0)   # GB/T 17742-2020 Appendix A band
    filter_order: int = 4
    zero_phase: bool = True
    highpass_hz: float = 0.1                      # engineering measures (horizontals)
    periods_s: tuple[float, ...] = (0.3, 1.0, 3.0)
    damping: float = 0.05
    max_acc_m_s2: float = 50.0
    min_duration_s: float = 10.0
    taper_s: float = 5.0
    pre_filt_low_hz: tuple[float, float] = (0.02, 0.04)   # response removal, cosine ramp up
    water_level_db: float = 60.0
    check_clipping: bool = True

    def __post_init__(self) -> None:
        lo, hi = (float(v) for v in self.band_hz)
        if not (0 < lo < hi):
            raise InputError(f"need 0 < low < high, got {self.band_hz!r}", field="band_hz")
        if not (0 < float(self.highpass_hz)):
            raise InputError(f"must be > 0 Hz, got {self.highpass_hz!r}", field="highpass_hz")
        if int(self.filter_order) < 1:
            raise InputError(f"must be >= 1, got {self.filter_order!r}", field="filter_order")
        if not (0.0 <= float(self.damping) < 1.0):
            raise InputError(f"must lie in [0, 1), got {self.damping!r}", field="damping")
        if not self.periods_s or any(not (float(p) > 0) for p in self.periods_s):
            raise InputError(f"need periods > 0 s, got {self.periods_s!r}", field="periods_s")
        for name in ("max_acc_m_s2", "min_duration_s", "taper_s", "water_level_db"):
            if not (math.isfinite(float(getattr(self, name))) and float(getattr(self, name)) >= 0):
                raise InputError(f"must be finite and >= 0, got {getattr(self, name)!r}", field=name)


DEFAULT = RecordConfig()


class RecordRefused(InputError):
    """A record that cannot give a ground-motion value; ``flag`` names the reason (module docstring)."""

    def __init__(self, flag: str, message: str, source: str | None = None) -> None:
        self.flag = flag
        super().__init__(message, source=source, field=flag)


@dataclass(frozen=True, slots=True)
class StationMotion:
    """Ground motion of one station (one channel group ``NET.STA.LOC.BI``).

    ``pga_vector_m_s2`` / ``pgv_vector_m_s``: GB/T 17742-2020 peaks (0.1-10 Hz,
    3-component vector sum); ``intensity_a``, ``intensity_v``: ``I_A``, ``I_V``
    unrounded; ``intensity``: the reported ``I_I`` (one decimal). ``*_max_h_*``:
    larger horizontal component; ``*_rotd50_*``: RotD50; PSA tuples follow
    ``periods_s``. A refused station has ``flags`` and NaN values.
    """

    network: str
    station: str
    location: str
    channels: tuple[str, ...]
    sample_rate_hz: float = math.nan
    start: datetime | None = None
    end: datetime | None = None
    pga_vector_m_s2: float = math.nan
    pgv_vector_m_s: float = math.nan
    intensity_a: float = math.nan
    intensity_v: float = math.nan
    intensity: float = math.nan
    pga_max_h_m_s2: float = math.nan
    pgv_max_h_m_s: float = math.nan
    pga_rotd50_m_s2: float = math.nan
    pgv_rotd50_m_s: float = math.nan
    periods_s: tuple[float, ...] = ()
    psa_max_h_m_s2: tuple[float, ...] = ()
    psa_rotd50_m_s2: tuple[float, ...] = ()
    damping: float = 0.05
    flags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def usable(self) -> bool:
        """True when nothing flags the station."""
        return not self.flags

    @property
    def station_id(self) -> str:
        return f"{self.network}.{self.station}.{self.location}"

    @property
    def degree(self) -> int | None:
        """Degree (1-12) of the reported intensity, None when refused."""
        return None if math.isnan(self.intensity) else gbt17742.degree(self.intensity)


@dataclass(frozen=True, slots=True)
class ThreeComponent:
    """One station's acceleration (m/s^2), rows ``Z, H1, H2``, on a common time base."""

    network: str
    station: str
    location: str
    channels: tuple[str, str, str]
    sample_rate_hz: float
    start: datetime
    data: np.ndarray = field(repr=False)
    notes: tuple[str, ...] = ()

    @property
    def end(self) -> datetime:
        from datetime import timedelta

        return self.start + timedelta(seconds=(self.data.shape[1] - 1) / self.sample_rate_hz)


# --------------------------------------------------------------------------- array kernels

def _condition(x: np.ndarray, fs: float, low_hz: float, config: RecordConfig) -> np.ndarray:
    """Demean, cosine-taper the ends, zero-pad for an acausal filter with low corner ``low_hz``."""
    x = x - x.mean(axis=-1, keepdims=True)
    n = x.shape[-1]
    nt = min(int(round(config.taper_s * fs)), n // 20)
    if nt > 1:
        ramp = 0.5 * (1.0 - np.cos(np.pi * np.arange(nt) / nt))
        w = np.ones(n)
        w[:nt] = ramp
        w[-nt:] = ramp[::-1]
        x = x * w
    pad = int(math.ceil(1.5 * config.filter_order / low_hz / 2.0 * fs))
    return np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, pad)])


def _filter(x: np.ndarray, fs: float, low_hz: float, high_hz: float | None,
            config: RecordConfig) -> tuple[np.ndarray, bool]:
    """Butterworth band-pass (or high-pass when ``high_hz`` is None or too close to Nyquist)."""
    from scipy.signal import butter, sosfilt, sosfiltfilt

    nyq = 0.5 * fs
    if not low_hz < 0.95 * nyq:
        raise RecordRefused("sample_rate_too_low", f"sample rate {fs:g} Hz cannot carry a {low_hz:g} Hz high-pass")
    lowpass = high_hz is not None and high_hz < 0.95 * nyq
    if lowpass:
        sos = butter(config.filter_order, [low_hz, high_hz], btype="bandpass", fs=fs, output="sos")
    else:
        sos = butter(config.filter_order, low_hz, btype="highpass", fs=fs, output="sos")
    y = sosfiltfilt(sos, x, axis=-1, padtype=None) if config.zero_phase else sosfilt(sos, x, axis=-1)
    return y, lowpass


def _integrate(a: np.ndarray, fs: float) -> np.ndarray:
    v = np.zeros_like(a)
    np.cumsum(0.5 * (a[..., 1:] + a[..., :-1]) / fs, axis=-1, out=v[..., 1:])
    return v


def gbt17742_peaks(acc_m_s2, sample_rate_hz: float, config: RecordConfig = DEFAULT) -> tuple[float, float, bool]:
    """GB/T 17742-2020 Appendix A peaks ``(PGA m/s^2, PGV m/s, lowpass_applied)`` of a ``(3, n)`` acceleration.

    Band-pass each component (``config.band_hz``), integrate to velocity, and take
    the maxima of the sample-by-sample vector sums ``sqrt(sum_i a_i(t)^2)`` and
    ``sqrt(sum_i v_i(t)^2)`` (module docstring).
    """
    a = np.asarray(acc_m_s2, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != 3:
        raise InputError(f"need shape (3, n), got {a.shape}", field="acc_m_s2")
    fs = float(sample_rate_hz)
    lo, hi = (float(v) for v in config.band_hz)
    af, lowpass = _filter(_condition(a, fs, lo, config), fs, lo, hi, config)
    v = _integrate(af, fs)
    pga = float(np.sqrt(np.max(np.einsum("ij,ij->j", af, af))))
    pgv = float(np.sqrt(np.max(np.einsum("ij,ij->j", v, v))))
    return pga, pgv, lowpass


def horizontal_measures(acc_h_m_s2, sample_rate_hz: float, config: RecordConfig = DEFAULT) -> dict[str, object]:
    """Engineering measures of a ``(2, n)`` horizontal acceleration (m/s^2), high-passed at ``config.highpass_hz``.

    Returns ``pga_max_h_m_s2``, ``pgv_max_h_m_s``, ``pga_rotd50_m_s2``,
    ``pgv_rotd50_m_s``, ``psa_max_h_m_s2`` and ``psa_rotd50_m_s2`` (tuples over
    ``config.periods_s``).
    """
    h = np.asarray(acc_h_m_s2, dtype=np.float64)
    if h.ndim != 2 or h.shape[0] != 2:
        raise InputError(f"need shape (2, n), got {h.shape}", field="acc_h_m_s2")
    fs = float(sample_rate_hz)
    lo = float(config.highpass_hz)
    a, _ = _filter(_condition(h, fs, lo, config), fs, lo, None, config)
    v = _integrate(a, fs)
    periods = tuple(float(p) for p in config.periods_s)
    psa = spectra.psa(a, fs, periods, config.damping)
    return {
        "pga_max_h_m_s2": float(np.max(np.abs(a))),
        "pgv_max_h_m_s": float(np.max(np.abs(v))),
        "pga_rotd50_m_s2": spectra.rotd_percentile(a[0], a[1], 50.0),
        "pgv_rotd50_m_s": spectra.rotd_percentile(v[0], v[1], 50.0),
        "psa_max_h_m_s2": tuple(float(x) for x in np.max(psa, axis=0)),
        "psa_rotd50_m_s2": tuple(float(x) for x in spectra.psa_rotd(a[0], a[1], fs, periods, config.damping)),
    }


# --------------------------------------------------------------------------- ObsPy adapters

def _group_key(tr) -> tuple[str, str, str, str]:
    s = tr.stats
    return (s.network, s.station, s.location, s.channel[:2])


def _units_factor(units: str) -> float:
    key = str(units).strip().lower().replace(" ", "")
    if key not in UNITS:
        raise RecordRefused("unknown_units", f"unknown units {units!r}; expected one of {', '.join(UNITS)}")
    return UNITS[key]


def _response_input_units(tr, inventory) -> str:
    try:
        resp = inventory.get_response(tr.id, tr.stats.starttime)
    except Exception as err:  # ObsPy raises plain Exception when no response matches
        raise RecordRefused("no_response", f"no response for {tr.id} at {tr.stats.starttime}: {err}",
                            source=tr.id) from None
    sens = getattr(resp, "instrument_sensitivity", None)
    units = (getattr(sens, "input_units", None) or "").strip().upper().replace(" ", "")
    if units not in _ACC_INPUT | _VEL_INPUT:
        raise RecordRefused("wrong_units", f"{tr.id}: response input units {units or '?'!r} are neither "
                                           "acceleration nor velocity", source=tr.id)
    return units


def _pick_components(traces: dict[str, object], sid: str) -> tuple[object, object, object, tuple[str, ...]]:
    comps = {c[-1]: tr for c, tr in traces.items()}
    notes: tuple[str, ...] = ()
    z = comps.get("Z")
    pair = next((p for p in _HORIZONTAL_PAIRS if p[0] in comps and p[1] in comps), None)
    if z is None or pair is None:
        have = "".join(sorted(comps))
        need = [] if z is not None else ["Z"]
        if pair is None:
            need.append("N/E or 1/2")
        raise RecordRefused("missing_component", f"{sid}: missing component(s) {' and '.join(need)} "
                                                 f"(have {have or 'none'})", source=sid)
    extra = sorted(set(comps) - {"Z", *pair})
    if extra:
        notes = (f"ignored components {''.join(extra)}",)
    return z, comps[pair[0]], comps[pair[1]], notes


def three_component(stream, inventory=None, units: str | None = None,
                    config: RecordConfig = DEFAULT) -> ThreeComponent:
    """One station's checked acceleration (m/s^2) from an ObsPy ``Stream`` (module docstring; raises RecordRefused).

    ``units``: physical units of the samples (:data:`UNITS`); when None the
    responses in ``inventory`` are removed to acceleration.
    """
    st = stream.copy()
    keys = sorted({_group_key(tr) for tr in st})
    if not keys:
        raise RecordRefused("missing_component", "empty stream")
    if len(keys) > 1:
        raise RecordRefused("ambiguous", "stream holds several stations/channel groups: "
                            + ", ".join(".".join(k) for k in keys) + " (use stream_motions)")
    net, sta, loc, bi = keys[0]
    sid = f"{net}.{sta}.{loc}.{bi}"
    if units is None and inventory is None:
        raise RecordRefused("unknown_units", f"{sid}: units unknown: give units= or an inventory with responses",
                            source=sid)
    factor = None if units is None else _units_factor(units)
    rates = {float(tr.stats.sampling_rate) for tr in st}
    if max(rates) - min(rates) > 1e-4 * max(rates):
        raise RecordRefused("sample_rate_mismatch", f"{sid}: sample rates differ: {sorted(rates)}", source=sid)
    try:
        st.merge(method=0, fill_value=None)   # identical overlaps merge; gaps and conflicting overlaps mask
    except Exception as err:  # ObsPy: incompatible traces (rate, dtype) cannot merge
        raise RecordRefused("sample_rate_mismatch", f"{sid}: traces cannot be merged: {err}", source=sid) from None
    by_channel: dict[str, object] = {}
    for tr in st:
        if np.ma.isMaskedArray(tr.data) and np.ma.is_masked(tr.data):
            raise RecordRefused("gap", f"{tr.id}: gap or conflicting overlap in the record", source=tr.id)
        if tr.stats.channel in by_channel:
            raise RecordRefused("duplicate", f"{tr.id}: several non-mergeable traces", source=tr.id)
        by_channel[tr.stats.channel] = tr
    z, h1, h2, notes = _pick_components(by_channel, sid)
    chosen = [z, h1, h2]
    for tr in chosen:
        raw = np.asarray(tr.data)
        if factor is not None and np.issubdtype(raw.dtype, np.integer):
            raise RecordRefused("wrong_units", f"{tr.id}: integer samples declared as {units}: these look like "
                                               "raw counts; give an inventory instead", source=tr.id)
        if not np.all(np.isfinite(raw.astype(np.float64))):
            raise RecordRefused("non_finite", f"{tr.id}: NaN or infinite samples", source=tr.id)
        if raw.size and np.all(raw == raw[0]):
            raise RecordRefused("dead_channel", f"{tr.id}: constant record", source=tr.id)
        if config.check_clipping:
            from tianshan.qc.clipping import clip_levels

            levels = clip_levels(raw)
            if levels:
                raise RecordRefused("clipped", f"{tr.id}: clipped at {', '.join(f'{v:g}' for v in levels)}",
                                    source=tr.id)
    fs = float(z.stats.sampling_rate)
    t0 = max(tr.stats.starttime for tr in chosen)
    t1 = min(tr.stats.endtime for tr in chosen)
    if t1 - t0 < config.min_duration_s:
        raise RecordRefused("too_short", f"{sid}: {max(t1 - t0, 0.0):.1f} s in common, need "
                                         f"{config.min_duration_s:g} s", source=sid)
    rows = []
    for tr in chosen:
        tr = tr.copy()
        tr.data = tr.data.astype(np.float64)
        if factor is None:
            _response_input_units(tr, inventory)
            nyq = 0.5 * fs
            pre = (*config.pre_filt_low_hz, 0.8 * nyq, 0.9 * nyq)
            try:
                tr.remove_response(inventory=inventory, output="ACC", pre_filt=pre,
                                   water_level=config.water_level_db)
            except Exception as err:  # ObsPy/evalresp failures on a malformed response
                raise RecordRefused("no_response", f"{tr.id}: response removal failed: {err}", source=tr.id) from None
        else:
            tr.data *= factor
        tr.trim(t0, t1, nearest_sample=True)
        rows.append(tr.data)
    n = min(r.size for r in rows)
    data = np.vstack([r[:n] for r in rows])
    peak = float(np.max(np.abs(data)))
    if not np.isfinite(peak):
        raise RecordRefused("non_finite", f"{sid}: non-finite acceleration after conversion", source=sid)
    if peak > config.max_acc_m_s2:
        raise RecordRefused("absurd_amplitude", f"{sid}: |a| reaches {peak:.4g} m/s^2 > {config.max_acc_m_s2:g} "
                                                "(wrong units or gain?)", source=sid)
    return ThreeComponent(network=net, station=sta, location=loc,
                          channels=(z.stats.channel, h1.stats.channel, h2.stats.channel),
                          sample_rate_hz=fs, start=as_utc(t0.datetime), data=data, notes=notes)


def _motion(rec: ThreeComponent, config: RecordConfig) -> StationMotion:
    pga, pgv, lowpass = gbt17742_peaks(rec.data, rec.sample_rate_hz, config)
    i_a = gbt17742.intensity_from_pga(pga)
    i_v = gbt17742.intensity_from_pgv(pgv)
    notes = rec.notes
    if not lowpass:
        notes += (f"sample rate {rec.sample_rate_hz:g} Hz: {config.band_hz[1]:g} Hz low-pass not applied",)
    hm = horizontal_measures(rec.data[1:], rec.sample_rate_hz, config)
    return StationMotion(
        network=rec.network, station=rec.station, location=rec.location, channels=rec.channels,
        sample_rate_hz=rec.sample_rate_hz, start=rec.start, end=rec.end,
        pga_vector_m_s2=pga, pgv_vector_m_s=pgv, intensity_a=i_a, intensity_v=i_v,
        intensity=gbt17742.round_intensity(gbt17742.combine(i_a, i_v)),
        periods_s=tuple(float(p) for p in config.periods_s), damping=float(config.damping), notes=notes,
        **hm)


def station_motion(stream, inventory=None, units: str | None = None,
                   config: RecordConfig = DEFAULT) -> StationMotion:
    """Ground motion of one station's three-component ``stream`` (module docstring). Raises RecordRefused."""
    return _motion(three_component(stream, inventory, units, config), config)


def _refused(key: tuple[str, str, str, str], channels: tuple[str, ...], err: RecordRefused,
             config: RecordConfig) -> StationMotion:
    net, sta, loc, _ = key
    return StationMotion(network=net, station=sta, location=loc, channels=channels,
                         periods_s=tuple(float(p) for p in config.periods_s),
                         psa_max_h_m_s2=tuple(math.nan for _ in config.periods_s),
                         psa_rotd50_m_s2=tuple(math.nan for _ in config.periods_s),
                         damping=float(config.damping), flags=(err.flag,), notes=(err.message,))


def _preference(key: tuple[str, str, str, str]) -> tuple[int, str, str]:
    _, _, loc, bi = key
    return (0 if bi[1:2] == "N" else 1, loc, bi)


def stream_motions(stream, inventory=None, units: str | None = None,
                   config: RecordConfig = DEFAULT) -> list[StationMotion]:
    """Ground motion of every channel group in ``stream``; bad ones flagged, duplicates resolved (module docstring).

    Never raises for one station's data. Order: by ``NET.STA``, then preference.
    """
    from obspy import Stream

    groups: dict[tuple[str, str, str, str], list] = {}
    for tr in stream:
        groups.setdefault(_group_key(tr), []).append(tr)
    by_station: dict[tuple[str, str], list[tuple[str, str, str, str]]] = {}
    for key in groups:
        by_station.setdefault(key[:2], []).append(key)
    out: list[StationMotion] = []
    for sk in sorted(by_station):
        keys = sorted(by_station[sk], key=_preference)
        chosen = None
        for key in keys:
            channels = tuple(sorted({tr.stats.channel for tr in groups[key]}))
            try:
                m = station_motion(Stream(groups[key]), inventory, units, config)
            except RecordRefused as err:
                log.warning("ground motion refused for %s: %s", ".".join(key), err)
                m = _refused(key, channels, err, config)
            except (ValueError, ArithmeticError) as err:   # numerical failure on odd data: flag, never crash
                log.warning("ground motion failed for %s: %r", ".".join(key), err)
                m = _refused(key, channels, RecordRefused("processing_error", f"{type(err).__name__}: {err}"),
                             config)
            if m.usable:
                if chosen is None:
                    chosen = ".".join(key)
                else:
                    m = replace(m, flags=("duplicate",), notes=m.notes + (f"duplicate of {chosen}",))
                    log.warning("ground motion of %s not used: duplicate of %s", ".".join(key), chosen)
            out.append(m)
    return out
