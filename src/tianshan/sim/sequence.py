"""Continuous multi-event records: many sources, one noise realisation per channel over the whole span.

:func:`tianshan.sim.scenario.simulate_scenario` makes one record around one
event. Gluing such records back to back gives a "continuous" archive whose
seams are steps (each record has its own noise realisation and its own
instrument transient), which a picker rightly takes as onsets. This module
builds a record that is continuous by construction:

1. per station (a SEED site) and sample rate, a ground-acceleration array of
   the whole span, zero;
2. for every source whose hypocentral distance is within
   ``max_signal_distance_m`` and whose P arrival falls inside the span, the
   stochastic P and S accelerograms (:func:`tianshan.sim.stochastic.
   simulate_components`, Boore 2003) are simulated on a local window that
   holds both wave windows in full and are added at the source's time
   (sample-exact: the local window starts on a sample of the full record,
   so fractional arrival times are honoured as in a full-length simulation);
   events overlapping in time simply add up;
3. one background-noise spectrum (:func:`tianshan.sim.noise.noise_rfft`,
   between Peterson's NLNM and NHNM, one level per station) over the whole
   zero-padded span is added to the signal's spectrum;
4. per channel the ground motion projected on the sensor axis, recorded
   through the nominal response of its kind
   (:func:`tianshan.sim.response.spectrum_to_counts`) -> int32 counts.

Geometry, travel times (first P and S of the region's 1-D model,
:class:`tianshan.traveltime.layered.LayeredTravelTime`, receiver at the surface),
sensor orientation, response and saturation are those of
:mod:`tianshan.sim.scenario`; see its docstring for the physics and the
references.

Randomness: ``rng`` is split with ``Generator.spawn`` into one child per
station (and one spare, as the scenario does). Each station's child draws the
noise level, then for each sample rate the signals of the sources in the
order given, then the noise. With a single source and ``noise=False`` the
records equal those of :func:`simulate_scenario` for the same seed, start and
duration (tested).

The instrument response is applied by circular convolution over the span
padded by ``PAD_S`` (as in the scenario); a signal cut by the end of the span
leaks about 1e-5 of its peak (a few counts for a Mw 3.5 at 15 km) onto the
first minutes of the record through the long-period sensor's ringing.

Memory: each station is simulated on its own; ``on_station(stream)`` receives
its traces as soon as they are made (to write them to an SDS archive), and
with ``keep_stream=False`` they are not kept in the result, so a long span of
a large network needs the memory of one station only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Callable, Mapping, Sequence

import numpy as np

from tianshan.core.errors import InputError
from tianshan.core.ids import StreamID
from tianshan.core.station import InstrumentKind, Station
from tianshan.core.timeutil import as_utc
from tianshan.core.velocity import VelocityModel
from tianshan.sim.scenario import (MAX_SIGNAL_DISTANCE_M, PAD_S, StationTruth, _active, _check_inputs, _peaks,
                                   _signal_span, record_channels, station_truth, with_nominal_gains)
from tianshan.sim.source import Source, station_geometry

#: Longest span one call simulates (s): two days (memory grows linearly with it).
MAX_DURATION_S = 2 * 86_400.0


@dataclass(frozen=True)
class SequenceResult:
    """Continuous records of ``duration_s`` seconds from ``start`` holding every source.

    ``stream``: ObsPy ``Stream`` of int32 counts (empty when ``keep_stream`` was
    False). ``stations``: the input stations with each simulated channel's gain
    set to its nominal response's sensitivity; ``responses``: full ObsPy
    responses per stream. ``truth[k]`` holds one :class:`StationTruth` per
    station for ``sources[k]`` (peaks of that source's ground motion alone).
    """

    sources: tuple[Source, ...]
    stations: tuple[Station, ...]
    model: VelocityModel
    start: datetime
    duration_s: float
    stream: object
    responses: Mapping[StreamID, object]
    truth: tuple[tuple[StationTruth, ...], ...]
    seed: int | None = None
    parameters: Mapping[str, float] = field(default_factory=dict)


def _local_samples(mw: float, distance_m: float, first_p: int, first_s: int, fs: float, params) -> int:
    """Samples (from the local window's sample 0) that hold both wave windows in full.

    Mirrors :func:`tianshan.sim.stochastic.simulate_window`: a window starting
    at sample ``first`` keeps ``n_win + n_win // 2`` samples with
    ``n_win = max(8, ceil(2 t_eta fs))``, ``t_eta = window_t_eta_over_duration * T``.
    """
    from tianshan.sim.stochastic import duration_s as wave_duration

    end = 0
    for wave, first in (("P", first_p), ("S", first_s)):
        t_eta = params.window_t_eta_over_duration * wave_duration(mw, distance_m, params, wave)
        n_win = max(8, int(math.ceil(2.0 * t_eta * fs)))
        end = max(end, first + n_win + n_win // 2)
    return end + 1


def simulate_sequence(sources: Sequence[Source], stations: Sequence[Station], model: VelocityModel,
                      start: datetime, duration_s: float, rng: np.random.Generator | int | None = None,
                      noise: bool = True, noise_level: float | tuple[float, float] = (0.1, 0.5),
                      max_signal_distance_m: float = MAX_SIGNAL_DISTANCE_M, stochastic_params=None,
                      on_station: Callable[[object], None] | None = None, keep_stream: bool = True,
                      progress: Callable[[int, int], None] | None = None) -> SequenceResult:
    """Simulate every channel of ``stations`` continuously over ``[start, start + duration_s)`` with all ``sources``.

    ``sources`` may come in any order, overlap in time, or lie partly outside
    the span (a source contributes where its P arrival at a station falls
    inside the span; earlier sources' codas running into the span are not
    simulated). ``rng`` is a ``numpy`` Generator or an integer seed.
    ``noise_level`` is a level (0 = NLNM, 1 = NHNM) or a (low, high) range drawn
    per station. ``on_station(stream)`` is called with each station's traces;
    ``keep_stream=False`` drops them from the result afterwards.
    ``progress(done, total)`` is called after each station.
    """
    from obspy import Stream, Trace, UTCDateTime
    from scipy import fft

    from tianshan.sim import stochastic
    from tianshan.sim.noise import noise_rfft
    from tianshan.sim.response import nominal_gain, nominal_response, spectrum_to_counts
    from tianshan.traveltime.layered import LayeredTravelTime

    sources = tuple(sources)
    if not sources:
        raise InputError("no sources to simulate", field="sources")
    try:
        span = float(duration_s)
    except (TypeError, ValueError):
        raise InputError(f"not a number: {duration_s!r}", field="duration_s") from None
    if not (math.isfinite(span) and 0 < span <= MAX_DURATION_S):
        raise InputError(f"must be within (0, {MAX_DURATION_S:.0f}] s, got {duration_s!r}", field="duration_s")
    _, (lv_lo, lv_hi) = _check_inputs(stations, min(span, 86_400.0), noise_level)
    start = as_utc(start, "start")
    seed = rng if isinstance(rng, (int, np.integer)) else None
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    params = stochastic.DEFAULT if stochastic_params is None else stochastic_params

    stations = tuple(stations)
    lats = np.array([s.latitude_deg for s in stations])
    lons = np.array([s.longitude_deg for s in stations])
    tt = LayeredTravelTime(model)
    per_source = []  # (offset_s, geometry, p arrivals, s arrivals)
    for src in sources:
        geo = station_geometry(src, lats, lons)
        per_source.append(((src.origin_time - start).total_seconds(), geo,
                           tt.first_arrivals("P", src.depth_m, geo.epicentral_m),
                           tt.first_arrivals("S", src.depth_m, geo.epicentral_m)))
    children = gen.spawn(len(stations) + 1)

    kept = Stream()
    responses: dict[StreamID, object] = {}
    truth_rows: list[list[StationTruth]] = [[] for _ in sources]
    out_stations: list[Station] = []
    resp_cache: dict[tuple[InstrumentKind, float], object] = {}
    gain_cache: dict[tuple[InstrumentKind, float], object] = {}
    for i, sta in enumerate(stations):
        r = children[i]
        level = float(r.uniform(lv_lo, lv_hi)) if lv_hi > lv_lo else lv_lo
        has_signal, peaks = [], [(0.0, 0.0)] * len(sources)
        for offset_s, geo, p_arr, s_arr in per_source:
            tp, ts = float(p_arr.time_s[i]), float(s_arr.time_s[i])
            has_signal.append(math.isfinite(tp) and math.isfinite(ts) and geo.hypocentral_m[i] <= max_signal_distance_m
                              and 0.0 <= offset_s + tp < span)
        rates = sorted({ch.sample_rate_hz for ch in sta.channels if _active(ch, start, span)})
        station_stream = Stream()
        for fs in rates:
            n = int(round(span * fs))
            n_fft = fft.next_fast_len(n + int(round(PAD_S * fs)), real=True)
            n_fft += n_fft % 2
            acc = np.zeros((3, n))
            for k, (src, (offset_s, geo, p_arr, s_arr)) in enumerate(zip(sources, per_source)):
                if not has_signal[k]:
                    continue
                tp, ts = offset_s + float(p_arr.time_s[i]), offset_s + float(s_arr.time_s[i])
                k0 = max(0, int(math.floor(min(tp, ts) * fs)) - 1)  # local sample 0 on the full grid
                t0 = k0 / fs
                first_p = max(0, math.ceil((tp - t0) * fs - 1e-9))
                first_s = max(0, math.ceil((ts - t0) * fs - 1e-9))
                n_loc = min(n - k0, _local_samples(src.mw, float(geo.rupture_m[i]), first_p, first_s, fs, params))
                local = stochastic.simulate_components(
                    src.mw, float(geo.rupture_m[i]), tp - t0, ts - t0, n_loc, fs, r,
                    params=params, back_azimuth_deg=float(geo.back_azimuth_deg[i]))
                if fs == rates[0]:
                    sig = _signal_span(local)
                    if sig.stop > sig.start:
                        peaks[k] = _peaks(local[:, sig], fs)
                acc[:, k0:k0 + n_loc] += local
                del local
            spec = fft.rfft(acc, n_fft, axis=-1)
            del acc
            if noise:
                spec += noise_rfft(n_fft, fs, level, r, count=3)
            record_channels(sta, spec, n, fs, start, span, station_stream, responses, resp_cache, gain_cache)
            del spec
        if on_station is not None:
            on_station(station_stream)
        if keep_stream:
            kept += station_stream
        out_stations.append(with_nominal_gains(sta, gain_cache))
        for k, (src, (_, geo, p_arr, s_arr)) in enumerate(zip(sources, per_source)):
            truth_rows[k].append(station_truth(sta, i, geo, p_arr, s_arr, src.origin_time, peaks[k][0], peaks[k][1],
                                               level if noise else float("nan"), has_signal[k]))
        if progress is not None:
            progress(i + 1, len(stations))
    return SequenceResult(sources=sources, stations=tuple(out_stations), model=model, start=start,
                          duration_s=span, stream=kept, responses=responses,
                          truth=tuple(tuple(rows) for rows in truth_rows), seed=None if seed is None else int(seed),
                          parameters={"noise_level_low": lv_lo if noise else float("nan"),
                                      "noise_level_high": lv_hi if noise else float("nan"),
                                      "max_signal_distance_m": float(max_signal_distance_m), "pad_s": PAD_S})


def write_sequence(sources: Sequence[Source], stations: Sequence[Station], model: VelocityModel,
                   start: datetime, duration_s: float, out_dir, rng: np.random.Generator | int | None = None,
                   progress: Callable[[int, int], None] | None = None, **options) -> dict:
    """Simulate with :func:`simulate_sequence` straight into ``out_dir``: ``sds/`` (SDS archive),
    ``stations.xml`` (StationXML with the nominal responses) and ``truth_sources.csv`` (one row per
    source: origin time, latitude, longitude, depth_m, mw). Station by station, so memory stays that of
    one station. Returns the paths (``sds_root``, ``stationxml``, ``sources_csv``) and the result
    (``result``, whose ``stream`` is empty). Files are written atomically.
    """
    from pathlib import Path

    from tianshan.io.atomic import atomic_write_text
    from tianshan.io.sds import write_sds
    from tianshan.io.stationxml import write_stationxml

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sds_root = out / "sds"
    res = simulate_sequence(sources, stations, model, start, duration_s, rng=rng, progress=progress,
                            on_station=lambda st: write_sds(st, sds_root), keep_stream=False, **options)
    xml = write_stationxml(res.stations, out / "stations.xml", res.responses)
    rows = ["origin_time,latitude_deg,longitude_deg,depth_m,mw"]
    rows += [f"{s.origin_time.isoformat()},{s.latitude_deg:.5f},{s.longitude_deg:.5f},{s.depth_m:.1f},{s.mw:.3f}"
             for s in res.sources]
    csv_path = atomic_write_text(out / "truth_sources.csv", "\n".join(rows) + "\n")
    return {"sds_root": sds_root, "stationxml": Path(xml), "sources_csv": Path(csv_path), "result": res}


__all__ = ["SequenceResult", "simulate_sequence", "write_sequence", "MAX_DURATION_S"]
