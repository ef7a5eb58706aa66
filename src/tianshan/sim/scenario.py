"""Scenario assembly: a source and a station set -> 3-component records in counts, with the truth.

For every station (a SEED site with any number of channels):

1. geometry (:func:`tianshan.sim.source.station_geometry`): epicentral and
   hypocentral distance, Rrup/Rjb for a finite rupture, azimuth, back azimuth;
2. first P and S arrivals from the region's 1-D model
   (:class:`tianshan.traveltime.layered.LayeredTravelTime`, epicentral distance,
   receiver at the surface: station elevations are not corrected for);
3. ground acceleration Z, N, E by the stochastic method
   (:func:`tianshan.sim.stochastic.simulate_components`, Boore 2003) with the P
   and S windows starting at those arrivals, at distance Rrup (hypocentral
   distance for a point source) and the true back azimuth;
4. background noise between Peterson's NLNM and NHNM
   (:mod:`tianshan.sim.noise`), one level per station drawn uniformly from
   ``noise_level``, the same ground noise for every sensor of the site;
5. per channel the ground motion projected on the sensor axis, recorded
   through the nominal response of its kind (:mod:`tianshan.sim.response`:
   velocity sensors see velocity, accelerometers acceleration) -> int32
   counts, with sensor full-scale and 24-bit digitiser saturation;
6. optional data faults (:mod:`tianshan.sim.faults`).

Signal and noise are added in the frequency domain and the response applied
there as well (one inverse FFT per channel), on a record zero-padded by
``PAD_S`` so instrument ringing does not wrap around.

Far stations: a station whose hypocentral distance exceeds
``max_signal_distance_m`` (default 1,500 km: beyond it the crustal 1-D model
and the stochastic attenuation model are not meant to apply, and an
earthquake of any Mw we simulate is near or below Peterson noise), or whose
P arrival falls after the end of the record, gets noise only; its truth row
still lists its theoretical arrivals, with ``has_signal = False``.

Sensor orientation: ``Z`` channels are vertical (up); ``N``/``E`` channels use
their azimuth when the channel is horizontal (|dip| < 45 deg), else 0/90 deg;
other codes (``1``, ``2``...) use the channel's azimuth and dip (SEED dip
convention: -90 = up).

Randomness: ``rng`` (or ``seed``) is split with ``Generator.spawn`` into one
child per station and one for the faults, so each station's record depends on
the seed and the station's position in the list only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Callable, Mapping, Sequence

import numpy as np

from tianshan.core.errors import InputError
from tianshan.core.ids import StreamID
from tianshan.core.station import Channel, InstrumentKind, Station
from tianshan.core.timeutil import as_utc
from tianshan.core.velocity import VelocityModel
from tianshan.sim.faults import AppliedFault, FaultPlan
from tianshan.sim.source import Source, station_geometry

#: Zero padding (s) of the frequency-domain convolution with the instrument response.
PAD_S = 60.0
#: Stations beyond this hypocentral distance get noise only (m).
MAX_SIGNAL_DISTANCE_M = 1_500_000.0
#: Default record start before the origin time (s).
PRE_EVENT_S = 60.0


@dataclass(frozen=True, slots=True)
class StationTruth:
    """What really happened at one station (times are aware UTC; distances m; peaks of ground motion).

    ``pga_m_s2`` / ``pgv_m_s`` are RotD50 of the horizontal ground motion
    without noise (:mod:`tianshan.sim.peaks`), 0 where there is no signal.
    ``p_time``/``s_time`` are ``None`` where the model has no arrival.
    """

    network: str
    station: str
    latitude_deg: float
    longitude_deg: float
    epicentral_distance_m: float
    hypocentral_distance_m: float
    rupture_distance_m: float
    joyner_boore_distance_m: float
    azimuth_deg: float
    back_azimuth_deg: float
    p_phase: str
    p_time: datetime | None
    p_takeoff_deg: float | None
    s_phase: str
    s_time: datetime | None
    s_takeoff_deg: float | None
    pga_m_s2: float
    pgv_m_s: float
    noise_level: float
    has_signal: bool

    @property
    def station_id(self) -> str:
        return f"{self.network}.{self.station}"


@dataclass(frozen=True)
class ScenarioResult:
    """Simulated records (ObsPy ``Stream`` of int32 counts) and the truth.

    ``stations`` are the input stations with each simulated channel's gain
    set to its nominal response's sensitivity; ``responses`` holds the full
    ObsPy responses per stream.
    """

    source: Source
    stations: tuple[Station, ...]
    model: VelocityModel
    start: datetime
    duration_s: float
    stream: object
    responses: Mapping[StreamID, object]
    truth: tuple[StationTruth, ...]
    faults: tuple[AppliedFault, ...] = ()
    seed: int | None = None
    parameters: Mapping[str, float] = field(default_factory=dict)


def _orientation(ch: Channel) -> np.ndarray:
    """Unit vector (Z up, N, E) of a channel's sensitive axis."""
    comp = ch.stream_id.component
    if comp == "Z":
        return np.array([1.0, 0.0, 0.0])
    if comp in ("N", "E") and abs(ch.dip_deg) >= 45.0:
        az = 0.0 if comp == "N" else 90.0
        dip = 0.0
    else:
        az, dip = ch.azimuth_deg, ch.dip_deg
    a, d = math.radians(az), math.radians(dip)
    return np.array([-math.sin(d), math.cos(d) * math.cos(a), math.cos(d) * math.sin(a)])


def _check_inputs(stations, duration_s, noise_level):
    if not stations:
        raise InputError("no stations to simulate", field="stations")
    try:
        duration = float(duration_s)
    except (TypeError, ValueError):
        raise InputError(f"not a number: {duration_s!r}", field="duration_s") from None
    if not (math.isfinite(duration) and 0 < duration <= 86_400.0):
        raise InputError(f"must be within (0, 86400] s, got {duration_s!r}", field="duration_s")
    lo, hi = (noise_level, noise_level) if np.isscalar(noise_level) else tuple(noise_level)
    from tianshan.sim.noise import check_level
    try:
        lo, hi = check_level(lo), check_level(hi)
    except ValueError as err:
        raise InputError(str(err), field="noise_level") from None
    if lo > hi:
        raise InputError(f"range must be (low, high), got {noise_level!r}", field="noise_level")
    return duration, (lo, hi)


def _signal_span(acc: np.ndarray) -> slice:
    nz = np.flatnonzero(np.any(acc != 0.0, axis=0))
    return slice(0, 0) if nz.size == 0 else slice(int(nz[0]), int(nz[-1]) + 1)


def simulate_scenario(source: Source, stations: Sequence[Station], model: VelocityModel,
                      start: datetime | None = None, duration_s: float = 600.0,
                      rng: np.random.Generator | int | None = None, faults: FaultPlan | None = None,
                      noise: bool = True, progress: Callable[[int, int], None] | None = None,
                      noise_level: float | tuple[float, float] = (0.1, 0.5),
                      max_signal_distance_m: float = MAX_SIGNAL_DISTANCE_M,
                      stochastic_params=None) -> ScenarioResult:
    """Simulate every channel of ``stations`` for ``duration_s`` seconds from ``start``.

    ``start`` defaults to ``PRE_EVENT_S`` (60 s) before the origin time. ``rng``
    is a ``numpy`` Generator or an integer seed (``None``: fresh entropy).
    ``noise_level`` is a level (0 = NLNM, 1 = NHNM) or a (low, high) range
    drawn per station. ``progress(done, total)`` is called after each station.
    """
    from obspy import Stream
    from scipy import fft

    from tianshan.sim import stochastic
    from tianshan.sim.noise import noise_rfft
    from tianshan.traveltime.layered import LayeredTravelTime

    duration, (lv_lo, lv_hi) = _check_inputs(stations, duration_s, noise_level)
    seed = rng if isinstance(rng, (int, np.integer)) else None
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    start = source.origin_time - timedelta(seconds=PRE_EVENT_S) if start is None else as_utc(start, "start")
    params = stochastic.DEFAULT if stochastic_params is None else stochastic_params

    stations = tuple(stations)
    lats = np.array([s.latitude_deg for s in stations])
    lons = np.array([s.longitude_deg for s in stations])
    geo = station_geometry(source, lats, lons)
    tt = LayeredTravelTime(model)
    p_arr = tt.first_arrivals("P", source.depth_m, geo.epicentral_m)
    s_arr = tt.first_arrivals("S", source.depth_m, geo.epicentral_m)
    offset_s = (source.origin_time - start).total_seconds()  # origin time after record start
    children = gen.spawn(len(stations) + 1)

    stream = Stream()
    responses: dict[StreamID, object] = {}
    truths: list[StationTruth] = []
    out_stations: list[Station] = []
    resp_cache: dict[tuple[InstrumentKind, float], object] = {}
    gain_cache: dict[tuple[InstrumentKind, float], object] = {}
    for i, sta in enumerate(stations):
        r = children[i]
        level = float(r.uniform(lv_lo, lv_hi)) if lv_hi > lv_lo else lv_lo
        tp, ts = float(p_arr.time_s[i]), float(s_arr.time_s[i])
        has_signal = (math.isfinite(tp) and math.isfinite(ts) and geo.hypocentral_m[i] <= max_signal_distance_m
                      and offset_s + tp < duration)
        pga = pgv = 0.0
        rates = sorted({ch.sample_rate_hz for ch in sta.channels if _active(ch, start, duration)})
        for fs in rates:
            n = int(round(duration * fs))
            n_fft = fft.next_fast_len(n + int(round(PAD_S * fs)), real=True)
            n_fft += n_fft % 2
            spec = np.zeros((3, n_fft // 2 + 1), dtype=np.complex128)
            if has_signal:
                acc = stochastic.simulate_components(
                    source.mw, float(geo.rupture_m[i]), offset_s + tp, offset_s + ts, n, fs, r,
                    params=params, back_azimuth_deg=float(geo.back_azimuth_deg[i]))
                span = _signal_span(acc)
                if span.stop > span.start and fs == rates[0]:
                    pga, pgv = _peaks(acc[:, span], fs)
                spec += fft.rfft(acc, n_fft, axis=-1)
                del acc
            if noise:
                spec += noise_rfft(n_fft, fs, level, r, count=3)
            record_channels(sta, spec, n, fs, start, duration, stream, responses, resp_cache, gain_cache)
        out_stations.append(with_nominal_gains(sta, gain_cache))
        truths.append(station_truth(sta, i, geo, p_arr, s_arr, source.origin_time, pga, pgv,
                                    level if noise else float("nan"), has_signal))
        if progress is not None:
            progress(i + 1, len(stations))

    applied: tuple[AppliedFault, ...] = ()
    if faults is not None:
        from tianshan.sim.faults import apply_faults

        stream, applied_list = apply_faults(stream, faults, children[-1])
        applied = tuple(applied_list)
    return ScenarioResult(source=source, stations=tuple(out_stations), model=model, start=start,
                          duration_s=duration, stream=stream, responses=responses, truth=tuple(truths),
                          faults=applied, seed=None if seed is None else int(seed),
                          parameters={"noise_level_low": lv_lo if noise else float("nan"),
                                      "noise_level_high": lv_hi if noise else float("nan"),
                                      "max_signal_distance_m": float(max_signal_distance_m),
                                      "pad_s": PAD_S})


def record_channels(sta: Station, spec: np.ndarray, n: int, fs: float, start: datetime, duration_s: float,
                    stream, responses: dict, resp_cache: dict, gain_cache: dict) -> None:
    """Record ground motion ``spec`` (rfft of Z, N, E acceleration) on every active ``fs`` channel of ``sta``.

    Each channel sees the motion projected on its axis through its kind's nominal response
    (counts, saturating); traces go to ``stream`` and responses to ``responses``. The caches
    hold one response and gain per (kind, rate).
    """
    from obspy import Trace, UTCDateTime

    from tianshan.sim.response import nominal_gain, nominal_response, spectrum_to_counts

    t0 = UTCDateTime(start)
    for ch in sta.channels:
        if ch.sample_rate_hz != fs or not _active(ch, start, duration_s):
            continue
        key = (ch.kind, fs)
        if key not in resp_cache:
            resp_cache[key] = nominal_response(ch.kind, fs)
            gain_cache[key] = nominal_gain(ch.kind, fs)
        tr = Trace(data=spectrum_to_counts(_orientation(ch) @ spec, n, ch.kind, fs))
        st = tr.stats
        st.network, st.station = ch.stream_id.network, ch.stream_id.station
        st.location, st.channel = ch.stream_id.location, ch.stream_id.channel
        st.sampling_rate, st.starttime = fs, t0
        stream.append(tr)
        responses[ch.stream_id] = resp_cache[key]


def with_nominal_gains(sta: Station, gain_cache: dict) -> Station:
    """``sta`` with each simulated channel's gain set to its nominal response's sensitivity."""
    return replace(sta, channels=tuple(
        replace(ch, gain=gain_cache[(ch.kind, ch.sample_rate_hz)]) if (ch.kind, ch.sample_rate_hz) in gain_cache
        else ch for ch in sta.channels))


def station_truth(sta: Station, i: int, geo, p_arr, s_arr, origin_time: datetime, pga: float, pgv: float,
                  noise_level: float, has_signal: bool) -> StationTruth:
    """The truth row of station ``i`` for one source (arrival times absolute; ``None`` where no arrival)."""
    tp, ts = float(p_arr.time_s[i]), float(s_arr.time_s[i])
    return StationTruth(
        network=sta.network, station=sta.code, latitude_deg=sta.latitude_deg, longitude_deg=sta.longitude_deg,
        epicentral_distance_m=float(geo.epicentral_m[i]), hypocentral_distance_m=float(geo.hypocentral_m[i]),
        rupture_distance_m=float(geo.rupture_m[i]), joyner_boore_distance_m=float(geo.joyner_boore_m[i]),
        azimuth_deg=float(geo.azimuth_deg[i]), back_azimuth_deg=float(geo.back_azimuth_deg[i]),
        p_phase=str(p_arr.phase[i]) if math.isfinite(tp) else "",
        p_time=origin_time + timedelta(seconds=tp) if math.isfinite(tp) else None,
        p_takeoff_deg=_opt(p_arr.takeoff_angle_deg[i]),
        s_phase=str(s_arr.phase[i]) if math.isfinite(ts) else "",
        s_time=origin_time + timedelta(seconds=ts) if math.isfinite(ts) else None,
        s_takeoff_deg=_opt(s_arr.takeoff_angle_deg[i]),
        pga_m_s2=float(pga), pgv_m_s=float(pgv), noise_level=noise_level, has_signal=bool(has_signal))


def _rotd_candidates(h1: np.ndarray, h2: np.ndarray, top: int = 256) -> np.ndarray:
    """Indices of the only samples that can hold the peak of ``h1 cos t + h2 sin t`` at some angle t.

    For every angle, ``|h1 cos t + h2 sin t| <= |h|`` with ``|h| = hypot(h1, h2)``.
    The peaks over the ``top`` largest-|h| samples give, for each angle of
    the 1-degree RotD grid, a lower bound of the true peak; a sample whose
    |h| is below the smallest of those bounds cannot be a peak at any angle.
    RotD50 over the candidates is therefore identical to RotD50 over all samples
    (tested against :func:`tianshan.sim.peaks.rotd50`).
    """
    mag = np.hypot(h1, h2)
    if mag.size <= 4 * top:
        return np.arange(mag.size)
    best = np.argpartition(mag, mag.size - top)[-top:]
    theta = np.deg2rad(np.arange(0.0, 180.0, 1.0))
    rotated = np.abs(np.cos(theta)[:, None] * h1[best] + np.sin(theta)[:, None] * h2[best])
    bound = rotated.max(axis=1).min()
    return np.flatnonzero(mag >= bound)


def _peaks(acc: np.ndarray, fs: float) -> tuple[float, float]:
    """(PGA m/s^2, PGV m/s): RotD50 of the horizontals (tianshan.sim.peaks), on the candidate samples only."""
    from tianshan.sim.peaks import acceleration_to_velocity, rotd50

    idx = _rotd_candidates(acc[1], acc[2])
    pga = rotd50(acc[1, idx], acc[2, idx])
    vel = acceleration_to_velocity(acc[1:], fs)
    idx = _rotd_candidates(vel[0], vel[1])
    pgv = rotd50(vel[0, idx], vel[1, idx])
    return float(pga), float(pgv)


def _opt(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _active(ch: Channel, start: datetime, duration_s: float) -> bool:
    """Whether the channel's epoch overlaps the record."""
    end = start + timedelta(seconds=duration_s)
    return (ch.start is None or ch.start < end) and (ch.end is None or ch.end > start)
