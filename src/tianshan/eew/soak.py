"""Long noise replays for false-alert testing: hours of noise with data faults and teleseismic P arrivals.

:func:`soak` simulates continuous records of a network hour by hour and feeds them, packet by
packet, to the same :class:`~tianshan.eew.event.EEWEngine` and
:class:`~tianshan.eew.policy.AlertPolicy` as ``tianshan eew replay`` (1-s slices of every
channel, ``update()`` after each slice, every new version through ``evaluate_engine``). Only one
hour of samples is in memory at a time; engine, filters and policy run on across the hours.
It returns a :class:`SoakReport`: alerts (any alert is false: there is no earthquake within
the network), declared EEW events, triggers per station-hour (all, and near the injected
faults and teleseismic arrivals), and the CPU time of the engine alone.

What is simulated (all seeded)
------------------------------
* **Noise**: ground acceleration with the Peterson (1993) spectrum at a level drawn per station
  between ``noise_level`` (0 = NLNM, 1 = NHNM; :func:`tianshan.sim.noise.synthesize_noise`),
  recorded through the nominal instrument of each channel
  (:func:`tianshan.sim.response.ground_to_counts`: STS-2 + 24-bit digitiser for ``HH?``).
  Hours are joined over a 60-s overlap by an equal-power cosine cross-fade of two independent
  realisations (``cos(theta) a + sin(theta) b``: variance and spectrum unchanged), so no
  artificial step appears at the hour boundaries.
* **Spikes** (telemetry bit errors): single samples and bursts of 2-5 samples of
  ``spike_amplitude`` x the channel's robust standard deviation, random sign; most on one
  channel, some (``simultaneous_fraction``) at the same instant on the vertical channels of
  3-6 stations (a telemetry hub's glitch reaching several stations at once).
* **Steps**: a DC offset of 50-500 x the robust std from a random sample on (mass re-centring).
* **Gaps**: 1-120 s of a channel missing (the packets are not delivered).
* **Clock jumps**: from a random instant the channel's time stamps are shifted by 0.2-3 s either
  way (a timing error between records: positive opens an apparent gap, negative an overlap).
* **Teleseismic P** (:func:`teleseismic_p`): ``n_teleseisms`` earthquakes of body-wave
  magnitude ``mb`` 6-7 at 30-90 deg from the network centre (random azimuth, depth 10-100 km).
  The P arrival time at each station is the iasp91 first ``P`` of ObsPy TauP at that station's
  own distance and the source depth, so the front crosses the network with the right apparent
  velocity (12.5 km/s at 30 deg to 24 km/s at 90 deg) and curvature. The waveform is the same
  at every station up to its random coda: a Gaussian-noise burst (rise 1 s, decay 12 s) shaped
  by an omega-squared source spectrum with corner frequency ``fc = 10**(2.4 - 0.5 mb)`` Hz
  (0.5 Hz at mb 6, 0.16 Hz at mb 7; the Brune-type scaling of corner frequency with moment
  of Aki 1967, JGR 72, 1217, in the magnitude form used for stochastic simulation by Boore
  2003, PAGEOPH 160, 635, with a constant stress drop) and the anelastic factor
  ``exp(-pi f t*)`` with ``t* = 1 s``, the standard teleseismic P value (Der & Lees 1985,
  GJRAS 82, 125; Choy & Boatwright 1995, JGR 100, 18205). Its amplitude follows the mb
  definition ``mb = log10(A / T) + Q(Delta, h)`` (Gutenberg & Richter 1956) with ``T = 1 s`` and
  ``A`` the peak vertical displacement (um): ``Q`` is approximated here by
  ``6.5 + 0.0067 (Delta - 30 deg)`` (6.5 at 30 deg, 6.9 at 90 deg), a straight line through the
  range of the shallow-source PZ calibration curve that was **not checked against the table in
  this environment**; ``amplitude_factor`` scales every teleseism (a stress test).
  Horizontal components get 0.3 x the vertical (steep incidence).

The engine then sees what a real network sees during a teleseism: small, long-period P onsets at
many stations within a few tens of seconds, consistent with a plane wave.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np

from tianshan.core.timeutil import as_utc

_NS = 1_000_000_000
OVERLAP_S = 60.0


@dataclass(frozen=True)
class Teleseism:
    """One distant earthquake (its P arrives at every station)."""

    origin_time: datetime
    latitude_deg: float
    longitude_deg: float
    depth_m: float
    mb: float
    distance_deg: float          #: from the network centre
    p_times: dict = field(default_factory=dict)   #: station id -> P arrival (POSIX s)


@dataclass(frozen=True)
class FaultEvent:
    """One injected data fault: kind, stream(s) and time (POSIX s)."""

    kind: str
    stream_ids: tuple[str, ...]
    time_s: float
    size: float = 0.0


@dataclass
class SoakReport:
    """What a soak replay produced (module docstring)."""

    stations: int
    channels: int
    hours: float
    alerts: int
    alert_messages: list
    declared_events: int
    triggers: int
    triggers_per_station_hour: float
    triggers_near_faults: int
    triggers_near_teleseisms: int
    teleseisms: list
    faults: dict
    engine_cpu_s: float
    packets: int
    simulation_s: float
    counters: dict

    @property
    def cpu_per_packet_us(self) -> float:
        return 1e6 * self.engine_cpu_s / max(self.packets, 1)


# --------------------------------------------------------------------------- teleseisms

@lru_cache(maxsize=1)
def _taup():
    from obspy.taup import TauPyModel

    return TauPyModel("iasp91")


def p_time_s(distance_deg: float, depth_m: float) -> float:
    """iasp91 first P travel time (s) at ``distance_deg`` for a source at ``depth_m`` (ObsPy TauP)."""
    arr = _taup().get_travel_times(max(depth_m, 0.0) / 1000.0, distance_deg, phase_list=["P"])
    if not arr:
        raise ValueError(f"no P at {distance_deg:.1f} deg")
    return float(arr[0].time)


def draw_teleseisms(stations, start: datetime, hours: float, n: int, rng: np.random.Generator,
                    mb_range=(6.0, 7.0), distance_range=(30.0, 90.0)) -> list[Teleseism]:
    """``n`` teleseisms spread over the run (at least 20 min apart, none in the first or last 10 min)."""
    from obspy.geodetics import gps2dist_azimuth, kilometers2degrees

    from tianshan.eew.locate import EARTH_RADIUS_M

    lat0 = float(np.mean([s.latitude_deg for s in stations]))
    lon0 = float(np.mean([s.longitude_deg for s in stations]))
    span = hours * 3600.0 - 1200.0
    if n and span < 1200.0 * (n - 1):
        raise ValueError(f"{n} teleseisms do not fit 20 min apart in {hours} h")
    t0 = as_utc(start).timestamp()
    times: list[float] = []
    while len(times) < n:
        t = t0 + 600.0 + float(rng.uniform(0, span))
        if all(abs(t - o) >= 1200.0 for o in times):
            times.append(t)
    out = []
    for t in sorted(times):
        dist = float(rng.uniform(*distance_range))
        az = math.radians(float(rng.uniform(0, 360)))
        # destination point on the sphere (distance along the great circle)
        d = math.radians(dist)
        la0, lo0 = math.radians(lat0), math.radians(lon0)
        la = math.asin(math.sin(la0) * math.cos(d) + math.cos(la0) * math.sin(d) * math.cos(az))
        lo = lo0 + math.atan2(math.sin(az) * math.sin(d) * math.cos(la0), math.cos(d) - math.sin(la0) * math.sin(la))
        lat, lon = math.degrees(la), (math.degrees(lo) + 540.0) % 360.0 - 180.0
        depth = float(rng.uniform(10_000.0, 100_000.0))
        mb = float(rng.uniform(*mb_range))
        p = {}
        for s in stations:
            m, _, _ = gps2dist_azimuth(lat, lon, s.latitude_deg, s.longitude_deg,
                                       a=EARTH_RADIUS_M, f=0.0)
            p[s.station_id] = t + p_time_s(kilometers2degrees(m / 1000.0), depth)
        out.append(Teleseism(datetime.fromtimestamp(t, tz=as_utc(start).tzinfo), lat, lon, depth, mb, dist, p))
    return out


def mb_amplitude_m(mb: float, distance_deg: float, period_s: float = 1.0) -> float:
    """Peak vertical P displacement (m) of body-wave magnitude ``mb`` at ``distance_deg`` (module docstring:
    ``mb = log10(A/T) + Q``, A in um, with the approximate ``Q = 6.5 + 0.0067 (Delta - 30)``)."""
    q = 6.5 + 0.0067 * (distance_deg - 30.0)
    return period_s * 10.0 ** (mb - q) * 1e-6


def teleseismic_p(mb: float, distance_deg: float, fs: float, rng: np.random.Generator,
                  duration_s: float = 60.0, t_star_s: float = 1.0) -> np.ndarray:
    """Vertical ground acceleration (m/s^2) of a teleseismic P, onset at sample 0 (module docstring)."""
    n = int(duration_s * fs)
    t = np.arange(n) / fs
    env = (1.0 - np.exp(-t / 1.0)) * np.exp(-t / 12.0)
    x = rng.standard_normal(n) * env
    f = np.fft.rfftfreq(2 * n, 1.0 / fs)
    fc = 10.0 ** (2.4 - 0.5 * mb)
    shape = np.exp(-np.pi * f * t_star_s) / (1.0 + (f / fc) ** 2)
    disp = np.fft.irfft(np.fft.rfft(x, 2 * n) * shape, 2 * n)[:n]
    disp *= mb_amplitude_m(mb, distance_deg) / max(float(np.max(np.abs(disp))), 1e-30)
    acc = np.gradient(np.gradient(disp, 1.0 / fs), 1.0 / fs)
    return acc


# --------------------------------------------------------------------------- faults

def draw_faults(stream_ids: Sequence[str], start_s: float, hours: float, rng: np.random.Generator, *,
                spikes_per_channel_day: float = 4.0, simultaneous_per_day: float = 12.0,
                steps_per_channel_day: float = 0.3, gaps_per_channel_day: float = 1.0,
                clock_jumps_per_channel_day: float = 0.3) -> list[FaultEvent]:
    """Random faults over the run (module docstring); rates per channel per day (Poisson)."""
    days = hours / 24.0
    end = start_s + hours * 3600.0
    out: list[FaultEvent] = []

    def when() -> float:
        return float(rng.uniform(start_s + 30.0, end - 5.0))

    for sid in stream_ids:
        for _ in range(rng.poisson(spikes_per_channel_day * days)):
            out.append(FaultEvent("spike", (sid,), when(), float(rng.integers(1, 6))))
        for _ in range(rng.poisson(steps_per_channel_day * days)):
            out.append(FaultEvent("step", (sid,), when(), float(rng.uniform(50, 500))))
        for _ in range(rng.poisson(gaps_per_channel_day * days)):
            out.append(FaultEvent("gap", (sid,), when(), float(rng.uniform(1.0, 120.0))))
        for _ in range(rng.poisson(clock_jumps_per_channel_day * days)):
            out.append(FaultEvent("clock_jump", (sid,), when(), float(rng.choice([-1, 1]) * rng.uniform(0.2, 3.0))))
    verticals = [s for s in stream_ids if s.endswith("Z")]
    for _ in range(rng.poisson(simultaneous_per_day * days)):
        k = int(min(len(verticals), rng.integers(3, 7)))
        picked = tuple(rng.choice(verticals, size=k, replace=False)) if k else ()
        out.append(FaultEvent("spike", picked, when(), float(rng.integers(1, 6))))
    return sorted(out, key=lambda f: f.time_s)


# --------------------------------------------------------------------------- the run

def _robust_std(x: np.ndarray) -> float:
    return float(1.4826 * np.median(np.abs(x - np.median(x)))) or 1.0


def soak(stations, model, *, start: datetime, hours: float = 24.0, seed: int = 1, n_teleseisms: int = 5,
         noise_level=(0.1, 0.6), amplitude_factor: float = 1.0, packet_s: float = 1.0, components: str = "ZNE",
         targets=(), faults_geo=(), eew_config=None, policy_config=None, fault_rates: dict | None = None,
         teleseism_mb=(6.0, 7.0), teleseism_distance_deg=(30.0, 90.0),
         progress: Callable[[int, int], None] | None = None) -> SoakReport:
    """Simulate ``hours`` of noise with faults and teleseisms at ``stations`` and replay it (module docstring).

    ``stations`` need channels at one sample rate; gains are set to the simulator's nominal ones.
    ``components``: which of each station's ``?H[ZNE]`` channels are simulated and replayed.
    """
    from dataclasses import replace

    from tianshan.eew.event import EEWEngine
    from tianshan.eew.policy import AlertPolicy, PolicyConfig
    from tianshan.eew.targets import TargetPredictor
    from tianshan.sim.noise import synthesize_noise
    from tianshan.sim.response import ground_to_counts, nominal_gain

    rng = np.random.default_rng(seed)
    sts = []
    for s in stations:
        chans = tuple(replace(c, gain=nominal_gain(c.kind, c.sample_rate_hz)) for c in s.channels
                      if c.stream_id.channel[-1] in components)
        if chans:
            sts.append(replace(s, channels=chans))
    fs = float(sts[0].channels[0].sample_rate_hz)
    chans = [(s, c) for s in sts for c in s.channels]
    ids = [str(c.stream_id) for _, c in chans]
    t0 = as_utc(start).timestamp()
    teles = draw_teleseisms(sts, start, hours, n_teleseisms, rng, teleseism_mb, teleseism_distance_deg)
    faults = draw_faults(ids, t0, hours, rng, **(fault_rates or {}))
    levels = {s.station_id: float(rng.uniform(*noise_level)) for s in sts}
    tele_waves = {}
    for k, tl in enumerate(teles):
        for s in sts:
            tele_waves[(k, s.station_id)] = amplitude_factor * teleseismic_p(tl.mb, tl.distance_deg, fs, rng)

    engine = EEWEngine(sts, model, eew_config)
    predictor = TargetPredictor(targets, model, faults_geo)
    policy = AlertPolicy(predictor, policy_config or PolicyConfig(test=True))
    alerts = []
    declared: set[str] = set()
    cpu = 0.0
    packets = 0
    sim_s = 0.0
    n_h = int(math.ceil(hours))
    step = int(round(packet_s * fs))
    prev_tail: dict[str, np.ndarray] = {}
    n_ov = int(OVERLAP_S * fs)
    theta = np.linspace(0.0, np.pi / 2, n_ov)
    # per-channel fault schedules
    by_stream: dict[str, list[FaultEvent]] = {}
    for f in faults:
        for sid in f.stream_ids:
            by_stream.setdefault(sid, []).append(f)
    shift_ns = {sid: 0 for sid in ids}  # current clock error of each channel
    all_trig: list = []
    for h in range(n_h):
        tic = time.perf_counter()
        h0 = t0 + h * 3600.0
        dur = min(3600.0, hours * 3600.0 - h * 3600.0)
        n = int(round(dur * fs))
        data: dict[str, np.ndarray] = {}
        for s in sts:
            r = np.random.default_rng([seed, h, hash(s.station_id) & 0xFFFF])
            acc = np.vstack([synthesize_noise(n + n_ov, fs, levels[s.station_id], r)
                             for _ in s.channels])
            for k, tl in enumerate(teles):
                tp = tl.p_times[s.station_id]
                w = tele_waves[(k, s.station_id)]
                i0 = int(round((tp - h0) * fs))
                if i0 >= n or i0 + w.size <= 0:
                    continue
                a, b = max(i0, 0), min(i0 + w.size, n)
                for j, c in enumerate(s.channels):
                    acc[j, a:b] += w[a - i0:b - i0] * (1.0 if c.stream_id.channel.endswith("Z") else 0.3)
            for j, c in enumerate(s.channels):
                sid = str(c.stream_id)
                x = acc[j]
                tail = prev_tail.get(sid)
                if tail is not None:  # equal-power cross-fade with the previous hour's overlap
                    x[:n_ov] = np.cos(theta) * tail + np.sin(theta) * x[:n_ov]
                prev_tail[sid] = x[n:n + n_ov].copy()
                counts = ground_to_counts(x[:n], c.kind, fs).astype(np.float64)
                sd = _robust_std(counts)
                for f in by_stream.get(sid, ()):
                    i = int(round((f.time_s - h0) * fs))
                    if not 0 <= i < n:
                        continue
                    if f.kind == "spike":
                        width = int(f.size)
                        amp = sd * float(rng.uniform(20, 2000)) * float(rng.choice([-1, 1]))
                        counts[i:i + width] += amp * (1.0 if width == 1 else rng.uniform(0.5, 1.0, min(width, n - i)))
                    elif f.kind == "step":
                        counts[i:] += sd * f.size * float(rng.choice([-1, 1]))
                data[sid] = np.clip(np.rint(counts), -2 ** 23, 2 ** 23 - 1)
        sim_s += time.perf_counter() - tic
        # replay this hour in packet_s slices
        c0 = time.process_time()
        for k0 in range(0, n, step):
            t_slice = h0 + k0 / fs
            for sid in ids:
                x = data[sid][k0:k0 + step]
                skip = False
                for f in by_stream.get(sid, ()):
                    if f.kind == "gap" and f.time_s <= t_slice < f.time_s + f.size:
                        skip = True
                    elif f.kind == "clock_jump" and t_slice <= f.time_s < t_slice + packet_s:
                        shift_ns[sid] += int(f.size * _NS)
                if skip:
                    continue
                all_trig.extend(engine.process(sid, int(round(t_slice * _NS)) + shift_ns[sid], fs, x))
                packets += 1
            for ev in engine.update():
                declared.add(ev.event_id)
                d = policy.evaluate_engine(engine, ev)
                if d.action == "alert":
                    alerts.append((ev, d))
            engine.prune()
        cpu += time.process_time() - c0
        del data
        if progress is not None:
            progress(h + 1, n_h)
    # triggers near injected faults and near teleseismic P
    trig = len(all_trig)
    near_f = near_t = 0
    for t in all_trig:
        ts = t.time_ns / _NS
        if any(abs(ts - tl.p_times.get(t.station_id, -1e18)) <= 15.0 for tl in teles):
            near_t += 1
        elif any(f.stream_ids and any(sid.startswith(t.station_id + ".") for sid in f.stream_ids)
                 and -2.0 <= ts - f.time_s <= 10.0 for f in faults):
            near_f += 1
    kinds: dict[str, int] = {}
    for f in faults:
        key = f.kind + ("_simultaneous" if len(f.stream_ids) > 1 else "")
        kinds[key] = kinds.get(key, 0) + 1
    return SoakReport(
        stations=len(sts), channels=len(ids), hours=hours, alerts=len(alerts),
        alert_messages=[(ev.event_id, ev.magnitude, ev.latitude_deg, ev.longitude_deg, ev.n_stations, d.reason)
                        for ev, d in alerts],
        declared_events=len(declared), triggers=trig,
        triggers_per_station_hour=trig / (len(sts) * hours), triggers_near_faults=near_f,
        triggers_near_teleseisms=near_t,
        teleseisms=[{"time": tl.origin_time.isoformat(), "mb": round(tl.mb, 2), "distance_deg": round(tl.distance_deg, 1),
                     "depth_km": round(tl.depth_m / 1000, 0),
                     "triggers": sum(1 for t in all_trig if abs(t.time_ns / _NS - tl.p_times.get(t.station_id, -1e18)) <= 15.0)}
                    for tl in teles],
        faults=kinds, engine_cpu_s=cpu, packets=packets, simulation_s=sim_s,
        counters={"engine": engine.counters.as_dict(), "stations": engine.bank.counters.as_dict(),
                  "policy": vars(policy.counters).copy()})

